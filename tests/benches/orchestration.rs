//! What the orchestrator itself adds to a request, beside the time it waits on subnets.
//!
//! ```text
//! cargo bench --workspace --bench orchestration
//! ```
//!
//! An [`Orchestrator`] runs in-process against the test kit's four loopback subnet servers and
//! a test ledger registering them, on a multi-thread tokio runtime. The figures come from the
//! `timings` of the outcomes, what callers are shown.
//!
//! 1. **Overhead with instant subnets** (no added latency): after 50 warm-up runs, 1000
//!    sequential runs of the docs' worked example, once with the deterministic planner and
//!    mapper (three Desearch calls) and once with Chutes planning and writing the result (two
//!    LLM calls more). Overhead is total time minus time inside subnet calls: planning,
//!    routing, building and parsing requests, synthesis, validation, the receipt chain. Target: p50
//!    under 2 ms. The node's timings start once the request is checked and end before the
//!    receipts are sealed; "overhead as waited" counts both too: the time `Orchestrator::run`
//!    took, minus time in calls.
//! 2. **Realistic latency**: Desearch answers in 300 ms, Data Universe in 800 ms and Chutes in
//!    1200 ms. The LLM plans three web searches and a Reddit search (a capability only Data
//!    Universe offers) and writes the result, so the critical path is plan, slowest search,
//!    synthesis: 3.2 s. Ten requests run at once, then ten one after the other; what counts is
//!    each request's total time minus its critical path. Target: under 50 ms.
//! 3. **Peers**: no peer router can run here, so OpenRouter's published figure (about 40 ms
//!    added per call) stands beside our overhead per subnet call: overhead over calls made.
//!
//! The table printed last gives each metric, its value, its target and whether it was met, and
//! the peer's figure with our ratio to it where one is published.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ledger::hotkey::Hotkey;
use orchestrator::credentials::Credentials;
use orchestrator::orchestrate::{Config, Orchestrator, Outcome, Request};
use orchestrator::outbound::Policy;
use orchestrator::plan::PlannerKind;
use orchestrator::route::Catalog;
use orchestrator::synthesis::Method;
use serde_json::{json, Value};
use testkit::{expected_key, SubnetKind, SubnetServer};
use tokio::task::JoinSet;

const WARM_UP_RUNS: usize = 50;
const MEASURED_RUNS: usize = 1000;
const REALISTIC_REQUESTS: usize = 10;

const OVERHEAD_TARGET_MS: f64 = 2.0;
const BEYOND_CRITICAL_PATH_TARGET_MS: f64 = 50.0;
/// OpenRouter's published latency added per call (`/work/shared/reference/anchors.md`).
const OPENROUTER_MS_PER_CALL: f64 = 40.0;

const SEARCH_LATENCY: Duration = Duration::from_millis(300);
const DATA_LATENCY: Duration = Duration::from_millis(800);
const LLM_LATENCY: Duration = Duration::from_millis(1200);

/// The worked example of Orchestra's docs.
const GPU_OBJECTIVE: &str = "Research RunPod, Vast.ai and Lambda GPU pricing and recommend a price point";
const COMPETITORS: [&str; 3] = ["RunPod", "Vast.ai", "Lambda"];

fn gpu_schema() -> Value {
    json!({
        "competitors": [{ "name": "str", "pricing": "dict", "strengths": "list" }],
        "recommendation": { "price_point": "float", "rationale": "str" }
    })
}

fn worked_example() -> Request {
    Request { objective: GPU_OBJECTIVE.into(), target_schema: gpu_schema(), budget_rao: None, deadline_ms: None, nonce: None, include_evidence: false }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a tokio runtime");
    let rows = runtime.block_on(measure());
    print_table(&rows);
}

async fn measure() -> Vec<Row> {
    let deterministic = Node::start(false).await;
    let mut rows = instant_rows("instant, deterministic", &deterministic).await;

    let llm = Node::start(true).await;
    llm.chutes.set_llm(llm_responder(searches()));
    rows.extend(instant_rows("instant, LLM", &llm).await);

    llm.desearch.set_latency(SEARCH_LATENCY);
    llm.data_universe.set_latency(DATA_LATENCY);
    llm.chutes.set_latency(LLM_LATENCY);
    llm.chutes.set_llm(llm_responder(searches_and_reddit()));
    let llm = Arc::new(llm);
    rows.extend(realistic_rows("realistic, batch of 10", concurrent_runs(&llm, REALISTIC_REQUESTS)).await);
    rows.extend(realistic_rows("realistic, sequential", sequential_runs(&llm, REALISTIC_REQUESTS)).await);
    rows
}

/// A node on loopback: the kit's four subnet servers, the catalog of a test ledger pointing at
/// them, and an orchestrator holding the search subnets' keys (and Chutes' on the LLM path).
struct Node {
    desearch: SubnetServer,
    data_universe: SubnetServer,
    chutes: SubnetServer,
    apex: SubnetServer,
    catalog: Catalog,
    orchestrator: Orchestrator,
}

impl Node {
    async fn start(llm: bool) -> Node {
        let desearch = SubnetServer::start(SubnetKind::Desearch).await;
        let data_universe = SubnetServer::start(SubnetKind::DataUniverse).await;
        let chutes = SubnetServer::start(SubnetKind::Chutes).await;
        let apex = SubnetServer::start(SubnetKind::Apex).await;
        let test_ledger = testkit::test_ledger(&[&desearch, &data_universe, &chutes, &apex]);
        let catalog = Catalog::read(&test_ledger.ledger).expect("read the catalog of the test ledger");
        let hotkey = Hotkey::from_seed(&[7u8; 32]).expect("a hotkey from a fixed seed");
        let orchestrator = Orchestrator::new(credentials(llm), hotkey, Config { outbound: Policy::loopback(), ..Config::default() }).expect("an orchestrator");
        Node { desearch, data_universe, chutes, apex, catalog, orchestrator }
    }

    /// Runs the worked example, checking it was served as this benchmark means it to be.
    async fn run(&self) -> Run {
        let request = worked_example();
        let called = Instant::now();
        let outcome = self.orchestrator.run(&self.catalog, request).await.unwrap_or_else(|error| panic!("the worked example failed: {error}"));
        let waited_ms = called.elapsed().as_secs_f64() * 1000.0;
        check_served_as_planned(&outcome);
        let timings = outcome.timings;
        Run {
            total_ms: timings.total_ms,
            in_calls_ms: timings.in_calls_ms,
            overhead_ms: timings.overhead_ms,
            critical_path_ms: timings.critical_path_ms,
            waited_ms,
            calls: outcome.calls.len(),
        }
    }

    /// Forgets what the servers recorded, so that long runs do not grow the records.
    fn forget_requests(&self) {
        for server in [&self.desearch, &self.data_universe, &self.chutes, &self.apex] {
            server.clear_requests();
        }
    }
}

fn credentials(llm: bool) -> Credentials {
    let credentials = Credentials::default().with_key(22, expected_key(SubnetKind::Desearch), ["127.0.0.1"]).with_key(13, expected_key(SubnetKind::DataUniverse), ["127.0.0.1"]);
    if llm {
        credentials.with_key(64, expected_key(SubnetKind::Chutes), ["127.0.0.1"])
    } else {
        credentials
    }
}

/// Panics unless every call succeeded at first attempt on the subnet meant for its capability,
/// and the LLM planned and wrote the result whenever it was asked.
fn check_served_as_planned(outcome: &Outcome) {
    let llm_planned = outcome.plan.planner == PlannerKind::Llm;
    assert_eq!(outcome.synthesis.method == Method::Llm, llm_planned, "planner and synthesis differ: {:?}", outcome.synthesis);
    assert!(outcome.plan.fallback_reason.is_none() && outcome.synthesis.fallback_reason.is_none(), "a fallback was taken: {outcome:?}");
    for call in &outcome.calls {
        let capability = outcome.plan.tasks.iter().find(|task| task.id == call.task).map_or("llm-chat", |task| task.capability.as_str());
        assert_eq!((call.subnet, call.status, call.attempt), (expected_subnet(capability), 200, 1), "call of task {} ({capability}): {call:?}", call.task);
    }
}

fn expected_subnet(capability: &str) -> u16 {
    match capability {
        "web-search" => SubnetKind::Desearch.netuid(),
        "reddit-search" => SubnetKind::DataUniverse.netuid(),
        "llm-chat" => SubnetKind::Chutes.netuid(),
        other => panic!("the benchmark plans no {other} task"),
    }
}

/// The LLM planner's tasks: one web search per competitor.
fn searches() -> Vec<Value> {
    COMPETITORS
        .iter()
        .map(|name| json!({ "id": name.to_lowercase().replace('.', ""), "capability": "web-search", "query": format!("{name} GPU pricing"), "subject": name }))
        .collect()
}

/// The searches and a Reddit search, which only Data Universe serves.
fn searches_and_reddit() -> Vec<Value> {
    let mut tasks = searches();
    tasks.push(json!({ "id": "reddit", "capability": "reddit-search", "query": "GPU cloud pricing RunPod Vast.ai Lambda" }));
    tasks
}

/// Chutes' answers: `tasks` as the plan, and a result that validates against the schema.
fn llm_responder(tasks: Vec<Value>) -> impl Fn(&Value) -> String + Send + Sync + 'static {
    let plan = json!({ "tasks": tasks }).to_string();
    move |request| if asks_for_plan(request) { plan.clone() } else { testkit::cited::gpu_answer(request, &COMPETITORS).expect("the searches' evidence to cite") }
}

/// Whether an LLM request asks for a plan (its structured output has `tasks`) or the result.
fn asks_for_plan(request: &Value) -> bool {
    request["response_format"]["json_schema"]["schema"]["properties"]["tasks"].is_object()
}

/// What one run's timings say, and how long the caller waited for it.
struct Run {
    total_ms: f64,
    in_calls_ms: f64,
    overhead_ms: f64,
    critical_path_ms: f64,
    /// `Orchestrator::run` from call to return: `total_ms` plus checking the request and
    /// compiling its schema before, and sealing the receipts after.
    waited_ms: f64,
    calls: usize,
}

impl Run {
    fn overhead_per_call_ms(&self) -> f64 {
        self.overhead_ms / self.calls as f64
    }

    fn beyond_critical_path_ms(&self) -> f64 {
        self.total_ms - self.critical_path_ms
    }

    fn overhead_waited_ms(&self) -> f64 {
        self.waited_ms - self.in_calls_ms
    }
}

async fn sequential_runs(node: &Node, count: usize) -> Vec<Run> {
    let mut runs = Vec::with_capacity(count);
    for _ in 0..count {
        runs.push(node.run().await);
    }
    runs
}

/// `count` runs started together, each on its own task.
async fn concurrent_runs(node: &Arc<Node>, count: usize) -> Vec<Run> {
    let mut tasks = JoinSet::new();
    for _ in 0..count {
        let node = Arc::clone(node);
        tasks.spawn(async move { node.run().await });
    }
    tasks.join_all().await
}

/// Awaits `runs`, printing how many took how long.
async fn timed(label: &str, runs: impl Future<Output = Vec<Run>>) -> Vec<Run> {
    let started = Instant::now();
    let runs = runs.await;
    println!("{label}: {} runs in {:.1} s", runs.len(), started.elapsed().as_secs_f64());
    runs
}

// Percentiles by name, read by nearest rank.
const MEDIAN: [(&str, f64); 1] = [("p50", 50.0)];
const MEDIAN_AND_MAX: [(&str, f64); 2] = [("p50", 50.0), ("max", 100.0)];
const SPREAD: [(&str, f64); 4] = [("p50", 50.0), ("p90", 90.0), ("p99", 99.0), ("max", 100.0)];

/// One line of the table; times in milliseconds.
struct Row {
    metric: String,
    value_ms: f64,
    /// The value passes when it is below.
    target_ms: Option<f64>,
    peer_ms: Option<f64>,
}

/// One row per percentile of `samples`, named `{scenario}: {measure} {percentile}`.
fn percentile_rows(scenario: &str, measure: &str, samples: impl Iterator<Item = f64>, percentiles: &[(&str, f64)]) -> Vec<Row> {
    let mut sorted: Vec<f64> = samples.collect();
    sorted.sort_by(f64::total_cmp);
    percentiles
        .iter()
        .map(|(name, percent)| {
            let rank = (percent / 100.0 * sorted.len() as f64).ceil() as usize;
            let value_ms = sorted[rank.clamp(1, sorted.len()) - 1];
            Row { metric: format!("{scenario}: {measure} {name}"), value_ms, target_ms: None, peer_ms: None }
        })
        .collect()
}

fn with_target(mut rows: Vec<Row>, target_ms: f64) -> Vec<Row> {
    rows.iter_mut().for_each(|row| row.target_ms = Some(target_ms));
    rows
}

/// Overhead per subnet call, beside the peer's published figure.
fn per_call_rows(scenario: &str, runs: &[Run]) -> Vec<Row> {
    let mut rows = percentile_rows(scenario, "overhead per call", runs.iter().map(Run::overhead_per_call_ms), &MEDIAN);
    rows.iter_mut().for_each(|row| row.peer_ms = Some(OPENROUTER_MS_PER_CALL));
    rows
}

/// Warms `node` up, then measures its runs.
async fn instant_rows(scenario: &str, node: &Node) -> Vec<Row> {
    sequential_runs(node, WARM_UP_RUNS).await;
    node.forget_requests();
    let runs = timed(scenario, sequential_runs(node, MEASURED_RUNS)).await;
    node.forget_requests();
    let mut rows = percentile_rows(scenario, "overhead", runs.iter().map(|run| run.overhead_ms), &SPREAD);
    rows[0].target_ms = Some(OVERHEAD_TARGET_MS);
    rows.extend(percentile_rows(scenario, "total", runs.iter().map(|run| run.total_ms), &SPREAD));
    rows.extend(percentile_rows(scenario, "overhead as waited", runs.iter().map(Run::overhead_waited_ms), &MEDIAN));
    rows.extend(per_call_rows(scenario, &runs));
    rows
}

async fn realistic_rows(scenario: &str, runs: impl Future<Output = Vec<Run>>) -> Vec<Row> {
    let runs = timed(scenario, runs).await;
    let mut rows = percentile_rows(scenario, "critical path", runs.iter().map(|run| run.critical_path_ms), &MEDIAN);
    rows.extend(percentile_rows(scenario, "total", runs.iter().map(|run| run.total_ms), &MEDIAN));
    let beyond = percentile_rows(scenario, "total - critical path", runs.iter().map(Run::beyond_critical_path_ms), &MEDIAN_AND_MAX);
    rows.extend(with_target(beyond, BEYOND_CRITICAL_PATH_TARGET_MS));
    rows.extend(per_call_rows(scenario, &runs));
    rows
}

fn print_table(rows: &[Row]) {
    let width = rows.iter().map(|row| row.metric.len()).max().unwrap_or(0);
    println!();
    println!("{:<width$}  {:>12}  {:>9}  {:>6}  {:>20}  {:>9}", "metric", "value", "target", "status", "peer", "ours/peer");
    for row in rows {
        let target = row.target_ms.map_or("-".into(), |target| format!("< {target} ms"));
        let status = row.target_ms.map_or("-", |target| if row.value_ms < target { "pass" } else { "MISS" });
        let peer = row.peer_ms.map_or("-".into(), |peer| format!("OpenRouter ~{peer} ms"));
        let ratio = row.peer_ms.map_or("-".into(), |peer| format!("{:.4}", row.value_ms / peer));
        println!("{:<width$}  {:>9.3} ms  {target:>9}  {status:>6}  {peer:>20}  {ratio:>9}", row.metric, row.value_ms);
    }
}
