//! `orchestra ledger sync-chain`: what the chain states that the ledger does not yet say,
//! as ledger changes: subnets newly registered or whose on-chain identity changed, and, with
//! `--netuid`, the validator set from that subnet's metagraph (permits and stakes).
//!
//! The operator commits them to the local ledger, or, with `--propose-to URL`, sends them to a
//! primary as diffs signed by the node's hotkey: the identities in one diff, the validator set
//! in another, since only the set's admin may sign the latter.

use std::collections::BTreeMap;
use std::path::Path;

use clap::Args;
use ledger::record::{Record, SubnetIdentity};
use ledger::{ChangeSet, Key, Ledger, Namespace, Options};
use subnet::chain::ChainClient;
use subnet::ledger_work::chain_sync::sync_changes;
use subnet::ledger_work::from_chain::{chain_subnets, validator_set_changes};
use subnet::ledger_work::remote;
use serde_json::{json, Value};

use crate::cli::{print_json, CliError};
use crate::orchestrate_cmd::OutboundArgs;
use crate::identity::HotkeyArgs;
use crate::{node, present};

#[derive(Args)]
pub struct SyncChainArgs {
    /// JSON-RPC endpoint of a subtensor node.
    #[arg(long, env = "ORCHESTRA_CHAIN_URL")]
    chain_url: String,
    /// Also take the validator set from this subnet's metagraph.
    #[arg(long, env = "ORCHESTRA_NETUID")]
    netuid: Option<u16>,
    /// Send the changes to this primary as signed diffs instead of committing them here.
    #[arg(long)]
    propose_to: Option<String>,
    /// The hotkey that signs proposals (else the node's own).
    #[command(flatten)]
    hotkey: HotkeyArgs,
    #[command(flatten)]
    outbound: OutboundArgs,
}

impl SyncChainArgs {
    pub fn run(self, data: &Path) -> Result<(), CliError> {
        let runtime = crate::serve::runtime()?;
        let (mut ledger, _) = node::open_or_seed(data, Options::default())?;
        let (identities, validators) = runtime.block_on(async {
            let chain = ChainClient::connect(&self.outbound.guard()?, &self.chain_url).await?;
            let identities = sync_changes(&ledger_identities(&ledger)?, &chain_subnets(&chain).await?);
            let validators = match self.netuid {
                Some(netuid) => validator_set_changes(&ledger.validator_set(ledger.head().version)?.stakes, &chain.metagraph(netuid, None).await?),
                None => ChangeSet::new([]),
            };
            Ok::<_, CliError>((identities, validators))
        })?;
        let counts = json!({ "identities": identities.len(), "validators": validators.len() });
        match &self.propose_to {
            None => {
                let changes = ChangeSet::new(identities.into_changes().into_iter().chain(validators.into_changes()).collect::<Vec<_>>());
                let committed = if changes.is_empty() { Value::Null } else { present::checkpoint(&ledger.commit(changes)?) };
                print_json(&json!({ "changes": counts, "committed": committed }))
            }
            Some(primary) => {
                let hotkey = self.hotkey.node_hotkey(data)?;
                let guard = self.outbound.guard()?;
                let mut proposed = Vec::new();
                for changes in [identities, validators] {
                    let made = runtime.block_on(remote::propose_to(&guard, primary, changes, &hotkey)).map_err(|error| CliError::Usage(error.to_string()))?;
                    proposed.extend(made);
                }
                print_json(&json!({ "changes": counts, "proposed": proposed }))
            }
        }
    }
}

/// The ledger's identity records by netuid.
fn ledger_identities(ledger: &Ledger) -> Result<BTreeMap<u16, SubnetIdentity>, CliError> {
    let mut identities = BTreeMap::new();
    let subnets: Vec<u16> = ledger.state().namespaces().filter_map(|(namespace, _)| if let Namespace::Subnet(netuid) = namespace { Some(netuid) } else { None }).collect();
    for netuid in subnets {
        let key = Key::new(Namespace::Subnet(netuid), "identity")?;
        if let Some(bytes) = ledger.get(&key)? {
            if let Record::Identity(identity) = Record::decode(&key, &bytes)? {
                identities.insert(netuid, identity);
            }
        }
    }
    Ok(identities)
}
