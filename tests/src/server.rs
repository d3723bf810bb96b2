//! A subnet server and the behaviour every kind shares: recording requests, latency, injected
//! failures, and Data Universe's refusal of HTTP/1.1.

use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, Version};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use axum::serve::ListenerExt;
use serde_json::Value;

use crate::corpus;
use crate::errors::error_response;
use crate::llm::{self, Responder};
use crate::{apex, chutes, data_universe, desearch, SubnetKind};

/// One request as a server received it.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    /// The raw query string, without `?`; empty when there is none.
    pub query: String,
    /// Header names are lowercase, in the order received.
    pub headers: Vec<(String, String)>,
    /// The body as JSON; `Null` when empty, a JSON string when it is not JSON.
    pub body: Value,
    /// `HTTP/1.1` or `HTTP/2.0`.
    pub http_version: String,
}

impl RecordedRequest {
    /// The first value of header `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(header, _)| header == name).map(|(_, value)| value.as_str())
    }
}

/// Which requests get an injected failure instead of their answer.
#[derive(Clone)]
enum Failure {
    Never,
    Next { remaining: usize, status: StatusCode },
    Always(StatusCode),
    /// Every request to one of these paths.
    Paths { paths: Vec<String>, status: StatusCode },
}

/// The state of one server that tests change and handlers read.
pub(crate) struct Shared {
    kind: SubnetKind,
    latency: Mutex<Duration>,
    failure: Mutex<Failure>,
    requests: Mutex<Vec<RecordedRequest>>,
    responder: RwLock<Arc<Responder>>,
    /// Numbers the ids the server hands out (completion ids, job ids, task ids).
    sequence: AtomicU64,
    /// While true, requests wait before they are answered.
    paused: tokio::sync::watch::Sender<bool>,
    /// The corpus week the searches answer from (see [`SubnetServer::set_drift`]).
    drift: AtomicU64,
}

impl Shared {
    pub(crate) fn latency(&self) -> Duration {
        *self.latency.lock().unwrap()
    }

    /// A number no earlier request to this server was given.
    pub(crate) fn next_id(&self) -> u64 {
        self.sequence.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// The LLM kinds' answer to `body`, from the test's responder.
    pub(crate) fn answer(&self, body: &Value) -> String {
        // Cloned out so a slow responder does not block `set_llm`.
        let responder = self.responder.read().unwrap().clone();
        responder(body)
    }

    /// The status to fail a request to `path` with, if a failure is pending.
    fn take_failure(&self, path: &str) -> Option<StatusCode> {
        let mut failure = self.failure.lock().unwrap();
        match &*failure {
            Failure::Never => None,
            Failure::Always(status) => Some(*status),
            Failure::Paths { paths, status } => paths.iter().any(|failing| failing == path).then_some(*status),
            &Failure::Next { remaining, status } => {
                *failure = if remaining > 1 { Failure::Next { remaining: remaining - 1, status } } else { Failure::Never };
                Some(status)
            }
        }
    }

    fn record(&self, parts: &Parts, body: &[u8]) {
        let body = if body.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(body).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()))
        };
        let request = RecordedRequest {
            method: parts.method.to_string(),
            path: parts.uri.path().to_owned(),
            query: parts.uri.query().unwrap_or_default().to_owned(),
            headers: parts
                .headers
                .iter()
                .map(|(name, value)| (name.as_str().to_owned(), String::from_utf8_lossy(value.as_bytes()).into_owned()))
                .collect(),
            body,
            http_version: format!("{:?}", parts.version),
        };
        self.requests.lock().unwrap().push(request);
    }
}

/// A running subnet server. Clones share the server.
#[derive(Clone)]
pub struct SubnetServer {
    shared: Arc<Shared>,
    base_url: String,
}

impl SubnetServer {
    /// Binds 127.0.0.1 on a free port and serves on the current tokio runtime until it shuts
    /// down. HTTP/1.1 and HTTP/2 (prior knowledge) are both served, as the real hosts do over TLS.
    pub async fn start(kind: SubnetKind) -> SubnetServer {
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.expect("bind a loopback port");
        let address = listener.local_addr().expect("the bound address");
        let shared = Arc::new(Shared {
            kind,
            latency: Mutex::new(Duration::ZERO),
            failure: Mutex::new(Failure::Never),
            requests: Mutex::new(Vec::new()),
            responder: RwLock::new(llm::default_responder()),
            sequence: AtomicU64::new(0),
            paused: tokio::sync::watch::Sender::new(false),
            drift: AtomicU64::new(0),
        });
        let app = routes(kind, shared.clone())
            .fallback(move || async move { error_response(kind, StatusCode::NOT_FOUND, "Not Found") })
            .layer(middleware::from_fn_with_state(shared.clone(), behave));
        // Like the real hosts, answer without Nagle's delay, so that latency is only what a test sets.
        let listener = listener.tap_io(|stream| {
            let _ = stream.set_nodelay(true);
        });
        tokio::spawn(async move { axum::serve(listener, app).await.expect("serve the subnet server") });
        SubnetServer { shared, base_url: format!("http://{address}") }
    }

    /// Makes this server's searches drift as a live subnet's do: from now on they also find the
    /// news, posts and threads of week `issue` about each query's topic; `0` returns to the
    /// fixed corpus. Other servers are not affected.
    pub fn set_drift(&self, issue: u64) {
        self.shared.drift.store(issue, Ordering::Relaxed);
    }

    /// `127.0.0.1:PORT`: the host and port a key can be bound to.
    pub fn authority(&self) -> String {
        self.base_url.trim_start_matches("http://").to_owned()
    }

    pub fn kind(&self) -> SubnetKind {
        self.shared.kind
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn base_url(&self) -> String {
        self.base_url.clone()
    }

    /// Added before every answer, errors included.
    pub fn set_latency(&self, latency: Duration) {
        *self.shared.latency.lock().unwrap() = latency;
    }

    /// The next `count` requests (any route but `/health`) get `status` with the API's real
    /// error body; a 429 carries `Retry-After: 0`.
    pub fn fail_next(&self, count: usize, status: u16) {
        *self.shared.failure.lock().unwrap() =
            if count == 0 { Failure::Never } else { Failure::Next { remaining: count, status: failure_status(status) } };
    }

    /// Every request (any route but `/health`) gets `status` until [`SubnetServer::recover`].
    pub fn fail_always(&self, status: u16) {
        *self.shared.failure.lock().unwrap() = Failure::Always(failure_status(status));
    }

    /// Every request to one of `paths` gets `status` until [`SubnetServer::recover`]; other
    /// routes answer as usual.
    pub fn fail_paths(&self, paths: &[&str], status: u16) {
        let paths = paths.iter().map(|path| path.to_string()).collect();
        *self.shared.failure.lock().unwrap() = Failure::Paths { paths, status: failure_status(status) };
    }

    /// Holds every request (after recording it) until [`SubnetServer::resume`].
    pub fn pause(&self) {
        self.shared.paused.send_replace(true);
    }

    /// Answers the held requests and stops holding new ones.
    pub fn resume(&self) {
        self.shared.paused.send_replace(false);
    }

    /// Stops failing.
    pub fn recover(&self) {
        *self.shared.failure.lock().unwrap() = Failure::Never;
    }

    /// Every request answered (failed ones too), in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.requests.lock().unwrap().clone()
    }

    pub fn request_count(&self) -> usize {
        self.shared.requests.lock().unwrap().len()
    }

    /// Forgets the recorded requests, so long benchmarks do not grow the record without bound.
    pub fn clear_requests(&self) {
        self.shared.requests.lock().unwrap().clear();
    }

    /// LLM kinds (Chutes, Apex): what the assistant message says, computed from the request
    /// body. Until set, the answer echoes the first 200 characters of the last user message.
    pub fn set_llm(&self, responder: impl Fn(&Value) -> String + Send + Sync + 'static) {
        *self.shared.responder.write().unwrap() = Arc::new(responder);
    }
}

fn failure_status(status: u16) -> StatusCode {
    StatusCode::from_u16(status).unwrap_or_else(|_| panic!("{status} is not an HTTP status"))
}

fn routes(kind: SubnetKind, shared: Arc<Shared>) -> Router {
    match kind {
        SubnetKind::Desearch => desearch::router(),
        SubnetKind::DataUniverse => data_universe::router(shared),
        SubnetKind::Chutes => chutes::router(shared),
        SubnetKind::Apex => apex::router(shared),
    }
}

/// Records the request, waits the latency, then answers with the front's refusal, an injected
/// failure, or the route's own answer.
async fn behave(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, usize::MAX).await else {
        // The client broke off while sending; nobody is left to read an answer.
        return StatusCode::BAD_REQUEST.into_response();
    };
    shared.record(&parts, &body);
    let mut paused = shared.paused.subscribe();
    let _ = paused.wait_for(|paused| !paused).await;
    let latency = shared.latency();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let kind = shared.kind;
    // Data Universe's load balancer turns HTTP/1.1 away before any route sees it.
    if kind == SubnetKind::DataUniverse && parts.version < Version::HTTP_2 {
        return error_response(kind, StatusCode::HTTP_VERSION_NOT_SUPPORTED, "HTTP/1.1 is not supported: use HTTP/2");
    }
    if parts.uri.path() != "/health" {
        if let Some(status) = shared.take_failure(parts.uri.path()) {
            return error_response(kind, status, status.canonical_reason().unwrap_or("Injected failure"));
        }
    }
    let drift = shared.drift.load(Ordering::Relaxed);
    corpus::DRIFT.scope(drift, next.run(Request::from_parts(parts, Body::from(body)))).await
}
