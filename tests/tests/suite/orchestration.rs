//! End to end over loopback: a node's `POST /v1/orchestrate` planning, routing and calling
//! local subnet servers that answer in the real APIs' shapes, then synthesising, validating,
//! signing and charging.

use crate::common;

use crate::common::{asks_for_plan, gpu_schema, Options, Stack, GPU_OBJECTIVE};
use orchestra_client::{Client, ClientError};
use orchestrator::receipts::{self, Nonce, ReceiptError};
use serde_json::{json, Value};

fn competitor_names(result: &Value) -> Vec<String> {
    result["competitors"].as_array().unwrap().iter().map(|competitor| competitor["name"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_worked_example_runs_end_to_end_without_an_llm() {
    let stack = Stack::start(Options::default()).await;
    let before = stack.balance().await;
    let answer = stack.client().execute(GPU_OBJECTIVE, gpu_schema()).await.expect("the worked example succeeds");

    // The client checked the receipts against its nonce and the result against the schema;
    // what remains is what the user reads.
    assert_eq!(competitor_names(&answer.result), ["RunPod", "Vast.ai", "Lambda"]);
    for competitor in answer.result["competitors"].as_array().unwrap() {
        let pricing = competitor["pricing"].as_object().unwrap();
        assert!(!pricing.is_empty(), "{competitor} has prices from the pricing pages");
        assert!(pricing.values().all(|price| price.as_f64().is_some_and(|price| price > 0.0)));
    }
    let price_point = answer.result["recommendation"]["price_point"].as_f64().unwrap();
    assert!(price_point > 0.0);
    assert!(answer.result["recommendation"]["rationale"].as_str().unwrap().contains("RunPod"));

    assert_eq!(answer.plan.planner, orchestrator::plan::PlannerKind::Deterministic);
    let subjects: Vec<_> = answer.plan.tasks.iter().filter_map(|task| task.subject.clone()).collect();
    assert_eq!(subjects, ["RunPod", "Vast.ai", "Lambda"]);
    assert_eq!(answer.synthesis.method, orchestrator::synthesis::Method::Deterministic);

    // One receipt per call, signed by the node, each call priced from Desearch's cost header.
    assert_eq!(answer.receipts.receipts.len(), answer.calls.len());
    assert_eq!(answer.receipts.miner, stack.miner);
    assert_eq!(answer.calls.len(), 3, "one Desearch call per competitor: {:?}", answer.calls);
    assert!(answer.calls.iter().all(|call| call.subnet == 22 && call.status == 200 && call.cost_usd_micros.is_some() && call.cost_rao > 0));
    let calls_cost: u64 = answer.calls.iter().map(|call| call.cost_rao).sum();
    assert_eq!(answer.cost.subnet_calls_rao, calls_cost);
    assert_eq!(answer.cost.total_rao, calls_cost + answer.cost.fee_rao);
    assert_eq!(answer.cost.fee_rao, 1_000);

    // The key paid exactly the total.
    assert_eq!(answer.payment.as_ref().unwrap()["cost_rao"], answer.cost.total_rao);
    assert_eq!(stack.balance().await, before - 1 - answer.cost.total_rao);

    // Timings add up: overhead is what the calls do not explain.
    let timings = &answer.timings;
    assert!(timings.in_calls_ms > 0.0 && timings.in_calls_ms <= timings.total_ms);
    assert!((timings.total_ms - timings.in_calls_ms - timings.overhead_ms).abs() < 1e-6);
    assert!(timings.critical_path_ms > 0.0 && timings.critical_path_ms <= timings.total_ms);
}

/// An LLM responder that plans one search per provider and writes the result from the
/// evidence, echoing a price it was shown.
fn scripted_llm(request: &Value) -> String {
    if asks_for_plan(request) {
        return json!({ "tasks": [
            { "id": "runpod", "capability": "web-search", "query": "RunPod GPU pricing", "subject": "RunPod" },
            { "id": "vast", "capability": "web-search", "query": "Vast.ai GPU pricing", "subject": "Vast.ai" },
            { "id": "lambda", "capability": "web-search", "query": "Lambda GPU pricing", "subject": "Lambda" },
            { "id": "analysis", "capability": "llm-chat", "query": "Compare the H100 prices", "depends_on": ["runpod", "vast", "lambda"] }
        ]})
        .to_string();
    }
    let prompt = common::user_message(request);
    if request["response_format"].is_null() {
        return format!("Analysis of {} characters of evidence: H100 prices differ by provider.", prompt.len());
    }
    testkit::cited::gpu_answer(request, &["RunPod", "Vast.ai", "Lambda"]).unwrap_or_else(|| format!("no evidence to cite in {} characters of prompt", prompt.len()))
}

#[tokio::test(flavor = "multi_thread")]
async fn with_an_llm_the_plan_and_the_result_come_from_it() {
    let stack = Stack::start(Options { llm: true, ..Options::default() }).await;
    stack.chutes.set_llm(scripted_llm);
    let answer = stack.client().execute(GPU_OBJECTIVE, gpu_schema()).await.expect("the LLM path succeeds");

    assert_eq!(answer.plan.planner, orchestrator::plan::PlannerKind::Llm);
    assert_eq!(answer.plan.tasks.len(), 4);
    assert_eq!(answer.synthesis.method, orchestrator::synthesis::Method::Llm);
    assert_eq!(answer.synthesis.attempts, 1);
    // The synthesis saw the searches' evidence and cited it; the node checked every citation.
    assert_eq!(answer.result["recommendation"]["price_point"], 2.69);
    assert!(answer.result["competitors"].as_array().unwrap().iter().all(|competitor| competitor["strengths"][0].as_str().unwrap().contains(competitor["name"].as_str().unwrap())));
    let provenance = answer.provenance.as_ref().expect("the LLM's citations come with the result");
    assert_eq!(provenance.leaves.len(), orchestrator::provenance::leaves(&answer.result).len());

    let requests = stack.chutes.requests();
    let structured: Vec<_> = requests.iter().filter(|request| request.path == "/v1/chat/completions" && !request.body["response_format"].is_null()).collect();
    assert_eq!(structured.len(), 2, "one planning and one synthesis request");
    for request in &structured {
        assert_eq!(request.body["response_format"]["type"], "json_schema");
        assert_eq!(request.header("authorization"), Some("Bearer cpk_test"));
    }
    // The analysis task ran after the three searches and was given their results.
    let analysis = requests.iter().find(|request| request.body["response_format"].is_null()).expect("the analysis task called the LLM");
    assert!(common::user_message(&analysis.body).contains("runpod.io"));
    let tasks: Vec<&str> = answer.calls.iter().map(|call| call.task.as_str()).collect();
    assert_eq!(tasks.first(), Some(&"plan"));
    assert_eq!(tasks.last(), Some(&"synthesis"));
    let analysis_position = tasks.iter().position(|task| *task == "analysis").unwrap();
    assert_eq!(tasks[1..analysis_position].len(), 3, "the three searches came before the analysis: {tasks:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_llm_plan_that_does_not_check_falls_back_to_the_deterministic_planner() {
    let stack = Stack::start(Options { llm: true, ..Options::default() }).await;
    stack.chutes.set_llm(|request| {
        if asks_for_plan(request) {
            // A capability no subnet offers, twice: the repair does not fix it.
            json!({ "tasks": [{ "id": "a", "capability": "teleport", "query": "x" }] }).to_string()
        } else {
            scripted_llm(request)
        }
    });
    let answer = stack.client().execute(GPU_OBJECTIVE, gpu_schema()).await.unwrap();
    assert_eq!(answer.plan.planner, orchestrator::plan::PlannerKind::Deterministic);
    let reason = answer.plan.fallback_reason.as_deref().unwrap();
    assert!(reason.contains("2 attempts"), "{reason}");
    let plan_requests = stack.chutes.requests().iter().filter(|request| asks_for_plan(&request.body)).count();
    assert_eq!(plan_requests, 2, "the first answer and one repair");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invalid_llm_result_is_repaired_with_the_violations() {
    let stack = Stack::start(Options { llm: true, ..Options::default() }).await;
    let attempts = std::sync::atomic::AtomicUsize::new(0);
    stack.chutes.set_llm(move |request| {
        if asks_for_plan(request) || request["response_format"].is_null() {
            return scripted_llm(request);
        }
        if attempts.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
            // A price as text and a missing rationale.
            return testkit::cited::answer(json!({ "competitors": [], "recommendation": { "price_point": "about two dollars" } }), Default::default());
        }
        scripted_llm(request)
    });
    let answer = stack.client().execute(GPU_OBJECTIVE, gpu_schema()).await.unwrap();
    assert_eq!(answer.synthesis.attempts, 2);
    let synthesis_requests: Vec<_> = stack.chutes.requests().into_iter().filter(|request| !request.body["response_format"].is_null() && !asks_for_plan(&request.body)).collect();
    assert_eq!(synthesis_requests.len(), 2);
    let repair = common::user_message(&synthesis_requests[1].body);
    assert!(repair.contains("/recommendation/price_point"), "the repair prompt names the bad field: {repair}");
    assert!(repair.contains("rationale"), "and the missing one");
}

/// An LLM that writes values its evidence does not hold (one price for every competitor) is
/// told which values its citations do not support; one that never cites them is not believed:
/// the grounded writer writes the result from the same evidence.
#[tokio::test(flavor = "multi_thread")]
async fn an_llm_result_whose_values_the_evidence_does_not_hold_is_repaired_or_replaced() {
    let stack = Stack::start(Options { llm: true, ..Options::default() }).await;
    let fabricate = |request: &Value| {
        let fields = testkit::cited::tagged(request);
        let field = fields.iter().find(|field| field.field == "text").expect("tagged evidence");
        let competitors: Vec<Value> = ["RunPod", "Vast.ai", "Lambda"].iter().map(|name| json!({ "name": name, "pricing": { "H100": 2.5 }, "strengths": [] })).collect();
        let mut citations = serde_json::Map::new();
        for (index, name) in ["RunPod", "Vast.ai", "Lambda"].iter().enumerate() {
            citations.insert(format!("/competitors/{index}/name"), testkit::cited::objective(name));
            // The same snippet for every price: it does not write $2.50.
            citations.insert(format!("/competitors/{index}/pricing/H100"), testkit::cited::quote(field, &field.text[..20]));
        }
        citations.insert("/recommendation/price_point".into(), testkit::cited::quote(field, &field.text[..20]));
        citations.insert("/recommendation/rationale".into(), testkit::cited::quote(field, &field.text[..20]));
        testkit::cited::answer(json!({ "competitors": competitors, "recommendation": { "price_point": 2.39, "rationale": "Below the three providers' H100 prices." } }), citations)
    };
    let attempts = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = attempts.clone();
    stack.chutes.set_llm(move |request| {
        if asks_for_plan(request) || request["response_format"].is_null() {
            return scripted_llm(request);
        }
        if counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 { fabricate(request) } else { scripted_llm(request) }
    });
    let answer = stack.client().execute(GPU_OBJECTIVE, gpu_schema()).await.unwrap();
    assert_eq!((answer.synthesis.method, answer.synthesis.attempts), (orchestrator::synthesis::Method::Llm, 2));
    let synthesis_requests: Vec<_> = stack.chutes.requests().into_iter().filter(|request| !request.body["response_format"].is_null() && !asks_for_plan(&request.body)).collect();
    let repair = common::user_message(&synthesis_requests[1].body);
    assert!(repair.contains("`/competitors/0/pricing/H100` does not hold"), "the repair names the unsupported value: {repair}");
    assert!(repair.contains("`/recommendation/rationale` does not hold"), "{repair}");

    // An LLM that fabricates every time: the result is the grounded writer's, and says why.
    stack.chutes.set_llm(move |request| if asks_for_plan(request) || request["response_format"].is_null() { scripted_llm(request) } else { fabricate(request) });
    let answer = stack.client().execute(GPU_OBJECTIVE, gpu_schema()).await.unwrap();
    assert_eq!(answer.synthesis.method, orchestrator::synthesis::Method::Deterministic);
    let reason = answer.synthesis.fallback_reason.as_deref().unwrap();
    assert!(reason.contains("did not cite its values after 3 attempts"), "{reason}");
    let h100: Vec<f64> = answer.result["competitors"].as_array().unwrap().iter().map(|competitor| competitor["pricing"]["H100 SXM"].as_f64().unwrap()).collect();
    assert_eq!(h100, [2.69, 1.87, 2.99], "each competitor's own price, not the LLM's $2.50 for all");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_result_that_never_validates_is_an_error_listing_the_violations() {
    let stack = Stack::start(Options { llm: true, ..Options::default() }).await;
    stack.chutes.set_llm(|request| {
        if asks_for_plan(request) || request["response_format"].is_null() {
            scripted_llm(request)
        } else {
            testkit::cited::answer(json!({ "competitors": "none", "recommendation": {} }), Default::default())
        }
    });
    let before = stack.balance().await;
    let (status, body) = stack.orchestrate(json!({ "objective": GPU_OBJECTIVE, "target_schema": gpu_schema() })).await;
    assert_eq!(status, 422);
    assert_eq!(body["error"]["code"], "result_invalid");
    let violations = body["error"]["details"]["violations"].as_array().unwrap();
    let paths: Vec<&str> = violations.iter().map(|violation| violation["path"].as_str().unwrap()).collect();
    assert!(paths.contains(&"/competitors") && paths.contains(&"/recommendation"), "{paths:?}");
    assert!(body["error"]["message"].as_str().unwrap().contains("after 3 attempt"));
    // No result, but the calls made are accounted for, and only they are charged.
    let calls = body["error"]["details"]["calls"].as_array().unwrap();
    assert_eq!(calls.iter().filter(|call| call["task"] == "synthesis").count(), 3);
    let spent = body["error"]["details"]["cost"]["subnet_calls_rao"].as_u64().unwrap();
    assert_eq!(stack.balance().await, before - 1 - spent);
}

#[tokio::test(flavor = "multi_thread")]
async fn rate_limits_and_server_errors_are_retried_with_backoff() {
    let stack = Stack::start(Options::default()).await;
    stack.desearch.fail_next(2, 429);
    let answer = stack.client().execute("Find recent arxiv papers on mixture of experts", json!({ "papers": [{ "title": "str", "url": "str" }] })).await.unwrap();
    let statuses: Vec<u16> = answer.calls.iter().map(|call| call.status).collect();
    assert_eq!(statuses, [429, 429, 200]);
    assert_eq!(answer.calls.iter().map(|call| call.attempt).collect::<Vec<_>>(), [1, 2, 3]);
    assert!(answer.calls.iter().take(2).all(|call| call.cost_rao == 0), "failed calls are not charged");
    assert_eq!(answer.receipts.receipts.len(), 3, "failed attempts have receipts too");
    assert!(!answer.result["papers"].as_array().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_subnet_falls_back_to_the_next_provider() {
    let mirror = testkit::SubnetServer::start(testkit::SubnetKind::Desearch).await;
    let stack = Stack::start_with(Options::default(), |ledger, _| {
        testkit::register_mirror(ledger, common::MIRROR_NETUID, "Desearch mirror", &mirror);
    })
    .await;
    stack.desearch.fail_always(500);
    let answer = stack.client().execute("Find recent arxiv papers on mixture of experts", json!({ "papers": [{ "title": "str" }] })).await.unwrap();

    let failed: Vec<_> = answer.calls.iter().filter(|call| call.subnet == 22).collect();
    assert_eq!(failed.len(), 3, "three attempts at the failing subnet: {:?}", answer.calls);
    assert!(failed.iter().all(|call| call.status == 500));
    let served = answer.calls.last().unwrap();
    assert_eq!((served.subnet, served.status), (common::MIRROR_NETUID, 200));
    assert_eq!(mirror.request_count(), 1);
    assert!(!answer.result["papers"].as_array().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn when_every_provider_fails_the_error_names_each() {
    let stack = Stack::start(Options::default()).await;
    stack.desearch.fail_always(503);
    let (status, body) = stack.orchestrate(json!({ "objective": "Find recent arxiv papers on mixture of experts", "target_schema": { "papers": [{ "title": "str" }] } })).await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(body["error"]["code"], "subnets_failed");
    let message = body["error"]["message"].as_str().unwrap();
    for route in ["SN22 web-search", "SN22 web-links-search", "SN22 ai-search"] {
        assert!(message.contains(route), "{route} is named: {message}");
    }
    assert!(message.contains("HTTP 503"), "{message}");
    assert_eq!(body["error"]["details"]["receipts"]["receipts"].as_array().unwrap().len(), 9, "3 attempts on each of the three web endpoints");
}

/// The seed's objective: "trending" adds a supplementary X search beside the web search.
const SEED_OBJECTIVE: &str = "Find trending AI papers and summarize key contributions";

fn seed_schema() -> Value {
    json!({ "papers": [{ "title": "str", "summary": "str" }], "synthesis": "str" })
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_supplementary_search_is_reported_and_the_result_is_written_without_it() {
    let stack = Stack::start(Options::default()).await;
    // Both X routes fail for good; the web routes answer.
    stack.desearch.fail_paths(&["/twitter", "/desearch/ai/search/links/twitter"], 500);
    stack.data_universe.fail_paths(&["/sn13.v1.Sn13Service/OnDemandData"], 500);
    let answer = stack.client().execute(SEED_OBJECTIVE, seed_schema()).await.expect("the web results are enough");

    let x_search = answer.plan.tasks.iter().find(|task| task.capability == "x-search").expect("an X search was planned");
    assert!(!x_search.required);
    assert!(answer.plan.tasks.iter().any(|task| task.capability == "web-search" && task.required));
    assert_eq!(answer.skipped_tasks.len(), 1, "{:?}", answer.skipped_tasks);
    let skipped = &answer.skipped_tasks[0];
    assert_eq!((skipped.task.as_str(), skipped.capability.as_str()), (x_search.id.as_str(), "x-search"));
    assert!(skipped.reason.contains("HTTP 500"), "{}", skipped.reason);
    assert!(!answer.result["papers"].as_array().unwrap().is_empty());
    // The failed attempts were made, so they have receipts like the rest.
    let failed = answer.calls.iter().filter(|call| call.task == x_search.id).count();
    assert!(failed >= 2, "every X route was tried: {:?}", answer.calls);
    assert!(answer.calls.iter().filter(|call| call.task == x_search.id).all(|call| call.status == 500));
    assert_eq!(answer.receipts.receipts.len(), answer.calls.len());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_required_search_fails_the_request_and_names_the_task() {
    let stack = Stack::start(Options::default()).await;
    stack.desearch.fail_paths(&["/web", "/desearch/ai/search", "/desearch/ai/search/links/web"], 503);
    let (status, body) = stack.orchestrate(json!({ "objective": SEED_OBJECTIVE, "target_schema": seed_schema() })).await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(body["error"]["code"], "subnets_failed");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.starts_with("required task \"web-search\" failed"), "{message}");
}

#[tokio::test(flavor = "multi_thread")]
async fn reddit_searches_go_to_data_universe_over_http2() {
    let stack = Stack::start(Options::default()).await;
    let (status, body) = stack.orchestrate(json!({ "objective": "What are people saying on reddit about GPU prices", "target_schema": { "posts": [{ "text": "str" }] } })).await;
    // Reddit search is Data Universe's; the node has its key, so it is served.
    assert_eq!(status, 200, "{body}");
    let reddit_tasks: Vec<&str> = body["plan"]["tasks"].as_array().unwrap().iter().filter(|task| task["capability"] == "reddit-search").map(|task| task["id"].as_str().unwrap()).collect();
    assert!(!reddit_tasks.is_empty(), "{}", body["plan"]);
    assert!(body["calls"].as_array().unwrap().iter().filter(|call| reddit_tasks.contains(&call["task"].as_str().unwrap())).all(|call| call["subnet"] == 13));
    assert_eq!(stack.data_universe.requests().last().unwrap().http_version, "HTTP/2.0", "Data Universe is called over HTTP/2");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_node_without_subnet_keys_says_which_to_set() {
    let stack = Stack::start(Options { keys: false, ..Options::default() }).await;
    let (status, body) = stack.orchestrate(json!({ "objective": GPU_OBJECTIVE, "target_schema": gpu_schema() })).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "no_plan");
    let message = body["error"]["message"].as_str().unwrap();
    for variable in ["ORCHESTRA_SN22_KEY or DESEARCH_API_KEY", "ORCHESTRA_SN13_KEY or MACROCOSMOS_API_KEY"] {
        assert!(message.contains(&format!("set {variable}")), "{variable} is named: {message}");
    }
    // Where to get each key, from the subnet's ledger identity.
    assert!(message.contains("SN22 Desearch, keys at https://desearch.ai"), "{message}");
    assert_eq!(stack.desearch.request_count(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_budget_below_one_calls_ledger_price_makes_no_call_and_says_why() {
    let stack = Stack::start(Options::default()).await;
    let before = stack.balance().await;
    // A fresh node: nothing learned yet, so only the ledger's prices bind.
    let (status, body) = stack.orchestrate(json!({ "objective": GPU_OBJECTIVE, "target_schema": gpu_schema(), "budget_rao": 1 })).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "budget_exhausted");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("budget of 1 rao") && message.contains("SN22") && message.contains("per request"), "names the call and its price: {message}");
    assert!(body["error"]["details"]["calls"].as_array().unwrap().is_empty(), "{body}");
    assert_eq!(stack.desearch.request_count(), 0, "no request left the node");
    assert_eq!(stack.balance().await, before - 1, "only the fee is charged");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_exhausted_budget_stops_work_and_says_so() {
    let stack = Stack::start(Options::default()).await;
    // What the first call is reserved at, as the refusal of a one-rao budget states it.
    let (_, refused) = stack.orchestrate(json!({ "objective": GPU_OBJECTIVE, "target_schema": gpu_schema(), "budget_rao": 1 })).await;
    let message = refused["error"]["message"].as_str().unwrap();
    let per_call: u64 = message.split("estimated at ").nth(1).and_then(|rest| rest.split(' ').next()).and_then(|rao| rao.parse().ok()).unwrap_or_else(|| panic!("{message}"));
    let before = stack.balance().await;
    let (status, body) = stack.orchestrate(json!({ "objective": GPU_OBJECTIVE, "target_schema": gpu_schema(), "budget_rao": per_call + per_call / 2 })).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "budget_exhausted");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("budget") && message.contains("unfinished tasks"), "{message}");
    let calls = body["error"]["details"]["calls"].as_array().unwrap();
    assert_eq!(calls.len(), 1, "only the call the budget covered was made");
    let spent = body["error"]["details"]["cost"]["subnet_calls_rao"].as_u64().unwrap();
    assert!(spent <= per_call + per_call / 2);
    assert_eq!(stack.balance().await, before - 1 - spent, "only the call made is charged");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_keys_daily_cap_bounds_what_it_spends_whatever_its_balance() {
    let cap = 300_000;
    let stack = Stack::start(Options { daily_cap_rao: Some(cap), ..Options::default() }).await;
    let first = stack.client().execute(GPU_OBJECTIVE, gpu_schema()).await.expect("within the cap");
    let spent = first.cost.total_rao;
    assert!(spent > 0 && spent < cap, "{spent}");
    let (before, served) = (stack.balance().await, stack.desearch.request_count());

    let (status, body) = stack.orchestrate(json!({ "objective": GPU_OBJECTIVE, "target_schema": gpu_schema(), "budget_rao": cap })).await;
    assert_eq!(status, 402, "{body}");
    assert_eq!(body["error"]["code"], "daily_cap_reached");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("daily cap leaves"), "{message}");
    assert_eq!(stack.desearch.request_count(), served, "nothing was called");
    assert_eq!(stack.balance().await, before - 1, "nothing was charged but the balance read");
    // The other key, uncapped and as funded, runs the same request.
    let (status, body) = reqwest::Client::new()
        .post(format!("{}/v1/orchestrate", stack.url))
        .bearer_auth(&stack.other_api_key)
        .json(&json!({ "objective": GPU_OBJECTIVE, "target_schema": gpu_schema(), "budget_rao": cap }))
        .send()
        .await
        .map(|response| (response.status().as_u16(), response))
        .unwrap();
    assert_eq!(status, 200, "{:?}", body.text().await);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_passed_deadline_stops_work_and_says_so() {
    let stack = Stack::start(Options::default()).await;
    stack.desearch.set_latency(std::time::Duration::from_secs(5));
    let (status, body) = stack.orchestrate(json!({ "objective": GPU_OBJECTIVE, "target_schema": gpu_schema(), "deadline_ms": 300 })).await;
    assert_eq!(status, 504, "{body}");
    assert_eq!(body["error"]["code"], "deadline_exceeded");
    let calls = body["error"]["details"]["calls"].as_array().unwrap();
    assert!(!calls.is_empty() && calls.iter().all(|call| call["status"] == 0 && call["cost_rao"] == 0), "{calls:?}");
    assert!(calls.iter().all(|call| call["error"].as_str().unwrap().contains("deadline")));
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_requests_are_refused_before_anything_runs() {
    let stack = Stack::start(Options::default()).await;
    let cases = [
        (json!({ "objective": "", "target_schema": { "a": "str" } }), 400, "bad_request", "empty"),
        (json!({ "objective": "x", "target_schema": { "a": "strng" } }), 400, "bad_schema", "strng"),
        (json!({ "objective": "x", "target_schema": { "a": "str" }, "deadline_ms": 0 }), 400, "bad_request", "deadline_ms"),
        (json!({ "objective": "x", "target_schema": { "a": "str" }, "colour": "red" }), 422, "bad_json", "colour"),
        (json!({ "objective": "x", "target_schema": { "a": "str" }, "budget_rao": 20_000_000_000u64 }), 402, "insufficient_credit", "needs"),
    ];
    for (body, status, code, mentions) in cases {
        let (got, answer) = stack.orchestrate(body.clone()).await;
        assert_eq!((got, answer["error"]["code"].as_str().unwrap()), (status, code), "{body} -> {answer}");
        assert!(answer["error"]["message"].as_str().unwrap().contains(mentions), "{answer}");
    }
    assert_eq!(stack.desearch.request_count(), 0);
    let unpaid = reqwest::Client::new().post(format!("{}/v1/orchestrate", stack.url)).json(&json!({ "objective": "x", "target_schema": { "a": "str" } })).send().await.unwrap();
    assert_eq!(unpaid.status(), 402);
    assert!(unpaid.headers().contains_key("payment-required"));
}

#[tokio::test(flavor = "multi_thread")]
async fn receipts_fail_verification_when_tampered_with() {
    let stack = Stack::start(Options::default()).await;
    let nonce = Nonce([9; 32]);
    let (status, body) = stack.orchestrate(json!({ "objective": GPU_OBJECTIVE, "target_schema": gpu_schema(), "nonce": nonce.to_hex() })).await;
    assert_eq!(status, 200);
    let bundle: receipts::ReceiptBundle = serde_json::from_value(body["receipts"].clone()).unwrap();
    receipts::verify(&bundle, &nonce).expect("the node's receipts verify");
    assert_eq!(bundle.miner, stack.miner);

    let mut cheaper = bundle.clone();
    cheaper.receipts[1].call.cost_rao -= 1;
    assert!(matches!(receipts::verify(&cheaper, &nonce), Err(ReceiptError::BrokenLink { index: 2 })));
    let mut reordered = bundle.clone();
    reordered.receipts.swap(0, 1);
    assert!(receipts::verify(&reordered, &nonce).is_err());
    let mut shortened = bundle.clone();
    shortened.receipts.pop();
    assert!(matches!(receipts::verify(&shortened, &nonce), Err(ReceiptError::RootMismatch { .. })));
    assert!(matches!(receipts::verify(&bundle, &Nonce([8; 32])), Err(ReceiptError::WrongNonce { .. })));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_client_refuses_an_answer_whose_receipts_do_not_answer_its_nonce() {
    // A node that replays an old answer: same body whatever the nonce.
    let stack = Stack::start(Options::default()).await;
    let (_, recorded) = stack.orchestrate(json!({ "objective": GPU_OBJECTIVE, "target_schema": gpu_schema() })).await;
    let replay = axum::Router::new().route("/v1/orchestrate", axum::routing::post(move || { let recorded = recorded.clone(); async move { axum::Json(recorded) } }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, replay).await.unwrap() });
    let error = Client::new(url, "ok_any").execute(GPU_OBJECTIVE, gpu_schema()).await.unwrap_err();
    assert!(matches!(error, ClientError::Receipts(ReceiptError::WrongNonce { .. })), "{error}");
}

#[tokio::test(flavor = "multi_thread")]
async fn routing_follows_the_ledgers_health_records() {
    use ledger::record::HealthStatus;
    // The fast GET /web endpoint would be first; the ledger says it is down.
    let stack = Stack::start_with(Options::default(), |ledger, _| {
        testkit::set_health(ledger, 22, "web-search", HealthStatus::Down, 100, 0);
        testkit::set_health(ledger, 22, "ai-search", HealthStatus::Up, 900, 990_000);
    })
    .await;
    let answer = stack.client().execute("Find recent arxiv papers on mixture of experts", json!({ "papers": [{ "title": "str" }] })).await.unwrap();
    let endpoints: Vec<&str> = answer.calls.iter().map(|call| call.endpoint.as_str()).collect();
    assert_eq!(endpoints, ["ai-search"], "a route the ledger reports down is not tried");
    assert!(stack.desearch.requests().iter().all(|request| request.path == "/desearch/ai/search"));
}

/// A paid read cannot spend what a running orchestration holds on the same key: the key's whole
/// balance is held by an orchestration without a budget, so the read is refused until it ends.
#[tokio::test(flavor = "multi_thread")]
async fn reads_respect_the_holds_of_running_orchestrations() {
    let stack = Stack::start(Options::default()).await;
    stack.desearch.set_latency(std::time::Duration::from_secs(3));
    let request = json!({ "objective": "Find recent arxiv papers on mixture of experts", "target_schema": { "papers": [{ "title": "str" }] } });
    let url = format!("{}/v1/orchestrate", stack.url);
    let api_key = stack.api_key.clone();
    let running = tokio::spawn(async move { reqwest::Client::new().post(url).bearer_auth(api_key).json(&request).send().await.unwrap().status() });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while stack.desearch.request_count() == 0 {
        assert!(std::time::Instant::now() < deadline, "the orchestration never called the subnet");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let read = || reqwest::Client::new().get(format!("{}/v1/entries/sn22/identity", stack.url)).bearer_auth(&stack.api_key).send();
    let held = read().await.unwrap();
    assert_eq!(held.status(), 402);
    let body: Value = held.json().await.unwrap();
    assert_eq!(body["error"]["code"], "insufficient_credit", "{body}");
    assert_eq!(running.await.unwrap(), 200);
    assert_eq!(read().await.unwrap().status(), 200, "once the orchestration is charged, the rest is free to spend");
}

/// The worked example without an LLM, with the bodies asked for: every value of the result is
/// cited, the client checked each citation against the bodies and each body against its
/// receipt, each competitor has the prices its own pages and the comparisons give it, and a
/// price changed in the answer no longer checks.
#[tokio::test(flavor = "multi_thread")]
async fn the_worked_example_cites_every_value_and_the_client_checks_the_citations() {
    use base64::Engine as _;
    let stack = Stack::start(Options::default()).await;
    let request = orchestra_client::Request { objective: GPU_OBJECTIVE.into(), target_schema: gpu_schema(), budget_rao: None, deadline_ms: None, include_evidence: true };
    let answer = stack.client().run(&request).await.expect("a cited result whose citations hold");
    let provenance = answer.provenance.clone().expect("the grounded writer cites its result");
    let evidence = answer.evidence.clone().expect("the bodies were asked for");
    assert_eq!(evidence.len(), answer.calls.iter().filter(|call| call.status == 200).count());
    let h100: Vec<f64> = answer.result["competitors"].as_array().unwrap().iter().map(|competitor| competitor["pricing"]["H100 SXM"].as_f64().unwrap()).collect();
    assert_eq!(h100, [2.69, 1.87, 2.99], "RunPod's, Vast.ai's and Lambda's own H100 SXM prices");
    assert_eq!(answer.result["recommendation"]["price_point"], json!(2.69), "the median of the three");
    assert_eq!(provenance.leaves.len(), orchestrator::provenance::leaves(&answer.result).len());

    let bodies = evidence.iter().map(|body| (body.receipt, base64::engine::general_purpose::STANDARD.decode(&body.base64).unwrap())).collect();
    let mut cheaper = answer.result.clone();
    cheaper["competitors"][2]["pricing"]["H100 SXM"] = json!(1.49);
    let refused = orchestrator::provenance::check(&cheaper, &provenance, &bodies, GPU_OBJECTIVE).unwrap_err();
    assert!(matches!(refused, orchestrator::provenance::ProvenanceError::Unsupported { ref leaf, .. } if leaf == "/competitors/2/pricing/H100 SXM"), "{refused}");
}

/// A schema asking for what no subnet found is refused with the fields missing, never filled
/// with a placeholder; the calls made are charged and listed.
#[tokio::test(flavor = "multi_thread")]
async fn a_field_no_evidence_supports_fails_the_request_and_names_it() {
    let stack = Stack::start(Options::default()).await;
    let before = stack.balance().await;
    let schema = json!({ "competitors": [{ "name": "str", "employees": "int" }] });
    let (status, body) = stack.orchestrate(json!({ "objective": GPU_OBJECTIVE, "target_schema": schema })).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "insufficient_evidence");
    assert_eq!(body["error"]["details"]["missing"], json!(["/competitors/0/employees"]));
    let spent = body["error"]["details"]["cost"]["subnet_calls_rao"].as_u64().unwrap();
    assert!(spent > 0);
    assert_eq!(stack.balance().await, before - 1 - spent, "the calls made are charged, and no fee");
}
