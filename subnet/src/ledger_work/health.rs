//! Health changes: what a miner proposes after an orchestration showed how the endpoints it
//! called are doing.
//!
//! Terms:
//! - **observation**: the attempts one orchestration made on one endpoint (a subnet and an
//!   endpoint name). The planning and synthesis calls count: they are real calls to LLM subnets.
//! - **observed status**: `Up` when every attempt succeeded; `Down` when none did and every
//!   failure says the endpoint could not be reached or could not serve (a retryable failure, or
//!   no response at all: status 0); `Degraded` otherwise: it answers, but not always, or not
//!   usably.
//! - **p50 latency**: the median duration of the successful attempts (the lower one of an even
//!   count). An observation without a success keeps the current record's, having nothing newer
//!   to say.
//! - **blended success rate**: the current record's success rate and the observation's,
//!   weighted by their sample counts; the new record's samples are their sum.
//! - **significant change**: there is no current record, the status differs from it, or the
//!   blended success rate moved by more than [`SIGNIFICANT_SHIFT_PPM`]. Only significant changes
//!   are written, so that healthy calls do not flood the ledger with diffs.

use std::collections::BTreeMap;

use ledger::record::{Health, HealthStatus, Record};
use ledger::{Change, ChangeSet, Key, Namespace};

use orchestrator::execute::trace::{CallOutcome, CallRecord};

/// A move of the success rate worth a diff: 10 percentage points, in parts per million.
pub const SIGNIFICANT_SHIFT_PPM: u32 = 100_000;

const MILLION: u64 = 1_000_000;

/// The health records `calls` show changed significantly, checked at `now_ms`. `current` gives
/// the ledger's record for a subnet and endpoint name, if it has one.
pub fn health_changes(calls: &[CallRecord], current: impl Fn(u16, &str) -> Option<Health>, now_ms: u64) -> ChangeSet {
    let mut observations: BTreeMap<(u16, &str), Vec<&CallRecord>> = BTreeMap::new();
    for call in calls {
        observations.entry((call.subnet, call.endpoint.as_str())).or_default().push(call);
    }
    let changes = observations.into_iter().filter_map(|((netuid, endpoint), attempts)| {
        let previous = current(netuid, endpoint);
        let observed = observed_health(&attempts, previous.as_ref(), now_ms);
        if !is_significant(previous.as_ref(), &observed) {
            return None;
        }
        // A name too long for a path cannot have come from an endpoint record: nothing to record.
        let key = Key::new(Namespace::Subnet(netuid), format!("health/{endpoint}")).ok()?;
        Some(Change { key, value: Some(Record::Health(observed).encode()) })
    });
    ChangeSet::new(changes)
}

/// The record one observation makes of the current one (see the module documentation).
fn observed_health(attempts: &[&CallRecord], current: Option<&Health>, now_ms: u64) -> Health {
    let successes: Vec<f64> = attempts.iter().filter(|call| call.outcome == CallOutcome::Ok).map(|call| call.duration_ms).collect();
    let status = observed_status(attempts, successes.len());
    let succeeded = successes.len() as u64;
    let latency_ms_p50 = median_ms(successes).or(current.map(|health| health.latency_ms_p50)).unwrap_or(0);
    let (prior_ppm, prior_samples) = current.map_or((0, 0), |health| (u64::from(health.success_ppm), u64::from(health.samples)));
    let samples = prior_samples + attempts.len() as u64;
    let success_ppm = (prior_ppm * prior_samples + succeeded * MILLION) / samples;
    Health {
        status,
        checked_at_ms: now_ms,
        latency_ms_p50,
        success_ppm: success_ppm as u32,
        samples: u32::try_from(samples).unwrap_or(u32::MAX),
    }
}

fn observed_status(attempts: &[&CallRecord], succeeded: usize) -> HealthStatus {
    let unreachable = |call: &&CallRecord| call.outcome == CallOutcome::Retryable || call.status == 0;
    if succeeded == attempts.len() {
        HealthStatus::Up
    } else if succeeded == 0 && attempts.iter().all(unreachable) {
        HealthStatus::Down
    } else {
        HealthStatus::Degraded
    }
}

/// The lower median of `durations_ms`, in whole milliseconds; `None` when there are none.
fn median_ms(mut durations_ms: Vec<f64>) -> Option<u32> {
    durations_ms.sort_by(f64::total_cmp);
    let median = *durations_ms.get(durations_ms.len().checked_sub(1)? / 2)?;
    Some(median.round() as u32)
}

fn is_significant(current: Option<&Health>, observed: &Health) -> bool {
    current.is_none_or(|current| {
        current.status != observed.status || current.success_ppm.abs_diff(observed.success_ppm) > SIGNIFICANT_SHIFT_PPM
    })
}
