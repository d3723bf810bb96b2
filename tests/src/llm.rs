//! What the LLM kinds (Chutes, Apex) share: the responder that writes the answers, the check of
//! a request's messages, and token estimates.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;

/// Writes the assistant's answer from the request body.
pub(crate) type Responder = dyn Fn(&Value) -> String + Send + Sync;

/// How much of the last user message the default answer echoes.
const ECHO_CHARS: usize = 200;

/// A short plain-text answer echoing the start of the last user message, so tests can see that
/// their prompt arrived without setting a responder.
pub(crate) fn default_responder() -> Arc<Responder> {
    Arc::new(|body: &Value| {
        let last_user = body
            .get("messages")
            .and_then(Value::as_array)
            .and_then(|messages| messages.iter().rev().find(|message| message.get("role").and_then(Value::as_str) == Some("user")))
            .map(|message| message_text(message.get("content")))
            .unwrap_or_default();
        format!("Test answer to: {}", last_user.chars().take(ECHO_CHARS).collect::<String>())
    })
}

/// The text of a message's content: a string, or the `text` of its content parts.
pub(crate) fn message_text(content: Option<&Value>) -> String {
    match content {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Array(parts)) => {
            parts.iter().filter_map(|part| part.get("text").and_then(Value::as_str)).collect::<Vec<_>>().join("\n")
        }
        _ => String::new(),
    }
}

/// The request's `messages`: a non-empty list of `{role, content}` with roles from `roles`.
pub(crate) fn messages<'a>(body: &'a Value, roles: &[&str]) -> Result<&'a [Value], String> {
    let messages = body.get("messages").and_then(Value::as_array).filter(|messages| !messages.is_empty());
    let messages = messages.ok_or("messages must be a non-empty list")?;
    for (index, message) in messages.iter().enumerate() {
        let role = message.get("role").and_then(Value::as_str).unwrap_or_default();
        if !roles.contains(&role) {
            return Err(format!("messages[{index}].role must be one of {}", roles.join(", ")));
        }
        if message.get("content").is_none() {
            return Err(format!("messages[{index}].content is required"));
        }
    }
    Ok(messages)
}

/// A rough token count: about four characters a token, the usual rule of thumb for English.
pub(crate) fn estimate_tokens(text: &str) -> u64 {
    text.chars().count().div_ceil(4) as u64
}

pub(crate) fn unix_seconds() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|elapsed| elapsed.as_secs()).unwrap_or_default()
}
