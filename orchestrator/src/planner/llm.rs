//! The LLM planner: the LLM subnet is asked for a plan as JSON following
//! [`plan_json_schema`]; the answer is checked with `jsonschema` and then with
//! [`Plan::check`]. One repair is asked for, with the errors, before giving up.

use std::collections::BTreeSet;

use serde::Deserialize;
use serde_json::Value;

use crate::execute::trace::PLANNING_TASK;
use crate::execute::Session;
use crate::llm::{ask_json, LlmError, Question};
use crate::plan::{plan_json_schema, Plan, PlannerKind, Task};
use crate::schema::TargetSchema;

use super::Vocabulary;

/// Attempts at a plan that checks: the first and one repair.
const ATTEMPTS: usize = 2;

const SYSTEM: &str = "You plan work for Orchestra, which answers an objective by calling Bittensor subnets. \
Decompose the objective into the fewest tasks that gather what the target schema needs. Each task names one capability \
from the list given and a query for it. Tasks that compare several subjects get one task per subject, with `subject` set. \
An llm-chat task may analyse other tasks' results: list them in `depends_on`. \
Set `required` to false on a task whose results the answer can do without (a supplementary source); \
the orchestration goes on without it when it fails. At least one task is required. Task ids are short, lowercase, unique. \
Answer with the JSON document only.";

#[derive(Deserialize)]
struct Tasks {
    tasks: Vec<Task>,
}

/// The LLM's checked plan, or why there is none.
pub(super) async fn plan(session: &Session<'_>, objective: &str, schema: &TargetSchema, vocabulary: &Vocabulary, offered: &BTreeSet<String>) -> Result<Plan, String> {
    let plan_schema = plan_json_schema(offered);
    let validator = jsonschema::validator_for(&plan_schema).expect("the plan schema is valid JSON Schema");
    // Each capability with what its tasks find, from the ledger's record, so the LLM knows
    // what to ask of a capability it has never seen.
    let capabilities: Vec<String> = offered
        .iter()
        .map(|capability| match vocabulary.get(capability) {
            Some(record) => format!("- {capability}: {}", record.description),
            None => format!("- {capability}"),
        })
        .collect();
    let mut prompt = format!(
        "Objective: {objective}\n\nTarget schema of the final answer:\n{}\n\nCapabilities on offer:\n{}\n",
        serde_json::to_string_pretty(schema.json_schema()).expect("schemas serialise"),
        capabilities.join("\n"),
    );
    let mut last_problem = String::new();
    for _ in 0..ATTEMPTS {
        let question = Question { task: PLANNING_TASK, system: SYSTEM, prompt: &prompt, evidence: &[], schema: &plan_schema };
        let answer = match ask_json(session, &question).await {
            Ok(answer) => answer,
            Err(LlmError::Call(error)) => return Err(format!("the LLM planner could not be reached: {error}")),
            Err(LlmError::NotJson { reason, answer }) => {
                last_problem = format!("the answer is not JSON ({reason})");
                prompt = repair_prompt(&prompt, &answer, &last_problem);
                continue;
            }
        };
        match checked(&answer, &validator, offered) {
            Ok(plan) => return Ok(plan),
            Err(problem) => {
                last_problem = problem;
                prompt = repair_prompt(&prompt, &answer.to_string(), &last_problem);
            }
        }
    }
    Err(format!("the LLM's plan did not check after {ATTEMPTS} attempts: {last_problem}"))
}

/// The plan in `answer` if it validates and checks.
fn checked(answer: &Value, validator: &jsonschema::Validator, offered: &BTreeSet<String>) -> Result<Plan, String> {
    let errors: Vec<String> = validator.iter_errors(answer).map(|error| format!("at {}: {error}", error.instance_path())).collect();
    if !errors.is_empty() {
        return Err(errors.join("; "));
    }
    let Tasks { tasks } = serde_json::from_value(answer.clone()).map_err(|error| error.to_string())?;
    let plan = Plan { planner: PlannerKind::Llm, tasks, fallback_reason: None };
    plan.check(offered).map_err(|error| error.to_string())?;
    Ok(plan)
}

fn repair_prompt(original: &str, answer: &str, problem: &str) -> String {
    format!("{original}\nYour previous answer was:\n{answer}\nIt was refused: {problem}\nAnswer again with a corrected plan.")
}
