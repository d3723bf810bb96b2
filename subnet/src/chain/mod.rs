//! Chain access: the Bittensor (subtensor) chain through subxt's dynamic API, so that a build
//! needs no metadata file; the runtime's metadata is read from the node (or from a file in tests).
//!
//! Terms used throughout:
//! - **extrinsic**: a SCALE-encoded transaction as a node receives it, compact length prefix
//!   included. A *signed* v4 extrinsic carries the signer's address, an sr25519 signature, the
//!   transaction extensions' explicit values (era, nonce, tip, ...) and the call.
//! - **signer payload**: the bytes the signature covers: call data, the extensions' explicit
//!   values, then their implicit values (spec version, transaction version, genesis hash,
//!   checkpoint hash), hashed with blake2b-256 when longer than 256 bytes.
//! - **era**: an extrinsic's lifetime. A *mortal* era `(period, phase)` is valid from its *birth*
//!   block to `birth + period`; the *checkpoint* is the birth block's hash, which the signer
//!   signs. An *immortal* era never expires and is refused for payments.
//! - **extrinsic hash**: blake2b-256 of the encoded extrinsic; the node's transaction hash.
//! - **rao**: the chain's smallest unit; 1 TAO = 10^9 rao.
//! - **replay set**: the extrinsic hashes already accepted as payment ([`ReplaySet`]).
//! - **settlement**: submitting a verified extrinsic and waiting until it is in a finalized
//!   block without a dispatch error. The validator's own calls (weights, commitments) are
//!   submitted the same way, signed by its hotkey.
//! - **finalized block**: a block the chain will not revert. Reads default to the latest one;
//!   each read method also takes the hash of another block to read at.
//!
//! Reads and writes of subnet state: [`metagraph`](ChainClient::metagraph) and subnet
//! identities (`metagraph.rs`), hyperparameters and weights (`weights.rs`), ledger root
//! commitments (`commitments.rs`). Their terms are defined in those modules.
//!
//! The x402 `exact` scheme on Bittensor: a client signs, without broadcasting,
//! `Balances.transfer_keep_alive(pay_to, amount)`; [`verify_payment`] checks it offline against
//! the runtime metadata and [`ChainClient::settle`] submits it.

mod client;
mod commitments;
mod metadata;
mod metagraph;
mod payment;
mod pinned;
mod replay;
mod weights;
#[cfg(feature = "test-support")]
pub mod testing;

pub use client::{keypair_from_seed, BlockId, ChainClient, ChainError, RuntimeVersions};
pub use commitments::{ledger_root_commitment, LEDGER_COMMITMENT_PREFIX, MAX_COMMITMENT_BYTES};
pub use metadata::{metadata_path, read_metadata_file, MetadataFileError, METADATA_ENV};
pub use metagraph::{AxonInfo, Metagraph, Neuron, SubnetIdentity};
pub use payment::{
    check_payment, check_signed, checkpoint_blocks, extrinsic_hash, funding_problem, verify_payment, Account, BlockHashes, ChainState, Payment, PaymentError,
    PaymentRequirement, SignedExtrinsic, VerifiedPayment, MAX_NONCE_AHEAD,
};
pub use replay::{MemoryReplaySet, ReplaySet};
pub use subxt::utils::{AccountId32, H256};
pub use subxt_signer::sr25519::Keypair;
pub use weights::{weights_action, weights_commit_hash, Hyperparameters, WeightsAction};
