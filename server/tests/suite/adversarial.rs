//! Attacks on a real `orchestra serve` process on loopback, as a stranger on the internet would
//! play them. Each is refused with its own code, and nothing the user relies on moves: the
//! ledger's root, and where the subnet key went.
//!
//! The node holds Desearch's key bound to the Desearch server's address, as a real node binds it
//! to the hosts of the genesis records. Loopback is allowed for its outbound calls, because the
//! subnet servers listen there; `127.0.0.2` stands for every address that is not allowed (plain
//! http to it is allowed, so that its address is what the guard refuses).

use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use ledger::hotkey::Hotkey;
use ledger::{ChangeSet, DiffProposal, Hash};
use reqwest::StatusCode;
use serde_json::{json, Value};
use testkit::{expected_key, SubnetKind, SubnetServer, TestLedger};

use crate::common;

const OBJECTIVE: &str = "Find recent arxiv papers on mixture of experts";

/// A node process over a ledger of the test subnets, with the Desearch key bound to `desearch`.
struct Target {
    desearch: SubnetServer,
    node: common::Running,
    _data: tempfile::TempDir,
}

/// A miner the operator listed in the proposer set: a known proposer that turned hostile.
fn insider() -> Hotkey {
    Hotkey::from_seed(&[21; 32]).unwrap()
}

async fn target() -> Target {
    target_binding(&[]).await
}

/// [`target`], with the key also bound to `more_hosts` (an operator who trusted them).
async fn target_binding(more_hosts: &[&str]) -> Target {
    let desearch = SubnetServer::start(SubnetKind::Desearch).await;
    let TestLedger { ledger, dir } = testkit::test_ledger(&[&desearch]);
    drop(ledger);
    let data = dir.path().to_path_buf();
    let proposer = insider().ss58();
    tokio::task::spawn_blocking(move || {
        let listed = common::orchestra(&data).args(["ledger", "put", "proposers", &proposer, r#"{"label":"a listed miner"}"#]).output().unwrap();
        assert!(listed.status.success(), "{}", String::from_utf8_lossy(&listed.stderr));
    })
    .await
    .unwrap();
    let mut command = common::orchestra(dir.path());
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--allow-address", "127.0.0.1", "--allow-http-host", "127.0.0.1,127.0.0.2"])
        .env("ORCHESTRA_SN22_KEY", expected_key(SubnetKind::Desearch))
        .env("ORCHESTRA_SN22_KEY_HOSTS", [desearch.authority().as_str()].iter().chain(more_hosts).copied().collect::<Vec<_>>().join(","));
    let node = tokio::task::spawn_blocking(move || common::start(command)).await.unwrap();
    Target { desearch, node, _data: dir }
}

impl Target {
    async fn head(&self) -> Value {
        reqwest::get(self.node.url("/v1/head")).await.unwrap().json().await.unwrap()
    }

    /// `changes` against the head, signed by `proposer`.
    async fn diff(&self, proposer: &Hotkey, changes: ChangeSet) -> Value {
        let head = self.head().await;
        let proposal = DiffProposal {
            base_version: head["version"].as_u64().unwrap(),
            base_root: Hash::from_hex(head["root"].as_str().unwrap()).unwrap(),
            changes,
            proposer: proposer.ss58(),
        };
        serde_json::to_value(proposal.sign(proposer)).unwrap()
    }

    async fn post(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        let response = reqwest::Client::new().post(self.node.url(path)).json(body).send().await.unwrap();
        (response.status(), response.json().await.unwrap())
    }

    /// The changes that point Desearch's endpoints at `base_url`.
    fn repointing(&self, base_url: &str) -> ChangeSet {
        testkit::repointed(22, base_url)
    }

    async fn orchestrate(&self) -> (StatusCode, Value) {
        self.post("/v1/orchestrate", &json!({ "objective": OBJECTIVE, "target_schema": { "papers": [{ "title": "str" }] } })).await
    }

    async fn metric(&self, name: &str) -> u64 {
        let text = reqwest::get(self.node.url("/metrics")).await.unwrap().text().await.unwrap();
        text.lines().find_map(|line| line.strip_prefix(&format!("{name} "))).map_or(0, |value| value.parse().unwrap())
    }
}

/// How many requests carried Desearch's key.
fn keyed(server: &SubnetServer) -> usize {
    server.requests().iter().filter(|request| request.header("authorization") == Some(expected_key(SubnetKind::Desearch))).count()
}

/// A loopback address that is not allowed, and how many connections reached it.
fn forbidden_listener() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.2:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let connections = Arc::new(AtomicUsize::new(0));
    let counted = connections.clone();
    std::thread::spawn(move || {
        for _ in listener.incoming() {
            counted.fetch_add(1, Ordering::SeqCst);
        }
    });
    (base, connections)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_strangers_diff_cannot_redirect_the_key() {
    let target = target().await;
    let attacker = SubnetServer::start(SubnetKind::Desearch).await;
    let stranger = Hotkey::from_seed(&[66; 32]).unwrap();
    let before = target.head().await;
    let diff = target.diff(&stranger, target.repointing(&attacker.base_url())).await;
    let (status, body) = target.post("/v1/diffs", &diff).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::FORBIDDEN, Some("unknown_proposer")), "{body}");
    assert_eq!(target.head().await, before, "the root did not move");

    let (status, answer) = target.orchestrate().await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(attacker.request_count(), 0, "nothing went to the stranger's host");
    assert!(keyed(&target.desearch) > 0, "the key went where the operator bound it");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_known_proposer_repointing_a_subnet_gets_no_key() {
    let target = target().await;
    let attacker = SubnetServer::start(SubnetKind::Desearch).await;
    let diff = target.diff(&insider(), target.repointing(&attacker.base_url())).await;
    let (status, body) = target.post("/v1/diffs", &diff).await;
    assert_eq!(status, StatusCode::OK, "a listed proposer may write: {body}");

    let (status, answer) = target.orchestrate().await;
    assert_eq!((status, answer["error"]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("no_plan")), "{answer}");
    let message = answer["error"]["message"].as_str().unwrap();
    assert!(message.contains("not one the key may go to") && message.contains(&attacker.authority()), "the refusal names the host: {message}");
    assert_eq!(keyed(&attacker), 0, "the key never reached the repointed host");
    assert_eq!(attacker.request_count(), 0, "a keyed route is not called without its key");
    assert_eq!(keyed(&target.desearch), 0);
    assert!(target.metric("orchestra_keys_withheld_total").await > 0, "the operator sees each withheld key");
}

#[tokio::test(flavor = "multi_thread")]
async fn endpoints_at_forbidden_addresses_are_never_connected_to() {
    let (forbidden, connections) = forbidden_listener();
    let redirector = redirect_to(&format!("{forbidden}/desearch/ai/search")).await;
    // Even with the key bound there (so routing passes them), the guard refuses the address,
    // directly and behind a redirect from an allowed one.
    let target = target_binding(&["127.0.0.2", redirector.trim_start_matches("http://")]).await;
    let refused = |call: &Value| call["error"].as_str().is_some_and(|error| error.contains("127.0.0.2") && error.contains("does not call"));
    let redirected = |call: &Value| call["status"] == 307;
    for (base, expected) in [(forbidden.clone(), &refused as &dyn Fn(&Value) -> bool), (redirector, &redirected)] {
        let diff = target.diff(&insider(), target.repointing(&base)).await;
        let (status, body) = target.post("/v1/diffs", &diff).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (status, answer) = target.orchestrate().await;
        assert_eq!(answer["error"]["code"], "subnets_failed", "{base}: {status} {answer}");
        let calls = answer["error"]["details"]["calls"].as_array().unwrap();
        assert!(!calls.is_empty() && calls.iter().all(expected), "{base}: {calls:?}");
    }
    assert_eq!(connections.load(Ordering::SeqCst), 0, "127.0.0.2 was never connected to, directly or through a redirect");
    assert_eq!(keyed(&target.desearch), 0);
}

/// A loopback server (an allowed address) answering every request with a redirect to `location`.
async fn redirect_to(location: &str) -> String {
    let location = location.to_owned();
    let app = axum::Router::new().fallback(move || {
        let location = location.clone();
        async move { (axum::http::StatusCode::TEMPORARY_REDIRECT, [(axum::http::header::LOCATION, location)]) }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    base
}

/// A reader that asks for a snapshot larger than every buffer on the way and then takes nothing
/// holds up no write: the export reads a RocksDB snapshot, not the ledger.
#[tokio::test(flavor = "multi_thread")]
async fn a_stalled_snapshot_reader_holds_up_no_write() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("ledger");
    let seeded = data.clone();
    tokio::task::spawn_blocking(move || {
        common::seed_with_proposer(&seeded, &insider());
        // About 12 MB of entries: far more than the socket buffers and the export's queue hold.
        let mut ledger = ledger::Ledger::open(&seeded, ledger::Options::default()).unwrap();
        for batch in 0..12u16 {
            let changes = (0..2000u16).map(|index| ledger::Change {
                key: ledger::Key::new(ledger::Namespace::Subnet(900 + batch), format!("bulk/{index:05}")).unwrap(),
                value: Some(vec![(index % 251) as u8; 500]),
            });
            ledger.commit(ChangeSet::new(changes)).unwrap();
        }
    })
    .await
    .unwrap();
    let node = tokio::task::spawn_blocking(move || common::serve(&data, &[])).await.unwrap();

    let address = node.base.trim_start_matches("http://").to_owned();
    let mut stalled = tokio::net::TcpStream::connect(&address).await.unwrap();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stalled.write_all(format!("GET /v1/snapshot HTTP/1.1\r\nhost: {address}\r\n\r\n").as_bytes()).await.unwrap();
    // Read the answer's head, so the export is surely running, then take nothing more.
    let mut head = Vec::new();
    while !head.windows(4).any(|window| window == b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        assert_eq!(stalled.read(&mut byte).await.unwrap(), 1, "the snapshot's answer began");
        head.push(byte[0]);
    }
    assert!(head.starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&head));

    let node_head: Value = reqwest::get(node.url("/v1/head")).await.unwrap().json().await.unwrap();
    let record = ledger::record::Record::Health(ledger::record::Health { status: ledger::record::HealthStatus::Up, checked_at_ms: 1, latency_ms_p50: 5, success_ppm: 1_000_000, samples: 1 });
    let proposal = DiffProposal {
        base_version: node_head["version"].as_u64().unwrap(),
        base_root: Hash::from_hex(node_head["root"].as_str().unwrap()).unwrap(),
        changes: ChangeSet::new([ledger::Change { key: ledger::Key::new(ledger::Namespace::Subnet(22), "health/web-search").unwrap(), value: Some(record.encode()) }]),
        proposer: insider().ss58(),
    };
    let response = reqwest::Client::new().post(node.url("/v1/diffs")).json(&proposal.sign(&insider())).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "the write went through beside the stalled reader");
    drop(stalled);
}
