//! A new subnet is a data change, end to end on loopback: a registered miner proposes a subnet
//! it found (its identity, an endpoint with its invocation spec and example, the capability it
//! brings, the sources) as one signed diff; the node takes it but does not route to it while it
//! is not final; the validator probes the endpoint with its example through the same engine and
//! attests; the attestation makes it final, and the node plans for the new capability and calls
//! the new subnet, with no code that knows either.
//!
//! The subnet is Djinn (SN103), whose sports odds no part of the node's code names; its API on
//! loopback is the replay server of its documented exchange, as strict as the real one.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ledger::record::{Endpoint, Record, Stake};
use ledger::{Change, ChangeSet, DiffProposal, Key, Namespace, SystemNamespace};
use orchestra_server::api::paid::Pricing;
use orchestra_server::api::proposers::{ProposerGate, Quota};
use orchestra_server::api::{router, AppState};
use orchestra_server::documented::{read_exchange, repoint, ReplayServer};
use subnet::chain::testing::mock_node_with_storage;
use subnet::chain::ChainClient;
use orchestrator::credentials::Credentials;
use orchestrator::orchestrate::{Config, Orchestrator};
use orchestrator::outbound::Policy;
use orchestrator::route::Catalog;
use subnet::validator::challenge::known::KnownAnswerBudget;
use subnet::validator::challenge::replay::ReplayBudget;
use subnet::validator::{LedgerUnderReview, ProbeBudget, Settings, Validator};
use serde_json::{json, Value};
use testkit::{expected_key, SubnetKind, SubnetServer, TestLedger};

use crate::common::chain::{chain_state, serve, Participant, NETUID};
use crate::common::node_hotkey;

const DJINN: u16 = 103;
const CAPABILITY: &str = "sports-odds";
const OBJECTIVE: &str = "What are the betting odds for the upcoming NBA games?";

fn snapshots() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../snapshots")
}

fn capability_key() -> Key {
    Key::new(Namespace::System(SystemNamespace::Capabilities), CAPABILITY).unwrap()
}

/// Djinn's records and its capability's, as the genesis sources hold them, with each endpoint
/// changed by `change` (pointed at the loopback API).
fn djinn_changes(change: impl Fn(&mut Endpoint)) -> ChangeSet {
    let sources = ledger::genesis::read_sources(&snapshots()).unwrap();
    let changes = sources.changes().iter().filter(|source| source.key.namespace == Namespace::Subnet(DJINN) || source.key == capability_key()).map(|source| {
        let value = source.value.clone().unwrap();
        match Record::decode(&source.key, &value).unwrap() {
            Record::Endpoint(mut endpoint) => {
                change(&mut endpoint);
                Change { key: source.key.clone(), value: Some(Record::Endpoint(endpoint).encode()) }
            }
            _ => source.clone(),
        }
    });
    ChangeSet::new(changes.collect::<Vec<_>>())
}

/// A node on the kit's subnets whose ledger knows nothing of Djinn or its capability, with
/// `validator` as its validator set and `miner` registered on the subnet.
struct Node {
    url: String,
    base: ledger::Checkpoint,
    _data: tempfile::TempDir,
    _desearch: SubnetServer,
}

impl Node {
    async fn start(validator: &Participant, miner: &Participant) -> Node {
        let desearch = SubnetServer::start(SubnetKind::Desearch).await;
        let TestLedger { mut ledger, dir } = testkit::test_ledger(&[&desearch]);
        let stake = Key::new(Namespace::System(SystemNamespace::Validators), validator.hotkey.ss58()).unwrap();
        ledger.commit(ChangeSet::new([Change { key: capability_key(), value: None }, Change { key: stake, value: Some(Record::Stake(Stake { rao: 1_000_000 }).encode()) }])).unwrap();
        assert!(ledger.namespaces_at(ledger.head().version).unwrap().iter().all(|namespace| *namespace != Namespace::Subnet(DJINN)));
        let base = *ledger.head();
        let gate = Arc::new(ProposerGate::new(Quota::default()));
        gate.set_registered(BTreeSet::from([miner.hotkey.ss58()]));
        let credentials = Credentials::default().with_key(22, expected_key(SubnetKind::Desearch), ["127.0.0.1"]);
        let orchestrator = Orchestrator::new(credentials, node_hotkey(), Config { outbound: Policy::loopback(), ..Config::default() }).unwrap();
        let state = AppState::new(ledger, Pricing::default()).with_orchestrator(orchestrator).with_proposers(gate);
        let url = format!("http://127.0.0.1:{}", serve(router(state)).await);
        Node { url, base, _data: dir, _desearch: desearch }
    }

    async fn propose(&self, miner: &Participant, changes: ChangeSet) -> reqwest::Response {
        let diff = DiffProposal { base_version: self.base.version, base_root: self.base.state_root, changes, proposer: miner.hotkey.ss58() }.sign(&miner.hotkey);
        reqwest::Client::new().post(format!("{}/v1/diffs", self.url)).json(&diff).send().await.unwrap()
    }

    async fn orchestrate(&self) -> (u16, Value) {
        let body = json!({ "objective": OBJECTIVE, "target_schema": { "summary": "str" } });
        let response = reqwest::Client::new().post(format!("{}/v1/orchestrate", self.url)).json(&body).send().await.unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }

    /// One validator round against the node: challenges (which this node, no miner, fails) and
    /// the review of its new versions.
    async fn validate(&self, validator: &Participant, miner: &Participant) -> subnet::validator::RoundReport {
        self.validate_within(validator, miner, ProbeBudget::default()).await
    }

    /// [`Node::validate`], the validator probing within `probes`.
    async fn validate_within(&self, validator: &Participant, miner: &Participant, probes: ProbeBudget) -> subnet::validator::RoundReport {
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let storage = chain_state(validator, [(miner, closed), (&Participant::new(3), closed)]);
        let chain = ChainClient::from_rpc_client(mock_node_with_storage(Arc::new(Mutex::new(Vec::new())), true, storage)).await.unwrap();
        let mirror = tempfile::tempdir().unwrap();
        let settings = Settings { netuid: NETUID, challenge_deadline: Duration::from_secs(5), ledger: Some(LedgerUnderReview { url: self.url.clone(), mirror_dir: mirror.path().join("mirror") }), replays: ReplayBudget::default(), known_answers: KnownAnswerBudget::default(), probes };
        let mut validator_node = Validator::new(chain, validator.chain.clone(), validator.engine(Credentials::default()), settings);
        let TestLedger { ledger, dir: _dir } = testkit::test_ledger(&[]);
        validator_node.round(&Catalog::read(&ledger).unwrap()).await.unwrap()
    }
}

fn planned(body: &Value) -> Vec<String> {
    let plan = if body["plan"].is_object() { &body["plan"] } else { &body["error"]["details"]["plan"] };
    plan["tasks"].as_array().map(|tasks| tasks.iter().map(|task| task["capability"].as_str().unwrap().to_owned()).collect()).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_proposed_subnet_is_probed_attested_and_then_routed_with_no_new_code() {
    let djinn = ReplayServer::start(read_exchange(&snapshots().join("documented/sn103-sports-odds.json")).unwrap()).await.unwrap();
    let (validator, miner) = (Participant::new(1), Participant::new(2));
    let node = Node::start(&validator, &miner).await;

    let accepted = node.propose(&miner, djinn_changes(|endpoint| endpoint.url = repoint(&endpoint.url, &djinn.base))).await;
    assert_eq!(accepted.status(), 202, "{}", accepted.text().await.unwrap());
    let head: Value = reqwest::get(format!("{}/v1/head", node.url)).await.unwrap().json().await.unwrap();
    assert_eq!(head["version"], node.base.version, "a proposal waits for the validators' approval outside the history");

    // Proposed, not approved: routing reads the final ledger, which has neither Djinn nor sports odds.
    let (status, before) = node.orchestrate().await;
    assert!(!planned(&before).contains(&CAPABILITY.to_owned()), "{status} {before}");
    assert_eq!(djinn.requests(), 0, "nothing is sent to a proposal's endpoint before it is final");

    // One round approves it (the only validator is the quorum), which applies it, then attests
    // the version it made, which makes it final.
    let report = node.validate(&validator, &miner).await;
    assert_eq!(report.approved.iter().map(|(_, proposer)| proposer.as_str()).collect::<Vec<_>>(), [miner.hotkey.ss58()], "refused {:?}", report.refused_proposals);
    let proposal = report.attested.iter().find(|(_, proposer)| *proposer == miner.hotkey.ss58());
    assert!(proposal.is_some(), "the diff is attested: {:?} refused {:?}", report.attested, report.refused);
    assert_eq!(djinn.requests(), 1, "the validator probed the endpoint with its example");
    assert!(djinn.refusals().is_empty(), "the probe asked as the documentation does: {:?}", djinn.refusals());

    let (status, after) = node.orchestrate().await;
    assert_eq!(status, 200, "{after}");
    assert_eq!(planned(&after), [CAPABILITY], "planned from the capability's record alone");
    let calls = after["calls"].as_array().unwrap();
    assert!(calls.iter().any(|call| call["subnet"] == DJINN && call["status"] == 200), "{calls:?}");
    assert!(after["receipts"]["receipts"].as_array().unwrap().iter().any(|receipt| receipt["call"]["subnet"] == DJINN));
    assert_eq!(djinn.requests(), 2);
    assert!(djinn.refusals().is_empty(), "{:?}", djinn.refusals());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_proposed_subnet_whose_example_its_api_refuses_is_never_attested_nor_routed() {
    let djinn = ReplayServer::start(read_exchange(&snapshots().join("documented/sn103-sports-odds.json")).unwrap()).await.unwrap();
    let (validator, miner) = (Participant::new(1), Participant::new(2));
    let node = Node::start(&validator, &miner).await;

    // The example asks for a parameter the API does not document: its probe is refused.
    let changes = djinn_changes(|endpoint| {
        endpoint.url = repoint(&endpoint.url, &djinn.base);
        if let Some(example) = endpoint.example_input.as_mut().and_then(|example| example.0.as_object_mut()) {
            example.insert("bookmaker".into(), json!("every"));
        }
    });
    let accepted = node.propose(&miner, changes).await;
    assert_eq!(accepted.status(), 202);
    let id = accepted.json::<Value>().await.unwrap()["proposal"].as_str().unwrap().to_owned();

    let report = node.validate(&validator, &miner).await;
    assert!(report.approved.is_empty() && report.attested.iter().all(|(_, proposer)| *proposer != miner.hotkey.ss58()), "{:?} {:?}", report.approved, report.attested);
    assert!(report.refused_proposals.iter().any(|(refused, why)| refused.to_hex() == id && why.contains("endpoint/sports-odds") && why.contains("422")), "{:?}", report.refused_proposals);
    assert_eq!(djinn.requests(), 1, "only the probe reached the subnet");
    // Refused, it never entered the history: nothing waits to be undone, and the ledger stays
    // as it was, its last version final.
    let head: Value = reqwest::get(format!("{}/v1/head", node.url)).await.unwrap().json().await.unwrap();
    assert_eq!(head["version"], node.base.version, "{head}");
    let waiting: Value = reqwest::get(format!("{}/v1/proposals", node.url)).await.unwrap().json().await.unwrap();
    assert_eq!(waiting["proposals"][0]["id"], id, "still waiting for a quorum it will not get: {waiting}");

    let (_, after) = node.orchestrate().await;
    assert!(!planned(&after).contains(&CAPABILITY.to_owned()), "{after}");
    assert_eq!(djinn.requests(), 1, "a refused proposal is never routed");

    // Nothing waits behind it: the same subnet with the example its API takes is approved and
    // final in the next round, the refused proposal still outside the history.
    let accepted = node.propose(&miner, djinn_changes(|endpoint| endpoint.url = repoint(&endpoint.url, &djinn.base))).await;
    assert_eq!(accepted.status(), 202);
    let report = node.validate(&validator, &miner).await;
    assert_eq!(report.approved.len(), 1, "{:?}", report.refused_proposals);
    assert!(report.refused_proposals.iter().any(|(refused, _)| refused.to_hex() == id), "the bad one is refused again: {:?}", report.refused_proposals);
    let head: Value = reqwest::get(format!("{}/v1/head", node.url)).await.unwrap().json().await.unwrap();
    assert_eq!(head["version"], node.base.version + 1, "{head}");
    assert_eq!(head["final"]["version"], node.base.version + 1, "finality passed the refused proposal: {head}");
    let (status, routed) = node.orchestrate().await;
    assert_eq!((status, planned(&routed)), (200, vec![CAPABILITY.to_owned()]), "{routed}");
}

/// Probes are calls with the validator's keys, so a round makes no more than its budget allows:
/// a proposal needing more than the whole budget is refused unprobed, and one needing more than
/// what is left waits, neither probed nor refused, for the next round.
#[tokio::test(flavor = "multi_thread")]
async fn a_round_probes_proposals_only_within_the_validators_budget() {
    let djinn = ReplayServer::start(read_exchange(&snapshots().join("documented/sn103-sports-odds.json")).unwrap()).await.unwrap();
    let (validator, miner) = (Participant::new(1), Participant::new(2));
    let node = Node::start(&validator, &miner).await;
    let first = node.propose(&miner, djinn_changes(|endpoint| endpoint.url = repoint(&endpoint.url, &djinn.base))).await;
    assert_eq!(first.status(), 202);
    let second = node
        .propose(&miner, djinn_changes(|endpoint| {
            endpoint.url = repoint(&endpoint.url, &djinn.base);
            endpoint.timeout_ms += 1;
        }))
        .await;
    assert_eq!(second.status(), 202);
    let second = second.json::<Value>().await.unwrap()["proposal"].as_str().unwrap().to_owned();

    let none = node.validate_within(&validator, &miner, ProbeBudget { proposals_per_round: 32, probes_per_round: 0 }).await;
    assert!(none.approved.is_empty(), "{:?}", none.approved);
    assert_eq!(none.refused_proposals.len(), 2, "{:?}", none.refused_proposals);
    assert!(none.refused_proposals.iter().all(|(_, why)| why.contains("needs 1 probes, more than the 0")), "{:?}", none.refused_proposals);
    assert_eq!(djinn.requests(), 0, "nothing was probed");

    let one = node.validate_within(&validator, &miner, ProbeBudget { proposals_per_round: 32, probes_per_round: 1 }).await;
    assert_eq!(one.approved.len(), 1, "the older proposal is probed and approved: {:?}", one.refused_proposals);
    assert!(one.refused_proposals.is_empty() && one.proposals_deferred, "the newer one waits: {:?}", one.refused_proposals);
    assert_eq!(djinn.requests(), 1, "one probe, and the version the approval made is not probed again");
    let waiting: Value = reqwest::get(format!("{}/v1/proposals", node.url)).await.unwrap().json().await.unwrap();
    assert!(waiting["proposals"].as_array().unwrap().iter().any(|proposal| proposal["id"] == second.as_str()), "{waiting}");
}
