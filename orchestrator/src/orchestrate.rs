//! One orchestration from end to end: objective and target schema in; a validated result with
//! its plan, call records, signed receipts, cost and timings out.
//!
//! Steps: check the request; read which capabilities are routable; plan; execute the plan under
//! the deadline and the budget; synthesise and validate; seal the receipts with the node's
//! hotkey. A failure after the first call still hands back the trace (calls, sealed receipts,
//! spend), because those calls were made and may have cost money.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ledger::hotkey::Hotkey;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::credentials::Credentials;
use crate::execute::budget::TaoPrice;
use crate::execute::retry::RetryPolicy;
use crate::execute::trace::{critical_path, time_in_calls, CallRecord, Timings};
use crate::outbound::{Guard, Policy};
use crate::execute::{Context, Executed, KeptResponse, LearnedCosts, Network, PlanFailure, Session, SkippedTask, Stop, TaskError};
use crate::llm::LLM_CAPABILITY;
use crate::execute::price::{OperatorPrice, OperatorPrices};
use crate::ranking::{Ranking, Writer};
use crate::tao_price::{Feed, Quote, TaoPrices};
use crate::plan::{Plan, PlanError};
use crate::progress::{Event, Watcher};
use crate::receipts::{Nonce, ReceiptBundle};
use crate::route::{key_hints, Catalog, KeyHint, Unroutable};
use crate::schema::{SchemaError, TargetSchema, Violation};
use crate::provenance::Provenance;
use crate::synthesis::{self, Report};
use crate::planner;

/// Longest objective accepted, in bytes.
pub const MAX_OBJECTIVE_BYTES: usize = 4000;

/// A node's orchestration settings.
#[derive(Clone, Debug)]
pub struct Config {
    /// The static TAO price: the fallback when the feed cannot be read, or the price when
    /// there is no feed.
    pub tao_price: TaoPrice,
    /// Where the TAO price is read (see [`crate::tao_price`]); none for the static price only.
    pub tao_feed: Option<Feed>,
    /// Deadline of a request that names none.
    pub default_deadline: Duration,
    /// Longest deadline a request may ask for.
    pub max_deadline: Duration,
    pub retry: RetryPolicy,
    /// What outbound calls may reach beyond public https hosts.
    pub outbound: Policy,
    /// The LLM endpoints the operator prefers to plan and write, first first.
    pub writers: Vec<Writer>,
    /// The operator's prices for endpoints the ledger leaves unpriced.
    pub prices: Vec<OperatorPrice>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            // 300 USD per TAO, to be set from the market by the operator (`--tao-usd`).
            tao_price: TaoPrice { usd_micros_per_tao: 300_000_000 },
            tao_feed: None,
            default_deadline: Duration::from_secs(60),
            max_deadline: Duration::from_secs(300),
            retry: RetryPolicy::default(),
            outbound: Policy::default(),
            writers: Vec::new(),
            prices: Vec::new(),
        }
    }
}

/// What a caller asks for.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    pub objective: String,
    /// In full JSON Schema or compact form.
    pub target_schema: Value,
    #[serde(default)]
    pub budget_rao: Option<u64>,
    #[serde(default)]
    pub deadline_ms: Option<u64>,
    /// The caller's challenge; a random one when absent.
    #[serde(default)]
    pub nonce: Option<Nonce>,
    /// Whether the answer carries the response bodies its citations point into.
    #[serde(default)]
    pub include_evidence: bool,
}

/// A response a citation may point into, and the headers its cost was read from, as received.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceBody {
    /// The index of the receipt whose `response_hash` covers it.
    pub receipt: u64,
    /// The body, base64 (standard alphabet, padded).
    pub base64: String,
    /// The response headers the call's cost was read from, `[name, value]` (names lowercase):
    /// they hash to the receipt's `cost_evidence_hash`.
    #[serde(default)]
    pub cost_headers: Vec<(String, String)>,
    /// The request as the receipt's `request_hash` covers it (see [`SubnetRequest::preimage`]),
    /// base64: what a validator replays to the same subnet.
    #[serde(default)]
    pub request: String,
}

impl EvidenceBody {
    /// The body as received, or `None` when `base64` does not decode.
    pub fn body(&self) -> Option<Vec<u8>> {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.decode(&self.base64).ok()
    }

    /// The request preimage, or `None` when `request` does not decode.
    pub fn request_preimage(&self) -> Option<Vec<u8>> {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.decode(&self.request).ok()
    }

    /// The cost headers as a header map, as the endpoint's spec reads them (pairs that are not
    /// valid headers are left out: the executor could not have read them either).
    pub fn cost_header_map(&self) -> http::HeaderMap {
        let mut headers = http::HeaderMap::new();
        for (name, value) in &self.cost_headers {
            if let (Ok(name), Ok(value)) = (http::HeaderName::try_from(name.as_str()), http::HeaderValue::try_from(value.as_str())) {
                headers.append(name, value);
            }
        }
        headers
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Cost {
    pub subnet_calls_rao: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub budget_rao: Option<u64>,
    /// The TAO price dollar prices were converted at, and where it came from.
    pub tao_price: Quote,
}

/// A validated result and how it was made.
#[derive(Clone, Debug, Serialize)]
pub struct Outcome {
    pub result: Value,
    pub plan: Plan,
    pub calls: Vec<CallRecord>,
    pub receipts: ReceiptBundle,
    pub cost: Cost,
    pub timings: Timings,
    pub synthesis: Report,
    /// Every value's citation (docs/SPEC.md §18), checked against the response bodies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provenance: Option<Provenance>,
    /// The response bodies of the calls that answered, when the request asked for them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence: Option<Vec<EvidenceBody>>,
    /// Supplementary tasks that failed; the result was written without them.
    pub skipped_tasks: Vec<SkippedTask>,
    /// The ledger version routing read.
    pub ledger_version: u64,
    /// Why routing read that version: the head of a ledger without validators, or the latest
    /// final checkpoint of one with them.
    pub ledger_basis: ledger::Basis,
}

/// Why an orchestration has no result.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error("{0}")]
    BadRequest(String),
    #[error("the target schema is refused: {0}")]
    Schema(#[from] SchemaError),
    #[error("no plan: {error}{}", offered_note(.offered, .unroutable))]
    Plan { error: PlanError, offered: Vec<String>, unroutable: Vec<Unroutable> },
    #[error("task {task:?} cannot run: {error}")]
    NoRoute { task: String, error: TaskError },
    #[error("required task {task:?} failed: {error}")]
    TaskFailed { task: String, error: TaskError },
    #[error("stopped at task {task:?}: {stop}; unfinished tasks: {}", .unfinished.join(", "))]
    Stopped { task: String, stop: Stop, unfinished: Vec<String> },
    #[error(transparent)]
    Synthesis(#[from] synthesis::Failure),
}

/// Listings named in a "no capability is routable" note; the rest are counted.
const UNROUTABLE_NAMED: usize = 12;

fn offered_note(offered: &[String], unroutable: &[Unroutable]) -> String {
    if !offered.is_empty() {
        return format!(" (routable capabilities: {})", offered.join(", "));
    }
    if unroutable.is_empty() {
        return " (no capability is routable: the ledger lists no endpoints)".into();
    }
    // Keys first, one per subnet: they are what a new node lacks.
    let mut reasons: Vec<String> = key_hints(unroutable).iter().map(KeyHint::to_string).collect();
    let others: Vec<&Unroutable> = unroutable.iter().filter(|listing| listing.wants_key.is_none()).collect();
    reasons.extend(others.iter().take(UNROUTABLE_NAMED).map(|listing| format!("SN{} {}: {}", listing.netuid, listing.endpoint, listing.reason)));
    if others.len() > UNROUTABLE_NAMED {
        reasons.push(format!("and {} more", others.len() - UNROUTABLE_NAMED));
    }
    format!(" (no capability is routable: {})", reasons.join("; "))
}

impl Failure {
    /// A stable, machine-readable name for the failure.
    pub fn code(&self) -> &'static str {
        match self {
            Failure::BadRequest(_) => "bad_request",
            Failure::Schema(_) => "bad_schema",
            Failure::Plan { .. } => "no_plan",
            Failure::NoRoute { .. } => "unroutable",
            Failure::TaskFailed { .. } => "subnets_failed",
            Failure::Stopped { stop: Stop::DeadlineExceeded, .. } => "deadline_exceeded",
            Failure::Stopped { stop: Stop::BudgetExhausted(_), .. } => "budget_exhausted",
            Failure::Synthesis(synthesis::Failure::Invalid { .. }) => "result_invalid",
            Failure::Synthesis(synthesis::Failure::Insufficient { .. }) => "insufficient_evidence",
            Failure::Synthesis(synthesis::Failure::Uncited(_)) => "internal",
        }
    }

    /// Violations, when the result did not validate.
    pub fn violations(&self) -> &[Violation] {
        match self {
            Failure::Synthesis(synthesis::Failure::Invalid { violations, .. }) => violations,
            _ => &[],
        }
    }

    /// Pointers of the values the schema requires that no evidence supports.
    pub fn missing(&self) -> &[String] {
        match self {
            Failure::Synthesis(synthesis::Failure::Insufficient { insufficient, .. }) => &insufficient.fields,
            _ => &[],
        }
    }
}

/// What was done before a failure.
#[derive(Clone, Debug, Serialize)]
pub struct Trace {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan: Option<Plan>,
    pub calls: Vec<CallRecord>,
    pub receipts: ReceiptBundle,
    pub cost: Cost,
}

#[derive(Debug, thiserror::Error)]
#[error("{failure}")]
pub struct OrchestrateError {
    pub failure: Failure,
    /// Absent when the request was refused before anything ran.
    pub trace: Option<Box<Trace>>,
}

impl From<Failure> for OrchestrateError {
    fn from(failure: Failure) -> OrchestrateError {
        OrchestrateError { failure, trace: None }
    }
}

/// Runs orchestrations for one node.
pub struct Orchestrator {
    network: Network,
    credentials: Credentials,
    hotkey: Hotkey,
    config: Config,
    learned: LearnedCosts,
    tao: Arc<TaoPrices>,
}

impl Orchestrator {
    pub fn new(credentials: Credentials, hotkey: Hotkey, config: Config) -> Result<Orchestrator, reqwest::Error> {
        let guard = Guard::new(config.outbound.clone())?;
        let network = Network::ranked(guard, config.retry, Ranking::new(config.writers.clone())).with_prices(OperatorPrices::new(config.prices.clone()));
        let tao = Arc::new(TaoPrices::new(config.tao_price, config.tao_feed.clone()));
        Ok(Orchestrator { network, credentials, hotkey, config, learned: LearnedCosts::default(), tao })
    }

    /// The node's TAO price: its feed, over the static price; shared, so the node can keep it
    /// fresh while it serves.
    pub fn tao_prices(&self) -> Arc<TaoPrices> {
        self.tao.clone()
    }

    /// The guard every subnet call goes through.
    pub fn guard(&self) -> &Guard {
        &self.network.guard
    }

    /// How many routes were passed over because their subnet's key may not go to their host.
    pub fn withheld_keys(&self) -> u64 {
        self.network.withheld_keys()
    }

    /// The subnets' keys this node holds.
    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// The SS58 address receipts are signed by.
    pub fn miner(&self) -> String {
        self.hotkey.ss58()
    }

    /// The hotkey that signs receipts, and, on a miner, its answers to validators.
    pub fn hotkey(&self) -> &Hotkey {
        &self.hotkey
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Runs `request` against the subnets of `catalog`.
    pub async fn run(&self, catalog: &Catalog, request: Request) -> Result<Outcome, OrchestrateError> {
        self.run_watched(catalog, request, Watcher::none()).await
    }

    /// Runs `request` as [`Orchestrator::run`] does, telling `watcher` each step (see
    /// [`crate::progress`]).
    pub async fn run_watched(&self, catalog: &Catalog, request: Request, watcher: Watcher) -> Result<Outcome, OrchestrateError> {
        let (deadline, schema) = self.checked(&request)?;
        let objective = request.objective.trim();
        let nonce = request.nonce.unwrap_or_else(random_nonce);

        let quote = self.tao.quote();
        let context = Context { network: &self.network, credentials: &self.credentials, catalog, tao_price: quote.price, learned: &self.learned };
        let session = Session::new(context, nonce, deadline, request.budget_rao, watcher);
        let offered = catalog.offered(&self.credentials);
        let use_llm = offered.contains(LLM_CAPABILITY);

        let plan = planner::plan(&session, objective, &schema, catalog.vocabulary(), &offered).await;
        let planned = Instant::now();
        let order = match plan.check(&offered) {
            Ok(order) => order,
            Err(error) => {
                let unroutable = if offered.is_empty() { catalog.unroutable(&self.credentials) } else { Vec::new() };
                self.network.note_withheld(&unroutable);
                let failure = Failure::Plan { error, offered: offered.into_iter().collect(), unroutable };
                return Err(self.fail(session, &quote, Some(plan), failure));
            }
        };
        session.report(Event::Plan { plan: plan.clone() });
        let Executed { outputs, skipped } = match session.execute_plan(&plan, &order).await {
            Ok(executed) => executed,
            Err(failure) => return Err(self.fail(session, &quote, Some(plan), task_failure(failure))),
        };
        let executed = Instant::now();
        let synthesized = match synthesis::synthesize(&session, objective, &schema, &outputs, use_llm).await {
            Ok(done) => done,
            Err(failure) => return Err(self.fail(session, &quote, Some(plan), Failure::Synthesis(failure))),
        };
        let finished = Instant::now();

        let started = session.started();
        let spent = session.budget().spent_rao();
        let (receipts, calls, responses) = session.finish(&self.hotkey);
        let evidence = request.include_evidence.then(|| evidence_bodies(&receipts, responses));
        let total_ms = millis(finished - started);
        let in_calls_ms = time_in_calls(&calls);
        let timings = Timings {
            total_ms,
            plan_ms: millis(planned - started),
            execute_ms: millis(executed - planned),
            synthesis_ms: millis(finished - executed),
            in_calls_ms,
            overhead_ms: (total_ms - in_calls_ms).max(0.0),
            critical_path_ms: critical_path(&plan, &order, &calls),
        };
        Ok(Outcome {
            result: synthesized.document,
            plan,
            calls,
            receipts,
            cost: Cost { subnet_calls_rao: spent, budget_rao: request.budget_rao, tao_price: quote },
            timings,
            synthesis: synthesized.report,
            provenance: synthesized.provenance,
            evidence,
            skipped_tasks: skipped,
            ledger_version: catalog.version(),
            ledger_basis: catalog.reading().basis,
        })
    }

    /// Refuses a request this node would refuse before any call (the objective, the deadline,
    /// the target schema), so that a caller can check one before it is paid for.
    pub fn check(&self, request: &Request) -> Result<(), OrchestrateError> {
        self.checked(request).map(|_| ()).map_err(OrchestrateError::from)
    }

    /// The request's deadline and target schema, or why it is refused.
    fn checked(&self, request: &Request) -> Result<(Duration, TargetSchema), Failure> {
        let deadline = self.deadline(request)?;
        let objective = request.objective.trim();
        if objective.is_empty() {
            return Err(Failure::BadRequest("the objective is empty".into()));
        }
        if objective.len() > MAX_OBJECTIVE_BYTES {
            return Err(Failure::BadRequest(format!("the objective is {} bytes; at most {MAX_OBJECTIVE_BYTES} are accepted", objective.len())));
        }
        let schema = TargetSchema::parse(request.target_schema.clone()).map_err(Failure::Schema)?;
        Ok((deadline, schema))
    }

    fn deadline(&self, request: &Request) -> Result<Duration, Failure> {
        match request.deadline_ms {
            None => Ok(self.config.default_deadline),
            Some(0) => Err(Failure::BadRequest("deadline_ms must be positive".into())),
            Some(ms) if Duration::from_millis(ms) > self.config.max_deadline => {
                Err(Failure::BadRequest(format!("deadline_ms {ms} is longer than this node's limit of {} ms", self.config.max_deadline.as_millis())))
            }
            Some(ms) => Ok(Duration::from_millis(ms)),
        }
    }

    /// Seals what was done into the error's trace.
    fn fail(&self, session: Session<'_>, quote: &Quote, plan: Option<Plan>, failure: Failure) -> OrchestrateError {
        let spent = session.budget().spent_rao();
        let budget = session.budget().limit_rao();
        let (receipts, calls, _) = session.finish(&self.hotkey);
        let trace = Trace { plan, calls, receipts, cost: Cost { subnet_calls_rao: spent, budget_rao: budget, tao_price: quote.clone() } };
        OrchestrateError { failure, trace: Some(Box::new(trace)) }
    }
}

/// The responses of the calls that got one (any status), for the caller to check citations and
/// costs against.
fn evidence_bodies(receipts: &ReceiptBundle, responses: Vec<KeptResponse>) -> Vec<EvidenceBody> {
    use base64::Engine as _;
    receipts
        .receipts
        .iter()
        .zip(responses)
        .filter(|(receipt, _)| receipt.call.status != 0)
        .map(|(receipt, response)| EvidenceBody {
            receipt: receipt.index,
            base64: base64::engine::general_purpose::STANDARD.encode(response.body),
            cost_headers: response.cost_headers,
            request: base64::engine::general_purpose::STANDARD.encode(response.request),
        })
        .collect()
}

fn task_failure(PlanFailure { task, error, unfinished }: PlanFailure) -> Failure {
    match error {
        TaskError::Stopped(stop) => Failure::Stopped { task, stop, unfinished },
        TaskError::NoRoute { .. } => Failure::NoRoute { task, error },
        error => Failure::TaskFailed { task, error },
    }
}

fn random_nonce() -> Nonce {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    Nonce(bytes)
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
