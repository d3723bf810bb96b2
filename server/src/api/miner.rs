//! A miner's side of validators' challenges: `POST /v1/orchestrate` signed Epistula-style by a
//! validator of the subnet is served without payment, and the answer, errors included, is
//! signed by the miner's hotkey for that validator.
//!
//! Terms:
//! - **validator set**: the SS58 hotkeys allowed to challenge, those with a validator permit
//!   in the subnet's metagraph; the node refreshes it from the chain.
//! - **challenge**: a request carrying `Epistula-Signed-By`; it must be signed for this miner,
//!   be fresh (Epistula's 8-second window) and come from the validator set.
//! - **served log**: the subnet answers the node received for its customers, which validators
//!   may ask about (`POST /v1/served`, see [`subnet::served`]).
//! - **health diff**: after a challenge, what its calls showed of the subnets' health, signed
//!   by the miner and proposed to the primary ledger node (`--propose-to`), or committed to the
//!   miner's own ledger.

use std::collections::BTreeSet;
use std::sync::RwLock;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use ledger::hotkey::Hotkey;
use subnet::epistula;
use subnet::served::ServedLog;

use super::error::{ApiError, Code};

/// Largest answer a miner signs (a signature covers the whole body, so it is buffered).
const MAX_SIGNED_BODY: usize = 32 << 20;

pub struct MinerAccess {
    hotkey: Hotkey,
    validators: RwLock<BTreeSet<String>>,
    /// Challenges already served, so a captured one cannot be sent again inside its window.
    replays: epistula::ReplayCache,
    /// The primary ledger node the miner proposes its diffs to; its own ledger when `None`.
    propose_to: Option<String>,
    /// The subnet answers the node received for its customers.
    served: ServedLog,
}

impl MinerAccess {
    pub fn new(hotkey: Hotkey, validators: BTreeSet<String>) -> MinerAccess {
        MinerAccess { hotkey, validators: RwLock::new(validators), replays: epistula::ReplayCache::new(epistula::DEFAULT_MAX_AGE_MS), propose_to: None, served: ServedLog::default() }
    }

    /// Sends the miner's diffs to the primary at `url` rather than to its own ledger.
    pub fn proposing_to(self, url: Option<String>) -> MinerAccess {
        MinerAccess { propose_to: url, ..self }
    }

    pub fn hotkey(&self) -> &Hotkey {
        &self.hotkey
    }

    pub fn propose_to(&self) -> Option<&str> {
        self.propose_to.as_deref()
    }

    pub fn served(&self) -> &ServedLog {
        &self.served
    }

    /// Replaces the validator set, after the metagraph changed.
    pub fn set_validators(&self, validators: BTreeSet<String>) {
        if let Ok(mut current) = self.validators.write() {
            *current = validators;
        }
    }

    /// The validator that signed a challenge, or why it is refused.
    pub fn challenger(&self, headers: &HeaderMap, body: &[u8]) -> Result<String, ApiError> {
        let lookup = |name: &str| headers.get(name).and_then(|value| value.to_str().ok()).map(str::to_owned);
        let now = now_ms();
        let verified = epistula::verify(lookup, body, Some(&self.hotkey.ss58()), now, epistula::DEFAULT_MAX_AGE_MS)
            .map_err(|error| ApiError::new(StatusCode::UNAUTHORIZED, Code::BadSignature, error.to_string()))?;
        let known = self.validators.read().map_err(|_| ApiError::poisoned())?.contains(&verified.signed_by);
        if !known {
            return Err(ApiError::new(StatusCode::FORBIDDEN, Code::NotAValidator, format!("{} holds no validator permit on this subnet", verified.signed_by)));
        }
        if !self.replays.first_use(&verified, now) {
            return Err(ApiError::new(StatusCode::UNAUTHORIZED, Code::ReplayedRequest, format!("request {} from {} was already served", verified.uuid, verified.signed_by)));
        }
        Ok(verified.signed_by)
    }

    /// `response` with its body signed for `validator`.
    pub async fn sign(&self, response: Response, validator: &str) -> Response {
        let (mut parts, body) = response.into_parts();
        let bytes = match axum::body::to_bytes(body, MAX_SIGNED_BODY).await {
            Ok(bytes) => bytes,
            Err(error) => return axum::response::IntoResponse::into_response(ApiError::internal(format!("the answer could not be signed: {error}"))),
        };
        for (name, value) in epistula::sign(&self.hotkey, &bytes, Some(validator), now_ms()) {
            if let Ok(value) = HeaderValue::from_str(&value) {
                parts.headers.insert(name, value);
            }
        }
        Response::from_parts(parts, Body::from(bytes))
    }
}

/// Whether a request claims to be a validator's challenge.
pub fn is_challenge(headers: &HeaderMap) -> bool {
    headers.contains_key(epistula::SIGNED_BY_HEADER)
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |since| since.as_millis() as u64)
}
