//! `orchestra miner` and `orchestra validator`: the two roles of the Orchestra subnet.
//!
//! A miner is a node (`serve`) that also answers validators' challenges (see
//! `api::miner`), its validator set read from the subnet's metagraph (the hotkeys holding a
//! validator permit) and refreshed every `--refresh-secs`. A validator runs a round once per
//! tempo (see `subnet::validator`) and prints what each round did.
//! Both need the hotkey registered on the subnet: `--hotkey-file` or `ORCHESTRA_HOTKEY_SEED`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use ledger::hotkey::Hotkey;
use ledger::Options;
use subnet::chain::{keypair_from_seed, ChainClient, Metagraph};
use orchestrator::route::Catalog;
use orchestrator::orchestrate::{Config, Orchestrator};
use subnet::validator::challenge::known::KnownAnswerBudget;
use subnet::validator::challenge::replay::ReplayBudget;
use subnet::validator::{LedgerUnderReview, ProbeBudget, Settings, Validator};
use serde_json::json;

use crate::api::{self, miner::MinerAccess};
use crate::orchestrate_cmd::OutboundArgs;
use crate::cli::{print_json, CliError};
use crate::serve::{follow_metagraph, init_logging, runtime, serve, ServeArgs};
use crate::identity::{self, HotkeyArgs};
use crate::node;

/// Seconds per block on Bittensor.
const BLOCK_SECONDS: u64 = 12;

#[derive(Args)]
pub struct MinerArgs {
    #[command(flatten)]
    serve: ServeArgs,
    /// The primary ledger node to propose diffs to (subnet health observed while serving);
    /// without it they are committed to this node's own ledger.
    #[arg(long, env = "ORCHESTRA_PROPOSE_TO")]
    propose_to: Option<String>,
}

impl MinerArgs {
    pub fn run(self, data: &Path) -> Result<(), CliError> {
        init_logging();
        let runtime = runtime()?;
        let hotkey = registered_hotkey(&self.serve.orchestrator.hotkey)?.1;
        let (state, chain, _) = self.serve.state(data, &runtime, false)?;
        let chain = chain.ok_or_else(|| CliError::Usage("a miner reads its validators from the chain: give --chain-url".into()))?;
        let netuid = self.serve.netuid.ok_or_else(|| CliError::Usage("a miner serves one subnet: give --netuid".into()))?;
        let validators = validator_set(&runtime.block_on(chain.metagraph(netuid, None))?);
        tracing::info!(netuid, validators = validators.len(), miner = %hotkey.ss58(), "answering the subnet's validators");
        let access = Arc::new(MinerAccess::new(hotkey, validators).proposing_to(self.propose_to.clone()));
        let (refreshed, gate) = (access.clone(), state.proposers().clone());
        follow_metagraph(&runtime, chain, netuid, self.serve.refresh(), move |metagraph| {
            refreshed.set_validators(validator_set(metagraph));
            gate.admit_registered(metagraph);
        });
        runtime.block_on(serve(self.serve.listen, api::router(state.with_miner(access)), |_| Vec::new()))
    }
}

/// The hotkeys holding a validator permit.
fn validator_set(metagraph: &Metagraph) -> BTreeSet<String> {
    metagraph.neurons.iter().filter(|neuron| neuron.validator_permit).map(|neuron| neuron.hotkey_ss58()).collect()
}

/// The configured hotkey's seed (hex) and the hotkey; a role on chain cannot use a made-up one.
fn registered_hotkey(source: &HotkeyArgs) -> Result<(String, Hotkey), CliError> {
    source.configured_seed()?.ok_or_else(|| {
        CliError::Usage(format!("give the registered hotkey with --wallet NAME --hotkey NAME, --hotkey-file FILE or {}", identity::HOTKEY_SEED_VAR))
    })
}

#[derive(Args)]
pub struct ValidatorArgs {
    /// The Orchestra subnet's netuid.
    #[arg(long, env = "ORCHESTRA_NETUID")]
    netuid: u16,
    /// JSON-RPC endpoint of a subtensor node.
    #[arg(long, env = "ORCHESTRA_CHAIN_URL")]
    chain_url: String,
    /// The registered hotkey.
    #[command(flatten)]
    hotkey: HotkeyArgs,
    /// The ledger node whose new versions to review and attest.
    #[arg(long, env = "ORCHESTRA_LEDGER_URL")]
    ledger_url: Option<String>,
    /// Where to keep the copy of the reviewed ledger that every version is applied to (its
    /// roots recomputed) before it is attested; emptied at start. By default the data
    /// directory's path with `-mirror` appended.
    #[arg(long)]
    mirror_dir: Option<PathBuf>,
    /// Deadline of each challenge, in milliseconds.
    #[arg(long, default_value_t = 60_000)]
    challenge_deadline_ms: u64,
    /// How many of each answer's cited calls to replay to the same subnets (with this
    /// validator's keys) and compare with the bodies the miner showed; 0 replays none.
    #[arg(long, default_value_t = ReplayBudget::default().calls_per_answer)]
    replays_per_answer: usize,
    /// The most a round's replays may cost together, in US dollars by the endpoints' public
    /// prices; a replay it cannot pay is not made.
    #[arg(long, default_value_t = ReplayBudget::default().usd_micros_per_round as f64 / 1e6)]
    replay_budget_usd: f64,
    /// How many challenges a round this validator answers itself before sending them, holding
    /// the miners' answers to its own facts; 0 fixes none.
    #[arg(long, default_value_t = KnownAnswerBudget::default().per_round)]
    known_answers_per_round: usize,
    /// The most one of those answers may spend on subnet calls, in TAO.
    #[arg(long, default_value_t = KnownAnswerBudget::default().rao_per_answer as f64 / 1e9)]
    known_answer_budget_tao: f64,
    /// How many waiting proposals to review a round, oldest first.
    #[arg(long, default_value_t = ProbeBudget::default().proposals_per_round)]
    proposals_per_round: usize,
    /// How many probes (calls with this validator's keys) the round's proposals may need
    /// together: an endpoint record needs one, a health record up to three. A proposal needing
    /// more than the whole budget is refused; the rest wait for the next round.
    #[arg(long, default_value_t = ProbeBudget::default().probes_per_round)]
    probes_per_round: usize,
    /// Stop after this many rounds; 0 runs until stopped.
    #[arg(long, default_value_t = 0)]
    rounds: u64,
    #[command(flatten)]
    outbound: OutboundArgs,
}

impl ValidatorArgs {
    fn replays(&self) -> Result<ReplayBudget, CliError> {
        if !(self.replay_budget_usd.is_finite() && self.replay_budget_usd >= 0.0) {
            return Err(CliError::Usage(format!("--replay-budget-usd {} is not an amount of dollars", self.replay_budget_usd)));
        }
        Ok(ReplayBudget { calls_per_answer: self.replays_per_answer, usd_micros_per_round: (self.replay_budget_usd * 1e6).round() as u64 })
    }

    fn known_answers(&self) -> Result<KnownAnswerBudget, CliError> {
        if !(self.known_answer_budget_tao.is_finite() && self.known_answer_budget_tao >= 0.0) {
            return Err(CliError::Usage(format!("--known-answer-budget-tao {} is not an amount of TAO", self.known_answer_budget_tao)));
        }
        Ok(KnownAnswerBudget { per_round: self.known_answers_per_round, rao_per_answer: (self.known_answer_budget_tao * 1e9).round() as u64 })
    }

    pub fn run(self, data: &Path) -> Result<(), CliError> {
        init_logging();
        let runtime = runtime()?;
        let (seed, hotkey) = registered_hotkey(&self.hotkey)?;
        let signer = keypair_from_seed(&format!("0x{seed}"))?;
        // The validator's own engine: its keys, its guard, and the answers it fixes itself.
        let config = Config { outbound: self.outbound.policy(), ..Config::default() };
        let orchestrator = Orchestrator::new(node::credentials(), hotkey, config).map_err(|error| CliError::Usage(format!("cannot start the HTTP client: {error}")))?;
        let chain = runtime.block_on(ChainClient::connect(orchestrator.guard(), &self.chain_url))?;
        let mirror_dir = self.mirror_dir.clone().unwrap_or_else(|| {
            let mut path = data.as_os_str().to_owned();
            path.push("-mirror");
            PathBuf::from(path)
        });
        let ledger = self.ledger_url.clone().map(|url| LedgerUnderReview { url, mirror_dir });
        let settings = Settings {
            netuid: self.netuid,
            challenge_deadline: Duration::from_millis(self.challenge_deadline_ms),
            ledger,
            replays: self.replays()?,
            known_answers: self.known_answers()?,
            probes: ProbeBudget { proposals_per_round: self.proposals_per_round, probes_per_round: self.probes_per_round },
        };
        let mut validator = Validator::new(chain.clone(), signer, orchestrator, settings);
        let mut round = 0;
        loop {
            round += 1;
            // The ledger may have moved since the last round: read what it routes anew.
            let catalog = {
                let (ledger, _) = node::open_or_seed(data, Options::default())?;
                Catalog::read(&ledger)?
            };
            let report = runtime.block_on(validator.round(&catalog))?;
            print_json(&json!({
                "round": round,
                "block": report.block,
                "miners": report.verdicts.iter().map(|(miner, verdict)| json!({
                    "uid": miner.uid,
                    "hotkey": miner.hotkey,
                    "success": verdict.observation.success,
                    "receipts_valid": verdict.observation.receipts_valid,
                    "schema_valid": verdict.observation.schema_valid,
                    "latency_ms": verdict.observation.latency_ms,
                    "groundedness": verdict.observation.groundedness,
                    "coverage": verdict.observation.coverage,
                    "problems": verdict.problems,
                })).collect::<Vec<_>>(),
                "known_answer_failures": report.known_answer_failures,
                "attested": report.attested,
                "refused": report.refused,
                "approved": report.approved,
                "refused_proposals": report.refused_proposals,
                "proposals_deferred": report.proposals_deferred,
                "ledger_work": report.ledger_work,
                "unused_changes": report.unused_changes,
                "review_failure": report.review_failure,
                "weights": { "uids": report.weights.0, "values": report.weights.1 },
                "action": format!("{:?}", report.action),
                "extrinsic": report.extrinsic,
            }))?;
            if self.rounds != 0 && round >= self.rounds {
                return Ok(());
            }
            let tempo = runtime.block_on(chain.hyperparameters(self.netuid, None))?.tempo;
            std::thread::sleep(Duration::from_secs(u64::from(tempo.max(1)) * BLOCK_SECONDS));
        }
    }
}
