//! The invocation engine: calls any endpoint from the invocation spec in its ledger record
//! (docs/SPEC.md §16) and reads its answer into evidence, so that a subnet is made callable by a
//! ledger change rather than by code.
//!
//! Terms:
//! - **call input**: what the executor asks of an endpoint: a query, the task's subject and time
//!   window, the evidence of the tasks it depends on, how many results, and for LLM calls a
//!   system message and the JSON Schema the answer must follow.
//! - **inputs**: the named values a spec's templates draw from, derived from the call input
//!   ([`inputs::Inputs`]): `query`, `keywords`, `messages` and the rest.
//! - **subnet request**: the HTTP request the engine builds: method, URL, headers, body, and
//!   whether the endpoint insists on HTTP/2.
//! - **reported cost**: what the subnet says a call cost, in millionths of a US dollar, and the
//!   tokens it used.
//!
//! Building and reading do no I/O, so they are tested on recorded shapes; the executor owns
//! every network concern (timeouts, retries, fallbacks, polling a job).

pub mod inputs;
mod prompt;
mod reading;
mod template;

use std::fmt::Write;

use ledger::invocation::{Condition, Encoding, HttpVersion, Invocation, Job, Transport};
use ledger::record::{Auth, Endpoint, HttpMethod, Json};
use serde_json::Value;

use crate::evidence::{Item, Located, TaskOutput};
pub use inputs::Window;
pub use template::datetime;
pub use reading::JobState;

/// What the executor asks of one endpoint.
#[derive(Clone, Debug, Default)]
pub struct CallInput<'a> {
    /// A search query, or an LLM's user instruction.
    pub query: &'a str,
    /// The subject the task is about, when the objective compares several.
    pub subject: Option<&'a str>,
    /// The period the evidence should come from; the engine's default window when absent.
    pub window: Option<Window>,
    /// For LLM calls: a system message.
    pub system: Option<&'a str>,
    /// Outputs of the tasks this one depends on; LLM prompts carry them.
    pub context: &'a [TaskOutput],
    /// For LLM calls: the JSON Schema the answer must follow (structured output).
    pub response_schema: Option<&'a Value>,
    /// How many results a search should return at most.
    pub limit: u32,
}

/// An HTTP request ready to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubnetRequest {
    pub method: HttpMethod,
    /// Full URL, query string included.
    pub url: String,
    pub headers: Vec<(String, String)>,
    /// JSON body, for POST.
    pub body: Option<Vec<u8>>,
    /// The endpoint refuses HTTP/1.1.
    pub http2_only: bool,
}

impl SubnetRequest {
    /// The bytes a receipt's `request_hash` covers: `METHOD URL`, a newline, then the body (none
    /// for a GET). Keys travel only in headers, so the preimage holds none and can be shown.
    pub fn preimage(&self) -> Vec<u8> {
        let method = match self.method {
            HttpMethod::Get => "GET",
            HttpMethod::Post => "POST",
        };
        let mut preimage = format!("{method} {}\n", self.url).into_bytes();
        preimage.extend_from_slice(self.body.as_deref().unwrap_or_default());
        preimage
    }

    /// The request ready to send through `guard`, as a record's URL ([`Origin::Record`]), over
    /// HTTP/2 only when the endpoint demands it.
    ///
    /// [`Origin::Record`]: crate::outbound::Origin::Record
    pub fn prepare(&self, guard: &crate::outbound::Guard) -> Result<reqwest::RequestBuilder, crate::outbound::Refusal> {
        let method = match self.method {
            HttpMethod::Get => reqwest::Method::GET,
            HttpMethod::Post => reqwest::Method::POST,
        };
        let mut builder = guard.request_over(method, &self.url, crate::outbound::Origin::Record, self.http2_only)?;
        for (name, value) in &self.headers {
            builder = builder.header(name, value);
        }
        if let Some(body) = &self.body {
            builder = builder.body(body.clone());
        }
        Ok(builder)
    }

    /// The request a [`preimage`](Self::preimage) shows, without headers; `None` for bytes no
    /// preimage has (an unknown method, no newline, a URL that is not UTF-8, a GET with a body).
    pub fn from_preimage(preimage: &[u8]) -> Option<SubnetRequest> {
        let newline = preimage.iter().position(|byte| *byte == b'\n')?;
        let line = std::str::from_utf8(&preimage[..newline]).ok()?;
        let body = &preimage[newline + 1..];
        let (method, url) = line.split_once(' ')?;
        let (method, body) = match method {
            "GET" if body.is_empty() => (HttpMethod::Get, None),
            "POST" => (HttpMethod::Post, Some(body.to_vec())),
            _ => return None,
        };
        Some(SubnetRequest { method, url: url.to_owned(), headers: Vec::new(), body, http2_only: false })
    }
}

/// A successful response, normalised.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SubnetResponse {
    pub items: Vec<Item>,
    pub text: Option<String>,
    /// Where the text is in the body (its `text` pointer).
    pub text_located: Located,
    /// What the subnet reported the call cost, in millionths of a US dollar.
    pub reported_cost_usd_micros: Option<u64>,
    /// Tokens the call used, as the subnet reported them (input, output).
    pub tokens: Option<(u64, u64)>,
}

impl SubnetResponse {
    /// The response with its values located in the body of receipt `receipt`.
    pub fn at_receipt(mut self, receipt: u64) -> SubnetResponse {
        self.text_located.receipt = Some(receipt);
        for item in &mut self.items {
            item.located.receipt = Some(receipt);
        }
        self
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvocationError {
    #[error("endpoint {endpoint} has no invocation spec: {reason}")]
    NotInvocable { endpoint: String, reason: String },
    #[error("endpoint {endpoint} needs an API key for subnet {netuid}; set {env}")]
    MissingKey { endpoint: String, netuid: u16, env: String },
    #[error("endpoint {endpoint} needs requests signed by a hotkey, which this node does not send")]
    HotkeyAuth { endpoint: String },
    #[error("the answer is not what {endpoint}'s record says it answers: {reason}")]
    BadResponse { endpoint: String, reason: String },
    #[error("{endpoint} reported a failure: {reason}")]
    Reported { endpoint: String, reason: String },
    #[error("{endpoint} answered with no evidence (no items and no text)")]
    Empty { endpoint: String },
    /// The request the task makes does not satisfy the record's input schema (the task lacks
    /// something the endpoint needs, such as a URL or a symbol it knows): it is not sent.
    #[error("the task gives {endpoint} no request its input schema accepts: {reason}")]
    Unsatisfiable { endpoint: String, reason: String },
    /// A request shown as sent to `endpoint` that is not one of its requests (another method,
    /// origin or path, or bytes no request preimage has).
    #[error("the request shown is not one {endpoint} is sent: {reason}")]
    NotItsRequest { endpoint: String, reason: String },
}

/// The credentials and settings for calling one subnet.
#[derive(Clone, Copy, Debug, Default)]
pub struct Access<'a> {
    pub netuid: u16,
    pub key: Option<&'a str>,
    /// For LLM endpoints: the model to ask.
    pub model: Option<&'a str>,
}

/// The spec of `endpoint`, or why it has none.
pub fn spec(endpoint: &Endpoint) -> Result<&Invocation, InvocationError> {
    endpoint.invocation.as_deref().ok_or_else(|| InvocationError::NotInvocable {
        endpoint: endpoint.name.clone(),
        reason: match &endpoint.not_orchestrable {
            Some(reason) => format!("it is not orchestrable: {reason}"),
            None => "the record predates invocation specs; `orchestra ledger upgrade` brings the built-in genesis' specs".into(),
        },
    })
}

/// The request asking `endpoint` for `input`.
pub fn request(endpoint: &Endpoint, input: &CallInput, access: &Access) -> Result<SubnetRequest, InvocationError> {
    let invocation = spec(endpoint)?;
    let inputs = inputs::Inputs::of(input, access.model);
    // A missing key is said first: it is what the operator can fix.
    let auth = auth_header(endpoint, access)?;
    let rendered = Rendered::of(&invocation.request.query, invocation.request.body.as_ref(), &inputs);
    satisfies_input_schema(endpoint, &rendered)?;
    let mut request = rendered.into_request(endpoint.method, &endpoint.url, invocation);
    request.headers.extend(auth);
    Ok(request)
}

/// Checks the request's body (POST) or query parameters (GET) against the record's input
/// schema, so that a task the endpoint cannot serve fails here, before anything is sent.
fn satisfies_input_schema(endpoint: &Endpoint, rendered: &Rendered) -> Result<(), InvocationError> {
    let unsatisfiable = |reason: String| InvocationError::Unsatisfiable { endpoint: endpoint.name.clone(), reason };
    let validator = jsonschema::validator_for(&endpoint.input_schema.0).map_err(|error| unsatisfiable(format!("its input schema does not compile: {error}")))?;
    let instance = match endpoint.method {
        HttpMethod::Get => Value::Object(rendered.query.iter().cloned().collect()),
        HttpMethod::Post => rendered.body.clone().unwrap_or(Value::Null),
    };
    let violations: Vec<String> = validator.iter_errors(&instance).map(|error| format!("{} at `{}`", error, error.instance_path())).collect();
    match violations.is_empty() {
        true => Ok(()),
        false => Err(unsatisfiable(violations.join("; "))),
    }
}

/// The request a receipt's `preimage` shows was sent to `endpoint` (see
/// [`SubnetRequest::preimage`]), ready to send again with `access`'s key and the headers the
/// spec adds. It must be one of the endpoint's own requests: its method, and its URL's origin
/// and path (the query is the task's). A job's polls, at other paths, are not.
pub fn replay_request(endpoint: &Endpoint, preimage: &[u8], access: &Access) -> Result<SubnetRequest, InvocationError> {
    let invocation = spec(endpoint)?;
    let not_its = |reason: String| InvocationError::NotItsRequest { endpoint: endpoint.name.clone(), reason };
    let shown = SubnetRequest::from_preimage(preimage).ok_or_else(|| not_its("it is not a request preimage".into()))?;
    if shown.method != endpoint.method {
        return Err(not_its(format!("it is a {:?}, the endpoint takes {:?}", shown.method, endpoint.method)));
    }
    let without_query = |url: &str| reqwest::Url::parse(url).ok().map(|mut url| {
        url.set_query(None);
        url.set_fragment(None);
        url.to_string()
    });
    let (shown_url, own_url) = (without_query(&shown.url), without_query(&endpoint.url));
    if shown_url.is_none() || shown_url != own_url {
        return Err(not_its(format!("it went to {}, not to the endpoint's URL", shown.url)));
    }
    let mut request = with_transport(shown, &invocation.transport);
    request.headers.extend(auth_header(endpoint, access)?);
    Ok(request)
}

/// The request a validator probes `endpoint` with, from its record alone: `example` as the JSON
/// body of a POST, or for a GET as query parameters (one per top-level field: strings as they
/// are, any other value as its JSON text), sent as the endpoint's spec's transport demands
/// (without a spec, plain JSON over HTTP/1.1 or HTTP/2), with its key. `None` for a GET whose
/// example is not an object.
pub fn example_request(endpoint: &Endpoint, example: &Value, access: &Access) -> Result<Option<SubnetRequest>, InvocationError> {
    let (url, body) = match endpoint.method {
        HttpMethod::Post => (endpoint.url.clone(), Some(example.to_string().into_bytes())),
        HttpMethod::Get => {
            let Some(fields) = example.as_object() else { return Ok(None) };
            let mut url = endpoint.url.clone();
            let mut first = !url.contains('?');
            for (name, value) in fields {
                let value = match value {
                    Value::String(text) => text.clone(),
                    other => other.to_string(),
                };
                let _ = write!(url, "{}{}={}", if first { '?' } else { '&' }, percent_encode(name), percent_encode(&value));
                first = false;
            }
            (url, None)
        }
    };
    let request = SubnetRequest { method: endpoint.method, url, headers: Vec::new(), body, http2_only: false };
    let default = Transport::default();
    let transport = endpoint.invocation.as_deref().map_or(&default, |invocation| &invocation.transport);
    let mut request = with_transport(request, transport);
    request.headers.extend(auth_header(endpoint, access)?);
    Ok(Some(request))
}

/// `request` with what the spec's transport adds: the content type of a JSON body, Connect's
/// protocol header, HTTP/2 only.
fn with_transport(mut request: SubnetRequest, transport: &Transport) -> SubnetRequest {
    if request.body.is_some() {
        request.headers.push(("Content-Type".to_owned(), "application/json".to_owned()));
    }
    if transport.encoding == Encoding::ConnectJson {
        request.headers.push(("Connect-Protocol-Version".to_owned(), "1".to_owned()));
    }
    request.http2_only = transport.http == HttpVersion::H2;
    request
}

/// The request polling `job` for the job `job_id`.
pub fn poll_request(endpoint: &Endpoint, job: &Job, job_id: &str, input: &CallInput, access: &Access) -> Result<SubnetRequest, InvocationError> {
    let invocation = spec(endpoint)?;
    let inputs = inputs::Inputs::of(input, access.model).with_job_id(job_id);
    // The ledger checked that the endpoint URL has an origin and the poll is a path on it.
    let origin = ledger::invocation::origin(&endpoint.url).unwrap_or_default();
    let url = format!("{origin}{}", job.poll.path.replace("{job_id}", &percent_encode(job_id)));
    let rendered = Rendered::of(&job.poll.request.query, job.poll.request.body.as_ref(), &inputs);
    let mut request = rendered.into_request(job.poll.method, &url, invocation);
    request.headers.extend(auth_header(endpoint, access)?);
    Ok(request)
}

/// A request's templates with the inputs in place: the query parameters that have a value, in
/// name order, and the body.
struct Rendered {
    query: Vec<(String, Value)>,
    body: Option<Value>,
}

impl Rendered {
    fn of(query: &std::collections::BTreeMap<String, Json>, body: Option<&Json>, inputs: &inputs::Inputs) -> Rendered {
        Rendered {
            query: query.iter().filter_map(|(name, template)| Some((name.clone(), template::render(&template.0, inputs)?))).collect(),
            body: body.map(|body| template::render(&body.0, inputs).unwrap_or(Value::Null)),
        }
    }

    fn into_request(self, method: HttpMethod, url: &str, invocation: &Invocation) -> SubnetRequest {
        let mut url = url.to_owned();
        let mut first = !url.contains('?');
        for (name, value) in self.query {
            let value = match value {
                Value::String(text) => text,
                other => other.to_string(),
            };
            let _ = write!(url, "{}{}={}", if first { '?' } else { '&' }, percent_encode(&name), percent_encode(&value));
            first = false;
        }
        let body = self.body.map(|body| body.to_string().into_bytes());
        with_transport(SubnetRequest { method, url, headers: Vec::new(), body, http2_only: false }, &invocation.transport)
    }
}

/// The response headers `endpoint`'s spec reads its cost from, as `(lowercase name, value)`,
/// those present only: what a receipt's cost evidence hash covers.
pub fn cost_headers(endpoint: &Endpoint, headers: &http::HeaderMap) -> Vec<(String, String)> {
    let Some(cost) = endpoint.invocation.as_deref().and_then(|invocation| invocation.cost.as_ref()) else { return Vec::new() };
    [&cost.usd_header, &cost.currency_header]
        .into_iter()
        .flatten()
        .filter_map(|name| Some((name.to_ascii_lowercase(), headers.get(name.as_str())?.to_str().ok()?.to_owned())))
        .collect()
}

/// Reads a successful (2xx) answer of `endpoint`.
pub fn read(endpoint: &Endpoint, headers: &http::HeaderMap, body: &[u8]) -> Result<SubnetResponse, InvocationError> {
    reading::read(&endpoint.name, spec(endpoint)?, headers, body)
}

/// The job id in a 2xx answer to a job's submission.
pub fn job_id(endpoint: &Endpoint, job: &Job, body: &[u8]) -> Result<String, InvocationError> {
    spec(endpoint)?;
    reading::job_id(&endpoint.name, job, body)
}

/// Where a job stands, from a 2xx answer to its poll.
pub fn job_state(endpoint: &Endpoint, job: &Job, body: &[u8]) -> Result<JobState, InvocationError> {
    reading::job_state(&endpoint.name, spec(endpoint)?, job, body)
}

/// What an error answer says went wrong, by the spec's pointers, else an excerpt of it.
pub fn error_message(endpoint: &Endpoint, body: &[u8]) -> Option<String> {
    reading::error_message(spec(endpoint).ok()?, body)
}

/// Whether an answer with `status` is worth another attempt.
pub fn is_retryable(endpoint: &Endpoint, status: u16) -> bool {
    match spec(endpoint) {
        Ok(invocation) => invocation.errors.retry.contains(&status),
        Err(_) => ledger::invocation::DEFAULT_RETRY_STATUSES.contains(&status),
    }
}

/// Whether `value` meets `condition`.
pub(crate) fn holds(condition: &Condition, answer: &Value) -> bool {
    answer.pointer(&condition.at).is_some_and(|value| condition.equals.iter().any(|wanted| wanted.0 == *value))
}

/// The header that authenticates a call, if the endpoint needs one. Public so that a call
/// built outside the engine (a validator's probe) authenticates exactly as it does.
pub fn auth_header(endpoint: &Endpoint, access: &Access) -> Result<Option<(String, String)>, InvocationError> {
    match &endpoint.auth {
        Auth::None => Ok(None),
        Auth::Header { name, prefix } => {
            let key = access.key.ok_or_else(|| InvocationError::MissingKey {
                endpoint: endpoint.name.clone(),
                netuid: access.netuid,
                env: crate::credentials::key_env(access.netuid),
            })?;
            let value = match prefix {
                Some(prefix) => format!("{prefix} {key}"),
                None => key.to_owned(),
            };
            Ok(Some((name.clone(), value)))
        }
        Auth::Hotkey => Err(InvocationError::HotkeyAuth { endpoint: endpoint.name.clone() }),
    }
}

/// Percent-encodes every byte but RFC 3986's unreserved characters, so spaces become `%20`
/// (not `+`, which only form decoders read as a space) and `&`, `=`, `#` cannot end a value.
fn percent_encode(value: &str) -> String {
    let mut encoded = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            let _ = write!(encoded, "%{byte:02X}");
        }
    }
    encoded
}
