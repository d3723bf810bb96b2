//! Field roles: what a property's name says it holds, whatever its spelling.
//!
//! Terms:
//! - **role**: the kind of evidence a field is filled from (see [`Role`]).
//! - **reading a name**: its identifier words (`pricePoint`, `price_point` and `Price-Point`
//!   all give `price`, `point`) are looked up joined (`pricepoint`), then the last word alone
//!   (`source_url` is a URL), then the first (`num_results` is a count); each lookup tries the
//!   word as written and then its singular (`links`, `summaries`).
//! - **slot**: where a value goes: the field it fills (for an array's element, the array's
//!   field), with its role, and whether its object also has a price field.
//! - **preferred source**: where the items an array field names come from: `papers` from arXiv,
//!   `tweets` from X, `threads` from Reddit; known by the item's `source` or its URL's host.

use super::nodes::JsonType;
use crate::planner::words::identifier_words;

/// What a field holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    /// The subject, or an item's title.
    Name,
    Url,
    /// A task's or item's text, or a sentence built from the evidence.
    Text,
    /// Product labels mapped to prices.
    Pricing,
    /// One price: a subject's, or the market price.
    Price,
    /// Short sentences from the snippets: strengths, features.
    Phrases,
    Date,
    Author,
    /// How many items there are.
    Count,
    /// No role: the best matching snippet.
    Other,
}

/// Where a value goes.
pub(crate) struct Slot<'f> {
    /// The name of the field it fills, or of the array it is an element of; empty at the root.
    pub(crate) field: &'f str,
    pub(crate) role: Role,
    /// Whether it is an array's element.
    pub(crate) element: bool,
    /// Whether its object has a price field, which a text or a name here is about.
    pub(crate) beside_price: bool,
}

impl<'f> Slot<'f> {
    pub(crate) fn root() -> Slot<'static> {
        Slot { field: "", role: Role::Other, element: false, beside_price: false }
    }

    pub(crate) fn property(field: &'f str, beside_price: bool) -> Slot<'f> {
        Slot { field, role: role(field), element: false, beside_price }
    }

    pub(crate) fn element(&self) -> Slot<'f> {
        Slot { element: true, beside_price: false, ..*self }
    }

    /// The JSON types a value here is best given, most wanted first: an element of a list of
    /// phrases or prices is one string.
    pub(crate) fn preferred_types(&self) -> &'static [JsonType] {
        match (self.role, self.element) {
            (Role::Price, _) => &[JsonType::Number, JsonType::Integer, JsonType::String],
            (Role::Count, _) => &[JsonType::Integer, JsonType::Number, JsonType::String],
            (Role::Pricing, false) => &[JsonType::Object, JsonType::String],
            (Role::Phrases, false) => &[JsonType::Array, JsonType::String],
            _ => &[JsonType::String],
        }
    }
}

const ROLES: &[(Role, &[&str])] = &[
    (Role::Name, &["name", "title", "provider", "company", "competitor", "vendor", "brand", "product", "platform", "service", "subject", "organization", "organisation", "tool"]),
    (Role::Url, &["url", "uri", "link", "source", "href", "website", "homepage", "permalink"]),
    (
        Role::Text,
        &[
            "summary", "description", "rationale", "reason", "reasoning", "analysis", "text", "abstract", "content", "snippet", "body",
            "explanation", "justification", "overview", "detail", "comment", "note", "conclusion", "answer", "verdict", "synthesis",
            "report", "insight", "discussion", "commentary", "assessment", "evaluation", "outlook", "review",
        ],
    ),
    (Role::Pricing, &["pricing", "prices", "pricelist", "rates", "tariff"]),
    (Role::Price, &["price", "pricepoint", "cost", "amount", "fee", "rate"]),
    (Role::Phrases, &["strengths", "pros", "feature", "highlight", "advantage", "benefit", "finding", "takeaway", "keypoint"]),
    (Role::Date, &["date", "published", "publishedat", "publishdate", "publicationdate", "created", "createdat", "timestamp", "time"]),
    (Role::Author, &["author", "by", "creator", "username", "user", "handle", "poster"]),
    (Role::Count, &["count", "total", "number", "num", "quantity"]),
];

/// Where the items an array field names come from.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Source {
    /// An item's `source`.
    pub(crate) name: &'static str,
    /// Hosts (and their subdomains) of the URLs of such items, whatever search found them.
    pub(crate) hosts: &'static [&'static str],
    /// Words of field names asking for such items.
    field_words: &'static [&'static str],
}

impl Source {
    /// Whether `item` comes from this source: by its `source`, or its URL's host (or a
    /// subdomain of it).
    pub(crate) fn holds(&self, item: &crate::evidence::Item) -> bool {
        let within = |host: &str| self.hosts.iter().any(|known| host == *known || host.strip_suffix(known).is_some_and(|prefix| prefix.ends_with('.')));
        item.source.eq_ignore_ascii_case(self.name) || item.url.as_deref().and_then(host).is_some_and(|host| within(&host))
    }
}

/// The lowercased host of `url`: `https://www.arxiv.org/abs/1` gives `www.arxiv.org`.
fn host(url: &str) -> Option<String> {
    let (_, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit('@').next()?.split(':').next()?;
    Some(host.to_lowercase())
}

const SOURCES: [Source; 3] = [
    Source { name: "arxiv", hosts: &["arxiv.org"], field_words: &["paper", "preprint", "arxiv", "publication"] },
    Source { name: "x", hosts: &["x.com", "twitter.com"], field_words: &["tweet", "post", "x"] },
    Source { name: "reddit", hosts: &["reddit.com"], field_words: &["thread", "subreddit", "reddit"] },
];

pub(crate) fn role(field: &str) -> Role {
    let words = identifier_words(field);
    let joined = words.concat();
    let candidates = [Some(joined.as_str()), words.last().map(String::as_str), words.first().map(String::as_str)];
    let found = candidates.into_iter().flatten().find_map(role_of_word);
    found.unwrap_or(Role::Other)
}

fn role_of_word(word: &str) -> Option<Role> {
    let lookup = |word: &str| ROLES.iter().find(|(_, words)| words.contains(&word)).map(|(role, _)| *role);
    lookup(word).or_else(|| singular(word).and_then(|singular| lookup(&singular)))
}

/// `links` gives `link`, `summaries` `summary`, `boxes` `box`; `None` for a word not in `s`.
fn singular(word: &str) -> Option<String> {
    if let Some(stem) = word.strip_suffix("ies") {
        return Some(format!("{stem}y"));
    }
    if let Some(stem) = word.strip_suffix("es").filter(|stem| stem.ends_with(['x', 's']) || stem.ends_with("ch") || stem.ends_with("sh")) {
        return Some(stem.to_owned());
    }
    word.strip_suffix('s').filter(|stem| !stem.is_empty()).map(str::to_owned)
}

/// The source an array field's items preferably come from.
pub(crate) fn preferred_source(field: &str) -> Option<&'static Source> {
    let words = identifier_words(field);
    let asks_for = |source: &&Source| words.iter().any(|word| source.field_words.contains(&word.as_str()) || singular(word).is_some_and(|singular| source.field_words.contains(&singular.as_str())));
    SOURCES.iter().find(asks_for)
}

/// The words of a field's name that carry meaning, for finding it in text: `has_free_tier`
/// gives `free`, `tier`.
pub(crate) fn meaningful_words(field: &str) -> Vec<String> {
    const PREFIXES: [&str; 6] = ["is", "has", "have", "supports", "offers", "can"];
    let mut words = identifier_words(field);
    if words.len() > 1 && PREFIXES.contains(&words[0].as_str()) {
        words.remove(0);
    }
    words
}
