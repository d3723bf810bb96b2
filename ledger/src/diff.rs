//! Diff proposals: changes a miner asks the ledger to make, signed by its hotkey.
//!
//! A [`SignedDiff`] names the version and root it was written against (its **base**), the
//! changes, and the proposer's SS58 hotkey, and carries an sr25519 signature over
//! `DIFF_DOMAIN || canonical(DiffProposal)`. [`Ledger::apply_diff`] checks everything before it
//! writes anything: size limits, the signature, every record's type and content, and the base.
//! A base older than the head is **rebased** when none of the diff's keys changed after it;
//! otherwise the diff is refused with the key and version of the conflict.
//!
//! **Who may write.** A diff is **admitted** only from a proposer the ledger knows: the validator
//! set's admin, a member of the **proposer set** (the `proposers` namespace, changed only by the
//! admin), or a hotkey the caller vouches for as registered on the subnet (the node reads those
//! from the metagraph; the ledger knows nothing of the chain). A diff that touches the validator
//! set or the proposer set must come from the admin.

use serde::{Deserialize, Serialize};

use crate::attest::VALIDATORS;
use crate::key::{Namespace, SystemNamespace};
use crate::change::ChangeSet;
use crate::checkpoint::Checkpoint;
use crate::codec;
use crate::error::{Error, Result};
use crate::hash::Hash;
use crate::hotkey::{self, Hotkey, HotkeyError};
use crate::key::Key;
use crate::record::Record;
use crate::store::Ledger;

/// Prefix of the signed bytes, so a diff signature can never be taken for another message.
pub const DIFF_DOMAIN: &[u8] = b"orchestra/ledger/diff/v1:";
/// Most changes in one diff.
pub const MAX_DIFF_CHANGES: usize = 256;
/// Most bytes of values in one diff.
pub const MAX_DIFF_BYTES: usize = 1 << 20;

/// The signed part of a diff.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiffProposal {
    pub base_version: u64,
    pub base_root: Hash,
    pub changes: ChangeSet,
    /// SS58 hotkey of the proposer.
    pub proposer: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedDiff {
    pub proposal: DiffProposal,
    #[serde(with = "crate::hotkey::signature_bytes")]
    pub signature: [u8; 64],
}

#[derive(Debug, thiserror::Error)]
pub enum DiffError {
    #[error("the diff has {count} changes; the limit is {MAX_DIFF_CHANGES}")]
    TooManyChanges { count: usize },
    #[error("the diff carries {bytes} bytes of values; the limit is {MAX_DIFF_BYTES}")]
    TooLarge { bytes: usize },
    #[error("the diff changes nothing")]
    Empty,
    #[error(transparent)]
    Signature(#[from] HotkeyError),
    #[error("the diff's base version {base} is newer than the head {head}")]
    BaseInFuture { base: u64, head: u64 },
    #[error("the diff's base root {claimed} is not the root of version {base} ({actual})")]
    BaseRootMismatch { base: u64, claimed: Hash, actual: Hash },
    #[error("only the validator set's admin ({}) may change the validator or proposer set or the prices; {proposer} is not it", admin.as_deref().unwrap_or("none is set"))]
    NotAdmin { proposer: String, admin: Option<String> },
    #[error("{proposer} may not propose diffs: it is neither registered on the subnet nor in the ledger's proposer set")]
    UnknownProposer { proposer: String },
    #[error("{key} was changed by a version whose signed diff does not propose that change")]
    NotProposed { key: Key },
    #[error("conflict: {key} changed at version {changed_at}, after the diff's base version {base}; rebase the diff on the head")]
    Conflict { key: Key, changed_at: u64, base: u64 },
}

impl DiffProposal {
    /// The bytes the proposer signs.
    pub fn signing_bytes(&self) -> Vec<u8> {
        let mut bytes = DIFF_DOMAIN.to_vec();
        bytes.extend_from_slice(&codec::encode(self));
        bytes
    }

    /// Bytes of values the diff writes.
    pub fn value_bytes(&self) -> usize {
        self.changes.changes().iter().filter_map(|change| change.value.as_ref()).map(Vec::len).sum()
    }

    pub fn sign(self, hotkey: &Hotkey) -> SignedDiff {
        let signature = hotkey.sign(&self.signing_bytes());
        SignedDiff { proposal: self, signature }
    }
}

impl SignedDiff {
    /// Refuses `applied` (what a version changed) unless every change is one the proposal made:
    /// a version cannot pass off other changes under a proposer's signature. (It may hold fewer:
    /// a put of the value already there changes nothing.)
    pub fn covers(&self, applied: &ChangeSet) -> Result<()> {
        let proposed = self.proposal.changes.changes();
        for change in applied.changes() {
            if proposed.binary_search_by(|candidate| candidate.key.cmp(&change.key)).map_or(true, |at| proposed[at] != *change) {
                return Err(DiffError::NotProposed { key: change.key.clone() }.into());
            }
        }
        Ok(())
    }

    /// The checks that need no ledger: limits, signature, records.
    pub fn check(&self) -> Result<()> {
        let changes = self.proposal.changes.changes();
        if changes.is_empty() {
            return Err(DiffError::Empty.into());
        }
        if changes.len() > MAX_DIFF_CHANGES {
            return Err(DiffError::TooManyChanges { count: changes.len() }.into());
        }
        let bytes = self.proposal.value_bytes();
        if bytes > MAX_DIFF_BYTES {
            return Err(DiffError::TooLarge { bytes }.into());
        }
        hotkey::verify_signature(&self.proposal.proposer, &self.proposal.signing_bytes(), &self.signature)
            .map_err(DiffError::from)?;
        for change in changes {
            if let Some(value) = &change.value {
                Record::decode(&change.key, value)?;
            }
        }
        Ok(())
    }
}

/// The namespace of the proposer set.
pub(crate) const PROPOSERS: Namespace = Namespace::System(SystemNamespace::Proposers);
/// The namespace of the node's prices: the operator's, like the sets.
const PRICING: Namespace = Namespace::System(SystemNamespace::Pricing);

impl Ledger {
    /// Checks a signed diff and commits it as the next version, rebased on the head when its
    /// keys are untouched since its base. `registered` says whether a hotkey is registered on
    /// the subnet, beyond the ledger's own proposer set. Nothing is written unless every check
    /// passes.
    pub fn apply_diff(&mut self, diff: &SignedDiff, registered: &dyn Fn(&str) -> bool) -> Result<Checkpoint> {
        self.check_diff(diff, registered)?;
        self.commit_as(diff.proposal.changes.clone(), Some(diff), None)
    }

    /// Everything [`Ledger::apply_diff`] checks before it writes: whether `diff` would apply at
    /// the head now.
    pub(crate) fn check_diff(&self, diff: &SignedDiff, registered: &dyn Fn(&str) -> bool) -> Result<()> {
        diff.check()?;
        let proposal = &diff.proposal;
        let head = self.head().version;
        if proposal.base_version > head {
            return Err(DiffError::BaseInFuture { base: proposal.base_version, head }.into());
        }
        self.admit(proposal, registered)?;
        let base = self.checkpoint(proposal.base_version)?;
        if base.state_root != proposal.base_root {
            return Err(DiffError::BaseRootMismatch { base: base.version, claimed: proposal.base_root, actual: base.state_root }.into());
        }
        if base.version < head {
            if base.version < self.oldest_version() {
                return Err(Error::Pruned { version: base.version, oldest: self.oldest_version() });
            }
            for change in proposal.changes.changes() {
                if let Some(changed_at) = self.last_change(&change.key)?.filter(|version| *version > base.version) {
                    return Err(DiffError::Conflict { key: change.key.clone(), changed_at, base: base.version }.into());
                }
            }
        }
        Ok(())
    }

    /// Whether `hotkey` may propose diffs at the head: the admin, a member of the proposer set,
    /// or registered on the subnet.
    pub fn is_known_proposer(&self, hotkey: &str, registered: &dyn Fn(&str) -> bool) -> Result<bool> {
        let admin = self.validator_set(self.head().version)?.admin;
        Ok(admin.as_deref() == Some(hotkey) || self.is_listed_proposer(hotkey) || registered(hotkey))
    }

    fn is_listed_proposer(&self, hotkey: &str) -> bool {
        Key::new(PROPOSERS, hotkey).is_ok_and(|key| self.state().get(&key).is_some())
    }

    /// Refuses a proposer the ledger does not know, and a change to the validator or proposer
    /// set or to the prices by anyone but the admin.
    fn admit(&self, proposal: &DiffProposal, registered: &dyn Fn(&str) -> bool) -> Result<()> {
        let proposer = &proposal.proposer;
        let touches_sets = proposal.changes.changes().iter().any(|change| matches!(change.key.namespace, VALIDATORS | PROPOSERS | PRICING));
        if touches_sets {
            let admin = self.validator_set(self.head().version)?.admin;
            if admin.as_ref() != Some(proposer) {
                return Err(DiffError::NotAdmin { proposer: proposer.clone(), admin }.into());
            }
            return Ok(());
        }
        if !self.is_known_proposer(proposer, registered)? {
            return Err(DiffError::UnknownProposer { proposer: proposer.clone() }.into());
        }
        Ok(())
    }
}
