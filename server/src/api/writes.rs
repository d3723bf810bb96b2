//! Writes from the network: miners' signed diffs, validators' approvals of the proposals
//! waiting for them, and validators' attestations. Each is checked whole before anything is
//! written.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use ledger::{Approval, Approved, Attestation, Hash, Proposed, SignedDiff};
use serde_json::{json, Value};

use super::error::ApiError;
use super::AppState;
use crate::present;

/// A diff is checked (limits, signature, records) and its proposer admitted under a read lock;
/// only then is it counted against the proposer's quota and taken: applied (200, the checkpoint
/// it made) or, on a ledger with validators, put in the pool until they approve it (202, the
/// proposal's id).
pub async fn propose_diff(State(state): State<AppState>, body: Result<Json<SignedDiff>, JsonRejection>) -> Result<Response, ApiError> {
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
            Ok(match ledger.propose(&diff, &|hotkey| gate.is_registered(hotkey))? {
                Proposed::Applied(checkpoint) => {
                    tracing::info!(version = checkpoint.version, proposer = %diff.proposal.proposer, "diff applied");
                    Json(present::checkpoint(&checkpoint)).into_response()
                }
                Proposed::Pending(id) => {
                    tracing::info!(proposal = %id, proposer = %diff.proposal.proposer, "diff waits for the validators' approval");
                    (StatusCode::ACCEPTED, Json(json!({ "proposal": id, "status": "pending", "why": "the ledger has validators: a proposal is applied once validators holding two thirds of the stake approve it" }))).into_response()
                }
            })
        })
        .await
}

/// The proposals waiting for approval: who proposed what, on which base, and who approved.
pub async fn proposals(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    state
        .read(|ledger| {
            let listed: Vec<&ledger::pool::Summary> = ledger.proposals().collect();
            Ok(Json(json!({ "proposals": listed })))
        })
        .await
}

/// One waiting proposal, with its signed diff.
pub async fn proposal(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let id = Hash::from_hex(&id).map_err(|_| ApiError::bad_request("a proposal id is 64 hex digits"))?;
    state.read(move |ledger| Ok(Json(serde_json::to_value(ledger.proposal(&id)?.ok_or(ledger::PoolError::Unknown(id)).map_err(ledger::Error::from)?).expect("proposals serialise")))).await
}

/// A validator's approval of a waiting proposal; the proposal is applied once approvals reach
/// the quorum.
pub async fn approve(State(state): State<AppState>, body: Result<Json<Approval>, JsonRejection>) -> Result<Json<Value>, ApiError> {
    state.check_writable()?;
    let Json(approval) = body?;
    let gate = state.proposers().clone();
    state
        .write(move |ledger| {
            let answer = match ledger.approve(&approval, &|hotkey| gate.is_registered(hotkey))? {
                Approved::Waiting { recorded } => json!({ "proposal": approval.proposal, "recorded": recorded, "status": "pending" }),
                Approved::Applied(checkpoint) => {
                    tracing::info!(version = checkpoint.version, proposal = %approval.proposal, "approved proposal applied");
                    json!({ "proposal": approval.proposal, "recorded": true, "status": "applied", "checkpoint": present::checkpoint(&checkpoint) })
                }
                Approved::Dropped(why) => json!({ "proposal": approval.proposal, "recorded": true, "status": "dropped", "why": why }),
            };
            Ok(Json(answer))
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
