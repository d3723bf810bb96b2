//! The validator's own copy of the ledger under review.
//!
//! A checkpoint's root is the serving node's claim. Attesting it on the node's word would let a
//! hostile node have any root attested, and everyone who trusts the attestations would then
//! accept proofs against it. So the validator keeps a **mirror**: a ledger of its own to which
//! every version under review is applied with [`Ledger::replicate`]. That recomputes the root,
//! the parent and the diff hash from the changes served and refuses a version whose checkpoint
//! they do not reproduce, writing nothing.
//!
//! The mirror starts from a snapshot of the node, whose root the import recomputes from the
//! entries. When the validator starts, that snapshot (of the node's latest final checkpoint,
//! else of the oldest version it keeps) is taken on the node's word as to the history before
//! it: trust on first use. When the node later prunes past the mirror, the mirror starts again
//! only from a snapshot no older than itself that a quorum of the validator set the mirror
//! holds has attested: once running, the validator never takes a state on the node's word.
//!
//! Everything the review reads of the ledger (the proposer set and the admin at the version
//! before, the endpoint records that health claims speak of, the values a round changed) is
//! read from the mirror, never asked of the node. The mirror is rebuilt at each start, so the
//! versions after the latest final one are reviewed again and the refusals among them are
//! found again.

use std::path::{Path, PathBuf};

use ledger::{Checkpoint, Key, Ledger, Options, ValidatorSet};

use super::review::LedgerVersion;
use orchestrator::outbound::{describe, read_capped, Guard, Origin};

/// Largest snapshot the mirror is bootstrapped from.
const MAX_SNAPSHOT_BYTES: usize = 1 << 30;
/// Versions the mirror keeps readable: a review reads the version before each one it applies
/// and the version the round started at, a page of versions (at most a few hundred) earlier.
const RETENTION: u64 = 4096;

#[derive(Debug, thiserror::Error)]
pub enum MirrorError {
    #[error("the ledger node: {0}")]
    Node(String),
    #[error("the mirror: {0}")]
    Ledger(#[from] ledger::Error),
    #[error("the mirror's directory {0}: {1}")]
    Directory(PathBuf, std::io::Error),
    #[error("the node has pruned past the mirror (at version {mirror}) and offers version {offered}, which is older")]
    Older { mirror: u64, offered: u64 },
}

pub struct Mirror {
    ledger: Ledger,
    /// Each start from a snapshot makes a new generation, `generation-<n>` in the mirror's
    /// directory, so that a failed restart leaves the running one as it was.
    generation: u64,
}

fn generation_dir(dir: &Path, generation: u64) -> PathBuf {
    dir.join(format!("generation-{generation}"))
}

impl Mirror {
    /// A mirror in `dir` (its earlier content removed) of the node at `url`, from the node's
    /// snapshot of version `start`, taken on the node's word (see the module documentation).
    pub async fn bootstrap(guard: &Guard, url: &str, dir: &Path, start: u64) -> Result<Mirror, MirrorError> {
        // Only a mirror's own generations are removed: a directory holding anything else (a
        // data directory named by mistake) is refused.
        if let Ok(entries) = std::fs::read_dir(dir) {
            if let Some(foreign) = entries.flatten().find(|entry| !entry.file_name().to_string_lossy().starts_with("generation-")) {
                let refusal = std::io::Error::other(format!("it holds {}, which is not a mirror's; name an empty or new directory", foreign.file_name().to_string_lossy()));
                return Err(MirrorError::Directory(dir.to_path_buf(), refusal));
            }
        }
        match std::fs::remove_dir_all(dir) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => return Err(MirrorError::Directory(dir.to_path_buf(), error)),
            _ => {}
        }
        std::fs::create_dir_all(dir).map_err(|error| MirrorError::Directory(dir.to_path_buf(), error))?;
        Ok(Mirror { ledger: import(guard, url, &generation_dir(dir, 0), start, None).await?, generation: 0 })
    }

    /// Starts again from the node's snapshot of `start`, after the node pruned past the mirror:
    /// a snapshot no older than the mirror, attested by a quorum of the validator set the
    /// mirror holds. On any failure the mirror is left as it was.
    pub async fn restart(&mut self, guard: &Guard, url: &str, dir: &Path, start: u64) -> Result<(), MirrorError> {
        if start < self.head().version {
            return Err(MirrorError::Older { mirror: self.head().version, offered: start });
        }
        let trusted = self.ledger.validator_set(self.head().version)?;
        if trusted.total_stake() == 0 {
            return Err(MirrorError::Node("the mirror holds no validator set to vouch for a later snapshot".into()));
        }
        let next = self.generation + 1;
        let _ = std::fs::remove_dir_all(generation_dir(dir, next));
        let ledger = import(guard, url, &generation_dir(dir, next), start, Some(&trusted)).await?;
        let old = std::mem::replace(self, Mirror { ledger, generation: next });
        drop(old);
        let _ = std::fs::remove_dir_all(generation_dir(dir, next - 1));
        Ok(())
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

/// The node's snapshot of version `start`, imported into `dir`; with `trusted`, it must carry
/// attestations of a quorum of it.
async fn import(guard: &Guard, url: &str, dir: &Path, start: u64, trusted: Option<&ValidatorSet>) -> Result<Ledger, MirrorError> {
    let request = guard.get(&format!("{url}/v1/snapshot?version={start}"), Origin::Operator).map_err(|refusal| MirrorError::Node(refusal.to_string()))?;
    let response = request.send().await.and_then(reqwest::Response::error_for_status).map_err(|error| MirrorError::Node(describe(&error)))?;
    let snapshot = read_capped(response, MAX_SNAPSHOT_BYTES).await.map_err(|error| MirrorError::Node(error.to_string()))?;
    let ledger = Ledger::import(dir, &snapshot[..], trusted, Options { retention: Some(RETENTION), ..Options::default() }, &mut |_| {})?;
    if ledger.head().version != start {
        return Err(MirrorError::Node(format!("asked for the snapshot of version {start}, it sent version {}", ledger.head().version)));
    }
    Ok(ledger)
}
