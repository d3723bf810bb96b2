//! The replay set: extrinsic hashes already accepted as payment, so that one signed transfer
//! pays for one request. The server keeps a persistent one; [`MemoryReplaySet`] serves tests
//! and single-process use.

use std::collections::HashSet;
use subxt::utils::H256;

/// Extrinsic hashes already accepted as payment.
pub trait ReplaySet {
    /// Records `hash`; returns `false`, recording nothing, when it was recorded before. Check
    /// and record are one step so that two requests carrying one extrinsic cannot both pass.
    fn record(&mut self, hash: H256) -> bool;
}

/// A replay set in memory, forgotten when the process ends.
#[derive(Debug, Default)]
pub struct MemoryReplaySet(HashSet<H256>);

impl ReplaySet for MemoryReplaySet {
    fn record(&mut self, hash: H256) -> bool {
        self.0.insert(hash)
    }
}
