//! Ledger work: what nodes do to keep the Subnet Ledger true, besides reading it.
//!
//! Terms:
//! - **change set**: the keys a diff would write, built here from what a node observed
//!   ([`health`]: its own calls; [`chain_sync`]: the chain's subnet identities).
//! - **proposal**: a change set signed by a miner's hotkey against a **base** checkpoint, the
//!   ledger version it was computed from ([`propose`]); validators apply it with
//!   [`ledger::Ledger::apply_diff`].
//! - **from the chain**: the subnets, their identities and the validator set as the chain
//!   states them ([`from_chain`]).
//! - **remote**: proposing to a primary ledger node over HTTP ([`remote`]).
//! - **health claim**: a proposed health record, checked against a probe ([`health_claims`]).
//! - **probe**: the live check a validator makes of an endpoint record before attesting a diff
//!   that writes it ([`probe`]).

pub mod chain_sync;
pub mod from_chain;
pub mod health;
pub mod health_claims;
pub mod probe;
pub mod remote;

use ledger::hotkey::Hotkey;
use ledger::{ChangeSet, Checkpoint, DiffProposal, Hash, SignedDiff};
use serde::Deserialize;

/// The ledger version a diff is computed against: its number and state root.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub struct Base {
    pub version: u64,
    pub root: Hash,
}

impl From<&Checkpoint> for Base {
    fn from(checkpoint: &Checkpoint) -> Base {
        Base { version: checkpoint.version, root: checkpoint.state_root }
    }
}

/// `changes` as a diff against `base`, signed by `miner`; `None` when there is nothing to
/// propose, since the ledger refuses empty diffs.
pub fn propose(changes: ChangeSet, base: Base, miner: &Hotkey) -> Option<SignedDiff> {
    if changes.is_empty() {
        return None;
    }
    let proposal = DiffProposal { base_version: base.version, base_root: base.root, changes, proposer: miner.ss58() };
    Some(proposal.sign(miner))
}
