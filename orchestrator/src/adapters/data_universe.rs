//! Data Universe (SN13): Macrocosmos' Constellation API at
//! <https://constellation.api.cloud.macrocosmos.ai>, whose `sn13.v1.Sn13Service/OnDemandData`
//! asks the subnet's miners for recent X or Reddit posts matching keywords. It is JSON over
//! HTTP/2 only: the load balancer refuses HTTP/1.1.

use ledger::record::Endpoint;
use serde_json::{json, Map, Value};

use super::{CallInput, SubnetRequest, SubnetResponse};
use crate::evidence::Item;

/// The API takes at most 10 keywords.
const MAX_KEYWORDS: usize = 10;
/// The API returns at most 1000 posts.
const MAX_LIMIT: u32 = 1000;

/// Words that carry no topic. Keywords are matched in `any` mode, so each one widens the
/// search: a filler word such as "people" or "latest" would match nearly every post.
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

pub(super) fn on_demand(endpoint: &Endpoint, input: &CallInput) -> SubnetRequest {
    let source = match endpoint.capability.as_str() {
        "reddit-search" => "REDDIT",
        _ => "X",
    };
    let body = json!({
        "source": source,
        "keywords": keywords(input.query),
        "usernames": [],
        "limit": input.limit.clamp(1, MAX_LIMIT),
        "keyword_mode": "any",
    });
    SubnetRequest { http2_only: true, ..SubnetRequest::json_post(endpoint, &body) }
}

/// Reads `{"status": "success", "data": [post]}`. An answer without `data` holds no posts:
/// the subnet often finds none.
pub(super) fn parse_on_demand(json: &Value) -> Result<SubnetResponse, String> {
    let status = json.get("status").and_then(Value::as_str);
    if status != Some("success") {
        let message = ["message", "error", "detail"].iter().find_map(|key| json.get(key)?.as_str());
        return Err(match message {
            Some(message) => format!("status {}: {message}", status.unwrap_or("missing")),
            None => format!("status {}", status.unwrap_or("missing")),
        });
    }
    let posts = match json.get("data") {
        None | Some(Value::Null) => &[][..],
        Some(Value::Array(posts)) => posts.as_slice(),
        Some(_) => return Err("`data` is not an array".into()),
    };
    let items = posts.iter().filter_map(Value::as_object).map(post_item).collect();
    Ok(SubnetResponse { items, ..SubnetResponse::default() })
}

/// The search keywords in `query`, in order, at most [`MAX_KEYWORDS`]: its words without the
/// punctuation around them (so "Vast.ai," gives "Vast.ai" and "(#bitcoin)" gives "#bitcoin"),
/// without stopwords and possessive endings, each once whatever its case.
fn keywords(query: &str) -> Vec<String> {
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
            if keywords.len() == MAX_KEYWORDS {
                break;
            }
        }
    }
    keywords
}

/// One post. X posts carry `text` and a `user`; Reddit posts carry `title`, `body` and
/// `username`, at the top level in current answers and inside a `content` document (an
/// object, or JSON text) in older ones.
fn post_item(post: &Map<String, Value>) -> Item {
    let content: Option<Map<String, Value>> = match post.get("content") {
        Some(Value::Object(content)) => Some(content.clone()),
        Some(Value::String(text)) => serde_json::from_str(text).ok(),
        _ => None,
    };
    let field = |key: &str| post.get(key).or_else(|| content.as_ref()?.get(key)).and_then(Value::as_str).map(str::to_owned);
    let source = field("source").unwrap_or_default().to_lowercase();
    let author = post.get("user").and_then(|user| user.get("username")).and_then(Value::as_str).map(str::to_owned);
    Item {
        title: if source == "reddit" { field("title").filter(|title| !title.is_empty()) } else { None },
        text: field("text").or_else(|| field("body")).unwrap_or_default(),
        url: field("uri").or_else(|| field("url")),
        published: field("datetime").or_else(|| field("createdAt")),
        author: author.or_else(|| field("username")),
        source,
    }
}
