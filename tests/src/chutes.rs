//! SN64 Chutes: OpenAI-compatible chat completions (JSON, or server-sent events with
//! `stream: true`) and the public model list. Errors are OpenAI's `{"error": {...}}`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::auth::require_key;
use crate::errors::{error_response, parse_json};
use crate::llm::{estimate_tokens, message_text, messages, unix_seconds};
use crate::server::Shared;
use crate::SubnetKind;

const KIND: SubnetKind = SubnetKind::Chutes;
const ROLES: &[&str] = &["system", "user", "assistant", "tool"];
/// Models `GET /v1/models` lists, with their context lengths. Completions accept any model id,
/// so tests may name whichever they like.
const MODELS: &[(&str, u32)] =
    &[("Qwen/Qwen3-32B-TEE", 40_960), ("deepseek-ai/DeepSeek-V3-0324", 163_840), ("unsloth/gemma-3-27b-it", 131_072)];

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    let keyed = Router::new().route("/v1/chat/completions", post(chat_completions));
    Router::new().route("/v1/models", get(models)).merge(require_key(keyed, KIND)).with_state(shared)
}

async fn chat_completions(State(shared): State<Arc<Shared>>, body: Bytes) -> Result<Response, Response> {
    let body = parse_json(KIND, &body)?;
    let invalid = |message: &str| error_response(KIND, StatusCode::BAD_REQUEST, message);
    let model = body.get("model").and_then(Value::as_str).ok_or_else(|| invalid("model is required"))?;
    let messages = messages(&body, ROLES).map_err(|message| invalid(&message))?;
    let content = shared.answer(&body);
    let id = format!("chatcmpl-{:016x}", shared.next_id());
    let created = unix_seconds();
    if body.get("stream").and_then(Value::as_bool) == Some(true) {
        return Ok(event_stream(&id, created, model, &content));
    }
    let prompt_tokens: u64 = messages.iter().map(|message| estimate_tokens(&message_text(message.get("content")))).sum();
    let completion_tokens = estimate_tokens(&content);
    Ok(Json(json!({
        "id": id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [{
            "index": 0,
            "finish_reason": "stop",
            "message": { "role": "assistant", "content": content },
        }],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }))
    .into_response())
}

/// The answer as server-sent events: one chunk with the whole content, one with the finish
/// reason, then `[DONE]`.
fn event_stream(id: &str, created: u64, model: &str, content: &str) -> Response {
    let chunk = |delta: Value, finish_reason: Value| {
        json!({
            "id": id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{ "index": 0, "delta": delta, "finish_reason": finish_reason }],
        })
    };
    let events = [chunk(json!({ "role": "assistant", "content": content }), Value::Null), chunk(json!({}), json!("stop"))];
    let mut body: String = events.iter().map(|event| format!("data: {event}\n\n")).collect();
    body.push_str("data: [DONE]\n\n");
    ([(CONTENT_TYPE, "text/event-stream"), (CACHE_CONTROL, "no-cache")], body).into_response()
}

async fn models() -> Json<Value> {
    let created = unix_seconds();
    let data: Vec<Value> = MODELS
        .iter()
        .map(|(id, context_length)| {
            json!({ "id": id, "object": "model", "created": created, "owned_by": "chutes", "context_length": context_length })
        })
        .collect();
    Json(json!({ "object": "list", "data": data }))
}
