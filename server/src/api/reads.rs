//! Reads of the ledger: the head, checkpoints, subnets, entries with proofs, history, diffs.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use axum::extract::rejection::QueryRejection;
use axum::Json;
use ledger::{Key, Namespace};
use serde::Deserialize;
use serde_json::{json, Value};

use super::error::ApiError;
use super::{paid, AppState};
use crate::present;

type Answer = Result<Json<Value>, ApiError>;

/// Most checkpoints one request lists.
const MAX_CHECKPOINTS: u64 = 1000;

pub async fn health(State(state): State<AppState>) -> Answer {
    state.read(|ledger| Ok(Json(json!({ "status": "ok", "version": ledger.head().version, "root": ledger.head().state_root })))).await
}

pub async fn head(State(state): State<AppState>) -> Answer {
    state.read(|ledger| Ok(Json(present::head(ledger)?))).await
}

#[derive(Deserialize)]
pub struct CheckpointRange {
    from: Option<u64>,
    to: Option<u64>,
}

/// Checkpoints `from..=to`: by default the latest hundred.
pub async fn checkpoints(State(state): State<AppState>, query: Result<Query<CheckpointRange>, QueryRejection>) -> Answer {
    let Query(range) = query?;
    state
        .read(move |ledger| {
            let to = range.to.unwrap_or(ledger.head().version);
            let from = range.from.unwrap_or(to.saturating_sub(99).max(ledger.oldest_version()));
            if to >= from && to - from >= MAX_CHECKPOINTS {
                return Err(ApiError::bad_request(format!("at most {MAX_CHECKPOINTS} checkpoints per request")));
            }
            let checkpoints: Vec<Value> = ledger.checkpoints(from, to)?.iter().map(present::checkpoint).collect();
            Ok(Json(json!({ "checkpoints": checkpoints })))
        })
        .await
}

/// Every subnet in the ledger with its identity.
pub async fn subnets(State(state): State<AppState>) -> Answer {
    state
        .read(|ledger| {
            let mut subnets = Vec::new();
            for (namespace, entries) in ledger.state().namespaces() {
                let Namespace::Subnet(netuid) = namespace else { continue };
                let key = Key::new(namespace, "identity").map_err(ledger::Error::from)?;
                let identity = ledger.get(&key)?.map(|value| present::record(&key, &value));
                subnets.push(json!({ "netuid": netuid, "entries": entries, "identity": identity }));
            }
            Ok(Json(json!({ "version": ledger.head().version, "subnets": subnets })))
        })
        .await
}

/// One subnet's whole record: every path and its record.
pub async fn subnet(State(state): State<AppState>, Path(netuid): Path<String>) -> Answer {
    let namespace = Namespace::Subnet(netuid.parse().map_err(|_| ApiError::bad_request(format!("`{netuid}` is not a netuid (0 to 65535)")))?);
    state
        .read(move |ledger| {
            let version = ledger.head().version;
            let entries = ledger.namespace_at(namespace, version)?;
            if entries.is_empty() {
                return Err(ApiError::new(axum::http::StatusCode::NOT_FOUND, "not_found", format!("the ledger knows nothing of {namespace}")));
            }
            let records: serde_json::Map<String, Value> = entries
                .into_iter()
                .map(|(path, value)| {
                    let key = Key { namespace, path: path.clone() };
                    (path, present::record(&key, &value))
                })
                .collect();
            Ok(Json(json!({ "netuid": netuid, "version": version, "root": ledger.head().state_root, "records": records })))
        })
        .await
}

#[derive(Deserialize)]
pub struct AtVersion {
    version: Option<u64>,
}

fn key(namespace: &str, path: &str) -> Result<Key, ApiError> {
    let namespace: Namespace = namespace.parse().map_err(|error: ledger::KeyError| ApiError::new(axum::http::StatusCode::BAD_REQUEST, "bad_key", error.to_string()))?;
    Ok(Key::new(namespace, path).map_err(ledger::Error::from)?)
}

/// One entry's value, or its absence, with a proof against the root of the version read; a
/// paid read (see [`super::paid`]) is paid for once the answer is ready.
pub async fn entry(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path((namespace, path)): Path<(String, String)>,
    query: Result<Query<AtVersion>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(at) = query?;
    let key = key(&namespace, &path)?;
    paid::answer(&state, &headers, &uri.to_string(), move |ledger| {
        let proven = match at.version {
            Some(version) => ledger.prove_at(&key, version)?,
            None => ledger.prove(&key)?,
        };
        Ok(present::proven(&proven))
    })
    .await
}

/// Every kept version of one key.
pub async fn history(State(state): State<AppState>, Path((namespace, path)): Path<(String, String)>) -> Answer {
    let key = key(&namespace, &path)?;
    state
        .read(move |ledger| {
            let versions: Vec<Value> = ledger
                .history(&key)?
                .into_iter()
                .map(|entry| json!({ "version": entry.version, "record": entry.value.map(|value| present::record(&key, &value)) }))
                .collect();
            Ok(Json(json!({ "key": key.to_string(), "history": versions })))
        })
        .await
}

#[derive(Deserialize)]
pub struct VersionRange {
    from: u64,
    to: Option<u64>,
}

/// The changes that turn version `from` into version `to` (the head by default).
pub async fn diff(State(state): State<AppState>, query: Result<Query<VersionRange>, QueryRejection>) -> Answer {
    let Query(range) = query?;
    state
        .read(move |ledger| {
            let to = range.to.unwrap_or(ledger.head().version);
            let changes: Vec<Value> = ledger
                .diff(range.from, to)?
                .into_changes()
                .into_iter()
                .map(|change| json!({ "key": change.key.to_string(), "record": change.value.map(|value| present::record(&change.key, &value)) }))
                .collect();
            Ok(Json(json!({ "from": range.from, "to": to, "changes": changes })))
        })
        .await
}
