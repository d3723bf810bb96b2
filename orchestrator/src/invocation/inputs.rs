//! The inputs a spec's templates draw from, derived from one call input.
//!
//! Each input is a JSON value or absent: `query` (text), `keywords` (the query's topic words),
//! `subject` and `subjects`, `since` and `until` (the window's bounds), `count` (absent for
//! calls that list nothing), `messages` (a system message when given, then the user message
//! with the evidence and the schema), `schema`, `model`, `url` (the first http(s) URL in the
//! query), `text` (the passage the query quotes between double quotes), and in a poll `job_id`.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Map, Value};

use super::{prompt, CallInput};

/// The window a call without one asks for: the 30 days before it. APIs that default to the
/// last day or so (Data Universe does) would otherwise find almost nothing for most questions.
const DEFAULT_WINDOW_MS: u64 = 30 * 24 * 3600 * 1000;

/// A period of time, in Unix milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub since_ms: u64,
    pub until_ms: u64,
}

impl Window {
    /// The [`DEFAULT_WINDOW_MS`] up to now.
    pub fn recent() -> Window {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |since| since.as_millis() as u64);
        Window { since_ms: now.saturating_sub(DEFAULT_WINDOW_MS), until_ms: now }
    }
}

/// The named values of one call.
pub struct Inputs {
    values: Map<String, Value>,
    pub(super) window: Window,
}

impl Inputs {
    pub fn of(input: &CallInput, model: Option<&str>) -> Inputs {
        let mut values = Map::new();
        values.insert("query".into(), json!(input.query));
        values.insert("keywords".into(), json!(keywords(input.query)));
        if let Some(subject) = input.subject {
            values.insert("subject".into(), json!(subject));
        }
        values.insert("subjects".into(), json!(input.subject.into_iter().collect::<Vec<_>>()));
        if input.limit > 0 {
            values.insert("count".into(), json!(input.limit));
        }
        values.insert("messages".into(), prompt::messages(input));
        if let Some(schema) = input.response_schema {
            values.insert("schema".into(), schema.clone());
        }
        if let Some(model) = model {
            values.insert("model".into(), json!(model));
        }
        if let Some(url) = first_url(input.query) {
            values.insert("url".into(), json!(url));
        }
        if let Some(passage) = quoted(input.query) {
            values.insert("text".into(), json!(passage));
        }
        Inputs { values, window: input.window.unwrap_or_else(Window::recent) }
    }

    pub fn with_job_id(mut self, job_id: &str) -> Inputs {
        self.values.insert("job_id".into(), json!(job_id));
        self
    }

    /// The value of input `name`, if given (`since` and `until` are read by the template).
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.values.get(name)
    }
}

/// The first `http://` or `https://` URL in `query`, without the punctuation that ends a
/// sentence after it.
pub fn first_url(query: &str) -> Option<&str> {
    let start = query.find("https://").into_iter().chain(query.find("http://")).min()?;
    let rest = &query[start..];
    let end = rest.find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | '“' | '”')).unwrap_or(rest.len());
    let url = rest[..end].trim_end_matches(['.', ',', ';', ':', ')', ']', '!', '?']);
    (url.len() > "https://".len()).then_some(url)
}

/// The first passage `query` quotes between double quotes (straight or curly), trimmed, if
/// it is not empty.
pub fn quoted(query: &str) -> Option<&str> {
    let open = query.find(['"', '“'])?;
    let after = &query[open + query[open..].chars().next()?.len_utf8()..];
    let close = after.find(['"', '”'])?;
    Some(after[..close].trim()).filter(|passage| !passage.is_empty())
}

/// Words that carry no topic. APIs that match keywords in `any` mode widen the search with
/// each one: a filler word such as "people" or "latest" would match nearly every post.
const STOPWORDS: &[&str] = &[
    "a", "about", "after", "against", "all", "also", "am", "an", "and", "any", "are", "around", "as", "at", "be", "been",
    "before", "being", "between", "but", "by", "can", "could", "did", "discuss", "discussed", "discussing", "discussion",
    "discussions", "do", "does", "doing", "during", "each", "find", "for", "from", "get", "give", "had", "has", "have",
    "he", "her", "here", "his", "how", "i", "if", "in", "into", "is", "it", "its", "just", "latest", "list", "me",
    "mention", "mentions", "month", "more", "most", "my", "new", "news", "no", "not", "now", "of", "on", "only", "or",
    "other", "our", "out", "over", "people", "please", "post", "posts", "recent", "recently", "reddit", "regarding",
    "said", "say", "saying", "says", "search", "she", "should", "show", "so", "some", "subreddit", "such", "talk",
    "talking", "tell", "than", "that", "the", "their", "them", "then", "there", "these", "they", "this", "those",
    "to", "today", "tweet", "tweets", "twitter", "under", "up", "very", "was", "we", "week", "were", "what", "when",
    "where", "which", "who", "why", "will", "with", "would", "x", "year", "you", "your",
];

/// The topic words of `query`, in order: its words without the punctuation around them (so
/// "Vast.ai," gives "Vast.ai" and "(#bitcoin)" gives "#bitcoin"), without stopwords and
/// possessive endings, each once whatever its case. A template's `max` cuts the list.
pub fn keywords(query: &str) -> Vec<String> {
    let mut keywords: Vec<String> = Vec::new();
    for token in query.split_whitespace() {
        let word = token
            .trim_start_matches(|c: char| !c.is_alphanumeric() && c != '#')
            .trim_end_matches(|c: char| !c.is_alphanumeric());
        let word = word.strip_suffix("'s").or_else(|| word.strip_suffix("’s")).unwrap_or(word);
        let lowercase = word.to_lowercase();
        let is_new = !keywords.iter().any(|kept| kept.to_lowercase() == lowercase);
        if word.chars().any(char::is_alphanumeric) && !STOPWORDS.contains(&lowercase.as_str()) && is_new {
            keywords.push(word.to_owned());
        }
    }
    keywords
}
