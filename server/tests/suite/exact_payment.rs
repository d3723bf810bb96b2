//! x402 `exact` payments settled by the node, end to end over real HTTP: the router runs
//! in-process on a loopback port with a `ChainClient` over a mock subtensor node
//! (`subnet::chain::testing`), and real sr25519-signed `Balances.transfer_keep_alive`
//! extrinsics, built for finney's real runtime metadata, pay for proof-carrying reads.
//!
//! This proves encoding, decoding and signing against the real runtime, the x402 headers and
//! codes, the payer's nonce and balance read from `System.Account` in the runtime's layout, the
//! persistent replay set and that exactly the paying extrinsic is submitted; it does not prove
//! the runtime's own checks at inclusion (fees, weights), which only a live node performs.

use std::sync::{Arc, Mutex};

use base64::Engine;
use ledger::{Hash, Options, Proven};
use orchestra_server::api::paid::{hotkey_payment_body, Pricing};
use orchestra_server::api::{router, AppState};
use subnet::chain::testing::{account, account_entry, dev, expired_transfer, immortal_transfer, mock_node_with_storage, transfer, transfer_by, Keypair, Submitted};
use subnet::chain::{extrinsic_hash, AccountId32, ChainClient};
use orchestrator::credentials::Credentials;
use orchestrator::orchestrate::{Config, Orchestrator};
use orchestrator::outbound::Policy;
use testkit::{SubnetKind, SubnetServer};
use reqwest::{Client, Response, StatusCode};
use serde_json::{json, Value};

const PRICE: u64 = 1_000_000;
const ORCHESTRATE_FEE: u64 = 2_000_000;
const NETWORK: &str = "bittensor:finney";
const PATH: &str = "/v1/entries/sn22/identity";

fn payee() -> AccountId32 {
    account(&dev::bob())
}

/// A paying node on loopback, its chain's submitted extrinsics, and its data directory.
struct Node {
    base: String,
    submitted: Submitted,
    _data: tempfile::TempDir,
}

/// What the payers' accounts hold on the mock chain: Alice is funded at nonce 0.
fn funded() -> Vec<(AccountId32, u32, u64)> {
    vec![(account(&dev::alice()), 0, 1_000 * PRICE), (account(&payer_keypair()), 0, 1_000 * PRICE)]
}

/// A payer whose hotkey seed is known, so that it can also sign requests spending its credit.
fn payer_keypair() -> Keypair {
    Keypair::from_secret_key([42; 32]).unwrap()
}

fn payer_hotkey() -> ledger::hotkey::Hotkey {
    ledger::hotkey::Hotkey::from_seed(&[42; 32]).unwrap()
}

/// A node paid to Bob; with `finalizes` false its chain drops every submitted extrinsic.
async fn start(finalizes: bool) -> Node {
    start_orchestrating(finalizes, None, &funded()).await
}

/// A node paid to Bob that also orchestrates over `desearch`, when given, on a chain where
/// `accounts` hold `(nonce, free rao)`.
async fn start_orchestrating(finalizes: bool, desearch: Option<&SubnetServer>, accounts: &[(AccountId32, u32, u64)]) -> Node {
    let data = tempfile::tempdir().unwrap();
    let (mut ledger, _) = orchestra_server::node::open_or_seed(&data.path().join("ledger"), Options::default()).unwrap();
    let submitted: Submitted = Arc::new(Mutex::new(Vec::new()));
    let storage = accounts.iter().map(|(account, nonce, free)| account_entry(account, *nonce, *free)).collect();
    let chain = ChainClient::from_rpc_client(mock_node_with_storage(submitted.clone(), finalizes, storage)).await.unwrap();
    let pricing = Pricing { proof_read_rao: PRICE, orchestrate_fee_rao: ORCHESTRATE_FEE, orchestrate_budget_rao: 0, pay_to: Some(payee().to_string()), network: NETWORK.into() };
    let orchestrator = desearch.map(|desearch| {
        testkit::register_subnets(&mut ledger, &[desearch]);
        let credentials = Credentials::default().with_key(22, testkit::expected_key(SubnetKind::Desearch), ["127.0.0.1"]);
        Orchestrator::new(credentials, ledger::hotkey::Hotkey::from_seed(&[3; 32]).unwrap(), Config { outbound: Policy::loopback(), ..Config::default() }).unwrap()
    });
    let mut state = AppState::new(ledger, pricing).with_chain(chain).unwrap();
    if let Some(orchestrator) = orchestrator {
        state = state.with_orchestrator(orchestrator);
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router(state)).await.unwrap() });
    Node { base, submitted, _data: data }
}

/// `payment` for `extrinsic`, paid by `payer`.
fn payment_by(extrinsic: &[u8], payer: &AccountId32) -> Value {
    let mut json = payment(extrinsic);
    json["payload"]["from"] = json!(payer.to_string());
    json
}

fn base64(json: &Value) -> String {
    base64::engine::general_purpose::STANDARD.encode(json.to_string())
}

fn unbase64(text: &str) -> Value {
    serde_json::from_slice(&base64::engine::general_purpose::STANDARD.decode(text).unwrap()).unwrap()
}

/// The x402 `PAYMENT-SIGNATURE` JSON a client sends for `extrinsic`, signed by Alice.
fn payment(extrinsic: &[u8]) -> Value {
    json!({
        "x402Version": 2,
        "accepted": { "scheme": "exact", "network": NETWORK, "amount": PRICE.to_string(), "asset": "TAO", "payTo": payee().to_string() },
        "payload": {
            "signedExtrinsic": format!("0x{}", hex::encode(extrinsic)),
            "extrinsicHash": format!("0x{}", hex::encode(extrinsic_hash(extrinsic).0)),
            "from": account(&dev::alice()).to_string(),
        },
        "extensions": {},
    })
}

async fn pay(node: &Node, header: &str) -> Response {
    Client::new().get(format!("{}{PATH}", node.base)).header("PAYMENT-SIGNATURE", header).send().await.unwrap()
}

fn header(response: &Response, name: &str) -> Option<String> {
    response.headers().get(name).map(|value| value.to_str().unwrap().to_owned())
}

/// Asserts an error answer's status and code, and returns its message.
async fn refused(response: Response, status: StatusCode, code: &str) -> String {
    assert_eq!(response.status(), status);
    if status == StatusCode::PAYMENT_REQUIRED {
        let requirement = unbase64(&header(&response, "payment-required").expect("a 402 says how to pay"));
        assert_eq!(requirement["accepts"][0]["payTo"], payee().to_string());
    }
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], code, "{body}");
    body["error"]["message"].as_str().unwrap().to_owned()
}

async fn root(node: &Node) -> Value {
    let health: Value = Client::new().get(format!("{}/v1/health", node.base)).send().await.unwrap().json().await.unwrap();
    json!([health["version"], health["root"]])
}

#[tokio::test(flavor = "multi_thread")]
async fn an_exact_payment_is_verified_settled_and_never_accepted_twice() {
    let node = start(true).await;
    let before = root(&node).await;
    let extrinsic = transfer(payee(), PRICE.into());
    let hash = format!("0x{}", hex::encode(extrinsic_hash(&extrinsic).0));

    let paid = pay(&node, &base64(&payment(&extrinsic))).await;
    assert_eq!(paid.status(), StatusCode::OK);
    let receipt = unbase64(&header(&paid, "payment-response").expect("a settled answer carries its receipt"));
    assert_eq!(receipt, json!({ "success": true, "transaction": hash, "network": NETWORK, "payer": account(&dev::alice()).to_string() }));
    assert_eq!(header(&paid, "x-orchestra-cost-rao"), Some(PRICE.to_string()));
    assert_eq!(header(&paid, "x-orchestra-balance-rao"), None);
    assert_eq!(*node.submitted.lock().unwrap(), vec![extrinsic.clone()], "exactly the paying extrinsic is submitted");
    let body: Value = paid.json().await.unwrap();
    assert_eq!(body["payment"], json!({ "cost_rao": PRICE, "transaction": hash }));
    let proven: Proven = serde_json::from_value(body).unwrap();
    let state_root = Hash::from_hex(before[1].as_str().unwrap()).unwrap();
    ledger::verify(&state_root, &proven.key, proven.value.as_deref(), &proven.proof).unwrap();

    let again = refused(pay(&node, &base64(&payment(&extrinsic))).await, StatusCode::PAYMENT_REQUIRED, "payment_invalid").await;
    assert!(again.contains("already used"), "{again}");
    assert_eq!(node.submitted.lock().unwrap().len(), 1, "a replay is never submitted");
    assert_eq!(root(&node).await, before, "payments never move the ledger");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_payments_are_refused_with_their_codes() {
    let node = start(true).await;
    let before = root(&node).await;

    let elsewhere = payment(&transfer(account(&dev::charlie()), PRICE.into()));
    let message = refused(pay(&node, &base64(&elsewhere)).await, StatusCode::PAYMENT_REQUIRED, "payment_invalid").await;
    assert!(message.contains("not to the payee"), "{message}");
    let short = payment(&transfer(payee(), u128::from(PRICE) - 1));
    let message = refused(pay(&node, &base64(&short)).await, StatusCode::PAYMENT_REQUIRED, "payment_invalid").await;
    assert!(message.contains("less than"), "{message}");
    let immortal = payment(&immortal_transfer(payee(), PRICE.into()));
    let message = refused(pay(&node, &base64(&immortal)).await, StatusCode::PAYMENT_REQUIRED, "payment_invalid").await;
    assert!(message.contains("immortal"), "{message}");
    let expired = payment(&expired_transfer(payee(), PRICE.into()));
    let message = refused(pay(&node, &base64(&expired)).await, StatusCode::PAYMENT_REQUIRED, "payment_invalid").await;
    assert!(message.contains("era ended"), "{message}");
    let mut other_network = payment(&transfer(payee(), PRICE.into()));
    other_network["accepted"]["network"] = json!("bittensor:test");
    refused(pay(&node, &base64(&other_network)).await, StatusCode::PAYMENT_REQUIRED, "payment_invalid").await;

    let mut wrong_hash = payment(&transfer(payee(), PRICE.into()));
    wrong_hash["payload"]["extrinsicHash"] = json!(format!("0x{}", "00".repeat(32)));
    let mut not_hex = payment(&transfer(payee(), PRICE.into()));
    not_hex["payload"]["signedExtrinsic"] = json!("0xzz");
    let mut bad_from = payment(&transfer(payee(), PRICE.into()));
    bad_from["payload"]["from"] = json!("alice");
    for malformed in ["not base64!".to_owned(), base64::engine::general_purpose::STANDARD.encode("{"), base64(&json!({ "payload": {} })), base64(&wrong_hash), base64(&not_hex), base64(&bad_from)] {
        refused(pay(&node, &malformed).await, StatusCode::BAD_REQUEST, "bad_payment").await;
    }

    assert!(node.submitted.lock().unwrap().is_empty(), "nothing refused is submitted");
    assert_eq!(root(&node).await, before, "payments never move the ledger");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_answer_is_not_sent_when_settlement_fails() {
    let node = start(false).await;
    let extrinsic = transfer(payee(), PRICE.into());
    let message = refused(pay(&node, &base64(&payment(&extrinsic))).await, StatusCode::PAYMENT_REQUIRED, "settlement_failed").await;
    assert!(message.contains("settlement failed"), "{message}");
    assert_eq!(*node.submitted.lock().unwrap(), vec![extrinsic.clone()]);
    let again = refused(pay(&node, &base64(&payment(&extrinsic))).await, StatusCode::PAYMENT_REQUIRED, "payment_invalid").await;
    assert!(again.contains("already used"), "{again}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_exact_payment_pays_an_orchestration_whose_budget_is_what_it_carries_beyond_the_fee() {
    let desearch = SubnetServer::start(SubnetKind::Desearch).await;
    let node = start_orchestrating(true, Some(&desearch), &funded()).await;
    let request = json!({ "objective": "Find recent arxiv papers on mixture of experts", "target_schema": { "papers": [{ "title": "str" }] } });
    let orchestrate = |header: String| Client::new().post(format!("{}/v1/orchestrate", node.base)).header("PAYMENT-SIGNATURE", header).json(&request).send();

    let short = transfer(payee(), (ORCHESTRATE_FEE - 1).into());
    let message = refused(orchestrate(base64(&payment(&short))).await.unwrap(), StatusCode::PAYMENT_REQUIRED, "payment_invalid").await;
    assert!(message.contains(&ORCHESTRATE_FEE.to_string()), "{message}");
    assert_eq!(desearch.request_count(), 0, "nothing runs unpaid");

    let carried = ORCHESTRATE_FEE + 5_000_000;
    let extrinsic = transfer(payee(), carried.into());
    let paid = orchestrate(base64(&payment(&extrinsic))).await.unwrap();
    assert_eq!(paid.status(), StatusCode::OK);
    assert!(header(&paid, "payment-response").is_some(), "the settled transfer's receipt");
    let body: Value = paid.json().await.unwrap();
    assert_eq!(body["cost"]["budget_rao"], carried - ORCHESTRATE_FEE);
    assert_eq!(body["cost"]["fee_rao"], ORCHESTRATE_FEE);
    assert!(!body["result"]["papers"].as_array().unwrap().is_empty());
    assert_eq!(*node.submitted.lock().unwrap(), vec![extrinsic], "exactly the paying extrinsic is settled");
}

/// A payer whose account cannot cover the transfer, or whose nonce is spent, is refused before
/// anything is submitted or answered, and the refused extrinsic stays usable.
#[tokio::test(flavor = "multi_thread")]
async fn an_unfunded_or_stale_payment_is_refused_before_any_work() {
    let alice = account(&dev::alice());
    for (accounts, expected) in [(vec![(alice, 0, PRICE - 1)], "free balance"), (vec![(alice, 1, 1_000 * PRICE)], "already used"), (vec![], "free balance")] {
        let node = start_orchestrating(true, None, &accounts).await;
        let before = root(&node).await;
        let extrinsic = transfer(payee(), PRICE.into());
        let message = refused(pay(&node, &base64(&payment(&extrinsic))).await, StatusCode::PAYMENT_REQUIRED, "payment_invalid").await;
        assert!(message.contains(expected), "{accounts:?}: {message}");
        assert!(node.submitted.lock().unwrap().is_empty(), "nothing is submitted for an unfunded payment");
        assert_eq!(root(&node).await, before);
        // Refused before it was recorded: the same extrinsic is refused for the same reason
        // again, not as a replay.
        let again = refused(pay(&node, &base64(&payment(&extrinsic))).await, StatusCode::PAYMENT_REQUIRED, "payment_invalid").await;
        assert!(again.contains(expected), "{again}");
    }
}

/// An orchestration paid by `exact` is settled before its first subnet call; what it does not
/// spend is the payer's credit, spent by requests its hotkey signs, each signature once.
#[tokio::test(flavor = "multi_thread")]
async fn an_orchestration_is_paid_before_it_runs_and_its_rest_is_the_payers_credit() {
    assert_eq!(account(&payer_keypair()).to_string(), payer_hotkey().ss58(), "one key, as a wallet and as a hotkey");
    let desearch = SubnetServer::start(SubnetKind::Desearch).await;
    let request = json!({ "objective": "Find recent arxiv papers on mixture of experts", "target_schema": { "papers": [{ "title": "str" }] } });
    let carried = ORCHESTRATE_FEE + 5_000_000;
    let extrinsic = transfer_by(&payer_keypair(), payee(), carried.into());
    let header = base64(&payment_by(&extrinsic, &account(&payer_keypair())));

    let unsettled = start_orchestrating(false, Some(&desearch), &funded()).await;
    let response = Client::new().post(format!("{}/v1/orchestrate", unsettled.base)).header("PAYMENT-SIGNATURE", header.clone()).json(&request).send().await.unwrap();
    refused(response, StatusCode::PAYMENT_REQUIRED, "settlement_failed").await;
    assert_eq!(desearch.request_count(), 0, "no subnet is called before the payment is final");

    let node = start_orchestrating(true, Some(&desearch), &funded()).await;
    let response = Client::new().post(format!("{}/v1/orchestrate", node.base)).header("PAYMENT-SIGNATURE", header).json(&request).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    let payment = &body["payment"];
    assert_eq!(payment["credit_of"], payer_hotkey().ss58());
    assert_eq!(payment["paid_rao"], carried);
    let cost = payment["cost_rao"].as_u64().unwrap();
    assert_eq!(cost, body["cost"]["total_rao"].as_u64().unwrap(), "charged what the run cost");
    let credit = payment["balance_rao"].as_u64().unwrap();
    assert_eq!(credit, carried - cost, "the rest is the payer's");

    // Addressed to the node (its receipts' hotkey): a signature for another node is refused.
    let node_hotkey = ledger::hotkey::Hotkey::from_seed(&[3; 32]).unwrap().ss58();
    let request = hotkey_payment_body(PATH, b"");
    let elsewhere = subnet::epistula::sign(&payer_hotkey(), &request, None, now_ms());
    let signed = subnet::epistula::sign(&payer_hotkey(), &request, Some(&node_hotkey), now_ms());
    let read = |signed: &Vec<(&'static str, String)>| {
        let mut request = Client::new().get(format!("{}{PATH}", node.base)).header("authorization", "Hotkey");
        for (name, value) in signed {
            request = request.header(*name, value);
        }
        request.send()
    };
    let spent = read(&signed).await.unwrap();
    assert_eq!(spent.status(), StatusCode::OK);
    let spent: Value = spent.json().await.unwrap();
    assert_eq!(spent["payment"]["balance_rao"], credit - PRICE, "a read spends the credit");
    refused(read(&signed).await.unwrap(), StatusCode::UNAUTHORIZED, "replayed_request").await;
    // The credit's account name is not an API key: naming it as one spends nothing.
    let named = Client::new().get(format!("{}{PATH}", node.base)).bearer_auth(ledger::hotkey_account(&payer_hotkey().ss58())).send().await.unwrap();
    refused(named, StatusCode::UNAUTHORIZED, "unknown_api_key").await;
    let after = read(&subnet::epistula::sign(&payer_hotkey(), &request, Some(&node_hotkey), now_ms())).await.unwrap().json::<Value>().await.unwrap();
    assert_eq!(after["payment"]["balance_rao"], credit - 2 * PRICE, "only the hotkey's own signed reads spent it");
    refused(read(&elsewhere).await.unwrap(), StatusCode::UNAUTHORIZED, "bad_signature").await;
    // A signature buys the request it was made for: one made for another read, or for an
    // orchestration, spends nothing here.
    for other in [hotkey_payment_body("/v1/entries/sn13/identity", b""), hotkey_payment_body("/v1/orchestrate", b""), Vec::new()] {
        refused(read(&subnet::epistula::sign(&payer_hotkey(), &other, Some(&node_hotkey), now_ms())).await.unwrap(), StatusCode::UNAUTHORIZED, "bad_signature").await;
    }
    let stranger = subnet::epistula::sign(&ledger::hotkey::Hotkey::from_seed(&[43; 32]).unwrap(), &request, Some(&node_hotkey), now_ms());
    refused(read(&stranger).await.unwrap(), StatusCode::UNAUTHORIZED, "unknown_api_key").await;
    let left = read(&subnet::epistula::sign(&payer_hotkey(), &request, Some(&node_hotkey), now_ms())).await.unwrap().json::<Value>().await.unwrap();
    assert_eq!(left["payment"]["balance_rao"], credit - 3 * PRICE, "the refused signatures spent nothing");
}

/// A settled read's answer is kept under its extrinsic's hash, for a client that lost it.
#[tokio::test(flavor = "multi_thread")]
async fn a_settled_reads_answer_can_be_fetched_again() {
    let node = start(true).await;
    let extrinsic = transfer(payee(), PRICE.into());
    let hash = format!("0x{}", hex::encode(extrinsic_hash(&extrinsic).0));
    let paid: Value = pay(&node, &base64(&payment(&extrinsic))).await.json().await.unwrap();
    let fetched: Value = Client::new().get(format!("{}/v1/payments/{hash}", node.base)).send().await.unwrap().json().await.unwrap();
    assert_eq!(fetched, paid);
    let unknown = Client::new().get(format!("{}/v1/payments/0x{}", node.base, "11".repeat(32))).send().await.unwrap();
    refused(unknown, StatusCode::NOT_FOUND, "unknown_payment").await;
}

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64
}
