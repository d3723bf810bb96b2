//! Findings: what the evidence says for a field of each role (see `fields`), in a scope (see
//! `scope`).
//!
//! - **prices**: the whole evidence's price is the market price (see `market`); a subject's is
//!   its offer for the reference product, else its first price; an item's is its first price.
//!   Beside a price field, at the whole evidence, a text explains the market price and a name
//!   names the subject with the lowest offer.
//! - **texts**: an item's text; else the tasks' texts; else the first [`TEXTS_JOINED`] items'
//!   texts; else a sentence saying what was found.
//! - **names**: an item's title (else its first words), the subject, or at the whole evidence
//!   the objective.
//! - **booleans**: true when the scope mentions the field's words (`has_free_tier` and "a free
//!   tier").
//! - **others**: the best matching sentence (see `scope`), else the text.
//! - **evidence for an optional field**: what its role draws on exists in the scope; for a field
//!   without a role, the scope mentions its words or, for an object or array, has items.

use super::fields::{meaningful_words, Role, Slot};
use super::market::{Group, MarketPrice};
use super::prices::{dollars, prices};
use super::scope::{subjects, Scope};
use crate::evidence::TaskOutput;

/// Phrases joined into one string, and titles named in a sentence about what was found.
pub(crate) const PHRASES_LISTED: usize = 3;

/// Item texts joined for a text field when no task wrote a text.
const TEXTS_JOINED: usize = 2;

/// Words of an item's text standing in for its missing title.
const TITLE_WORDS: usize = 12;

pub(crate) struct Findings<'a> {
    objective: &'a str,
    outputs: &'a [TaskOutput],
    subjects: Vec<&'a str>,
    market: Option<MarketPrice>,
}

impl<'a> Findings<'a> {
    pub(crate) fn new(objective: &'a str, outputs: &'a [TaskOutput]) -> Findings<'a> {
        let subjects = subjects(outputs);
        let groups: Vec<Group> = if subjects.is_empty() {
            Scope::all(outputs).snippets().map(|snippet| Group { name: None, prices: prices(snippet) }).collect()
        } else {
            subjects.iter().map(|&subject| Group { name: Some(subject), prices: Scope::subject(outputs, subject).prices() }).collect()
        };
        let market = MarketPrice::of(&groups);
        Findings { objective: objective.trim(), outputs, subjects, market }
    }

    pub(crate) fn objective(&self) -> &'a str {
        self.objective
    }

    pub(crate) fn whole(&self) -> Scope<'a> {
        Scope::all(self.outputs)
    }

    /// Each subject's scope, in order.
    pub(crate) fn subject_scopes(&self) -> impl Iterator<Item = Scope<'a>> + '_ {
        self.subjects.iter().map(|&subject| Scope::subject(self.outputs, subject))
    }

    pub(crate) fn has_subjects(&self) -> bool {
        !self.subjects.is_empty()
    }

    /// Whether `scope` has evidence for an optional field, `structured` when it holds an object
    /// or an array.
    pub(crate) fn has_evidence(&self, slot: &Slot, scope: &Scope, structured: bool) -> bool {
        match slot.role {
            Role::Name => scope.subject.is_some() || scope.title().is_some(),
            Role::Url => scope.url().is_some(),
            Role::Text | Role::Phrases => scope.snippets().next().is_some(),
            Role::Pricing => !scope.prices().is_empty(),
            Role::Price => self.price(scope).is_some(),
            Role::Date => scope.published().is_some(),
            Role::Author => scope.author().is_some(),
            Role::Count => !scope.items.is_empty(),
            Role::Other => self.mentions_field(slot, scope) || (structured && !scope.items.is_empty()),
        }
    }

    pub(crate) fn string(&self, slot: &Slot, scope: &Scope) -> String {
        let about_market = slot.beside_price && scope.is_whole();
        match slot.role {
            Role::Name if about_market => self.market.as_ref().and_then(MarketPrice::cheapest).map_or_else(|| self.name(scope), str::to_owned),
            Role::Name => self.name(scope),
            Role::Text if about_market => self.market.as_ref().map_or_else(|| self.text(scope), MarketPrice::rationale),
            Role::Text => self.text(scope),
            Role::Url => scope.url().unwrap_or_default().to_owned(),
            Role::Pricing => {
                let listed: Vec<String> = scope.prices().iter().map(|price| format!("{} {}", price.label, dollars(price.amount, price.unit.as_deref()))).collect();
                if listed.is_empty() {
                    self.text(scope)
                } else {
                    listed.join(", ")
                }
            }
            Role::Price => self.price(scope).map(|(amount, unit)| dollars(amount, unit.as_deref())).unwrap_or_default(),
            Role::Phrases => scope.phrases().into_iter().take(PHRASES_LISTED).collect::<Vec<_>>().join("; "),
            Role::Date => scope.published().unwrap_or_default().to_owned(),
            Role::Author => scope.author().unwrap_or_default().to_owned(),
            Role::Count => scope.items.len().to_string(),
            Role::Other => scope.best_sentence(&meaningful_words(slot.field)).map_or_else(|| self.text(scope), str::to_owned),
        }
    }

    /// What a name-like field holds in `scope`.
    fn name(&self, scope: &Scope) -> String {
        if let Some(item) = scope.item {
            let title = item.title.as_deref().map(str::trim).filter(|title| !title.is_empty());
            let leading_words = || item.text.split_whitespace().take(TITLE_WORDS).collect::<Vec<_>>().join(" ");
            return title.map_or_else(leading_words, str::to_owned);
        }
        match scope.subject {
            Some(subject) => subject.to_owned(),
            None if !self.objective.is_empty() => self.objective.to_owned(),
            None => scope.title().unwrap_or_default().to_owned(),
        }
    }

    /// What a text field holds in `scope` (see the module documentation).
    fn text(&self, scope: &Scope) -> String {
        if let Some(item) = scope.item {
            let text = item.text.trim();
            return if text.is_empty() { self.name(scope) } else { text.to_owned() };
        }
        if !scope.task_texts().is_empty() {
            return scope.task_texts().iter().map(|text| text.trim()).collect::<Vec<_>>().join("\n\n");
        }
        let snippets: Vec<&str> = scope.snippets().take(TEXTS_JOINED).map(str::trim).collect();
        if !snippets.is_empty() {
            return snippets.join(" ");
        }
        let about = scope.subject.unwrap_or(self.objective);
        let titles: Vec<&str> = scope.items.iter().filter_map(|item| item.title.as_deref()).take(PHRASES_LISTED).collect();
        match (about.is_empty(), titles.is_empty()) {
            (_, false) => format!("{} found{}: {}.", count_of(scope.items.len(), "source"), about_clause(about), titles.join("; ")),
            (false, true) => format!("No evidence was found about {about}."),
            (true, true) => "No evidence was found.".to_owned(),
        }
    }

    /// The price in `scope` and its unit (see the module documentation).
    fn price(&self, scope: &Scope) -> Option<(f64, Option<String>)> {
        let market = self.market.as_ref();
        if scope.is_whole() {
            return market.map(|market| (market.median(), market.unit().map(str::to_owned)));
        }
        let offer = scope.subject.and_then(|subject| market.and_then(|market| Some((market.offer_of(subject)?, market.unit().map(str::to_owned)))));
        offer.or_else(|| scope.prices().into_iter().next().map(|price| (price.amount, price.unit)))
    }

    pub(crate) fn number(&self, slot: &Slot, scope: &Scope) -> f64 {
        match slot.role {
            Role::Price | Role::Pricing => self.price(scope).map_or(0.0, |(amount, _)| amount),
            Role::Count => scope.items.len() as f64,
            _ => 0.0,
        }
    }

    /// Whether `scope` mentions the words of the slot's field: a boolean field's value.
    pub(crate) fn mentions_field(&self, slot: &Slot, scope: &Scope) -> bool {
        scope.mentions(&meaningful_words(slot.field).join(" ")) > 0
    }
}

fn count_of(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

fn about_clause(about: &str) -> String {
    if about.is_empty() {
        String::new()
    } else {
        format!(" about {about}")
    }
}
