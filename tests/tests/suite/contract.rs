//! The node's answers against its own OpenAPI document, and retries with `Idempotency-Key`:
//! what a client generated from the document, or retrying by the book, relies on.

use std::time::Duration;

use serde_json::{json, Value};

use crate::common::{gpu_schema, Options, Stack, GPU_OBJECTIVE};

/// The seed's objective: a required web search and a supplementary X search.
const SEED_OBJECTIVE: &str = "Find trending AI papers and summarize key contributions";

async fn openapi(stack: &Stack) -> Value {
    reqwest::get(format!("{}/openapi.json", stack.url)).await.unwrap().json().await.unwrap()
}

/// Asserts `instance` is valid against the document's schema `name`.
fn assert_valid(document: &Value, name: &str, instance: &Value) {
    let schema = &document["components"]["schemas"][name];
    assert!(schema.is_object(), "the document has no schema {name}");
    let validator = jsonschema::validator_for(schema).unwrap_or_else(|error| panic!("schema {name} does not compile: {error}"));
    let problems: Vec<String> = validator.iter_errors(instance).map(|error| format!("{}: {error}", error.instance_path())).collect();
    assert!(problems.is_empty(), "the answer does not match {name}: {problems:?}\n{instance}");
}

#[tokio::test(flavor = "multi_thread")]
async fn answers_and_errors_match_the_openapi_document() {
    let stack = Stack::start(Options::default()).await;
    let document = openapi(&stack).await;

    stack.desearch.fail_paths(&["/twitter", "/desearch/ai/search/links/twitter"], 500);
    stack.data_universe.fail_paths(&["/sn13.v1.Sn13Service/OnDemandData"], 500);
    let (status, body) = stack.orchestrate(json!({ "objective": SEED_OBJECTIVE, "target_schema": { "papers": [{ "title": "str" }], "synthesis": "str" } })).await;
    assert_eq!(status, 200, "{body}");
    assert!(!body["skipped_tasks"].as_array().unwrap().is_empty());
    assert_valid(&document, "OrchestrateAnswer", &body);
    let (status, body) = stack.orchestrate(json!({ "objective": GPU_OBJECTIVE, "target_schema": gpu_schema() })).await;
    assert_eq!(status, 200, "{body}");
    assert_valid(&document, "OrchestrateAnswer", &body);

    stack.desearch.fail_always(503);
    let (status, body) = stack.orchestrate(json!({ "objective": GPU_OBJECTIVE, "target_schema": gpu_schema() })).await;
    assert_eq!(status, 502);
    assert_valid(&document, "Error", &body);
    let (status, body) = stack.orchestrate(json!({ "objective": "x", "target_schema": { "a": "nonsense-type" } })).await;
    assert_eq!(status, 400);
    assert_valid(&document, "Error", &body);

    // A code the document does not list fails the Error schema, so the check above has teeth.
    let unknown = json!({ "error": { "code": "no_such_code", "message": "m" } });
    let validator = jsonschema::validator_for(&document["components"]["schemas"]["Error"]).unwrap();
    assert!(!validator.is_valid(&unknown));
}

async fn post(stack: &Stack, key: &str, body: &Value) -> reqwest::Response {
    reqwest::Client::new().post(format!("{}/v1/orchestrate", stack.url)).bearer_auth(&stack.api_key).header("idempotency-key", key).json(body).send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_retried_with_its_idempotency_key_runs_and_is_charged_once() {
    let stack = Stack::start(Options::default()).await;
    let request = json!({ "objective": GPU_OBJECTIVE, "target_schema": gpu_schema() });
    let before = stack.balance().await;

    let first = post(&stack, "retry-1", &request).await;
    assert_eq!(first.status(), 200);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first: Value = first.json().await.unwrap();
    let calls = stack.desearch.request_count();
    let charged = before - 1 - stack.balance().await;
    assert_eq!(charged, first["cost"]["total_rao"].as_u64().unwrap());

    let again = post(&stack, "retry-1", &request).await;
    assert_eq!(again.status(), 200);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again: Value = again.json().await.unwrap();
    assert_eq!(again, first, "the retry gets the first answer, receipts and all");
    assert_eq!(stack.desearch.request_count(), calls, "no subnet was called again");
    assert_eq!(before - 2 - stack.balance().await, charged, "charged once (the balance reads cost 1 rao each)");

    // The same key with another request is refused, and nothing runs or is charged.
    let other = json!({ "objective": "Find recent arxiv papers on mixture of experts", "target_schema": { "papers": [{ "title": "str" }] } });
    let refused = post(&stack, "retry-1", &other).await;
    assert_eq!(refused.status(), 422);
    let refused: Value = refused.json().await.unwrap();
    assert_eq!(refused["error"]["code"], "idempotency_key_reused");
    assert_eq!(stack.desearch.request_count(), calls);
    assert_eq!(before - 3 - stack.balance().await, charged);

    // Another caller's key of the same name is its own.
    let theirs = reqwest::Client::new().post(format!("{}/v1/orchestrate", stack.url)).bearer_auth(&stack.other_api_key).header("idempotency-key", "retry-1").json(&request).send().await.unwrap();
    assert_eq!(theirs.status(), 200);
    assert!(theirs.headers().get("idempotent-replayed").is_none(), "a stranger's key never finds the first caller's answer");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_key_in_flight_refuses_its_duplicate_and_a_refused_request_leaves_no_entry() {
    let stack = Stack::start(Options::default()).await;
    let request = json!({ "objective": GPU_OBJECTIVE, "target_schema": gpu_schema() });
    stack.desearch.set_latency(Duration::from_millis(300));
    let running = {
        let url = stack.url.clone();
        let api_key = stack.api_key.clone();
        let request = request.clone();
        tokio::spawn(async move { reqwest::Client::new().post(format!("{url}/v1/orchestrate")).bearer_auth(api_key).header("idempotency-key", "slow").json(&request).send().await.unwrap() })
    };
    crate::common::wait_until("the first request reaches the subnet", || stack.desearch.request_count() > 0).await;
    let duplicate = post(&stack, "slow", &request).await;
    assert_eq!(duplicate.status(), 409);
    assert!(duplicate.headers().contains_key("retry-after"));
    let duplicate: Value = duplicate.json().await.unwrap();
    assert_eq!(duplicate["error"]["code"], "idempotency_key_in_use");
    assert_eq!(running.await.unwrap().status(), 200);

    // A request refused before any work (a budget beyond the key's credit) keeps no answer:
    // the same key runs once the request can be paid.
    let costly = json!({ "objective": GPU_OBJECTIVE, "target_schema": gpu_schema(), "budget_rao": 100_000_000_000_000u64 });
    let refused = post(&stack, "costly", &costly).await;
    assert_eq!(refused.status(), 402);
    let refused_again = post(&stack, "costly", &costly).await;
    assert_eq!(refused_again.status(), 402);
    assert!(refused_again.headers().get("idempotent-replayed").is_none());
}
