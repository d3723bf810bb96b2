//! Reads of the ledger: the head, checkpoints, subnets, entries with proofs, history, diffs.
//!
//! Every read's cost is bounded: lists are capped ([`MAX_CHECKPOINTS`], [`MAX_DIFF_VERSIONS`],
//! [`MAX_HISTORY`]), and a proof at an older version, which rebuilds that version's trees from
//! the stored history, runs at most [`HISTORICAL_PROOFS_IN_FLIGHT`] at a time node-wide; past that
//! it is refused at once with 429 rather than queued.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use axum::extract::rejection::QueryRejection;
use axum::Json;
use ledger::{Key, Namespace};
use serde::Deserialize;
use serde_json::{json, Value};

use super::error::{ApiError, Code};
use super::{paid, AppState};
use crate::present;

type Answer = Result<Json<Value>, ApiError>;

/// Most checkpoints one request lists.
const MAX_CHECKPOINTS: u64 = 1000;
/// Longest version range one diff spans.
pub const MAX_DIFF_VERSIONS: u64 = 1000;
/// Most versions of one key a history lists (the latest ones).
pub const MAX_HISTORY: usize = 1000;
/// Proofs at versions older than the head being built at once.
pub const HISTORICAL_PROOFS_IN_FLIGHT: usize = 2;

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
    let number = netuid.strip_prefix("sn").unwrap_or(&netuid);
    let namespace = Namespace::Subnet(number.parse().map_err(|_| ApiError::bad_request(format!("`{netuid}` is not a netuid (0 to 65535, `sn` or not)")))?);
    state
        .read(move |ledger| {
            let reading = ledger.reading()?;
            let version = reading.version;
            let entries = ledger.namespace_at(namespace, version)?;
            if entries.is_empty() {
                return Err(ApiError::new(axum::http::StatusCode::NOT_FOUND, Code::NotFound, format!("the ledger knows nothing of {namespace}")));
            }
            let records: serde_json::Map<String, Value> = entries
                .into_iter()
                .map(|(path, value)| {
                    let key = Key { namespace, path: path.clone() };
                    (path, present::record(&key, &value))
                })
                .collect();
            let root = ledger.checkpoint(version)?.state_root;
            Ok(Json(json!({ "netuid": netuid, "version": version, "root": root, "reading": present::reading(&reading), "records": records })))
        })
        .await
}

#[derive(Deserialize)]
pub struct AtVersion {
    version: Option<u64>,
}

fn key(namespace: &str, path: &str) -> Result<Key, ApiError> {
    let namespace: Namespace = namespace.parse().map_err(|error: ledger::KeyError| ApiError::new(axum::http::StatusCode::BAD_REQUEST, Code::BadKey, error.to_string()))?;
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
    // A proof at the head, or at the trusted version whose trees are kept, is cheap; any other
    // version's trees are rebuilt, so such proofs take one of the few places for them.
    let (head, trusted) = state.read(|ledger| Ok((ledger.head().version, ledger.reading()?.version))).await?;
    let historical = match at.version {
        Some(version) if version != head && version != trusted => Some(state.historical_proof_slot()?),
        _ => None,
    };
    let answered = paid::answer(&state, &headers, &uri.to_string(), move |ledger| {
        Ok(match at.version {
            Some(version) => present::proven(&ledger.prove_at(&key, version)?),
            None => {
                let reading = ledger.reading()?;
                let mut answer = present::proven(&ledger.prove_at(&key, reading.version)?);
                answer["reading"] = present::reading(&reading);
                answer
            }
        })
    })
    .await;
    drop(historical);
    answered
}

/// Every kept version of one key.
pub async fn history(State(state): State<AppState>, Path((namespace, path)): Path<(String, String)>) -> Answer {
    let key = key(&namespace, &path)?;
    state
        .read(move |ledger| {
            let history = ledger.history(&key)?;
            let skipped = history.len().saturating_sub(MAX_HISTORY);
            let versions: Vec<Value> = history
                .into_iter()
                .skip(skipped)
                .map(|entry| json!({ "version": entry.version, "record": entry.value.map(|value| present::record(&key, &value)) }))
                .collect();
            Ok(Json(json!({ "key": key.to_string(), "history": versions, "truncated": skipped > 0 })))
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
            if to.saturating_sub(range.from) > MAX_DIFF_VERSIONS {
                return Err(ApiError::new(
                    axum::http::StatusCode::BAD_REQUEST,
                    Code::RangeTooLong,
                    format!("a diff spans at most {MAX_DIFF_VERSIONS} versions; ask for a shorter range, or page through /v1/changes"),
                ));
            }
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

#[cfg(test)]
mod tests {
    use ledger::record::Record;
    use ledger::{Change, ChangeSet, Options, Proven};

    use super::*;
    use crate::api::paid::Pricing;

    /// While every place for proofs at older versions is taken, one more is refused at once
    /// with 429 `historical_proofs_busy`, and proofs at the head are still answered; a place
    /// given back serves the refused proof.
    #[tokio::test(flavor = "multi_thread")]
    async fn a_historical_proof_past_the_limit_is_refused_at_once() {
        let data = tempfile::tempdir().unwrap();
        let (mut ledger, _) = crate::node::open_or_seed(&data.path().join("ledger"), Options::default()).unwrap();
        let old = ledger.head().version;
        let key = Key::new(Namespace::Subnet(22), "endpoint/web-search").unwrap();
        let Record::Endpoint(mut endpoint) = Record::decode(&key, &ledger.get(&key).unwrap().unwrap()).unwrap() else { panic!("an endpoint") };
        endpoint.timeout_ms += 1;
        ledger.commit(ChangeSet::new([Change { key: key.clone(), value: Some(Record::Endpoint(endpoint).encode()) }])).unwrap();
        let old_root = ledger.checkpoint(old).unwrap().state_root;
        let state = AppState::new(ledger, Pricing::default());
        let held: Vec<_> = (0..HISTORICAL_PROOFS_IN_FLIGHT).map(|_| state.historical_proof_slot().unwrap()).collect();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}/v1/entries/sn22/endpoint/web-search", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, super::super::router(state)).await.unwrap() });

        let refused = reqwest::get(format!("{base}?version={old}")).await.unwrap();
        assert_eq!(refused.status(), 429);
        assert_eq!(refused.headers()["retry-after"], "1");
        let body: Value = refused.json().await.unwrap();
        assert_eq!(body["error"]["code"], "historical_proofs_busy", "{body}");
        assert_eq!(reqwest::get(&base).await.unwrap().status(), 200, "a proof at the head needs no place");

        drop(held);
        let answered = reqwest::get(format!("{base}?version={old}")).await.unwrap();
        assert_eq!(answered.status(), 200);
        let proven: Proven = answered.json().await.unwrap();
        ledger::verify(&old_root, &key, proven.value.as_deref(), &proven.proof).expect("the old version's proof holds against its root");
    }
}
