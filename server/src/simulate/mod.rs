//! `orchestra simulate`: the subnet's incentive against miners that cheat, on loopback, and the
//! share of the weights each way of mining ends with.
//!
//! Terms:
//! - **strategy**: how a miner answers ([`Strategy`]): honestly, or cheating in one of the ways a
//!   miner could try. Each miner runs a real node (its own ledger over the loopback subnets,
//!   answering the validator's signed challenges); a cheat puts an axon in front of it that
//!   changes the answer and signs it with the miner's hotkey ([`strategies`]).
//! - **round**: one [`Validator::round`], the same code `orchestra validator` runs, against a mock
//!   subtensor node serving finney's runtime metadata, where the validator holds uid 0 and each
//!   strategy one uid: a generated challenge to every miner (answers checked, replayed, scored),
//!   the review of the honest miner's ledger node (where the others propose), the scoreboard's
//!   moving averages, the weights as the SDK processes them.
//! - **drift**: before each round the loopback subnets' searches change (the round's news page,
//!   X posts and Reddit threads about the query's topic join their results:
//!   [`testkit::SubnetServer::set_drift`]), as a live subnet's answers do.
//! - **share**: a strategy's weight over the sum of the weights set that round.
//!
//! - **prices**: Data Universe publishes no price, so the simulated one charges
//!   [`DATA_UNIVERSE_USD_MICROS`] a request, in every participant's ledger: a cost liar then has
//!   a cost to shave on every answer, as on a priced subnet.
//!
//! What it does not simulate: the chain's own rules (rate limits, stake, emissions), other
//! validators, and subnets that fail.

pub mod strategies;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::Args;
use ledger::hotkey::Hotkey;
use ledger::record::{Health, HealthStatus, Record, Stake};
use ledger::{Change, ChangeSet, DiffProposal, Hash, Key, Namespace, SystemNamespace};
use orchestrator::orchestrate::{Config, Orchestrator};
use orchestrator::outbound::Policy;
use orchestrator::route::Catalog;
use serde_json::{json, Value};
use subnet::chain::testing::{mock_node_with_storage, subnet_storage};
use subnet::chain::{keypair_from_seed, AccountId32, ChainClient};
use subnet::validator::challenge::known::KnownAnswerBudget;
use subnet::validator::challenge::replay::ReplayBudget;
use subnet::validator::{LedgerUnderReview, ProbeBudget, Settings, Validator};
use testkit::{SubnetKind, SubnetServer, TestLedger};

use crate::api::proposers::{ProposerGate, Quota};
use crate::cli::{CliError, print_json};
use crate::serve::runtime;
use strategies::{answer, axon, copying, credentials, disguising, fill, forward, inventing, node, replaying, reseal, NodeSpec, Strategy};

/// The simulated subnet's netuid.
const NETUID: u16 = 7;
/// What the honest node charges a customer per orchestration (the copier pays it).
const FEE_RAO: u64 = 1_000;

#[derive(Args)]
pub struct SimulateArgs {
    /// How many validator rounds to run.
    #[arg(long, default_value_t = 50)]
    rounds: u32,
    /// Also write the shares to FILE as JSON: `{"rounds": [{strategy: share}], "final": {strategy: share}}`.
    #[arg(long)]
    json: Option<PathBuf>,
}

impl SimulateArgs {
    pub fn run(self) -> Result<(), CliError> {
        if self.rounds == 0 {
            return Err(CliError::Usage("--rounds must be at least 1".into()));
        }
        let rounds = runtime()?.block_on(simulate(self.rounds, &mut std::io::stderr())).map_err(CliError::Usage)?;
        let report = json!({ "rounds": rounds, "final": rounds.last() });
        if let Some(path) = &self.json {
            std::fs::write(path, serde_json::to_vec_pretty(&report).map_err(|error| CliError::Usage(error.to_string()))?)
                .map_err(|error| CliError::Usage(format!("cannot write {}: {error}", path.display())))?;
        }
        print_json(&json!({ "final": report["final"] }))
    }
}

/// A participant's one key, for the chain (subxt) and off it (Epistula, receipts, diffs).
struct Participant {
    seed: [u8; 32],
}

impl Participant {
    fn hotkey(&self) -> Hotkey {
        Hotkey::from_seed(&self.seed).expect("a 32-byte seed")
    }

    fn account(&self) -> AccountId32 {
        AccountId32(self.hotkey().public())
    }
}

/// Runs `rounds` rounds, writing each round's shares to `progress` as it ends; the shares by
/// round.
pub async fn simulate(rounds: u32, progress: &mut impl std::io::Write) -> Result<Vec<BTreeMap<&'static str, f64>>, String> {
    let desearch = SubnetServer::start(SubnetKind::Desearch).await;
    let data_universe = SubnetServer::start(SubnetKind::DataUniverse).await;
    let subnets = [&desearch, &data_universe];
    let validator = Participant { seed: [1; 32] };
    let miners: Vec<(Strategy, Participant)> = Strategy::ALL.iter().zip(2u8..).map(|(strategy, byte)| (*strategy, Participant { seed: [byte; 32] })).collect();
    let key_of = |wanted: Strategy| miners.iter().find(|(strategy, _)| *strategy == wanted).map(|(_, participant)| participant).expect("every strategy has a miner");
    let mut kept = Vec::new();
    let mut fresh_ledger = || -> Result<ledger::Ledger, String> {
        let TestLedger { mut ledger, dir } = testkit::test_ledger(&subnets);
        kept.push(dir);
        price_data_universe(&mut ledger)?;
        Ok(ledger)
    };

    // The honest miner's node is also the ledger node the validator reviews, where every miner
    // may propose and proposals wait for the validator's approval.
    let gate = Arc::new(ProposerGate::new(Quota::default()));
    gate.set_registered(miners.iter().map(|(_, participant)| participant.hotkey().ss58()).collect());
    let mut primary_ledger = fresh_ledger()?;
    let stake = Key::new(Namespace::System(SystemNamespace::Validators), validator.hotkey().ss58()).map_err(|error| error.to_string())?;
    primary_ledger.commit(ChangeSet::new([Change { key: stake, value: Some(Record::Stake(Stake { rao: 1_000_000 }).encode()) }])).map_err(|error| error.to_string())?;
    let copier_key = primary_ledger.issue_api_key(u64::MAX / 4).map_err(|error| error.to_string())?;
    let spec = |participant: &Participant, primary: Option<String>| NodeSpec { hotkey: participant.hotkey(), validator: validator.hotkey().ss58(), primary, gate: None, fee_rao: FEE_RAO };
    let honest_port = node(NodeSpec { gate: Some(gate), ..spec(key_of(Strategy::Honest), None) }, primary_ledger).await?;
    let primary = format!("http://127.0.0.1:{honest_port}");
    let inventing_subnets = [inventing(&desearch).await?, inventing(&data_universe).await?];

    let mut axons = Vec::new();
    for (strategy, participant) in &miners {
        let hotkey = participant.hotkey();
        let mut own_node = || Ok::<_, String>(node(spec(participant, Some(primary.clone())), fresh_ledger()?));
        let port = match strategy {
            Strategy::Honest => honest_port,
            Strategy::Filler => {
                let port = own_node()?.await?;
                let filling = answer(move |headers, body| async move {
                    let mut answer = forward(port, &headers, body).await?;
                    fill(&mut answer["result"]);
                    Ok(answer)
                });
                axon(hotkey, filling).await?
            }
            Strategy::Replayer => axon(hotkey.clone(), replaying(own_node()?.await?, hotkey)).await?,
            Strategy::CostLiar => {
                let port = own_node()?.await?;
                let signer = hotkey.clone();
                let lying = answer(move |headers, body| {
                    let signer = signer.clone();
                    async move {
                        let mut answer = forward(port, &headers, body).await?;
                        reseal(&mut answer, &signer, None, |_, call| {
                            call.cost_usd_micros = call.cost_usd_micros * 6 / 10;
                            call.cost_rao = call.cost_rao * 6 / 10;
                        })?;
                        Ok(answer)
                    }
                });
                axon(hotkey, lying).await?
            }
            Strategy::Fabricator => {
                let mut ledger = fresh_ledger()?;
                for (subnet, inventing) in subnets.iter().zip(&inventing_subnets) {
                    ledger.commit(testkit::repointed(subnet.kind().netuid(), &inventing.base_url)).map_err(|error| error.to_string())?;
                }
                price_data_universe(&mut ledger)?;
                let port = node(spec(participant, Some(primary.clone())), ledger).await?;
                axon(hotkey.clone(), disguising(port, hotkey, inventing_subnets.to_vec())).await?
            }
            Strategy::Copier => axon(hotkey.clone(), copying(primary.clone(), copier_key.clone(), hotkey)).await?,
            Strategy::HealthSpammer => axon(hotkey, answer(|_, _| async { Err("this miner only proposes health".to_owned()) })).await?,
        };
        axons.push((participant.account(), port));
    }

    let storage = subnet_storage(NETUID, &validator.account(), &axons);
    let chain = ChainClient::from_rpc_client(mock_node_with_storage(Arc::new(Mutex::new(Vec::new())), true, storage)).await.map_err(|error| error.to_string())?;
    let mirror = tempfile::tempdir().map_err(|error| error.to_string())?;
    let settings = Settings {
        netuid: NETUID,
        challenge_deadline: Duration::from_secs(20),
        ledger: Some(LedgerUnderReview { url: primary.clone(), mirror_dir: mirror.path().join("mirror") }),
        replays: ReplayBudget::default(),
        known_answers: KnownAnswerBudget::default(),
        probes: ProbeBudget::default(),
    };
    let signer = keypair_from_seed(&format!("0x{}", hex::encode(validator.seed))).map_err(|error| error.to_string())?;
    let config = Config { outbound: Policy::loopback(), ..Config::default() };
    let orchestrator = Orchestrator::new(credentials(), validator.hotkey(), config).map_err(|error| error.to_string())?;
    let mut validator_node = Validator::new(chain, signer, orchestrator, settings);
    let catalog = Catalog::read(&fresh_ledger()?).map_err(|error| error.to_string())?;

    let names: Vec<&str> = Strategy::ALL.iter().map(|strategy| strategy.name()).collect();
    let _ = writeln!(progress, "round  {}", names.join("  "));
    let mut shares_by_round = Vec::new();
    for round in 1..=rounds {
        for subnet in subnets {
            subnet.set_drift(u64::from(round));
        }
        spam_health(&primary, &key_of(Strategy::HealthSpammer).hotkey()).await?;
        let report = validator_node.round(&catalog).await.map_err(|error| format!("round {round}: {error}"))?;
        let (uids, weights) = &report.weights;
        let total: f64 = weights.iter().map(|weight| f64::from(*weight)).sum();
        let shares: BTreeMap<&'static str, f64> = Strategy::ALL
            .iter()
            .enumerate()
            .map(|(position, strategy)| {
                let uid = position as u16 + 1;
                let weight = uids.iter().position(|candidate| *candidate == uid).map_or(0.0, |at| f64::from(weights[at]));
                (strategy.name(), if total > 0.0 { weight / total } else { 0.0 })
            })
            .collect();
        let line: Vec<String> = names.iter().map(|name| format!("{:>width$.1}%", shares[name] * 100.0, width = name.len().max(5))).collect();
        let _ = writeln!(progress, "{round:>5}  {}", line.join(" "));
        for failure in &report.known_answer_failures {
            let _ = writeln!(progress, "       no known answer for {failure}");
        }
        shares_by_round.push(shares);
    }
    Ok(shares_by_round)
}

/// What the simulated Data Universe charges a request, in micro-USD.
const DATA_UNIVERSE_USD_MICROS: u64 = 1_000;

/// Gives `ledger`'s Data Universe endpoints the simulated price ([`DATA_UNIVERSE_USD_MICROS`] a
/// request). The real API publishes none, so its calls' cost evidence says 0 and a claim of 0
/// is no lie; priced, every family's answers cost something a cost liar can shave.
fn price_data_universe(ledger: &mut ledger::Ledger) -> Result<(), String> {
    let netuid = SubnetKind::DataUniverse.netuid();
    let mut changes = Vec::new();
    for endpoint in ["on-demand-x", "on-demand-reddit"] {
        let key = Key::new(Namespace::Subnet(netuid), format!("endpoint/{endpoint}")).map_err(|error| error.to_string())?;
        let Some(bytes) = ledger.get(&key).map_err(|error| error.to_string())? else { continue };
        let Record::Endpoint(mut record) = Record::decode(&key, &bytes).map_err(|error| error.to_string())? else { continue };
        record.pricing = Some(ledger::record::Pricing { unit: ledger::record::PriceUnit::Request, usd_micros: DATA_UNIVERSE_USD_MICROS });
        changes.push(Change { key, value: Some(Record::Endpoint(record).encode()) });
    }
    ledger.commit(ChangeSet::new(changes)).map(drop).map_err(|error| error.to_string())
}

/// The health spammer's diff: every Desearch endpoint claimed degraded, signed and proposed to
/// the ledger node at `primary` against its head.
async fn spam_health(primary: &str, spammer: &Hotkey) -> Result<(), String> {
    let client = reqwest::Client::new();
    let head: Value = client.get(format!("{primary}/v1/head")).send().await.map_err(|error| error.to_string())?.json().await.map_err(|error| error.to_string())?;
    let base_root = Hash::from_hex(head["root"].as_str().unwrap_or_default()).map_err(|error| error.to_string())?;
    let claim = Record::Health(Health { status: HealthStatus::Degraded, checked_at_ms: strategies::now_ms(), latency_ms_p50: 900, success_ppm: 700_000, samples: 20 });
    let endpoints: BTreeSet<&str> = ["web-search", "ai-search", "x-search"].into();
    let changes = endpoints.iter().map(|endpoint| Key::new(Namespace::Subnet(22), format!("health/{endpoint}")).map(|key| Change { key, value: Some(claim.encode()) }));
    let changes = ChangeSet::new(changes.collect::<Result<Vec<_>, _>>().map_err(|error| error.to_string())?);
    let proposal = DiffProposal { base_version: head["version"].as_u64().unwrap_or_default(), base_root, changes, proposer: spammer.ss58() };
    // A refusal (a full pool, a stale base) is the spammer's loss, not the simulation's.
    let _ = client.post(format!("{primary}/v1/diffs")).json(&proposal.sign(spammer)).send().await;
    Ok(())
}
