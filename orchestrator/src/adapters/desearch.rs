//! Desearch (SN22): the gateway at <https://api.desearch.ai> in front of the subnet's search
//! miners. Three calls: `POST /desearch/ai/search` (links from several sources plus a summary),
//! `GET /web` (web results) and `GET /twitter` (X posts). Desearch also reports each call's
//! price in response headers, read by [`reported_cost`].

use std::fmt::Write;

use ledger::record::{Endpoint, HttpMethod};
use serde_json::{json, Map, Value};

use super::{CallInput, SubnetRequest, SubnetResponse};
use crate::evidence::Item;

/// Desearch accepts 10 to 200 results per source in an AI search.
const AI_SEARCH_MIN_COUNT: u32 = 10;
const AI_SEARCH_MAX_COUNT: u32 = 200;
/// The X search returns at most 100 posts.
const TWITTER_MAX_COUNT: u32 = 100;
/// The AI search sources for a general web question. YouTube is left out: its results are
/// titles of videos, rarely evidence worth a prompt's room.
const WEB_TOOLS: [&str; 4] = ["web", "hackernews", "reddit", "wikipedia"];

pub(super) fn ai_search(endpoint: &Endpoint, input: &CallInput) -> SubnetRequest {
    let tools: Vec<&str> = match endpoint.capability.as_str() {
        "x-search" => vec!["twitter"],
        _ if asks_for_papers(input.query) => WEB_TOOLS.iter().copied().chain(["arxiv"]).collect(),
        _ => WEB_TOOLS.to_vec(),
    };
    let body = json!({
        "prompt": input.query,
        "tools": tools,
        "result_type": "LINKS_WITH_FINAL_SUMMARY",
        "count": input.limit.clamp(AI_SEARCH_MIN_COUNT, AI_SEARCH_MAX_COUNT),
        "streaming": false,
        // Desearch's default window is the past day, too short for most research questions.
        "date_filter": "PAST_YEAR",
    });
    SubnetRequest::json_post(endpoint, &body)
}

pub(super) fn web(endpoint: &Endpoint, input: &CallInput) -> SubnetRequest {
    get(endpoint, &[("query", input.query), ("start", "0")])
}

pub(super) fn twitter(endpoint: &Endpoint, input: &CallInput) -> SubnetRequest {
    let count = input.limit.clamp(1, TWITTER_MAX_COUNT).to_string();
    get(endpoint, &[("query", input.query), ("sort", "Top"), ("count", &count)])
}

/// Reads the AI search answer: one `<source>_search` list per source searched, `tweets`, and
/// the summary in `completion` (or `text`).
pub(super) fn parse_ai_search(json: &Value) -> Result<SubnetResponse, String> {
    let answer = json.as_object().ok_or("expected a JSON object")?;
    let mut items = Vec::new();
    for (key, value) in answer {
        let source = match key.as_str() {
            "search" => "web",
            "hacker_news_search" => "hackernews",
            _ => match key.strip_suffix("_search") {
                Some(source) => source,
                None => continue,
            },
        };
        items.extend(link_items(value, source));
    }
    items.extend(answer.get("tweets").into_iter().flat_map(tweet_items));
    let summary = |key: &str| answer.get(key).and_then(Value::as_str).filter(|text| !text.is_empty());
    let text = summary("completion").or_else(|| summary("text")).map(str::to_owned);
    Ok(SubnetResponse { items, text, reported_cost_usd_micros: None })
}

/// Reads `{"data": [{title, snippet, link}]}`.
pub(super) fn parse_web(json: &Value) -> Result<SubnetResponse, String> {
    let results = json.get("data").filter(|data| data.is_array()).ok_or("expected an object with a `data` array")?;
    Ok(SubnetResponse { items: link_items(results, "web"), ..SubnetResponse::default() })
}

/// Reads a list of posts: a bare array, or one under `data` or `tweets`.
pub(super) fn parse_twitter(json: &Value) -> Result<SubnetResponse, String> {
    let posts = match json {
        Value::Array(_) => json,
        Value::Object(answer) => answer
            .get("data")
            .or_else(|| answer.get("tweets"))
            .filter(|posts| posts.is_array())
            .ok_or("expected an array of posts, or one under `data` or `tweets`")?,
        _ => return Err("expected an array of posts".into()),
    };
    Ok(SubnetResponse { items: tweet_items(posts), ..SubnetResponse::default() })
}

/// The price Desearch reports in `X-Desearch-Cost-Usd`, in micro-USD. The decimal is read
/// digit by digit, not through a float, so that "0.0025" is exactly 2500; digits beyond the
/// sixth decimal are dropped. A price in another currency is not a USD price: none.
pub(super) fn reported_cost(headers: &http::HeaderMap) -> Option<u64> {
    if let Some(currency) = headers.get("x-desearch-currency") {
        if !currency.to_str().is_ok_and(|currency| currency.trim().eq_ignore_ascii_case("USD")) {
            return None;
        }
    }
    usd_micros(headers.get("x-desearch-cost-usd")?.to_str().ok()?.trim())
}

/// `decimal` (digits, optionally a point and more digits) in millionths.
fn usd_micros(decimal: &str) -> Option<u64> {
    let (whole, fraction) = decimal.split_once('.').unwrap_or((decimal, "0"));
    let all_digits = |part: &str| !part.is_empty() && part.bytes().all(|byte| byte.is_ascii_digit());
    if !all_digits(whole) || !all_digits(fraction) {
        return None;
    }
    let micros = fraction.bytes().chain(std::iter::repeat(b'0')).take(6).fold(0, |micros, digit| micros * 10 + u64::from(digit - b'0'));
    whole.parse::<u64>().ok()?.checked_mul(1_000_000)?.checked_add(micros)
}

/// A GET of the endpoint's URL with `params` appended to its query string.
fn get(endpoint: &Endpoint, params: &[(&str, &str)]) -> SubnetRequest {
    let mut url = endpoint.url.clone();
    for (index, (name, value)) in params.iter().enumerate() {
        let separator = if index == 0 && !endpoint.url.contains('?') { '?' } else { '&' };
        let _ = write!(url, "{separator}{}={}", percent_encode(name), percent_encode(value));
    }
    SubnetRequest { method: HttpMethod::Get, url, headers: Vec::new(), body: None, http2_only: false }
}

/// Percent-encodes every byte but RFC 3986's unreserved characters, so spaces become `%20`
/// (not `+`, which only form decoders read as a space) and `&`, `=`, `#` cannot end a value.
fn percent_encode(value: &str) -> String {
    let mut encoded = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            let _ = write!(encoded, "%{byte:02X}");
        }
    }
    encoded
}

/// Whether a query is after scholarly work, which the arXiv source answers best.
fn asks_for_papers(query: &str) -> bool {
    query.split(|c: char| !c.is_alphanumeric()).map(str::to_lowercase).any(|word| {
        word.starts_with("paper") || word.starts_with("research") || matches!(word.as_str(), "arxiv" | "study" | "studies")
    })
}

/// Items from a `[{title, snippet, link}]` list, Desearch's shape for every link source.
fn link_items(results: &Value, source: &str) -> Vec<Item> {
    objects(results)
        .map(|result| Item {
            title: string(result, "title"),
            text: string(result, "snippet").unwrap_or_default(),
            url: string(result, "link"),
            source: source.to_owned(),
            ..Item::default()
        })
        .collect()
}

/// Items from a list of X posts.
fn tweet_items(posts: &Value) -> Vec<Item> {
    objects(posts)
        .map(|post| {
            let author = post.get("user").and_then(|user| user.get("username")).and_then(Value::as_str);
            // Posts from some searches carry no `url`; the canonical one is built from the id.
            let id = match post.get("id") {
                Some(Value::String(id)) => Some(id.clone()),
                Some(Value::Number(id)) => Some(id.to_string()),
                _ => None,
            };
            let url = string(post, "url").or_else(|| Some(format!("https://x.com/{}/status/{}", author?, id?)));
            Item {
                title: None,
                text: string(post, "text").unwrap_or_default(),
                url,
                source: "x".into(),
                published: string(post, "created_at"),
                author: author.map(str::to_owned),
            }
        })
        .collect()
}

/// The objects of a JSON array; anything else holds none.
fn objects(list: &Value) -> impl Iterator<Item = &Map<String, Value>> {
    list.as_array().into_iter().flatten().filter_map(Value::as_object)
}

fn string(object: &Map<String, Value>, key: &str) -> Option<String> {
    object.get(key).and_then(Value::as_str).map(str::to_owned)
}
