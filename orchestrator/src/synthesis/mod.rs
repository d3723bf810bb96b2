//! Synthesis: the task outputs mapped into the caller's target schema, validated, and never
//! handed back when they do not validate.
//!
//! With an LLM subnet routable, the LLM writes the document and a citation for each of its
//! values, as one structured output (see `cited`). A document that does not validate, or whose
//! citations do not hold against the response bodies ([`crate::provenance::problems`]), is sent
//! back with every violation and unsupported value listed, up to [`MAX_ATTEMPTS`] attempts in
//! all. After them, a document that still does not validate fails synthesis with its
//! violations; one that validates but cannot cite its values is not handed back, and the
//! [`writer`] writes the result instead, as it does when the LLM cannot be called (no route,
//! every route failed, the deadline passed or the budget cannot cover it, at any attempt); the
//! report says why. Without an LLM the writer writes it; every value it writes
//! is cited from the evidence ([`crate::provenance`]), and a value the schema requires that no
//! evidence supports fails synthesis with the fields missing ([`Failure::Insufficient`]). Its
//! document is validated the same way.

mod cited;
mod facts;
mod fields;
mod nodes;
mod spans;
pub mod writer;

pub use writer::Insufficient;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::evidence::TaskOutput;
use crate::execute::trace::SYNTHESIS_TASK;
use crate::execute::Session;
use crate::llm::{ask_json, LlmError, Question};
use crate::progress::Event;
use crate::provenance::{self, Provenance, ProvenanceError};
use crate::schema::{TargetSchema, Violation};

/// Attempts the LLM gets at a document that validates, the first included.
pub const MAX_ATTEMPTS: u32 = 3;

const SYSTEM: &str = "You write the final answer of an Orchestra orchestration: one JSON object of `document` and `citations`. \
`document` validates against the target schema and holds only facts the evidence given (search results and analyses from \
Bittensor subnets) supports. `citations` maps the JSON pointer of every string, number and boolean in `document` to its \
evidence, one of: {\"extract\": {\"receipt\": R, \"at\": P}} when the value is the whole field that the evidence tags \
`[receipt R: name P]`; {\"quote\": {\"receipt\": R, \"at\": P, \"text\": T}} when T is copied exactly from that field and \
the value is T, or a number written in T, or true for a claim T states in the field's words; {\"objective\": {\"text\": T}} \
for a name the objective gives; {\"derived\": {\"rule\": \"median\" | \"min\" | \"max\" | \"count\", \"from\": [pointers into \
document]}} for a value computed from other cited values. Never write a value you cannot cite: leave an optional field out, \
and write null where the schema allows it. Answer with the JSON object only.";

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
    /// Why the grounded writer wrote the result although an LLM was configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback_reason: Option<String>,
}

/// Why synthesis gave no result.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    /// No document validated.
    #[error("the result does not validate against the target schema after {} attempt(s) ({}): {}", .report.attempts, method_name(.report.method), .violations.iter().map(Violation::to_string).collect::<Vec<_>>().join("; "))]
    Invalid { violations: Vec<Violation>, report: Report },
    /// The schema requires values no evidence supports.
    #[error("{insufficient}")]
    Insufficient { insufficient: Insufficient, report: Report },
    /// The writer's citations do not hold against the bodies: a fault of this node, never
    /// handed back as a result.
    #[error("the result's citations do not hold: {0}")]
    Uncited(ProvenanceError),
}

fn method_name(method: Method) -> &'static str {
    match method {
        Method::Llm => "written by the LLM subnet",
        Method::Deterministic => "written by the grounded writer",
    }
}

/// A validated document, its citations when the grounded writer wrote it, and how it was made.
#[derive(Clone, Debug, PartialEq)]
pub struct Synthesized {
    pub document: Value,
    pub provenance: Option<Provenance>,
    pub report: Report,
}

/// Writes the result of `objective` from `outputs`; every citation is checked against the
/// evidence calls' response bodies before the result is handed back.
pub async fn synthesize(session: &Session<'_>, objective: &str, schema: &TargetSchema, outputs: &[TaskOutput], use_llm: bool) -> Result<Synthesized, Failure> {
    // The evidence calls are done: their bodies, which citations point into, are read once.
    let bodies = session.bodies();
    let fallback_reason = if use_llm {
        match with_llm(session, objective, schema, outputs, &bodies).await {
            Ok(done) => return done,
            Err(reason) => Some(reason),
        }
    } else {
        None
    };
    let report = Report { method: Method::Deterministic, attempts: 1, fallback_reason };
    let written = match writer::write(objective, schema.json_schema(), outputs) {
        Ok(written) => written,
        Err(insufficient) => {
            session.report(Event::Synthesis { attempt: 1, method: Method::Deterministic, violations: vec![insufficient.to_string()] });
            return Err(Failure::Insufficient { insufficient, report });
        }
    };
    let checked = schema.validate(&written.document);
    session.report(attempted(1, Method::Deterministic, checked.as_ref().err()));
    if let Err(violations) = checked {
        return Err(Failure::Invalid { violations, report });
    }
    provenance::check(&written.document, &written.provenance, &bodies, objective).map_err(Failure::Uncited)?;
    Ok(Synthesized { document: written.document, provenance: Some(written.provenance), report })
}

/// The LLM's validated and cited document, or its last violations; `Err` with a reason when
/// the LLM could not be called (at any attempt) or could not cite its values, so the writer
/// takes over.
async fn with_llm(session: &Session<'_>, objective: &str, schema: &TargetSchema, outputs: &[TaskOutput], bodies: &BTreeMap<u64, Vec<u8>>) -> Result<Result<Synthesized, Failure>, String> {
    let original = format!("Objective: {objective}\nWrite the final answer from the evidence below, citing every value.");
    let answer_schema = cited::answer_schema(schema.json_schema());
    let mut prompt = original.clone();
    let mut last = (Vec::new(), Vec::new());
    for attempt in 1..=MAX_ATTEMPTS {
        let question = Question { task: SYNTHESIS_TASK, system: SYSTEM, prompt: &prompt, evidence: outputs, schema: &answer_schema };
        let read = match ask_json(session, &question).await {
            Ok(answer) => cited::read(answer),
            Err(LlmError::Call(error)) => return Err(format!("the LLM subnet could not write the result: {error}")),
            Err(LlmError::NotJson { answer, reason }) => Err((Value::String(answer), vec![Violation { path: String::new(), message: format!("the answer is not a JSON document: {reason}") }])),
        };
        let (document, violations, unsupported) = match read {
            Ok((document, provenance)) => match schema.validate(&document) {
                Err(violations) => (document, violations, Vec::new()),
                Ok(()) => {
                    let unsupported = provenance::problems(&document, &provenance, bodies, objective);
                    if unsupported.is_empty() {
                        session.report(attempted(attempt, Method::Llm, None));
                        return Ok(Ok(Synthesized { document, provenance: Some(provenance), report: Report { method: Method::Llm, attempts: attempt, fallback_reason: None } }));
                    }
                    (document, Vec::new(), unsupported)
                }
            },
            Err((document, violations)) => (document, violations, Vec::new()),
        };
        let listed: Vec<String> = violations.iter().map(Violation::to_string).chain(unsupported.iter().map(ToString::to_string)).collect();
        session.report(Event::Synthesis { attempt, method: Method::Llm, violations: listed.clone() });
        prompt = repair_prompt(&original, &document, &listed);
        last = (violations, unsupported);
    }
    match last {
        (violations, _) if !violations.is_empty() => Ok(Err(Failure::Invalid { violations, report: Report { method: Method::Llm, attempts: MAX_ATTEMPTS, fallback_reason: None } })),
        (_, unsupported) => Err(format!(
            "the LLM's result did not cite its values after {MAX_ATTEMPTS} attempts: {}",
            unsupported.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
        )),
    }
}

/// The progress event of synthesis attempt `attempt`.
fn attempted(attempt: u32, method: Method, violations: Option<&Vec<Violation>>) -> Event {
    Event::Synthesis { attempt, method, violations: violations.into_iter().flatten().map(Violation::to_string).collect() }
}

/// The prompt asking to fix `document`, listing every violation and unsupported value.
fn repair_prompt(original: &str, document: &Value, problems: &[String]) -> String {
    let listed: Vec<String> = problems.iter().map(|problem| format!("- {problem}")).collect();
    format!(
        "{original}\n\nYour previous document was:\n{}\n\nIt does not validate against the target schema, or its citations do not hold:\n{}\n\nAnswer again with a corrected document and its citations.",
        serde_json::to_string_pretty(document).expect("documents serialise"),
        listed.join("\n"),
    )
}
