//! `orchestra serve`: the ledger node's HTTP API until Ctrl-C or SIGTERM. Shutdown lets
//! requests in flight finish; every acknowledged write was committed before its answer.

use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use ledger::Options;
use subnet::chain::{ChainClient, Metagraph};
use orchestrator::outbound::Guard;
use orchestrator::tao_price::TaoPrices;

use crate::api::orchestrate::Limits;
use crate::api::paid::Pricing;
use crate::api::proposers::{ProposerGate, Quota};
use crate::api::{self, AppState};
use crate::cli::CliError;
use crate::greeting::Greeting;
use crate::node;
use crate::orchestrate_cmd::OrchestratorArgs;

#[derive(Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "ORCHESTRA_LISTEN", default_value = "127.0.0.1:8080")]
    pub(crate) listen: SocketAddr,
    /// Keep only this many most recent versions readable; all by default.
    #[arg(long, env = "ORCHESTRA_RETENTION")]
    retention: Option<u64>,
    /// Price of one proof-carrying read, in rao; 0 makes such reads free.
    #[arg(long, env = "ORCHESTRA_PRICE_PROOF_RAO", default_value_t = 0)]
    pub(crate) price_proof_rao: u64,
    /// SS58 address that on-chain (`exact`) payments are asked to go to.
    #[arg(long, env = "ORCHESTRA_PAY_TO")]
    pub(crate) pay_to: Option<String>,
    /// Network named in payment requirements.
    #[arg(long, env = "ORCHESTRA_NETWORK", default_value = "bittensor:finney")]
    network: String,
    /// Fee of one orchestration in rao, on top of its subnet calls' cost; 0 makes
    /// orchestrations free.
    #[arg(long, env = "ORCHESTRA_ORCHESTRATE_FEE_RAO", default_value_t = 0)]
    pub(crate) orchestrate_fee_rao: u64,
    /// The subnet-call budget, in rao, an orchestration that names none is quoted when paid on
    /// chain (beside the fee); what it does not spend stays the payer's credit.
    #[arg(long, env = "ORCHESTRA_ORCHESTRATE_BUDGET_RAO", default_value_t = 20_000_000)]
    pub(crate) orchestrate_budget_rao: u64,
    #[command(flatten)]
    pub(crate) orchestrator: OrchestratorArgs,
    /// JSON-RPC endpoint of a subtensor node (ws://, wss://, http(s)://): with it (and
    /// `--pay-to`) the node verifies and settles on-chain `exact` payments.
    #[arg(long, env = "ORCHESTRA_CHAIN_URL")]
    pub(crate) chain_url: Option<String>,
    /// The Orchestra subnet's netuid: with `--chain-url`, the hotkeys registered on it may
    /// propose diffs (read from the metagraph and refreshed every `--refresh-secs`).
    #[arg(long, env = "ORCHESTRA_NETUID")]
    pub(crate) netuid: Option<u16>,
    /// How often to read the subnet's metagraph again, in seconds.
    #[arg(long, env = "ORCHESTRA_REFRESH_SECS", default_value_t = 600)]
    pub(crate) refresh_secs: u64,
    /// Most diffs one proposer may submit per hour.
    #[arg(long, env = "ORCHESTRA_PROPOSER_DIFFS_PER_HOUR", default_value_t = Quota::default().diffs)]
    proposer_diffs_per_hour: u32,
    /// Most orchestrations running at once.
    #[arg(long, env = "ORCHESTRA_MAX_ORCHESTRATIONS", default_value_t = Limits::default().overall)]
    max_orchestrations: usize,
    /// Most orchestrations running at once on one API key.
    #[arg(long, env = "ORCHESTRA_MAX_ORCHESTRATIONS_PER_KEY", default_value_t = Limits::default().per_key)]
    max_orchestrations_per_key: usize,
    /// Serve orchestrations without payment although the node listens beyond loopback and
    /// charges no fee (anyone reaching it then spends its subnet keys).
    #[arg(long, env = "ORCHESTRA_FREE_ORCHESTRATIONS")]
    pub(crate) free_orchestrations: bool,
    /// Most bytes of values one proposer may submit per hour.
    #[arg(long, env = "ORCHESTRA_PROPOSER_BYTES_PER_HOUR", default_value_t = Quota::default().bytes)]
    proposer_bytes_per_hour: u64,
}

impl ServeArgs {
    pub fn run(self, data: &Path) -> Result<(), CliError> {
        init_logging();
        let runtime = runtime()?;
        let (state, chain, greeting) = self.state(data, &runtime, true)?;
        if let (Some(chain), Some(netuid)) = (chain, self.netuid) {
            let gate = state.proposers().clone();
            follow_metagraph(&runtime, chain, netuid, self.refresh(), move |metagraph| gate.admit_registered(metagraph));
        }
        runtime.block_on(serve(self.listen, api::router(state), |address| greeting.lines(address)))
    }

    pub(crate) fn refresh(&self) -> Duration {
        Duration::from_secs(self.refresh_secs.max(1))
    }

    /// The node's state (ledger, pricing, orchestrator, settlement), its chain connection
    /// when `--chain-url` is given, and what it tells on start. A chain connection is for settling payments, so it needs
    /// `--pay-to`, unless `settles_only` is false (a miner also reads the metagraph with it).
    pub(crate) fn state(&self, data: &Path, runtime: &tokio::runtime::Runtime, settles_only: bool) -> Result<(AppState, Option<ChainClient>, Greeting), CliError> {
        let (ledger, seeded) = node::open_or_seed(data, Options { retention: self.retention, ..Options::default() })?;
        tracing::info!(version = ledger.head().version, root = %ledger.head().state_root, seeded, "ledger open");
        if let Some(pay_to) = &self.pay_to {
            ledger::hotkey::ss58_decode(pay_to).map_err(|error| CliError::Usage(format!("--pay-to: {error}")))?;
        }
        let orchestrator = self.orchestrator.orchestrator(data)?;
        tracing::info!(miner = %orchestrator.miner(), "receipts are signed by this hotkey");
        let guard = orchestrator.guard().clone();
        follow_tao_price(runtime, orchestrator.tao_prices(), guard.clone());
        let greeting = Greeting::read(&ledger, &orchestrator, seeded)?;
        let pricing = Pricing {
            proof_read_rao: self.price_proof_rao,
            orchestrate_fee_rao: self.orchestrate_fee_rao,
            orchestrate_budget_rao: self.orchestrate_budget_rao,
            pay_to: self.pay_to.clone(),
            network: self.network.clone(),
        };
        let quota = Quota { window: Duration::from_secs(3600), diffs: self.proposer_diffs_per_hour, bytes: self.proposer_bytes_per_hour };
        let free = self.free_orchestrations || self.listen.ip().is_loopback() || self.orchestrate_fee_rao > 0;
        if !free {
            tracing::warn!(listen = %self.listen, "no orchestration fee and a public listener: unpaid orchestrations are refused (--orchestrate-fee-rao, or --free-orchestrations)");
        }
        let limits = Limits { overall: self.max_orchestrations.max(1), per_key: self.max_orchestrations_per_key.max(1), free };
        let mut state = AppState::new(ledger, pricing).with_orchestrator_limited(orchestrator, limits).with_proposers(Arc::new(ProposerGate::new(quota)));
        let chain = match &self.chain_url {
            Some(url) => {
                let chain = runtime.block_on(ChainClient::connect(&guard, url))?;
                tracing::info!(url, genesis = ?chain.genesis_hash(), "connected to the chain");
                if settles_only || self.pay_to.is_some() {
                    state = state.with_chain(chain.clone())?;
                }
                Some(chain)
            }
            None => None,
        };
        Ok((state, chain, greeting))
    }
}

/// How often the TAO price feed is read while the node serves.
const TAO_PRICE_REFRESH: Duration = Duration::from_secs(600);

/// Reads the TAO price feed now and every [`TAO_PRICE_REFRESH`]; a failed reading keeps the
/// last good one until it is too old (see `orchestrator::tao_price`).
fn follow_tao_price(runtime: &tokio::runtime::Runtime, prices: Arc<TaoPrices>, guard: Guard) {
    if prices.feed().is_none() {
        return;
    }
    runtime.spawn(async move {
        loop {
            if let Ok(price) = prices.refresh(&guard).await {
                tracing::info!(usd = price.usd_micros_per_tao as f64 / 1e6, "TAO price read from the feed");
            }
            tokio::time::sleep(TAO_PRICE_REFRESH).await;
        }
    });
}

/// Reads `netuid`'s metagraph now and every `refresh`, handing each read to `apply`; a failed
/// read keeps what the last one gave.
pub(crate) fn follow_metagraph(runtime: &tokio::runtime::Runtime, chain: ChainClient, netuid: u16, refresh: Duration, apply: impl Fn(&Metagraph) + Send + 'static) {
    runtime.spawn(async move {
        loop {
            match chain.metagraph(netuid, None).await {
                Ok(metagraph) => apply(&metagraph),
                Err(error) => tracing::warn!(%error, netuid, "could not read the metagraph; keeping the last one"),
            }
            tokio::time::sleep(refresh).await;
        }
    });
}

/// The multi-threaded runtime the node's commands run on.
pub fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Runtime::new().map_err(|error| CliError::Usage(format!("cannot start the runtime: {error}")))
}

/// Structured logs on stderr, filtered by `RUST_LOG` (default `info`).
pub fn init_logging() {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
}

/// Longest a client may take to send a request's headers, counted from when the connection is
/// ready for them: a new connection, or a kept-alive one after its last answer. A client that
/// trickles its headers (or holds an idle connection) is cut off after it.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Most connections served at once; later ones wait in the kernel's backlog.
pub const MAX_CONNECTIONS: usize = 4096;
/// The connection's read buffer, and so the largest request head (request line and headers).
const MAX_HEADER_BYTES: usize = 64 << 10;
/// The last line printed before serving.
pub const SERVING: &str = "serving until Ctrl-C or SIGTERM";
/// How long requests in flight may take to finish once shutdown begins.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// Serves `router` over HTTP/1.1 on `listen` until Ctrl-C or SIGTERM, with the bounds above,
/// after printing `listening on ADDR` and then the `greeting`'s lines for that address.
pub async fn serve(listen: SocketAddr, router: axum::Router, greeting: impl FnOnce(SocketAddr) -> Vec<String>) -> Result<(), CliError> {
    let listener = tokio::net::TcpListener::bind(listen).await.map_err(|error| CliError::Usage(format!("cannot listen on {listen}: {error}")))?;
    let address = listener.local_addr().map_err(|error| CliError::Usage(error.to_string()))?;
    // Printed on stdout first so that scripts and tests learn the port when it was 0. A
    // closed stdout (a supervisor that read the first line and left) must not stop the node,
    // so write errors are ignored.
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "listening on {address}");
    for line in greeting(address) {
        let _ = writeln!(stdout, "{line}");
    }
    let _ = writeln!(stdout, "{SERVING}");
    let _ = stdout.flush();
    drop(stdout);
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(hyper_util::rt::TokioTimer::new()).header_read_timeout(HEADER_READ_TIMEOUT).max_buf_size(MAX_HEADER_BYTES);
    let connections = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown_signal());
    loop {
        let permit = tokio::select! {
            permit = connections.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    // Out of file descriptors, say: wait a little rather than spin.
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Answers are small and written whole: Nagle's algorithm would only hold them back, up
        // to a delayed ACK (40 ms on Linux), behind a client's previous segment.
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "cannot set TCP_NODELAY");
        }
        let service = hyper_util::service::TowerToHyperService::new(router.clone());
        let connection = graceful.watch(http.serve_connection(hyper_util::rt::TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown()).await.is_err() {
        tracing::warn!("requests still running after the shutdown grace period were cut off");
    }
    Ok(())
}

async fn shutdown_signal() {
    let interrupt = async { tokio::signal::ctrl_c().await.expect("Ctrl-C can be awaited") };
    let terminate = async {
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM can be awaited").recv().await;
    };
    tokio::select! { () = interrupt => {}, _ = terminate => {} }
    tracing::info!("shutting down");
}
