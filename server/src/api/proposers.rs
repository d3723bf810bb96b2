//! Who may write diffs over the network, and how much.
//!
//! Terms:
//! - **known proposer**: the validator set's admin, a member of the ledger's proposer set, or a
//!   hotkey **registered** on the subnet, as the metagraph says when the node follows the chain
//!   (see [`ledger::Ledger::is_known_proposer`]). Anyone else is refused before any quota or
//!   write is spent on them.
//! - **quota**: node-local limits on what one known proposer may submit per window, in diffs and
//!   in bytes of values, counted whether or not the diff then applies, so a proposer cannot
//!   make the node check its conflicts without end. Quotas are settings, not ledger state:
//!   every operator chooses their own.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

use axum::http::StatusCode;

use super::error::{ApiError, Code};

/// Limits on what one proposer submits per window.
#[derive(Clone, Copy, Debug)]
pub struct Quota {
    pub window: Duration,
    pub diffs: u32,
    pub bytes: u64,
}

impl Default for Quota {
    fn default() -> Quota {
        Quota { window: Duration::from_secs(3600), diffs: 120, bytes: 16 << 20 }
    }
}

/// What a proposer used in its current window.
struct Usage {
    since: Instant,
    diffs: u32,
    bytes: u64,
}

/// The registered hotkeys and the proposers' quotas.
pub struct ProposerGate {
    registered: RwLock<BTreeSet<String>>,
    quota: Quota,
    // Only known proposers get an entry, so this grows with the proposer set, not with strangers.
    usage: Mutex<HashMap<String, Usage>>,
}

impl ProposerGate {
    pub fn new(quota: Quota) -> ProposerGate {
        ProposerGate { registered: RwLock::new(BTreeSet::new()), quota, usage: Mutex::new(HashMap::new()) }
    }

    /// Replaces the hotkeys registered on the subnet, after the metagraph was read.
    pub fn set_registered(&self, hotkeys: BTreeSet<String>) {
        if let Ok(mut registered) = self.registered.write() {
            *registered = hotkeys;
        }
    }

    /// Admits the hotkeys registered in `metagraph` (every UID's), in place of the last ones.
    pub fn admit_registered(&self, metagraph: &subnet::chain::Metagraph) {
        self.set_registered(metagraph.neurons.iter().map(|neuron| neuron.hotkey_ss58()).collect());
    }

    pub fn is_registered(&self, hotkey: &str) -> bool {
        self.registered.read().is_ok_and(|registered| registered.contains(hotkey))
    }

    /// Counts one diff of `bytes` against `proposer`'s quota, or refuses it with when to retry.
    pub fn charge(&self, proposer: &str, bytes: u64) -> Result<(), ApiError> {
        let mut usage = self.usage.lock().map_err(|_| ApiError::poisoned())?;
        let now = Instant::now();
        let used = usage.entry(proposer.to_owned()).or_insert(Usage { since: now, diffs: 0, bytes: 0 });
        if now.duration_since(used.since) >= self.quota.window {
            *used = Usage { since: now, diffs: 0, bytes: 0 };
        }
        if used.diffs >= self.quota.diffs || used.bytes.saturating_add(bytes) > self.quota.bytes {
            let retry_after = self.quota.window.saturating_sub(now.duration_since(used.since)).as_secs().max(1);
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                Code::ProposerOverQuota,
                format!(
                    "{proposer} has used its quota of {} diffs and {} bytes per {} s; retry in {retry_after} s",
                    self.quota.diffs,
                    self.quota.bytes,
                    self.quota.window.as_secs()
                ),
            )
            .with_header("retry-after", retry_after.to_string()));
        }
        used.diffs += 1;
        used.bytes += bytes;
        Ok(())
    }
}
