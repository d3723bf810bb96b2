//! Which capabilities an objective calls for, decided by the words of the objective and the
//! target schema against the ledger's capability records (docs/SPEC.md §17).
//!
//! Terms:
//! - **vocabulary**: the ledger's capability records, in plan order (their `order`, then name).
//!   Only those of the evidence role are chosen here: writers (an LLM) plan and write.
//! - **name**: a word naming a capability's source outright (`twitter`, `reddit`); it decides.
//! - **hint**: a word suggesting a capability (`sentiment`, `forecast`); it counts unless another
//!   capability of the same family is named, so that "reddit posts" is no request for X.
//! - **family**: capabilities answering the same kind of question from different sources: the
//!   social searches form one, the forecasts another.
//! - **medium capability**: one whose hints describe the medium (posts, threads) rather than the
//!   subject matter. Its names and hints are **medium words** of its family: dropped from the
//!   family's queries, where they would only narrow the search, and never a subject's name.
//! - **required**: a chosen capability whose tasks the orchestration cannot do without: every
//!   capability named outright, or, when none is named, the first one chosen in plan order. The
//!   others are supplementary.
//! - **fallback**: a capability planned when nothing calls for any (its record says so; web
//!   search in the genesis). When no fallback is offered, such an objective gets no plan: a
//!   specialised capability (a VPN's countries, a sports book's odds) is no answer to a
//!   question that does not ask for it.
//!
//! A keyword also matches its plural in `s`.

use std::collections::BTreeSet;

use ledger::record::{Capability, CapabilityRole};

use super::words::is_keyword;

/// The capabilities the planner may choose from, in plan order.
#[derive(Clone, Debug, Default)]
pub struct Vocabulary {
    capabilities: Vec<Capability>,
}

impl Vocabulary {
    /// The vocabulary of `records`, in plan order.
    pub fn new(records: impl IntoIterator<Item = Capability>) -> Vocabulary {
        let mut capabilities: Vec<Capability> = records.into_iter().collect();
        capabilities.sort_by(|a, b| (a.order, &a.name).cmp(&(b.order, &b.name)));
        Vocabulary { capabilities }
    }

    /// The record of `capability`, if the vocabulary has it.
    pub fn get(&self, capability: &str) -> Option<&Capability> {
        self.capabilities.iter().find(|record| record.name == capability)
    }

    /// The capabilities planned when an objective calls for none, in plan order.
    pub fn fallbacks(&self) -> impl Iterator<Item = &str> {
        self.evidence().filter(|record| record.fallback).map(|record| record.name.as_str())
    }

    /// The capabilities the planner may choose, in plan order.
    fn evidence(&self) -> impl Iterator<Item = &Capability> {
        self.capabilities.iter().filter(|record| record.role == CapabilityRole::Evidence)
    }

    /// Whether `word` (any case) names a medium capability's source, such as `Twitter`: never a
    /// subject to compare.
    pub(super) fn is_source_name(&self, word: &str) -> bool {
        let word = word.to_lowercase();
        self.evidence().any(|record| record.hints_are_medium_words && named_by(record, &word))
    }

    fn rule<'a>(&'a self, capability: &'a Capability) -> Rule<'a> {
        Rule { capability, vocabulary: self }
    }
}

fn named_by(record: &Capability, word: &str) -> bool {
    record.names.iter().any(|name| is_keyword(word, name))
}

fn hinted_by(record: &Capability, word: &str) -> bool {
    record.hints.iter().any(|hint| is_keyword(word, hint))
}

/// One capability as the planner uses it.
#[derive(Clone, Copy)]
pub(super) struct Rule<'a> {
    pub(super) capability: &'a Capability,
    vocabulary: &'a Vocabulary,
}

impl Rule<'_> {
    fn describes_medium(record: &Capability, word: &str) -> bool {
        named_by(record, word) || (record.hints_are_medium_words && hinted_by(record, word))
    }

    /// Whether `word` (lowercase) should be left out of this capability's queries: a medium
    /// word of its family ("posts" says nothing on Reddit either).
    pub(super) fn is_medium_word(&self, word: &str) -> bool {
        self.vocabulary
            .evidence()
            .filter(|record| record.family == self.capability.family && record.hints_are_medium_words)
            .any(|record| Rule::describes_medium(record, word))
    }
}

/// A capability chosen for a plan.
pub(super) struct Chosen<'a> {
    pub(super) rule: Rule<'a>,
    /// Whether its tasks are required (see the module documentation).
    pub(super) required: bool,
}

/// The offered capabilities that `words` (lowercase) call for, in plan order. When none is
/// called for: the first offered fallback, or nothing. At least one chosen capability is
/// required whenever one is chosen.
pub(super) fn select<'a>(vocabulary: &'a Vocabulary, words: &BTreeSet<String>, offered: &BTreeSet<String>) -> Vec<Chosen<'a>> {
    let all: Vec<&'a Capability> = vocabulary.evidence().collect();
    let named: Vec<bool> = all.iter().map(|record| words.iter().any(|word| named_by(record, word))).collect();
    let hinted: Vec<bool> = all.iter().map(|record| words.iter().any(|word| hinted_by(record, word))).collect();
    let kin_named = |position: usize| all.iter().enumerate().any(|(other, record)| other != position && record.family == all[position].family && named[other]);
    let offered_records: Vec<(usize, &'a Capability)> = all.iter().copied().enumerate().filter(|(_, record)| offered.contains(&record.name)).collect();
    let called: Vec<(usize, &'a Capability)> =
        offered_records.iter().copied().filter(|&(position, _)| named[position] || (hinted[position] && !kin_named(position))).collect();
    if called.is_empty() {
        let fallback = offered_records.iter().find(|(_, record)| record.fallback);
        return fallback.map(|&(_, record)| Chosen { rule: vocabulary.rule(record), required: true }).into_iter().collect();
    }
    let any_named = called.iter().any(|&(position, _)| named[position]);
    called
        .iter()
        .enumerate()
        .map(|(rank, &(position, record))| Chosen { rule: vocabulary.rule(record), required: if any_named { named[position] } else { rank == 0 } })
        .collect()
}
