//! Which version "the current ledger" is read at, and why.
//!
//! Anyone holding a signed proposal can get it applied at a primary's head; only validators'
//! attestations make a version trustworthy. So on a ledger with a **validator set** (any stake
//! in the `validators` namespace at the head), routing, probes and answers about the current
//! ledger read the **trusted version**: the latest final checkpoint, or the genesis when none is
//! final yet, moved forward over the operator's own local writes after it (they need no one's
//! attestation), and stopping at the first proposal not yet final. A proposal becomes readable
//! this way once final. A ledger without a validator set is one operator's: it is read at its
//! head.
//!
//! Proofs at the trusted version come from trees kept in memory ([`Ledger::prove_at`] keeps the
//! last historical version's trees), so they cost what proofs at the head cost once built.

use serde::Serialize;

use crate::error::Result;
use crate::store::Ledger;

/// The version reads of the current ledger use, and why it is that one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Reading {
    pub version: u64,
    pub basis: Basis,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// No validator set: the operator's own ledger, read at its head.
    Head,
    /// The latest final checkpoint (or the genesis), and any local writes after it.
    Final,
}

impl Basis {
    pub fn explain(self) -> &'static str {
        match self {
            Basis::Head => "the ledger has no validator set, so it is read at its head",
            Basis::Final => "the ledger has a validator set, so it is read at its latest final checkpoint and the operator's own writes after it",
        }
    }
}

impl Ledger {
    /// Where reads of the current ledger happen (see the module documentation).
    pub fn reading(&self) -> Result<Reading> {
        let head = self.head().version;
        if self.validator_set(head)?.total_stake() == 0 {
            return Ok(Reading { version: head, basis: Basis::Head });
        }
        let mut version = self.latest_final.unwrap_or(0).max(self.oldest_version());
        while version < head && self.change_record(version + 1)?.proposer.is_none() {
            version += 1;
        }
        Ok(Reading { version, basis: Basis::Final })
    }
}
