//! OpenAI-compatible chat completions, `POST .../chat/completions`: Chutes (SN64) at
//! <https://llm.chutes.ai/v1/chat/completions>, and any other subnet serving the same API.

use ledger::record::Endpoint;
use serde_json::{json, Value};

use super::{prompt, CallInput, SubnetRequest, SubnetResponse};

/// The request: deterministic sampling, no streaming, and when a schema is given, OpenAI's
/// structured output so that the model itself is held to the schema.
pub(super) fn chat(endpoint: &Endpoint, input: &CallInput, model: Option<&str>) -> SubnetRequest {
    let mut body = json!({
        "messages": prompt::messages(input),
        "temperature": 0,
        "stream": false,
    });
    if let Some(model) = model {
        body["model"] = json!(model);
    }
    if let Some(schema) = input.response_schema {
        body["response_format"] = json!({
            "type": "json_schema",
            "json_schema": {"name": "answer", "strict": true, "schema": schema},
        });
    }
    SubnetRequest::json_post(endpoint, &body)
}

/// Reads the first choice's message: `choices[0].message.content`, which must be text.
pub(super) fn parse_chat(json: &Value) -> Result<SubnetResponse, String> {
    let choice = json.get("choices").and_then(|choices| choices.get(0)).ok_or("no choices")?;
    let content = choice.get("message").and_then(|message| message.get("content")).and_then(Value::as_str);
    let text = content.ok_or("the first choice has no message content")?;
    Ok(SubnetResponse { text: Some(text.to_owned()), ..SubnetResponse::default() })
}
