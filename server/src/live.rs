//! What `orchestra execute` draws on a terminal (stderr) while an orchestration runs: one line
//! per subnet call, spinning until it finishes with its status, time and cost, and a line for
//! the run's stage. Off a terminal nothing is drawn, so the JSON on stdout stays the output.

use std::collections::HashMap;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use orchestrator::progress::Event;
use tokio::sync::mpsc::UnboundedReceiver;

const TICK: Duration = Duration::from_millis(120);

/// Draws `events` until the orchestration sending them ends.
pub async fn draw(mut events: UnboundedReceiver<Event>) {
    let lines = MultiProgress::new();
    let spinner = ProgressStyle::with_template("{spinner} {msg} {elapsed}").expect("the template is valid");
    let stage = lines.add(ProgressBar::new_spinner().with_style(spinner.clone()));
    stage.enable_steady_tick(TICK);
    stage.set_message("planning");
    let mut running: HashMap<(String, u16, String, u32), ProgressBar> = HashMap::new();
    while let Some(event) = events.recv().await {
        match event {
            Event::Plan { plan } => {
                let required = plan.tasks.iter().filter(|task| task.required).count();
                stage.set_message(format!("{} tasks planned ({required} required), calling subnets", plan.tasks.len()));
            }
            Event::CallStarted { task, subnet, endpoint, attempt } => {
                let line = lines.insert_before(&stage, ProgressBar::new_spinner().with_style(spinner.clone()));
                line.enable_steady_tick(TICK);
                line.set_message(format!("SN{subnet} {endpoint} for {task}, attempt {attempt}"));
                running.insert((task, subnet, endpoint, attempt), line);
            }
            Event::CallFinished { call } => {
                let status = if call.status == 0 { "no response".to_owned() } else { format!("HTTP {}", call.status) };
                let message = format!("SN{} {} for {}: {status} in {:.0} ms, {} rao", call.subnet, call.endpoint, call.task, call.duration_ms, call.cost_rao);
                match running.remove(&(call.task.clone(), call.subnet, call.endpoint.clone(), call.attempt)) {
                    Some(line) => line.finish_with_message(message),
                    None => lines.println(message).unwrap_or(()),
                }
            }
            Event::TaskSkipped { skipped } => {
                let _ = lines.println(format!("skipped {} ({}): {}", skipped.task, skipped.capability, skipped.reason));
            }
            Event::Synthesis { attempt, violations, .. } if violations.is_empty() => stage.set_message(format!("result written (attempt {attempt}), validated")),
            Event::Synthesis { attempt, violations, .. } => stage.set_message(format!("attempt {attempt} did not validate ({} violations), repairing", violations.len())),
        }
    }
    for line in running.into_values() {
        line.abandon();
    }
    stage.finish_and_clear();
}
