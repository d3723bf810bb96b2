//! `POST /v1/orchestrate` with `Accept: text/event-stream`: the orchestration's progress as
//! server-sent events, ending with the answer the JSON route would give.
//!
//! Every event's `data` is one JSON object whose `event` field names it (the SSE `event:` line
//! says the same): `plan`, `call_started`, `call_finished`, `task_skipped`, `synthesis` (see
//! [`orchestrator::progress`]), then exactly one of
//! - `answer`: the JSON route's 200 body, unchanged but for `"event": "answer"`;
//! - `error`: the JSON route's error body with its HTTP `status`.
//!
//! A request refused before it runs (a bad body, a missing payment, a full node) is answered
//! as on the JSON route, with its status and no stream. The run goes on if the client leaves,
//! as on the JSON route; it is charged the same. A comment line every 15 s keeps proxies from
//! closing a quiet stream.

use std::convert::Infallible;
use std::time::Duration;

use axum::http::{header, HeaderMap};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::stream::{self, Stream, StreamExt};
use orchestrator::progress::{Event, Watcher};
use serde_json::{json, Value};
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::task::JoinHandle;
use tokio_stream::wrappers::UnboundedReceiverStream;

/// Largest final answer read back into the stream.
const MAX_ANSWER_BYTES: usize = 16 << 20;
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// Whether the client asked for events.
pub fn wants_events(headers: &HeaderMap) -> bool {
    headers.get(header::ACCEPT).and_then(|value| value.to_str().ok()).is_some_and(|accept| accept.split(',').any(|kind| kind.trim().starts_with("text/event-stream")))
}

/// A watcher for the run and the events it will send, when the client asked for them.
pub fn channel(wanted: bool) -> (Watcher, Option<UnboundedReceiver<Event>>) {
    if !wanted {
        return (Watcher::none(), None);
    }
    let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
    (Watcher::new(sender), Some(receiver))
}

/// The events as they come, then the final answer of `run`.
pub fn respond(events: UnboundedReceiver<Event>, run: JoinHandle<Response>) -> Response {
    let progress = UnboundedReceiverStream::new(events).map(|event| Ok(sse(event.name(), &serde_json::to_value(&event).expect("events serialise"))));
    let last = stream::once(async move {
        let response = run.await.unwrap_or_else(|_| super::error::ApiError::internal("an orchestration panicked").into_response());
        Ok::<_, Infallible>(final_event(response).await)
    });
    streaming(progress.chain(last))
}

/// An answer kept for an idempotency key, as a stream of its final event alone.
pub fn replay(response: Response) -> Response {
    streaming(stream::once(async move { Ok::<_, Infallible>(final_event(response).await) }))
}

fn streaming(events: impl Stream<Item = Result<SseEvent, Infallible>> + Send + 'static) -> Response {
    Sse::new(events).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)).into_response()
}

/// The `answer` or `error` event of a JSON route's response.
async fn final_event(response: Response) -> SseEvent {
    let status = response.status();
    let replayed = response.headers().contains_key(super::idempotency::REPLAYED_HEADER);
    let body = axum::body::to_bytes(response.into_body(), MAX_ANSWER_BYTES).await.ok().and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok());
    let mut body = body.unwrap_or_else(|| json!({ "error": { "code": "internal", "message": "the answer could not be read" } }));
    if status.is_success() {
        if replayed {
            body["replayed"] = json!(true);
        }
        sse("answer", &body)
    } else {
        body["status"] = json!(status.as_u16());
        sse("error", &body)
    }
}

fn sse(name: &str, data: &Value) -> SseEvent {
    let mut data = data.clone();
    data["event"] = json!(name);
    SseEvent::default().event(name).data(data.to_string())
}
