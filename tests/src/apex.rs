//! SN1 Apex on Macrocosmos' Connect API: chat completions (OpenAI's shape in protobuf JSON:
//! camelCase keys, `created` as a string, no usage), web retrieval from the corpus, and
//! deep-researcher jobs, which complete as soon as they are submitted.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::auth::require_key;
use crate::corpus;
use crate::errors::{error_response, parse_json};
use crate::llm::{messages, unix_seconds};
use crate::server::Shared;
use crate::SubnetKind;

const KIND: SubnetKind = SubnetKind::Apex;
const ROLES: &[&str] = &["system", "user", "assistant"];
/// Web retrieval defaults: miners queried and results per miner.
const DEFAULT_MINERS: u64 = 3;
const DEFAULT_RESULTS: u64 = 1;

#[derive(Clone)]
struct Apex {
    shared: Arc<Shared>,
    /// Deep-researcher jobs by id.
    jobs: Arc<Mutex<HashMap<String, Job>>>,
}

/// A deep-researcher job: its answer, and whether it was polled yet.
struct Job {
    answer: String,
    polled: bool,
}

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    let routes = Router::new()
        .route("/apex.v1.ApexService/ChatCompletion", post(chat_completion))
        .route("/apex.v1.ApexService/WebRetrieval", post(web_retrieval))
        .route("/apex.v1.ApexService/SubmitDeepResearcherJob", post(submit_job))
        .route("/apex.v1.ApexService/GetDeepResearcherJob", post(get_job));
    require_key(routes, KIND).with_state(Apex { shared, jobs: Arc::default() })
}

fn invalid(message: &str) -> Response {
    error_response(KIND, StatusCode::BAD_REQUEST, message)
}

/// A request field: protobuf JSON accepts the proto name (`search_query`) and its camelCase
/// JSON name (`searchQuery`).
fn field<'a>(body: &'a Value, proto_name: &str) -> Option<&'a Value> {
    let mut parts = proto_name.split('_');
    let first = parts.next().unwrap_or_default().to_owned();
    let camel = parts.fold(first, |mut camel, part| {
        let mut chars = part.chars();
        camel.extend(chars.next().map(|c| c.to_ascii_uppercase()));
        camel.push_str(chars.as_str());
        camel
    });
    body.get(proto_name).or_else(|| body.get(camel))
}

async fn chat_completion(State(apex): State<Apex>, body: Bytes) -> Result<Response, Response> {
    let body = parse_json(KIND, &body)?;
    messages(&body, ROLES).map_err(|message| invalid(&message))?;
    let content = apex.shared.answer(&body);
    let model = body.get("model").and_then(Value::as_str).filter(|model| !model.is_empty()).unwrap_or("Default");
    Ok(Json(json!({
        "id": format!("chatcmpl-{:016x}", apex.shared.next_id()),
        "choices": [{
            "finishReason": "stop",
            "index": 0,
            "message": { "content": content, "role": "assistant" },
        }],
        // protobuf JSON writes int64 as a string.
        "created": unix_seconds().to_string(),
        "model": model,
        "object": "chat.completion",
    }))
    .into_response())
}

async fn web_retrieval(body: Bytes) -> Result<Response, Response> {
    let body = parse_json(KIND, &body)?;
    let query = field(&body, "search_query").and_then(Value::as_str).filter(|query| !query.trim().is_empty());
    let query = query.ok_or_else(|| invalid("search_query is required"))?;
    let miners = field(&body, "n_miners").and_then(Value::as_u64).unwrap_or(DEFAULT_MINERS);
    let per_miner = field(&body, "n_results").and_then(Value::as_u64).unwrap_or(DEFAULT_RESULTS);
    let results: Vec<Value> = corpus::search_pages(query, None, (miners * per_miner) as usize)
        .iter()
        .map(|hit| {
            let page = hit.item;
            json!({ "url": page.link, "content": format!("{}\n\n{}", page.title, page.snippet), "relevant": page.snippet })
        })
        .collect();
    Ok(Json(json!({ "results": results })).into_response())
}

async fn submit_job(State(apex): State<Apex>, body: Bytes) -> Result<Response, Response> {
    let body = parse_json(KIND, &body)?;
    messages(&body, ROLES).map_err(|message| invalid(&message))?;
    let answer = apex.shared.answer(&body);
    let number = apex.shared.next_id();
    let job_id = format!("{number:08x}-0000-4000-8000-{number:012x}");
    apex.jobs.lock().unwrap().insert(job_id.clone(), Job { answer, polled: false });
    Ok(Json(json!({ "jobId": job_id, "status": "pending" })).into_response())
}

async fn get_job(State(apex): State<Apex>, body: Bytes) -> Result<Response, Response> {
    let body = parse_json(KIND, &body)?;
    let job_id = field(&body, "job_id").and_then(Value::as_str).ok_or_else(|| invalid("job_id is required"))?;
    let mut jobs = apex.jobs.lock().unwrap();
    let job = jobs.get_mut(job_id).ok_or_else(|| error_response(KIND, StatusCode::NOT_FOUND, &format!("no deep researcher job {job_id}")))?;
    // A researcher takes a while: the first poll finds the job still running.
    if !job.polled {
        job.polled = true;
        return Ok(Json(json!({ "jobId": job_id, "status": "running" })).into_response());
    }
    let answer = job.answer.clone();
    Ok(Json(json!({
        "jobId": job_id,
        "status": "completed",
        // Each chunk is a JSON-encoded list of content parts.
        "result": [{ "seqId": "1", "chunk": json!([{ "content": answer }]).to_string() }],
    }))
    .into_response())
}
