//! `orchestra execute`: one orchestration from the command line, run on this machine over the
//! local ledger (drawing its progress on a terminal), or sent to a node with `--server`; and
//! the orchestrator settings that `serve` shares.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use ledger::Options;
use orchestra_client::{Client, ClientError};
use orchestrator::outbound::address::AddressRange;
use orchestrator::outbound::{Guard, Policy};
use orchestrator::execute::budget::TaoPrice;
use orchestrator::orchestrate::{Config, Orchestrator, Request};
use orchestrator::progress::Watcher;
use orchestrator::execute::price::OperatorPrice;
use orchestrator::ranking::Writer;
use orchestrator::tao_price::Feed;
use orchestrator::route::Catalog;
use serde_json::{json, Value};

use crate::cli::{print_json, CliError};
use crate::identity::HotkeyArgs;
use crate::node;

/// How this node orchestrates. Subnet API keys come from the environment (or the config
/// file): `ORCHESTRA_SN<N>_KEY`, or `DESEARCH_API_KEY`, `MACROCOSMOS_API_KEY`,
/// `CHUTES_API_KEY`; an LLM subnet's model from `ORCHESTRA_SN<N>_MODEL`.
#[derive(Args)]
pub struct OrchestratorArgs {
    /// TAO price in US dollars, for turning subnets' dollar prices into rao when the price feed
    /// cannot be read (or there is none).
    #[arg(long, env = "ORCHESTRA_TAO_USD", default_value_t = 300.0)]
    tao_usd: f64,
    /// Where the TAO price is read: a URL answering JSON with the US dollar price of one TAO
    /// at --tao-price-pointer (Chutes' fair market value by default); `none` for --tao-usd only.
    #[arg(long, env = "ORCHESTRA_TAO_PRICE_URL", default_value = orchestrator::tao_price::DEFAULT_FEED_URL)]
    tao_price_url: String,
    /// Where the feed's JSON answer holds the price (an RFC 6901 pointer).
    #[arg(long, env = "ORCHESTRA_TAO_PRICE_POINTER", default_value = orchestrator::tao_price::DEFAULT_FEED_POINTER)]
    tao_price_pointer: String,
    /// The hotkey that signs receipts; without one, the node makes and keeps one beside its
    /// data directory.
    #[command(flatten)]
    pub(crate) hotkey: HotkeyArgs,
    /// Longest deadline a request may ask for, in milliseconds.
    #[arg(long, env = "ORCHESTRA_MAX_DEADLINE_MS", default_value_t = 300_000)]
    max_deadline_ms: u64,
    /// The LLM endpoints that plan and write, in the order preferred: `sn64` for any of a
    /// subnet's, `sn64/chat-completions` for one; repeat or separate with commas. Without a
    /// preference, endpoints that enforce JSON schemas come first.
    #[arg(long = "writer", env = "ORCHESTRA_WRITERS", value_delimiter = ',')]
    writers: Vec<Writer>,
    /// A price for an endpoint its ledger record leaves unpriced, so that budgets bind on it:
    /// `sn13/on-demand-x=item:0.00005` (per request, thousand_tokens or item, in US dollars);
    /// repeat or separate with commas. A record's own price always wins.
    #[arg(long = "price", env = "ORCHESTRA_PRICES", value_delimiter = ',')]
    prices: Vec<OperatorPrice>,
    #[command(flatten)]
    pub(crate) outbound: OutboundArgs,
}

/// What outbound calls may reach beyond public https hosts (see `orchestrator::outbound`).
#[derive(Args, Clone)]
pub struct OutboundArgs {
    /// An address or CIDR range that may be called although it is not public (loopback,
    /// private, link-local...); repeat or separate with commas.
    #[arg(long = "allow-address", env = "ORCHESTRA_ALLOW_ADDRESSES", value_delimiter = ',')]
    allow_addresses: Vec<AddressRange>,
    /// An address or CIDR range that only the URLs given here (a primary ledger node, the
    /// ledger under review) may call although it is not public; ledger records and axons may
    /// not. Repeat or separate with commas.
    #[arg(long = "allow-operator-address", env = "ORCHESTRA_ALLOW_OPERATOR_ADDRESSES", value_delimiter = ',')]
    allow_operator_addresses: Vec<AddressRange>,
    /// A host that ledger endpoint URLs may call over plain http; repeat or separate with commas.
    #[arg(long = "allow-http-host", env = "ORCHESTRA_ALLOW_HTTP_HOSTS", value_delimiter = ',')]
    allow_http_hosts: Vec<String>,
    /// The only hosts subnet calls may reach, whatever the ledger's records say; repeat or
    /// separate with commas. Unset: any public host (keys still go only to their bound hosts).
    #[arg(long = "subnet-host", env = "ORCHESTRA_SUBNET_HOSTS", value_delimiter = ',')]
    subnet_hosts: Option<Vec<String>>,
}

impl OutboundArgs {
    pub fn policy(&self) -> Policy {
        let lowercase = |hosts: &[String]| hosts.iter().map(|host| host.to_ascii_lowercase()).collect();
        Policy {
            allowed_ranges: self.allow_addresses.clone(),
            operator_ranges: self.allow_operator_addresses.clone(),
            plain_http_hosts: lowercase(&self.allow_http_hosts),
            record_hosts: self.subnet_hosts.as_deref().map(lowercase),
        }
    }

    pub fn guard(&self) -> Result<Guard, CliError> {
        Guard::new(self.policy()).map_err(|error| CliError::Usage(format!("cannot start the HTTP client: {error}")))
    }
}

impl OrchestratorArgs {
    pub fn orchestrator(&self, data: &Path) -> Result<Orchestrator, CliError> {
        let hotkey = self.hotkey.node_hotkey(data)?;
        self.orchestrator_signed_by(hotkey)
    }

    /// The orchestrator these settings make, its receipts signed by `hotkey`.
    pub fn orchestrator_signed_by(&self, hotkey: ledger::hotkey::Hotkey) -> Result<Orchestrator, CliError> {
        if !(self.tao_usd.is_finite() && self.tao_usd > 0.0) {
            return Err(CliError::Usage(format!("--tao-usd must be a positive price, not {}", self.tao_usd)));
        }
        let config = Config {
            tao_price: TaoPrice { usd_micros_per_tao: (self.tao_usd * 1e6).round() as u64 },
            tao_feed: self.tao_feed(),
            max_deadline: Duration::from_millis(self.max_deadline_ms),
            outbound: self.outbound.policy(),
            writers: self.writers.clone(),
            prices: self.prices.clone(),
            ..Config::default()
        };
        Orchestrator::new(node::credentials(), hotkey, config).map_err(|error| CliError::Usage(format!("cannot start the HTTP client: {error}")))
    }

    /// The TAO price feed these settings name, if any.
    fn tao_feed(&self) -> Option<Feed> {
        let url = self.tao_price_url.trim();
        (!url.is_empty() && url != "none").then(|| Feed { url: url.to_owned(), pointer: self.tao_price_pointer.clone() })
    }

    /// The TAO price in US dollars these settings use.
    pub fn tao_usd(&self) -> f64 {
        self.tao_usd
    }
}

#[derive(Args)]
pub struct ExecuteArgs {
    /// What to find out or do, in plain words.
    objective: String,
    /// File holding the target schema: full JSON Schema or the compact form.
    #[arg(long)]
    schema: PathBuf,
    /// Most rao the subnet calls may cost.
    #[arg(long)]
    budget_rao: Option<u64>,
    /// Time allowed, in milliseconds.
    #[arg(long)]
    deadline_ms: Option<u64>,
    /// Send the request to the node at this URL instead of running it here.
    #[arg(long, env = "ORCHESTRA_URL")]
    server: Option<String>,
    /// API key paying the node at `--server`.
    #[arg(long, env = "ORCHESTRA_API_KEY", hide_env_values = true)]
    api_key: Option<String>,
    #[command(flatten)]
    orchestrator: OrchestratorArgs,
}

impl ExecuteArgs {
    pub fn run(self, data: &Path) -> Result<(), CliError> {
        let text = std::fs::read_to_string(&self.schema).map_err(|source| CliError::Read { path: self.schema.display().to_string(), source })?;
        let target_schema: Value = serde_json::from_str(&text).map_err(|source| CliError::Json { what: self.schema.display().to_string(), source })?;
        let runtime = tokio::runtime::Runtime::new().map_err(|error| CliError::Usage(format!("cannot start the runtime: {error}")))?;
        match &self.server {
            Some(url) => runtime.block_on(self.run_remote(url, target_schema)),
            None => runtime.block_on(self.run_local(data, target_schema)),
        }
    }

    async fn run_local(&self, data: &Path, target_schema: Value) -> Result<(), CliError> {
        let orchestrator = self.orchestrator.orchestrator(data)?;
        // One reading; a feed that cannot be read leaves the static price, which the answer names.
        let _ = orchestrator.tao_prices().refresh(orchestrator.guard()).await;
        let catalog = {
            let (ledger, _) = node::open_or_seed(data, Options::default())?;
            Catalog::read(&ledger)?
        };
        let request = Request { objective: self.objective.clone(), target_schema, budget_rao: self.budget_rao, deadline_ms: self.deadline_ms, nonce: None, include_evidence: false };
        let (events, received) = tokio::sync::mpsc::unbounded_channel();
        let drawing = tokio::spawn(crate::live::draw(received));
        let result = orchestrator.run_watched(&catalog, request, Watcher::new(events)).await;
        // The run's end closed the channel; the last lines are drawn before the JSON.
        let _ = drawing.await;
        match result {
            Ok(outcome) => print_json(&outcome),
            Err(error) => {
                if let Some(trace) = &error.trace {
                    print_json(&json!({ "error": { "code": error.failure.code(), "message": error.failure.to_string() }, "trace": trace }))?;
                }
                Err(CliError::Usage(error.failure.to_string()))
            }
        }
    }

    async fn run_remote(&self, url: &str, target_schema: Value) -> Result<(), CliError> {
        let client = match &self.api_key {
            Some(api_key) => Client::new(url, api_key),
            None => Client::without_key(url),
        };
        let request = orchestra_client::Request { objective: self.objective.clone(), target_schema, budget_rao: self.budget_rao, deadline_ms: self.deadline_ms, include_evidence: false };
        match client.run(&request).await {
            Ok(answer) => print_json(&json!({
                "result": answer.result,
                "plan": answer.plan,
                "calls": answer.calls,
                "receipts": answer.receipts,
                "cost": { "subnet_calls_rao": answer.cost.subnet_calls_rao, "fee_rao": answer.cost.fee_rao, "total_rao": answer.cost.total_rao },
                "timings": answer.timings,
                "synthesis": answer.synthesis,
                "payment": answer.payment,
            })),
            Err(ClientError::Api { details: Some(details), status, code, message }) => {
                print_json(&json!({ "error": { "status": status, "code": code, "message": message, "details": details } }))?;
                Err(CliError::Usage(format!("the node answered {status} {code}: {message}")))
            }
            Err(error) => Err(CliError::Usage(error.to_string())),
        }
    }
}
