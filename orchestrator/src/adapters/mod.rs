//! Adapters: how to speak to each subnet's public API.
//!
//! Terms:
//! - **protocol**: the request and response shapes an endpoint speaks, recognised from its
//!   ledger record (method and URL path), not from its netuid, so that another subnet exposing
//!   the same API (an OpenAI-compatible endpoint on Targon, say) is spoken to the same way.
//! - **call input**: what the executor asks of an endpoint: a query, the evidence of the tasks
//!   it depends on, and for LLM calls an optional JSON Schema the answer must follow.
//! - **subnet request**: the HTTP request an adapter builds: method, URL, headers, body, and
//!   whether the endpoint insists on HTTP/2.
//! - **reported cost**: what the subnet says a call cost (Desearch sends it in
//!   `X-Desearch-Cost-Usd`), in millionths of a US dollar.
//!
//! Adapters are pure: building and parsing do no I/O, so they are tested on recorded shapes
//! and the executor owns every network concern (timeouts, retries, fallbacks).

mod apex;
mod data_universe;
mod desearch;
mod openai;
mod prompt;

use ledger::record::{Auth, Endpoint, HttpMethod};
use serde_json::Value;

use crate::evidence::{Item, TaskOutput};

/// What the executor asks of one endpoint.
#[derive(Clone, Debug, Default)]
pub struct CallInput<'a> {
    /// A search query, or an LLM's user instruction.
    pub query: &'a str,
    /// For LLM calls: a system message.
    pub system: Option<&'a str>,
    /// Outputs of the tasks this one depends on; LLM adapters put them in the prompt.
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
    /// The endpoint refuses HTTP/1.1 (Data Universe's load balancer does).
    pub http2_only: bool,
}

impl SubnetRequest {
    /// A POST of `body` as JSON to the endpoint's URL; every adapter's POST is one.
    pub(super) fn json_post(endpoint: &Endpoint, body: &Value) -> SubnetRequest {
        SubnetRequest {
            method: HttpMethod::Post,
            url: endpoint.url.clone(),
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: Some(body.to_string().into_bytes()),
            http2_only: false,
        }
    }
}

/// A successful response, normalised.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SubnetResponse {
    pub items: Vec<Item>,
    pub text: Option<String>,
    /// What the subnet reported the call cost, in millionths of a US dollar.
    pub reported_cost_usd_micros: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdapterError {
    #[error("endpoint {endpoint} ({url}) speaks no protocol this node knows")]
    UnknownProtocol { endpoint: String, url: String },
    #[error("endpoint {endpoint} needs an API key for subnet {netuid}; set {env}")]
    MissingKey { endpoint: String, netuid: u16, env: String },
    #[error("the response is not what {protocol} answers: {reason}")]
    BadResponse { protocol: &'static str, reason: String },
}

/// The APIs this node speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// Desearch `POST /desearch/ai/search`.
    DesearchAiSearch,
    /// Desearch `GET /web`.
    DesearchWeb,
    /// Desearch `GET /twitter`.
    DesearchTwitter,
    /// Data Universe `POST .../sn13.v1.Sn13Service/OnDemandData`.
    DataUniverseOnDemand,
    /// An OpenAI-compatible `POST .../chat/completions` (Chutes, Targon).
    OpenAiChat,
    /// Apex `POST .../apex.v1.ApexService/ChatCompletion`.
    ApexChat,
}

/// The credentials and settings for calling one subnet.
#[derive(Clone, Copy, Debug, Default)]
pub struct Access<'a> {
    pub netuid: u16,
    pub key: Option<&'a str>,
    /// For LLM endpoints: the model to ask.
    pub model: Option<&'a str>,
}

impl Protocol {
    /// The protocol an endpoint speaks, from its method and URL path.
    pub fn detect(endpoint: &Endpoint) -> Option<Protocol> {
        let path = url_path(&endpoint.url);
        match endpoint.method {
            HttpMethod::Post if path.ends_with("/desearch/ai/search") => Some(Protocol::DesearchAiSearch),
            HttpMethod::Get if path.ends_with("/web") => Some(Protocol::DesearchWeb),
            HttpMethod::Get if path.ends_with("/twitter") => Some(Protocol::DesearchTwitter),
            HttpMethod::Post if path.ends_with("/sn13.v1.Sn13Service/OnDemandData") => Some(Protocol::DataUniverseOnDemand),
            HttpMethod::Post if path.ends_with("/chat/completions") => Some(Protocol::OpenAiChat),
            HttpMethod::Post if path.ends_with("/apex.v1.ApexService/ChatCompletion") => Some(Protocol::ApexChat),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Protocol::DesearchAiSearch => "desearch ai search",
            Protocol::DesearchWeb => "desearch web search",
            Protocol::DesearchTwitter => "desearch twitter search",
            Protocol::DataUniverseOnDemand => "data universe on-demand data",
            Protocol::OpenAiChat => "openai chat completions",
            Protocol::ApexChat => "apex chat completion",
        }
    }

    /// The request asking `endpoint` for `input`.
    pub fn build(self, endpoint: &Endpoint, input: &CallInput, access: &Access) -> Result<SubnetRequest, AdapterError> {
        let mut request = match self {
            Protocol::DesearchAiSearch => desearch::ai_search(endpoint, input),
            Protocol::DesearchWeb => desearch::web(endpoint, input),
            Protocol::DesearchTwitter => desearch::twitter(endpoint, input),
            Protocol::DataUniverseOnDemand => data_universe::on_demand(endpoint, input),
            Protocol::OpenAiChat => openai::chat(endpoint, input, access.model),
            Protocol::ApexChat => apex::chat(endpoint, input),
        };
        request.headers.extend(auth_header(endpoint, access)?);
        Ok(request)
    }

    /// Reads a successful (2xx) response.
    pub fn parse(self, headers: &http::HeaderMap, body: &[u8]) -> Result<SubnetResponse, AdapterError> {
        let bad = |reason: String| AdapterError::BadResponse { protocol: self.name(), reason };
        let json: Value = serde_json::from_slice(body).map_err(|error| bad(format!("not JSON: {error}")))?;
        let mut response = match self {
            Protocol::DesearchAiSearch => desearch::parse_ai_search(&json),
            Protocol::DesearchWeb => desearch::parse_web(&json),
            Protocol::DesearchTwitter => desearch::parse_twitter(&json),
            Protocol::DataUniverseOnDemand => data_universe::parse_on_demand(&json),
            Protocol::OpenAiChat => openai::parse_chat(&json),
            Protocol::ApexChat => apex::parse_chat(&json),
        }
        .map_err(bad)?;
        if response.reported_cost_usd_micros.is_none() {
            response.reported_cost_usd_micros = desearch::reported_cost(headers);
        }
        Ok(response)
    }
}

/// The header that authenticates a call, if the endpoint needs one. Public so that a call
/// built outside the adapters (a validator's probe) authenticates exactly as they do.
pub fn auth_header(endpoint: &Endpoint, access: &Access) -> Result<Option<(String, String)>, AdapterError> {
    match &endpoint.auth {
        Auth::None => Ok(None),
        Auth::Header { name, prefix } => {
            let key = access.key.ok_or_else(|| AdapterError::MissingKey {
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
        Auth::Hotkey => Err(AdapterError::UnknownProtocol { endpoint: endpoint.name.clone(), url: endpoint.url.clone() }),
    }
}

/// The path of `url`, without scheme, host or query.
fn url_path(url: &str) -> &str {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let path = after_scheme.find('/').map_or("", |start| &after_scheme[start..]);
    path.split(['?', '#']).next().unwrap_or("")
}
