//! A node on loopback for end-to-end tests: the four subnet servers of the test kit, a ledger
//! registering them, and the node's HTTP API (in-process, on a real port) with an orchestrator
//! holding the subnets' keys.

#![allow(dead_code)]

pub mod browser;
pub mod chain;

use std::time::Duration;

use ledger::hotkey::Hotkey;
use ledger::Ledger;
use orchestra_server::api::paid::Pricing;
use orchestra_server::api::{router, AppState};
use orchestrator::credentials::Credentials;
use orchestrator::execute::retry::RetryPolicy;
use orchestrator::orchestrate::{Config, Orchestrator};
use orchestrator::outbound::{Guard, Policy};
use serde_json::{json, Value};
use testkit::{expected_key, SubnetKind, SubnetServer, TestLedger};

/// The worked example of Orchestra's docs.
pub const GPU_OBJECTIVE: &str = "Research RunPod, Vast.ai and Lambda GPU pricing and recommend a price point";

pub fn gpu_schema() -> Value {
    json!({
        "competitors": [{ "name": "str", "pricing": "dict", "strengths": "list" }],
        "recommendation": { "price_point": "float", "rationale": "str" }
    })
}

/// The netuid tests give a second Desearch server, a mirror offering the same endpoints.
pub const MIRROR_NETUID: u16 = 122;

/// The hotkey that signs the test node's receipts.
pub fn node_hotkey() -> Hotkey {
    Hotkey::from_seed(&[7u8; 32]).unwrap()
}

#[derive(Clone, Copy)]
pub struct Options {
    /// Give the node the search subnets' keys.
    pub keys: bool,
    /// Give the node the key of Chutes, the LLM subnet.
    pub llm: bool,
    pub fee_rao: u64,
    /// Credits of the API key the stack issues.
    pub credits_rao: u64,
    /// The most that key may spend in one day.
    pub daily_cap_rao: Option<u64>,
}

impl Default for Options {
    fn default() -> Options {
        Options { keys: true, llm: false, fee_rao: 1_000, credits_rao: 10_000_000_000, daily_cap_rao: None }
    }
}

/// The subnet-call budget the stacks' nodes quote an orchestration that names none.
pub const QUOTED_BUDGET_RAO: u64 = 5_000_000;

pub struct Stack {
    pub desearch: SubnetServer,
    pub data_universe: SubnetServer,
    pub chutes: SubnetServer,
    pub apex: SubnetServer,
    pub url: String,
    pub api_key: String,
    /// A second caller's key, holding the same credits.
    pub other_api_key: String,
    pub miner: String,
    pub data: tempfile::TempDir,
}

impl Stack {
    /// Subnet servers and a ledger registering them; `prepare` may change the ledger before
    /// the node opens it.
    pub async fn start(options: Options) -> Stack {
        Stack::start_with(options, |_, _| {}).await
    }

    pub async fn start_with(options: Options, prepare: impl FnOnce(&mut Ledger, &[&SubnetServer; 4])) -> Stack {
        Stack::assemble(options, None, prepare).await
    }

    /// A stack whose node also takes on-chain (`exact`) payments to `pay_to` (SS58), verified
    /// and settled on the chain at `chain_url` (a stand-in on loopback).
    pub async fn start_on_chain(options: Options, chain_url: &str, pay_to: &str) -> Stack {
        Stack::assemble(options, Some((chain_url, pay_to)), |_, _| {}).await
    }

    async fn assemble(options: Options, chain: Option<(&str, &str)>, prepare: impl FnOnce(&mut Ledger, &[&SubnetServer; 4])) -> Stack {
        let desearch = SubnetServer::start(SubnetKind::Desearch).await;
        let data_universe = SubnetServer::start(SubnetKind::DataUniverse).await;
        let chutes = SubnetServer::start(SubnetKind::Chutes).await;
        let apex = SubnetServer::start(SubnetKind::Apex).await;
        let servers = [&desearch, &data_universe, &chutes, &apex];
        let TestLedger { mut ledger, dir } = testkit::test_ledger(&servers);
        prepare(&mut ledger, &servers);
        let api_key = ledger.issue_api_key(options.credits_rao).unwrap();
        ledger.set_daily_cap(&api_key, options.daily_cap_rao).unwrap();
        let other_api_key = ledger.issue_api_key(options.credits_rao).unwrap();
        let orchestrator = Orchestrator::new(credentials(options), node_hotkey(), test_config()).unwrap();
        let miner = orchestrator.miner();
        let pricing = Pricing {
            orchestrate_fee_rao: options.fee_rao,
            orchestrate_budget_rao: QUOTED_BUDGET_RAO,
            proof_read_rao: 1,
            network: "bittensor:finney".into(),
            pay_to: chain.map(|(_, pay_to)| pay_to.to_owned()),
        };
        let mut state = AppState::new(ledger, pricing).with_orchestrator(orchestrator);
        if let Some((chain_url, _)) = chain {
            let guard = Guard::new(Policy { operator_ranges: vec!["127.0.0.1".parse().unwrap()], ..Policy::default() }).unwrap();
            let chain = subnet::chain::ChainClient::connect(&guard, chain_url).await.unwrap();
            state = state.with_chain(chain).unwrap();
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router(state)).await.unwrap() });
        Stack { desearch, data_universe, chutes, apex, url, api_key, other_api_key, miner, data: dir }
    }

    pub fn client(&self) -> orchestra_client::Client {
        orchestra_client::Client::new(&self.url, &self.api_key)
    }

    /// POSTs `body` to /v1/orchestrate with the stack's key: status and JSON body.
    pub async fn orchestrate(&self, body: Value) -> (u16, Value) {
        let response = reqwest::Client::new().post(format!("{}/v1/orchestrate", self.url)).bearer_auth(&self.api_key).json(&body).send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }

    pub async fn balance(&self) -> u64 {
        // A paid read of one entry costs 1 rao and reports the balance left.
        let response = reqwest::Client::new().get(format!("{}/v1/entries/sn22/identity", self.url)).bearer_auth(&self.api_key).send().await.unwrap();
        let body: Value = response.json().await.unwrap();
        body["payment"]["balance_rao"].as_u64().unwrap() + 1
    }
}

/// The subnets' keys as the test kit's servers expect them, as `options` asks.
pub fn credentials(options: Options) -> Credentials {
    if !options.keys {
        return Credentials::default();
    }
    let credentials = Credentials::default()
        .with_key(22, expected_key(SubnetKind::Desearch), ["127.0.0.1"])
        .with_key(MIRROR_NETUID, expected_key(SubnetKind::Desearch), ["127.0.0.1"])
        .with_key(13, expected_key(SubnetKind::DataUniverse), ["127.0.0.1"]);
    if options.llm {
        credentials.with_key(64, expected_key(SubnetKind::Chutes), ["127.0.0.1"])
    } else {
        credentials
    }
}

/// Short retry waits, so that tests of retries do not wait seconds.
pub fn test_config() -> Config {
    Config {
        retry: RetryPolicy { attempts_per_route: 3, base: Duration::from_millis(10), cap: Duration::from_millis(40) },
        outbound: Policy::loopback(),
        ..Config::default()
    }
}

/// The user message of an LLM request.
pub fn user_message(body: &Value) -> String {
    body["messages"].as_array().unwrap().iter().filter(|message| message["role"] == "user").map(|message| message["content"].as_str().unwrap_or_default().to_owned()).collect()
}

/// The name of the structured output an LLM request asks for (its schema's shape tells a plan
/// from a result).
pub fn asks_for_plan(body: &Value) -> bool {
    body["response_format"]["json_schema"]["schema"]["properties"]["tasks"].is_object()
}

/// Waits, without blocking the runtime, until `condition` holds; fails the test after a minute.
pub async fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !condition() {
        assert!(std::time::Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}
