//! `orchestra mcp`: the Model Context Protocol over stdio, so that an agent can use a node.
//!
//! Tools (each answers structured JSON):
//! - `orchestrate`: an objective and a target schema in, the validated result out, with its
//!   cost, the calls made, the tasks skipped and the receipts' root and signer. It goes through
//!   the Rust client, which sends a fresh nonce and refuses an answer whose receipts do not
//!   verify or whose result does not validate.
//! - `list_subnets`: every subnet the ledger describes, with its identity.
//! - `get_record`: one ledger record (`namespace`, `path`, optionally `version`) with its
//!   Merkle proof, checked here against the state root the node states for that version.
//!
//! A failure the node reports (or a check that fails) is a tool error carrying the node's
//! `code` and `message`, so the agent can tell what to change; a protocol error is kept for
//! malformed calls. The node is `--server` (default the local node), paid with `--api-key`.
//! Logs go to stderr: stdout is the protocol's.

use clap::Args;
use ledger::Proven;
use orchestra_client::{Client, ClientError, Request};
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, Implementation, ServerCapabilities, ServerInfo};
use rmcp::{schemars, tool, tool_handler, tool_router, ErrorData as McpError, ServerHandler, ServiceExt};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::cli::CliError;
use crate::serve::runtime;

#[derive(Args)]
pub struct McpArgs {
    /// The node the tools use.
    #[arg(long, env = "ORCHESTRA_URL", default_value = "http://127.0.0.1:8080")]
    server: String,
    /// API key paying the node (orchestrations and paid reads).
    #[arg(long, env = "ORCHESTRA_API_KEY", hide_env_values = true)]
    api_key: Option<String>,
}

impl McpArgs {
    pub fn run(self) -> Result<(), CliError> {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()))
            .with_writer(std::io::stderr)
            .init();
        let tools = Tools::new(self.server.trim_end_matches('/').to_owned(), self.api_key);
        runtime()?.block_on(async move {
            let service = tools.serve(rmcp::transport::stdio()).await.map_err(|error| CliError::Usage(format!("the MCP session did not start: {error}")))?;
            service.waiting().await.map_err(|error| CliError::Usage(format!("the MCP session failed: {error}")))?;
            Ok(())
        })
    }
}

#[derive(Deserialize, schemars::JsonSchema)]
struct OrchestrateParams {
    /// What to find out or do, in plain words.
    objective: String,
    /// The result's shape: full JSON Schema, or the compact form such as
    /// {"papers": [{"title": "str", "summary": "str"}]}.
    target_schema: Value,
    /// The most, in rao, the subnet calls may cost.
    budget_rao: Option<u64>,
    /// The most time, in milliseconds, the run may take.
    deadline_ms: Option<u64>,
}

#[derive(Deserialize, schemars::JsonSchema)]
struct RecordParams {
    /// A netuid (`22` or `sn22`), or `validators`, `pricing`, `proposers`.
    namespace: String,
    /// The path in the namespace: `identity`, `endpoint/<name>`, `health/<name>`, `provenance`.
    path: String,
    /// The version to read; by default the one the node's routing reads.
    version: Option<u64>,
}

#[derive(Clone)]
struct Tools {
    base: String,
    api_key: Option<String>,
    client: Client,
    http: reqwest::Client,
    tool_router: ToolRouter<Tools>,
}

#[tool_router]
impl Tools {
    fn new(base: String, api_key: Option<String>) -> Tools {
        let client = match &api_key {
            Some(api_key) => Client::new(&base, api_key),
            None => Client::without_key(&base),
        };
        Tools { base, api_key, client, http: reqwest::Client::new(), tool_router: Self::tool_router() }
    }

    #[tool(description = "Run an objective across Bittensor subnets into a JSON result that validates against target_schema. Answers the result with its cost, calls, skipped supplementary tasks and verified receipts.")]
    async fn orchestrate(&self, Parameters(params): Parameters<OrchestrateParams>) -> Result<CallToolResult, McpError> {
        let request = Request { objective: params.objective, target_schema: params.target_schema, budget_rao: params.budget_rao, deadline_ms: params.deadline_ms, include_evidence: false };
        Ok(match self.client.run(&request).await {
            Ok(answer) => CallToolResult::structured(json!({
                "result": answer.result,
                "cost": { "subnet_calls_rao": answer.cost.subnet_calls_rao, "fee_rao": answer.cost.fee_rao, "total_rao": answer.cost.total_rao },
                "calls": answer.calls.len(),
                "skipped_tasks": answer.skipped_tasks,
                "receipts": { "root": answer.receipts.root, "signed_by": answer.receipts.miner, "verified": true },
                "ledger_version": answer.ledger_version,
            })),
            Err(ClientError::Api { status, code, message, .. }) => failure(&code, &message, Some(status)),
            Err(error) => failure(client_code(&error), &error.to_string(), None),
        })
    }

    #[tool(description = "List every subnet the Subnet Ledger describes, with its identity (name, summary, capabilities, website).")]
    async fn list_subnets(&self) -> Result<CallToolResult, McpError> {
        Ok(match self.get("/v1/subnets").await {
            Ok(body) => CallToolResult::structured(body),
            Err(refused) => refused,
        })
    }

    #[tool(description = "Read one Subnet Ledger record with its Merkle proof, checked against the state root of the version read.")]
    async fn get_record(&self, Parameters(params): Parameters<RecordParams>) -> Result<CallToolResult, McpError> {
        let mut path = format!("/v1/entries/{}/{}", params.namespace, params.path);
        if let Some(version) = params.version {
            path.push_str(&format!("?version={version}"));
        }
        let body = match self.get(&path).await {
            Ok(body) => body,
            Err(refused) => return Ok(refused),
        };
        let proven: Proven = match serde_json::from_value(body.clone()) {
            Ok(proven) => proven,
            Err(error) => return Ok(failure("malformed_response", &format!("the node's answer is not a proven record: {error}"), None)),
        };
        if let Err(error) = ledger::verify(&proven.state_root, &proven.key, proven.value.as_deref(), &proven.proof) {
            return Ok(failure("proof_invalid", &format!("the proof does not hold against the stated root: {error}"), None));
        }
        Ok(CallToolResult::structured(json!({
            "key": proven.key.to_string(),
            "version": proven.version,
            "state_root": proven.state_root,
            "present": proven.value.is_some(),
            "record": body["record"],
            "proof_verified": true,
            "reading": body["reading"],
        })))
    }
}

impl Tools {
    /// A JSON answer of the node, or the tool error its error means.
    async fn get(&self, path: &str) -> Result<Value, CallToolResult> {
        let mut request = self.http.get(format!("{}{path}", self.base));
        if let Some(api_key) = &self.api_key {
            request = request.bearer_auth(api_key);
        }
        let response = request.send().await.map_err(|error| failure("unreachable", &format!("cannot reach {}: {error}", self.base), None))?;
        let status = response.status().as_u16();
        let body: Value = response.json().await.map_err(|error| failure("malformed_response", &format!("the node's answer is not JSON: {error}"), Some(status)))?;
        if status >= 400 {
            let code = body["error"]["code"].as_str().unwrap_or("http_error");
            let message = body["error"]["message"].as_str().unwrap_or("the node refused the request");
            return Err(failure(code, message, Some(status)));
        }
        Ok(body)
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for Tools {
    fn get_info(&self) -> ServerInfo {
        ServerInfo::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::from_build_env())
            .with_instructions(format!(
                "Orchestra at {}: `orchestrate` runs an objective across Bittensor subnets into a JSON result matching a target schema (paid by the node's fee plus what the calls cost); `list_subnets` and `get_record` read the Subnet Ledger, records with verified Merkle proofs.",
                self.base
            ))
    }
}

/// A tool error the agent can act on: the code, the message and the HTTP status if any.
fn failure(code: &str, message: &str, status: Option<u16>) -> CallToolResult {
    CallToolResult::structured_error(json!({ "error": { "code": code, "message": message, "status": status } }))
}

/// The code of a failure the client found itself.
fn client_code(error: &ClientError) -> &'static str {
    match error {
        ClientError::Schema(_) => "bad_schema",
        ClientError::Unreachable { .. } => "unreachable",
        ClientError::Api { .. } => "node_error",
        ClientError::Malformed(_) => "malformed_response",
        ClientError::Receipts(_) => "receipts_invalid",
        ClientError::ResultInvalid(_) => "result_invalid",
        ClientError::Evidence(_) | ClientError::Provenance(_) => "provenance_invalid",
    }
}
