//! Health claims checked against live probes of loopback subnet servers answering in
//! Desearch's real shapes.

use crate::common::loopback_guard;
use std::time::Duration;

use ledger::record::{Endpoint, Health, HealthStatus, Record};
use ledger::{Change, ChangeSet, Key, Namespace};
use orchestrator::credentials::Credentials;
use subnet::ledger_work::health_claims::{check_health_claims, DEGRADED_PROBES};
use testkit::{expected_key, test_ledger, SubnetKind, SubnetServer};

const TIMEOUT: Duration = Duration::from_secs(10);

/// The ledger's `web-search` endpoint of Desearch, pointing at `server`.
fn web_search(server: &SubnetServer) -> Endpoint {
    let test = test_ledger(&[server]);
    let key = Key::new(Namespace::Subnet(22), "endpoint/web-search").unwrap();
    match Record::decode(&key, &test.ledger.get(&key).unwrap().unwrap()).unwrap() {
        Record::Endpoint(endpoint) => endpoint,
        other => panic!("not an endpoint: {other:?}"),
    }
}

fn claim(status: HealthStatus) -> ChangeSet {
    let key = Key::new(Namespace::Subnet(22), "health/web-search").unwrap();
    let health = Health { status, checked_at_ms: 1, latency_ms_p50: 100, success_ppm: 1_000_000, samples: 3 };
    ChangeSet::new([Change { key, value: Some(Record::Health(health).encode()) }])
}

async fn verdict(server: &SubnetServer, status: HealthStatus) -> Result<(), String> {
    let endpoint = web_search(server);
    let credentials = Credentials::default().with_key(22, expected_key(SubnetKind::Desearch), ["127.0.0.1"]);
    let mut results = check_health_claims(&loopback_guard(), &claim(status), |_, _| Some(endpoint.clone()), &credentials, TIMEOUT).await;
    assert_eq!(results.len(), 1);
    results.remove(0).1
}

#[tokio::test]
async fn a_claim_holds_only_when_a_probe_bears_it_out() {
    let server = SubnetServer::start(SubnetKind::Desearch).await;
    assert_eq!(verdict(&server, HealthStatus::Up).await, Ok(()));
    let refused = verdict(&server, HealthStatus::Down).await.unwrap_err();
    assert!(refused.contains("claimed down, but the probe passed"), "{refused}");

    server.fail_always(503);
    assert_eq!(verdict(&server, HealthStatus::Down).await, Ok(()));
    let refused = verdict(&server, HealthStatus::Up).await.unwrap_err();
    assert!(refused.contains("claimed up, but the probe failed") && refused.contains("503"), "{refused}");
}

/// `degraded` is credited only when the probes show it: one fails and one passes. A healthy
/// endpoint or a dead one refutes it, and the probes spent are bounded.
#[tokio::test]
async fn a_degraded_claim_needs_probes_that_disagree() {
    let server = SubnetServer::start(SubnetKind::Desearch).await;
    let refused = verdict(&server, HealthStatus::Degraded).await.unwrap_err();
    assert!(refused.contains("probes all passed: it is up"), "{refused}");
    assert_eq!(server.requests().len(), DEGRADED_PROBES);

    server.fail_next(1, 503);
    assert_eq!(verdict(&server, HealthStatus::Degraded).await, Ok(()), "a failure, then an answer");
    assert_eq!(server.requests().len(), DEGRADED_PROBES + 2, "no probe past the one that disagreed");

    server.fail_always(503);
    let refused = verdict(&server, HealthStatus::Degraded).await.unwrap_err();
    assert!(refused.contains("probes all failed") && refused.contains("it is down"), "{refused}");
}

#[tokio::test]
async fn a_claim_about_an_endpoint_the_ledger_does_not_list_fails() {
    let credentials = Credentials::default();
    let results = check_health_claims(&loopback_guard(), &claim(HealthStatus::Up), |_, _| None, &credentials, TIMEOUT).await;
    assert!(results[0].1.as_ref().unwrap_err().contains("no endpoint `web-search`"));
}
