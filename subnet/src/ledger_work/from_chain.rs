//! What the chain says that the ledger should too: the subnets and their identities (for
//! [`sync_changes`](super::chain_sync::sync_changes)) and the validator set of the Orchestra
//! subnet.
//!
//! Terms:
//! - **validator set** of the ledger: the `validators/<hotkey>` records, each a stake, whose
//!   two-thirds finalise checkpoints. From the metagraph it is every hotkey holding a validator
//!   permit, with its stake on the subnet; hotkeys that lost their permit are removed.

use std::collections::BTreeMap;

use ledger::record::{Record, Stake};
use ledger::{Change, ChangeSet, Key, Namespace, SystemNamespace};

use super::chain_sync::ChainSubnet;
use crate::chain::{ChainClient, ChainError, Metagraph};

/// Every subnet on chain with its identity, at the latest finalized block.
pub async fn chain_subnets(chain: &ChainClient) -> Result<Vec<ChainSubnet>, ChainError> {
    let mut subnets = Vec::new();
    for netuid in chain.subnets(None).await? {
        let identity = chain.subnet_identity(netuid, None).await?;
        subnets.push(ChainSubnet { netuid, identity });
    }
    Ok(subnets)
}

/// The changes that make the ledger's validator set, `current` (hotkey to stake in rao), the
/// metagraph's (see the module documentation).
pub fn validator_set_changes(current: &BTreeMap<String, u64>, metagraph: &Metagraph) -> ChangeSet {
    let permitted: BTreeMap<String, u64> = metagraph.neurons.iter().filter(|neuron| neuron.validator_permit).map(|neuron| (neuron.hotkey_ss58(), neuron.stake_rao)).collect();
    let key = |hotkey: &str| Key::new(Namespace::System(SystemNamespace::Validators), hotkey).expect("an SS58 address is a valid path");
    let updated = permitted
        .iter()
        .filter(|(hotkey, stake)| current.get(*hotkey) != Some(stake))
        .map(|(hotkey, stake)| Change { key: key(hotkey), value: Some(Record::Stake(Stake { rao: *stake }).encode()) });
    let removed = current.keys().filter(|hotkey| !permitted.contains_key(*hotkey)).map(|hotkey| Change { key: key(hotkey), value: None });
    ChangeSet::new(updated.chain(removed).collect::<Vec<_>>())
}
