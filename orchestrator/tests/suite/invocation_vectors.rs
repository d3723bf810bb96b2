//! The invocation vectors of `docs/SPEC.md` (§16.5), rebuilt with the engine: each spec is
//! checked as the ledger checks it, its request rebuilt from the inputs given, and each answer
//! read into what the block says, so that the spec and the engine cannot disagree.

use ledger::invocation::Invocation;
use ledger::record::{Auth, Endpoint, HttpMethod, Json};
use orchestrator::invocation::{self, Access, CallInput, InvocationError, Window};
use serde_json::{json, Value};

fn vectors(name: &str) -> Vec<Value> {
    let mut blocks = crate::common::spec_vectors("invocation_");
    let names: Vec<&String> = blocks.keys().collect();
    assert_eq!(names, ["invocation_answers", "invocation_requests"], "every invocation vector block needs a test here, and every test a block");
    blocks.remove(name).unwrap().as_array().unwrap().clone()
}

/// An endpoint called with `method` at `url` by `spec`, checked as the ledger checks it.
fn endpoint(method: &str, url: &str, spec: &Value) -> Endpoint {
    let invocation: Invocation = serde_json::from_value(spec.clone()).expect("the spec is an invocation spec");
    let method = if method == "GET" { HttpMethod::Get } else { HttpMethod::Post };
    invocation.check(method, url).expect("the spec passes the ledger's checks");
    Endpoint {
        name: "vector".into(),
        capability: "web-search".into(),
        method,
        url: url.into(),
        input_schema: Json(json!({"type": "object"})),
        output_schema: Json(json!({"type": "object"})),
        auth: Auth::None,
        example_input: None,
        pricing: None,
        rate_limit: None,
        timeout_ms: 1000,
        invocation: Some(Box::new(invocation)),
        not_orchestrable: None,
    }
}

#[test]
fn requests_are_built_as_the_spec_says() {
    for case in vectors("invocation_requests") {
        let name = case["name"].as_str().unwrap();
        let endpoint = endpoint(case["method"].as_str().unwrap(), case["url"].as_str().unwrap(), &case["spec"]);
        let given = &case["input"];
        let schema = given.get("schema").cloned();
        let input = CallInput {
            query: given["query"].as_str().unwrap(),
            system: given["system"].as_str(),
            limit: given["limit"].as_u64().unwrap_or(0) as u32,
            window: given["since_ms"].as_u64().map(|since_ms| Window { since_ms, until_ms: given["until_ms"].as_u64().unwrap() }),
            response_schema: schema.as_ref(),
            ..CallInput::default()
        };
        let request = invocation::request(&endpoint, &input, &Access::default()).unwrap();
        let body: Option<Value> = request.body.as_deref().map(|body| serde_json::from_slice(body).unwrap());
        let method = match request.method {
            HttpMethod::Get => "GET",
            HttpMethod::Post => "POST",
        };
        let built = json!({ "method": method, "url": request.url, "headers": request.headers, "body": body, "http2_only": request.http2_only });
        assert_eq!(built, case["request"], "{name}: the engine builds\n{}", serde_json::to_string(&built).unwrap());
    }
}

#[test]
fn answers_are_read_as_the_spec_says() {
    for case in vectors("invocation_answers") {
        let name = case["name"].as_str().unwrap();
        let endpoint = endpoint("POST", "https://subnet.example/api", &case["spec"]);
        let read = match invocation::read(&endpoint, &http::HeaderMap::new(), case["answer"].to_string().as_bytes()) {
            Ok(response) => json!({ "items": response.items, "text": response.text }),
            Err(InvocationError::Empty { .. }) => json!({ "failure": "empty" }),
            Err(InvocationError::BadResponse { .. }) => json!({ "failure": "malformed" }),
            Err(InvocationError::Reported { reason, .. }) => json!({ "failure": "reported", "reason": reason }),
            Err(other) => panic!("{name}: {other}"),
        };
        assert_eq!(read, case["read"], "{name}: the engine reads\n{}", serde_json::to_string(&read).unwrap());
    }
}
