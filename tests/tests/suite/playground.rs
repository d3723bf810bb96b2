//! The explorer's playground in a real headless Chromium against a paid node: a user types an
//! objective, a schema and their API key, clicks Run, watches the plan and the calls appear as
//! they happen, and gets the result with its receipts; a refusal shows its code and charges
//! nothing.

use serde_json::Value;

use crate::common::browser::Browser;
use crate::common::{Options, Stack};

const OBJECTIVE: &str = "Find trending AI papers and summarize key contributions";
const SCHEMA: &str = r#"{"papers": [{"title": "str", "summary": "str"}], "synthesis": "str"}"#;

/// What the page shows once a run has ended: its state, the events' lines and the outcome.
const ENDED: &str = r##"
    const state = document.getElementById("playground").dataset.state;
    if (state === "idle" || state === "running") return null;
    const lines = (selector) => Array.from(document.querySelectorAll(selector), (line) => ({ text: line.textContent, state: line.dataset.state || null }));
    const result = document.getElementById("result");
    const error = document.getElementById("error");
    return { state, plan: lines("#events li.plan"), calls: lines("#events li.call"), synthesis: lines("#events li.synthesis"),
             result: result && result.textContent, receipts: document.querySelectorAll("#receipts tr.receipt").length,
             nonce: (document.getElementById("receipts-nonce") || {}).textContent || null,
             cost: (document.getElementById("cost") || {}).textContent || null,
             code: error && error.dataset.code };
"##;

async fn run(browser: &Browser, api_key: &str) -> Value {
    browser.fill("#objective", OBJECTIVE).await;
    browser.fill("#schema", SCHEMA).await;
    browser.fill("#api-key", api_key).await;
    browser.click("#go").await;
    browser.wait_for("the playground's run ended", ENDED).await
}

#[tokio::test(flavor = "multi_thread")]
async fn the_playground_runs_an_objective_live_and_shows_the_result_and_its_receipts() {
    let stack = Stack::start(Options::default()).await;
    let browser = Browser::start().await;
    browser.open(&format!("{}/", stack.url)).await;
    let before = stack.balance().await;

    let ended = run(&browser, &stack.api_key).await;
    assert_eq!(ended["state"], "done", "{ended:#}");
    assert_eq!(ended["plan"].as_array().unwrap().len(), 1, "the plan is shown once: {ended:#}");
    assert!(ended["plan"][0]["text"].as_str().unwrap().contains("web-search"), "{ended:#}");
    let calls = ended["calls"].as_array().unwrap();
    assert!(!calls.is_empty(), "the calls are shown: {ended:#}");
    assert!(calls.iter().all(|call| call["state"] != "running"), "every call started was seen to finish: {ended:#}");
    assert!(calls.iter().any(|call| call["state"] == "ok" && call["text"].as_str().unwrap().contains("SN22")), "{ended:#}");
    assert_eq!(ended["receipts"].as_u64().unwrap() as usize, calls.len(), "one receipt per call shown: {ended:#}");
    assert!(ended["nonce"].as_str().unwrap().starts_with("chained from this request's nonce"), "{ended:#}");
    assert!(!ended["synthesis"].as_array().unwrap().is_empty(), "{ended:#}");

    let result: Value = serde_json::from_str(ended["result"].as_str().unwrap()).expect("the result is shown as JSON");
    let papers = result["papers"].as_array().unwrap();
    assert!(!papers.is_empty() && papers.iter().all(|paper| paper["title"].is_string() && paper["summary"].is_string()), "{result:#}");
    assert!(stack.desearch.request_count() >= 1, "the run reached the subnet");

    let spent = before - stack.balance().await;
    let shown = ended["cost"].as_str().unwrap();
    assert!(shown.starts_with(&format!("{} rao in all", spent - 1)), "the cost shown ({shown}) is what the key was charged ({} rao)", spent - 1);

    // A key the node does not know: refused before anything runs, with its code, for nothing.
    let requests = stack.desearch.request_count();
    let before = stack.balance().await;
    let refused = run(&browser, "orch_not_a_key").await;
    assert_eq!(refused["state"], "failed", "{refused:#}");
    assert_eq!(refused["code"], "unknown_api_key", "{refused:#}");
    assert!(refused["calls"].as_array().unwrap().is_empty() && refused["result"].is_null(), "{refused:#}");
    assert_eq!(stack.desearch.request_count(), requests, "no subnet was called");
    assert_eq!(stack.balance().await, before - 1, "only the balance read was charged");
}
