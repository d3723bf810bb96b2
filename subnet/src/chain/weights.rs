//! Weights: how a validator scores a subnet's UIDs on chain, and when it may.
//!
//! Terms:
//! - **weights**: `(UID, value)` pairs with u16 values; the runtime normalises them, so only
//!   their ratios matter.
//! - **version key**: the subnet's `WeightsVersionKey`. Weights carrying a lower key are
//!   refused (a subnet key of 0 accepts any), so validators send the key their code targets.
//! - **rate limit**: `WeightsSetRateLimit`, the blocks a UID waits between two weight settings
//!   (or commits), counted from its `LastUpdate`. A UID that never set weights does not wait.
//! - **commit-reveal**: with the subnet's `CommitRevealWeightsEnabled` on, `set_weights` is
//!   refused. A validator instead commits a hash of its weights ([`weights_commit_hash`]) and
//!   reveals the weights themselves in a later epoch, when the runtime checks them against it.
//! - **salt**: u16 values mixed into the commit hash so that it cannot be matched against
//!   guessed weights before the reveal. Keep it until the reveal: it is needed there.
//! - **hyperparameters**: the subnet's settings that govern the above ([`Hyperparameters`]).

use super::client::{read_required, ChainClient, ChainError};
use super::metagraph::SUBTENSOR;
use subxt::config::substrate::BlakeTwo256;
use subxt::config::Hasher;
use subxt::ext::codec::Encode;
use subxt::utils::{AccountId32, H256};
use subxt_signer::sr25519::Keypair;

/// The subnet settings that decide when and how a validator sets weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hyperparameters {
    /// Blocks per epoch.
    pub tempo: u16,
    pub commit_reveal_weights_enabled: bool,
    pub weights_set_rate_limit: u64,
    pub weights_version_key: u64,
    /// The fewest weights a validator must set (the runtime caps it at the subnet's size).
    pub min_allowed_weights: u16,
    /// The largest share one UID may get, out of `u16::MAX`.
    pub max_weights_limit: u16,
}

/// What a validator may do about its weights at a given block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightsAction {
    /// Call `set_weights`.
    SetNow,
    /// Call `commit_weights` (and reveal later): commit-reveal is on.
    CommitNow,
    /// The rate limit holds until this block.
    WaitUntil(u64),
}

/// What a validator whose UID last updated at `last_update_block` may do at `current_block`.
///
/// The runtime applies the rate limit at the block that executes the extrinsic, which is after
/// the (finalized) `current_block` a caller observes; judging at `current_block` therefore never
/// says "now" too early.
pub fn weights_action(h: &Hyperparameters, last_update_block: u64, current_block: u64) -> WeightsAction {
    // `LastUpdate` 0 means never: the runtime exempts such a UID from the limit.
    if last_update_block != 0 {
        let allowed_from = last_update_block.saturating_add(h.weights_set_rate_limit);
        if current_block < allowed_from {
            return WeightsAction::WaitUntil(allowed_from);
        }
    }
    if h.commit_reveal_weights_enabled {
        WeightsAction::CommitNow
    } else {
        WeightsAction::SetNow
    }
}

/// The hash `commit_weights` takes and `reveal_weights` is checked against: BlakeTwo256
/// (blake2b-256) of the SCALE encoding of `(who, netuid, uids, values, salt, version_key)`, the
/// tuple subtensor hashes with `BlakeTwo256::hash_of` on reveal.
///
/// `netuid` is encoded as two little-endian bytes. Spec 393's metadata types the call's netuid as
/// a plain u16; later runtimes hash a `NetUidStorageIndex` (`mechanism * 4096 + netuid`), also a
/// u16, which for mechanism 0 (the one these calls address) is the netuid itself: the same bytes.
pub fn weights_commit_hash(who: &AccountId32, netuid: u16, uids: &[u16], values: &[u16], salt: &[u16], version_key: u64) -> H256 {
    BlakeTwo256.hash(&(who, netuid, uids, values, salt, version_key).encode())
}

impl ChainClient {
    /// The subnet's weight-setting hyperparameters at `block`, or at the latest finalized block.
    /// A subnet that does not exist has the runtime's defaults.
    pub async fn hyperparameters(&self, netuid: u16, block: Option<H256>) -> Result<Hyperparameters, ChainError> {
        let at = self.at(block).await?;
        let key = (netuid,);
        let (tempo, commit_reveal_weights_enabled, weights_set_rate_limit, weights_version_key, min_allowed_weights, max_weights_limit) =
            futures::try_join!(
                read_required(&at, SUBTENSOR, "Tempo", key),
                read_required(&at, SUBTENSOR, "CommitRevealWeightsEnabled", key),
                read_required(&at, SUBTENSOR, "WeightsSetRateLimit", key),
                read_required(&at, SUBTENSOR, "WeightsVersionKey", key),
                read_required(&at, SUBTENSOR, "MinAllowedWeights", key),
                read_required(&at, SUBTENSOR, "MaxWeightsLimit", key),
            )?;
        Ok(Hyperparameters {
            tempo,
            commit_reveal_weights_enabled,
            weights_set_rate_limit,
            weights_version_key,
            min_allowed_weights,
            max_weights_limit,
        })
    }

    /// `SubtensorModule.set_weights(netuid, uids, weights, version_key)` signed by `signer` (the
    /// validator's hotkey); waits until it succeeds in a finalized block and returns its hash.
    pub async fn set_weights(
        &self,
        signer: &Keypair,
        netuid: u16,
        uids: &[u16],
        weights: &[u16],
        version_key: u64,
    ) -> Result<H256, ChainError> {
        paired(uids, weights)?;
        let call = subxt::dynamic::tx(SUBTENSOR, "set_weights", (netuid, uids, weights, version_key));
        self.submit(signer, &call).await
    }

    /// `SubtensorModule.commit_weights(netuid, commit_hash)`, the hash from
    /// [`weights_commit_hash`]; waits as [`Self::set_weights`] does.
    pub async fn commit_weights(&self, signer: &Keypair, netuid: u16, commit_hash: H256) -> Result<H256, ChainError> {
        let call = subxt::dynamic::tx(SUBTENSOR, "commit_weights", (netuid, commit_hash));
        self.submit(signer, &call).await
    }

    /// `SubtensorModule.reveal_weights(netuid, uids, values, salt, version_key)`: the weights
    /// and salt of an earlier commit; waits as [`Self::set_weights`] does.
    pub async fn reveal_weights(
        &self,
        signer: &Keypair,
        netuid: u16,
        uids: &[u16],
        values: &[u16],
        salt: &[u16],
        version_key: u64,
    ) -> Result<H256, ChainError> {
        paired(uids, values)?;
        let call = subxt::dynamic::tx(SUBTENSOR, "reveal_weights", (netuid, uids, values, salt, version_key));
        self.submit(signer, &call).await
    }
}

/// Refuses, before paying any fee, weights the runtime would refuse for not pairing up.
fn paired(uids: &[u16], values: &[u16]) -> Result<(), ChainError> {
    if uids.len() == values.len() {
        Ok(())
    } else {
        Err(ChainError::LengthMismatch { uids: uids.len(), values: values.len() })
    }
}
