//! `orchestra replica --primary URL`: a read replica that follows a primary over HTTP.
//!
//! The replica keeps its ledger in **generations** under the data directory
//! (`generation-<n>`). It starts from a snapshot of the primary, then pulls the versions after
//! its head (`/v1/changes`) and applies each with `Ledger::replicate`, which refuses any version
//! whose recomputed checkpoint differs from the primary's: roots, parents, diff hashes and
//! times must all agree, and a version that applied a signed diff must carry it, its signature
//! holding and its proposal containing every change. Attestations are checked as the primary
//! checks them: a signature of a member of that version's validator set, each validator once. When the primary
//! has pruned the versions the replica needs, the replica imports a fresh snapshot into the
//! next generation and switches to it. Failures of the primary are retried with backoff; the
//! replica serves reads throughout and refuses writes. The primary is called through the
//! outbound guard as an operator's URL (a primary on this machine or a private network needs
//! its range allowed, `--allow-operator-address`), and what it sends is capped.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use ledger::{Attestation, ChangeSet, Checkpoint, Ledger, Options, SignedDiff};
use serde::Deserialize;

use orchestrator::outbound::{read_capped, Guard, Origin};

use crate::api::error::ApiError;
use crate::api::{self, AppState};
use crate::cli::CliError;
use crate::orchestrate_cmd::OutboundArgs;

/// Longest a request to the primary may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Largest snapshot taken from the primary.
const MAX_SNAPSHOT_BYTES: usize = 1 << 30;
/// Largest page of versions taken from the primary (its pages stop after 16 MiB of values,
/// which their hex doubles).
const MAX_PAGE_BYTES: usize = 64 << 20;

#[derive(Args)]
pub struct ReplicaArgs {
    /// Base URL of the primary, e.g. `http://127.0.0.1:8080`.
    #[arg(long)]
    primary: String,
    /// Address to serve reads on.
    #[arg(long, default_value = "127.0.0.1:8081")]
    listen: SocketAddr,
    /// Pause between polls when the replica is up to date, in milliseconds.
    #[arg(long, default_value_t = 500)]
    poll_ms: u64,
    #[command(flatten)]
    outbound: OutboundArgs,
}

#[derive(Deserialize)]
struct Changes {
    versions: Vec<ReplicatedVersion>,
}

#[derive(Deserialize)]
struct ReplicatedVersion {
    checkpoint: Checkpoint,
    changes: ChangeSet,
    diff: Option<SignedDiff>,
    attestations: Vec<Attestation>,
}

/// Why a sync round stopped.
#[derive(Debug, thiserror::Error)]
enum SyncError {
    #[error("the primary is unreachable or answered badly: {0}")]
    Primary(String),
    #[error("the primary no longer holds the versions after {0}; restarting from a snapshot")]
    Pruned(u64),
    #[error("the primary's data does not reproduce: {0}")]
    Ledger(#[from] ledger::Error),
    #[error("{0}")]
    Local(String),
}

impl From<ApiError> for SyncError {
    fn from(error: ApiError) -> SyncError {
        SyncError::Local(error.message)
    }
}

impl ReplicaArgs {
    pub fn run(self, data: &Path) -> Result<(), CliError> {
        crate::serve::init_logging();
        let runtime = tokio::runtime::Runtime::new().map_err(|error| CliError::Usage(format!("cannot start the runtime: {error}")))?;
        runtime.block_on(async move {
            let guard = self.outbound.guard()?;
            let primary = self.primary.trim_end_matches('/').to_owned();
            let ledger = open_or_bootstrap(&guard, &primary, data).await?;
            let state = AppState::replica(ledger, &primary);
            tokio::spawn(follow(guard, primary, data.to_path_buf(), state.clone(), Duration::from_millis(self.poll_ms)));
            crate::serve::serve(self.listen, api::router(state), |_| Vec::new()).await
        })
    }
}

fn generation_dir(data: &Path, generation: u64) -> PathBuf {
    data.join(format!("generation-{generation}"))
}

/// The newest generation present, with the older ones removed.
fn current_generation(data: &Path) -> Option<u64> {
    let generations: Vec<u64> = std::fs::read_dir(data)
        .ok()?
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.strip_prefix("generation-")?.parse().ok())
        .collect();
    let newest = generations.iter().copied().max()?;
    for old in generations.into_iter().filter(|generation| *generation != newest) {
        let _ = std::fs::remove_dir_all(generation_dir(data, old));
    }
    Some(newest)
}

async fn open_or_bootstrap(guard: &Guard, primary: &str, data: &Path) -> Result<Ledger, CliError> {
    if let Some(generation) = current_generation(data) {
        match Ledger::open(generation_dir(data, generation), Options::default()) {
            Ok(ledger) => return Ok(ledger),
            Err(error) => tracing::warn!(%error, "the replica's ledger does not open; starting from a snapshot"),
        }
    }
    let next = current_generation(data).map_or(0, |generation| generation + 1);
    loop {
        match import_snapshot(guard, primary, &generation_dir(data, next)).await {
            Ok(ledger) => return Ok(ledger),
            Err(error) => {
                tracing::warn!(%error, "bootstrapping from the primary failed; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// Downloads the primary's snapshot and imports it into `dir`, checking chain and root.
/// A GET of `url` at the primary: its status and its body, capped at `cap` bytes.
async fn fetch(guard: &Guard, url: &str, cap: usize) -> Result<(reqwest::StatusCode, Vec<u8>), SyncError> {
    let request = guard.get(url, Origin::Operator).map_err(|refusal| SyncError::Primary(refusal.to_string()))?;
    let response = request.timeout(REQUEST_TIMEOUT).send().await.map_err(|error| SyncError::Primary(orchestrator::outbound::describe(&error)))?;
    let status = response.status();
    let body = read_capped(response, cap).await.map_err(|error| SyncError::Primary(error.to_string()))?;
    Ok((status, body))
}

async fn import_snapshot(guard: &Guard, primary: &str, dir: &Path) -> Result<Ledger, SyncError> {
    let (status, bytes) = fetch(guard, &format!("{primary}/v1/snapshot"), MAX_SNAPSHOT_BYTES).await?;
    if !status.is_success() {
        return Err(SyncError::Primary(format!("its snapshot answered {status}")));
    }
    let dir = dir.to_path_buf();
    let ledger = tokio::task::spawn_blocking(move || Ledger::import(&dir, &bytes[..], None, Options::default(), &mut |_| {}))
        .await
        .map_err(|_| SyncError::Local("the import panicked".into()))??;
    tracing::info!(version = ledger.head().version, root = %ledger.head().state_root, "imported the primary's snapshot");
    Ok(ledger)
}

/// Pulls and applies the primary's versions for as long as the replica runs.
async fn follow(guard: Guard, primary: String, data: PathBuf, state: AppState, poll: Duration) {
    let mut backoff = poll;
    loop {
        match sync_once(&guard, &primary, &state).await {
            Ok(0) => {
                backoff = poll;
                tokio::time::sleep(poll).await;
            }
            Ok(_) => backoff = poll,
            Err(SyncError::Pruned(head)) => {
                tracing::warn!(head, "too far behind the primary; restarting from a snapshot");
                if let Err(error) = restart_from_snapshot(&guard, &primary, &data, &state).await {
                    tracing::warn!(%error, "restarting from a snapshot failed");
                    tokio::time::sleep(backoff).await;
                }
            }
            Err(error) => {
                tracing::warn!(%error, "sync round failed; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(10));
            }
        }
    }
}

/// Applies the versions after the replica's head; returns how many.
async fn sync_once(guard: &Guard, primary: &str, state: &AppState) -> Result<usize, SyncError> {
    let head = state.read(|ledger| Ok(ledger.head().version)).await?;
    let (status, body) = fetch(guard, &format!("{primary}/v1/changes?since={head}&limit=100"), MAX_PAGE_BYTES).await?;
    if status == reqwest::StatusCode::GONE {
        return Err(SyncError::Pruned(head));
    }
    if !status.is_success() {
        return Err(SyncError::Primary(format!("its changes answered {status}")));
    }
    let changes: Changes = serde_json::from_slice(&body).map_err(|error| SyncError::Primary(format!("its changes are not a page of versions: {error}")))?;
    let applied = changes.versions.len();
    for version in changes.versions {
        let outcome: Result<Checkpoint, SyncError> = state
            .write(move |ledger| {
                let checkpoint = ledger.replicate(&version.checkpoint, version.changes, version.diff.as_ref())?;
                for attestation in &version.attestations {
                    ledger.attest(attestation)?;
                }
                Ok(checkpoint)
            })
            .await
            .map_err(SyncError::from);
        let checkpoint = outcome?;
        tracing::debug!(version = checkpoint.version, root = %checkpoint.state_root, "replicated");
    }
    Ok(applied)
}

async fn restart_from_snapshot(guard: &Guard, primary: &str, data: &Path, state: &AppState) -> Result<(), SyncError> {
    let next = current_generation(data).map_or(0, |generation| generation + 1);
    let fresh = import_snapshot(guard, primary, &generation_dir(data, next)).await?;
    state.replace_ledger(|ledger| {
        *ledger = fresh;
        Ok(())
    })?;
    current_generation(data);
    Ok(())
}
