//! Asking an LLM subnet for a JSON document that follows a JSON Schema: what the LLM planner
//! and LLM synthesis share.
//!
//! The request carries the schema as structured output (`response_format` on OpenAI-compatible
//! endpoints; in the prompt for the others) and the answer is still checked here, because a
//! model may ignore it. Answers wrapped in a Markdown code fence are unwrapped first.

use serde_json::Value;

use crate::invocation::CallInput;
use crate::evidence::TaskOutput;
use crate::execute::{Session, TaskError};

/// The capability that LLM subnets offer in the ledger.
pub const LLM_CAPABILITY: &str = "llm-chat";

/// Why an LLM gave no usable document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LlmError {
    /// The call itself failed (no route, every route failed, or the session stopped).
    Call(TaskError),
    /// It answered, but not with a JSON document.
    NotJson { answer: String, reason: String },
}

/// One question to the LLM.
pub struct Question<'a> {
    /// The task id the calls are recorded under.
    pub task: &'a str,
    pub system: &'a str,
    pub prompt: &'a str,
    pub evidence: &'a [TaskOutput],
    pub schema: &'a Value,
}

/// Asks `question` and parses the answer as JSON (not yet validated).
pub async fn ask_json(session: &Session<'_>, question: &Question<'_>) -> Result<Value, LlmError> {
    let input = CallInput {
        query: question.prompt,
        system: Some(question.system),
        context: question.evidence,
        response_schema: Some(question.schema),
        ..CallInput::default()
    };
    let response = session.call_capability(question.task, LLM_CAPABILITY, &input).await.map_err(LlmError::Call)?;
    let answer = response.text.unwrap_or_default();
    serde_json::from_str(unfenced(&answer)).map_err(|error| LlmError::NotJson { reason: error.to_string(), answer })
}

/// The text inside a Markdown code fence, if the whole answer is one.
fn unfenced(answer: &str) -> &str {
    let trimmed = answer.trim();
    let Some(rest) = trimmed.strip_prefix("```") else { return trimmed };
    let Some(body) = rest.strip_suffix("```") else { return trimmed };
    // Drop the info string (`json`) on the opening line.
    body.split_once('\n').map_or(body, |(_, inner)| inner).trim()
}

#[cfg(test)]
mod tests {
    use super::unfenced;

    #[test]
    fn code_fences_are_unwrapped() {
        assert_eq!(unfenced("```json\n{\"a\": 1}\n```"), "{\"a\": 1}");
        assert_eq!(unfenced("```\n[1]\n```"), "[1]");
        assert_eq!(unfenced("  {\"a\": 1} "), "{\"a\": 1}");
        assert_eq!(unfenced("```json\n{\"a\": 1}"), "```json\n{\"a\": 1}");
    }
}
