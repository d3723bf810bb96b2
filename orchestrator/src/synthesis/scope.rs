//! Scopes: the part of the evidence one value of the document is drawn from.
//!
//! Terms:
//! - **subjects of the evidence**: its outputs' subjects, in the order first met.
//! - **scope**: the whole evidence, one subject's outputs, or one item.
//! - **snippet**: a non-blank text in scope: the tasks' texts, then the items' texts.
//! - **sentence**: a piece of a snippet between sentence ends (`.`, `!`, `?` or `;` before a
//!   space, or a line break), trimmed of spaces and closing marks, with two words or more.
//! - **phrases**: the sentences, those without a price first: prices have fields of their own,
//!   and a strength or a feature reads better without them.
//! - Items are counted once per URL (without one, per title and text): the same page found by
//!   two searches is one item.

use crate::evidence::{Item, TaskOutput};
use crate::planner::words::{is_keyword, words as text_words};

use super::fields::Source;
use super::prices::{prices, Price};

#[derive(Clone, Debug)]
pub(crate) struct Scope<'a> {
    pub(crate) subject: Option<&'a str>,
    /// The one item a scope is about, for an item's scope.
    pub(crate) item: Option<&'a Item>,
    pub(crate) items: Vec<&'a Item>,
    /// The tasks' texts.
    texts: Vec<&'a str>,
}

/// The subjects of `outputs`.
pub(crate) fn subjects(outputs: &[TaskOutput]) -> Vec<&str> {
    let mut subjects: Vec<&str> = Vec::new();
    for subject in outputs.iter().filter_map(|output| output.subject.as_deref()).map(str::trim) {
        if !subject.is_empty() && !subjects.contains(&subject) {
            subjects.push(subject);
        }
    }
    subjects
}

impl<'a> Scope<'a> {
    pub(crate) fn all(outputs: &'a [TaskOutput]) -> Scope<'a> {
        Scope::of_outputs(None, outputs.iter())
    }

    pub(crate) fn subject(outputs: &'a [TaskOutput], subject: &'a str) -> Scope<'a> {
        let outputs = outputs.iter().filter(move |output| output.subject.as_deref().map(str::trim) == Some(subject));
        Scope::of_outputs(Some(subject), outputs)
    }

    pub(crate) fn item(item: &'a Item) -> Scope<'a> {
        Scope { subject: None, item: Some(item), items: vec![item], texts: Vec::new() }
    }

    fn of_outputs(subject: Option<&'a str>, outputs: impl Iterator<Item = &'a TaskOutput>) -> Scope<'a> {
        let mut scope = Scope { subject, item: None, items: Vec::new(), texts: Vec::new() };
        for output in outputs {
            scope.texts.extend(output.text.as_deref().filter(|text| !text.trim().is_empty()));
            for item in &output.items {
                if !scope.items.iter().any(|known| same_item(known, item)) {
                    scope.items.push(item);
                }
            }
        }
        scope
    }

    pub(crate) fn is_whole(&self) -> bool {
        self.subject.is_none() && self.item.is_none()
    }

    /// The items in scope, those from `source` first.
    pub(crate) fn items_preferring(&self, source: Option<&Source>) -> Vec<&'a Item> {
        let Some(source) = source else { return self.items.clone() };
        let from_source = |item: &&&Item| item.source.eq_ignore_ascii_case(source.name) || item.url.as_deref().and_then(host).is_some_and(|host| source.hosts.iter().any(|known| is_within(&host, known)));
        let (mut first, rest): (Vec<&Item>, Vec<&Item>) = self.items.iter().partition(from_source);
        first.extend(rest);
        first
    }

    pub(crate) fn snippets(&self) -> impl Iterator<Item = &'a str> + '_ {
        let item_texts = self.items.iter().map(|item| item.text.as_str()).filter(|text| !text.trim().is_empty());
        self.texts.iter().copied().chain(item_texts)
    }

    /// The tasks' texts, which summarise the scope better than any one item.
    pub(crate) fn task_texts(&self) -> &[&'a str] {
        &self.texts
    }

    fn sentences(&self) -> Vec<&'a str> {
        let mut found: Vec<&str> = Vec::new();
        for sentence in self.snippets().flat_map(sentences) {
            if !found.contains(&sentence) {
                found.push(sentence);
            }
        }
        found
    }

    pub(crate) fn phrases(&self) -> Vec<&'a str> {
        let (mut plain, priced): (Vec<&str>, Vec<&str>) = self.sentences().into_iter().partition(|sentence| prices(sentence).is_empty());
        plain.extend(priced);
        plain
    }

    pub(crate) fn prices(&self) -> Vec<Price> {
        self.snippets().flat_map(prices).collect()
    }

    pub(crate) fn url(&self) -> Option<&'a str> {
        self.first_of(|item| item.url.as_deref())
    }

    pub(crate) fn title(&self) -> Option<&'a str> {
        self.first_of(|item| item.title.as_deref())
    }

    pub(crate) fn published(&self) -> Option<&'a str> {
        self.first_of(|item| item.published.as_deref())
    }

    pub(crate) fn author(&self) -> Option<&'a str> {
        self.first_of(|item| item.author.as_deref())
    }

    /// How often `phrase` occurs in the snippets as whole words, ignoring case and reading
    /// `-` and `_` as spaces (`free tier` is in "a free-tier plan").
    pub(crate) fn mentions(&self, phrase: &str) -> usize {
        let phrase = comparable(phrase);
        if phrase.trim().is_empty() {
            return 0;
        }
        self.snippets().map(|snippet| whole_word_occurrences(&comparable(snippet), &phrase)).sum()
    }

    /// The sentence mentioning most of `words` (lowercase; plurals count), the first on a tie;
    /// `None` when none mentions any.
    pub(crate) fn best_sentence(&self, words: &[String]) -> Option<&'a str> {
        let score = |sentence: &str| {
            let found = text_words(sentence);
            words.iter().filter(|word| found.iter().any(|found| is_keyword(found, word))).count()
        };
        let sentences = self.sentences();
        let best = sentences.iter().map(|sentence| score(sentence)).max().filter(|&best| best > 0)?;
        sentences.into_iter().find(|sentence| score(sentence) == best)
    }

    fn first_of(&self, field: impl Fn(&'a Item) -> Option<&'a str>) -> Option<&'a str> {
        self.items.iter().filter_map(|item| field(item)).map(str::trim).find(|value| !value.is_empty())
    }
}

/// The lowercased host of `url`: `https://www.arxiv.org/abs/1` gives `www.arxiv.org`.
fn host(url: &str) -> Option<String> {
    let (_, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit('@').next()?.split(':').next()?;
    Some(host.to_lowercase())
}

/// Whether `host` is `domain` or one of its subdomains.
fn is_within(host: &str, domain: &str) -> bool {
    host == domain || host.strip_suffix(domain).is_some_and(|prefix| prefix.ends_with('.'))
}

fn comparable(text: &str) -> String {
    text.to_lowercase().replace(['-', '_'], " ")
}

fn whole_word_occurrences(text: &str, phrase: &str) -> usize {
    let is_word_character = |character: Option<char>| character.is_some_and(char::is_alphanumeric);
    text.match_indices(phrase)
        .filter(|(start, _)| !is_word_character(text[..*start].chars().next_back()) && !is_word_character(text[start + phrase.len()..].chars().next()))
        .count()
}

fn same_item(a: &Item, b: &Item) -> bool {
    match (a.url.as_deref(), b.url.as_deref()) {
        (Some(a), Some(b)) if !a.is_empty() => a == b,
        (None, None) => a.title == b.title && a.text == b.text,
        _ => false,
    }
}

/// The sentences of `text`.
fn sentences(text: &str) -> impl Iterator<Item = &str> {
    let mut pieces = Vec::new();
    let mut start = 0;
    let mut characters = text.char_indices().peekable();
    while let Some((position, character)) = characters.next() {
        let before_space = characters.peek().is_none_or(|(_, next)| next.is_whitespace());
        if character == '\n' || (".!?;".contains(character) && before_space) {
            pieces.push(&text[start..position]);
            start = position + character.len_utf8();
        }
    }
    pieces.push(&text[start..]);
    pieces
        .into_iter()
        .map(|piece| piece.trim().trim_end_matches([':', ',', '-', '–', '—']).trim())
        .filter(|piece| piece.split_whitespace().count() >= 2)
}
