//! What replicas pull: the versions after one they hold, and whole snapshots.

use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures::StreamExt;
use serde::Deserialize;
use serde_json::{json, Value};

use super::error::ApiError;
use super::AppState;
use crate::present;

/// Most versions one request returns.
const MAX_VERSIONS: u64 = 500;
/// Values past which a page of versions ends early (after at least one version), so that one
/// answer stays bounded although a version may carry a whole diff's bytes.
const PAGE_BYTES: usize = 16 << 20;

#[derive(Deserialize)]
pub struct Since {
    since: u64,
    limit: Option<u64>,
}

/// Each version after `since`: its checkpoint (as `Checkpoint` serialises), its changes (values
/// as hex), its proposer with the signed diff it proposed (so a reader can check the signature
/// and that the diff proposed every change), and its attestations. Applying them in order with
/// `Ledger::replicate` reproduces every checkpoint exactly.
pub async fn changes(State(state): State<AppState>, query: Result<Query<Since>, QueryRejection>) -> Result<Json<Value>, ApiError> {
    let Query(Since { since, limit }) = query?;
    let limit = limit.unwrap_or(100).clamp(1, MAX_VERSIONS);
    state
        .read(move |ledger| {
            let head = ledger.head().version;
            let mut versions = Vec::new();
            let mut bytes = 0;
            for version in since.saturating_add(1)..=head.min(since.saturating_add(limit)) {
                if bytes >= PAGE_BYTES {
                    break;
                }
                let record = ledger.change_record(version)?;
                let changes = ledger.diff(version - 1, version)?;
                bytes += changes.changes().iter().filter_map(|change| change.value.as_ref()).map(Vec::len).sum::<usize>();
                versions.push(json!({
                    "checkpoint": ledger.checkpoint(version)?,
                    "changes": changes,
                    "proposer": record.proposer,
                    "diff": record.diff,
                    "attestations": ledger.attestations(version)?,
                }));
            }
            Ok(Json(json!({ "head": present::head(ledger)?, "versions": versions })))
        })
        .await
}

#[derive(Deserialize)]
pub struct SnapshotQuery {
    version: Option<u64>,
}

/// A snapshot of a kept version (the head by default), streamed as it is written. The export
/// reads a RocksDB snapshot, not the ledger: a slow client holds up nobody's writes. At most
/// [`SNAPSHOTS_IN_FLIGHT`] exports run at once, and one whose client takes nothing for
/// [`STALL_TIMEOUT`] is abandoned, so stalled readers cannot pile up.
pub async fn snapshot(State(state): State<AppState>, query: Result<Query<SnapshotQuery>, QueryRejection>) -> Result<Response, ApiError> {
    let Query(SnapshotQuery { version }) = query?;
    let slot = state.snapshot_slot()?;
    let exporter = state.read(move |ledger| Ok(ledger.exporter(version.unwrap_or(ledger.head().version))?)).await?;
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<Result<Vec<u8>, ledger::Error>>(8);
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let failed = sender.clone();
        if let Err(error) = exporter.write(ChannelWriter { sender, runtime: runtime.clone() }, &mut |_| {}) {
            tracing::warn!(%error, "snapshot export stopped");
            let _ = runtime.block_on(tokio::time::timeout(STALL_TIMEOUT, failed.send(Err(error))));
        }
        drop(slot);
    });
    // The answer starts once the export has its view and has written the header: a version
    // pruned since it was admitted is refused with its status, not cut off mid-stream.
    let first = match receiver.recv().await {
        Some(Ok(bytes)) => bytes,
        Some(Err(error)) => return Err(error.into()),
        None => return Err(ApiError::internal("the snapshot export ended before its first byte")),
    };
    let rest = tokio_stream::wrappers::ReceiverStream::new(receiver);
    let stream = futures::stream::once(async { Ok(first) }).chain(rest);
    Ok((
        [(header::CONTENT_TYPE, "application/octet-stream"), (header::CONTENT_DISPOSITION, "attachment; filename=\"ledger.snap\"")],
        Body::from_stream(stream),
    )
        .into_response())
}

/// Snapshot exports running at once.
pub const SNAPSHOTS_IN_FLIGHT: usize = 4;
/// Longest a snapshot's client may take nothing before its export is abandoned.
pub const STALL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// A `Write` that hands its bytes to the response body, giving up on a client that stalls.
struct ChannelWriter {
    sender: tokio::sync::mpsc::Sender<Result<Vec<u8>, ledger::Error>>,
    runtime: tokio::runtime::Handle,
}

impl std::io::Write for ChannelWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let sent = self.runtime.block_on(tokio::time::timeout(STALL_TIMEOUT, self.sender.send(Ok(bytes.to_vec()))));
        match sent {
            Ok(Ok(())) => Ok(bytes.len()),
            Ok(Err(_)) => Err(std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the client went away")),
            Err(_) => Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "the client took nothing for too long")),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
