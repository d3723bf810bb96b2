//! Served logs: which subnet answers a miner's node received for its customers, shown to
//! validators so that a miner passing another miner's work off as its own is found out.
//!
//! A miner can answer a validator's challenge by asking another miner's node for it as a paying
//! customer and re-sealing the answer as its own: receipts, citations, costs and replays all
//! hold, because the work is real; only it is not the answerer's. The node that did the work
//! knows what it received, and it gains when the copy earns nothing. Terms:
//! - **body**: a subnet's answer to one call, named by its receipt's `response_hash` (blake3 of
//!   the bytes).
//! - **served log**: a node's record of the bodies its calls received for customers (not for a
//!   validator's challenge, whose answer goes to that validator), each with when the
//!   orchestration ended; kept [`RETENTION_MS`], at most [`MAX_ENTRIES`] orchestrations.
//! - **query** (`POST /v1/served`, Epistula-signed by a validator of the subnet, answered signed
//!   by the miner): [`ServedQuery`], bodies named by the blake3 hash of their `response_hash`
//!   ([`query_key`], at most [`MAX_QUERY_KEYS`]) and a time; the answer ([`ServedAnswer`])
//!   gives the `response_hash`es themselves of those the log holds from orchestrations ended
//!   since that time. A hash does not give its preimage away, so a node can show only bodies
//!   whose hash it knew: it cannot claim a call it never saw answered.
//!
//! What a validator concludes from the answers is [`crate::validator::relays`].

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::Mutex;

use ledger::Hash;
use serde::{Deserialize, Serialize};

/// How long a node keeps what it served.
pub const RETENTION_MS: u64 = 30 * 60 * 1000;
/// Most orchestrations a served log holds; the oldest go first.
pub const MAX_ENTRIES: usize = 4096;
/// Most bodies one orchestration records.
pub const MAX_BODIES_PER_ENTRY: usize = 256;
/// Most bodies one query asks about.
pub const MAX_QUERY_KEYS: usize = 1024;

/// `POST /v1/served`: which of these bodies did the node receive for a customer since
/// `since_ms`?
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ServedQuery {
    /// Unix milliseconds; orchestrations that ended earlier are not searched.
    pub since_ms: u64,
    /// The bodies asked about, each as [`query_key`] of its `response_hash`, hex.
    pub keys: Vec<Hash>,
}

/// The `response_hash`es of the bodies asked about that the node's log holds.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct ServedAnswer {
    pub held: Vec<Hash>,
}

/// The name a query gives a body: blake3 of its `response_hash`.
pub fn query_key(response_hash: &Hash) -> Hash {
    Hash(*blake3::hash(response_hash.as_bytes()).as_bytes())
}

/// A body in the log: its hash, the latest time an orchestration that received it ended, and
/// how many orchestrations of the log received it.
struct Held {
    body: Hash,
    latest_ms: u64,
    entries: usize,
}

/// The log: orchestrations oldest first (when each ended, its bodies' query keys), and an index
/// of every body by query key, so that a query costs a lookup per key whatever the log holds.
#[derive(Default)]
struct Log {
    entries: VecDeque<(u64, Vec<Hash>)>,
    index: HashMap<Hash, Held>,
}

impl Log {
    fn forget_oldest(&mut self) {
        let Some((_, keys)) = self.entries.pop_front() else { return };
        for key in keys {
            if let Some(held) = self.index.get_mut(&key) {
                held.entries -= 1;
                if held.entries == 0 {
                    self.index.remove(&key);
                }
            }
        }
    }
}

/// A node's served log (see the module documentation).
#[derive(Default)]
pub struct ServedLog {
    log: Mutex<Log>,
}

impl ServedLog {
    /// Records the bodies (`response_hash`es) of an orchestration that ended at `ended_ms` (at
    /// most [`MAX_BODIES_PER_ENTRY`]), dropping what is past retention or beyond the bound; an
    /// orchestration that received nothing is not recorded and displaces nothing.
    pub fn record(&self, ended_ms: u64, bodies: impl IntoIterator<Item = Hash>) {
        let bodies: BTreeSet<Hash> = bodies.into_iter().take(MAX_BODIES_PER_ENTRY).collect();
        if bodies.is_empty() {
            return;
        }
        let Ok(mut log) = self.log.lock() else { return };
        while log.entries.front().is_some_and(|(oldest, _)| oldest.saturating_add(RETENTION_MS) < ended_ms) || log.entries.len() >= MAX_ENTRIES {
            log.forget_oldest();
        }
        let keys: Vec<Hash> = bodies.iter().map(query_key).collect();
        for (key, body) in keys.iter().zip(bodies) {
            let held = log.index.entry(*key).or_insert(Held { body, latest_ms: ended_ms, entries: 0 });
            held.latest_ms = held.latest_ms.max(ended_ms);
            held.entries += 1;
        }
        log.entries.push_back((ended_ms, keys));
    }

    /// The bodies of `query` the log holds from orchestrations ended since its `since_ms` (each
    /// once); `None` when it asks about more than [`MAX_QUERY_KEYS`].
    pub fn held(&self, query: &ServedQuery) -> Option<Vec<Hash>> {
        if query.keys.len() > MAX_QUERY_KEYS {
            return None;
        }
        let log = self.log.lock().ok()?;
        let held: BTreeSet<Hash> = query.keys.iter().filter_map(|key| log.index.get(key)).filter(|held| held.latest_ms >= query.since_ms).map(|held| held.body).collect();
        Some(held.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(byte: u8) -> Hash {
        Hash([byte; 32])
    }

    fn query(since_ms: u64, bodies: &[Hash]) -> ServedQuery {
        ServedQuery { since_ms, keys: bodies.iter().map(query_key).collect() }
    }

    #[test]
    fn a_log_shows_the_bodies_it_holds_since_a_time_and_no_others() {
        let log = ServedLog::default();
        log.record(1_000, [body(1), body(2)]);
        log.record(2_000, [body(3)]);
        log.record(500, [body(3)]);
        assert_eq!(log.held(&query(0, &[body(1), body(3), body(9)])), Some(vec![body(1), body(3)]));
        assert_eq!(log.held(&query(1_500, &[body(1), body(3)])), Some(vec![body(3)]), "the first ended before the time asked");
        let asked_by_itself = ServedQuery { since_ms: 0, keys: vec![body(1)] };
        assert_eq!(log.held(&asked_by_itself), Some(vec![]), "a body is asked about by its query key, not its hash");
        let too_many: Vec<Hash> = (0..=MAX_QUERY_KEYS).map(|n| Hash(*blake3::hash(&n.to_le_bytes()).as_bytes())).collect();
        assert_eq!(log.held(&query(0, &too_many)), None);
    }

    #[test]
    fn a_log_forgets_past_retention_and_beyond_its_bound() {
        let log = ServedLog::default();
        log.record(0, [body(1)]);
        log.record(RETENTION_MS + 1, [body(2)]);
        assert_eq!(log.held(&query(0, &[body(1), body(2)])), Some(vec![body(2)]));
        for n in 0..MAX_ENTRIES as u64 + 10 {
            log.record(RETENTION_MS + 2 + n, [Hash(*blake3::hash(&n.to_le_bytes()).as_bytes())]);
        }
        assert_eq!(log.log.lock().unwrap().entries.len(), MAX_ENTRIES);
        assert_eq!(log.log.lock().unwrap().index.len(), MAX_ENTRIES, "what is forgotten leaves the index");
        assert_eq!(log.held(&query(0, &[body(2)])), Some(vec![]), "the oldest went first");
        log.record(u64::MAX / 2, []);
        assert_eq!(log.log.lock().unwrap().entries.len(), MAX_ENTRIES, "an orchestration that received nothing displaces nothing");
    }
}
