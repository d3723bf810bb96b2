//! Keys: a namespace and a path inside it.
//!
//! A **namespace** is a subnet (its netuid) or one of a few system namespaces, numbered as one
//! `u32` so that the ledger tree orders them: subnets `0..=65535` first, then the system ones
//! from `0x0001_0000`. A **path** is a short UTF-8 string such as `identity` or
//! `endpoint/search`; paths order bytewise inside their namespace.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Longest path, in bytes.
pub const MAX_PATH_LEN: usize = 255;

/// First namespace number of the system namespaces.
const SYSTEM_BASE: u32 = 0x0001_0000;

/// A namespace: a subnet or a system namespace.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(into = "u32", try_from = "u32")]
pub enum Namespace {
    /// A Bittensor subnet, by netuid.
    Subnet(u16),
    /// A namespace of the ledger's own.
    System(SystemNamespace),
}

/// The ledger's own namespaces.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum SystemNamespace {
    /// The validator set: SS58 hotkey -> stake.
    Validators,
    /// Prices of the ledger's paid reads and of orchestration.
    Pricing,
    /// The proposer set: SS58 hotkeys that may propose diffs over the network.
    Proposers,
    /// What each capability is and the words that call for it: capability name -> description.
    Capabilities,
}

impl SystemNamespace {
    const ALL: [SystemNamespace; 4] = [SystemNamespace::Validators, SystemNamespace::Pricing, SystemNamespace::Proposers, SystemNamespace::Capabilities];

    fn name(self) -> &'static str {
        match self {
            SystemNamespace::Validators => "validators",
            SystemNamespace::Pricing => "pricing",
            SystemNamespace::Proposers => "proposers",
            SystemNamespace::Capabilities => "capabilities",
        }
    }

    fn offset(self) -> u32 {
        match self {
            SystemNamespace::Validators => 0,
            SystemNamespace::Pricing => 1,
            SystemNamespace::Proposers => 2,
            SystemNamespace::Capabilities => 3,
        }
    }
}

impl Namespace {
    /// The namespace's number: its position in the ledger tree's order.
    pub fn id(self) -> u32 {
        match self {
            Namespace::Subnet(netuid) => u32::from(netuid),
            Namespace::System(system) => SYSTEM_BASE + system.offset(),
        }
    }

    pub fn from_id(id: u32) -> Result<Namespace, KeyError> {
        if let Ok(netuid) = u16::try_from(id) {
            return Ok(Namespace::Subnet(netuid));
        }
        SystemNamespace::ALL
            .into_iter()
            .find(|system| SYSTEM_BASE + system.offset() == id)
            .map(Namespace::System)
            .ok_or(KeyError::UnknownNamespaceId(id))
    }
}

impl From<Namespace> for u32 {
    fn from(namespace: Namespace) -> u32 {
        namespace.id()
    }
}

impl TryFrom<u32> for Namespace {
    type Error = KeyError;
    fn try_from(id: u32) -> Result<Namespace, KeyError> {
        Namespace::from_id(id)
    }
}

impl fmt::Display for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Namespace::Subnet(netuid) => write!(f, "sn{netuid}"),
            Namespace::System(system) => f.write_str(system.name()),
        }
    }
}

impl fmt::Debug for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Accepts `sn22`, `22`, `validators`, `pricing` and `proposers`.
impl FromStr for Namespace {
    type Err = KeyError;
    fn from_str(text: &str) -> Result<Namespace, KeyError> {
        let digits = text.strip_prefix("sn").unwrap_or(text);
        if let Ok(netuid) = digits.parse::<u16>() {
            return Ok(Namespace::Subnet(netuid));
        }
        SystemNamespace::ALL
            .into_iter()
            .find(|system| system.name() == text)
            .map(Namespace::System)
            .ok_or_else(|| KeyError::UnknownNamespace(text.to_owned()))
    }
}

/// A key of the ledger. Deserialising checks the path as [`Key::new`] does.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "UncheckedKey")]
pub struct Key {
    pub namespace: Namespace,
    pub path: String,
}

impl Key {
    /// A key, after checking its path (see [`check_path`]).
    pub fn new(namespace: Namespace, path: impl Into<String>) -> Result<Key, KeyError> {
        let path = path.into();
        check_path(&path)?;
        Ok(Key { namespace, path })
    }
}

#[derive(Deserialize)]
struct UncheckedKey {
    namespace: Namespace,
    path: String,
}

impl TryFrom<UncheckedKey> for Key {
    type Error = KeyError;
    fn try_from(key: UncheckedKey) -> Result<Key, KeyError> {
        Key::new(key.namespace, key.path)
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.namespace, self.path)
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A path is 1 to 255 bytes of UTF-8 without control characters. NUL is excluded so that
/// storage can end a path with `0x00` and keep bytewise order.
pub fn check_path(path: &str) -> Result<(), KeyError> {
    if path.is_empty() {
        return Err(KeyError::EmptyPath);
    }
    if path.len() > MAX_PATH_LEN {
        return Err(KeyError::PathTooLong { len: path.len() });
    }
    if let Some(bad) = path.chars().find(|c| c.is_control()) {
        return Err(KeyError::ControlCharacter { path: path.to_owned(), code: u32::from(bad) });
    }
    Ok(())
}

/// A namespace or path that is not valid.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    #[error("unknown namespace `{0}` (expected a netuid such as `sn22` or `22`, `validators`, `pricing` or `proposers`)")]
    UnknownNamespace(String),
    #[error("unknown namespace number {0}")]
    UnknownNamespaceId(u32),
    #[error("a path cannot be empty")]
    EmptyPath,
    #[error("a path is at most {MAX_PATH_LEN} bytes; this one has {len}")]
    PathTooLong { len: usize },
    #[error("path `{}` contains control character U+{code:04X}", path.escape_debug())]
    ControlCharacter { path: String, code: u32 },
}
