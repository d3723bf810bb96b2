//! LLM prompts, shared by the chat protocols (OpenAI-compatible endpoints such as
//! <https://llm.chutes.ai>, and Apex): the messages of a call, and the user message that
//! carries the query, the evidence of earlier tasks and the JSON Schema the answer must follow.
//!
//! Evidence is bounded so that a prompt stays small whatever the searches returned: LLM
//! endpoints charge by the token, answer slower as prompts grow, and refuse prompts beyond
//! their context window. Each value read by pointer is tagged with where it is (`[receipt 1:
//! title /data/0/title, text /data/0/snippet]`), so that an answer can cite it
//! ([`crate::provenance`]).

use std::fmt::Write;

use serde_json::{json, Value};

use super::CallInput;
use crate::evidence::{Item, Located, Spot, TaskOutput};

/// Items listed per task; search results past the first 25 add little.
const MAX_ITEMS_PER_TASK: usize = 25;
/// Characters kept of an item's title or text.
const MAX_ITEM_CHARS: usize = 400;
/// Characters kept of a task's own text (a summary, an earlier LLM answer).
const MAX_TASK_TEXT_CHARS: usize = 4_000;
/// Characters of evidence in one prompt, about 6k tokens.
const MAX_CONTEXT_CHARS: usize = 24_000;

/// The messages of a chat call: the system message when given, then the user message.
pub(super) fn messages(input: &CallInput) -> Value {
    let system = input.system.map(|system| json!({"role": "system", "content": system}));
    let user = json!({"role": "user", "content": user_message(input)});
    Value::Array(system.into_iter().chain([user]).collect())
}

/// The query, then the evidence of earlier tasks, then the answer's JSON Schema if any.
pub(super) fn user_message(input: &CallInput) -> String {
    let mut message = input.query.to_owned();
    if !input.context.is_empty() {
        message.push_str("\n\nEvidence from earlier tasks:\n");
        message.push_str(&evidence(input.context));
    }
    if let Some(schema) = input.response_schema {
        let pretty = serde_json::to_string_pretty(schema).unwrap_or_else(|_| schema.to_string());
        let _ = write!(
            message,
            "\n\nAnswer with only a JSON document, without prose or code fences, that validates against this JSON Schema:\n{pretty}"
        );
    }
    message
}

/// The task outputs as text, at most [`MAX_CONTEXT_CHARS`] characters: whole lines are kept
/// until the budget is spent, then a note says what was left out.
fn evidence(context: &[TaskOutput]) -> String {
    let mut evidence = String::new();
    let mut chars = 0;
    for line in context.iter().flat_map(task_lines) {
        let line_chars = line.chars().count() + 1;
        if chars + line_chars > MAX_CONTEXT_CHARS {
            evidence.push_str("[more evidence left out to keep the prompt short]\n");
            break;
        }
        chars += line_chars;
        evidence.push_str(&line);
        evidence.push('\n');
    }
    evidence
}

/// One task's lines: a heading, its text, and its first items numbered.
fn task_lines(output: &TaskOutput) -> Vec<String> {
    let mut heading = format!("## Task {}", output.task);
    if let Some(subject) = &output.subject {
        let _ = write!(heading, " ({subject})");
    }
    let text = output.text.as_deref().map(|text| format!("{}{}", tag(&output.text_located, &[("text", &output.text_located.text)]), clip(text, MAX_TASK_TEXT_CHARS)));
    let items = output.items.iter().take(MAX_ITEMS_PER_TASK).enumerate().map(|(index, item)| format!("{}. {}", index + 1, item_line(item)));
    let omitted = output.items.len().saturating_sub(MAX_ITEMS_PER_TASK);
    let omitted = (omitted > 0).then(|| format!("({omitted} more items left out)"));
    [heading].into_iter().chain(text).chain(items).chain(omitted).collect()
}

/// `[tag] title — text — url`, leaving out the parts the item lacks.
fn item_line(item: &Item) -> String {
    let located = &item.located;
    let tag = tag(located, &[("title", &located.title), ("text", &located.text), ("url", &located.url), ("published", &located.published), ("author", &located.author)]);
    let title = item.title.as_deref().map(|title| clip(title, MAX_ITEM_CHARS));
    let text = Some(clip(&item.text, MAX_ITEM_CHARS)).filter(|text| !text.is_empty());
    format!("{tag}{}", [title, text, item.url.clone()].into_iter().flatten().collect::<Vec<_>>().join(" — "))
}

/// `[receipt R: name pointer, ...] ` for the fields read by pointer, or nothing.
fn tag(located: &Located, fields: &[(&str, &Option<Spot>)]) -> String {
    let Some(receipt) = located.receipt else { return String::new() };
    let spots: Vec<String> = fields
        .iter()
        .filter_map(|(name, spot)| match spot {
            Some(Spot::At(at)) => Some(format!("{name} {at}")),
            _ => None,
        })
        .collect();
    if spots.is_empty() {
        return String::new();
    }
    format!("[receipt {receipt}: {}] ", spots.join(", "))
}

/// `text` on one line and at most `max_chars` characters: when longer, cut on a character
/// boundary and ended with an ellipsis.
fn clip(text: &str, max_chars: usize) -> String {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() <= max_chars {
        return line;
    }
    let cut = line.char_indices().nth(max_chars - 1).map_or(line.len(), |(cut, _)| cut);
    format!("{}…", &line[..cut])
}
