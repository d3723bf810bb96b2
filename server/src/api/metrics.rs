//! Prometheus metrics at `/metrics`: requests by route and status with their time, the ledger's
//! head, final version and size, and what the outbound guard refused, in the text exposition
//! format. Every label takes a bounded set of values: methods outside the standard ones count
//! as `other`, paths outside the routes as `none`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use super::AppState;

/// Requests seen, by (method, route template, status).
#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(&'static str, String, u16), Served>>,
}

#[derive(Default, Clone, Copy)]
struct Served {
    count: u64,
    seconds: f64,
}

/// The methods counted under their own label.
const METHODS: [&str; 9] = ["GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH", "CONNECT", "TRACE"];

/// The method as a label: one of [`METHODS`], or `other`.
fn method_label(method: &axum::http::Method) -> &'static str {
    METHODS.into_iter().find(|known| *known == method.as_str()).unwrap_or("other")
}

/// Counts and times every request under the route it matched (unmatched ones under `none`,
/// so that arbitrary paths cannot grow the table).
pub async fn record(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let method = method_label(request.method());
    let route = request.extensions().get::<MatchedPath>().map_or_else(|| "none".to_owned(), |path| path.as_str().to_owned());
    let started = Instant::now();
    let response = next.run(request).await;
    let elapsed = started.elapsed().as_secs_f64();
    if let Ok(mut requests) = state.metrics().requests.lock() {
        let served = requests.entry((method, route, response.status().as_u16())).or_default();
        served.count += 1;
        served.seconds += elapsed;
    }
    response
}

pub async fn export(State(state): State<AppState>) -> Result<Response, ApiError> {
    let (head, final_version, entries, namespaces) = state
        .read(|ledger| {
            let finality = ledger.finality()?;
            Ok((ledger.head().version, finality.latest_final.map(|checkpoint| checkpoint.version), ledger.state().entry_count(), ledger.state().namespaces().count()))
        })
        .await?;
    let mut text = String::new();
    let requests = state.metrics().requests.lock().map_err(|_| ApiError::poisoned())?.clone();
    text.push_str("# HELP orchestra_http_requests_total Requests answered, by method, route and status.\n# TYPE orchestra_http_requests_total counter\n");
    for ((method, route, status), served) in &requests {
        let _ = writeln!(text, "orchestra_http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {}", served.count);
    }
    text.push_str("# HELP orchestra_http_request_duration_seconds Time spent answering, by method, route and status.\n# TYPE orchestra_http_request_duration_seconds summary\n");
    for ((method, route, status), served) in &requests {
        let labels = format!("method=\"{method}\",route=\"{route}\",status=\"{status}\"");
        let _ = writeln!(text, "orchestra_http_request_duration_seconds_sum{{{labels}}} {}", served.seconds);
        let _ = writeln!(text, "orchestra_http_request_duration_seconds_count{{{labels}}} {}", served.count);
    }
    if let Some(orchestration) = state.orchestration() {
        let orchestrator = orchestration.orchestrator();
        let counters = [
            ("orchestra_outbound_refused_total", "Outbound requests the guard refused (scheme, credentials in the URL, or a forbidden address).", orchestrator.guard().refused()),
            ("orchestra_keys_withheld_total", "Routes passed over because their subnet's key is not bound to their host.", orchestrator.withheld_keys()),
        ];
        for (name, help, value) in counters {
            let _ = writeln!(text, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}");
        }
    }
    let gauges = [
        ("orchestra_ledger_head_version", "Version of the head checkpoint.", Some(head)),
        ("orchestra_ledger_final_version", "Version of the latest final checkpoint (absent when none).", final_version),
        ("orchestra_ledger_entries", "Entries at the head.", Some(entries as u64)),
        ("orchestra_ledger_namespaces", "Non-empty namespaces at the head.", Some(namespaces as u64)),
    ];
    for (name, help, value) in gauges {
        let _ = writeln!(text, "# HELP {name} {help}\n# TYPE {name} gauge");
        if let Some(value) = value {
            let _ = writeln!(text, "{name} {value}");
        }
    }
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response())
}
