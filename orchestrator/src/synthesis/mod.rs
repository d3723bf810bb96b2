//! Synthesis: the task outputs mapped into the caller's target schema, validated, and never
//! handed back when they do not validate.
//!
//! With an LLM subnet routable, the LLM writes the document with the schema as structured
//! output; a document that does not validate is sent back with the violations listed, up to
//! [`MAX_ATTEMPTS`] attempts in all, after which synthesis fails with the violations of the
//! last attempt. When the LLM cannot be called (no route, every route failed, the deadline
//! passed or the budget cannot cover it, at any attempt), the [`mapper`] writes the document instead and the
//! report says why. Without an LLM the mapper writes it; its document is validated the same
//! way.

mod fields;
mod findings;
mod fit;
pub mod mapper;
mod market;
mod nodes;
mod prices;
mod scope;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::evidence::TaskOutput;
use crate::execute::trace::SYNTHESIS_TASK;
use crate::execute::Session;
use crate::llm::{ask_json, LlmError, Question};
use crate::progress::Event;
use crate::schema::{TargetSchema, Violation};

/// Attempts the LLM gets at a document that validates, the first included.
pub const MAX_ATTEMPTS: u32 = 3;

const SYSTEM: &str = "You write the final answer of an Orchestra orchestration: one JSON document that validates against the \
target schema, filled from the evidence given (search results and analyses from Bittensor subnets). Use only facts the \
evidence supports; cite URLs from it where the schema asks for sources. Answer with the JSON document only.";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    Llm,
    Deterministic,
}

/// How the result was written.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub method: Method,
    /// Documents produced until one validated (or until giving up).
    pub attempts: u32,
    /// Why the mapper wrote the result although an LLM was configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback_reason: Option<String>,
}

/// No document validated.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the result does not validate against the target schema after {} attempt(s) ({}): {}", .report.attempts, method_name(.report.method), .violations.iter().map(Violation::to_string).collect::<Vec<_>>().join("; "))]
pub struct Invalid {
    pub violations: Vec<Violation>,
    pub report: Report,
}

fn method_name(method: Method) -> &'static str {
    match method {
        Method::Llm => "written by the LLM subnet",
        Method::Deterministic => "written by the deterministic mapper",
    }
}

/// Writes the result of `objective` from `outputs`.
pub async fn synthesize(session: &Session<'_>, objective: &str, schema: &TargetSchema, outputs: &[TaskOutput], use_llm: bool) -> Result<(Value, Report), Invalid> {
    let fallback_reason = if use_llm {
        match with_llm(session, objective, schema, outputs).await {
            Ok(done) => return done,
            Err(reason) => Some(reason),
        }
    } else {
        None
    };
    let document = mapper::map(objective, schema.json_schema(), outputs);
    let report = Report { method: Method::Deterministic, attempts: 1, fallback_reason };
    let checked = schema.validate(&document);
    session.report(attempted(1, Method::Deterministic, checked.as_ref().err()));
    match checked {
        Ok(()) => Ok((document, report)),
        Err(violations) => Err(Invalid { violations, report }),
    }
}

/// The LLM's validated document, or its last violations; `Err` with a reason when the LLM
/// could not be called (at any attempt), so the mapper takes over.
async fn with_llm(session: &Session<'_>, objective: &str, schema: &TargetSchema, outputs: &[TaskOutput]) -> Result<Result<(Value, Report), Invalid>, String> {
    let original = format!("Objective: {objective}\nWrite the final answer from the evidence below.");
    let mut prompt = original.clone();
    let mut violations = Vec::new();
    for attempt in 1..=MAX_ATTEMPTS {
        let question = Question { task: SYNTHESIS_TASK, system: SYSTEM, prompt: &prompt, evidence: outputs, schema: schema.json_schema() };
        let (document, problems) = match ask_json(session, &question).await {
            Ok(document) => {
                let problems = schema.validate(&document).err();
                (document, problems)
            }
            Err(LlmError::Call(error)) => return Err(format!("the LLM subnet could not write the result: {error}")),
            Err(LlmError::NotJson { answer, reason }) => {
                (Value::String(answer), Some(vec![Violation { path: String::new(), message: format!("the answer is not a JSON document: {reason}") }]))
            }
        };
        session.report(attempted(attempt, Method::Llm, problems.as_ref()));
        match problems {
            None => return Ok(Ok((document, Report { method: Method::Llm, attempts: attempt, fallback_reason: None }))),
            Some(problems) => {
                prompt = repair_prompt(&original, &document, &problems);
                violations = problems;
            }
        }
    }
    Ok(Err(Invalid { violations, report: Report { method: Method::Llm, attempts: MAX_ATTEMPTS, fallback_reason: None } }))
}

/// The progress event of synthesis attempt `attempt`.
fn attempted(attempt: u32, method: Method, violations: Option<&Vec<Violation>>) -> Event {
    Event::Synthesis { attempt, method, violations: violations.into_iter().flatten().map(Violation::to_string).collect() }
}

/// The prompt asking to fix `document`, listing every violation.
fn repair_prompt(original: &str, document: &Value, violations: &[Violation]) -> String {
    let listed: Vec<String> = violations.iter().map(|violation| format!("- {violation}")).collect();
    format!(
        "{original}\n\nYour previous answer was:\n{}\n\nIt does not validate against the target schema:\n{}\n\nAnswer again with a corrected document.",
        serde_json::to_string_pretty(document).expect("documents serialise"),
        listed.join("\n"),
    )
}
