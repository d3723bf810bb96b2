//! `orchestra mcp` as an agent uses it: an MCP client (rmcp's) starts the real process over
//! stdio, lists its tools, orchestrates through a node over loopback subnets, reads the
//! ledger, and gets tool errors it can act on.

use rmcp::model::CallToolRequestParams;
use rmcp::transport::TokioChildProcess;
use rmcp::{object, ServiceExt};
use serde_json::{json, Value};

use crate::common;
use crate::execute::{orchestra, run, stdout_json, subnets};

const OBJECTIVE: &str = "Research RunPod, Vast.ai and Lambda GPU pricing and recommend a price point";

#[tokio::test(flavor = "multi_thread")]
async fn an_agent_orchestrates_and_reads_the_ledger_through_orchestra_mcp() {
    let subnets = subnets().await;
    let data = subnets.ledger_dir.path();
    let issued = stdout_json(&run(orchestra(data, &["credits", "issue", "--rao", "1000000000"])).await);
    let api_key = issued["api_key"].as_str().unwrap().to_owned();
    let node = common::start(orchestra(data, &["serve", "--listen", "127.0.0.1:0", "--orchestrate-fee-rao", "5000"]));

    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_orchestra"));
    command.args(["mcp", "--server", &node.base, "--api-key", &api_key]).env("RUST_LOG", "warn");
    let client = ().serve(TokioChildProcess::new(command).unwrap()).await.expect("the MCP session starts");

    let tools = client.list_all_tools().await.unwrap();
    let mut names: Vec<&str> = tools.iter().map(|tool| tool.name.as_ref()).collect();
    names.sort();
    assert_eq!(names, ["get_record", "list_subnets", "orchestrate"]);
    let orchestrate = tools.iter().find(|tool| tool.name == "orchestrate").unwrap();
    let properties = orchestrate.input_schema.get("properties").and_then(Value::as_object).unwrap();
    assert!(properties.contains_key("objective") && properties.contains_key("target_schema"));

    let schema = json!({ "competitors": [{ "name": "str", "pricing": "dict", "strengths": "list" }], "recommendation": { "price_point": "float", "rationale": "str" } });
    let answer = client.call_tool(CallToolRequestParams::new("orchestrate").with_arguments(object!({ "objective": OBJECTIVE, "target_schema": schema }))).await.unwrap();
    assert_ne!(answer.is_error, Some(true), "{answer:?}");
    let answer = answer.structured_content.expect("structured output");
    let names: Vec<&str> = answer["result"]["competitors"].as_array().unwrap().iter().map(|competitor| competitor["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["RunPod", "Vast.ai", "Lambda"]);
    assert_eq!(answer["receipts"]["verified"], true);
    assert!(answer["cost"]["total_rao"].as_u64().unwrap() >= 5000, "the node's fee was paid: {answer}");
    assert!(subnets.desearch.request_count() >= 3, "the subnets were called through the node");

    let listed = client.call_tool(CallToolRequestParams::new("list_subnets")).await.unwrap().structured_content.unwrap();
    assert!(listed.to_string().contains("Desearch"), "{listed}");

    let record = client.call_tool(CallToolRequestParams::new("get_record").with_arguments(object!({ "namespace": "sn22", "path": "identity" }))).await.unwrap();
    let record = record.structured_content.unwrap();
    assert_eq!((record["proof_verified"].as_bool(), record["present"].as_bool()), (Some(true), Some(true)));
    assert_eq!(record["record"]["name"], "Desearch");

    // An absent key is no error: its absence is proven.
    let missing = client.call_tool(CallToolRequestParams::new("get_record").with_arguments(object!({ "namespace": "sn22", "path": "endpoint/nothing-here" }))).await.unwrap();
    assert_ne!(missing.is_error, Some(true));
    let missing = missing.structured_content.unwrap();
    assert_eq!((missing["present"].as_bool(), missing["proof_verified"].as_bool()), (Some(false), Some(true)), "{missing}");

    // Failures are tool errors with the node's code, which the agent can act on.
    let refused = client.call_tool(CallToolRequestParams::new("orchestrate").with_arguments(object!({ "objective": OBJECTIVE, "target_schema": { "a": "nonsense-type" } }))).await.unwrap();
    assert_eq!(refused.is_error, Some(true));
    assert_eq!(refused.structured_content.unwrap()["error"]["code"], "bad_schema");
    let bad_key = client.call_tool(CallToolRequestParams::new("get_record").with_arguments(object!({ "namespace": "not-a-namespace", "path": "identity" }))).await.unwrap();
    assert_eq!(bad_key.is_error, Some(true));
    assert_eq!(bad_key.structured_content.unwrap()["error"]["code"], "bad_key");

    client.cancel().await.unwrap();
}
