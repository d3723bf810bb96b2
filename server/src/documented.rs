//! Documented exchanges: each routable endpoint of the genesis sources replayed against its
//! subnet's own documentation (`orchestra genesis check`).
//!
//! Terms:
//! - **documented exchange**: a file of `snapshots/documented/` holding what a subnet's
//!   documentation shows for one endpoint: the request example (method, path, query, body, the
//!   names it marks required, the names it lists without an example), the auth header, the
//!   answers (the submission's, then a job's polls'), and strings the evidence must contain.
//!   It is written from the documentation, never from the record it tests.
//! - **replay server**: a server on loopback serving one exchange, strict as a real API: it
//!   answers 422 to a request whose method or path differ, whose auth header is not the
//!   documented one, that lacks a required name, or that sends a query parameter or body member
//!   the documentation does not name or of another JSON type than its example's.
//! - **check**: one call of the endpoint through the real engine (the executor, its outbound
//!   guard, the record's invocation spec) against the replay server; it passes when no request
//!   was refused, the call gave evidence, and every expected string is in that evidence.
//!
//! Every endpoint with an invocation spec must have exactly one exchange, and every exchange
//! must name such an endpoint, so that a record cannot become routable untested.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use ledger::record::{Endpoint, Record, SubnetIdentity};
use ledger::{Change, ChangeSet, Key, Ledger, Namespace, Options};
use orchestrator::credentials::Credentials;
use orchestrator::execute::budget::TaoPrice;
use orchestrator::execute::retry::RetryPolicy;
use orchestrator::execute::{Context, LearnedCosts, Network, Session};
use orchestrator::invocation::{CallInput, SubnetResponse};
use orchestrator::outbound::{Guard, Policy};
use orchestrator::progress::Watcher;
use orchestrator::receipts::Nonce;
use orchestrator::route::Catalog;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::cli::CliError;

/// The key the replay servers expect and the checks send.
const KEY: &str = "documented-exchange-key";
/// The task a check asks when its exchange names none.
const DEFAULT_QUERY: &str = "How do Bittensor subnets reward their miners?";
/// Longest one check may take, polls included.
const CHECK_DEADLINE: Duration = Duration::from_secs(60);

/// One documented exchange, as its file holds it.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exchange {
    pub netuid: u16,
    pub endpoint: String,
    /// Where the documentation shows it.
    pub source: String,
    pub retrieved: String,
    pub auth: Option<DocumentedAuth>,
    pub request: DocumentedRequest,
    /// The submission's answer first, then a job's polls' (the last repeats).
    pub answers: Vec<DocumentedAnswer>,
    /// Strings the evidence must contain.
    pub finds: Vec<String>,
    /// The task to ask; a general question when absent.
    #[serde(default)]
    pub task: Option<DocumentedTask>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentedAuth {
    pub header: String,
    /// The header's value, `{key}` standing for the key.
    pub value: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentedRequest {
    pub method: String,
    pub path: String,
    #[serde(default)]
    pub query: serde_json::Map<String, Value>,
    #[serde(default)]
    pub body: Option<Value>,
    #[serde(default)]
    pub required: Vec<String>,
    /// Names the documentation lists without giving them in its example; any type.
    #[serde(default)]
    pub optional: Vec<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentedAnswer {
    pub status: u16,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    pub body: Value,
    /// For a poll: the path it must be sent to, when the documentation gives it.
    #[serde(default)]
    pub path: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentedTask {
    pub query: String,
    #[serde(default)]
    pub subject: Option<String>,
}

/// How one check went.
#[derive(Clone, Debug, Serialize)]
pub struct Outcome {
    pub netuid: u16,
    pub endpoint: String,
    /// The exchange's file name.
    pub file: String,
    pub passed: bool,
    /// Requests the replay server received.
    pub requests: usize,
    /// What went wrong, when it did not pass.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
}

/// What `orchestra genesis check` found.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub passed: usize,
    pub failed: usize,
    /// Endpoints with an invocation spec and no exchange, and exchanges naming no such endpoint.
    pub unpaired: Vec<String>,
    pub outcomes: Vec<Outcome>,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.failed == 0 && self.unpaired.is_empty()
    }
}

/// Checks every routable endpoint of the genesis sources in `sources` (see
/// [`ledger::genesis::read_sources`]) against the exchanges in `documented` (see the module
/// documentation).
pub async fn check(sources: &Path, documented: &Path) -> Result<Report, CliError> {
    let subnets = read_subnets(sources)?;
    let exchanges = read_exchanges(documented)?;
    let mut unpaired = Vec::new();
    for (netuid, (_, endpoints)) in &subnets {
        for endpoint in endpoints.iter().filter(|endpoint| endpoint.invocation.is_some()) {
            let paired = exchanges.iter().filter(|(_, exchange)| exchange.netuid == *netuid && exchange.endpoint == endpoint.name).count();
            if paired != 1 {
                unpaired.push(format!("SN{netuid} {} has an invocation spec and {paired} documented exchanges (it needs one)", endpoint.name));
            }
        }
    }
    let mut checks = Vec::new();
    for (file, exchange) in &exchanges {
        let found = subnets.get(&exchange.netuid).and_then(|(identity, endpoints)| {
            endpoints.iter().find(|endpoint| endpoint.name == exchange.endpoint && endpoint.invocation.is_some()).map(|endpoint| (identity, endpoint))
        });
        match found {
            Some((identity, endpoint)) => checks.push(check_one(file.clone(), identity.clone(), endpoint.clone(), exchange.clone())),
            None => unpaired.push(format!("{file} names SN{} {}, which has no invocation spec in the sources", exchange.netuid, exchange.endpoint)),
        }
    }
    let outcomes = futures::future::join_all(checks).await;
    let passed = outcomes.iter().filter(|outcome| outcome.passed).count();
    Ok(Report { passed, failed: outcomes.len() - passed, unpaired, outcomes })
}

type Subnets = BTreeMap<u16, (SubnetIdentity, Vec<Endpoint>)>;

/// Every subnet's identity and endpoints, through the same checks as the genesis build.
fn read_subnets(sources: &Path) -> Result<Subnets, CliError> {
    let mut subnets: BTreeMap<u16, (Option<SubnetIdentity>, Vec<Endpoint>)> = BTreeMap::new();
    for change in ledger::genesis::read_sources(sources)?.changes() {
        let Namespace::Subnet(netuid) = change.key.namespace else { continue };
        let Some(value) = change.value.as_deref() else { continue };
        let entry = subnets.entry(netuid).or_default();
        match Record::decode(&change.key, value)? {
            Record::Identity(identity) => entry.0 = Some(identity),
            Record::Endpoint(endpoint) => entry.1.push(endpoint),
            _ => {}
        }
    }
    Ok(subnets.into_iter().filter_map(|(netuid, (identity, endpoints))| Some((netuid, (identity?, endpoints)))).collect())
}

fn read_exchanges(dir: &Path) -> Result<Vec<(String, Exchange)>, CliError> {
    let read_error = |path: &Path, source| CliError::Read { path: path.display().to_string(), source };
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|source| read_error(dir, source))?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|extension| extension == "json"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let name = path.file_name().and_then(|name| name.to_str()).unwrap_or_default().to_owned();
            Ok((name, read_exchange(&path)?))
        })
        .collect()
}

/// What the replay server saw.
struct Replay {
    exchange: Exchange,
    received: AtomicUsize,
    refusals: Mutex<Vec<String>>,
}

/// A replay server on loopback (see the module documentation); it serves until the runtime
/// ends.
pub struct ReplayServer {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    replay: Arc<Replay>,
}

impl ReplayServer {
    /// Serves `exchange` on a loopback port.
    pub async fn start(exchange: Exchange) -> std::io::Result<ReplayServer> {
        let replay = Arc::new(Replay { exchange, received: AtomicUsize::new(0), refusals: Mutex::new(Vec::new()) });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let app = axum::Router::new().fallback(answer).with_state(replay.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(ReplayServer { base, replay })
    }

    /// How many requests it received.
    pub fn requests(&self) -> usize {
        self.replay.received.load(Ordering::SeqCst)
    }

    /// Why it refused the requests it refused.
    pub fn refusals(&self) -> Vec<String> {
        self.replay.refusals.lock().expect("refusals lock").clone()
    }
}

/// Reads one documented exchange.
pub fn read_exchange(path: &Path) -> Result<Exchange, CliError> {
    let name = path.file_name().and_then(|name| name.to_str()).unwrap_or_default().to_owned();
    let text = std::fs::read_to_string(path).map_err(|source| CliError::Read { path: path.display().to_string(), source })?;
    let exchange: Exchange = serde_json::from_str(&text).map_err(|source| CliError::Json { what: name.clone(), source })?;
    if exchange.answers.is_empty() {
        return Err(CliError::Usage(format!("{name}: a documented exchange needs at least one answer")));
    }
    Ok(exchange)
}

async fn check_one(file: String, identity: SubnetIdentity, endpoint: Endpoint, exchange: Exchange) -> Outcome {
    let (netuid, name) = (exchange.netuid, endpoint.name.clone());
    let outcome = |passed: bool, requests: usize, problems: Vec<String>| Outcome { netuid, endpoint: name.clone(), file: file.clone(), passed, requests, problems };
    let server = match ReplayServer::start(exchange.clone()).await {
        Ok(server) => server,
        Err(error) => return outcome(false, 0, vec![format!("cannot start a replay server: {error}")]),
    };
    let result = call(&server.base, netuid, identity, endpoint, &exchange).await;
    let requests = server.requests();
    let mut problems = server.refusals();
    match result {
        Ok(response) => problems.extend(missing_finds(&exchange.finds, &response)),
        Err(reason) => problems.push(reason),
    }
    if requests == 0 {
        problems.push("the engine sent no request".into());
    }
    outcome(problems.is_empty(), requests, problems)
}

/// Calls `endpoint`, repointed at `base`, through a session of the real executor.
async fn call(base: &str, netuid: u16, identity: SubnetIdentity, mut endpoint: Endpoint, exchange: &Exchange) -> Result<SubnetResponse, String> {
    endpoint.url = repoint(&endpoint.url, base);
    let dir = tempfile::tempdir().map_err(|error| error.to_string())?;
    let mut ledger = Ledger::create(dir.path(), Options::default()).map_err(|error| error.to_string())?;
    let namespace = Namespace::Subnet(netuid);
    let key = |path: String| Key::new(namespace, path).map_err(|error| error.to_string());
    let changes = vec![
        Change { key: key("identity".into())?, value: Some(Record::Identity(identity).encode()) },
        Change { key: key(format!("endpoint/{}", endpoint.name))?, value: Some(Record::Endpoint(endpoint.clone()).encode()) },
    ];
    ledger.commit(ChangeSet::new(changes)).map_err(|error| error.to_string())?;
    let catalog = Catalog::read(&ledger).map_err(|error| error.to_string())?;
    let credentials = Credentials::default().with_key(netuid, KEY, ["127.0.0.1"]);
    let guard = Guard::new(Policy::loopback()).map_err(|error| error.to_string())?;
    let network = Network::new(guard, RetryPolicy { attempts_per_route: 1, base: Duration::from_millis(1), cap: Duration::from_millis(1) });
    let learned = LearnedCosts::default();
    let context = Context { network: &network, credentials: &credentials, catalog: &catalog, tao_price: TaoPrice { usd_micros_per_tao: 400_000_000 }, learned: &learned };
    let session = Session::new(context, Nonce([0; 32]), CHECK_DEADLINE, None, Watcher::none());
    let task = exchange.task.clone().unwrap_or_else(|| DocumentedTask { query: DEFAULT_QUERY.into(), subject: None });
    let input = CallInput { query: &task.query, subject: task.subject.as_deref(), limit: 10, ..CallInput::default() };
    session.call_capability("documented", &endpoint.capability, &input).await.map_err(|error| error.to_string())
}

/// `url` with its scheme, host and port replaced by `base`'s.
pub fn repoint(url: &str, base: &str) -> String {
    let path_start = url.split_once("://").map_or(0, |(scheme, rest)| scheme.len() + 3 + rest.find('/').unwrap_or(rest.len()));
    format!("{base}{}", &url[path_start..])
}

/// The expected strings the evidence lacks, one problem each.
fn missing_finds(finds: &[String], response: &SubnetResponse) -> Vec<String> {
    let mut evidence: Vec<String> = response.text.iter().cloned().collect();
    for item in &response.items {
        evidence.extend([item.title.clone(), Some(item.text.clone()), item.url.clone(), item.author.clone()].into_iter().flatten());
        evidence.extend(item.numbers.values().map(ToString::to_string));
    }
    finds
        .iter()
        .filter(|wanted| !evidence.iter().any(|found| found.contains(wanted.as_str())))
        .map(|wanted| format!("the evidence does not contain {wanted:?}"))
        .collect()
}

/// The replay server's one handler: checks the request, then answers the next documented answer.
async fn answer(State(replay): State<Arc<Replay>>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let index = replay.received.fetch_add(1, Ordering::SeqCst);
    let exchange = &replay.exchange;
    // Every request is a submission, checked whole as the real API checks it, except the polls
    // that follow a job's submission.
    let polling = index > 0 && exchange.answers.len() > 1;
    let problems = if polling { poll_refusals(exchange, index, &uri, &headers) } else { refusals(exchange, &method, &uri, &headers, &body) };
    if !problems.is_empty() {
        let reason = format!("request {}: {}", index + 1, problems.join("; "));
        replay.refusals.lock().expect("refusals lock").push(reason.clone());
        return (StatusCode::UNPROCESSABLE_ENTITY, axum::Json(serde_json::json!({ "detail": reason }))).into_response();
    }
    let documented = &exchange.answers[index.min(exchange.answers.len() - 1)];
    let mut response = (StatusCode::from_u16(documented.status).unwrap_or(StatusCode::OK), axum::Json(documented.body.clone())).into_response();
    for (name, value) in &documented.headers {
        if let (Ok(name), Ok(value)) = (name.parse::<axum::http::HeaderName>(), value.parse()) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

fn auth_refusal(exchange: &Exchange, headers: &HeaderMap) -> Option<String> {
    let auth = exchange.auth.as_ref()?;
    let wanted = auth.value.replace("{key}", KEY);
    let sent = headers.get(&auth.header).and_then(|value| value.to_str().ok());
    (sent != Some(wanted.as_str())).then(|| format!("the {} header is not the documented `{}`", auth.header, auth.value))
}

fn poll_refusals(exchange: &Exchange, index: usize, uri: &Uri, headers: &HeaderMap) -> Vec<String> {
    let documented = &exchange.answers[index.min(exchange.answers.len() - 1)];
    let mut problems: Vec<String> = auth_refusal(exchange, headers).into_iter().collect();
    if let Some(path) = &documented.path {
        if uri.path() != path {
            problems.push(format!("polled {} where the documentation polls {path}", uri.path()));
        }
    }
    problems
}

/// Why the submission does not match the documented request (empty when it does).
fn refusals(exchange: &Exchange, method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Vec<String> {
    let documented = &exchange.request;
    let mut problems: Vec<String> = auth_refusal(exchange, headers).into_iter().collect();
    if !method.as_str().eq_ignore_ascii_case(&documented.method) {
        problems.push(format!("method {method} where the documentation uses {}", documented.method));
    }
    if uri.path() != documented.path {
        problems.push(format!("path {} where the documentation has {}", uri.path(), documented.path));
    }
    let query: Vec<(String, String)> = url_query(uri);
    for (name, value) in &query {
        match documented.query.get(name) {
            Some(example) if !text_fits(value, example) => problems.push(format!("query parameter {name}={value:?} is not of the documented type ({example})")),
            None if !documented.optional.contains(name) => problems.push(format!("query parameter {name} is not documented")),
            _ => {}
        }
    }
    let sent_body: Option<Value> = if body.is_empty() { None } else { serde_json::from_slice(body).ok() };
    if !body.is_empty() && sent_body.is_none() {
        problems.push("the body is not JSON".into());
    }
    match (&documented.body, &sent_body) {
        (Some(example), Some(sent)) => shape_refusals("", sent, example, &documented.optional, &mut problems),
        (None, Some(_)) => problems.push("a body where the documentation sends none".into()),
        _ => {}
    }
    for name in &documented.required {
        let in_query = query.iter().any(|(sent, _)| sent == name);
        let in_body = sent_body.as_ref().and_then(Value::as_object).is_some_and(|object| object.contains_key(name));
        if !in_query && !in_body {
            problems.push(format!("required {name} is missing"));
        }
    }
    problems
}

fn url_query(uri: &Uri) -> Vec<(String, String)> {
    let Some(query) = uri.query() else { return Vec::new() };
    reqwest::Url::parse(&format!("http://replay/?{query}")).map(|url| url.query_pairs().map(|(name, value)| (name.into_owned(), value.into_owned())).collect()).unwrap_or_default()
}

/// Whether a query parameter's text is of the documented example's type.
fn text_fits(text: &str, example: &Value) -> bool {
    match example {
        Value::Number(number) if number.is_f64() => text.parse::<f64>().is_ok(),
        Value::Number(_) => text.parse::<i64>().is_ok(),
        Value::Bool(_) => matches!(text, "true" | "false"),
        _ => true,
    }
}

/// Compares what was sent at `at` with the documented example, recursively.
fn shape_refusals(at: &str, sent: &Value, example: &Value, optional: &[String], problems: &mut Vec<String>) {
    match (sent, example) {
        (Value::Object(sent), Value::Object(example)) => {
            for (name, value) in sent {
                let here = format!("{at}/{name}");
                match example.get(name) {
                    Some(documented) => shape_refusals(&here, value, documented, optional, problems),
                    None if optional.contains(name) => {}
                    None => problems.push(format!("body member {here} is not documented")),
                }
            }
        }
        (Value::Array(sent), Value::Array(example)) => {
            if let Some(first) = example.first() {
                for (position, element) in sent.iter().enumerate() {
                    shape_refusals(&format!("{at}/{position}"), element, first, optional, problems);
                }
            }
        }
        (sent, example) if json_type(sent) != json_type(example) && !(json_type(sent) == "integer" && json_type(example) == "number") => {
            problems.push(format!("body member {at} is {} where the documentation has {}", json_type(sent), json_type(example)));
        }
        _ => {}
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(number) if number.is_f64() => "number",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}
