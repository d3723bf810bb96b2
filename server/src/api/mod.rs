//! The ledger node's HTTP API, versioned under `/v1`, JSON in and out.
//!
//! Handlers are thin: they parse the request, run one ledger call on a blocking thread (a
//! ledger call may read RocksDB or rebuild a past version's trees) and shape the answer.
//! Every error is `{"error": {"code", "message"}}` with the status that fits it
//! ([`error::ApiError`]). The routes are listed, with their parameters and answers, in the
//! OpenAPI document served at `/openapi.json`.

mod body_limit;
pub mod codes;
pub mod error;
mod idempotency;
mod metrics;
pub mod miner;
mod openapi;
pub mod orchestrate;
pub mod paid;
pub mod proposers;
mod reads;
mod replication;
mod served;
pub mod settling;
mod stream;
mod writes;

use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use ledger::Ledger;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use error::{ApiError, Code};
use subnet::chain::ChainClient;
use paid::{Pricing, Settlement, SettlementError};

/// Largest request body: a diff at its limit of values plus its JSON overhead.
pub const MAX_BODY_BYTES: usize = 4 << 20;
/// Longest a request may take before it is answered with 408 (orchestrations excepted).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Time an orchestration may take beyond the node's longest deadline, for synthesis and
/// settlement.
const ORCHESTRATE_TIMEOUT_MARGIN: Duration = Duration::from_secs(30);

/// What every handler shares: the open ledger, and on a replica the primary that takes writes;
/// on a node connected to the chain, what settles `exact` payments.
#[derive(Clone)]
pub struct AppState {
    ledger: Arc<RwLock<Ledger>>,
    primary: Option<Arc<str>>,
    pricing: Arc<Pricing>,
    settlement: Option<Settlement>,
    orchestration: Option<Arc<orchestrate::Orchestration>>,
    miner: Option<Arc<miner::MinerAccess>>,
    proposers: Arc<proposers::ProposerGate>,
    /// Hotkey-signed payments already served (see [`paid`]).
    payer_replays: Arc<subnet::epistula::ReplayCache>,
    /// Places for proofs at older versions being built (see [`reads`]).
    historical_proofs: Arc<tokio::sync::Semaphore>,
    /// Places for snapshot exports (see [`replication`]).
    snapshots: Arc<tokio::sync::Semaphore>,
    /// Places for `exact` payments being settled.
    settlements: settling::SettlementPlaces,
    metrics: Arc<metrics::Metrics>,
}

impl AppState {
    pub fn new(ledger: Ledger, pricing: Pricing) -> AppState {
        AppState {
            ledger: Arc::new(RwLock::new(ledger)),
            primary: None,
            pricing: Arc::new(pricing),
            settlement: None,
            orchestration: None,
            miner: None,
            proposers: Arc::new(proposers::ProposerGate::new(proposers::Quota::default())),
            payer_replays: Arc::new(subnet::epistula::ReplayCache::new(subnet::epistula::DEFAULT_MAX_AGE_MS)),
            historical_proofs: Arc::new(tokio::sync::Semaphore::new(reads::HISTORICAL_PROOFS_IN_FLIGHT)),
            snapshots: Arc::new(tokio::sync::Semaphore::new(replication::SNAPSHOTS_IN_FLIGHT)),
            settlements: settling::SettlementPlaces::default(),
            metrics: Default::default(),
        }
    }

    /// Admits diffs through `gate` (registered hotkeys, quotas).
    pub fn with_proposers(self, gate: Arc<proposers::ProposerGate>) -> AppState {
        AppState { proposers: gate, ..self }
    }

    pub fn proposers(&self) -> &Arc<proposers::ProposerGate> {
        &self.proposers
    }

    /// A place for a snapshot export, or a 429 when all are taken.
    fn snapshot_slot(&self) -> Result<tokio::sync::OwnedSemaphorePermit, ApiError> {
        self.snapshots.clone().try_acquire_owned().map_err(|_| {
            ApiError::new(axum::http::StatusCode::TOO_MANY_REQUESTS, Code::SnapshotsBusy, format!("{} snapshots are being exported; retry shortly", replication::SNAPSHOTS_IN_FLIGHT))
                .with_header("retry-after", "5".into())
        })
    }

    /// A place to build a proof at an older version, or a 429 when all are taken.
    fn historical_proof_slot(&self) -> Result<tokio::sync::OwnedSemaphorePermit, ApiError> {
        self.historical_proofs.clone().try_acquire_owned().map_err(|_| {
            ApiError::new(
                axum::http::StatusCode::TOO_MANY_REQUESTS,
                Code::HistoricalProofsBusy,
                format!("{} proofs at older versions are being built; retry shortly, or read at the head", reads::HISTORICAL_PROOFS_IN_FLIGHT),
            )
            .with_header("retry-after", "1".into())
        })
    }

    /// The state of a replica: it serves reads, free, and sends writers to `primary`.
    pub fn replica(ledger: Ledger, primary: &str) -> AppState {
        AppState { primary: Some(primary.into()), ..AppState::new(ledger, Pricing::default()) }
    }

    /// Settles `exact` payments for paid reads through `chain`, to the pricing's `pay_to`.
    pub fn with_chain(self, chain: ChainClient) -> Result<AppState, SettlementError> {
        let settlement = Settlement::new(chain, &self.pricing)?;
        Ok(AppState { settlement: Some(settlement), ..self })
    }

    /// Serves `POST /v1/orchestrate` with `orchestrator`, within the default limits.
    pub fn with_orchestrator(self, orchestrator: orchestrator::orchestrate::Orchestrator) -> AppState {
        self.with_orchestrator_limited(orchestrator, orchestrate::Limits::default())
    }

    /// Serves `POST /v1/orchestrate` with `orchestrator`, within `limits`.
    pub fn with_orchestrator_limited(self, orchestrator: orchestrator::orchestrate::Orchestrator, limits: orchestrate::Limits) -> AppState {
        AppState { orchestration: Some(Arc::new(orchestrate::Orchestration::new(orchestrator, limits))), ..self }
    }

    /// Answers validators' challenges as a miner of the subnet (see [`miner`]).
    pub fn with_miner(self, miner: Arc<miner::MinerAccess>) -> AppState {
        AppState { miner: Some(miner), ..self }
    }

    fn miner(&self) -> Option<Arc<miner::MinerAccess>> {
        self.miner.clone()
    }

    fn orchestration(&self) -> Option<Arc<orchestrate::Orchestration>> {
        self.orchestration.clone()
    }

    /// An API key's balance, read on the calling thread.
    fn balance(&self, api_key: &str) -> Result<u64, ApiError> {
        Ok(self.ledger.read().map_err(|_| ApiError::poisoned())?.balance(api_key)?)
    }

    /// What an API key may spend now: its balance, or less when its daily cap leaves less.
    fn spendable(&self, api_key: &str) -> Result<u64, ApiError> {
        Ok(self.ledger.read().map_err(|_| ApiError::poisoned())?.spendable(api_key)?)
    }

    /// Debits `rao` from an API key; the balance left.
    async fn debit(&self, api_key: &str, rao: u64) -> Result<u64, ApiError> {
        let api_key = api_key.to_owned();
        self.read(move |ledger| Ok(ledger.debit(&api_key, rao)?)).await
    }

    pub fn pricing(&self) -> &Pricing {
        &self.pricing
    }

    fn metrics(&self) -> &metrics::Metrics {
        &self.metrics
    }

    /// Refuses a write from the network on a replica.
    pub fn check_writable(&self) -> Result<(), ApiError> {
        match &self.primary {
            None => Ok(()),
            Some(primary) => Err(ApiError::new(
                axum::http::StatusCode::FORBIDDEN,
                Code::ReadOnlyReplica,
                format!("this node is a read replica; send diffs and attestations to the primary at {primary}"),
            )),
        }
    }

    /// Replaces the ledger, for a replica that restarted from a snapshot.
    pub fn replace_ledger(&self, replace: impl FnOnce(&mut Ledger) -> Result<(), ApiError>) -> Result<(), ApiError> {
        replace(&mut *self.ledger.write().map_err(|_| ApiError::poisoned())?)
    }

    /// Runs a read on a blocking thread.
    pub async fn read<T: Send + 'static>(&self, read: impl FnOnce(&Ledger) -> Result<T, ApiError> + Send + 'static) -> Result<T, ApiError> {
        let ledger = self.ledger.clone();
        tokio::task::spawn_blocking(move || read(&*ledger.read().map_err(|_| ApiError::poisoned())?))
            .await
            .map_err(|_| ApiError::internal("a ledger read panicked"))?
    }

    /// Runs a write on a blocking thread, alone.
    pub async fn write<T: Send + 'static>(&self, write: impl FnOnce(&mut Ledger) -> Result<T, ApiError> + Send + 'static) -> Result<T, ApiError> {
        let ledger = self.ledger.clone();
        tokio::task::spawn_blocking(move || write(&mut *ledger.write().map_err(|_| ApiError::poisoned())?))
            .await
            .map_err(|_| ApiError::internal("a ledger write panicked"))?
    }
}

/// The explorer page: a static page that reads the API from the browser.
async fn explorer() -> axum::response::Html<&'static str> {
    axum::response::Html(include_str!("explorer/index.html"))
}

pub fn router(state: AppState) -> Router {
    // An orchestration runs for as long as its deadline allows, so it is bounded by that
    // deadline (checked by the orchestrator) plus a margin, not by the reads' timeout.
    let orchestrate_timeout = state.orchestration.as_ref().map_or(REQUEST_TIMEOUT, |orchestration| {
        orchestration.orchestrator().config().max_deadline + ORCHESTRATE_TIMEOUT_MARGIN
    });
    let orchestration = Router::new()
        .route("/v1/orchestrate", post(orchestrate::orchestrate))
        .layer(TimeoutLayer::with_status_code(axum::http::StatusCode::REQUEST_TIMEOUT, orchestrate_timeout));
    Router::new()
        .route("/v1/health", get(reads::health))
        .route("/v1/head", get(reads::head))
        .route("/v1/checkpoints", get(reads::checkpoints))
        .route("/v1/subnets", get(reads::subnets))
        .route("/v1/subnets/{netuid}", get(reads::subnet))
        .route("/v1/entries/{namespace}/{*path}", get(reads::entry))
        .route("/v1/history/{namespace}/{*path}", get(reads::history))
        .route("/v1/diff", get(reads::diff))
        .route("/v1/diffs", post(writes::propose_diff))
        .route("/v1/proposals", get(writes::proposals))
        .route("/v1/proposals/{id}", get(writes::proposal))
        .route("/v1/approvals", post(writes::approve))
        .route("/v1/attestations", post(writes::attest))
        .route("/v1/changes", get(replication::changes))
        .route("/v1/snapshot", get(replication::snapshot))
        .route("/v1/payments/{hash}", get(paid::payment_answer))
        .route("/v1/served", post(served::served))
        .route("/openapi.json", get(openapi::document))
        .route("/", get(explorer))
        .route("/metrics", get(metrics::export))
        .layer(TimeoutLayer::with_status_code(axum::http::StatusCode::REQUEST_TIMEOUT, REQUEST_TIMEOUT))
        .merge(orchestration)
        .fallback(error::no_route)
        .layer(axum::middleware::from_fn(body_limit::refuse_declared_oversize))
        .layer(axum::middleware::from_fn_with_state(state.clone(), metrics::record))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}
