//! Execution: subnet calls under one orchestration's deadline and budget, with retries and
//! fallbacks, each leaving a receipt.
//!
//! Terms:
//! - **session**: the state of one orchestration while it calls subnets: the catalog it routes
//!   from, the deadline, the [budget], the receipt chain and the call records.
//! - **attempt**: one HTTP request to one endpoint. Every attempt that was sent gets a receipt,
//!   failed ones included, so the receipts are a true account of what was done.
//! - **fallback**: the next route in the ranking, tried when a route fails for good (its
//!   attempts ran out, or it answered with a final error or with something unreadable).
//! - **stop**: the deadline passed or the budget cannot cover the next call: no further call
//!   is made, and the orchestration fails saying which.
//!
//! Independent tasks run concurrently: a task starts as soon as every task it depends on has
//! finished or been skipped. The first **required** task that fails for good, or any stop,
//! ends the plan: no task starts and no attempt is sent after it, but calls already in flight
//! finish (within the deadline) and get their receipts, because they were sent and may be
//! charged. A **supplementary** task that fails is skipped, and so is every supplementary
//! task depending on it; a required task depending on a skipped one fails.

pub mod budget;
mod call;
pub mod limits;
pub mod price;
pub mod retry;
pub mod trace;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use futures::stream::{FuturesUnordered, StreamExt};

use crate::invocation::{CallInput, SubnetResponse};
use crate::credentials::Credentials;
use crate::evidence::TaskOutput;
use crate::outbound::Guard;
use crate::plan::{Plan, Task};
use crate::progress::{Event, Watcher};
use crate::receipts::{Nonce, ReceiptBundle, ReceiptChain};
use crate::ranking::Ranking;
use crate::route::{Catalog, Unroutable};
use limits::RateLimits;
use budget::{Budget, Exhausted, TaoPrice};
use retry::RetryPolicy;
use trace::CallRecord;

/// Largest subnet response read; a longer one fails the call rather than the node's memory.
pub const MAX_RESPONSE_BYTES: usize = 16 << 20;
/// How many results a search task asks for.
const SEARCH_LIMIT: u32 = 10;

/// The outbound guard, retry policy, route ranking and outbound rate limits shared by all
/// orchestrations of a node.
#[derive(Debug)]
pub struct Network {
    pub guard: Guard,
    pub retry: RetryPolicy,
    pub ranking: Ranking,
    pub limits: RateLimits,
    /// The operator's prices for endpoints the ledger leaves unpriced.
    pub prices: price::OperatorPrices,
    /// Routes passed over because the subnet's key is not bound to their host.
    withheld_keys: AtomicU64,
}

impl Network {
    pub fn new(guard: Guard, retry: RetryPolicy) -> Network {
        Network::ranked(guard, retry, Ranking::default())
    }

    /// The network with the operator's `prices` for unpriced endpoints.
    pub fn with_prices(self, prices: price::OperatorPrices) -> Network {
        Network { prices, ..self }
    }

    /// A network whose routes are ranked by `ranking` (an operator's writer preference).
    pub fn ranked(guard: Guard, retry: RetryPolicy, ranking: Ranking) -> Network {
        Network { guard, retry, ranking, limits: RateLimits::default(), prices: price::OperatorPrices::default(), withheld_keys: AtomicU64::new(0) }
    }

    /// How many routes were passed over because their subnet's key is not bound to their host.
    pub fn withheld_keys(&self) -> u64 {
        self.withheld_keys.load(Ordering::Relaxed)
    }

    /// Counts and logs the listings of `unroutable` passed over for a withheld key: the operator
    /// sees every time a record points a keyed subnet somewhere its key may not go.
    pub fn note_withheld(&self, unroutable: &[Unroutable]) {
        for withheld in unroutable.iter().filter(|listing| listing.withheld_key) {
            self.withheld_keys.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(netuid = withheld.netuid, endpoint = %withheld.endpoint, reason = %withheld.reason, "route passed over: the key is not sent there");
        }
    }
}

/// What endpoints last reported a call costs, in rao, by netuid and endpoint name, kept across
/// orchestrations so that a budget can account for subnets whose price the ledger does not know.
#[derive(Debug, Default)]
pub struct LearnedCosts(Mutex<HashMap<u16, HashMap<String, u64>>>);

impl LearnedCosts {
    fn get(&self, netuid: u16, endpoint: &str) -> u64 {
        let costs = self.0.lock().expect("learned costs lock");
        costs.get(&netuid).and_then(|endpoints| endpoints.get(endpoint)).copied().unwrap_or(0)
    }

    fn learn(&self, netuid: u16, endpoint: &str, cost_rao: u64) {
        self.0.lock().expect("learned costs lock").entry(netuid).or_default().insert(endpoint.to_owned(), cost_rao);
    }
}

/// Why no more calls are made.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Stop {
    #[error("the deadline passed")]
    DeadlineExceeded,
    #[error("the budget of {} rao cannot cover the next call, to {} (estimated at {} rao, with {} rao already spent or reserved)", .0.budget_rao, .0.call, .0.needed_rao, .0.committed_rao)]
    BudgetExhausted(Exhausted),
}

/// Why a task produced nothing.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TaskError {
    #[error(transparent)]
    Stopped(Stop),
    /// No endpoint can serve the capability.
    #[error("no subnet can serve {capability}{}", unroutable_reasons(.unroutable))]
    NoRoute { capability: String, unroutable: Vec<Unroutable> },
    /// Every route was tried and failed; one line per route.
    #[error("every subnet offering {capability} failed: {}", .failures.join("; "))]
    AllRoutesFailed { capability: String, failures: Vec<String> },
    /// A task this one needs was skipped.
    #[error("it needs task {dependency:?}, which was skipped: {reason}")]
    DependencySkipped { dependency: String, reason: String },
}

fn unroutable_reasons(unroutable: &[Unroutable]) -> String {
    let reasons: Vec<String> = unroutable.iter().map(|listing| format!("SN{} {}: {}", listing.netuid, listing.endpoint, listing.reason)).collect();
    if reasons.is_empty() {
        String::new()
    } else {
        format!(" ({})", reasons.join("; "))
    }
}

/// A supplementary task that produced nothing, and why; the orchestration went on without it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SkippedTask {
    pub task: String,
    pub capability: String,
    pub reason: String,
}

/// What a plan's execution produced.
#[derive(Clone, Debug, Default)]
pub struct Executed {
    /// The outputs of the tasks that finished, in plan order.
    pub outputs: Vec<TaskOutput>,
    /// The supplementary tasks that did not, in the order they were given up.
    pub skipped: Vec<SkippedTask>,
}

/// A task that failed, and the tasks that therefore did not finish.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanFailure {
    pub task: String,
    pub error: TaskError,
    pub unfinished: Vec<String>,
}

/// Everything one session needs, borrowed from the node.
#[derive(Clone, Copy)]
pub struct Context<'a> {
    pub network: &'a Network,
    pub credentials: &'a Credentials,
    pub catalog: &'a Catalog,
    pub tao_price: TaoPrice,
    pub learned: &'a LearnedCosts,
}

pub struct Session<'a> {
    context: Context<'a>,
    started: Instant,
    deadline: Instant,
    budget: Budget,
    log: Mutex<Log>,
    /// Set when a task of the plan has failed: no further attempt is sent.
    halted: AtomicBool,
    watcher: Watcher,
}

struct Log {
    chain: ReceiptChain,
    calls: Vec<CallRecord>,
    /// Each receipt's response, by receipt index: the evidence citations point into.
    responses: Vec<KeptResponse>,
}

/// What a call's receipt commits to, kept as evidence: the response body, the headers its cost
/// was read from, and the request as its `request_hash` covers it.
#[derive(Clone, Debug, Default)]
pub struct KeptResponse {
    pub body: Vec<u8>,
    pub cost_headers: Vec<(String, String)>,
    pub request: Vec<u8>,
}

impl<'a> Session<'a> {
    pub fn new(context: Context<'a>, nonce: Nonce, deadline: Duration, budget_rao: Option<u64>, watcher: Watcher) -> Session<'a> {
        let started = Instant::now();
        let log = Mutex::new(Log { chain: ReceiptChain::new(nonce), calls: Vec::new(), responses: Vec::new() });
        Session { context, started, deadline: started + deadline, budget: Budget::new(budget_rao), log, halted: AtomicBool::new(false), watcher }
    }

    /// Tells the watcher, if any, what just happened.
    pub fn report(&self, event: Event) {
        self.watcher.send(event);
    }

    pub fn started(&self) -> Instant {
        self.started
    }

    pub fn budget(&self) -> &Budget {
        &self.budget
    }

    /// Whether a failed task has stopped the plan.
    fn halted(&self) -> bool {
        self.halted.load(Ordering::SeqCst)
    }

    /// Time left before the deadline.
    pub fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    /// The response bodies so far, by receipt index.
    pub fn bodies(&self) -> std::collections::BTreeMap<u64, Vec<u8>> {
        let log = self.log.lock().expect("session log lock");
        log.responses.iter().enumerate().map(|(index, response)| (index as u64, response.body.clone())).collect()
    }

    /// Seals the receipts with the miner's hotkey and hands back the call records and the
    /// responses, by receipt index.
    pub fn finish(self, miner: &ledger::hotkey::Hotkey) -> (ReceiptBundle, Vec<CallRecord>, Vec<KeptResponse>) {
        let log = self.log.into_inner().expect("session log lock");
        (log.chain.seal(miner), log.calls, log.responses)
    }

    /// Serves `input` with the best route for `capability`, falling back down the ranking.
    pub async fn call_capability(&self, task: &str, capability: &str, input: &CallInput<'_>) -> Result<SubnetResponse, TaskError> {
        let (routes, unroutable) = self.context.catalog.routes(capability, self.context.credentials, &self.context.network.ranking);
        self.context.network.note_withheld(&unroutable);
        if routes.is_empty() {
            return Err(TaskError::NoRoute { capability: capability.to_owned(), unroutable });
        }
        let mut failures = Vec::new();
        for route in &routes {
            match self.call_route(task, route, input).await {
                Ok(response) => return Ok(response),
                Err(call::RouteError::Stop(stop)) => return Err(TaskError::Stopped(stop)),
                Err(call::RouteError::Failed(reason)) => {
                    failures.push(format!("SN{} {}: {reason}", route.listing.netuid, route.listing.endpoint.name));
                }
            }
        }
        Err(TaskError::AllRoutesFailed { capability: capability.to_owned(), failures })
    }

    /// Runs every task of `plan` in `order` (from [`Plan::check`]) as the module documentation
    /// says.
    pub async fn execute_plan(&self, plan: &Plan, order: &[usize]) -> Result<Executed, PlanFailure> {
        let mut outputs: BTreeMap<usize, TaskOutput> = BTreeMap::new();
        let mut skipped: BTreeMap<usize, SkippedTask> = BTreeMap::new();
        let mut given_up = Vec::new();
        let mut waiting: Vec<usize> = order.to_vec();
        let mut running = FuturesUnordered::new();
        let index: HashMap<&str, usize> = plan.tasks.iter().enumerate().map(|(position, task)| (task.id.as_str(), position)).collect();
        loop {
            let settled = |position: &usize| outputs.contains_key(position) || skipped.contains_key(position);
            let (ready, still_waiting): (Vec<usize>, Vec<usize>) =
                waiting.into_iter().partition(|&position| plan.tasks[position].depends_on.iter().all(|dependency| settled(&index[dependency.as_str()])));
            waiting = still_waiting;
            let mut finished = Vec::new();
            for position in ready {
                let task = &plan.tasks[position];
                let missing = task.depends_on.iter().find_map(|dependency| skipped.get(&index[dependency.as_str()]));
                if let Some(missing) = missing {
                    finished.push((position, Err(TaskError::DependencySkipped { dependency: missing.task.clone(), reason: missing.reason.clone() })));
                    continue;
                }
                let context: Vec<TaskOutput> = task.depends_on.iter().map(|dependency| outputs[&index[dependency.as_str()]].clone()).collect();
                running.push(async move { (position, self.run_task(task, context).await) });
            }
            if finished.is_empty() {
                let Some(done) = running.next().await else { break };
                finished.push(done);
            }
            for (position, result) in finished {
                let task = &plan.tasks[position];
                match result {
                    Ok(output) => {
                        outputs.insert(position, output);
                    }
                    Err(error) if !task.required && !matches!(error, TaskError::Stopped(_)) => {
                        tracing::info!(task = %task.id, %error, "supplementary task skipped");
                        let skip = SkippedTask { task: task.id.clone(), capability: task.capability.clone(), reason: error.to_string() };
                        self.report(Event::TaskSkipped { skipped: skip.clone() });
                        given_up.push(position);
                        skipped.insert(position, skip);
                    }
                    Err(error) => {
                        self.halted.store(true, Ordering::SeqCst);
                        // Let the calls in flight finish: their receipts are part of the account.
                        while running.next().await.is_some() {}
                        let unfinished = plan.tasks.iter().enumerate().filter(|(other, _)| !outputs.contains_key(other)).map(|(_, task)| task.id.clone()).collect();
                        return Err(PlanFailure { task: task.id.clone(), error, unfinished });
                    }
                }
            }
        }
        let skipped = given_up.into_iter().map(|position| skipped.remove(&position).expect("every task given up was skipped")).collect();
        Ok(Executed { outputs: outputs.into_values().collect(), skipped })
    }

    async fn run_task(&self, task: &Task, context: Vec<TaskOutput>) -> Result<TaskOutput, TaskError> {
        let input = CallInput {
            query: &task.query,
            subject: task.subject.as_deref(),
            system: Some(TASK_SYSTEM_MESSAGE),
            context: &context,
            limit: SEARCH_LIMIT,
            ..CallInput::default()
        };
        let response = self.call_capability(&task.id, &task.capability, &input).await?;
        Ok(TaskOutput { task: task.id.clone(), capability: task.capability.clone(), subject: task.subject.clone(), items: response.items, text: response.text, text_located: response.text_located })
    }
}

/// The system message of an LLM task in a plan.
const TASK_SYSTEM_MESSAGE: &str = "You are a careful research analyst. Answer from the evidence given; say so when it does not contain what is asked.";
