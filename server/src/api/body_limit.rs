//! Refusing a body by its declared length, before a byte of it is read.
//!
//! [`axum::extract::DefaultBodyLimit`] stops reading a body once it passes the limit, so a
//! chunked upload costs the node at most the limit. A body that declares its length
//! (`Content-Length`) is refused here instead, before it is read: the node reads nothing it will
//! throw away, and a client waiting on `Expect: 100-continue` (curl does for large bodies) gets
//! the refusal without ever sending the body, rather than a connection reset partway through it.

use axum::extract::Request;
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::{ApiError, Code};
use super::MAX_BODY_BYTES;

pub async fn refuse_declared_oversize(request: Request, next: Next) -> Response {
    let declared = request.headers().get(header::CONTENT_LENGTH).and_then(|length| length.to_str().ok()?.parse::<u64>().ok());
    match declared {
        Some(length) if length > MAX_BODY_BYTES as u64 => {
            let message = format!("the body declares {length} bytes; the node takes at most {MAX_BODY_BYTES}");
            let mut refusal = ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, Code::BodyTooLarge, message).into_response();
            // The unread body would otherwise be taken as the next request on this connection.
            refusal.headers_mut().insert(header::CONNECTION, header::HeaderValue::from_static("close"));
            refusal
        }
        _ => next.run(request).await,
    }
}
