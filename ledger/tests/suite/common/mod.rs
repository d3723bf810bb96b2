//! Sample subnet records shared by the integration tests.

#![allow(dead_code)] // each test crate uses its own part

use ledger::record::{Auth, Endpoint, HttpMethod, Json, Record, SubnetIdentity};
use serde_json::json;

pub fn identity(netuid: u16, name: &str) -> Record {
    Record::Identity(SubnetIdentity {
        netuid,
        name: name.to_owned(),
        summary: "web and X search".to_owned(),
        capabilities: vec!["web-search".to_owned(), "x-search".to_owned()],
        website: Some("https://desearch.ai".to_owned()),
        github: None,
    })
}

pub fn endpoint(name: &str) -> Record {
    Record::Endpoint(Endpoint {
        name: name.to_owned(),
        capability: "web-search".to_owned(),
        method: HttpMethod::Get,
        url: "https://api.desearch.ai/web".to_owned(),
        input_schema: Json(json!({"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]})),
        output_schema: Json(json!({"type": "object", "properties": {"data": {"type": "array"}}})),
        auth: Auth::Header { name: "Authorization".to_owned(), prefix: None },
        example_input: Some(Json(json!({"query": "bittensor"}))),
        pricing: None,
        rate_limit: None,
        timeout_ms: 10_000,
        invocation: None,
        not_orchestrable: None,
    })
}
