//! The validator's own copy of the ledger under review.
//!
//! A checkpoint's root is the serving node's claim. Attesting it on the node's word would let a
//! hostile node have any root attested, and everyone who trusts the attestations would then
//! accept proofs against it. So the validator keeps a **mirror**: a ledger of its own,
//! bootstrapped when the validator starts from a snapshot of the node (at its latest final
//! checkpoint, else at the oldest version it keeps; the import recomputes the root of what it
//! holds), to which every version under review is applied with [`Ledger::replicate`]. That
//! recomputes the root, the parent and the diff hash from the changes served and refuses a
//! version whose checkpoint they do not reproduce, writing nothing.
//!
//! Everything the review reads of the ledger (the proposer set and the admin at the version
//! before, the endpoint records that health claims speak of, the values a round changed) is
//! read from the mirror, never asked of the node. The mirror is rebuilt at each start, so the
//! versions after the latest final one are reviewed again and the refusals among them are
//! found again.

use std::path::{Path, PathBuf};

use ledger::{Checkpoint, Key, Ledger, Options};
use serde::Deserialize;

use super::review::{get_json_capped, LedgerVersion};
use orchestrator::outbound::{describe, read_capped, Guard, Origin};

/// Largest snapshot the mirror is bootstrapped from.
const MAX_SNAPSHOT_BYTES: usize = 1 << 30;
/// Versions the mirror keeps readable: a review reads the version before each one it applies
/// and the version the round started at, a page of versions (at most a few hundred) earlier.
const RETENTION: u64 = 4096;

/// `GET /v1/head`, of which the bootstrap reads where the trusted history starts.
#[derive(Deserialize)]
struct Head {
    oldest_version: u64,
    #[serde(rename = "final")]
    latest_final: Option<Version>,
}

#[derive(Deserialize)]
struct Version {
    version: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum MirrorError {
    #[error("the ledger node: {0}")]
    Node(String),
    #[error("the mirror: {0}")]
    Ledger(#[from] ledger::Error),
    #[error("the mirror's directory {0}: {1}")]
    Directory(PathBuf, std::io::Error),
}

pub struct Mirror {
    ledger: Ledger,
}

impl Mirror {
    /// A mirror in `dir` (its earlier content removed) of the node at `url`, from the node's
    /// snapshot of its latest final checkpoint or, with none, of the oldest version it keeps.
    pub async fn bootstrap(guard: &Guard, url: &str, dir: &Path) -> Result<Mirror, MirrorError> {
        match std::fs::remove_dir_all(dir) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => return Err(MirrorError::Directory(dir.to_path_buf(), error)),
            _ => {}
        }
        let head: Head = get_json_capped(guard, &format!("{url}/v1/head"), 1 << 20).await.map_err(MirrorError::Node)?;
        let start = head.latest_final.map_or(head.oldest_version, |checkpoint| checkpoint.version);
        let request = guard.get(&format!("{url}/v1/snapshot?version={start}"), Origin::Operator).map_err(|refusal| MirrorError::Node(refusal.to_string()))?;
        let response = request.send().await.and_then(reqwest::Response::error_for_status).map_err(|error| MirrorError::Node(describe(&error)))?;
        let snapshot = read_capped(response, MAX_SNAPSHOT_BYTES).await.map_err(|error| MirrorError::Node(error.to_string()))?;
        let ledger = Ledger::import(dir, &snapshot[..], None, Options { retention: Some(RETENTION), ..Options::default() }, &mut |_| {})?;
        if ledger.head().version != start {
            return Err(MirrorError::Node(format!("asked for the snapshot of version {start}, it sent version {}", ledger.head().version)));
        }
        Ok(Mirror { ledger })
    }

    /// The last version applied.
    pub fn head(&self) -> &Checkpoint {
        self.ledger.head()
    }

    /// Applies `version` if its changes reproduce its checkpoint (and its signed diff, when it
    /// carries one, holds and covers them); else writes nothing and says why.
    pub fn apply(&mut self, version: &LedgerVersion) -> Result<Checkpoint, ledger::Error> {
        self.ledger.replicate(&version.checkpoint, version.changes.clone(), version.diff.as_ref())
    }

    /// The value of `key` at `version`, which must still be kept.
    pub fn get_at(&self, key: &Key, version: u64) -> Result<Option<Vec<u8>>, ledger::Error> {
        self.ledger.get_at(key, version)
    }
}
