//! A client of an Orchestra node's `POST /v1/orchestrate`.
//!
//! ```no_run
//! # async fn example() -> Result<(), orchestra_client::ClientError> {
//! use orchestra_client::Client;
//! let client = Client::new("http://127.0.0.1:8080", "ok_...");
//! let schema = serde_json::json!({"papers": [{"title": "str", "url": "str"}]});
//! let answer = client.execute("Find recent arxiv papers on mixture of experts", schema).await?;
//! println!("{}", answer.result["papers"][0]["title"]);
//! # Ok(()) }
//! ```
//!
//! The client does not take the node's word for its answer: it sends a fresh challenge nonce
//! with every request and checks that the receipts answer that nonce, link up, commit to the
//! stated root and carry the node's signature ([`orchestrator::receipts::verify`]), and that
//! the result validates against the target schema. Asked to (`include_evidence`), it checks
//! every citation of a cited result against the response bodies the node sends, each body
//! and its cost headers against its receipt's hashes ([`orchestrator::provenance::check`], docs/SPEC.md §18). An answer
//! that fails a check is an error, never a result.

use orchestrator::execute::trace::{CallRecord, Timings};
use orchestrator::execute::SkippedTask;
use orchestrator::orchestrate::EvidenceBody;
use orchestrator::plan::Plan;
use orchestrator::provenance::{self, Provenance, ProvenanceError};
use orchestrator::receipts::{self, body_hash, cost_evidence_hash, Nonce, ReceiptBundle, ReceiptError};
use orchestrator::schema::{SchemaError, TargetSchema, Violation};
use orchestrator::synthesis::Report;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What one orchestration cost, in rao.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Cost {
    pub subnet_calls_rao: u64,
    pub fee_rao: u64,
    pub total_rao: u64,
    #[serde(default)]
    pub budget_rao: Option<u64>,
    /// The TAO price dollar prices were converted at, and where it came from.
    pub tao_price: TaoPrice,
}

/// A TAO price and its source: a feed and when it was read, or the node's static price and why.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct TaoPrice {
    pub usd: f64,
    pub source: String,
}

/// A checked answer.
#[derive(Clone, Debug, Deserialize)]
pub struct Answer {
    /// The document, valid against the target schema.
    pub result: Value,
    pub plan: Plan,
    pub calls: Vec<CallRecord>,
    pub receipts: ReceiptBundle,
    pub cost: Cost,
    pub timings: Timings,
    pub synthesis: Report,
    /// Every value's citation (docs/SPEC.md §18).
    #[serde(default)]
    pub provenance: Option<Provenance>,
    /// The response bodies the citations point into, when the request asked for them.
    #[serde(default)]
    pub evidence: Option<Vec<EvidenceBody>>,
    /// Supplementary tasks that failed: the result was written without them.
    #[serde(default)]
    pub skipped_tasks: Vec<SkippedTask>,
    pub ledger_version: u64,
    /// What was paid and what is left, as the node reports it.
    #[serde(default)]
    pub payment: Option<Value>,
}

/// An orchestration request; [`Client::execute`] fills in everything but the objective and
/// the schema.
#[derive(Clone, Debug, Serialize)]
pub struct Request {
    pub objective: String,
    pub target_schema: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub budget_rao: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deadline_ms: Option<u64>,
    /// Whether to ask for the response bodies and check the result's citations against them.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub include_evidence: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("the target schema is refused: {0}")]
    Schema(#[from] SchemaError),
    #[error("cannot reach the node at {url}: {reason}")]
    Unreachable { url: String, reason: String },
    /// The node answered with an error; `details` holds what it did first, if anything.
    #[error("the node answered {status} {code}: {message}")]
    Api { status: u16, code: String, message: String, details: Option<Value> },
    #[error("the node's answer is not an orchestration answer: {0}")]
    Malformed(String),
    #[error("the answer's receipts do not verify: {0}")]
    Receipts(#[from] ReceiptError),
    #[error("the answer's result does not validate against the target schema: {}", .0.iter().map(Violation::to_string).collect::<Vec<_>>().join("; "))]
    ResultInvalid(Vec<Violation>),
    /// A body the answer gives does not hash to its receipt, or is missing where asked for.
    #[error("the answer's evidence does not match its receipts: {0}")]
    Evidence(String),
    #[error("the result's citations do not hold: {0}")]
    Provenance(#[from] ProvenanceError),
}

/// A node's URL and the API key that pays for its answers.
#[derive(Clone, Debug)]
pub struct Client {
    base_url: String,
    api_key: Option<String>,
    http: reqwest::Client,
}

#[derive(Serialize)]
struct Wire<'a> {
    #[serde(flatten)]
    request: &'a Request,
    nonce: Nonce,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorFields,
}

#[derive(Deserialize)]
struct ErrorFields {
    code: String,
    message: String,
    #[serde(default)]
    details: Option<Value>,
}

impl Client {
    pub fn new(base_url: impl Into<String>, api_key: impl Into<String>) -> Client {
        Client { api_key: Some(api_key.into()), ..Client::without_key(base_url) }
    }

    /// A client of a node that does not charge.
    pub fn without_key(base_url: impl Into<String>) -> Client {
        let base_url = base_url.into().trim_end_matches('/').to_owned();
        Client { base_url, api_key: None, http: reqwest::Client::new() }
    }

    /// Runs `objective` into `target_schema` (full JSON Schema or the compact form).
    pub async fn execute(&self, objective: &str, target_schema: Value) -> Result<Answer, ClientError> {
        self.run(&Request { objective: objective.to_owned(), target_schema, budget_rao: None, deadline_ms: None, include_evidence: false }).await
    }

    /// Runs `request` and checks the answer as the crate documentation says.
    pub async fn run(&self, request: &Request) -> Result<Answer, ClientError> {
        let schema = TargetSchema::parse(request.target_schema.clone())?;
        let mut nonce = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut nonce);
        let nonce = Nonce(nonce);
        let url = format!("{}/v1/orchestrate", self.base_url);
        let mut http_request = self.http.post(&url).json(&Wire { request, nonce });
        if let Some(api_key) = &self.api_key {
            http_request = http_request.bearer_auth(api_key);
        }
        let unreachable = |error: reqwest::Error| ClientError::Unreachable { url: url.clone(), reason: error.to_string() };
        let response = http_request.send().await.map_err(unreachable)?;
        let status = response.status();
        let body = response.bytes().await.map_err(unreachable)?;
        if !status.is_success() {
            let ErrorBody { error } = serde_json::from_slice(&body)
                .map_err(|_| ClientError::Malformed(format!("status {status} with a body that is not a JSON error: {}", String::from_utf8_lossy(&body))))?;
            return Err(ClientError::Api { status: status.as_u16(), code: error.code, message: error.message, details: error.details });
        }
        let answer: Answer = serde_json::from_slice(&body).map_err(|error| ClientError::Malformed(error.to_string()))?;
        receipts::verify(&answer.receipts, &nonce)?;
        schema.validate(&answer.result).map_err(ClientError::ResultInvalid)?;
        if let (Some(provenance), Some(evidence)) = (&answer.provenance, &answer.evidence) {
            provenance::check(&answer.result, provenance, &checked_bodies(&answer.receipts, evidence)?, &request.objective)?;
        } else if request.include_evidence && answer.provenance.is_some() {
            return Err(ClientError::Evidence("the cited result came without the bodies asked for".into()));
        }
        Ok(answer)
    }
}

/// The bodies by receipt index, each checked against its receipt's response hash.
fn checked_bodies(bundle: &ReceiptBundle, evidence: &[EvidenceBody]) -> Result<std::collections::BTreeMap<u64, Vec<u8>>, ClientError> {
    use base64::Engine as _;
    let mut bodies = std::collections::BTreeMap::new();
    for given in evidence {
        let body = base64::engine::general_purpose::STANDARD.decode(&given.base64).map_err(|error| ClientError::Evidence(format!("receipt {}'s body is not base64: {error}", given.receipt)))?;
        let receipt = bundle.receipts.get(given.receipt as usize).ok_or_else(|| ClientError::Evidence(format!("a body for receipt {}, which does not exist", given.receipt)))?;
        if body_hash(&body) != receipt.call.response_hash {
            return Err(ClientError::Evidence(format!("the body given for receipt {} does not hash to its response_hash", given.receipt)));
        }
        if cost_evidence_hash(&given.cost_headers) != receipt.call.cost_evidence_hash {
            return Err(ClientError::Evidence(format!("the cost headers given for receipt {} do not hash to its cost_evidence_hash", given.receipt)));
        }
        let request = base64::engine::general_purpose::STANDARD.decode(&given.request).map_err(|error| ClientError::Evidence(format!("receipt {}'s request is not base64: {error}", given.receipt)))?;
        if body_hash(&request) != receipt.call.request_hash {
            return Err(ClientError::Evidence(format!("the request given for receipt {} does not hash to its request_hash", given.receipt)));
        }
        bodies.insert(given.receipt, body);
    }
    Ok(bodies)
}
