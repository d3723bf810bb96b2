//! The trace of one orchestration: every subnet call it made, and the timings derived from them.
//!
//! Terms:
//! - **call record**: what the caller is shown of one call (the receipt holds its hashes).
//!   `offset_ms` is when it started, counted from the start of the orchestration.
//! - **time in calls**: the length of the union of the calls' intervals, so that parallel calls
//!   count once.
//! - **overhead**: total time minus time in calls: what the orchestrator itself added.
//! - **critical path**: the time the plan needed if every step took only its calls' time: the
//!   planning calls, then the longest chain of dependent tasks (each task taking the sum of its
//!   calls, retries and fallbacks included), then the synthesis calls.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::plan::Plan;

/// The task ids under which the planner's and synthesis's LLM calls are recorded.
pub const PLANNING_TASK: &str = crate::plan::RESERVED_IDS[0];
pub const SYNTHESIS_TASK: &str = crate::plan::RESERVED_IDS[1];

/// How a call ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallOutcome {
    Ok,
    /// Failed in a way worth another attempt (timeout, connection, 429, 5xx).
    Retryable,
    /// Failed for good on this endpoint (another 4xx, or an answer that does not parse).
    Failed,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CallRecord {
    pub task: String,
    pub subnet: u16,
    pub endpoint: String,
    /// Attempt on this endpoint, from 1.
    pub attempt: u32,
    /// HTTP status; 0 when no response came (timeout or connection failure).
    pub status: u16,
    pub outcome: CallOutcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Unix time in milliseconds when the request was sent.
    pub started_ms: u64,
    pub offset_ms: f64,
    pub duration_ms: f64,
    pub cost_rao: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_usd_micros: Option<u64>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Timings {
    pub total_ms: f64,
    pub plan_ms: f64,
    pub execute_ms: f64,
    pub synthesis_ms: f64,
    pub in_calls_ms: f64,
    pub overhead_ms: f64,
    pub critical_path_ms: f64,
}

/// The length of the union of the calls' intervals.
pub fn time_in_calls(calls: &[CallRecord]) -> f64 {
    let mut intervals: Vec<(f64, f64)> = calls.iter().map(|call| (call.offset_ms, call.offset_ms + call.duration_ms)).collect();
    intervals.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut total = 0.0;
    let mut current: Option<(f64, f64)> = None;
    for (start, end) in intervals {
        current = match current {
            Some((open, close)) if start <= close => Some((open, close.max(end))),
            Some((open, close)) => {
                total += close - open;
                Some((start, end))
            }
            None => Some((start, end)),
        };
    }
    total + current.map_or(0.0, |(open, close)| close - open)
}

/// The critical path of `plan` given the calls made (see the module documentation).
pub fn critical_path(plan: &Plan, order: &[usize], calls: &[CallRecord]) -> f64 {
    let mut call_time: BTreeMap<&str, f64> = BTreeMap::new();
    for call in calls {
        *call_time.entry(call.task.as_str()).or_default() += call.duration_ms;
    }
    let mut finish: BTreeMap<&str, f64> = BTreeMap::new();
    for &position in order {
        let task = &plan.tasks[position];
        let ready = task.depends_on.iter().map(|dependency| finish.get(dependency.as_str()).copied().unwrap_or(0.0)).fold(0.0, f64::max);
        finish.insert(task.id.as_str(), ready + call_time.get(task.id.as_str()).copied().unwrap_or(0.0));
    }
    let tasks = finish.values().copied().fold(0.0, f64::max);
    let around = [PLANNING_TASK, SYNTHESIS_TASK].iter().map(|step| call_time.get(step).copied().unwrap_or(0.0)).sum::<f64>();
    tasks + around
}
