//! The deterministic planner: a plan made from keywords, for when no LLM subnet plans.
//!
//! - Capabilities are chosen by keyword from the objective's words and the target schema's
//!   (see `capabilities` and `schema_terms`), among those offered, by the ledger's capability
//!   records (the vocabulary): a capability the ledger gains is planned with no new code.
//! - When the objective names subjects to compare (see `subjects`), every chosen capability
//!   gets one task per subject, querying "<subject> <topic>", the topic being the key terms of
//!   the objective without its subjects (see `query`). Subjects beyond what [`MAX_TASKS`]
//!   allows are dropped, the first ones kept.
//! - Otherwise every chosen capability gets one task querying the objective's key terms.
//! - A task is required when its capability is (see `capabilities`), supplementary otherwise.
//!
//! A search able to find papers asks for "arxiv papers" when the objective or schema wants
//! papers. Tasks have no dependencies: synthesis, not a task, combines their outputs. A task's
//! id is its capability followed by its subject's **slug** (the subject lowercased, with runs
//! of anything but `a-z` and `0-9` made one `-`), and a number when that is taken.

use std::collections::BTreeSet;

use serde_json::Value;

use super::capabilities::{select, Chosen, Vocabulary};
use super::query::{ask_for_papers, asks_for_papers, key_terms};
use super::schema_terms::schema_words;
use super::subjects::find;
use super::tokens::{tokens, Token};
use super::words::words;
use crate::plan::{Plan, PlannerKind, Task, MAX_TASKS};

/// Searched for when an objective gives nothing to search for.
const EMPTY_OBJECTIVE_QUERY: &str = "latest news";

/// Plans `objective` for a target in full JSON Schema form, using only `offered` capabilities of
/// `vocabulary`. The plan has no task only when the vocabulary holds no offered capability.
pub fn plan(objective: &str, schema: &Value, vocabulary: &Vocabulary, offered: &BTreeSet<String>) -> Plan {
    let mut all_words = schema_words(schema);
    all_words.extend(words(objective));
    let chosen = select(vocabulary, &all_words, offered);
    let wants_papers = asks_for_papers(&all_words);
    let tokens = tokens(objective);
    let subjects = find(&tokens, vocabulary);
    let mut ids = BTreeSet::new();
    let mut tasks = Vec::new();
    if subjects.names.is_empty() {
        for choice in &chosen {
            let mut terms = key_terms(&tokens, &choice.rule);
            if terms.is_empty() {
                terms = written_words(&tokens);
            }
            tasks.push(task(choice, None, terms, wants_papers, &mut ids));
        }
    } else {
        let subjects_kept = MAX_TASKS / chosen.len().max(1);
        for subject in subjects.names.iter().take(subjects_kept) {
            for choice in &chosen {
                let mut terms = vec![subject.clone()];
                terms.extend(key_terms(&subjects.rest, &choice.rule).into_iter().filter(|term| !term.eq_ignore_ascii_case(subject)));
                tasks.push(task(choice, Some(subject), terms, wants_papers, &mut ids));
            }
        }
    }
    Plan { planner: PlannerKind::Deterministic, tasks, fallback_reason: None }
}

fn task(choice: &Chosen<'_>, subject: Option<&String>, mut terms: Vec<String>, wants_papers: bool, ids: &mut BTreeSet<String>) -> Task {
    let capability = choice.rule.capability;
    if wants_papers && capability.finds_papers {
        ask_for_papers(&mut terms);
    }
    let query = if terms.is_empty() { EMPTY_OBJECTIVE_QUERY.to_owned() } else { terms.join(" ") };
    let base = match subject {
        Some(subject) => format!("{}-{}", slug(&capability.name), slug(subject)),
        None => slug(&capability.name),
    };
    let id = unique_id(base.trim_end_matches('-'), ids);
    Task { id, capability: capability.name.clone(), query, subject: subject.cloned(), depends_on: Vec::new(), required: choice.required }
}

/// Every word and quoted text of the objective, as written: the query of last resort.
fn written_words(tokens: &[Token]) -> Vec<String> {
    tokens
        .iter()
        .filter_map(|token| match token {
            Token::Word(text) | Token::Quoted(text) => Some(text.clone()),
            Token::Comma | Token::Break => None,
        })
        .collect()
}

fn slug(text: &str) -> String {
    let mut slug = String::with_capacity(text.len());
    for character in text.chars().flat_map(char::to_lowercase) {
        if character.is_ascii_lowercase() || character.is_ascii_digit() {
            slug.push(character);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    slug.trim_end_matches('-').to_owned()
}

/// `base`, or `base-2`, `base-3`, ... whichever is free first; recorded as taken.
fn unique_id(base: &str, taken: &mut BTreeSet<String>) -> String {
    let id = (1..)
        .map(|number| if number == 1 { base.to_owned() } else { format!("{base}-{number}") })
        .find(|candidate| !taken.contains(candidate))
        .expect("the numbered ids never run out");
    taken.insert(id.clone());
    id
}
