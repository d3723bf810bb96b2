//! `orchestra execute`: the worked example from the command line, run locally over the data
//! directory's ledger and sent to a running node with `--server`, against subnet servers on
//! loopback.

use crate::common;

use std::path::Path;
use std::process::Output;

use orchestrator::receipts::{self, ReceiptBundle};
use serde_json::{json, Value};
use testkit::{expected_key, SubnetKind, SubnetServer, TestLedger};

const OBJECTIVE: &str = "Research RunPod, Vast.ai and Lambda GPU pricing and recommend a price point";
const HOTKEY_SEED: &str = "0707070707070707070707070707070707070707070707070707070707070707";

pub(crate) struct Subnets {
    pub(crate) desearch: SubnetServer,
    _data_universe: SubnetServer,
    pub(crate) ledger_dir: tempfile::TempDir,
    files: tempfile::TempDir,
}

/// Subnet servers and a ledger directory registering them, closed so a process can open it.
pub(crate) async fn subnets() -> Subnets {
    let desearch = SubnetServer::start(SubnetKind::Desearch).await;
    let data_universe = SubnetServer::start(SubnetKind::DataUniverse).await;
    let TestLedger { ledger, dir } = testkit::test_ledger(&[&desearch, &data_universe]);
    drop(ledger);
    let files = tempfile::tempdir().unwrap();
    let schema = json!({ "competitors": [{ "name": "str", "pricing": "dict", "strengths": "list" }], "recommendation": { "price_point": "float", "rationale": "str" } });
    std::fs::write(files.path().join("schema.json"), schema.to_string()).unwrap();
    std::fs::write(files.path().join("broken.json"), "{\"competitors\": [").unwrap();
    Subnets { desearch, _data_universe: data_universe, ledger_dir: dir, files }
}

/// `orchestra --data DATA ARGS...` with the subnets' keys (bound to loopback, where the subnet
/// servers are), loopback allowed for outbound calls, and the node's hotkey in the environment.
pub(crate) fn orchestra(data: &Path, args: &[&str]) -> std::process::Command {
    let mut command = common::orchestra(data);
    command
        .args(args)
        .env("ORCHESTRA_SN22_KEY", expected_key(SubnetKind::Desearch))
        .env("ORCHESTRA_SN22_KEY_HOSTS", "127.0.0.1")
        .env("ORCHESTRA_SN13_KEY", expected_key(SubnetKind::DataUniverse))
        .env("ORCHESTRA_SN13_KEY_HOSTS", "127.0.0.1")
        // The subnet servers listen on loopback over plain http.
        .env("ORCHESTRA_ALLOW_ADDRESSES", "127.0.0.1")
        .env("ORCHESTRA_ALLOW_HTTP_HOSTS", "127.0.0.1")
        .env("ORCHESTRA_HOTKEY_SEED", HOTKEY_SEED)
        .env("RUST_LOG", "warn");
    command
}

/// Runs a command off the async workers, which keep serving the subnets meanwhile.
pub(crate) async fn run(mut command: std::process::Command) -> Output {
    tokio::task::spawn_blocking(move || command.output().unwrap()).await.unwrap()
}

pub(crate) fn stdout_json(output: &Output) -> Value {
    assert!(output.status.success(), "failed: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap()
}

fn assert_worked_example(answer: &Value) {
    let names: Vec<&str> = answer["result"]["competitors"].as_array().unwrap().iter().map(|competitor| competitor["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["RunPod", "Vast.ai", "Lambda"]);
    assert!(answer["result"]["recommendation"]["price_point"].as_f64().unwrap() > 0.0);
    let bundle: ReceiptBundle = serde_json::from_value(answer["receipts"].clone()).unwrap();
    receipts::verify(&bundle, &bundle.nonce).unwrap();
    assert_eq!(bundle.miner, ledger::hotkey::Hotkey::from_hex_seed(HOTKEY_SEED).unwrap().ss58());
    assert_eq!(bundle.receipts.len(), answer["calls"].as_array().unwrap().len());
}

#[tokio::test(flavor = "multi_thread")]
async fn execute_runs_the_worked_example_on_the_local_ledger() {
    let subnets = subnets().await;
    let schema = subnets.files.path().join("schema.json");
    let output = run(orchestra(subnets.ledger_dir.path(), &["execute", OBJECTIVE, "--schema", schema.to_str().unwrap()])).await;
    let answer = stdout_json(&output);
    assert_worked_example(&answer);
    assert!(answer["timings"]["total_ms"].as_f64().unwrap() > 0.0);
    assert_eq!(subnets.desearch.request_count(), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn execute_explains_bad_input_and_stopped_work() {
    let subnets = subnets().await;
    let data = subnets.ledger_dir.path();
    let broken = subnets.files.path().join("broken.json");
    let output = run(orchestra(data, &["execute", OBJECTIVE, "--schema", broken.to_str().unwrap()])).await;
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("broken.json is not valid JSON"));

    let schema = subnets.files.path().join("schema.json");
    subnets.desearch.set_latency(std::time::Duration::from_secs(3));
    let output = run(orchestra(data, &["execute", OBJECTIVE, "--schema", schema.to_str().unwrap(), "--deadline-ms", "200"])).await;
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("the deadline passed"), "{}", String::from_utf8_lossy(&output.stderr));
    let printed: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(printed["error"]["code"], "deadline_exceeded");
    assert!(!printed["trace"]["calls"].as_array().unwrap().is_empty(), "the calls cut short are reported");
}

#[tokio::test(flavor = "multi_thread")]
async fn execute_sends_the_request_to_a_running_node() {
    let subnets = subnets().await;
    let data = subnets.ledger_dir.path();
    let issued = stdout_json(&run(orchestra(data, &["credits", "issue", "--rao", "1000000000"])).await);
    let api_key = issued["api_key"].as_str().unwrap().to_owned();
    let node = common::start(orchestra(data, &["serve", "--listen", "127.0.0.1:0", "--orchestrate-fee-rao", "5000"]));
    let schema = subnets.files.path().join("schema.json");
    let mut execute = orchestra(Path::new("unused"), &["execute", OBJECTIVE, "--schema", schema.to_str().unwrap(), "--server", &node.base]);
    execute.env("ORCHESTRA_API_KEY", &api_key);
    let answer = stdout_json(&run(execute).await);
    assert_worked_example(&answer);
    assert_eq!(answer["cost"]["fee_rao"], 5000);
    let total = answer["cost"]["total_rao"].as_u64().unwrap();
    assert_eq!(answer["payment"]["balance_rao"].as_u64().unwrap(), 1_000_000_000 - total);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_node_killed_mid_orchestration_charges_nothing_and_reopens() {
    let subnets = subnets().await;
    let data = subnets.ledger_dir.path();
    let issued = stdout_json(&run(orchestra(data, &["credits", "issue", "--rao", "1000000000"])).await);
    let api_key = issued["api_key"].as_str().unwrap().to_owned();
    let mut node = common::start(orchestra(data, &["serve", "--listen", "127.0.0.1:0", "--orchestrate-fee-rao", "5000"]));
    subnets.desearch.set_latency(std::time::Duration::from_secs(5));
    let request = reqwest::Client::new()
        .post(node.url("/v1/orchestrate"))
        .bearer_auth(&api_key)
        .json(&json!({ "objective": OBJECTIVE, "target_schema": { "competitors": [{ "name": "str" }] } }))
        .send();
    let in_flight = tokio::spawn(request);
    // Kill the node once its calls are out, while the key's hold is in memory.
    let waiting = std::time::Instant::now();
    while subnets.desearch.request_count() == 0 {
        assert!(waiting.elapsed() < std::time::Duration::from_secs(60), "the node never called the subnet; it said:\n{}", node.stderr_text());
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    node.child.kill().unwrap();
    node.child.wait().unwrap();
    assert!(in_flight.await.unwrap().is_err(), "the request died with the node");

    let balance = stdout_json(&run(orchestra(data, &["credits", "balance", &api_key])).await);
    assert_eq!(balance["balance_rao"], 1_000_000_000, "nothing is charged for an orchestration that never answered");
    let head = stdout_json(&run(orchestra(data, &["ledger", "head"])).await);
    assert!(head["version"].as_u64().is_some(), "the ledger reopens and checks its root");
}
