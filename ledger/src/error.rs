//! The ledger's errors. Each says what was wrong in terms of the caller's request.

use std::path::PathBuf;

use crate::codec::CodecError;
use crate::hash::Hash;
use crate::key::{Key, KeyError};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("no ledger at {}: initialise one first (`orchestra ledger init`)", .0.display())]
    NotInitialised(PathBuf),
    #[error("{} holds other files and no ledger; choose an empty or new directory", .0.display())]
    NotALedger(PathBuf),
    #[error("a ledger already exists at {}", .0.display())]
    AlreadyInitialised(PathBuf),
    #[error("the ledger at {} has format version {found}; this build reads version {expected}", dir.display())]
    UnsupportedFormat { dir: PathBuf, found: u64, expected: u64 },
    #[error(
        "refusing to open the ledger at {}: the state rebuilt from storage has root {recomputed}, \
         but checkpoint {version} records {recorded}; the data directory is damaged (restore it \
         from a snapshot or a replica)", dir.display()
    )]
    RootMismatch { dir: PathBuf, version: u64, recorded: Hash, recomputed: Hash },
    #[error("the data directory is damaged: {0}")]
    Corrupt(String),
    #[error("cannot {action} {}: {source}", path.display())]
    Filesystem { action: &'static str, path: PathBuf, source: std::io::Error },
    #[error("the system gave no randomness for a new API key: {0}")]
    NoRandomness(String),
    #[error("storage failure: {0}")]
    Storage(#[from] rocksdb::Error),
    #[error("version {version} does not exist yet; the head is version {head}")]
    UnknownVersion { version: u64, head: u64 },
    #[error("version {version} has been pruned; the oldest kept version is {oldest}")]
    Pruned { version: u64, oldest: u64 },
    #[error("versions must be given oldest first: {from} is after {to}")]
    ReversedRange { from: u64, to: u64 },
    #[error("{0} does not exist")]
    NotFound(Key),
    #[error("the commit changes nothing: every put writes the value already there")]
    EmptyCommit,
    #[error("the value for {key} is {len} bytes; the limit is {limit}")]
    ValueTooLarge { key: Key, len: usize, limit: usize },
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Codec(#[from] CodecError),
    #[error(transparent)]
    Record(#[from] crate::record::RecordError),
    #[error(transparent)]
    Diff(#[from] crate::diff::DiffError),
    #[error(transparent)]
    Attest(#[from] crate::attest::AttestError),
    #[error(transparent)]
    Pool(#[from] crate::pool::PoolError),
    #[error(transparent)]
    Snapshot(#[from] crate::snapshot::SnapshotError),
    #[error(transparent)]
    Credit(#[from] crate::credits::CreditError),
    #[error("the primary's version {} (root {}) is not what its changes give here: version {}, root {}", primary.version, primary.state_root, computed.version, computed.state_root)]
    ReplicaDiverged { primary: Box<crate::Checkpoint>, computed: Box<crate::Checkpoint> },
    #[error("genesis sources: {0}")]
    Genesis(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
