//! Health changes from an orchestration's call records, and the signed diffs proposing them,
//! applied to a real ledger.

use ledger::hotkey::{verify_signature, Hotkey};
use ledger::record::{Health, HealthStatus, Record};
use ledger::{ChangeSet, Key, Namespace};
use orchestrator::execute::trace::{CallOutcome, CallRecord, PLANNING_TASK};
use subnet::ledger_work::health::health_changes;
use subnet::ledger_work::propose;
use testkit::test_ledger;

const DESEARCH: u16 = 22;
const CHUTES: u16 = 64;
const NOW_MS: u64 = 1_800_000_000_000;

fn call(subnet: u16, endpoint: &str, status: u16, duration_ms: f64) -> CallRecord {
    let outcome = match status {
        200..=299 => CallOutcome::Ok,
        0 | 429 | 500..=599 => CallOutcome::Retryable,
        _ => CallOutcome::Failed,
    };
    CallRecord {
        task: "search".into(),
        subnet,
        endpoint: endpoint.into(),
        attempt: 1,
        status,
        outcome,
        error: (outcome != CallOutcome::Ok).then(|| format!("HTTP {status}")),
        started_ms: NOW_MS - 1_000,
        offset_ms: 0.0,
        duration_ms,
        cost_rao: 0,
        cost_usd_micros: None,
    }
}

fn web_search(status: u16, duration_ms: f64) -> CallRecord {
    call(DESEARCH, "web-search", status, duration_ms)
}

fn health(status: HealthStatus, success_ppm: u32, samples: u32) -> Health {
    Health { status, checked_at_ms: NOW_MS - 60_000, latency_ms_p50: 400, success_ppm, samples }
}

fn no_record(_: u16, _: &str) -> Option<Health> {
    None
}

/// The health records `changes` writes, decoded as the ledger decodes them.
fn written(changes: &ChangeSet) -> Vec<(Key, Health)> {
    changes
        .changes()
        .iter()
        .map(|change| {
            let value = change.value.as_deref().expect("health changes are puts");
            match Record::decode(&change.key, value).expect("a valid record") {
                Record::Health(health) => (change.key.clone(), health),
                other => panic!("{} holds {other:?}", change.key),
            }
        })
        .collect()
}

fn health_key(netuid: u16, endpoint: &str) -> Key {
    Key::new(Namespace::Subnet(netuid), format!("health/{endpoint}")).expect("a valid path")
}

/// The one record `changes` writes, at subnet 22's web search.
fn only_web_search(changes: &ChangeSet) -> Health {
    let written = written(changes);
    let [(key, health)] = written.as_slice() else { panic!("one change, got {written:?}") };
    assert_eq!(*key, health_key(DESEARCH, "web-search"));
    health.clone()
}

#[test]
fn every_attempt_failing_with_500_marks_the_endpoint_down() {
    let calls = [web_search(500, 40.0), web_search(500, 50.0), web_search(0, 30_000.0)];

    let health = only_web_search(&health_changes(&calls, no_record, NOW_MS));

    assert_eq!(health, Health { status: HealthStatus::Down, checked_at_ms: NOW_MS, latency_ms_p50: 0, success_ppm: 0, samples: 3 });
}

#[test]
fn some_attempts_failing_mark_it_degraded_with_the_median_latency_of_the_successes() {
    let calls = [web_search(200, 300.0), web_search(500, 10.0), web_search(200, 100.0), web_search(200, 200.4)];

    let health = only_web_search(&health_changes(&calls, no_record, NOW_MS));

    assert_eq!(health.status, HealthStatus::Degraded);
    assert_eq!(health.latency_ms_p50, 200);
    assert_eq!(health.success_ppm, 750_000);
    assert_eq!(health.samples, 4);
}

#[test]
fn an_endpoint_that_answers_but_refuses_every_call_is_degraded_not_down() {
    let calls = [web_search(422, 20.0), web_search(422, 20.0)];

    let health = only_web_search(&health_changes(&calls, no_record, NOW_MS));

    assert_eq!(health.status, HealthStatus::Degraded);
}

#[test]
fn a_recovered_endpoint_is_up_with_its_success_rate_blended_by_samples() {
    let current = |_: u16, _: &str| Some(health(HealthStatus::Down, 0, 10));
    let calls = [web_search(200, 120.0), web_search(200, 80.0)];

    let health = only_web_search(&health_changes(&calls, current, NOW_MS));

    assert_eq!(health, Health { status: HealthStatus::Up, checked_at_ms: NOW_MS, latency_ms_p50: 80, success_ppm: 166_666, samples: 12 });
}

#[test]
fn failures_without_a_success_keep_the_current_latency() {
    let current = |_: u16, _: &str| Some(health(HealthStatus::Up, 1_000_000, 50));

    let health = only_web_search(&health_changes(&[web_search(503, 5.0)], current, NOW_MS));

    assert_eq!(health.status, HealthStatus::Down);
    assert_eq!(health.latency_ms_p50, 400);
}

#[test]
fn a_small_fluctuation_with_the_same_status_changes_nothing() {
    let up = |_: u16, _: &str| Some(health(HealthStatus::Up, 950_000, 100));
    assert!(health_changes(&[web_search(200, 90.0), web_search(200, 95.0)], up, NOW_MS).is_empty());

    let degraded = |_: u16, _: &str| Some(health(HealthStatus::Degraded, 800_000, 100));
    assert!(health_changes(&[web_search(200, 90.0), web_search(500, 5.0)], degraded, NOW_MS).is_empty());
}

#[test]
fn a_success_rate_moving_more_than_ten_points_is_proposed_even_with_the_same_status() {
    let current = |_: u16, _: &str| Some(health(HealthStatus::Degraded, 900_000, 10));
    let mut calls = vec![web_search(200, 100.0); 3];
    calls.extend(vec![web_search(500, 10.0); 7]);

    let health = only_web_search(&health_changes(&calls, current, NOW_MS));

    assert_eq!(health.status, HealthStatus::Degraded);
    assert_eq!(health.success_ppm, 600_000);
    assert_eq!(health.samples, 20);
}

#[test]
fn each_endpoint_called_gets_its_own_record_planning_calls_included() {
    let mut planning = call(CHUTES, "chat-completions", 500, 10.0);
    planning.task = PLANNING_TASK.into();
    let current = |netuid: u16, endpoint: &str| (netuid == DESEARCH && endpoint == "x-search").then(|| health(HealthStatus::Up, 990_000, 100));
    let calls = [planning, web_search(200, 100.0), call(DESEARCH, "x-search", 200, 100.0)];

    let keys: Vec<Key> = written(&health_changes(&calls, current, NOW_MS)).into_iter().map(|(key, _)| key).collect();

    assert_eq!(keys, [health_key(DESEARCH, "web-search"), health_key(CHUTES, "chat-completions")]);
}

#[test]
fn the_proposed_diff_applies_to_a_real_ledger_and_the_health_record_reads_back() {
    let mut test = test_ledger(&[]);
    let endpoint_key = Key::new(Namespace::Subnet(DESEARCH), "endpoint/web-search").expect("a valid path");
    assert!(test.ledger.get(&endpoint_key).expect("read").is_some(), "the test ledger committed the endpoint");
    let miner = Hotkey::from_seed(&[7; 32]).expect("a hotkey");
    let changes = health_changes(&[web_search(500, 40.0), web_search(500, 45.0)], no_record, NOW_MS);
    let expected = only_web_search(&changes);

    let diff = propose(changes, test.ledger.head().into(), &miner).expect("a non-empty change set is proposed");
    let checkpoint = test.ledger.apply_diff(&diff, &|hotkey| hotkey == miner.ss58()).expect("the diff applies");

    let stored = test.ledger.get(&health_key(DESEARCH, "web-search")).expect("read").expect("the health record is stored");
    assert_eq!(Record::decode(&health_key(DESEARCH, "web-search"), &stored).expect("a valid record"), Record::Health(expected));
    assert_eq!(test.ledger.change_record(checkpoint.version).expect("the change record").proposer, Some(miner.ss58()));
}

#[test]
fn the_proposers_signature_checks_and_a_tampered_diff_is_refused() {
    let test = test_ledger(&[]);
    let miner = Hotkey::from_seed(&[7; 32]).expect("a hotkey");
    let diff = propose(health_changes(&[web_search(500, 40.0)], no_record, NOW_MS), test.ledger.head().into(), &miner).expect("a diff");

    assert_eq!(diff.proposal.proposer, miner.ss58());
    assert_eq!((diff.proposal.base_version, diff.proposal.base_root), (test.ledger.head().version, test.ledger.head().state_root));
    verify_signature(&miner.ss58(), &diff.proposal.signing_bytes(), &diff.signature).expect("the signature verifies");
    diff.check().expect("the diff passes the ledger's checks");

    let mut tampered = diff.clone();
    tampered.proposal.changes = health_changes(&[web_search(200, 40.0)], no_record, NOW_MS);
    assert!(tampered.check().is_err(), "changed changes no longer match the signature");

    let mut impostor = diff;
    impostor.proposal.proposer = Hotkey::from_seed(&[8; 32]).expect("a hotkey").ss58();
    assert!(impostor.check().is_err(), "the signature is not the claimed proposer's");
}

#[test]
fn nothing_to_propose_makes_no_diff() {
    let test = test_ledger(&[]);
    let miner = Hotkey::from_seed(&[7; 32]).expect("a hotkey");

    assert!(propose(ChangeSet::default(), test.ledger.head().into(), &miner).is_none());
}
