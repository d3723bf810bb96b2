//! Live progress of one orchestration: what it does, as it does it, for a caller to watch
//! (the node streams these as server-sent events; `orchestra execute` draws them).
//!
//! Terms:
//! - **event**: one step, in the order it happened: the checked plan, each subnet call started
//!   and finished (with its status, time and cost), a supplementary task skipped, and each
//!   synthesis attempt with the violations that sent it back (none for the one that validated).
//! - **watcher**: the channel events are sent to. Sending never waits and never fails the
//!   orchestration: a watcher that went away misses the rest.
//!
//! Events carry what the answer will carry (calls, the plan, violations), never more: no key,
//! no request or response body.

use serde::Serialize;
use tokio::sync::mpsc::UnboundedSender;

use crate::execute::trace::CallRecord;
use crate::execute::SkippedTask;
use crate::plan::Plan;
use crate::synthesis::Method;

/// One step of an orchestration.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// The plan, checked, before any task runs.
    Plan { plan: Plan },
    /// A request is about to be sent to a subnet.
    CallStarted { task: String, subnet: u16, endpoint: String, attempt: u32 },
    /// A request's outcome, as the answer's `calls` will list it.
    CallFinished { call: CallRecord },
    /// A supplementary task that failed; the orchestration goes on without it.
    TaskSkipped { skipped: SkippedTask },
    /// A document was written and checked against the target schema; `violations` is empty
    /// when it validated.
    Synthesis { attempt: u32, method: Method, violations: Vec<String> },
}

impl Event {
    /// The event's name, as the `event` field (and an SSE event's type) gives it.
    pub fn name(&self) -> &'static str {
        match self {
            Event::Plan { .. } => "plan",
            Event::CallStarted { .. } => "call_started",
            Event::CallFinished { .. } => "call_finished",
            Event::TaskSkipped { .. } => "task_skipped",
            Event::Synthesis { .. } => "synthesis",
        }
    }
}

/// Where an orchestration's events go, if anywhere.
#[derive(Clone, Debug, Default)]
pub struct Watcher(Option<UnboundedSender<Event>>);

impl Watcher {
    pub fn new(sender: UnboundedSender<Event>) -> Watcher {
        Watcher(Some(sender))
    }

    /// Nobody watches.
    pub fn none() -> Watcher {
        Watcher(None)
    }

    pub fn send(&self, event: Event) {
        if let Some(sender) = &self.0 {
            // A watcher that left misses the rest; the orchestration goes on.
            let _ = sender.send(event);
        }
    }
}
