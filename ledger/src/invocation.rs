//! Invocation specs: how to call an endpoint and read its answer, said as data in its record, so
//! that a subnet becomes callable by a ledger change and no new code (docs/SPEC.md §16).
//!
//! Terms:
//! - **input**: a named value the caller supplies for one call: `query`, `keywords` (the
//!   query's topic words), `subject`, `subjects`, `since` and `until` (the time window),
//!   `count`, `messages` (chat messages), `schema` (the JSON Schema an answer must follow),
//!   `model`, `url` (the first URL the query holds), `text` (the passage it quotes), and in a
//!   job's poll `job_id`. [`INPUTS`] lists them.
//! - **template**: a JSON value in which an object `{"$input": name, ...}` stands for an input
//!   (clamped or cut by `min` and `max`, formatted by `format`, translated by `map`, led by
//!   fixed values by `prepend`, defaulted by `default`),
//!   `{"$present": name}` for whether it was given, and `{"$if": name, "then": template}` for
//!   the template when the input was given. A member or element whose input is absent is left
//!   out.
//! - **pointer**: an RFC 6901 JSON Pointer into an answer (`""` is the whole answer). Where a
//!   list of **extracts** is given, the first that finds a non-empty value wins; an extract is a
//!   pointer, `{"const": text}`, `{"format": "text {/pointer} text"}`, or `{"parse": pointer,
//!   "then": [extracts]}` for JSON carried as text (the extracts read the parsed document).
//! - **item list**: where an answer holds evidence items (an array found by pointer) and how
//!   each item's title, text, url, time, author and numbers are found in it.
//! - **job**: an endpoint that answers with a job id, whose result is then polled for.
//!
//! The ledger only stores and checks these specs; the orchestrator's engine executes them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::record::{HttpMethod, Json};

/// The inputs a template may name, outside a job's poll.
pub const INPUTS: [&str; 12] =
    ["query", "keywords", "subject", "subjects", "since", "until", "count", "messages", "schema", "model", "url", "text"];
/// The inputs that are one text, which `map` may translate.
pub const TEXT_INPUTS: [&str; 4] = ["query", "subject", "url", "text"];
/// The input only a job's poll may name: the id the submission answered with.
pub const JOB_ID_INPUT: &str = "job_id";
/// Time formats an input `since` or `until` may be written in.
pub const TIME_FORMATS: [&str; 3] = ["date", "datetime", "unix"];
/// The statuses retried when a spec does not say: timeouts, rate limits and server errors.
pub const DEFAULT_RETRY_STATUSES: [u16; 6] = [408, 429, 500, 502, 503, 504];
/// Bounds of a job's polling, whatever its record asks.
pub const MIN_POLL_INTERVAL_MS: u32 = 100;
pub const MAX_POLL_INTERVAL_MS: u32 = 60_000;
pub const MAX_POLLS: u32 = 600;

/// How to call an endpoint and read its answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Invocation {
    #[serde(default, skip_serializing_if = "Transport::is_default")]
    pub transport: Transport,
    #[serde(default, skip_serializing_if = "RequestTemplate::is_empty")]
    pub request: RequestTemplate,
    #[serde(default)]
    pub response: ResponseReading,
    #[serde(default, skip_serializing_if = "Errors::is_default")]
    pub errors: Errors,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<CostReport>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<Job>,
    /// The endpoint constrains its answer to the `schema` input the request carries
    /// (structured output), so a writer's answer needs no repair for its shape.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub schema_enforced: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transport {
    #[serde(default)]
    pub http: HttpVersion,
    #[serde(default)]
    pub encoding: Encoding,
}

impl Transport {
    fn is_default(&self) -> bool {
        *self == Transport::default()
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum HttpVersion {
    /// HTTP/1.1, or HTTP/2 where the server offers it.
    #[default]
    #[serde(rename = "http/1.1")]
    Http11,
    /// HTTP/2 only: the server refuses HTTP/1.1.
    #[serde(rename = "h2")]
    H2,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Encoding {
    /// JSON bodies (`Content-Type: application/json`).
    #[default]
    Json,
    /// Connect's JSON encoding of a unary RPC: a JSON POST with `Connect-Protocol-Version: 1`,
    /// errors as `{"code", "message"}`.
    ConnectJson,
}

/// The request: query string parameters and, for POST, the JSON body, as templates.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RequestTemplate {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub query: BTreeMap<String, Json>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Json>,
}

/// How a successful answer becomes evidence.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ResponseReading {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<ItemList>,
    /// Free text the call produced (a summary, a model's answer): the first non-empty string.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub text: Vec<Extract>,
    /// The answer is malformed without text (a chat completion always has some).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub text_required: bool,
    /// A 2xx answer is a success only when this holds (an API that reports failure in its body).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success: Option<Condition>,
}

/// An array of evidence items in the answer, and how to read each.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ItemList {
    /// Where the array is: the first pointer that finds an array. None found is no items.
    pub at: Vec<String>,
    /// The items' source label (`web`, `x`, `reddit`, ...).
    pub source: Vec<Extract>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub title: Vec<Extract>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub text: Vec<Extract>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub url: Vec<Extract>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub published: Vec<Extract>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub author: Vec<Extract>,
    /// Named numbers of each item (a price, a probability), by pointer.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub numbers: BTreeMap<String, String>,
}

/// One way to find a value: a pointer, a constant, a format filled from pointers, or extracts
/// of a JSON document carried as text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Extract {
    Pointer(String),
    Const { r#const: String },
    Format { format: String },
    Parse { parse: String, then: Vec<Extract> },
}

/// A test on an answer: the value at `at` is one of `equals`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Condition {
    pub at: String,
    pub equals: Vec<Json>,
}

/// How failures are reported.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Errors {
    /// Where an error answer (or a failed body-level `success`) says what went wrong.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub message: Vec<String>,
    /// HTTP statuses worth another attempt.
    #[serde(default = "default_retry")]
    pub retry: Vec<u16>,
}

fn default_retry() -> Vec<u16> {
    DEFAULT_RETRY_STATUSES.to_vec()
}

impl Default for Errors {
    fn default() -> Errors {
        Errors { message: Vec::new(), retry: default_retry() }
    }
}

impl Errors {
    fn is_default(&self) -> bool {
        *self == Errors::default()
    }
}

/// How the subnet reports what a call cost.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CostReport {
    /// A response header holding the cost as a decimal number of US dollars.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usd_header: Option<String>,
    /// A response header naming the cost's currency; a cost in another currency than USD is
    /// not read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency_header: Option<String>,
    /// Pointers to the tokens a call used, for prices per thousand tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_tokens: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_tokens: Option<String>,
}

/// An asynchronous endpoint: its answer holds a job id; the result is polled for.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Job {
    /// Where the submission's answer holds the job id (a string or a number).
    pub id: String,
    pub poll: Poll,
    /// The poll's answer is the result when this holds; it is then read by `response`.
    pub done: Condition,
    /// The job failed for good when this holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed: Option<Condition>,
    pub interval_ms: u32,
    pub max_polls: u32,
}

/// The poll request; its templates may name `job_id`, and its path may hold `{job_id}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Poll {
    pub method: HttpMethod,
    /// A path on the endpoint URL's own origin (scheme, host and port), so that a key bound to
    /// that host never travels elsewhere and a mirror of the endpoint polls itself.
    pub path: String,
    #[serde(default, skip_serializing_if = "RequestTemplate::is_empty")]
    pub request: RequestTemplate,
}

impl RequestTemplate {
    fn is_empty(&self) -> bool {
        self.query.is_empty() && self.body.is_none()
    }
}

/// A spec that cannot be executed, with why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invocation spec: {0}")]
pub struct SpecError(pub String);

impl Invocation {
    /// Checks the spec of an endpoint called with `method` at `url`: every pointer is a JSON
    /// Pointer, every template names known inputs with known modifiers, a GET sends no body,
    /// and a job's poll is a path (on the endpoint's origin).
    pub fn check(&self, method: HttpMethod, url: &str) -> Result<(), SpecError> {
        check_request(&self.request, method, false)?;
        let response = &self.response;
        for list in &response.items {
            if list.at.is_empty() {
                return Err(SpecError("an item list needs at least one pointer in `at`".into()));
            }
            list.at.iter().try_for_each(|at| check_pointer(at))?;
            if list.source.is_empty() {
                return Err(SpecError("an item list needs a `source`".into()));
            }
            for extracts in [&list.source, &list.title, &list.text, &list.url, &list.published, &list.author] {
                extracts.iter().try_for_each(check_extract)?;
            }
            list.numbers.values().try_for_each(|at| check_pointer(at))?;
        }
        response.text.iter().try_for_each(check_extract)?;
        if response.text_required && response.text.is_empty() {
            return Err(SpecError("`text_required` needs `text` pointers".into()));
        }
        if let Some(condition) = &response.success {
            check_pointer(&condition.at)?;
        }
        self.errors.message.iter().try_for_each(|at| check_pointer(at))?;
        if let Some(statuses) = self.errors.retry.iter().find(|status| !(100..=599).contains(*status)) {
            return Err(SpecError(format!("{statuses} is not an HTTP status")));
        }
        if let Some(cost) = &self.cost {
            for at in [&cost.input_tokens, &cost.output_tokens].into_iter().flatten() {
                check_pointer(at)?;
            }
        }
        if let Some(job) = &self.job {
            check_pointer(&job.id)?;
            check_pointer(&job.done.at)?;
            if let Some(failed) = &job.failed {
                check_pointer(&failed.at)?;
            }
            check_request(&job.poll.request, job.poll.method, true)?;
            let path = &job.poll.path;
            if !path.starts_with('/') || path.starts_with("//") || path.contains(['\\', '#']) || origin(url).is_none() {
                return Err(SpecError(format!("a job is polled at a path of the endpoint's origin, such as /jobs/{{job_id}}, not at `{path}`")));
            }
            if !(MIN_POLL_INTERVAL_MS..=MAX_POLL_INTERVAL_MS).contains(&job.interval_ms) || !(1..=MAX_POLLS).contains(&job.max_polls) {
                return Err(SpecError(format!(
                    "a job polls every {MIN_POLL_INTERVAL_MS} to {MAX_POLL_INTERVAL_MS} ms, at most {MAX_POLLS} times"
                )));
            }
        }
        Ok(())
    }
}

/// `scheme://host:port` of an http(s) URL, if it is one.
pub fn origin(url: &str) -> Option<&str> {
    let (scheme, rest) = url.split_once("://")?;
    if scheme != "https" && scheme != "http" {
        return None;
    }
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    Some(&url[..scheme.len() + 3 + end])
}

fn check_request(request: &RequestTemplate, method: HttpMethod, in_poll: bool) -> Result<(), SpecError> {
    if method == HttpMethod::Get && request.body.is_some() {
        return Err(SpecError("a GET sends no body".into()));
    }
    for (name, template) in &request.query {
        if name.is_empty() {
            return Err(SpecError("a query parameter needs a name".into()));
        }
        check_template(&template.0, in_poll)?;
    }
    request.body.iter().try_for_each(|body| check_template(&body.0, in_poll))
}

fn check_pointer(pointer: &str) -> Result<(), SpecError> {
    let escapes_valid = pointer.split('~').skip(1).all(|after| after.starts_with(['0', '1']));
    if (pointer.is_empty() || pointer.starts_with('/')) && escapes_valid {
        Ok(())
    } else {
        Err(SpecError(format!("`{pointer}` is not a JSON Pointer (RFC 6901)")))
    }
}

fn check_extract(extract: &Extract) -> Result<(), SpecError> {
    match extract {
        Extract::Pointer(pointer) => check_pointer(pointer),
        Extract::Const { .. } => Ok(()),
        Extract::Format { format } => format_pointers(format)?.into_iter().try_for_each(check_pointer),
        Extract::Parse { parse, then } => {
            check_pointer(parse)?;
            if then.is_empty() {
                return Err(SpecError(format!("`parse: {parse}` needs extracts in `then`")));
            }
            // One level only: nesting would let a record make reading recurse without bound.
            if then.iter().any(|extract| matches!(extract, Extract::Parse { .. })) {
                return Err(SpecError("a `parse` reads its document with pointers, constants and formats, not another `parse`".into()));
            }
            then.iter().try_for_each(check_extract)
        }
    }
}

/// The pointers a format's `{...}` placeholders name.
pub fn format_pointers(format: &str) -> Result<Vec<&str>, SpecError> {
    let mut pointers = Vec::new();
    let mut rest = format;
    while let Some(open) = rest.find('{') {
        let close = rest[open..].find('}').ok_or_else(|| SpecError(format!("`{format}` has an unclosed `{{`")))?;
        pointers.push(&rest[open + 1..open + close]);
        rest = &rest[open + close + 1..];
    }
    if rest.contains('}') {
        return Err(SpecError(format!("`{format}` has a `}}` without `{{`")));
    }
    Ok(pointers)
}

/// The directive keys of a template object.
const DIRECTIVES: [&str; 3] = ["$input", "$present", "$if"];

/// Checks every directive of a template.
fn check_template(template: &serde_json::Value, in_poll: bool) -> Result<(), SpecError> {
    use serde_json::Value;
    let object = match template {
        Value::Object(object) => object,
        Value::Array(items) => return items.iter().try_for_each(|value| check_template(value, in_poll)),
        _ => return Ok(()),
    };
    let directives: Vec<&str> = DIRECTIVES.into_iter().filter(|directive| object.contains_key(*directive)).collect();
    let directive = match directives[..] {
        [] => return object.values().try_for_each(|value| check_template(value, in_poll)),
        [directive] => directive,
        _ => return Err(SpecError(format!("a template object holds one directive, not {}", directives.join(" and ")))),
    };
    let name = object[directive].as_str().ok_or_else(|| SpecError(format!("{directive} names an input by a string")))?;
    let known = INPUTS.contains(&name) || (in_poll && name == JOB_ID_INPUT);
    if !known {
        return Err(SpecError(format!("`{name}` is not an input (inputs: {}{})", INPUTS.join(", "), if in_poll { ", job_id" } else { "" })));
    }
    for (modifier, value) in object.iter().filter(|(key, _)| key.as_str() != directive) {
        let fits = match (directive, modifier.as_str()) {
            ("$input", "min") => value.is_i64() && name == "count",
            ("$input", "max") => value.is_i64() && matches!(name, "count" | "keywords" | "subjects"),
            ("$input", "format") => matches!(name, "since" | "until") && value.as_str().is_some_and(|format| TIME_FORMATS.contains(&format)),
            ("$input", "prepend") => matches!(name, "keywords" | "subjects") && value.is_array(),
            ("$input", "map") => TEXT_INPUTS.contains(&name) && value.as_object().is_some_and(|table| !table.is_empty()),
            ("$input", "default") => true,
            ("$if", "then") => {
                check_template(value, in_poll)?;
                true
            }
            _ => false,
        };
        if !fits {
            return Err(SpecError(format!("`{modifier}: {value}` does not apply to {directive} `{name}`")));
        }
    }
    if directive == "$if" && !object.contains_key("then") {
        return Err(SpecError(format!("$if `{name}` needs a `then`")));
    }
    Ok(())
}
