//! Ranking: routes are ordered by what was observed of them and what they cost, never by the
//! timeouts their records declare; the operator's writer preference comes first for the LLM
//! that plans and writes, and without one, writers that enforce JSON schemas.

use std::time::Duration;

use ledger::record::{Auth, Endpoint, HttpMethod, Json as RecordJson, PriceUnit, Pricing, Record};
use ledger::{Change, ChangeSet, Key, Namespace};
use orchestrator::credentials::Credentials;
use orchestrator::ranking::{Ranking, Writer};
use orchestrator::route::Catalog;
use serde_json::json;

fn endpoint(name: &str, capability: &str, timeout_ms: u32, price: Option<u64>, schema_enforced: bool) -> Endpoint {
    Endpoint {
        name: name.into(),
        capability: capability.into(),
        method: HttpMethod::Post,
        url: format!("https://{name}.example/v1"),
        input_schema: RecordJson(json!({"type": "object"})),
        output_schema: RecordJson(json!({"type": "object"})),
        auth: Auth::None,
        example_input: None,
        pricing: price.map(|usd_micros| Pricing { unit: PriceUnit::Request, usd_micros }),
        rate_limit: None,
        timeout_ms,
        invocation: Some(Box::new(
            serde_json::from_value(json!({
                "request": {"body": {"q": {"$input": "query"}}},
                "response": {"text": ["/text"]},
                "schema_enforced": schema_enforced
            }))
            .unwrap(),
        )),
        not_orchestrable: None,
    }
}

/// A catalog of `endpoints`, each on its own subnet (netuids from 201, in order).
fn catalog(endpoints: Vec<Endpoint>) -> (Catalog, testkit::TestLedger) {
    let mut test = testkit::test_ledger(&[]);
    let changes: Vec<Change> = endpoints
        .into_iter()
        .enumerate()
        .map(|(position, endpoint)| {
            let key = Key::new(Namespace::Subnet(201 + position as u16), format!("endpoint/{}", endpoint.name)).unwrap();
            Change { key, value: Some(Record::Endpoint(endpoint).encode()) }
        })
        .collect();
    test.ledger.commit(ChangeSet::new(changes)).unwrap();
    (Catalog::read(&test.ledger).unwrap(), test)
}

fn order(catalog: &Catalog, capability: &str, ranking: &Ranking) -> Vec<String> {
    catalog.routes(capability, &Credentials::default(), ranking).0.iter().map(|route| route.listing.endpoint.name.clone()).collect()
}

#[test]
fn a_declared_timeout_never_ranks_and_an_observed_one_does() {
    // The short declared timeout is a promise, not a measurement: price decides unobserved routes.
    let (catalog, _ledger) = catalog(vec![endpoint("quick-promise", "web-search", 1_000, Some(4_000), false), endpoint("cheap", "web-search", 60_000, Some(2_500), false)]);
    let ranking = Ranking::default();
    assert_eq!(order(&catalog, "web-search", &ranking), ["cheap", "quick-promise"]);

    // Seen failing, the cheap route falls behind; seen answering fast, the other leads.
    ranking.observe(202, "cheap", false, Duration::from_millis(300));
    ranking.observe(201, "quick-promise", true, Duration::from_millis(200));
    assert_eq!(order(&catalog, "web-search", &ranking), ["quick-promise", "cheap"]);
}

#[test]
fn the_operators_writer_preference_comes_first_then_writers_that_enforce_schemas() {
    let (catalog, _ledger) = catalog(vec![endpoint("free-form", "llm-chat", 1_000, None, false), endpoint("structured", "llm-chat", 90_000, None, true)]);
    assert_eq!(order(&catalog, "llm-chat", &Ranking::default()), ["structured", "free-form"], "a writer that enforces the schema leads");
    let preferred = Ranking::new(vec![Writer { netuid: 201, endpoint: None }]);
    assert_eq!(order(&catalog, "llm-chat", &preferred), ["free-form", "structured"], "the operator's choice leads");
    let by_name = Ranking::new(vec!["sn202/structured".parse().unwrap(), "201".parse().unwrap()]);
    assert_eq!(order(&catalog, "llm-chat", &by_name), ["structured", "free-form"]);
    assert!("sn64x".parse::<Writer>().is_err());
}
