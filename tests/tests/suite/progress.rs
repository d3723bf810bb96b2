//! `POST /v1/orchestrate` as server-sent events: the run's steps as they happen, ending with the
//! same answer the JSON route gives.

use futures::StreamExt;
use orchestrator::receipts::{self, ReceiptBundle};
use serde_json::{json, Value};

use crate::common::{gpu_schema, Options, Stack, GPU_OBJECTIVE};

/// Reads server-sent events from `response`, handing each `data` object to `seen` until it
/// returns false or the stream ends; returns every event read.
async fn read_events(response: reqwest::Response, mut seen: impl FnMut(&Value) -> bool) -> Vec<Value> {
    let mut bytes = response.bytes_stream();
    let mut buffer = String::new();
    let mut events = Vec::new();
    while let Some(chunk) = bytes.next().await {
        buffer.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            let data: Vec<&str> = block.lines().filter_map(|line| line.strip_prefix("data: ")).collect();
            if data.is_empty() {
                continue; // a keep-alive comment
            }
            let event: Value = serde_json::from_str(&data.join("\n")).unwrap();
            let name = block.lines().find_map(|line| line.strip_prefix("event: ")).unwrap();
            assert_eq!(event["event"], name, "the SSE event type and the data's `event` agree");
            let more = seen(&event);
            events.push(event);
            if !more {
                return events;
            }
        }
    }
    events
}

async fn stream(stack: &Stack, body: &Value) -> reqwest::Response {
    let response = reqwest::Client::new().post(format!("{}/v1/orchestrate", stack.url)).bearer_auth(&stack.api_key).header("accept", "text/event-stream").json(body).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
    response
}

#[tokio::test(flavor = "multi_thread")]
async fn events_arrive_while_the_subnet_still_holds_its_answer() {
    let stack = Stack::start(Options::default()).await;
    // The subnet holds its answers: whatever arrives meanwhile was streamed, not buffered.
    stack.desearch.pause();
    let request = json!({ "objective": GPU_OBJECTIVE, "target_schema": gpu_schema() });
    let early = read_events(stream(&stack, &request).await, |event| event["event"] != "call_started").await;
    assert_eq!(early.first().unwrap()["event"], "plan", "the plan comes first");
    assert_eq!(early.first().unwrap()["plan"]["tasks"].as_array().unwrap().len(), 3);
    assert_eq!(early.last().unwrap()["event"], "call_started", "a call was reported started while the subnet still held it");
    assert_eq!(early.last().unwrap()["subnet"], 22);
    stack.desearch.resume();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_stream_carries_every_call_and_the_same_answer_as_json() {
    let stack = Stack::start(Options::default()).await;
    let request = json!({ "objective": GPU_OBJECTIVE, "target_schema": gpu_schema() });
    let events = read_events(stream(&stack, &request).await, |_| true).await;
    let names: Vec<&str> = events.iter().map(|event| event["event"].as_str().unwrap()).collect();
    assert_eq!(names.first(), Some(&"plan"));
    assert_eq!(names.last(), Some(&"answer"), "{names:?}");
    assert_eq!(names.iter().filter(|name| **name == "answer" || **name == "error").count(), 1);
    let answer = events.last().unwrap();
    let calls = answer["calls"].as_array().unwrap();
    let finished: Vec<&Value> = events.iter().filter(|event| event["event"] == "call_finished").map(|event| &event["call"]).collect();
    assert_eq!(finished.len(), calls.len(), "one call_finished per call");
    for (streamed, listed) in finished.iter().zip(calls) {
        assert_eq!(*streamed, listed, "a streamed call is the answer's call");
    }
    assert_eq!(names.iter().filter(|name| **name == "call_started").count(), calls.len());
    let synthesis: Vec<&Value> = events.iter().filter(|event| event["event"] == "synthesis").collect();
    assert_eq!(synthesis.len(), 1);
    assert_eq!(synthesis[0]["violations"], json!([]));
    let position = |name: &str| names.iter().position(|other| *other == name).unwrap();
    assert!(position("call_finished") < position("synthesis") && position("synthesis") < position("answer"));
    // The answer is the JSON route's: receipts verify, the charge is the same.
    let bundle: ReceiptBundle = serde_json::from_value(answer["receipts"].clone()).unwrap();
    receipts::verify(&bundle, &bundle.nonce).unwrap();
    assert_eq!(answer["payment"]["cost_rao"], answer["cost"]["total_rao"]);
    let (status, json_answer) = stack.orchestrate(request).await;
    assert_eq!(status, 200);
    let keys = |value: &Value| value.as_object().unwrap().keys().filter(|key| *key != "event").cloned().collect::<Vec<_>>();
    assert_eq!(keys(answer), keys(&json_answer));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_run_ends_its_stream_with_the_error_and_a_skipped_task_is_reported() {
    let stack = Stack::start(Options::default()).await;
    stack.desearch.fail_paths(&["/twitter", "/desearch/ai/search/links/twitter"], 500);
    stack.data_universe.fail_paths(&["/sn13.v1.Sn13Service/OnDemandData"], 500);
    let seed = json!({ "objective": "Find trending AI papers and summarize key contributions", "target_schema": { "papers": [{ "title": "str" }], "synthesis": "str" } });
    let events = read_events(stream(&stack, &seed).await, |_| true).await;
    let skipped: Vec<&Value> = events.iter().filter(|event| event["event"] == "task_skipped").collect();
    assert_eq!(skipped.len(), 1);
    assert_eq!(skipped[0]["skipped"]["capability"], "x-search");
    assert_eq!(events.last().unwrap()["event"], "answer");

    stack.desearch.fail_always(503);
    let events = read_events(stream(&stack, &json!({ "objective": GPU_OBJECTIVE, "target_schema": gpu_schema() })).await, |_| true).await;
    let last = events.last().unwrap();
    assert_eq!((last["event"].as_str(), last["status"].as_u64()), (Some("error"), Some(502)));
    assert_eq!(last["error"]["code"], "subnets_failed");
    assert!(events.iter().any(|event| event["event"] == "call_finished" && event["call"]["status"] == 503));
}
