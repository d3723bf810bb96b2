//! Canonical MessagePack: the one encoding of every stored record.
//!
//! Records are encoded with rmp-serde as maps with named fields in declaration order, integers
//! in their shortest form and maps with sorted keys (every map type in a record is a
//! `BTreeMap`). [`decode`] accepts only canonical bytes: it re-encodes what it read and refuses
//! any difference, so a value has exactly one encoding and so exactly one hash.

use serde::de::DeserializeOwned;
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("not a valid {what}: {reason}")]
    Invalid { what: &'static str, reason: String },
    #[error("{what} is validly encoded but not in canonical form (re-encoding gives other bytes)")]
    NonCanonical { what: &'static str },
}

/// The canonical bytes of a value.
pub fn encode<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    rmp_serde::to_vec_named(value).expect("records serialise to MessagePack without failure")
}

/// Decodes canonical bytes; `what` names the type in errors.
pub fn decode<T: DeserializeOwned + Serialize>(bytes: &[u8], what: &'static str) -> Result<T, CodecError> {
    let value: T = rmp_serde::from_slice(bytes).map_err(|error| CodecError::Invalid { what, reason: error.to_string() })?;
    if encode(&value) != bytes {
        return Err(CodecError::NonCanonical { what });
    }
    Ok(value)
}
