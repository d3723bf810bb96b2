//! Probes against the test kit's loopback subnet servers, with the real Desearch endpoint
//! records of a test ledger, which point at those servers.

use crate::common::loopback_guard;
use std::time::Duration;

use ledger::record::{Endpoint, Record, SubnetIdentity};
use ledger::{Change, ChangeSet, Key, Namespace};
use orchestrator::invocation::InvocationError;
use orchestrator::credentials::Credentials;
use subnet::ledger_work::probe::{probe, probe_changes, ProbeError};
use serde_json::json;
use testkit::{expected_key, test_ledger, SubnetKind, SubnetServer};

const DESEARCH: u16 = 22;
const TIMEOUT: Duration = Duration::from_secs(10);

fn key(path: &str) -> Key {
    Key::new(Namespace::Subnet(DESEARCH), path).expect("a valid path")
}

/// Desearch's endpoint `name` as a test ledger records it, pointing at `server`.
fn desearch_endpoint(server: &SubnetServer, name: &str) -> Endpoint {
    let test = test_ledger(&[server]);
    let key = key(&format!("endpoint/{name}"));
    let bytes = test.ledger.get(&key).expect("read the test ledger").unwrap_or_else(|| panic!("the test ledger has {key}"));
    match Record::decode(&key, &bytes).expect("the record decodes") {
        Record::Endpoint(endpoint) => endpoint,
        other => panic!("{key} holds {other:?}"),
    }
}

fn desearch_credentials() -> Credentials {
    Credentials::default().with_key(DESEARCH, expected_key(SubnetKind::Desearch), ["127.0.0.1"])
}

#[tokio::test]
async fn a_get_endpoint_sends_its_example_as_query_parameters_with_its_auth_and_passes() {
    let server = SubnetServer::start(SubnetKind::Desearch).await;
    let endpoint = desearch_endpoint(&server, "web-search");
    assert!(endpoint.url.starts_with(&server.base_url()), "the test ledger points at the server: {}", endpoint.url);

    let report = probe(&loopback_guard(), DESEARCH, &endpoint, &desearch_credentials(), TIMEOUT).await.expect("the probe passes");

    assert_eq!(report.status, 200);
    assert!(report.answer["data"].is_array(), "{}", report.answer);
    let requests = server.requests();
    let [request] = requests.as_slice() else { panic!("one request, got {requests:?}") };
    assert_eq!(request.method, "GET");
    assert_eq!(request.path, "/web");
    assert_eq!(request.query, "num=10&query=bittensor%20subnets&start=0", "encoded as the engine encodes real calls");
    assert_eq!(request.header("authorization"), Some(SubnetKind::Desearch.authorization().as_str()));
}

#[tokio::test]
async fn a_post_endpoint_sends_its_example_as_the_json_body_and_passes() {
    let server = SubnetServer::start(SubnetKind::Desearch).await;
    let endpoint = desearch_endpoint(&server, "ai-search");

    let report = probe(&loopback_guard(), DESEARCH, &endpoint, &desearch_credentials(), TIMEOUT).await.expect("the probe passes");

    assert_eq!(report.status, 200);
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].method, "POST");
    assert_eq!(Some(&requests[0].body), endpoint.example_input.as_ref().map(|example| &example.0));
}

#[tokio::test]
async fn a_server_failing_with_500_fails_the_probe_with_the_status_and_its_error_body() {
    let server = SubnetServer::start(SubnetKind::Desearch).await;
    server.fail_always(500);
    let endpoint = desearch_endpoint(&server, "web-search");

    let error = probe(&loopback_guard(), DESEARCH, &endpoint, &desearch_credentials(), TIMEOUT).await.expect_err("the probe fails");

    let ProbeError::Status { status, excerpt, .. } = &error else { panic!("expected a status error, got {error}") };
    assert_eq!(*status, 500);
    assert!(!excerpt.is_empty(), "the error body is quoted: {error}");
}

#[tokio::test]
async fn an_answer_lacking_a_field_the_recorded_schema_requires_fails_with_the_violation_listed() {
    let server = SubnetServer::start(SubnetKind::Desearch).await;
    let mut endpoint = desearch_endpoint(&server, "web-search");
    endpoint.output_schema.0["required"] = json!(["data", "total_results"]);

    let error = probe(&loopback_guard(), DESEARCH, &endpoint, &desearch_credentials(), TIMEOUT).await.expect_err("the probe fails");

    let ProbeError::Violations { violations, .. } = &error else { panic!("expected violations, got {error}") };
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert_eq!(violations[0].path, "", "the root lacks the field");
    assert!(violations[0].message.contains("total_results"), "{}", violations[0].message);
    assert!(error.to_string().contains("total_results"), "{error}");
}

#[tokio::test]
async fn a_missing_key_fails_naming_the_variable_to_set_and_sends_nothing() {
    let server = SubnetServer::start(SubnetKind::Desearch).await;
    let endpoint = desearch_endpoint(&server, "web-search");

    let error = probe(&loopback_guard(), DESEARCH, &endpoint, &Credentials::default(), TIMEOUT).await.expect_err("the probe fails");

    assert!(matches!(error, ProbeError::Auth(InvocationError::MissingKey { netuid: DESEARCH, .. })), "{error}");
    assert!(error.to_string().contains("ORCHESTRA_SN22_KEY"), "{error}");
    assert_eq!(server.request_count(), 0);
}

#[tokio::test]
async fn a_server_slower_than_the_probe_limit_times_out() {
    let server = SubnetServer::start(SubnetKind::Desearch).await;
    server.set_latency(Duration::from_secs(5));
    let endpoint = desearch_endpoint(&server, "web-search");

    let error = probe(&loopback_guard(), DESEARCH, &endpoint, &desearch_credentials(), Duration::from_millis(200))
        .await
        .expect_err("the probe fails");

    assert!(matches!(error, ProbeError::TimedOut { limit_ms: 200, .. }), "{error}");
}

#[tokio::test]
async fn the_records_own_timeout_limits_the_probe_when_it_is_shorter() {
    let server = SubnetServer::start(SubnetKind::Desearch).await;
    server.set_latency(Duration::from_secs(5));
    let mut endpoint = desearch_endpoint(&server, "web-search");
    endpoint.timeout_ms = 150;

    let error = probe(&loopback_guard(), DESEARCH, &endpoint, &desearch_credentials(), TIMEOUT).await.expect_err("the probe fails");

    assert!(matches!(error, ProbeError::TimedOut { limit_ms: 150, .. }), "{error}");
}

#[tokio::test]
async fn an_endpoint_without_an_example_input_cannot_be_probed() {
    let server = SubnetServer::start(SubnetKind::Desearch).await;
    let mut endpoint = desearch_endpoint(&server, "web-search");
    endpoint.example_input = None;

    let error = probe(&loopback_guard(), DESEARCH, &endpoint, &desearch_credentials(), TIMEOUT).await.expect_err("the probe fails");

    assert!(matches!(error, ProbeError::NoExampleInput { .. }), "{error}");
    assert_eq!(server.request_count(), 0);
}

#[tokio::test]
async fn probing_a_change_set_probes_every_endpoint_record_it_writes() {
    let server = SubnetServer::start(SubnetKind::Desearch).await;
    let web_search = desearch_endpoint(&server, "web-search");
    let identity = SubnetIdentity {
        netuid: DESEARCH,
        name: "Desearch".into(),
        summary: "Search".into(),
        capabilities: vec!["web-search".into()],
        website: None,
        github: None,
    };
    let changes = ChangeSet::new([
        Change { key: key("identity"), value: Some(Record::Identity(identity).encode()) },
        Change { key: key("endpoint/web-search"), value: Some(Record::Endpoint(web_search.clone()).encode()) },
        // Stored under another name than its own: not a valid record at this path.
        Change { key: key("endpoint/misfiled"), value: Some(Record::Endpoint(web_search).encode()) },
        Change { key: key("endpoint/x-search"), value: None },
    ]);

    let results = probe_changes(&loopback_guard(), &changes, &desearch_credentials(), TIMEOUT).await;

    let keys: Vec<&Key> = results.iter().map(|(key, _)| key).collect();
    assert_eq!(keys, [&key("endpoint/misfiled"), &key("endpoint/web-search")]);
    assert!(matches!(results[0].1, Err(ProbeError::InvalidRecord(_))), "{:?}", results[0].1);
    assert_eq!(results[1].1.as_ref().expect("the web search passes").status, 200);
    assert_eq!(server.request_count(), 1);
}

#[tokio::test]
async fn a_spec_whose_pointers_miss_the_live_answer_fails_the_probe() {
    let server = SubnetServer::start(SubnetKind::Desearch).await;
    let mut endpoint = desearch_endpoint(&server, "web-search");
    probe(&loopback_guard(), DESEARCH, &endpoint, &desearch_credentials(), TIMEOUT).await.expect("the genesis spec reads the answer");

    // The same record with its items read from a key the API does not answer with: the schema
    // still passes, but routing would get no evidence from it.
    let spec = endpoint.invocation.as_mut().unwrap();
    spec.response.items[0].at = vec!["/results".into()];
    let error = probe(&loopback_guard(), DESEARCH, &endpoint, &desearch_credentials(), TIMEOUT).await.unwrap_err();
    assert!(matches!(error, ProbeError::Unreadable { .. }), "{error}");
    assert!(error.to_string().contains("no evidence"), "{error}");
}

/// An endpoint whose spec demands HTTP/2 and Connect's JSON (Data Universe, which turns
/// HTTP/1.1 away) is probed as the engine calls it, so a true record of it can pass.
#[tokio::test]
async fn an_endpoint_is_probed_over_the_transport_its_spec_names() {
    let server = SubnetServer::start(SubnetKind::DataUniverse).await;
    let netuid = SubnetKind::DataUniverse.netuid();
    let test = test_ledger(&[&server]);
    let key = Key::new(Namespace::Subnet(netuid), "endpoint/on-demand-x").unwrap();
    let Record::Endpoint(endpoint) = Record::decode(&key, &test.ledger.get(&key).unwrap().unwrap()).unwrap() else { panic!("an endpoint record") };
    let credentials = Credentials::default().with_key(netuid, expected_key(SubnetKind::DataUniverse), ["127.0.0.1"]);

    probe(&loopback_guard(), netuid, &endpoint, &credentials, TIMEOUT).await.expect("the probe passes");
    let requests = server.requests();
    let [request] = requests.as_slice() else { panic!("one request, got {requests:?}") };
    assert_eq!(request.http_version, "HTTP/2.0");
    assert_eq!(request.header("connect-protocol-version"), Some("1"));
}
