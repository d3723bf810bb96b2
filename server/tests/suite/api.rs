//! The HTTP API end to end: a real `orchestra serve` process on loopback, seeded from the
//! genesis ledger, driven over real HTTP. Reads carry proofs that verify against the head's
//! root; signed diffs and attestations are applied or refused with the right status; bad input
//! never moves the root; SIGTERM shuts down without losing an acknowledged write.

use crate::common;

use std::process::Command;

use ledger::hotkey::Hotkey;
use ledger::{Change, ChangeSet, DiffProposal, Hash, Key, Namespace, Proven};
use reqwest::StatusCode;
use serde_json::{json, Value};

struct Node {
    server: common::Running,
    _data: tempfile::TempDir,
}

impl Node {
    fn start() -> Node {
        Node::start_in(tempfile::tempdir().unwrap())
    }

    fn start_in(data: tempfile::TempDir) -> Node {
        Node::start_with(data, &[])
    }

    /// A node whose proposer set lists [`miner`], started with `flags`.
    fn start_with(data: tempfile::TempDir, flags: &[&str]) -> Node {
        let ledger = data.path().join("ledger");
        if !ledger.exists() {
            common::seed_with_proposer(&ledger, &miner());
        }
        Node { server: common::serve(&ledger, flags), _data: data }
    }

    fn url(&self, path: &str) -> String {
        self.server.url(path)
    }
}

async fn get(node: &Node, path: &str) -> (StatusCode, Value) {
    let response = reqwest::get(node.url(path)).await.unwrap();
    (response.status(), response.json().await.unwrap())
}

async fn post(node: &Node, path: &str, body: &Value) -> (StatusCode, Value) {
    let response = reqwest::Client::new().post(node.url(path)).json(body).send().await.unwrap();
    (response.status(), response.json().await.unwrap())
}

fn error_code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or_else(|| panic!("not an error: {body}"))
}

fn root(head: &Value) -> Hash {
    Hash::from_hex(head["root"].as_str().unwrap()).unwrap()
}

#[tokio::test]
async fn reads_carry_proofs_that_verify_against_the_head() {
    let node = Node::start();
    let (status, head) = get(&node, "/v1/head").await;
    assert_eq!(status, StatusCode::OK);
    let (_, subnets) = get(&node, "/v1/subnets").await;
    assert!(subnets["subnets"].as_array().unwrap().len() >= 12);
    let (_, desearch) = get(&node, "/v1/subnets/22").await;
    assert_eq!(desearch["records"]["identity"]["name"], "Desearch");

    for (path, present) in [("/v1/entries/sn22/identity", true), ("/v1/entries/sn22/endpoint/nothing-here", false), ("/v1/entries/9999/identity", false)] {
        let (status, body) = get(&node, path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        let proven: Proven = serde_json::from_value(body).unwrap();
        assert_eq!(proven.value.is_some(), present, "{path}");
        ledger::verify(&root(&head), &proven.key, proven.value.as_deref(), &proven.proof).unwrap();
    }
    for (path, status, code) in [
        ("/v1/entries/nowhere/identity", StatusCode::BAD_REQUEST, "bad_key"),
        ("/v1/subnets/4242", StatusCode::NOT_FOUND, "not_found"),
        ("/v1/subnets/x", StatusCode::BAD_REQUEST, "bad_request"),
        ("/v1/entries/sn22/identity?version=99", StatusCode::NOT_FOUND, "unknown_version"),
        ("/v1/entries/sn22/identity?version=-1", StatusCode::BAD_REQUEST, "bad_query"),
        ("/v1/nothing", StatusCode::NOT_FOUND, "no_route"),
    ] {
        let (actual, body) = get(&node, path).await;
        assert_eq!((actual, error_code(&body)), (status, code), "{path}: {body}");
    }
}

fn miner() -> Hotkey {
    Hotkey::from_seed(&[3; 32]).unwrap()
}

fn health_diff(head: &Value, latency: u32) -> Value {
    health_diff_by(&miner(), head, latency)
}

fn health_diff_by(proposer: &Hotkey, head: &Value, latency: u32) -> Value {
    let key = Key::new(Namespace::Subnet(22), "health/ai-search").unwrap();
    let record = ledger::record::Record::Health(ledger::record::Health {
        status: ledger::record::HealthStatus::Up,
        checked_at_ms: 1_795_996_800_000,
        latency_ms_p50: latency,
        success_ppm: 990_000,
        samples: 20,
    });
    let proposal = DiffProposal {
        base_version: head["version"].as_u64().unwrap(),
        base_root: root(head),
        changes: ChangeSet::new([Change { key, value: Some(record.encode()) }]),
        proposer: proposer.ss58(),
    };
    serde_json::to_value(proposal.sign(proposer)).unwrap()
}

#[tokio::test]
async fn diffs_apply_once_and_bad_writes_change_nothing() {
    let node = Node::start();
    let (_, head) = get(&node, "/v1/head").await;
    let diff = health_diff(&head, 300);
    let (status, applied) = post(&node, "/v1/diffs", &diff).await;
    assert_eq!(status, StatusCode::OK, "{applied}");
    assert_eq!(applied["version"], head["version"].as_u64().unwrap() + 1);
    let (_, entry) = get(&node, "/v1/entries/sn22/health/ai-search").await;
    assert_eq!(entry["record"]["latency_ms_p50"], 300);
    let (_, after) = get(&node, "/v1/head").await;

    let mut forged = health_diff(&after, 5);
    forged["proposal"]["changes"][0]["value"] = json!(hex::encode(b"tampered"));
    let stranger = Hotkey::from_seed(&[8; 32]).unwrap();
    let head_checkpoint: ledger::Checkpoint = ledger::Checkpoint {
        version: after["version"].as_u64().unwrap(),
        state_root: root(&after),
        parent: Hash::from_hex(after["parent"].as_str().unwrap()).unwrap(),
        diff_hash: Hash::from_hex(after["diff_hash"].as_str().unwrap()).unwrap(),
        time_ms: after["time_ms"].as_u64().unwrap(),
    };
    let attestation = serde_json::to_value(ledger::Attestation::sign(&head_checkpoint, &stranger)).unwrap();
    let cases = [
        ("/v1/diffs", diff.clone(), StatusCode::CONFLICT, "conflict"),
        ("/v1/diffs", forged, StatusCode::UNAUTHORIZED, "bad_signature"),
        ("/v1/diffs", health_diff_by(&stranger, &after, 5), StatusCode::FORBIDDEN, "unknown_proposer"),
        ("/v1/diffs", json!({ "proposal": 7 }), StatusCode::UNPROCESSABLE_ENTITY, "bad_json"),
        ("/v1/attestations", attestation, StatusCode::FORBIDDEN, "not_a_validator"),
    ];
    for (path, body, status, code) in cases {
        let (actual, answer) = post(&node, path, &body).await;
        assert_eq!((actual, error_code(&answer)), (status, code), "{path}: {answer}");
    }
    let malformed = reqwest::Client::new().post(node.url("/v1/diffs")).header("content-type", "application/json").body("{not json").send().await.unwrap();
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
    let (status, refusal) = declare_oversized_body(&node, "/v1/diffs").await;
    assert_eq!((status, error_code(&refusal)), (StatusCode::PAYLOAD_TOO_LARGE, "body_too_large"), "{refusal}");
    assert_eq!(get(&node, "/v1/head").await.1, after, "refused writes leave the ledger as it was");
}

/// Declares a body past the node's limit and waits, as curl does, for `100 Continue` before
/// sending it: the node must refuse from the declared length alone. (A client that sends the
/// body at once may see its connection reset before the refusal arrives, whatever the node does.)
async fn declare_oversized_body(node: &Node, path: &str) -> (StatusCode, Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = node.url("").trim_start_matches("http://").trim_end_matches('/').to_owned();
    let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    let length = orchestra_server::api::MAX_BODY_BYTES + 1;
    let head = format!("POST {path} HTTP/1.1\r\nhost: {address}\r\ncontent-type: application/json\r\ncontent-length: {length}\r\nexpect: 100-continue\r\n\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8(answer).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or_else(|| panic!("no answer head: {answer:?}"));
    assert!(!head.starts_with("HTTP/1.1 100"), "the node asked for a body it must refuse: {head}");
    let status = head.split(' ').nth(1).and_then(|code| code.parse::<u16>().ok()).unwrap_or_else(|| panic!("no status: {head}"));
    (StatusCode::from_u16(status).unwrap(), serde_json::from_str(body).unwrap_or_else(|_| panic!("not JSON: {body:?}")))
}

/// A known proposer past its quota is refused with 429 and when to retry, and nothing is written.
#[tokio::test]
async fn a_proposer_over_its_quota_is_refused() {
    let node = Node::start_with(tempfile::tempdir().unwrap(), &["--proposer-diffs-per-hour", "2"]);
    for latency in [100, 200] {
        let (_, head) = get(&node, "/v1/head").await;
        let (status, body) = post(&node, "/v1/diffs", &health_diff(&head, latency)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (_, head) = get(&node, "/v1/head").await;
    let response = reqwest::Client::new().post(node.url("/v1/diffs")).json(&health_diff(&head, 300)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().get("retry-after").is_some_and(|seconds| seconds.to_str().unwrap().parse::<u64>().unwrap() > 0));
    assert_eq!(error_code(&response.json().await.unwrap()), "proposer_over_quota");
    assert_eq!(get(&node, "/v1/head").await.1, head, "the refused diff wrote nothing");
}

#[tokio::test]
async fn replicas_get_versions_and_snapshots_that_reproduce_the_root() {
    let node = Node::start();
    let (_, head) = get(&node, "/v1/head").await;
    post(&node, "/v1/diffs", &health_diff(&head, 250)).await;
    let (status, changes) = get(&node, &format!("/v1/changes?since={}", head["version"])).await;
    assert_eq!(status, StatusCode::OK, "{changes}");
    let versions = changes["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 1);
    assert_eq!(versions[0]["proposer"], miner().ss58());

    let bytes = reqwest::get(node.url("/v1/snapshot")).await.unwrap().bytes().await.unwrap();
    let summary = ledger::snapshot::inspect(&bytes[..], None).unwrap();
    assert_eq!(summary.state_root, root(&changes["head"]));
    let (status, body) = get(&node, "/v1/snapshot?version=999").await;
    assert_eq!((status, error_code(&body)), (StatusCode::NOT_FOUND, "unknown_version"));
}

#[tokio::test]
async fn every_documented_route_exists() {
    let node = Node::start();
    let (_, spec) = get(&node, "/openapi.json").await;
    let paths = spec["paths"].as_object().unwrap();
    assert!(paths.len() >= 12);
    for (path, methods) in paths {
        let concrete = path.replace("{netuid}", "22").replace("{namespace}", "sn22").replace("{path}", "identity");
        let query = if path == "/v1/diff" { "?from=0" } else if path == "/v1/changes" { "?since=0" } else { "" };
        for method in methods.as_object().unwrap().keys() {
            let request = reqwest::Client::new().request(method.to_uppercase().parse().unwrap(), node.url(&format!("{concrete}{query}")));
            let response = request.json(&json!({})).send().await.unwrap();
            let status = response.status();
            let body = response.text().await.unwrap();
            let code = serde_json::from_str::<Value>(&body).ok().and_then(|body| body["error"]["code"].as_str().map(str::to_owned));
            assert!(code.as_deref() != Some("no_route") && status != StatusCode::METHOD_NOT_ALLOWED, "{method} {path} is documented but not served: {status} {body}");
        }
    }
}

#[tokio::test]
async fn sigterm_shuts_down_without_losing_an_acknowledged_write() {
    let data = tempfile::tempdir().unwrap();
    let data_path = data.path().to_path_buf();
    let mut node = Node::start_in(data);
    let (_, head) = get(&node, "/v1/head").await;
    let (status, applied) = post(&node, "/v1/diffs", &health_diff(&head, 111)).await;
    assert_eq!(status, StatusCode::OK);
    let pid = node.server.child.id();
    assert!(Command::new("kill").args(["-TERM", &pid.to_string()]).status().unwrap().success());
    assert!(node.server.child.wait().unwrap().success(), "the node exits cleanly on SIGTERM");
    let reopened = ledger::Ledger::open(data_path.join("ledger"), ledger::Options::default()).unwrap();
    assert_eq!(reopened.head().version, applied["version"].as_u64().unwrap());
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_report_the_ledger() {
    let node = Node::start();
    get(&node, "/v1/head").await;
    get(&node, "/v1/entries/sn22/identity").await;
    get(&node, "/v1/entries/sn13/identity").await;
    for method in ["BREW", "PROPFIND"] {
        reqwest::Client::new().request(method.parse().unwrap(), node.url("/v1/head")).send().await.unwrap();
    }
    let text = reqwest::get(node.url("/metrics")).await.unwrap().text().await.unwrap();
    assert!(text.contains(r#"method="other""#) && !text.contains("BREW") && !text.contains("PROPFIND"), "unknown methods share one label: {text}");
    assert!(text.contains(r#"orchestra_http_requests_total{method="GET",route="/v1/head",status="200"} 1"#), "{text}");
    assert!(text.contains(r#"orchestra_http_requests_total{method="GET",route="/v1/entries/{namespace}/{*path}",status="200"} 2"#), "{text}");
    assert!(text.contains("orchestra_ledger_head_version 1"), "the genesis and the proposer listed: {text}");
    assert!(text.contains("# TYPE orchestra_ledger_entries gauge"), "{text}");
}
