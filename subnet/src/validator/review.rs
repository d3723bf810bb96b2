//! What a validator checks of a ledger version before it attests it, besides the probes.
//!
//! A ledger node serves each version as its checkpoint, its changes, its proposer and the signed
//! diff it applied (`GET /v1/changes`). None of it is taken on the node's word:
//! - **parent**: the checkpoint's parent is the hash of the version before it, so the versions
//!   a validator attests form one chain, from the version its [mirror](super::mirror) starts at;
//! - **diff hash and root**: the checkpoint's `diff_hash` is the hash of the changes served, so
//!   what was probed is what the checkpoint commits to, and its root is the one the mirror
//!   computes by applying them;
//! - **signature**: the signed diff verifies for the proposer named, and its proposal contains
//!   every change served. A version without a signed diff (an operator's local write) is never
//!   attested: no one vouched for it;
//! - **membership**: the proposer was one the ledger should have admitted: registered on the
//!   subnet (the metagraph the validator read this round), or in the ledger's proposer set, or
//!   the validator set's admin, at the version before, as the mirror holds it.

use std::collections::BTreeSet;

use ledger::record::Record;
use ledger::{ChangeSet, Checkpoint, Key, Namespace, SignedDiff, SystemNamespace};
use serde::Deserialize;

use orchestrator::outbound::{describe, read_capped, Guard, Origin};

/// One ledger version as `GET /v1/changes` lists it (other fields are not read).
#[derive(Deserialize)]
pub struct LedgerVersion {
    pub checkpoint: Checkpoint,
    pub changes: ChangeSet,
    pub proposer: Option<String>,
    #[serde(default)]
    pub diff: Option<SignedDiff>,
}

/// What is wrong with `version` as a successor of `previous` and as the application of its
/// signed diff; empty when nothing is. Needs no network.
pub fn problems(previous: &Checkpoint, version: &LedgerVersion) -> Vec<String> {
    let mut problems = Vec::new();
    let checkpoint = &version.checkpoint;
    if !follows(previous, checkpoint) {
        problems.push(format!("its parent is not checkpoint {} ({})", previous.version, previous.hash()));
    }
    if checkpoint.diff_hash != version.changes.hash() {
        problems.push("its diff hash is not the hash of the changes served".to_owned());
    }
    match (&version.proposer, &version.diff) {
        (None, _) => problems.push("it is a local write: no proposer signed it".to_owned()),
        (Some(proposer), Some(diff)) if diff.proposal.proposer == *proposer => {
            if let Err(error) = diff.check().and_then(|()| diff.covers(&version.changes)) {
                problems.push(format!("its signed diff does not hold: {error}"));
            }
        }
        (Some(proposer), _) => problems.push(format!("it names {proposer} as proposer but carries no diff signed by it")),
    }
    problems
}

/// Whether `checkpoint` is the next version after `previous` and names it as its parent.
pub fn follows(previous: &Checkpoint, checkpoint: &Checkpoint) -> bool {
    previous.version.checked_add(1) == Some(checkpoint.version) && checkpoint.parent == previous.hash()
}

/// Why `proposer` should not have been admitted at `previous` to write `changes`, or `None`
/// when it was entitled: changes to the validator or proposer set (or the prices) need the
/// admin; others a registered hotkey, a member of the proposer set, or the admin. `at_previous`
/// reads a system entry at `previous` (from the validator's mirror, never from the node).
pub(super) fn membership_problem(
    at_previous: impl Fn(&Key) -> Result<Option<Vec<u8>>, ledger::Error>,
    previous: &Checkpoint,
    changes: &ChangeSet,
    proposer: &str,
    registered: &BTreeSet<String>,
) -> Option<String> {
    let proposers = Namespace::System(SystemNamespace::Proposers);
    let validators = Namespace::System(SystemNamespace::Validators);
    let admin_only = [proposers, validators, Namespace::System(SystemNamespace::Pricing)];
    let touches_sets = changes.changes().iter().any(|change| admin_only.contains(&change.key.namespace));
    if registered.contains(proposer) && !touches_sets {
        return None;
    }
    let read = |namespace: Namespace, path: &str| -> Result<Option<Vec<u8>>, String> {
        let key = Key::new(namespace, path).map_err(|error| format!("{proposer} cannot be a proposer: {error}"))?;
        at_previous(&key).map_err(|error| format!("{key} at version {} cannot be read: {error}", previous.version))
    };
    let listed = match read(proposers, proposer) {
        Ok(value) => value.is_some(),
        Err(error) => return Some(error),
    };
    if listed && !touches_sets {
        return None;
    }
    let admin = match read(validators, ledger::record::ADMIN_PATH) {
        Ok(value) => value,
        Err(error) => return Some(error),
    };
    let admin_key = Key::new(validators, ledger::record::ADMIN_PATH).expect("a valid path");
    match admin.map(|value| Record::decode(&admin_key, &value)) {
        Some(Ok(Record::Admin(admin))) if admin.hotkey == proposer => None,
        _ if touches_sets => Some(format!("it changes the validator or proposer set or the prices, and {proposer} is not the admin at version {}", previous.version)),
        _ => Some(format!("{proposer} is neither registered on the subnet, nor in the proposer set, nor the admin at version {}", previous.version)),
    }
}

/// A successful JSON answer to a GET of `url`, capped at `cap` bytes, or why there is none.
pub(super) async fn get_json_capped<T: serde::de::DeserializeOwned>(guard: &Guard, url: &str, cap: usize) -> Result<T, String> {
    let request = guard.get(url, Origin::Operator).map_err(|refusal| refusal.to_string())?;
    let response = request.send().await.and_then(reqwest::Response::error_for_status).map_err(|error| describe(&error))?;
    let body = read_capped(response, cap).await.map_err(|error| error.to_string())?;
    serde_json::from_slice(&body).map_err(|error| error.to_string())
}
