//! A validator reviewing a hostile ledger node. The node serves a registered miner's version
//! whose signature, parent and diff hash all hold, under a root its changes do not give: were
//! it attested, anyone trusting the attestations would accept proofs against that root. The
//! validator applies every version to its own mirror of the ledger before it attests, so it
//! refuses the forged root and sends no attestation; the same version, served as it is by the
//! honest node behind the forger, is attested.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::Response;
use ledger::record::{Record, Stake};
use ledger::{Change, ChangeSet, DiffProposal, Key, Namespace, SystemNamespace};
use orchestra_server::api::paid::Pricing;
use orchestra_server::api::proposers::{ProposerGate, Quota};
use orchestra_server::api::{router, AppState};
use orchestrator::credentials::Credentials;
use orchestrator::route::Catalog;
use serde_json::Value;
use subnet::chain::testing::mock_node_with_storage;
use subnet::chain::ChainClient;
use subnet::validator::challenge::known::KnownAnswerBudget;
use subnet::validator::challenge::replay::ReplayBudget;
use subnet::validator::{LedgerUnderReview, ProbeBudget, RoundReport, Settings, Validator};
use testkit::{expected_key, SubnetKind, SubnetServer, TestLedger};

use crate::common::chain::{chain_state, serve, Participant, NETUID};

/// A node with `validator` as its validator set, `miner` registered, and the miner's signed
/// diff giving Desearch's web search a longer timeout waiting for approval. Its URL and the
/// version the diff becomes once approved.
async fn node_with_a_proposal(validator: &Participant, miner: &Participant, desearch: &SubnetServer) -> (String, u64, tempfile::TempDir) {
    let TestLedger { mut ledger, dir } = testkit::test_ledger(&[desearch]);
    let stake = Key::new(Namespace::System(SystemNamespace::Validators), validator.hotkey.ss58()).unwrap();
    ledger.commit(ChangeSet::new([Change { key: stake, value: Some(Record::Stake(Stake { rao: 1_000_000 }).encode()) }])).unwrap();
    let key = Key::new(Namespace::Subnet(22), "endpoint/web-search").unwrap();
    let Record::Endpoint(mut endpoint) = Record::decode(&key, &ledger.get(&key).unwrap().unwrap()).unwrap() else { panic!("an endpoint") };
    endpoint.timeout_ms = 20_000;
    let changes = ChangeSet::new([Change { key, value: Some(Record::Endpoint(endpoint).encode()) }]);
    let diff = DiffProposal { base_version: ledger.head().version, base_root: ledger.head().state_root, changes, proposer: miner.hotkey.ss58() }.sign(&miner.hotkey);
    let gate = Arc::new(ProposerGate::new(Quota::default()));
    gate.set_registered(BTreeSet::from([miner.hotkey.ss58()]));
    let url = format!("http://127.0.0.1:{}", serve(router(AppState::new(ledger, Pricing::default()).with_proposers(gate))).await);
    let accepted = reqwest::Client::new().post(format!("{url}/v1/diffs")).json(&diff).send().await.unwrap();
    assert_eq!(accepted.status(), 202, "{}", accepted.text().await.unwrap());
    let head: Value = reqwest::get(format!("{url}/v1/head")).await.unwrap().json().await.unwrap();
    // Approved, it becomes the next version.
    (url, head["version"].as_u64().unwrap() + 1, dir)
}

/// A hostile node in front of `node`: it serves `version` under another root, takes every
/// attestation sent to it (kept in the second value) and passes everything else on.
async fn root_forger(node: String, version: u64) -> (String, Arc<Mutex<Vec<Value>>>) {
    let attestations = Arc::new(Mutex::new(Vec::new()));
    let taken = attestations.clone();
    let forger = axum::Router::new().fallback(move |request: Request| {
        let (node, taken) = (node.clone(), taken.clone());
        async move {
            let (parts, body) = request.into_parts();
            let body: Bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
            let path = parts.uri.path_and_query().unwrap().as_str().to_owned();
            if path == "/v1/attestations" {
                taken.lock().unwrap().push(serde_json::from_slice::<Value>(&body).unwrap());
                return Response::new(Body::from("{}"));
            }
            let mut forwarded = reqwest::Client::new().request(parts.method, format!("{node}{path}")).body(body.to_vec());
            if let Some(content_type) = parts.headers.get("content-type") {
                forwarded = forwarded.header("content-type", content_type.as_bytes());
            }
            let answer = forwarded.send().await.unwrap();
            let status = StatusCode::from_u16(answer.status().as_u16()).unwrap();
            let mut bytes = answer.bytes().await.unwrap().to_vec();
            if path.starts_with("/v1/changes") {
                let mut listing: Value = serde_json::from_slice(&bytes).unwrap();
                for served in listing["versions"].as_array_mut().unwrap() {
                    if served["checkpoint"]["version"] == version {
                        served["checkpoint"]["state_root"] = Value::String("ab".repeat(32));
                    }
                }
                bytes = serde_json::to_vec(&listing).unwrap();
            }
            let mut response = Response::new(Body::from(bytes));
            *response.status_mut() = status;
            response
        }
    });
    (format!("http://127.0.0.1:{}", serve(forger).await), attestations)
}

/// One validator round reviewing the ledger at `url`, with a mirror of its own.
async fn review(validator: &Participant, miner: &Participant, url: &str) -> RoundReport {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let storage = chain_state(validator, [(miner, closed), (&Participant::new(3), closed)]);
    let chain = ChainClient::from_rpc_client(mock_node_with_storage(Arc::new(Mutex::new(Vec::new())), true, storage)).await.unwrap();
    let mirror = tempfile::tempdir().unwrap();
    let settings = Settings { netuid: NETUID, challenge_deadline: Duration::from_secs(5), ledger: Some(LedgerUnderReview { url: url.to_owned(), mirror_dir: mirror.path().join("mirror") }), replays: ReplayBudget::default(), known_answers: KnownAnswerBudget::default(), probes: ProbeBudget::default() };
    let credentials = Credentials::default().with_key(22, expected_key(SubnetKind::Desearch), ["127.0.0.1"]);
    let mut validator_node = Validator::new(chain, validator.chain.clone(), validator.engine(credentials), settings);
    // The validator's own ledger routes nothing: the round is about the ledger under review.
    let own = tempfile::tempdir().unwrap();
    let own = ledger::Ledger::create(own.path().join("ledger"), ledger::Options::default()).unwrap();
    validator_node.round(&Catalog::read(&own).unwrap()).await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_root_its_changes_do_not_give_is_never_attested() {
    let desearch = SubnetServer::start(SubnetKind::Desearch).await;
    let (validator, miner) = (Participant::new(1), Participant::new(2));
    let (node, version, _data) = node_with_a_proposal(&validator, &miner, &desearch).await;
    let (forger, attestations) = root_forger(node.clone(), version).await;

    // The validator approves the proposal (the approval goes through to the node, which applies
    // it), then reviews the version it made, which the forger serves under another root.
    let report = review(&validator, &miner, &forger).await;
    assert_eq!(report.approved.len(), 1, "{:?}", report.refused_proposals);
    assert!(report.attested.is_empty(), "{:?}", report.attested);
    let (refused, why) = report.refused.last().expect("the forged version is refused");
    assert_eq!(*refused, version);
    assert!(why.contains("do not reproduce its checkpoint"), "{why}");
    assert!(attestations.lock().unwrap().is_empty(), "no attestation is sent for the forged root");
    let head: Value = reqwest::get(format!("{node}/v1/head")).await.unwrap().json().await.unwrap();
    assert!(head["final"].is_null(), "{head}");

    // Served as it is, the same version is attested and becomes final.
    let report = review(&validator, &miner, &node).await;
    assert_eq!(report.attested, [(version, miner.hotkey.ss58())], "refused: {:?}", report.refused);
    // No answer of the round called anything (the validator's own ledger routes nothing): the
    // attested change waits for a use before it earns.
    assert!(report.ledger_work.is_empty(), "{:?}", report.ledger_work);
    assert!(report.unused_changes >= 1);
    let head: Value = reqwest::get(format!("{node}/v1/head")).await.unwrap().json().await.unwrap();
    assert_eq!(head["final"]["version"], version, "{head}");
}
