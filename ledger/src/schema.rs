//! How the ledger lies in RocksDB: column families and the byte layout of their keys.
//!
//! | column family | key | value |
//! |---|---|---|
//! | `values` | `entry_key || 0x00 || u64be(version)` | `0x01 || value` when set, `0x00` when deleted |
//! | `current` | `entry_key` | `u64be(version) || value_hash` of every present entry |
//! | `checkpoints` | `u64be(version)` | canonical [`Checkpoint`](crate::Checkpoint) |
//! | `changes` | `u64be(version)` | canonical [`ChangeRecord`](crate::store::ChangeRecord) |
//! | `attestations` | `u64be(version) || signer` | signatures over the checkpoint |
//! | `meta` | name | the format version, head version and oldest kept version |
//! | `credits` | blake3 of an API key | `u64be` balance in rao (outside the commitment) |
//! | `payments` | extrinsic hash of an on-chain payment | empty: the key is the record (outside the commitment) |
//! | `proposals` | a proposal's id | canonical [`Proposal`](crate::pool::Proposal) waiting for approval (outside the commitment) |
//!
//! `entry_key` is `u32be(namespace) || path`. Paths hold no NUL byte, so ending them with
//! `0x00` keeps RocksDB's bytewise order equal to the commitment's (namespace, path) order and
//! puts every version of one key next to each other, oldest first.

use crate::hash::Hash;
use crate::key::{Key, Namespace};

pub const VALUES: &str = "values";
pub const CURRENT: &str = "current";
pub const CHECKPOINTS: &str = "checkpoints";
pub const CHANGES: &str = "changes";
pub const ATTESTATIONS: &str = "attestations";
pub const META: &str = "meta";
pub const CREDITS: &str = "credits";
pub const PAYMENTS: &str = "payments";
pub const PROPOSALS: &str = "proposals";

pub const ALL_FAMILIES: [&str; 9] = [VALUES, CURRENT, CHECKPOINTS, CHANGES, ATTESTATIONS, META, CREDITS, PAYMENTS, PROPOSALS];

pub const META_FORMAT: &[u8] = b"format";
pub const META_HEAD: &[u8] = b"head";
pub const META_OLDEST: &[u8] = b"oldest";

/// Version of this layout; a data directory written with another is refused.
pub const FORMAT_VERSION: u64 = 1;

pub fn entry_key(key: &Key) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(4 + key.path.len() + 9);
    bytes.extend_from_slice(&key.namespace.id().to_be_bytes());
    bytes.extend_from_slice(key.path.as_bytes());
    bytes
}

/// The prefix shared by every version of `key` in `values`.
pub fn history_prefix(key: &Key) -> Vec<u8> {
    let mut bytes = entry_key(key);
    bytes.push(0x00);
    bytes
}

pub fn value_key(key: &Key, version: u64) -> Vec<u8> {
    let mut bytes = history_prefix(key);
    bytes.extend_from_slice(&version.to_be_bytes());
    bytes
}

/// Splits a `values` key into the key and the version.
pub fn parse_value_key(bytes: &[u8]) -> Option<(Key, u64)> {
    let (entry, version) = bytes.split_at_checked(bytes.len().checked_sub(9)?)?;
    let (separator, version) = version.split_first()?;
    if *separator != 0x00 {
        return None;
    }
    Some((parse_entry_key(entry)?, u64::from_be_bytes(version.try_into().ok()?)))
}

pub fn parse_entry_key(bytes: &[u8]) -> Option<Key> {
    let (namespace, path) = bytes.split_at_checked(4)?;
    let namespace = Namespace::from_id(u32::from_be_bytes(namespace.try_into().ok()?)).ok()?;
    Key::new(namespace, std::str::from_utf8(path).ok()?).ok()
}

pub fn stored_value(value: Option<&[u8]>) -> Vec<u8> {
    match value {
        Some(value) => {
            let mut bytes = Vec::with_capacity(1 + value.len());
            bytes.push(0x01);
            bytes.extend_from_slice(value);
            bytes
        }
        None => vec![0x00],
    }
}

pub fn parse_stored_value(bytes: &[u8]) -> Option<Option<&[u8]>> {
    match bytes.split_first()? {
        (0x01, value) => Some(Some(value)),
        (0x00, []) => Some(None),
        _ => None,
    }
}

pub fn current_value(version: u64, value_hash: &Hash) -> [u8; 40] {
    let mut bytes = [0u8; 40];
    bytes[..8].copy_from_slice(&version.to_be_bytes());
    bytes[8..].copy_from_slice(value_hash.as_bytes());
    bytes
}

pub fn parse_current_value(bytes: &[u8]) -> Option<(u64, Hash)> {
    let bytes: &[u8; 40] = bytes.try_into().ok()?;
    let version = u64::from_be_bytes(bytes[..8].try_into().ok()?);
    Some((version, Hash(bytes[8..].try_into().ok()?)))
}

pub fn version_key(version: u64) -> [u8; 8] {
    version.to_be_bytes()
}

pub fn parse_version_key(bytes: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(bytes.try_into().ok()?))
}

/// `u64be(version) || validator`: attestations of one version lie together.
pub fn attestation_key(version: u64, validator: &str) -> Vec<u8> {
    [&version.to_be_bytes()[..], validator.as_bytes()].concat()
}

/// The version at the front of a key that starts with one.
pub fn parse_version_prefix(bytes: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(bytes.get(..8)?.try_into().ok()?))
}
