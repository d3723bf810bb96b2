//! Health claims: a `health/<endpoint>` record a miner proposes, checked against a live probe
//! of the endpoint before a validator attests it.
//!
//! Terms:
//! - **claim**: the record's status. An endpoint claimed `up` must pass a [probe]; one claimed
//!   `down` must fail it; one claimed `degraded` (it answers, but not always or not usably) must
//!   do both within [`DEGRADED_PROBES`] probes, stopping at the first that disagrees with the
//!   others. An endpoint that passes them all is up, and one that fails them all is down: a
//!   `degraded` claim is never free ledger work.
//! - **endpoint of a claim**: the `endpoint/<name>` record of the same subnet, from the same
//!   change set when it writes one, else from the ledger (`endpoint_of`).
//!
//! Without this check, health records would be ledger work a miner could claim for free.

use std::time::Duration;

use futures::stream::{self, StreamExt};
use ledger::record::{Endpoint, Health, HealthStatus, Record};
use ledger::{ChangeSet, Key, Namespace};

use super::probe::{probe, PROBES_IN_FLIGHT};

/// Probes that may be spent on a `degraded` claim: its cost is bounded like every other probe's.
pub const DEGRADED_PROBES: usize = 3;
use orchestrator::credentials::Credentials;
use orchestrator::outbound::Guard;

/// Checks, [`PROBES_IN_FLIGHT`] at a time, every health record `changes` writes; an error says
/// why a claim does not hold. Changes that write no health record are not listed.
pub async fn check_health_claims(
    guard: &Guard,
    changes: &ChangeSet,
    endpoint_of: impl Fn(u16, &str) -> Option<Endpoint>,
    credentials: &Credentials,
    timeout: Duration,
) -> Vec<(Key, Result<(), String>)> {
    let written_endpoint = |netuid: u16, name: &str| {
        changes.changes().iter().find_map(|change| {
            let key = Key::new(Namespace::Subnet(netuid), format!("endpoint/{name}")).ok()?;
            if change.key != key {
                return None;
            }
            match Record::decode(&change.key, change.value.as_deref()?) {
                Ok(Record::Endpoint(endpoint)) => Some(endpoint),
                _ => None,
            }
        })
    };
    let checks = changes.changes().iter().filter_map(|change| {
        let Namespace::Subnet(netuid) = change.key.namespace else { return None };
        let name = change.key.path.strip_prefix("health/")?;
        let Ok(Record::Health(claim)) = Record::decode(&change.key, change.value.as_deref()?) else { return None };
        let endpoint = written_endpoint(netuid, name).or_else(|| endpoint_of(netuid, name));
        Some(async move {
            let verdict = match endpoint {
                None => Err(format!("SN{netuid} has no endpoint `{name}` to be healthy or not")),
                Some(endpoint) => check(guard, netuid, &endpoint, &claim, credentials, timeout).await,
            };
            (change.key.clone(), verdict)
        })
    });
    stream::iter(checks).buffered(PROBES_IN_FLIGHT).collect().await
}

async fn check(guard: &Guard, netuid: u16, endpoint: &Endpoint, claim: &Health, credentials: &Credentials, timeout: Duration) -> Result<(), String> {
    if claim.status == HealthStatus::Degraded {
        return check_degraded(guard, netuid, endpoint, credentials, timeout).await;
    }
    let probed = probe(guard, netuid, endpoint, credentials, timeout).await;
    match (claim.status, probed) {
        (HealthStatus::Up, Ok(_)) | (HealthStatus::Down, Err(_)) => Ok(()),
        (HealthStatus::Up, Err(error)) => Err(format!("claimed up, but the probe failed: {error}")),
        (HealthStatus::Down, Ok(report)) => Err(format!("claimed down, but the probe passed (HTTP {} in {} ms)", report.status, report.latency_ms)),
        (HealthStatus::Degraded, _) => unreachable!("checked above"),
    }
}

/// A `degraded` claim holds when, within [`DEGRADED_PROBES`] probes, one passes and one fails.
async fn check_degraded(guard: &Guard, netuid: u16, endpoint: &Endpoint, credentials: &Credentials, timeout: Duration) -> Result<(), String> {
    let (mut passed, mut last_failure) = (0, None);
    for _ in 0..DEGRADED_PROBES {
        match probe(guard, netuid, endpoint, credentials, timeout).await {
            Ok(_) => passed += 1,
            Err(error) => last_failure = Some(error.to_string()),
        }
        if passed > 0 && last_failure.is_some() {
            return Ok(());
        }
    }
    match last_failure {
        None => Err(format!("claimed degraded, but {DEGRADED_PROBES} probes all passed: it is up")),
        Some(error) => Err(format!("claimed degraded, but {DEGRADED_PROBES} probes all failed, the last with {error}: it is down")),
    }
}
