//! What a validator checks of a ledger version before it attests it, besides the probes.
//!
//! A ledger node serves each version as its checkpoint, its changes, its proposer and the signed
//! diff it applied (`GET /v1/changes`). None of it is taken on the node's word:
//! - **parent**: the checkpoint's parent is the hash of the version before it, so the versions
//!   a validator attests form one chain. The first version a validator sees anchors it (the
//!   node's checkpoint before it, read once and checked against its own hash);
//! - **diff hash**: the checkpoint's `diff_hash` is the hash of the changes served, so what was
//!   probed is what the checkpoint commits to;
//! - **signature**: the signed diff verifies for the proposer named, and its proposal contains
//!   every change served. A version without a signed diff (an operator's local write) is never
//!   attested: no one vouched for it;
//! - **membership**: the proposer was one the ledger should have admitted: registered on the
//!   subnet (the metagraph the validator read this round), or in the ledger's proposer set, or
//!   the validator set's admin, at the version before, read with a proof against that version's
//!   checked root.

use std::collections::BTreeSet;

use ledger::record::Record;
use ledger::{ChangeSet, Checkpoint, Hash, Key, Namespace, Proven, SignedDiff, SystemNamespace};
use serde::Deserialize;

use orchestrator::outbound::{describe, read_capped, Guard, Origin};

/// Largest answer read for one entry with its proof.
const MAX_ENTRY_BYTES: usize = 1 << 20;

/// One ledger version as `GET /v1/changes` lists it (other fields are not read).
#[derive(Deserialize)]
pub struct LedgerVersion {
    pub checkpoint: Checkpoint,
    pub changes: ChangeSet,
    pub proposer: Option<String>,
    #[serde(default)]
    pub diff: Option<SignedDiff>,
}

/// `GET /v1/checkpoints` as presented: the fields of a checkpoint and its hash.
#[derive(Deserialize)]
struct PresentedCheckpoint {
    version: u64,
    root: Hash,
    checkpoint: Hash,
    parent: Hash,
    diff_hash: Hash,
    time_ms: u64,
}

#[derive(Deserialize)]
struct Checkpoints {
    checkpoints: Vec<PresentedCheckpoint>,
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

/// The checkpoint of `version` at the ledger node, checked against its own hash.
pub(super) async fn anchor(guard: &Guard, url: &str, version: u64) -> Result<Checkpoint, String> {
    let listed: Checkpoints = get_json(guard, &format!("{url}/v1/checkpoints?from={version}&to={version}")).await?;
    let presented = listed.checkpoints.into_iter().find(|checkpoint| checkpoint.version == version).ok_or_else(|| format!("the node has no checkpoint {version}"))?;
    let checkpoint = Checkpoint { version, state_root: presented.root, parent: presented.parent, diff_hash: presented.diff_hash, time_ms: presented.time_ms };
    if checkpoint.hash() != presented.checkpoint {
        return Err(format!("checkpoint {version}'s fields do not hash to the hash presented"));
    }
    Ok(checkpoint)
}

/// Why `proposer` should not have been admitted at `previous` to write `changes`, or `None`
/// when it was entitled: changes to the validator or proposer set (or the prices) need the admin; others a
/// registered hotkey, a member of the proposer set, or the admin. The prices, like the sets,
/// are the admin's.
pub(super) async fn membership_problem(guard: &Guard, url: &str, previous: &Checkpoint, changes: &ChangeSet, proposer: &str, registered: &BTreeSet<String>) -> Option<String> {
    let proposers = Namespace::System(SystemNamespace::Proposers);
    let validators = Namespace::System(SystemNamespace::Validators);
    let admin_only = [proposers, validators, Namespace::System(SystemNamespace::Pricing)];
    let touches_sets = changes.changes().iter().any(|change| admin_only.contains(&change.key.namespace));
    if registered.contains(proposer) && !touches_sets {
        return None;
    }
    let listed = match proven(guard, url, previous, proposers, proposer).await {
        Ok(value) => value.is_some(),
        Err(error) => return Some(error),
    };
    if listed && !touches_sets {
        return None;
    }
    let admin = match proven(guard, url, previous, validators, ledger::record::ADMIN_PATH).await {
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

/// The value at `namespace`/`path` at `at`, read from the node with a proof that must hold
/// against `at`'s root.
pub(super) async fn proven(guard: &Guard, url: &str, at: &Checkpoint, namespace: Namespace, path: &str) -> Result<Option<Vec<u8>>, String> {
    let key = Key::new(namespace, path).map_err(|error| error.to_string())?;
    let proven: Proven = get_json(guard, &format!("{url}/v1/entries/{namespace}/{path}?version={}", at.version)).await?;
    if proven.key != key {
        return Err(format!("the node answered for {} when asked for {key}", proven.key));
    }
    ledger::verify(&at.state_root, &key, proven.value.as_deref(), &proven.proof).map_err(|error| format!("the node's proof for {key} does not hold: {error}"))?;
    Ok(proven.value)
}

/// A successful JSON answer to a GET of `url`, or why there is none.
pub(super) async fn get_json<T: serde::de::DeserializeOwned>(guard: &Guard, url: &str) -> Result<T, String> {
    get_json_capped(guard, url, MAX_ENTRY_BYTES).await
}

/// [`get_json`] with the answer capped at `cap` bytes.
pub(super) async fn get_json_capped<T: serde::de::DeserializeOwned>(guard: &Guard, url: &str, cap: usize) -> Result<T, String> {
    let request = guard.get(url, Origin::Operator).map_err(|refusal| refusal.to_string())?;
    let response = request.send().await.and_then(reqwest::Response::error_for_status).map_err(|error| describe(&error))?;
    let body = read_capped(response, cap).await.map_err(|error| error.to_string())?;
    serde_json::from_slice(&body).map_err(|error| error.to_string())
}
