//! Facts: what the evidence supports, each value with its citation.
//!
//! Terms:
//! - **located text**: an item's text or a task's text read by pointer (see
//!   [`crate::evidence`]): its sentences can be quoted. A value read through a format is cited
//!   whole; an unlocated value is no fact at all.
//! - **scope**: where a value of the document is drawn from: the whole evidence, one subject
//!   (a name the objective gives, with the tasks planned for it), or one item.
//! - **a subject's own page**: an item whose title or URL host names the subject and no other
//!   subject, and whose text names no other subject (`vast.ai/pricing`, "Vast.ai GPU Pricing").
//!   Which search found a page says nothing of whom it is about: every search finds the
//!   comparison pages and the competitors' pages too.
//! - **a subject's sentences**: sentences of any located text that name no other subject and
//!   either name the subject or are on its own page.
//! - **a price's subject**: the subject mentioned nearest before the amount in its sentence,
//!   after the amount before it; else the one mentioned nearest after it, before the next
//!   amount; else, on a subject's own page, that subject; else none, and the price is no
//!   subject's. A price's **product** is the product named nearest before it in its sentence, else
//!   nearest after it, else `price`.
//! - **offer**: a subject's lowest price for a product in one unit. The **reference product**
//!   is the product and unit most subjects have an offer for, the first met on a tie.
//!
//! Which subject and product a quoted price belongs to is this reading; the quote proves the
//! amount is written in the evidence.

use std::ops::Range;

use crate::evidence::{Item, Location, Spot, TaskOutput};
use crate::planner::words::{is_keyword, words};
use crate::provenance::Citation;

use super::spans::{amounts, mentions, products, sentences};

/// A value's citation, with the value as text for strings.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Cited<T> {
    pub(crate) value: T,
    pub(crate) citation: Citation,
}

/// A located text.
struct Text<'a> {
    text: &'a str,
    receipt: u64,
    at: &'a str,
    /// The subject whose own page it is, if any.
    page_of: Option<&'a str>,
    item: Option<&'a Item>,
}

impl Text<'_> {
    fn quote(&self, range: Range<usize>) -> Citation {
        Citation::Quote { receipt: self.receipt, at: self.at.to_owned(), text: self.text[range].to_owned() }
    }
}

/// A price the evidence writes, read as the module documentation says.
#[derive(Clone, Debug)]
pub(crate) struct Price<'a> {
    pub(crate) subject: Option<String>,
    pub(crate) product: String,
    pub(crate) unit: Option<&'static str>,
    pub(crate) cited: Cited<f64>,
    item: Option<&'a Item>,
}

#[derive(Clone, Copy, Debug)]
pub(crate) enum Scope<'a> {
    Whole,
    Subject(&'a str),
    Item(&'a Item),
}

/// The label of a price whose product is not named.
const UNNAMED_PRODUCT: &str = "price";

pub(crate) struct Facts<'a> {
    objective: &'a str,
    outputs: &'a [TaskOutput],
    subjects: Vec<&'a str>,
    texts: Vec<Text<'a>>,
    prices: Vec<Price<'a>>,
    reference: Option<(String, Option<&'static str>)>,
}

impl<'a> Facts<'a> {
    pub(crate) fn new(objective: &'a str, outputs: &'a [TaskOutput]) -> Facts<'a> {
        let mut subjects: Vec<&str> = Vec::new();
        for subject in outputs.iter().filter_map(|output| output.subject.as_deref()).map(str::trim) {
            if !subject.is_empty() && !subjects.contains(&subject) {
                subjects.push(subject);
            }
        }
        let mut texts = Vec::new();
        for output in outputs {
            // Only a text read by pointer is in the body as written, and can be quoted.
            if let (Some(text), Some(Location { receipt, spot: Spot::At(at) })) = (output.text.as_deref(), output.text_located.of(&output.text_located.text)) {
                texts.push(Text { text, receipt, at, page_of: None, item: None });
            }
            for item in &output.items {
                if let Some(Location { receipt, spot: Spot::At(at) }) = item.located.of(&item.located.text) {
                    texts.push(Text { text: &item.text, receipt, at, page_of: own_page(item, &subjects), item: Some(item) });
                }
            }
        }
        let mut facts = Facts { objective, outputs, subjects, texts, prices: Vec::new(), reference: None };
        facts.prices = facts.read_prices();
        facts.reference = facts.read_reference_product();
        facts
    }

    pub(crate) fn subjects(&self) -> &[&'a str] {
        &self.subjects
    }

    /// The items of `scope`, each once (by URL, else by title and text).
    pub(crate) fn items(&self, scope: Scope<'a>) -> Vec<&'a Item> {
        let mut found: Vec<&Item> = Vec::new();
        let outputs = self.outputs.iter().filter(|output| match scope {
            Scope::Subject(subject) => output.subject.as_deref().map(str::trim) == Some(subject),
            _ => true,
        });
        for item in outputs.flat_map(|output| &output.items) {
            if let Scope::Item(only) = scope {
                if !std::ptr::eq(only, item) {
                    continue;
                }
            }
            let same = |known: &&Item| match (&known.url, &item.url) {
                (Some(a), Some(b)) => a == b,
                (None, None) => known.title == item.title && known.text == item.text,
                _ => false,
            };
            if !found.iter().any(same) {
                found.push(item);
            }
        }
        found
    }

    /// An item field's value and citation, when a pointer or a format read it.
    fn extract(item: &Item, value: Option<&str>, spot: &Option<Spot>) -> Option<Cited<String>> {
        let location = item.located.of(spot)?;
        let value = value.filter(|value| !value.trim().is_empty())?;
        Some(Cited { value: value.to_owned(), citation: citation_of(&location) })
    }

    pub(crate) fn title(item: &Item) -> Option<Cited<String>> {
        Facts::extract(item, item.title.as_deref(), &item.located.title)
    }

    pub(crate) fn url(item: &Item) -> Option<Cited<String>> {
        Facts::extract(item, item.url.as_deref(), &item.located.url)
    }

    pub(crate) fn published(item: &Item) -> Option<Cited<String>> {
        Facts::extract(item, item.published.as_deref(), &item.located.published)
    }

    pub(crate) fn author(item: &Item) -> Option<Cited<String>> {
        Facts::extract(item, item.author.as_deref(), &item.located.author)
    }

    pub(crate) fn item_text(item: &Item) -> Option<Cited<String>> {
        Facts::extract(item, Some(&item.text), &item.located.text)
    }

    /// A number the item carries under a name of `field`'s words.
    pub(crate) fn item_number(item: &Item, field_words: &[String]) -> Option<Cited<f64>> {
        let (name, number) = item.numbers.iter().find(|(name, _)| {
            let named = words(&name.replace('_', " "));
            !field_words.is_empty() && field_words.iter().all(|word| named.iter().any(|found| is_keyword(found, word) || is_keyword(word, found)))
        })?;
        let at = item.located.numbers.get(name)?;
        let receipt = item.located.receipt?;
        Some(Cited { value: number.as_f64()?, citation: Citation::Extract { receipt, at: at.clone() } })
    }

    /// The subject's name as the objective writes it.
    pub(crate) fn subject_name(&self, subject: &str) -> Option<Cited<String>> {
        let range = mentions(self.objective, subject).into_iter().next()?;
        let text = self.objective[range].to_owned();
        Some(Cited { value: text.clone(), citation: Citation::Objective { text } })
    }

    /// The task texts of `scope` (a search engine's summary, an LLM's answer), located.
    pub(crate) fn task_text(&self, scope: Scope<'a>) -> Option<Cited<String>> {
        self.outputs
            .iter()
            .filter(|output| match scope {
                Scope::Subject(subject) => output.subject.as_deref().map(str::trim) == Some(subject),
                Scope::Whole => true,
                Scope::Item(_) => false,
            })
            .find_map(|output| {
                let location = output.text_located.of(&output.text_located.text)?;
                let text = output.text.as_deref().filter(|text| !text.trim().is_empty())?;
                Some(Cited { value: text.to_owned(), citation: citation_of(&location) })
            })
    }

    /// The sentences of `scope` as quotes, unpriced ones first, each once.
    pub(crate) fn sentences(&self, scope: Scope<'a>) -> Vec<Cited<String>> {
        let mut plain = Vec::new();
        let mut priced = Vec::new();
        for text in &self.texts {
            if let Scope::Item(item) = scope {
                if !text.item.is_some_and(|own| std::ptr::eq(own, item)) {
                    continue;
                }
            }
            for range in sentences(text.text) {
                let sentence = &text.text[range.clone()];
                if let Scope::Subject(subject) = scope {
                    let about = !mentions(sentence, subject).is_empty() || text.page_of == Some(subject);
                    if !about || self.names_another(sentence, subject) {
                        continue;
                    }
                }
                let cited = Cited { value: sentence.to_owned(), citation: text.quote(range) };
                if plain.iter().chain(&priced).any(|known: &Cited<String>| known.value == cited.value) {
                    continue;
                }
                if amounts(sentence).is_empty() {
                    plain.push(cited);
                } else {
                    priced.push(cited);
                }
            }
        }
        plain.extend(priced);
        plain
    }

    /// The sentence of `scope` holding most of `field_words` (one at least), the first on a tie.
    pub(crate) fn best_sentence(&self, scope: Scope<'a>, field_words: &[String]) -> Option<Cited<String>> {
        let score = |sentence: &str| {
            let found = words(sentence);
            field_words.iter().filter(|word| found.iter().any(|found| is_keyword(found, word))).count()
        };
        let sentences = self.sentences(scope);
        let best = sentences.iter().map(|sentence| score(&sentence.value)).max().filter(|&best| best > 0)?;
        sentences.into_iter().find(|sentence| score(&sentence.value) == best)
    }

    /// `value` quoted as written in a text of `scope` (an enum's value), if it is.
    pub(crate) fn quoted(&self, scope: Scope<'a>, value: &str) -> Option<Cited<String>> {
        self.texts.iter().filter(|text| self.in_scope(text, scope)).find_map(|text| {
            let start = text.text.find(value)?;
            Some(Cited { value: value.to_owned(), citation: text.quote(start..start + value.len()) })
        })
    }

    /// Whether `text` names a subject other than `subject`.
    fn names_another(&self, text: &str, subject: &str) -> bool {
        self.subjects.iter().any(|other| *other != subject && !mentions(text, other).is_empty())
    }

    fn in_scope(&self, text: &Text<'a>, scope: Scope<'a>) -> bool {
        match scope {
            Scope::Whole => true,
            Scope::Subject(subject) => text.page_of == Some(subject) || !mentions(text.text, subject).is_empty(),
            Scope::Item(item) => text.item.is_some_and(|own| std::ptr::eq(own, item)),
        }
    }

    /// The prices of `scope`: a subject's, or those written in an item's text.
    pub(crate) fn prices(&self, scope: Scope<'a>) -> Vec<&Price<'a>> {
        self.prices
            .iter()
            .filter(|price| match scope {
                Scope::Whole => true,
                Scope::Subject(subject) => price.subject.as_deref() == Some(subject),
                Scope::Item(item) => price.item.is_some_and(|own| std::ptr::eq(own, item)),
            })
            .collect()
    }

    /// A subject's offers by product label (see the module documentation), in the order met;
    /// prices of no named product only when the scope has no other.
    pub(crate) fn offers(&self, scope: Scope<'a>) -> Vec<&Price<'a>> {
        let mut offers: Vec<&Price<'a>> = Vec::new();
        let prices = self.prices(scope);
        let any_named = prices.iter().any(|price| price.product != UNNAMED_PRODUCT);
        for price in prices.into_iter().filter(|price| !any_named || price.product != UNNAMED_PRODUCT) {
            match offers.iter_mut().find(|offer| same_product(offer, price)) {
                Some(offer) if price.cited.value < offer.cited.value => *offer = price,
                Some(_) => {}
                None => offers.push(price),
            }
        }
        offers
    }

    /// The product and unit most subjects have an offer for, read once.
    pub(crate) fn reference_product(&self) -> Option<(String, Option<&'static str>)> {
        self.reference.clone()
    }

    fn read_reference_product(&self) -> Option<(String, Option<&'static str>)> {
        let mut counted: Vec<(&Price<'a>, usize)> = Vec::new();
        for subject in &self.subjects {
            for offer in self.offers(Scope::Subject(subject)) {
                match counted.iter_mut().find(|(known, _)| same_product(known, offer)) {
                    Some((_, count)) => *count += 1,
                    None => counted.push((offer, 1)),
                }
            }
        }
        let best = counted.iter().map(|(_, count)| *count).max()?;
        counted.into_iter().find(|(_, count)| *count == best).map(|(price, _)| (price.product.clone(), price.unit))
    }

    /// A subject's offer for the reference product, else its first offer; an item's first price.
    pub(crate) fn price(&self, scope: Scope<'a>) -> Option<&Price<'a>> {
        let offers = self.offers(scope);
        let reference = self.reference_product();
        let for_reference = reference.and_then(|(product, unit)| offers.iter().copied().find(|offer| offer.product.eq_ignore_ascii_case(&product) && offer.unit == unit));
        for_reference.or_else(|| offers.first().copied())
    }

    fn read_prices(&self) -> Vec<Price<'a>> {
        let mut found = Vec::new();
        for text in &self.texts {
            for sentence in sentences(text.text) {
                let body = &text.text[sentence.clone()];
                let amounts = amounts(body);
                let named: Vec<(&str, Range<usize>)> = self.subjects.iter().flat_map(|subject| mentions(body, subject).into_iter().map(move |range| (*subject, range))).collect();
                let products = products(body);
                for (index, amount) in amounts.iter().enumerate() {
                    let previous_end = if index == 0 { 0 } else { amounts[index - 1].span.end };
                    let next_start = amounts.get(index + 1).map_or(body.len(), |next| next.span.start);
                    let before = named.iter().filter(|(_, range)| range.start >= previous_end && range.end <= amount.span.start).max_by_key(|(_, range)| range.end);
                    let after = named.iter().filter(|(_, range)| range.start >= amount.span.end && range.end <= next_start).min_by_key(|(_, range)| range.start);
                    let subject = before.or(after).map(|(subject, _)| *subject).or(text.page_of);
                    let product = products.iter().filter(|range| range.end <= amount.span.start).max_by_key(|range| range.end).or_else(|| products.iter().filter(|range| range.start >= amount.span.end).min_by_key(|range| range.start));
                    let span = sentence.start + amount.span.start..sentence.start + amount.span.end;
                    found.push(Price {
                        subject: subject.map(str::to_owned),
                        product: product.map_or_else(|| UNNAMED_PRODUCT.to_owned(), |range| body[range.clone()].to_owned()),
                        unit: amount.unit,
                        cited: Cited { value: amount.value, citation: text.quote(span) },
                        item: text.item,
                    });
                }
            }
        }
        found
    }

    /// A sentence of `scope` that names all of `field_words`: what a `true` cites.
    pub(crate) fn naming(&self, scope: Scope<'a>, field: &str) -> Option<Cited<String>> {
        self.sentences(scope).into_iter().find(|sentence| crate::provenance::names_field(&sentence.value, field))
    }
}

/// The citation of a whole value at `location`.
fn citation_of(location: &Location) -> Citation {
    match location.spot {
        Spot::At(at) => Citation::Extract { receipt: location.receipt, at: at.clone() },
        Spot::Filled { at, format } => Citation::Format { receipt: location.receipt, at: at.clone(), format: format.clone() },
    }
}

/// The subject whose own page `item` is (see the module documentation).
fn own_page<'a>(item: &Item, subjects: &[&'a str]) -> Option<&'a str> {
    let squeezed = |text: &str| text.chars().filter(|character| character.is_alphanumeric()).flat_map(char::to_lowercase).collect::<String>();
    let host = item.url.as_deref().and_then(|url| url.split_once("://")).and_then(|(_, rest)| rest.split(['/', '?', '#', ':']).next()).map(squeezed).unwrap_or_default();
    let names = |subject: &str| item.title.as_deref().is_some_and(|title| !mentions(title, subject).is_empty()) || (!host.is_empty() && host.contains(&squeezed(subject)));
    let named: Vec<&str> = subjects.iter().copied().filter(|subject| names(subject)).collect();
    match named.as_slice() {
        [only] if !subjects.iter().any(|other| other != only && !mentions(&item.text, other).is_empty()) => Some(only),
        _ => None,
    }
}

fn same_product(a: &Price, b: &Price) -> bool {
    a.product.eq_ignore_ascii_case(&b.product) && a.unit == b.unit
}

