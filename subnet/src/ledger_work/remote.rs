//! Proposing to a primary ledger node over its HTTP API: its head, read to compute a diff
//! against (`GET /v1/head`), and the signed diff sent (`POST /v1/diffs`).

use ledger::{ChangeSet, SignedDiff};
use serde_json::Value;

use super::{propose, Base};
use orchestrator::outbound::{excerpt, Guard, Origin};
use ledger::hotkey::Hotkey;

/// Why a proposal did not reach the primary's ledger.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    #[error("{url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("{url} refused the diff ({status}): {body}")]
    Refused { url: String, status: u16, body: String },
}

/// The primary's head, as a base to compute a diff against.
pub async fn head(guard: &Guard, primary: &str) -> Result<Base, RemoteError> {
    let url = format!("{}/v1/head", primary.trim_end_matches('/'));
    let unreachable = |error: reqwest::Error| RemoteError::Unreachable { url: url.clone(), reason: error.to_string() };
    let request = guard.get(&url, Origin::Operator).map_err(|refusal| RemoteError::Unreachable { url: url.clone(), reason: refusal.to_string() })?;
    request.send().await.and_then(reqwest::Response::error_for_status).map_err(unreachable)?.json().await.map_err(unreachable)
}

/// Sends `diff` to the primary; the checkpoint it made, or the id of the proposal waiting for
/// its validators' approval, as the primary presents them.
pub async fn send(guard: &Guard, primary: &str, diff: &SignedDiff) -> Result<Value, RemoteError> {
    let url = format!("{}/v1/diffs", primary.trim_end_matches('/'));
    let unreachable = |error: reqwest::Error| RemoteError::Unreachable { url: url.clone(), reason: error.to_string() };
    let request = guard.post(&url, Origin::Operator).map_err(|refusal| RemoteError::Unreachable { url: url.clone(), reason: refusal.to_string() })?;
    let response = request.json(diff).send().await.map_err(unreachable)?;
    let status = response.status();
    if !status.is_success() {
        let body = response.bytes().await.map(|body| excerpt(&body)).unwrap_or_default();
        return Err(RemoteError::Refused { url, status: status.as_u16(), body });
    }
    response.json().await.map_err(unreachable)
}

/// `changes` proposed to the primary against its head, signed by `miner`: what the primary made
/// of it (see [`send`]), or `None` when there was nothing to propose.
pub async fn propose_to(guard: &Guard, primary: &str, changes: ChangeSet, miner: &Hotkey) -> Result<Option<Value>, RemoteError> {
    if changes.is_empty() {
        return Ok(None);
    }
    let base = head(guard, primary).await?;
    let diff = propose(changes, base, miner).expect("the change set is not empty");
    send(guard, primary, &diff).await.map(Some)
}
