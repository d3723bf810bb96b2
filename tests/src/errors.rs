//! Error answers in each API's own shape, so clients are tested against the bodies they will
//! really get: FastAPI's `{"detail": ...}` for Desearch, OpenAI's `{"error": {...}}` for Chutes,
//! and Connect's `{"code", "message"}` for Macrocosmos' Constellation API (Data Universe, Apex).

use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::SubnetKind;

/// `status` with `message` in `kind`'s error shape.
pub(crate) fn error_response(kind: SubnetKind, status: StatusCode, message: &str) -> Response {
    let body = match kind {
        SubnetKind::Desearch => json!({ "detail": message }),
        SubnetKind::Chutes => openai_error(status, message),
        SubnetKind::DataUniverse | SubnetKind::Apex => json!({ "code": connect_code(status), "message": message }),
    };
    json_response(status, body)
}

/// `status` with a JSON body. A 429 asks to retry after 0 seconds: the real APIs ask for more,
/// but a client that honours `Retry-After` should not slow the tests down.
pub(crate) fn json_response(status: StatusCode, body: Value) -> Response {
    let mut response = (status, Json(body)).into_response();
    if status == StatusCode::TOO_MANY_REQUESTS {
        response.headers_mut().insert(RETRY_AFTER, HeaderValue::from_static("0"));
    }
    response
}

/// The request body as JSON (`Null` when empty), or the error the API gives for one it cannot parse.
#[allow(clippy::result_large_err)] // an error answer is built once and sent; its size costs nothing
pub(crate) fn parse_json(kind: SubnetKind, body: &[u8]) -> Result<Value, Response> {
    if body.is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_slice(body).map_err(|error| match kind {
        // FastAPI reports an undecodable body as a validation error.
        SubnetKind::Desearch => json_response(
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({ "detail": [{
                "type": "json_invalid",
                "loc": ["body", error.column()],
                "msg": "JSON decode error",
                "input": {},
                "ctx": { "error": error.to_string() },
            }] }),
        ),
        _ => error_response(kind, StatusCode::BAD_REQUEST, &format!("invalid JSON body: {error}")),
    })
}

fn openai_error(status: StatusCode, message: &str) -> Value {
    let (kind, code) = match status.as_u16() {
        401 => ("invalid_request_error", Some("invalid_api_key")),
        429 => ("requests", Some("rate_limit_exceeded")),
        400..=499 => ("invalid_request_error", None),
        _ => ("server_error", None),
    };
    json!({ "error": { "message": message, "type": kind, "param": null, "code": code } })
}

/// The Connect protocol's error code for an HTTP status.
fn connect_code(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "invalid_argument",
        401 => "unauthenticated",
        403 => "permission_denied",
        404 => "not_found",
        408 | 504 => "deadline_exceeded",
        409 => "aborted",
        412 => "failed_precondition",
        429 => "resource_exhausted",
        499 => "canceled",
        501 | 505 => "unimplemented",
        503 => "unavailable",
        500..=599 => "internal",
        _ => "unknown",
    }
}
