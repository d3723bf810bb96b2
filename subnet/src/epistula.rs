//! Epistula v2: the HTTP request signing many Bittensor subnets use between validators and
//! miners, so a receiver knows which hotkey sent a body, for whom, and when.
//!
//! Terms:
//! - **signer**: the sending hotkey, named by its SS58 address in `Epistula-Signed-By`.
//! - **receiver**: the hotkey a request is addressed to, in the optional `Epistula-Signed-For`;
//!   binding it into the signature stops a request made for one receiver being replayed to
//!   another.
//! - **uuid**: a random version-4 UUID per request, so two requests with the same body and
//!   timestamp still differ.
//! - **timestamp**: the signer's clock in milliseconds since the Unix epoch.
//! - **message**: the UTF-8 text `"{sha256_hex(body)}.{uuid}.{timestamp}.{receiver}"`, with an
//!   empty receiver when there is none ([`signing_message`]).
//! - **signature**: `"0x"` + hex of the signer's sr25519 signature over the message, in
//!   `Epistula-Request-Signature`.
//!
//! A receiver accepts a request whose headers are complete, whose version is 2, whose timestamp
//! is within `max_age_ms` of its own clock either way, which is addressed to it, and whose
//! signature verifies for the signer; and, with a [`ReplayCache`], only once: a request seen
//! again while its timestamp is still fresh is a replay.

use std::collections::HashMap;
use std::sync::Mutex;

use ledger::hotkey::{verify_signature, Hotkey, HotkeyError};
use sha2::{Digest, Sha256};

/// How far a request's timestamp may be from the receiver's clock, as Epistula receivers allow.
pub const DEFAULT_MAX_AGE_MS: u64 = 8_000;

pub const VERSION: &str = "2";

pub const VERSION_HEADER: &str = "Epistula-Version";
pub const TIMESTAMP_HEADER: &str = "Epistula-Timestamp";
pub const UUID_HEADER: &str = "Epistula-Uuid";
pub const SIGNED_BY_HEADER: &str = "Epistula-Signed-By";
pub const SIGNED_FOR_HEADER: &str = "Epistula-Signed-For";
pub const SIGNATURE_HEADER: &str = "Epistula-Request-Signature";

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum EpistulaError {
    #[error("the request has no {0} header")]
    MissingHeader(&'static str),
    #[error("Epistula version {0:?} is not {VERSION}")]
    WrongVersion(String),
    #[error("timestamp {0:?} is not a whole number of milliseconds")]
    BadTimestamp(String),
    #[error("the request was signed at {timestamp_ms} ms, more than {max_age_ms} ms before now ({now_ms} ms)")]
    Stale { timestamp_ms: u64, now_ms: u64, max_age_ms: u64 },
    #[error("the request was signed at {timestamp_ms} ms, more than {max_age_ms} ms after now ({now_ms} ms)")]
    FromTheFuture { timestamp_ms: u64, now_ms: u64, max_age_ms: u64 },
    #[error("the request is signed for {found:?}, not for {expected:?}")]
    SignedForMismatch { expected: Option<String>, found: Option<String> },
    #[error("the request signature is not hex")]
    BadHex,
    #[error("the uuid {0:?} is not a UUID in its 36-character form")]
    BadUuid(String),
    #[error("the request signature does not verify: {0}")]
    BadSignature(HotkeyError),
}

/// A request that verified: who signed it, and its uuid and timestamp (for replay checks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub signed_by: String,
    pub uuid: String,
    pub timestamp_ms: u64,
}

/// The message the signature covers.
pub fn signing_message(body: &[u8], uuid: &str, timestamp_ms: u64, signed_for: Option<&str>) -> String {
    let body_hash = hex::encode(Sha256::digest(body));
    format!("{body_hash}.{uuid}.{timestamp_ms}.{}", signed_for.unwrap_or(""))
}

/// The Epistula headers, names in their canonical case, for a request carrying `body` signed by
/// `hotkey` at `now_ms`, addressed to the SS58 address `signed_for` if given.
pub fn sign(hotkey: &Hotkey, body: &[u8], signed_for: Option<&str>, now_ms: u64) -> Vec<(&'static str, String)> {
    let uuid = random_uuid();
    let signature = hotkey.sign(signing_message(body, &uuid, now_ms, signed_for).as_bytes());
    let mut headers = vec![
        (VERSION_HEADER, VERSION.to_owned()),
        (TIMESTAMP_HEADER, now_ms.to_string()),
        (UUID_HEADER, uuid),
        (SIGNED_BY_HEADER, hotkey.ss58()),
        (SIGNATURE_HEADER, format!("0x{}", hex::encode(signature))),
    ];
    if let Some(receiver) = signed_for {
        headers.push((SIGNED_FOR_HEADER, receiver.to_owned()));
    }
    headers
}

/// Checks a request: `headers` looks a header up by its lowercase name, `expected_signed_for`
/// is the receiver's own SS58 address (or `None` for a request addressed to no one), `now_ms`
/// the receiver's clock.
pub fn verify(
    headers: impl Fn(&str) -> Option<String>,
    body: &[u8],
    expected_signed_for: Option<&str>,
    now_ms: u64,
    max_age_ms: u64,
) -> Result<Verified, EpistulaError> {
    let required = |name: &'static str| headers(&name.to_ascii_lowercase()).ok_or(EpistulaError::MissingHeader(name));
    let version = required(VERSION_HEADER)?;
    let timestamp = required(TIMESTAMP_HEADER)?;
    let uuid = required(UUID_HEADER)?;
    let signed_by = required(SIGNED_BY_HEADER)?;
    let signature = required(SIGNATURE_HEADER)?;
    // An empty header signs the same message as an absent one, so both mean "for no one".
    let signed_for = headers(&SIGNED_FOR_HEADER.to_ascii_lowercase()).filter(|receiver| !receiver.is_empty());

    if version.trim() != VERSION {
        return Err(EpistulaError::WrongVersion(version));
    }
    if uuid.len() != 36 || !uuid.bytes().all(|byte| byte.is_ascii_hexdigit() || byte == b'-') {
        return Err(EpistulaError::BadUuid(uuid.chars().take(40).collect()));
    }
    let timestamp_ms: u64 = timestamp.trim().parse().map_err(|_| EpistulaError::BadTimestamp(timestamp))?;
    if timestamp_ms.saturating_add(max_age_ms) < now_ms {
        return Err(EpistulaError::Stale { timestamp_ms, now_ms, max_age_ms });
    }
    if timestamp_ms > now_ms.saturating_add(max_age_ms) {
        return Err(EpistulaError::FromTheFuture { timestamp_ms, now_ms, max_age_ms });
    }
    if signed_for.as_deref() != expected_signed_for {
        return Err(EpistulaError::SignedForMismatch {
            expected: expected_signed_for.map(str::to_owned),
            found: signed_for,
        });
    }
    let signature = signature.trim();
    let signature =
        hex::decode(signature.strip_prefix("0x").unwrap_or(signature)).map_err(|_| EpistulaError::BadHex)?;
    let message = signing_message(body, &uuid, timestamp_ms, signed_for.as_deref());
    verify_signature(&signed_by, message.as_bytes(), &signature).map_err(EpistulaError::BadSignature)?;
    Ok(Verified { signed_by, uuid, timestamp_ms })
}

/// Most requests a [`ReplayCache`] remembers at once.
pub const MAX_REMEMBERED: usize = 65_536;

/// The requests a receiver accepted while they can still pass the timestamp check, by signer
/// and uuid. Only verified requests enter it, and at most [`MAX_REMEMBERED`] at once: anyone can
/// sign with a fresh key, so its size is capped rather than left to the signers.
pub struct ReplayCache {
    max_age_ms: u64,
    seen: Mutex<HashMap<(String, String), u64>>,
}

impl ReplayCache {
    pub fn new(max_age_ms: u64) -> ReplayCache {
        ReplayCache { max_age_ms, seen: Mutex::new(HashMap::new()) }
    }

    /// Records `verified` at `now_ms`; false when the same signer's uuid was accepted before,
    /// or when the cache already holds [`MAX_REMEMBERED`] requests of the window (anyone can
    /// sign with a fresh key, so its size is capped rather than trusted).
    pub fn first_use(&self, verified: &Verified, now_ms: u64) -> bool {
        let Ok(mut seen) = self.seen.lock() else { return false };
        let key = (verified.signed_by.clone(), verified.uuid.clone());
        let fresh = |timestamp_ms: u64| timestamp_ms.saturating_add(self.max_age_ms) >= now_ms;
        if seen.get(&key).is_some_and(|timestamp_ms| fresh(*timestamp_ms)) {
            return false;
        }
        if seen.len() >= MAX_REMEMBERED {
            // A timestamp this old fails verification anyway, so its entry can go.
            seen.retain(|_, timestamp_ms| fresh(*timestamp_ms));
            if seen.len() >= MAX_REMEMBERED {
                return false;
            }
        }
        seen.insert(key, verified.timestamp_ms);
        true
    }
}

/// A random version-4 UUID in its 8-4-4-4-12 lowercase hex form.
fn random_uuid() -> String {
    let mut bytes: [u8; 16] = rand::random();
    bytes[6] = (bytes[6] & 0x0f) | 0x40; // version 4: random
    bytes[8] = (bytes[8] & 0x3f) | 0x80; // variant 1: RFC 4122
    let hex = hex::encode(bytes);
    format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
}
