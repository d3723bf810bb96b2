//! Lasting changes: the ledger work a round credits.
//!
//! Terms:
//! - **write**: an entry an attested diff of the round set (or deleted), with its proposer.
//! - **lasting change**: an entry whose **substance** after the round's last write differs from
//!   its substance before the round's first: a record set and set back within the round,
//!   however many diffs it took, changed nothing.
//! - **substance**: what a record says that routing relies on. For a health record, its status
//!   (up, degraded, down): its latency, sample count and time are measurements that move with
//!   every call, so re-measuring a subnet whose status stands changes nothing. For every other
//!   entry, its bytes (or its absence).
//! - **credit**: each lasting change counts once, for the proposer whose write first gave the
//!   entry the substance it ends the round with, so that rewriting what another proposer wrote
//!   is credited only when it changes the outcome, and writing the same substance again (a
//!   health status another miner already reported) credits the one who reported it first.

use std::collections::BTreeMap;

use ledger::record::{HealthStatus, Record};
use ledger::{ChangeSet, Key};

/// The round's writes: per entry, its last value and who first wrote that value's substance.
#[derive(Debug, Clone, Default)]
pub struct Writes {
    last: BTreeMap<Key, (String, Option<Vec<u8>>)>,
}

impl Writes {
    /// Notes the writes of one attested diff of `proposer`, in the order they were attested.
    pub fn record(&mut self, proposer: &str, changes: &ChangeSet) {
        for change in changes.changes() {
            match self.last.get_mut(&change.key) {
                Some((_, current)) if substance(&change.key, current.as_deref()) == substance(&change.key, change.value.as_deref()) => current.clone_from(&change.value),
                _ => {
                    self.last.insert(change.key.clone(), (proposer.to_owned(), change.value.clone()));
                }
            }
        }
    }

    /// The entries written this round, whose values before it the credit needs.
    pub fn keys(&self) -> impl Iterator<Item = &Key> {
        self.last.keys()
    }

    /// The lasting changes, each with the proposer it is credited to and the value it ends the
    /// round with, given each written entry's value before the round (`None`: absent). An entry
    /// whose earlier value is not known is not credited.
    pub fn lasting(&self, before: &BTreeMap<Key, Option<Vec<u8>>>) -> BTreeMap<Key, Lasting> {
        self.last
            .iter()
            .filter(|(key, (_, value))| before.get(*key).is_some_and(|earlier| substance(key, earlier.as_deref()) != substance(key, value.as_deref())))
            .map(|(key, (proposer, value))| (key.clone(), Lasting { proposer: proposer.clone(), before: before[key].clone(), value: value.clone() }))
            .collect()
    }
}

/// A lasting change: who it is credited to, and the entry's values before and after it
/// (`None`: absent).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lasting {
    pub proposer: String,
    pub before: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
}

impl Lasting {
    /// A digest of the entry's substance before the change and after it, comparable with
    /// those of other changes of the same entry.
    pub fn substances(&self, key: &Key) -> (Option<[u8; 32]>, Option<[u8; 32]>) {
        let digest = |value: &Option<Vec<u8>>| substance(key, value.as_deref()).map(|substance| *blake3::hash(&substance).as_bytes());
        (digest(&self.before), digest(&self.value))
    }

    /// Whether the change takes a route away: the entry deleted, or a health record saying its
    /// endpoint is down.
    pub fn removes_route(&self, key: &Key) -> bool {
        match self.value.as_deref() {
            None => true,
            Some(value) => matches!(Record::decode(key, value), Ok(Record::Health(health)) if health.status == HealthStatus::Down),
        }
    }
}

/// What an entry's value says (see the module terms), comparable across values.
fn substance(key: &Key, value: Option<&[u8]>) -> Option<Vec<u8>> {
    let value = value?;
    match Record::decode(key, value) {
        Ok(Record::Health(health)) => Some(format!("health:{:?}", health.status).into_bytes()),
        _ => Some(value.to_vec()),
    }
}
