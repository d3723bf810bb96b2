//! Probes: the live check a validator makes of an endpoint record before attesting a diff that
//! writes it.
//!
//! Terms:
//! - **probe**: one request built from the record alone: its `example_input` sent as the JSON
//!   body of a POST, or for a GET as query parameters (one per top-level field: strings as they
//!   are, any other value as its JSON text), with the header the record's `auth` asks for and
//!   over the transport its invocation spec names (HTTP/2 only, Connect's header), as the engine
//!   sends real calls ([`invocation::example_request`]).
//! - **probe limit**: the shorter of the caller's timeout and the record's own `timeout_ms`, for
//!   the whole exchange: an endpoint that cannot answer within what its record promises fails.
//! - **latency**: from sending the request to having read the whole answer.
//! - **passing**: a 2xx answer, read within the probe limit and at most [`MAX_PROBE_BYTES`]
//!   long, that is JSON satisfying the record's `output_schema`, from which the record's
//!   invocation spec, when it has one, reads evidence (or for a job, the job's id) exactly as
//!   the engine will for real calls: a spec whose pointers miss the live answer fails here,
//!   before it is attested. A failing answer lists every schema violation, not only the first,
//!   so a proposer can fix its record at once.
//!
//! Probes go through the [outbound guard](orchestrator::outbound) like every call: the record's URL is a
//! miner's word, so it must be https to a public address, and the validator's key goes with it
//! only to a host the key is bound to. At most [`PROBES_IN_FLIGHT`] probes of one change set run
//! at once, so a diff of many endpoints costs time, not memory.

use std::time::{Duration, Instant};

use futures::stream::{self, StreamExt};
use ledger::record::{Endpoint, Record, RecordError, RecordKind};
use ledger::{ChangeSet, Key, Namespace};
use serde_json::Value;

use orchestrator::invocation::{self, Access, InvocationError};
use orchestrator::credentials::{Credentials, UnboundHost};
use orchestrator::outbound::{describe, excerpt, read_capped, BodyError, Guard, Refusal};
use orchestrator::schema::Violation;

/// Largest probe answer read: an example's answer is small, and probes of one diff run together.
pub const MAX_PROBE_BYTES: usize = 1 << 20;
/// Most probes of one change set in flight at once.
pub const PROBES_IN_FLIGHT: usize = 8;

/// A passing probe.
#[derive(Clone, Debug, PartialEq)]
pub struct ProbeReport {
    pub status: u16,
    pub latency_ms: u32,
    /// The answer, which satisfies the record's output schema.
    pub answer: Value,
}

/// Why a probe did not pass.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("endpoint {endpoint} has no example input to probe it with")]
    NoExampleInput { endpoint: String },
    #[error("endpoint {endpoint} is called with GET, so its example input must be an object (one query parameter per field)")]
    ExampleNotObject { endpoint: String },
    /// The record's auth cannot be satisfied: no key configured, or a scheme this node cannot sign.
    #[error(transparent)]
    Auth(#[from] InvocationError),
    #[error("endpoint {endpoint}'s output schema is not a JSON Schema this node can compile: {reason}")]
    InvalidOutputSchema { endpoint: String, reason: String },
    #[error("no answer from {url}: {reason}")]
    Transport { url: String, reason: String },
    #[error("no complete answer from {url} within {limit_ms} ms")]
    TimedOut { url: String, limit_ms: u64 },
    #[error("the answer from {url} is larger than {MAX_PROBE_BYTES} bytes")]
    TooLarge { url: String },
    #[error("{url} answered HTTP {status}: {excerpt}")]
    Status { url: String, status: u16, excerpt: String },
    #[error("the answer from {url} is not JSON: {reason}")]
    NotJson { url: String, reason: String },
    #[error("the answer from {url} does not satisfy the output schema: {}", list(violations))]
    Violations { url: String, violations: Vec<Violation> },
    #[error("the answer from {url} satisfies the output schema, but the record's invocation spec cannot read it: {reason}")]
    Unreadable { url: String, reason: String },
    /// A change writes bytes at an endpoint path that are not a valid endpoint record.
    #[error(transparent)]
    InvalidRecord(#[from] RecordError),
    /// The outbound guard refused the record's URL.
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// The node holds the subnet's key, but not for the record's host.
    #[error(transparent)]
    KeyNotBound(#[from] UnboundHost),
}

/// Probes subnet `netuid`'s `endpoint` (see the module documentation).
pub async fn probe(
    guard: &Guard,
    netuid: u16,
    endpoint: &Endpoint,
    credentials: &Credentials,
    timeout: Duration,
) -> Result<ProbeReport, ProbeError> {
    let example = endpoint.example_input.as_ref().ok_or_else(|| ProbeError::NoExampleInput { endpoint: endpoint.name.clone() })?;
    let access = Access { netuid, key: credentials.key_for(netuid, &endpoint.url)?, model: None };
    let request = invocation::example_request(endpoint, &example.0, &access)?.ok_or_else(|| ProbeError::ExampleNotObject { endpoint: endpoint.name.clone() })?;
    // Compiled before sending: a schema that cannot judge the answer makes the call pointless.
    let validator = jsonschema::validator_for(&endpoint.output_schema.0)
        .map_err(|error| ProbeError::InvalidOutputSchema { endpoint: endpoint.name.clone(), reason: error.to_string() })?;
    let request = request.prepare(guard)?;
    let url = &endpoint.url;
    let limit = timeout.min(Duration::from_millis(u64::from(endpoint.timeout_ms)));
    let started = Instant::now();
    let exchange = async {
        let response = request.send().await.map_err(|error| ProbeError::Transport { url: url.clone(), reason: describe(&error) })?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = read_capped(response, MAX_PROBE_BYTES).await.map_err(|error| match error {
            BodyError::TooLarge(_) => ProbeError::TooLarge { url: url.clone() },
            BodyError::Transport(reason) => ProbeError::Transport { url: url.clone(), reason },
        })?;
        Ok::<_, ProbeError>((status, headers, body))
    };
    let (status, headers, body) = tokio::time::timeout(limit, exchange)
        .await
        // The limit is at most the record's `u32` timeout, so its milliseconds fit.
        .map_err(|_| ProbeError::TimedOut { url: url.clone(), limit_ms: limit.as_millis() as u64 })??;
    let latency_ms = u32::try_from(started.elapsed().as_millis()).unwrap_or(u32::MAX);

    if !(200..300).contains(&status) {
        return Err(ProbeError::Status { url: url.clone(), status, excerpt: excerpt(&body) });
    }
    let answer: Value = serde_json::from_slice(&body).map_err(|error| ProbeError::NotJson { url: url.clone(), reason: error.to_string() })?;
    let violations: Vec<Violation> = validator
        .iter_errors(&answer)
        .map(|error| Violation { path: error.instance_path().as_str().to_owned(), message: error.to_string() })
        .collect();
    if !violations.is_empty() {
        return Err(ProbeError::Violations { url: url.clone(), violations });
    }
    if let Some(spec) = &endpoint.invocation {
        let read = match &spec.job {
            Some(job) => invocation::job_id(endpoint, job, &body).map(drop),
            None => invocation::read(endpoint, &headers, &body).map(drop),
        };
        read.map_err(|error| ProbeError::Unreadable { url: url.clone(), reason: error.to_string() })?;
    }
    Ok(ProbeReport { status, latency_ms, answer })
}

/// Probes, [`PROBES_IN_FLIGHT`] at a time, every endpoint record `changes` writes, in key
/// order. Deletions and other records have nothing to probe and are not listed.
pub async fn probe_changes(
    guard: &Guard,
    changes: &ChangeSet,
    credentials: &Credentials,
    timeout: Duration,
) -> Vec<(Key, Result<ProbeReport, ProbeError>)> {
    let probes = changes.changes().iter().filter_map(|change| {
        let Namespace::Subnet(netuid) = change.key.namespace else { return None };
        let value = change.value.as_deref()?;
        let Ok(RecordKind::Endpoint) = RecordKind::of(&change.key) else { return None };
        Some(async move {
            let result = match Record::decode(&change.key, value) {
                Ok(Record::Endpoint(endpoint)) => probe(guard, netuid, &endpoint, credentials, timeout).await,
                Ok(_) => unreachable!("an endpoint path decodes only to an endpoint record"),
                Err(error) => Err(error.into()),
            };
            (change.key.clone(), result)
        })
    });
    stream::iter(probes).buffered(PROBES_IN_FLIGHT).collect().await
}

/// `example` as query parameters (see the module documentation).
fn list(violations: &[Violation]) -> String {
    violations.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}
