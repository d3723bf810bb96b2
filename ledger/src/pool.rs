//! The proposal pool: signed diffs waiting for the validators' approval.
//!
//! Terms:
//! - **proposal**: a proposer's [`SignedDiff`] that a ledger with a validator set has taken but
//!   not applied, named by its **id**, the blake3 hash of what the proposer signed
//!   ([`proposal_id`]). Without a validator set (a single operator's ledger), and for the
//!   set's admin, a diff is applied at once ([`Ledger::propose`]).
//! - **approval**: a validator's sr25519 signature over `APPROVAL_DOMAIN || id` ([`Approval`]),
//!   sent once it has checked the proposal (signature, proposer, probes of what it writes).
//! - **quorum**: approvals of distinct members of the head's validator set holding at least two
//!   thirds of its stake. A proposal that reaches it is applied as the next version, admitted
//!   and rebased as [`Ledger::apply_diff`] does, and leaves the pool; one that no longer applies
//!   (a conflicting write came first, its proposer left) leaves it too, with the reason.
//!
//! So a proposal the validators do not approve never enters the history: finality never has to
//! wait for its changes to be undone. A proposal that gathers no quorum within
//! [`PROPOSAL_TTL_MS`] expires; the pool holds at most [`MAX_PROPOSALS`], at most
//! [`MAX_PROPOSALS_PER_PROPOSER`] of one proposer. The pool is the node's own (outside the
//! commitment, like credits), kept in the `proposals` column family so that a restart loses
//! nothing, with each proposal's [`Summary`] in memory so that taking and listing proposals
//! reads no diff. A version that applies a signed diff removes its proposal in the same atomic
//! write, so a crash never leaves an applied proposal waiting.

use serde::{Deserialize, Serialize};

use crate::checkpoint::Checkpoint;
use crate::codec;
use crate::diff::SignedDiff;
use crate::error::{Error, Result};
use crate::hash::Hash;
use crate::hotkey::{self, Hotkey, HotkeyError};
use crate::schema;
use crate::store::{cf, now_ms, Ledger};

/// Prefix of the signed bytes, so an approval can never be taken for another message.
pub const APPROVAL_DOMAIN: &[u8] = b"orchestra/ledger/approve/v1:";
/// Most proposals waiting at once.
pub const MAX_PROPOSALS: usize = 1024;
/// Most proposals of one proposer waiting at once, so that no proposer can fill the pool.
pub const MAX_PROPOSALS_PER_PROPOSER: usize = 8;
/// How long a proposal waits for its quorum before it expires: a day.
pub const PROPOSAL_TTL_MS: u64 = 24 * 60 * 60 * 1000;

/// The id of `diff` as a proposal.
pub fn proposal_id(diff: &SignedDiff) -> Hash {
    Hash(*blake3::hash(&diff.proposal.signing_bytes()).as_bytes())
}

/// A validator's approval of a proposal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    pub proposal: Hash,
    /// SS58 hotkey of the validator.
    pub validator: String,
    #[serde(with = "crate::hotkey::signature_bytes")]
    pub signature: [u8; 64],
}

impl Approval {
    pub fn signing_bytes(proposal: &Hash) -> Vec<u8> {
        [APPROVAL_DOMAIN, proposal.as_bytes()].concat()
    }

    pub fn sign(proposal: &Hash, hotkey: &Hotkey) -> Approval {
        Approval { proposal: *proposal, validator: hotkey.ss58(), signature: hotkey.sign(&Approval::signing_bytes(proposal)) }
    }

    pub fn verify_signature(&self) -> Result<(), HotkeyError> {
        hotkey::verify_signature(&self.validator, &Approval::signing_bytes(&self.proposal), &self.signature)
    }
}

/// A proposal waiting in the pool, with the approvals it has gathered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proposal {
    pub id: Hash,
    pub diff: SignedDiff,
    /// When the node took it, in milliseconds since the Unix epoch.
    pub received_ms: u64,
    pub approvals: Vec<Approval>,
}

/// A waiting proposal without its values: what listing the pool shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub id: Hash,
    pub proposer: String,
    pub base_version: u64,
    pub changes: usize,
    pub value_bytes: usize,
    pub received_ms: u64,
    /// The validators that approved it.
    pub approvals: Vec<String>,
}

impl Summary {
    fn of(proposal: &Proposal) -> Summary {
        let diff = &proposal.diff.proposal;
        Summary {
            id: proposal.id,
            proposer: diff.proposer.clone(),
            base_version: diff.base_version,
            changes: diff.changes.changes().len(),
            value_bytes: diff.value_bytes(),
            received_ms: proposal.received_ms,
            approvals: proposal.approvals.iter().map(|approval| approval.validator.clone()).collect(),
        }
    }
}

/// The pool's summaries by id, kept beside the column family.
pub(crate) type Summaries = std::collections::BTreeMap<Hash, Summary>;

/// The summaries of the proposals stored in `db`, read once when the ledger opens.
pub(crate) fn read_summaries(db: &rocksdb::DB) -> Result<Summaries> {
    let mut summaries = Summaries::new();
    for item in db.iterator_cf(cf(db, schema::PROPOSALS), rocksdb::IteratorMode::Start) {
        let proposal: Proposal = codec::decode(&item?.1, "proposal")?;
        summaries.insert(proposal.id, Summary::of(&proposal));
    }
    Ok(summaries)
}

/// What became of a diff sent to the ledger.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Proposed {
    /// Applied at once: a ledger without validators, or the admin's diff.
    Applied(Checkpoint),
    /// Waiting in the pool for its quorum, under this id.
    Pending(Hash),
}

/// What an approval did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Approved {
    /// Recorded (false when this validator had approved already); no quorum yet.
    Waiting { recorded: bool },
    /// The quorum was reached and the proposal applied as this version.
    Applied(Checkpoint),
    /// The quorum was reached but the proposal no longer applies; it left the pool.
    Dropped(String),
}

#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    #[error("no proposal {0} is waiting (it was applied, dropped, expired, or never taken)")]
    Unknown(Hash),
    #[error("{validator} is not in the head's validator set")]
    NotAMember { validator: String },
    #[error("the approval's signature does not verify: {0}")]
    Signature(HotkeyError),
    #[error("{MAX_PROPOSALS} proposals are waiting for the validators; retry once some are decided")]
    Full,
    #[error("{MAX_PROPOSALS_PER_PROPOSER} proposals of {proposer} are waiting for the validators; retry once some are decided")]
    ProposerFull { proposer: String },
}

impl Ledger {
    /// Takes a proposer's diff: on a ledger with a validator set, a diff from anyone but the
    /// set's admin is checked as [`Ledger::apply_diff`] would check it and waits in the pool;
    /// otherwise it is applied. Sending a waiting diff again changes nothing.
    pub fn propose(&mut self, diff: &SignedDiff, registered: &dyn Fn(&str) -> bool) -> Result<Proposed> {
        let set = self.validator_set(self.head().version)?;
        if set.total_stake() == 0 || set.admin.as_deref() == Some(diff.proposal.proposer.as_str()) {
            return self.apply_diff(diff, registered).map(Proposed::Applied);
        }
        self.check_diff(diff, registered)?;
        let id = proposal_id(diff);
        if self.pool.contains_key(&id) {
            return Ok(Proposed::Pending(id));
        }
        let now = now_ms();
        let expired: Vec<Hash> = self.pool.values().filter(|summary| now.saturating_sub(summary.received_ms) > PROPOSAL_TTL_MS).map(|summary| summary.id).collect();
        for id in &expired {
            self.remove_proposal(id)?;
        }
        let proposer = &diff.proposal.proposer;
        if self.pool.values().filter(|summary| summary.proposer == *proposer).count() >= MAX_PROPOSALS_PER_PROPOSER {
            return Err(PoolError::ProposerFull { proposer: proposer.clone() }.into());
        }
        if self.pool.len() >= MAX_PROPOSALS {
            return Err(PoolError::Full.into());
        }
        self.put_proposal(&Proposal { id, diff: diff.clone(), received_ms: now, approvals: Vec::new() })?;
        Ok(Proposed::Pending(id))
    }

    /// Records a validator's approval (a member of the head's set, its signature holding), and
    /// applies the proposal once approvals reach the quorum.
    /// Membership and signature are checked before the proposal is read, and a proposal past
    /// [`PROPOSAL_TTL_MS`] has expired: it is removed, not applied.
    pub fn approve(&mut self, approval: &Approval, registered: &dyn Fn(&str) -> bool) -> Result<Approved> {
        let set = self.validator_set(self.head().version)?;
        if !set.stakes.contains_key(&approval.validator) {
            return Err(PoolError::NotAMember { validator: approval.validator.clone() }.into());
        }
        approval.verify_signature().map_err(PoolError::Signature)?;
        let expired = self.pool.get(&approval.proposal).is_some_and(|summary| now_ms().saturating_sub(summary.received_ms) > PROPOSAL_TTL_MS);
        if expired {
            self.remove_proposal(&approval.proposal)?;
        }
        let mut proposal = self.proposal(&approval.proposal)?.ok_or(PoolError::Unknown(approval.proposal))?;
        let recorded = !proposal.approvals.iter().any(|earlier| earlier.validator == approval.validator);
        if recorded {
            proposal.approvals.push(approval.clone());
        }
        if !set.is_quorum(proposal.approvals.iter().map(|approval| approval.validator.as_str())) {
            if recorded {
                self.put_proposal(&proposal)?;
            }
            return Ok(Approved::Waiting { recorded });
        }
        // The commit removes the proposal from the pool in the same write (see `commit_as`).
        let applied = self.apply_diff(&proposal.diff, registered);
        match applied {
            Ok(checkpoint) => Ok(Approved::Applied(checkpoint)),
            Err(error @ (Error::Diff(_) | Error::Pruned { .. } | Error::Record(_) | Error::EmptyCommit | Error::ValueTooLarge { .. })) => {
                self.remove_proposal(&proposal.id)?;
                Ok(Approved::Dropped(error.to_string()))
            }
            Err(error) => Err(error),
        }
    }

    /// Every waiting proposal's summary, by id.
    pub fn proposals(&self) -> impl Iterator<Item = &Summary> {
        self.pool.values()
    }

    /// The waiting proposal `id`, if any.
    pub fn proposal(&self, id: &Hash) -> Result<Option<Proposal>> {
        let family = cf(self.db(), schema::PROPOSALS);
        Ok(self.db().get_pinned_cf(family, id.as_bytes())?.map(|bytes| codec::decode(&bytes, "proposal")).transpose()?)
    }

    fn put_proposal(&mut self, proposal: &Proposal) -> Result<()> {
        self.db().put_cf_opt(cf(self.db(), schema::PROPOSALS), proposal.id.as_bytes(), codec::encode(proposal), &self.write_options())?;
        self.pool.insert(proposal.id, Summary::of(proposal));
        Ok(())
    }

    /// Forgets the summary of a proposal whose removal a commit wrote.
    pub(crate) fn forget_proposal(&mut self, id: &Hash) {
        self.pool.remove(id);
    }

    fn remove_proposal(&mut self, id: &Hash) -> Result<()> {
        self.db().delete_cf_opt(cf(self.db(), schema::PROPOSALS), id.as_bytes(), &self.write_options())?;
        self.pool.remove(id);
        Ok(())
    }
}
