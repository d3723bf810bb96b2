//! The Subnet Ledger: an embedded, Merkle-committed, versioned key-value database of what every
//! Bittensor subnet accepts and returns.
//!
//! # Terms
//!
//! - **Key**: a [`Namespace`] (a subnet's netuid, or a system namespace) and a **path** inside
//!   it, such as `endpoint/search`. **Values** are bytes; in subnet namespaces they are typed
//!   [records](record) in a canonical encoding.
//! - **Version**: the state after a number of commits; version 0 is the genesis (empty, or a
//!   genesis snapshot's state). Each **commit**
//!   applies a [`ChangeSet`] atomically and makes the next version with a [`Checkpoint`].
//! - **Namespace tree**: a Merkle tree over one namespace's entries sorted by path. **Ledger
//!   tree**: a Merkle tree over the namespaces' roots sorted by namespace. Its root, bound to
//!   the namespace count, is the **state root**. The byte layout is in `docs/SPEC.md`.
//! - **Proof**: a [`Proof`] that a key holds a value, or holds none, under a state root;
//!   [`verify`] checks it with nothing but blake3.
//! - **Diff**: a [`SignedDiff`], changes proposed by a miner's hotkey against a base version;
//!   on a ledger with validators it waits in the [pool] for their approval.
//!
//! With `default-features = false` the crate is only the verifier side: keys, hashes,
//! checkpoints, change sets and proofs, for light clients.

mod change;
mod checkpoint;
pub mod hash;
mod key;
mod proof;

pub use change::{Change, ChangeSet};
pub use checkpoint::Checkpoint;
pub use hash::Hash;
pub use key::{check_path, Key, KeyError, Namespace, SystemNamespace, MAX_PATH_LEN};
pub use proof::{verify, NeighbourEntry, NeighbourNamespace, Position, Proof, VerifyError};

#[cfg(feature = "storage")]
mod attest;
#[cfg(feature = "storage")]
pub mod codec;
#[cfg(feature = "storage")]
mod credits;
#[cfg(feature = "storage")]
mod payments;
#[cfg(feature = "storage")]
mod diff;
#[cfg(feature = "storage")]
mod error;
#[cfg(feature = "storage")]
pub mod genesis;
#[cfg(feature = "storage")]
pub mod hotkey;
#[cfg(feature = "storage")]
pub mod invocation;
#[cfg(feature = "storage")]
pub mod pool;
#[cfg(feature = "storage")]
pub mod record;
#[cfg(feature = "storage")]
mod reading;
#[cfg(feature = "storage")]
mod schema;
#[cfg(feature = "storage")]
pub mod snapshot;
#[cfg(feature = "storage")]
mod state;
#[cfg(feature = "storage")]
mod store;
#[cfg(feature = "storage")]
mod tree;

#[cfg(feature = "storage")]
pub use attest::{AttestError, Attestation, Attested, Finality, ValidatorSet, ATTESTATION_DOMAIN};
#[cfg(feature = "storage")]
pub use credits::{hotkey_account, is_api_key, CreditError, DailySpend};
#[cfg(feature = "storage")]
pub use diff::{DiffError, DiffProposal, SignedDiff, DIFF_DOMAIN, MAX_DIFF_BYTES, MAX_DIFF_CHANGES};
#[cfg(feature = "storage")]
pub use error::{Error, Result};
#[cfg(feature = "storage")]
pub use pool::{proposal_id, Approval, Approved, PoolError, Proposal, Proposed, Summary, APPROVAL_DOMAIN};
#[cfg(feature = "storage")]
pub use reading::{Basis, Reading};
#[cfg(feature = "storage")]
pub use state::{EntryMeta, State};
#[cfg(feature = "storage")]
pub use store::{ChangeRecord, Durability, HistoryEntry, Ledger, Options, Proven, MAX_VALUE_LEN};
#[cfg(feature = "storage")]
pub use tree::{NodeHasher, Tree};
