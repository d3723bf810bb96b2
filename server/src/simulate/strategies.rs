//! The miners of a simulation: a real node each, and for the cheats an axon in front of it that
//! changes what the node would answer and signs the change with the miner's hotkey, as a real
//! cheat would (see the parent module for the terms).

use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse as _;
use base64::Engine as _;
use ledger::hotkey::Hotkey;
use ledger::Ledger;
use orchestrator::credentials::Credentials;
use orchestrator::orchestrate::{Config, Orchestrator};
use orchestrator::outbound::Policy;
use orchestrator::receipts::{body_hash, Call, Nonce, ReceiptBundle, ReceiptChain};
use serde_json::{json, Value};
use subnet::epistula;
use testkit::SubnetServer;

use crate::api::miner::MinerAccess;
use crate::api::paid::Pricing;
use crate::api::proposers::ProposerGate;
use crate::api::{router, AppState};

/// How a miner answers the validator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Strategy {
    /// Real orchestrations, as the node makes them.
    Honest,
    /// The node's answer with every string of the result replaced by a placeholder.
    Filler,
    /// The answer to its first challenge, sent again for every later one, re-sealed for the
    /// new nonce with fresh call times.
    Replayer,
    /// The node's answer claiming its calls cost 60% of what they did, re-sealed.
    CostLiar,
    /// Answers from subnets that invent their links, shown as requests to the subnets
    /// themselves (re-sealed), so that receipts, citations and costs all agree.
    Fabricator,
    /// Each challenge sent on to the honest miner as a paying customer, under a nonce of its
    /// own, and the answer re-sealed for the validator's nonce and signed as the copier's own.
    Copier,
    /// No orchestration; before every round, a signed diff claiming every Desearch endpoint
    /// degraded, proposed to the ledger node.
    HealthSpammer,
}

impl Strategy {
    pub const ALL: [Strategy; 7] =
        [Strategy::Honest, Strategy::Filler, Strategy::Replayer, Strategy::CostLiar, Strategy::Fabricator, Strategy::Copier, Strategy::HealthSpammer];

    pub fn name(self) -> &'static str {
        match self {
            Strategy::Honest => "honest",
            Strategy::Filler => "filler",
            Strategy::Replayer => "replayer",
            Strategy::CostLiar => "cost_liar",
            Strategy::Fabricator => "fabricator",
            Strategy::Copier => "copier",
            Strategy::HealthSpammer => "health_spammer",
        }
    }
}

/// Serves `app` on a loopback port, for as long as the runtime runs; its port.
pub async fn serve(app: axum::Router) -> std::io::Result<u16> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(port)
}

/// The keys a simulation's nodes and validator call the loopback subnets with.
pub fn credentials() -> Credentials {
    use testkit::{expected_key, SubnetKind};
    Credentials::default().with_key(22, expected_key(SubnetKind::Desearch), ["127.0.0.1"]).with_key(13, expected_key(SubnetKind::DataUniverse), ["127.0.0.1"])
}

/// A miner's node: its ledger (`ledger`, in `dir`), answering `validator`'s signed challenges
/// free and anyone else for `fee_rao`, proposing its health diffs to `primary` (its own ledger
/// when `None`), and taking proposals itself when given a `gate`.
pub struct NodeSpec {
    pub hotkey: Hotkey,
    pub validator: String,
    pub primary: Option<String>,
    pub gate: Option<Arc<ProposerGate>>,
    pub fee_rao: u64,
}

pub async fn node(spec: NodeSpec, ledger: Ledger) -> Result<u16, String> {
    let orchestrator = Orchestrator::new(credentials(), spec.hotkey.clone(), Config { outbound: Policy::loopback(), ..Config::default() }).map_err(|error| error.to_string())?;
    let access = Arc::new(MinerAccess::new(spec.hotkey, BTreeSet::from([spec.validator])).proposing_to(spec.primary));
    let mut state = AppState::new(ledger, Pricing { orchestrate_fee_rao: spec.fee_rao, ..Pricing::default() }).with_orchestrator(orchestrator).with_miner(access);
    if let Some(gate) = spec.gate {
        state = state.with_proposers(gate);
    }
    serve(router(state)).await.map_err(|error| error.to_string())
}

type Answering = Pin<Box<dyn Future<Output = Result<Value, String>> + Send>>;

/// What a cheat's axon does with a challenge (its headers and body): the answer it will sign.
pub type Answer = Arc<dyn Fn(HeaderMap, Bytes) -> Answering + Send + Sync>;

/// `respond` as an [`Answer`].
pub fn answer<Respond, Answered>(respond: Respond) -> Answer
where
    Respond: Fn(HeaderMap, Bytes) -> Answered + Send + Sync + 'static,
    Answered: Future<Output = Result<Value, String>> + Send + 'static,
{
    Arc::new(move |headers, body| Box::pin(respond(headers, body)))
}

/// A cheat's axon: answers each challenge with `answer`, signed by `hotkey` for the validator
/// that signed the challenge.
pub async fn axon(hotkey: Hotkey, answer: Answer) -> Result<u16, String> {
    let hotkey = Arc::new(hotkey);
    let app = axum::Router::new().route(
        "/v1/orchestrate",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let (hotkey, answer) = (hotkey.clone(), answer.clone());
            async move {
                let validator = headers.get(epistula::SIGNED_BY_HEADER).and_then(|value| value.to_str().ok()).map(str::to_owned);
                let (status, bytes) = match answer(headers, body).await {
                    Ok(answer) => (StatusCode::OK, answer.to_string()),
                    Err(reason) => (StatusCode::SERVICE_UNAVAILABLE, json!({ "error": { "code": "unavailable", "message": reason } }).to_string()),
                };
                let mut response = axum::response::Response::new(axum::body::Body::from(bytes.clone()));
                *response.status_mut() = status;
                for (name, value) in epistula::sign(&hotkey, bytes.as_bytes(), validator.as_deref(), now_ms()) {
                    if let Ok(value) = value.parse() {
                        response.headers_mut().insert(name, value);
                    }
                }
                response
            }
        }),
    );
    serve(app).await.map_err(|error| error.to_string())
}

/// Sends a challenge on to the node at `port` as it came (the validator's signed headers), the
/// node's answer.
pub async fn forward(port: u16, headers: &HeaderMap, body: Bytes) -> Result<Value, String> {
    let mut request = reqwest::Client::new().post(format!("http://127.0.0.1:{port}/v1/orchestrate")).body(body.to_vec());
    for (name, value) in headers {
        request = request.header(name.as_str(), value.as_bytes());
    }
    let answer = request.send().await.map_err(|error| error.to_string())?;
    answer.json().await.map_err(|error| error.to_string())
}

/// Re-seals `answer`'s receipts with `hotkey` under `nonce` (the bundle's own when `None`),
/// each call first changed by `change`, and makes the answer's reported costs agree with them.
pub fn reseal(answer: &mut Value, hotkey: &Hotkey, nonce: Option<Nonce>, mut change: impl FnMut(u64, &mut Call)) -> Result<(), String> {
    let bundle: ReceiptBundle = serde_json::from_value(answer["receipts"].clone()).map_err(|error| error.to_string())?;
    let mut chain = ReceiptChain::new(nonce.unwrap_or(bundle.nonce));
    for (position, receipt) in bundle.receipts.into_iter().enumerate() {
        let mut call = receipt.call;
        change(receipt.index, &mut call);
        if let Some(reported) = answer["calls"].get_mut(position) {
            reported["cost_rao"] = call.cost_rao.into();
        }
        chain.push(call);
    }
    let bundle = chain.seal(hotkey);
    answer["cost"]["subnet_calls_rao"] = bundle.receipts.iter().map(|receipt| receipt.call.cost_rao).sum::<u64>().into();
    answer["receipts"] = serde_json::to_value(bundle).map_err(|error| error.to_string())?;
    Ok(())
}

/// The filler's change: every string of the result a placeholder.
pub fn fill(value: &mut Value) {
    match value {
        Value::String(text) => *text = "No evidence was found.".into(),
        Value::Array(elements) => elements.iter_mut().for_each(fill),
        Value::Object(members) => members.values_mut().for_each(fill),
        _ => {}
    }
}

/// The replayer's answer: the first challenge's answer from the node at `port`, and every later
/// challenge the same answer re-sealed for its nonce with calls started now.
pub fn replaying(port: u16, hotkey: Hotkey) -> Answer {
    let cached: Arc<Mutex<Option<Value>>> = Arc::new(Mutex::new(None));
    answer(move |headers, body| {
        let (cached, hotkey) = (cached.clone(), hotkey.clone());
        async move {
            let challenge: Value = serde_json::from_slice(&body).map_err(|error| error.to_string())?;
            let nonce: Nonce = serde_json::from_value(challenge["nonce"].clone()).map_err(|error| error.to_string())?;
            let earlier = cached.lock().map_err(|_| "the cache lock".to_owned())?.clone();
            match earlier {
                Some(mut answer) => {
                    let now = now_ms();
                    reseal(&mut answer, &hotkey, Some(nonce), |_, call| call.started_ms = now)?;
                    Ok(answer)
                }
                None => {
                    let answer = forward(port, &headers, body).await?;
                    *cached.lock().map_err(|_| "the cache lock".to_owned())? = Some(answer.clone());
                    Ok(answer)
                }
            }
        }
    })
}

/// The copier's answer: the challenge asked of the honest node at `honest` as a customer with
/// `api_key` under a fresh nonce (so that nothing the honest node sees names the validator's),
/// re-sealed as `hotkey`'s for the validator's nonce.
pub fn copying(honest: String, api_key: String, hotkey: Hotkey) -> Answer {
    answer(move |_, body| {
        let (honest, api_key, hotkey) = (honest.clone(), api_key.clone(), hotkey.clone());
        async move {
            let challenge: Value = serde_json::from_slice(&body).map_err(|error| error.to_string())?;
            let nonce: Nonce = serde_json::from_value(challenge["nonce"].clone()).map_err(|error| error.to_string())?;
            let asked = json!({
                "objective": challenge["objective"],
                "target_schema": challenge["target_schema"],
                "nonce": Nonce(rand::random()),
                "deadline_ms": challenge["deadline_ms"],
                "include_evidence": true,
            });
            let response = reqwest::Client::new().post(format!("{honest}/v1/orchestrate")).bearer_auth(&api_key).json(&asked).send().await.map_err(|error| error.to_string())?;
            let mut answer: Value = response.json().await.map_err(|error| error.to_string())?;
            reseal(&mut answer, &hotkey, Some(nonce), |_, _| {})?;
            Ok(answer)
        }
    })
}

/// A subnet in front of its real server that invents its links, and where it is.
#[derive(Clone)]
pub struct Inventing {
    /// The inventing subnet's base URL.
    pub base_url: String,
    /// The real subnet's base URL.
    pub real: String,
}

/// The fabricator's answer: the node's (which calls subnets inventing their links), its
/// requests shown as sent to the real subnets and re-sealed.
pub fn disguising(port: u16, hotkey: Hotkey, inventing: Vec<Inventing>) -> Answer {
    answer(move |headers, body| {
        let (hotkey, inventing) = (hotkey.clone(), inventing.clone());
        async move {
            let mut answer = forward(port, &headers, body).await?;
            let base64 = base64::engine::general_purpose::STANDARD;
            let mut shown = std::collections::BTreeMap::new();
            for given in answer["evidence"].as_array_mut().into_iter().flatten() {
                let sent = base64.decode(given["request"].as_str().unwrap_or_default()).map_err(|error| error.to_string())?;
                let request = inventing.iter().fold(String::from_utf8_lossy(&sent).into_owned(), |request, subnet| request.replace(&subnet.base_url, &subnet.real));
                given["request"] = base64.encode(&request).into();
                shown.insert(given["receipt"].as_u64().unwrap_or(u64::MAX), body_hash(request.as_bytes()));
            }
            reseal(&mut answer, &hotkey, None, |index, call| call.request_hash = shown.get(&index).copied().unwrap_or(call.request_hash))?;
            Ok(answer)
        }
    })
}

/// A subnet in front of `real` that invents its links: every `link`, `url` or `uri` it passes
/// on names a page the subnet never returned. It speaks to `real` as the real subnet demands
/// (HTTP/2 for Data Universe).
pub async fn inventing(real: &SubnetServer) -> Result<Inventing, String> {
    fn invent(value: &mut Value) {
        match value {
            Value::Object(members) => {
                for (name, member) in members.iter_mut() {
                    match member {
                        Value::String(link) if ["link", "url", "uri"].contains(&name.as_str()) => link.push_str("-v2"),
                        other => invent(other),
                    }
                }
            }
            Value::Array(elements) => elements.iter_mut().for_each(invent),
            _ => {}
        }
    }
    let client = match real.kind() {
        testkit::SubnetKind::DataUniverse => reqwest::Client::builder().http2_prior_knowledge().build(),
        _ => reqwest::Client::builder().build(),
    }
    .map_err(|error| error.to_string())?;
    let upstream = real.base_url();
    let app = axum::Router::new().fallback(move |method: axum::http::Method, uri: axum::http::Uri, headers: HeaderMap, body: Bytes| {
        let (client, upstream) = (client.clone(), upstream.clone());
        async move {
            let mut forwarded = client.request(method, format!("{upstream}{uri}")).body(body.to_vec());
            for (name, value) in &headers {
                if name != axum::http::header::HOST {
                    forwarded = forwarded.header(name.as_str(), value.as_bytes());
                }
            }
            let Ok(answer) = forwarded.send().await else { return StatusCode::BAD_GATEWAY.into_response() };
            let (status, passed) = (answer.status(), answer.headers().clone());
            let Ok(mut body) = answer.json::<Value>().await else { return StatusCode::BAD_GATEWAY.into_response() };
            invent(&mut body);
            let mut response = axum::response::Response::new(axum::body::Body::from(body.to_string()));
            *response.status_mut() = StatusCode::from_u16(status.as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
            for (name, value) in &passed {
                if name.as_str().starts_with("x-") || name == "content-type" {
                    response.headers_mut().insert(name.clone(), value.clone());
                }
            }
            response
        }
    });
    let base_url = format!("http://127.0.0.1:{}", serve(app).await.map_err(|error| error.to_string())?);
    Ok(Inventing { base_url, real: real.base_url() })
}

pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |since| since.as_millis() as u64)
}
