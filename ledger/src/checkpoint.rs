//! Checkpoints: the chain of committed versions.
//!
//! Every commit makes version `v + 1` and a [`Checkpoint`] naming its state root, the hash of
//! the checkpoint before it and the hash of the changes that led to it. Checkpoint hashes chain
//! the versions, so a signature over one (an attestation) vouches for the whole history.

use serde::{Deserialize, Serialize};

use crate::hash::{self, Hash};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub version: u64,
    pub state_root: Hash,
    /// Hash of the previous checkpoint; [`Hash::ZERO`] for version 0.
    pub parent: Hash,
    /// [`ChangeSet::hash`](crate::ChangeSet::hash) of the changes this version applied.
    pub diff_hash: Hash,
    /// Commit time, milliseconds since the Unix epoch; never earlier than the parent's.
    pub time_ms: u64,
}

impl Checkpoint {
    /// `0x05 || u64be(version) || state_root || parent || diff_hash || u64be(time_ms)`.
    pub fn hash(&self) -> Hash {
        let mut hasher = hash::tagged_hasher(hash::TAG_CHECKPOINT);
        hasher
            .update(&self.version.to_be_bytes())
            .update(self.state_root.as_bytes())
            .update(self.parent.as_bytes())
            .update(self.diff_hash.as_bytes())
            .update(&self.time_ms.to_be_bytes());
        Hash(*hasher.finalize().as_bytes())
    }

    /// Whether `next` can follow this checkpoint.
    pub fn is_parent_of(&self, next: &Checkpoint) -> bool {
        next.version == self.version + 1 && next.parent == self.hash() && next.time_ms >= self.time_ms
    }
}
