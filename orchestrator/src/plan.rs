//! Plans: what the orchestrator will do for one objective, before it does any of it.
//!
//! Terms:
//! - **capability**: a kind of work a subnet endpoint does, as the ledger names it in
//!   `identity.capabilities` and `endpoint.capability` (`web-search`, `x-search`, `llm-chat`).
//! - **task**: one unit of work naming a capability and a query; it becomes one or more subnet
//!   calls (retries and fallbacks) once routed.
//! - **subject**: what a task is about when the objective names several things to compare
//!   (`RunPod`, `Vast.ai`): the planner fans out one task per subject, and synthesis groups
//!   results by it.
//! - **dependency**: a task that must finish first because its output feeds this one (an LLM
//!   task that summarises search results depends on the searches).
//! - **plan**: the tasks, forming a directed acyclic graph through their dependencies, and
//!   which planner made it.
//! - **required** / **supplementary**: a required task's failure fails the orchestration; a
//!   supplementary task adds evidence the result can do without, so its failure (and that of
//!   the tasks depending on it) is reported in the answer and synthesis goes on. Every plan has
//!   at least one required task, so a result never rests on supplementary evidence alone.
//!
//! [`Plan::check`] is what every plan passes before it is executed, whoever made it: task ids
//! unique, dependencies known, no cycle, every capability one the ledger offers.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// Longest plan accepted, in tasks: a bound on what one request can make the node do.
pub const MAX_TASKS: usize = 32;

/// One unit of work.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Task {
    /// Unique within the plan, e.g. `search-runpod`.
    pub id: String,
    pub capability: String,
    /// What to ask: a search query, or an instruction for an LLM.
    pub query: String,
    /// The subject the task is about, when the objective compares several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Tasks whose outputs this one needs, by id.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
    /// Whether the orchestration fails when this task does (see the module documentation).
    #[serde(default = "required_by_default")]
    pub required: bool,
}

/// A task is required unless its planner says it is supplementary.
fn required_by_default() -> bool {
    true
}

/// Which planner made a plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlannerKind {
    /// An LLM subnet, with the plan checked against [`plan_json_schema`].
    Llm,
    /// The keyword matcher over the ledger's capabilities.
    Deterministic,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub planner: PlannerKind,
    pub tasks: Vec<Task>,
    /// Why the deterministic planner was used when an LLM planner was configured (its answer
    /// did not check, or it could not be reached); absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback_reason: Option<String>,
}

/// Why a plan is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("the plan has no tasks")]
    Empty,
    #[error("the plan has {0} tasks; at most {MAX_TASKS} are allowed")]
    TooManyTasks(usize),
    #[error("task id {0:?} is used twice")]
    DuplicateId(String),
    #[error("task {task:?} depends on {missing:?}, which is not in the plan")]
    UnknownDependency { task: String, missing: String },
    #[error("tasks {0:?} depend on each other in a cycle")]
    Cycle(Vec<String>),
    #[error("task {task:?} needs capability {capability:?}, which no subnet in the ledger offers")]
    UnknownCapability { task: String, capability: String },
    #[error("task {0:?} has an empty id or query")]
    Blank(String),
    #[error("task id {0:?} is reserved for the orchestrator's own calls")]
    ReservedId(String),
    #[error("every task is supplementary; at least one must be required")]
    NothingRequired,
}

/// Ids under which the orchestrator records its planning and synthesis calls, which no task
/// may take.
pub const RESERVED_IDS: [&str; 2] = ["plan", "synthesis"];

impl Plan {
    /// Checks the plan's shape against the capabilities on offer (see the module
    /// documentation) and returns the tasks in an order where each comes after its
    /// dependencies.
    pub fn check(&self, offered: &BTreeSet<String>) -> Result<Vec<usize>, PlanError> {
        if self.tasks.is_empty() {
            return Err(PlanError::Empty);
        }
        if self.tasks.len() > MAX_TASKS {
            return Err(PlanError::TooManyTasks(self.tasks.len()));
        }
        let mut index = BTreeMap::new();
        for (position, task) in self.tasks.iter().enumerate() {
            if task.id.trim().is_empty() || task.query.trim().is_empty() {
                return Err(PlanError::Blank(task.id.clone()));
            }
            if RESERVED_IDS.contains(&task.id.as_str()) {
                return Err(PlanError::ReservedId(task.id.clone()));
            }
            if index.insert(task.id.as_str(), position).is_some() {
                return Err(PlanError::DuplicateId(task.id.clone()));
            }
            if !offered.contains(&task.capability) {
                return Err(PlanError::UnknownCapability { task: task.id.clone(), capability: task.capability.clone() });
            }
        }
        if !self.tasks.iter().any(|task| task.required) {
            return Err(PlanError::NothingRequired);
        }
        for task in &self.tasks {
            if let Some(missing) = task.depends_on.iter().find(|dependency| !index.contains_key(dependency.as_str())) {
                return Err(PlanError::UnknownDependency { task: task.id.clone(), missing: missing.clone() });
            }
        }
        self.topological_order(&index)
    }

    /// Kahn's algorithm; what is left when no task is ready forms (or waits on) a cycle.
    fn topological_order(&self, index: &BTreeMap<&str, usize>) -> Result<Vec<usize>, PlanError> {
        let mut waiting_on: Vec<usize> = self.tasks.iter().map(|task| task.depends_on.len()).collect();
        let mut dependents = vec![Vec::new(); self.tasks.len()];
        for (position, task) in self.tasks.iter().enumerate() {
            for dependency in &task.depends_on {
                dependents[index[dependency.as_str()]].push(position);
            }
        }
        let mut ready: Vec<usize> = (0..self.tasks.len()).filter(|&position| waiting_on[position] == 0).collect();
        let mut order = Vec::with_capacity(self.tasks.len());
        while let Some(position) = ready.pop() {
            order.push(position);
            for &dependent in &dependents[position] {
                waiting_on[dependent] -= 1;
                if waiting_on[dependent] == 0 {
                    ready.push(dependent);
                }
            }
        }
        if order.len() < self.tasks.len() {
            let stuck = (0..self.tasks.len()).filter(|&position| waiting_on[position] > 0).map(|position| self.tasks[position].id.clone()).collect();
            return Err(PlanError::Cycle(stuck));
        }
        Ok(order)
    }
}

/// The JSON Schema an LLM planner's answer must satisfy: `{"tasks": [Task, ...]}`, with
/// `capability` limited to those on offer.
pub fn plan_json_schema(offered: &BTreeSet<String>) -> Value {
    json!({
        "type": "object",
        "properties": {
            "tasks": {
                "type": "array",
                "minItems": 1,
                "maxItems": MAX_TASKS,
                "items": {
                    "type": "object",
                    "properties": {
                        "id": { "type": "string", "minLength": 1, "maxLength": 64 },
                        "capability": { "enum": offered.iter().collect::<Vec<_>>() },
                        "query": { "type": "string", "minLength": 1, "maxLength": 2000 },
                        "subject": { "type": "string" },
                        "depends_on": { "type": "array", "items": { "type": "string" } },
                        "required": { "type": "boolean" }
                    },
                    "required": ["id", "capability", "query"],
                    "additionalProperties": false
                }
            }
        },
        "required": ["tasks"],
        "additionalProperties": false
    })
}
