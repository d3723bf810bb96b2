//! Writes from the network: miners' signed diffs and validators' attestations. Each is checked
//! whole before anything is written.

use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::Json;
use ledger::{Attestation, SignedDiff};
use serde_json::{json, Value};

use super::error::ApiError;
use super::AppState;
use crate::present;

/// A diff is checked (limits, signature, records) and its proposer admitted under a read lock;
/// only then is it counted against the proposer's quota and applied.
pub async fn propose_diff(State(state): State<AppState>, body: Result<Json<SignedDiff>, JsonRejection>) -> Result<Json<Value>, ApiError> {
    state.check_writable()?;
    let Json(diff) = body?;
    let diff = std::sync::Arc::new(diff);
    let (checked, gate) = (diff.clone(), state.proposers().clone());
    state
        .read(move |ledger| {
            checked.check()?;
            let proposer = &checked.proposal.proposer;
            if !ledger.is_known_proposer(proposer, &|hotkey| gate.is_registered(hotkey))? {
                return Err(ledger::Error::from(ledger::DiffError::UnknownProposer { proposer: proposer.clone() }).into());
            }
            Ok(())
        })
        .await?;
    state.proposers().charge(&diff.proposal.proposer, diff.proposal.value_bytes() as u64)?;
    let gate = state.proposers().clone();
    state
        .write(move |ledger| {
            let checkpoint = ledger.apply_diff(&diff, &|hotkey| gate.is_registered(hotkey))?;
            tracing::info!(version = checkpoint.version, proposer = %diff.proposal.proposer, "diff applied");
            Ok(Json(present::checkpoint(&checkpoint)))
        })
        .await
}

pub async fn attest(State(state): State<AppState>, body: Result<Json<Attestation>, JsonRejection>) -> Result<Json<Value>, ApiError> {
    state.check_writable()?;
    let Json(attestation) = body?;
    state
        .write(move |ledger| {
            let attested = ledger.attest(&attestation)?;
            Ok(Json(json!({ "version": attestation.version, "validator": attestation.validator, "recorded": attested.recorded, "final": attested.is_final })))
        })
        .await
}
