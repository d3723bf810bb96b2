//! `orchestra serve`: the ledger node's HTTP API until Ctrl-C or SIGTERM. Shutdown lets
//! requests in flight finish; every acknowledged write was committed before its answer.

use std::net::SocketAddr;
use std::path::Path;

use axum::serve::ListenerExt;
use clap::Args;
use ledger::Options;
use orchestrator::chain::ChainClient;

use crate::api::paid::Pricing;
use crate::api::{self, AppState};
use crate::cli::CliError;
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
    price_proof_rao: u64,
    /// SS58 address that on-chain (`exact`) payments are asked to go to.
    #[arg(long, env = "ORCHESTRA_PAY_TO")]
    pay_to: Option<String>,
    /// Network named in payment requirements.
    #[arg(long, env = "ORCHESTRA_NETWORK", default_value = "bittensor:finney")]
    network: String,
    /// Fee of one orchestration in rao, on top of its subnet calls' cost; 0 makes
    /// orchestrations free.
    #[arg(long, env = "ORCHESTRA_ORCHESTRATE_FEE_RAO", default_value_t = 0)]
    orchestrate_fee_rao: u64,
    #[command(flatten)]
    pub(crate) orchestrator: OrchestratorArgs,
    /// JSON-RPC endpoint of a subtensor node (ws://, wss://, http(s)://): with it (and
    /// `--pay-to`) the node verifies and settles on-chain `exact` payments.
    #[arg(long, env = "ORCHESTRA_CHAIN_URL")]
    pub(crate) chain_url: Option<String>,
}

impl ServeArgs {
    pub fn run(self, data: &Path) -> Result<(), CliError> {
        init_logging();
        let runtime = runtime()?;
        let (state, _) = self.state(data, &runtime, true)?;
        runtime.block_on(serve(self.listen, api::router(state)))
    }

    /// The node's state (ledger, pricing, orchestrator, settlement) and its chain connection
    /// when `--chain-url` is given. A chain connection is for settling payments, so it needs
    /// `--pay-to`, unless `settles_only` is false (a miner also reads the metagraph with it).
    pub(crate) fn state(&self, data: &Path, runtime: &tokio::runtime::Runtime, settles_only: bool) -> Result<(AppState, Option<ChainClient>), CliError> {
        let (ledger, seeded) = node::open_or_seed(data, Options { retention: self.retention, ..Options::default() })?;
        tracing::info!(version = ledger.head().version, root = %ledger.head().state_root, seeded, "ledger open");
        if let Some(pay_to) = &self.pay_to {
            ledger::hotkey::ss58_decode(pay_to).map_err(|error| CliError::Usage(format!("--pay-to: {error}")))?;
        }
        let orchestrator = self.orchestrator.orchestrator(data)?;
        tracing::info!(miner = %orchestrator.miner(), "receipts are signed by this hotkey");
        let pricing = Pricing {
            proof_read_rao: self.price_proof_rao,
            orchestrate_fee_rao: self.orchestrate_fee_rao,
            pay_to: self.pay_to.clone(),
            network: self.network.clone(),
        };
        let mut state = AppState::new(ledger, pricing).with_orchestrator(orchestrator);
        let chain = match &self.chain_url {
            Some(url) => {
                let chain = runtime.block_on(ChainClient::connect(url))?;
                tracing::info!(url, genesis = ?chain.genesis_hash(), "connected to the chain");
                if settles_only || self.pay_to.is_some() {
                    state = state.with_chain(chain.clone())?;
                }
                Some(chain)
            }
            None => None,
        };
        Ok((state, chain))
    }
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

/// Serves `router` on `listen` until Ctrl-C or SIGTERM.
pub async fn serve(listen: SocketAddr, router: axum::Router) -> Result<(), CliError> {
    let listener = tokio::net::TcpListener::bind(listen).await.map_err(|error| CliError::Usage(format!("cannot listen on {listen}: {error}")))?;
    // Printed on stdout so that scripts and tests learn the port when it was 0.
    println!("listening on {}", listener.local_addr().map_err(|error| CliError::Usage(error.to_string()))?);
    // Answers are small and written whole: Nagle's algorithm would only hold them back, up to a
    // delayed ACK (40 ms on Linux), behind a client's previous segment.
    let listener = listener.tap_io(|stream| {
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "cannot set TCP_NODELAY");
        }
    });
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(|error| CliError::Usage(format!("the server failed: {error}")))
}

async fn shutdown_signal() {
    let interrupt = async { tokio::signal::ctrl_c().await.expect("Ctrl-C can be awaited") };
    let terminate = async {
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM can be awaited").recv().await;
    };
    tokio::select! { () = interrupt => {}, _ = terminate => {} }
    tracing::info!("shutting down");
}
