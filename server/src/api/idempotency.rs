//! `Idempotency-Key` on `POST /v1/orchestrate`: a request retried with the same key gets the
//! answer the first one got, and is run (and charged) once.
//!
//! Terms:
//! - **key**: what the caller sends in `Idempotency-Key`, 1 to [`MAX_KEY_BYTES`] visible ASCII
//!   characters (a UUID, say).
//! - **scope**: whose keys they are: the paying API key, the signing hotkey's credit account, the
//!   payer of an `exact` payment, or everyone for unpaid requests. One caller's key never
//!   finds another caller's answer.
//! - **fingerprint**: BLAKE3 of the request body and the payment header. A key sent again with
//!   another fingerprint is refused (`idempotency_key_reused`): it names another request.
//! - **entry**: a key's state: in flight (a second request with it is refused with
//!   `idempotency_key_in_use` until the first finishes), or done, holding the answer for
//!   [`RETENTION`].
//!
//! Only requests that got past payment checks take a key, and answers that say nothing was run
//! (402: too little credit or a refused payment; 429: a full node) are not kept: a refusal
//! before any work leaves no entry, so the retry can succeed once it can be served. Entries live
//! in memory: a restarted node has forgotten them. At most [`MAX_ENTRIES`] are kept; when full,
//! expired entries go first, then the oldest finished ones, and a node full of requests in
//! flight refuses new keys (`too_many_orchestrations`) rather than forget one in flight.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::error::{ApiError, Code};

/// The request header.
pub const HEADER: &str = "idempotency-key";
/// Set on an answer replayed from an earlier request.
pub const REPLAYED_HEADER: &str = "idempotent-replayed";
/// Longest key accepted, in bytes.
pub const MAX_KEY_BYTES: usize = 255;
/// How long a finished answer is kept.
pub const RETENTION: Duration = Duration::from_secs(24 * 60 * 60);
/// Most entries kept at once.
pub const MAX_ENTRIES: usize = 10_000;
/// Largest answer kept: the most an orchestration answer is read back anywhere (the event
/// stream's final event reads as much).
const MAX_KEPT_BODY: usize = 16 << 20;

type EntryKey = (String, String);

enum Entry {
    InFlight { fingerprint: [u8; 32] },
    Done { fingerprint: [u8; 32], finished: Instant, answer: Arc<Kept> },
}

/// An answer as it was first sent.
struct Kept {
    status: StatusCode,
    headers: HeaderMap,
    body: axum::body::Bytes,
}

/// The node's idempotency entries.
#[derive(Default)]
pub struct Idempotency {
    entries: Mutex<HashMap<EntryKey, Entry>>,
}

/// What a request with a key is to do.
pub enum Begun {
    /// Run it, then hand the answer to the ticket.
    Run(Ticket),
    /// Send this answer again.
    Replay(Response),
}

/// The right to run the request of one key; the entry is removed if dropped unfinished.
pub struct Ticket {
    store: Arc<Idempotency>,
    key: Option<EntryKey>,
}

impl Idempotency {
    /// Looks `key` up in `scope` for a request with `fingerprint`.
    pub fn begin(self: &Arc<Self>, scope: &str, key: &str, fingerprint: [u8; 32]) -> Result<Begun, ApiError> {
        let entry_key = (scope.to_owned(), key.to_owned());
        let mut entries = self.entries.lock().map_err(|_| ApiError::poisoned())?;
        let now = Instant::now();
        match entries.get(&entry_key) {
            Some(Entry::InFlight { fingerprint: first } | Entry::Done { fingerprint: first, .. }) if *first != fingerprint => {
                return Err(reused());
            }
            Some(Entry::InFlight { .. }) => {
                return Err(ApiError::new(StatusCode::CONFLICT, Code::IdempotencyKeyInUse, "a request with this Idempotency-Key is still running; retry when it has finished")
                    .with_header("retry-after", "1".into()));
            }
            Some(Entry::Done { finished, answer, .. }) if now.duration_since(*finished) < RETENTION => return Ok(Begun::Replay(answer.replay())),
            _ => {}
        }
        if entries.len() >= MAX_ENTRIES && !entries.contains_key(&entry_key) {
            make_room(&mut entries, now)?;
        }
        entries.insert(entry_key.clone(), Entry::InFlight { fingerprint });
        Ok(Begun::Run(Ticket { store: self.clone(), key: Some(entry_key) }))
    }
}

/// Drops expired entries, or else the oldest finished one.
fn make_room(entries: &mut HashMap<EntryKey, Entry>, now: Instant) -> Result<(), ApiError> {
    entries.retain(|_, entry| !matches!(entry, Entry::Done { finished, .. } if now.duration_since(*finished) >= RETENTION));
    if entries.len() < MAX_ENTRIES {
        return Ok(());
    }
    let oldest = entries
        .iter()
        .filter_map(|(key, entry)| match entry {
            Entry::Done { finished, .. } => Some((*finished, key.clone())),
            Entry::InFlight { .. } => None,
        })
        .min();
    match oldest {
        Some((_, key)) => {
            entries.remove(&key);
            Ok(())
        }
        None => Err(ApiError::new(StatusCode::TOO_MANY_REQUESTS, Code::TooManyOrchestrations, "too many requests with an Idempotency-Key are running; retry shortly")
            .with_header("retry-after", "1".into())),
    }
}

impl Ticket {
    /// Keeps `response` as the key's answer and returns it to be sent.
    pub async fn finish(mut self, response: Response) -> Response {
        let Some(key) = self.key.take() else { return response };
        if matches!(response.status(), StatusCode::PAYMENT_REQUIRED | StatusCode::TOO_MANY_REQUESTS) {
            self.forget(&key);
            return response;
        }
        let (parts, body) = response.into_parts();
        let Ok(bytes) = axum::body::to_bytes(body, MAX_KEPT_BODY).await else {
            self.forget(&key);
            return ApiError::internal(format!("the answer is larger than {MAX_KEPT_BODY} bytes and could not be kept")).into_response();
        };
        let kept = Arc::new(Kept { status: parts.status, headers: parts.headers.clone(), body: bytes.clone() });
        if let Ok(mut entries) = self.store.entries.lock() {
            if let Some(entry) = entries.get_mut(&key) {
                let fingerprint = match entry {
                    Entry::InFlight { fingerprint } | Entry::Done { fingerprint, .. } => *fingerprint,
                };
                *entry = Entry::Done { fingerprint, finished: Instant::now(), answer: kept };
            }
        }
        Response::from_parts(parts, Body::from(bytes))
    }

    fn forget(&self, key: &EntryKey) {
        if let Ok(mut entries) = self.store.entries.lock() {
            entries.remove(key);
        }
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.forget(&key);
        }
    }
}

impl Kept {
    fn replay(&self) -> Response {
        let mut response = Response::new(Body::from(self.body.clone()));
        *response.status_mut() = self.status;
        *response.headers_mut() = self.headers.clone();
        response.headers_mut().insert(HeaderName::from_static(REPLAYED_HEADER), HeaderValue::from_static("true"));
        response
    }
}

/// The request's key, if it sent one; refused when it is not a key.
pub fn key_of(headers: &HeaderMap) -> Result<Option<&str>, ApiError> {
    let Some(value) = headers.get(HEADER) else { return Ok(None) };
    let key = value.to_str().ok().filter(|key| !key.is_empty() && key.len() <= MAX_KEY_BYTES && key.bytes().all(|byte| byte.is_ascii_graphic()));
    key.map(Some).ok_or_else(|| ApiError::bad_request(format!("Idempotency-Key must be 1 to {MAX_KEY_BYTES} visible ASCII characters")))
}

/// What a key's request is: its body and the payment it carries.
pub fn fingerprint(body: &[u8], headers: &HeaderMap) -> [u8; 32] {
    let mut hasher = blake3::Hasher::new();
    hasher.update(&(body.len() as u64).to_be_bytes());
    hasher.update(body);
    if let Some(payment) = headers.get(super::paid::PAYMENT_SIGNATURE) {
        hasher.update(payment.as_bytes());
    }
    *hasher.finalize().as_bytes()
}

fn reused() -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, Code::IdempotencyKeyReused, "this Idempotency-Key was sent with another request; use a new key for a new request")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(text: &'static str) -> Response {
        Response::new(Body::from(text))
    }

    async fn body_of(response: Response) -> String {
        String::from_utf8(axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap().to_vec()).unwrap()
    }

    #[tokio::test]
    async fn a_finished_key_replays_its_answer_and_a_dropped_one_is_forgotten() {
        let store = Arc::new(Idempotency::default());
        let Begun::Run(ticket) = store.begin("key:a", "k1", [1; 32]).unwrap() else { panic!("a new key runs") };
        assert!(matches!(store.begin("key:a", "k1", [1; 32]), Err(error) if error.code == Code::IdempotencyKeyInUse));
        assert!(matches!(store.begin("key:a", "k1", [2; 32]), Err(error) if error.code == Code::IdempotencyKeyReused));
        // Another caller's key of the same name is its own.
        assert!(matches!(store.begin("key:b", "k1", [1; 32]), Ok(Begun::Run(_))));
        assert_eq!(body_of(ticket.finish(answer("first")).await).await, "first");
        let Begun::Replay(replayed) = store.begin("key:a", "k1", [1; 32]).unwrap() else { panic!("a finished key replays") };
        assert_eq!(replayed.headers()[REPLAYED_HEADER], "true");
        assert_eq!(body_of(replayed).await, "first");

        let Begun::Run(ticket) = store.begin("key:a", "k2", [1; 32]).unwrap() else { panic!("a new key runs") };
        drop(ticket);
        assert!(matches!(store.begin("key:a", "k2", [1; 32]), Ok(Begun::Run(_))), "an unfinished key is forgotten");
    }

    #[test]
    fn keys_must_be_visible_ascii_of_bounded_length() {
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(HEADER, HeaderValue::from_str(value).unwrap());
            key_of(&headers).map(|key| key.map(str::to_owned))
        };
        assert_eq!(with("3f1c-uuid").unwrap().as_deref(), Some("3f1c-uuid"));
        assert!(with("").is_err());
        assert!(with("has space").is_err());
        assert!(with(&"k".repeat(MAX_KEY_BYTES + 1)).is_err());
        assert!(key_of(&HeaderMap::new()).unwrap().is_none());
    }
}
