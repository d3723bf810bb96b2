//! What replicas pull: the versions after one they hold, and whole snapshots.

use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::error::ApiError;
use super::AppState;
use crate::present;

/// Most versions one request returns.
const MAX_VERSIONS: u64 = 500;

#[derive(Deserialize)]
pub struct Since {
    since: u64,
    limit: Option<u64>,
}

/// Each version after `since`: its checkpoint (as `Checkpoint` serialises), its changes (values
/// as hex), its proposer and its attestations. Applying them in order with
/// `Ledger::replicate` reproduces every checkpoint exactly.
pub async fn changes(State(state): State<AppState>, query: Result<Query<Since>, QueryRejection>) -> Result<Json<Value>, ApiError> {
    let Query(Since { since, limit }) = query?;
    let limit = limit.unwrap_or(100).clamp(1, MAX_VERSIONS);
    state
        .read(move |ledger| {
            let head = ledger.head().version;
            let mut versions = Vec::new();
            for version in since.saturating_add(1)..=head.min(since.saturating_add(limit)) {
                let record = ledger.change_record(version)?;
                versions.push(json!({
                    "checkpoint": ledger.checkpoint(version)?,
                    "changes": ledger.diff(version - 1, version)?,
                    "proposer": record.proposer,
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

/// A snapshot of a kept version (the head by default), streamed as it is written.
pub async fn snapshot(State(state): State<AppState>, query: Result<Query<SnapshotQuery>, QueryRejection>) -> Result<Response, ApiError> {
    let Query(SnapshotQuery { version }) = query?;
    let version = match version {
        Some(version) => state.read(move |ledger| Ok(ledger.checkpoint(version)?.version)).await?,
        None => state.read(|ledger| Ok(ledger.head().version)).await?,
    };
    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(8);
    let export_state = state.clone();
    tokio::spawn(async move {
        let failed = sender.clone();
        let exported = export_state
            .read(move |ledger| Ok(ledger.export(version, ChannelWriter(sender), &mut |_| {})?))
            .await;
        if let Err(error) = exported {
            tracing::error!(message = %error.message, "snapshot export failed mid-stream");
            let _ = failed.send(Err(std::io::Error::other(error.message))).await;
        }
    });
    let stream = tokio_stream::wrappers::ReceiverStream::new(receiver);
    Ok((
        [(header::CONTENT_TYPE, "application/octet-stream"), (header::CONTENT_DISPOSITION, "attachment; filename=\"ledger.snap\"")],
        Body::from_stream(stream),
    )
        .into_response())
}

/// A `Write` that hands its bytes to the response body.
struct ChannelWriter(tokio::sync::mpsc::Sender<Result<Vec<u8>, std::io::Error>>);

impl std::io::Write for ChannelWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.blocking_send(Ok(bytes.to_vec())).map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the client went away"))?;
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
