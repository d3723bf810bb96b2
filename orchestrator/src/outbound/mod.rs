//! The outbound guard: the one way the node sends a request to anyone.
//!
//! Every outbound request (subnet calls, validators' probes and challenges, proposals to a
//! primary) is built through a [`Guard`], which closes the ways a hostile URL could turn the
//! node against its own network:
//!
//! - **Schemes by origin.** A URL's **origin** says who wrote it. [`Origin::Record`]: an endpoint
//!   of a ledger record, which miners write: `https` only, unless the operator allowed plain
//!   `http` for that host. [`Origin::Axon`]: a miner's axon from the metagraph, `http://IP:port`
//!   as Bittensor serves them (or https). [`Origin::Operator`]: a URL the operator gave.
//! - **Addresses.** Every address a host resolves to must be public (see [`address`]) unless
//!   the operator allowed its range, for every origin or for its own URLs only (a primary
//!   ledger node on a private network must not open that network to miners' records); a name
//!   with one forbidden address is refused whole. The
//!   check happens in the resolver that the HTTP clients use, and the connection goes to exactly
//!   the addresses it checked, so a second DNS answer (rebinding) cannot switch them. IP
//!   literals, which reach no resolver, are checked before the request is built.
//! - **No redirects, no proxies from the environment, capped bodies** ([`read_capped`]), a
//!   connect timeout.
//! - **Short, clean error text**: what a remote server says reaches callers only through
//!   [`excerpt`].
//!
//! The name lookup is injected ([`Lookup`]), so the guard's tests resolve any name to any
//! address without a packet leaving loopback.

pub mod address;

use std::collections::BTreeSet;
use std::fmt;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use address::AddressRange;

/// Longest the guard waits for a TCP (and TLS) connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest excerpt of a remote server's words that reaches a caller.
const EXCERPT_CHARS: usize = 160;
/// Longest description of a transport failure: the node's own words around a URL.
const DESCRIPTION_CHARS: usize = 600;

/// Who wrote a URL, which decides what it may be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// An endpoint URL in a ledger record.
    Record,
    /// A miner's axon, from the metagraph.
    Axon,
    /// A URL the operator configured (a primary ledger node, the chain).
    Operator,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Origin::Record => "ledger endpoint",
            Origin::Axon => "axon",
            Origin::Operator => "configured",
        })
    }
}

/// What the operator allows beyond the defaults.
#[derive(Clone, Debug, Default)]
pub struct Policy {
    /// Address ranges that URLs of every origin may call although they are not public.
    pub allowed_ranges: Vec<AddressRange>,
    /// Address ranges that only [`Origin::Operator`] URLs may call although they are not
    /// public: the operator's own services on a private network, which a ledger record or an
    /// axon naming them must not reach.
    pub operator_ranges: Vec<AddressRange>,
    /// Hosts (lowercase; an IP literal without brackets) that ledger endpoint URLs may call
    /// over plain http.
    pub plain_http_hosts: BTreeSet<String>,
    /// When set, the only hosts (lowercase) ledger endpoint URLs may call: an operator who
    /// names them confines every subnet call, keyed or not, whatever a record says.
    pub record_hosts: Option<BTreeSet<String>>,
}

impl Policy {
    /// Why a URL of `origin` may not call `address`, or `None` when it may.
    pub fn refuses(&self, address: IpAddr, origin: Origin) -> Option<&'static str> {
        let class = address::non_public(address)?;
        let operator_ranges = if origin == Origin::Operator { &self.operator_ranges[..] } else { &[] };
        (!self.allowed_ranges.iter().chain(operator_ranges).any(|range| range.contains(address))).then_some(class)
    }

    /// A policy that allows loopback and plain http to it: for tests, which serve on 127.0.0.1.
    pub fn loopback() -> Policy {
        Policy { allowed_ranges: vec!["127.0.0.1".parse().expect("an address")], plain_http_hosts: BTreeSet::from(["127.0.0.1".to_owned()]), ..Policy::default() }
    }
}

/// Why the guard refused a request before sending it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("`{0}` is not a valid URL")]
    BadUrl(String),
    #[error("{origin} URLs may not use {scheme}")]
    Scheme { origin: Origin, scheme: String },
    #[error("{origin} URLs must use https; the operator has not allowed plain http to {host}")]
    PlainHttp { origin: Origin, host: String },
    #[error("URLs may not carry a user name or password")]
    Credentials,
    #[error("{host} is not among the hosts the operator lets subnet calls reach")]
    UnlistedHost { host: String },
    #[error("{host} resolves to {address}, {class}, which the node does not call unless the operator allows it")]
    Address { host: String, address: IpAddr, class: &'static str },
    #[error("{host} does not resolve: {reason}")]
    Unresolved { host: String, reason: String },
}

/// Resolves a host name to its addresses.
pub trait Lookup: Send + Sync + 'static {
    fn lookup(&self, host: String) -> Pin<Box<dyn Future<Output = std::io::Result<Vec<IpAddr>>> + Send>>;
}

/// The system resolver.
pub struct SystemLookup;

impl Lookup for SystemLookup {
    fn lookup(&self, host: String) -> Pin<Box<dyn Future<Output = std::io::Result<Vec<IpAddr>>> + Send>> {
        Box::pin(async move { Ok(tokio::net::lookup_host((host.as_str(), 0)).await?.map(|socket| socket.ip()).collect()) })
    }
}

/// The resolver the guard's HTTP clients use: it checks every address before any connection,
/// for the origin of the URLs its client is used for.
struct CheckedResolver {
    lookup: Arc<dyn Lookup>,
    policy: Arc<Policy>,
    origin: Origin,
    refused: Arc<AtomicU64>,
}

impl reqwest::dns::Resolve for CheckedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let (lookup, policy, refused, origin) = (self.lookup.clone(), self.policy.clone(), self.refused.clone(), self.origin);
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addresses = lookup.lookup(host.clone()).await?;
            if addresses.is_empty() {
                return Err(format!("{host} has no addresses").into());
            }
            for address in &addresses {
                if let Some(class) = policy.refuses(*address, origin) {
                    refused.fetch_add(1, Ordering::Relaxed);
                    let refusal = Refusal::Address { host: host.clone(), address: *address, class };
                    tracing::warn!(%refusal, "outbound request refused");
                    return Err(Box::new(refusal) as Box<dyn std::error::Error + Send + Sync>);
                }
            }
            let sockets: Vec<SocketAddr> = addresses.into_iter().map(|address| SocketAddr::new(address, 0)).collect();
            Ok(Box::new(sockets.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The guard, shared by everything that calls out. Clones share it.
#[derive(Clone)]
pub struct Guard {
    policy: Arc<Policy>,
    /// HTTP/1.1, or HTTP/2 when a TLS server offers it.
    http: reqwest::Client,
    /// HTTP/2 without TLS (prior knowledge), for endpoints that refuse HTTP/1.1 on plain HTTP.
    h2c: reqwest::Client,
    /// For [`Origin::Operator`] URLs, whose resolver also allows the operator's own ranges.
    operator: reqwest::Client,
    /// For connections the HTTP clients do not make (the chain's WebSocket): see [`Guard::resolve`].
    lookup: Arc<dyn Lookup>,
    refused: Arc<AtomicU64>,
}

impl fmt::Debug for Guard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Guard").field("policy", &self.policy).finish_non_exhaustive()
    }
}

impl Guard {
    /// A guard resolving names with the system resolver.
    pub fn new(policy: Policy) -> Result<Guard, reqwest::Error> {
        Guard::with_lookup(policy, Arc::new(SystemLookup))
    }

    /// A guard resolving names with `lookup`.
    pub fn with_lookup(policy: Policy, lookup: Arc<dyn Lookup>) -> Result<Guard, reqwest::Error> {
        let policy = Arc::new(policy);
        let refused = Arc::new(AtomicU64::new(0));
        let builder = |origin: Origin| {
            let resolver = CheckedResolver { lookup: lookup.clone(), policy: policy.clone(), origin, refused: refused.clone() };
            reqwest::Client::builder()
                .user_agent(concat!("orchestra/", env!("CARGO_PKG_VERSION")))
                .pool_idle_timeout(Duration::from_secs(60))
                .connect_timeout(CONNECT_TIMEOUT)
                .redirect(reqwest::redirect::Policy::none())
                .no_proxy()
                .dns_resolver(Arc::new(resolver))
        };
        Ok(Guard {
            http: builder(Origin::Record).build()?,
            h2c: builder(Origin::Record).http2_prior_knowledge().build()?,
            operator: builder(Origin::Operator).build()?,
            lookup,
            policy,
            refused,
        })
    }

    /// How many requests the guard refused for their address since it started.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }

    /// Checks `url` for its origin: scheme, credentials, and the address of an IP literal
    /// (names are checked when they resolve).
    pub fn check(&self, url: &str, origin: Origin) -> Result<reqwest::Url, Refusal> {
        let refuse = |refusal: Refusal| {
            tracing::warn!(%refusal, url = %excerpt(url.as_bytes()), "outbound request refused");
            self.refused.fetch_add(1, Ordering::Relaxed);
            Err(refusal)
        };
        let Ok(parsed) = reqwest::Url::parse(url) else { return refuse(Refusal::BadUrl(excerpt(url.as_bytes()))) };
        let Some(host) = parsed.host_str().map(|host| host.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase()) else {
            return refuse(Refusal::BadUrl(excerpt(url.as_bytes())));
        };
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return refuse(Refusal::Credentials);
        }
        let scheme = parsed.scheme();
        let allowed = match origin {
            Origin::Record => match scheme {
                "https" => true,
                "http" if self.policy.plain_http_hosts.contains(&host) => true,
                "http" => return refuse(Refusal::PlainHttp { origin, host }),
                _ => false,
            },
            Origin::Axon => matches!(scheme, "http" | "https"),
            Origin::Operator => matches!(scheme, "http" | "https" | "ws" | "wss"),
        };
        if !allowed {
            return refuse(Refusal::Scheme { origin, scheme: scheme.to_owned() });
        }
        if origin == Origin::Record && self.policy.record_hosts.as_ref().is_some_and(|hosts| !hosts.contains(&host)) {
            return refuse(Refusal::UnlistedHost { host });
        }
        if let Ok(address) = host.parse::<IpAddr>() {
            if let Some(class) = self.policy.refuses(address, origin) {
                return refuse(Refusal::Address { host, address, class });
            }
        }
        Ok(parsed)
    }

    /// The addresses a connection to `url` of `origin` may go to, for a client that connects
    /// by itself (the chain's WebSocket): the URL checked as [`Guard::check`] does, then every
    /// address its host resolves to checked as the HTTP clients' resolver checks them (a name
    /// with one forbidden address is refused whole). The caller connects to one of them.
    pub async fn resolve(&self, url: &str, origin: Origin) -> Result<(reqwest::Url, Vec<IpAddr>), Refusal> {
        let parsed = self.check(url, origin)?;
        let host = parsed.host_str().unwrap_or_default().trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
        if let Ok(address) = host.parse::<IpAddr>() {
            return Ok((parsed, vec![address]));
        }
        let unresolved = |reason: String| Refusal::Unresolved { host: host.clone(), reason };
        let addresses = self.lookup.lookup(host.clone()).await.map_err(|error| unresolved(error.to_string()))?;
        if addresses.is_empty() {
            return Err(unresolved("no addresses".into()));
        }
        if let Some((address, class)) = addresses.iter().find_map(|address| Some((*address, self.policy.refuses(*address, origin)?))) {
            self.refused.fetch_add(1, Ordering::Relaxed);
            let refusal = Refusal::Address { host, address, class };
            tracing::warn!(%refusal, "outbound connection refused");
            return Err(refusal);
        }
        Ok((parsed, addresses))
    }

    /// A request to a checked URL.
    pub fn request(&self, method: reqwest::Method, url: &str, origin: Origin) -> Result<reqwest::RequestBuilder, Refusal> {
        self.request_over(method, url, origin, false)
    }

    /// A request to a checked URL, over HTTP/2 only when `http2_only` (prior knowledge on plain
    /// http, negotiated on https).
    pub fn request_over(&self, method: reqwest::Method, url: &str, origin: Origin, http2_only: bool) -> Result<reqwest::RequestBuilder, Refusal> {
        let url = self.check(url, origin)?;
        let client = match origin {
            Origin::Operator => &self.operator,
            _ if http2_only && url.scheme() == "http" => &self.h2c,
            _ => &self.http,
        };
        let builder = client.request(method, url);
        Ok(if http2_only { builder.version(http::Version::HTTP_2) } else { builder })
    }

    pub fn get(&self, url: &str, origin: Origin) -> Result<reqwest::RequestBuilder, Refusal> {
        self.request(reqwest::Method::GET, url, origin)
    }

    pub fn post(&self, url: &str, origin: Origin) -> Result<reqwest::RequestBuilder, Refusal> {
        self.request(reqwest::Method::POST, url, origin)
    }
}

/// Why a body could not be read whole.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("the answer is larger than {0} bytes")]
    TooLarge(usize),
    #[error("the answer broke off: {0}")]
    Transport(String),
}

/// Reads `response`'s body, refusing it once it passes `cap` bytes (announced or received).
pub async fn read_capped(mut response: reqwest::Response, cap: usize) -> Result<Vec<u8>, BodyError> {
    if response.content_length().is_some_and(|length| length > cap as u64) {
        return Err(BodyError::TooLarge(cap));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|error| BodyError::Transport(describe(&error)))? {
        if body.len() + chunk.len() > cap {
            return Err(BodyError::TooLarge(cap));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A transport error with its causes, which reqwest keeps in the source chain.
pub fn describe(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    clean(text.as_bytes(), DESCRIPTION_CHARS)
}

/// Remote words fit for a caller: printable characters only, whitespace collapsed, at most
/// [`EXCERPT_CHARS`] characters.
pub fn excerpt(bytes: &[u8]) -> String {
    clean(bytes, EXCERPT_CHARS)
}

/// `bytes` as text with control characters gone, whitespace collapsed, cut at `limit`
/// characters (with an ellipsis when cut).
fn clean(bytes: &[u8], limit: usize) -> String {
    let text = String::from_utf8_lossy(bytes);
    let words = text.split(|c: char| c.is_whitespace() || c.is_control()).filter(|word| !word.is_empty());
    let mut characters = words.enumerate().flat_map(|(index, word)| (index > 0).then_some(' ').into_iter().chain(word.chars()));
    let mut cleaned: String = characters.by_ref().take(limit).collect();
    if characters.next().is_some() {
        cleaned.push('…');
    }
    cleaned
}
