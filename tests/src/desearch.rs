//! SN22 Desearch: AI search, link searches, web search and X search, answered from the corpus.
//! Requests are validated as FastAPI does (see `fastapi`); successful answers carry the cost headers.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::Query;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Map, Value};

use crate::auth::require_key;
use crate::corpus::{self, Hit, Page, Source, Tweet};
use crate::errors::parse_json;
use crate::fastapi::Fields;
use crate::SubnetKind;

/// Every tool of the AI search; the link search takes the same but `twitter`.
const TOOLS: &[&str] = &["web", "hackernews", "reddit", "wikipedia", "youtube", "twitter", "arxiv"];
const LINK_TOOLS: &[&str] = &["web", "hackernews", "reddit", "wikipedia", "youtube", "arxiv"];
const DATE_FILTERS: &[&str] =
    &["PAST_24_HOURS", "PAST_2_DAYS", "PAST_WEEK", "PAST_2_WEEKS", "PAST_MONTH", "PAST_2_MONTHS", "PAST_YEAR", "PAST_2_YEARS"];
const RESULT_TYPES: &[&str] = &["ONLY_LINKS", "LINKS_WITH_FINAL_SUMMARY"];
const SORTS: &[&str] = &["Top", "Latest"];

/// The results a summary draws on.
const SUMMARY_SOURCES: usize = 3;

pub(crate) fn router() -> Router {
    let keyed = Router::new()
        .route("/desearch/ai/search", post(ai_search))
        .route("/desearch/ai/search/links/web", post(web_links))
        .route("/desearch/ai/search/links/twitter", post(x_links))
        .route("/web", get(web))
        .route("/twitter", get(twitter));
    Router::new().route("/health", get(|| async { Json(json!({ "status": "ok" })) })).merge(require_key(keyed, SubnetKind::Desearch))
}

async fn ai_search(body: Bytes) -> Result<Response, Response> {
    let body = parse_json(SubnetKind::Desearch, &body)?;
    let mut fields = Fields::body(&body);
    let prompt = fields.string("prompt");
    let tools = fields.tools(TOOLS);
    let count = fields.integer("count", 10, 10..=200);
    let result_type = fields.choice("result_type", RESULT_TYPES);
    fields.choice("date_filter", DATE_FILTERS);
    fields.finish()?;

    let mut answer = Map::new();
    let mut findings = Vec::new();
    for tool in &tools {
        if tool == "twitter" {
            let hits = corpus::search_tweets(&prompt, count);
            findings.extend(hits.iter().map(tweet_finding));
            answer.insert("tweets".into(), hits.iter().map(|hit| tweet_json(hit.item)).collect());
        } else {
            let (source, key) = page_tool(tool);
            let hits = corpus::search_pages(&prompt, source, count);
            findings.extend(hits.iter().map(page_finding));
            answer.insert(key.into(), pages_json(&hits));
        }
    }
    answer.insert("miner_link_scores".into(), link_scores(&findings));
    let found = findings.len();
    if result_type.as_deref() != Some("ONLY_LINKS") {
        let summary = summarize(&prompt, findings);
        answer.insert("text".into(), summary.clone().into());
        answer.insert("completion".into(), summary.into());
    }
    Ok(billed("ai_search", AI_SEARCH_USD, found, Value::Object(answer)))
}

async fn web_links(body: Bytes) -> Result<Response, Response> {
    let body = parse_json(SubnetKind::Desearch, &body)?;
    let mut fields = Fields::body(&body);
    let prompt = fields.string("prompt");
    let tools = fields.tools(LINK_TOOLS);
    let count = fields.integer("count", 10, 10..=200);
    fields.finish()?;

    let answer: Map<String, Value> = tools
        .iter()
        .map(|tool| {
            let (source, key) = page_tool(tool);
            (format!("{key}_results"), pages_json(&corpus::search_pages(&prompt, source, count)))
        })
        .collect();
    Ok(billed("web_links_search", AI_SEARCH_USD, findings_count(&answer), Value::Object(answer)))
}

async fn x_links(body: Bytes) -> Result<Response, Response> {
    let body = parse_json(SubnetKind::Desearch, &body)?;
    let mut fields = Fields::body(&body);
    let prompt = fields.string("prompt");
    let count = fields.integer("count", 10, 10..=200);
    fields.finish()?;

    let tweets: Vec<Value> = corpus::search_tweets(&prompt, count).iter().map(|hit| tweet_json(hit.item)).collect();
    let found = tweets.len();
    Ok(billed("twitter_links_search", AI_SEARCH_USD, found, json!({ "miner_tweets": tweets })))
}

async fn web(Query(params): Query<HashMap<String, String>>) -> Result<Response, Response> {
    let mut fields = Fields::query(&params);
    let query = fields.string("query");
    let num = fields.integer("num", 10, 1..=100);
    let start = fields.integer("start", 0, 0..=1000);
    fields.finish()?;

    let hits = corpus::search_pages(&query, None, start + num);
    let data: Vec<Value> = hits.iter().skip(start).map(|hit| page_json(hit.item)).collect();
    let found = data.len();
    Ok(billed("web_search", WEB_SEARCH_USD, found, json!({ "data": data })))
}

/// `GET /twitter`: the query, `sort`, `count` and `user` are honoured; the other filters
/// (dates, counts, media) are accepted and ignored, as the corpus is too small for them to matter.
async fn twitter(Query(params): Query<HashMap<String, String>>) -> Result<Response, Response> {
    let mut fields = Fields::query(&params);
    let query = fields.string("query");
    let sort = fields.choice("sort", SORTS);
    let count = fields.integer("count", 20, 1..=100);
    fields.finish()?;

    let author = params.get("user").map(|user| user.trim_start_matches('@').to_lowercase());
    let mut tweets: Vec<&Tweet> = corpus::search_tweets(&query, usize::MAX)
        .into_iter()
        .map(|hit| hit.item)
        .filter(|tweet| author.as_ref().is_none_or(|author| tweet.author.username.eq_ignore_ascii_case(author)))
        .collect();
    if sort.as_deref() == Some("Latest") {
        // ISO 8601 times in one zone order as strings.
        tweets.sort_by(|a, b| b.at.cmp(a.at));
    }
    let tweets: Vec<Value> = tweets.into_iter().take(count).map(tweet_json).collect();
    let found = tweets.len();
    Ok(billed("twitter_search", X_POST_USD * found as f64, found, Value::Array(tweets)))
}

/// The corpus source a page tool searches (`None`: all of them) and its key in the AI search answer.
fn page_tool(tool: &str) -> (Option<Source>, &'static str) {
    match tool {
        "hackernews" => (Some(Source::HackerNews), "hacker_news_search"),
        "reddit" => (Some(Source::Reddit), "reddit_search"),
        "wikipedia" => (Some(Source::Wikipedia), "wikipedia_search"),
        "youtube" => (Some(Source::Youtube), "youtube_search"),
        "arxiv" => (Some(Source::Arxiv), "arxiv_search"),
        _ => (None, "search"),
    }
}

/// Desearch's prices (desearch.ai/pricing, and the cost headers its own examples recorded): an
/// AI or links search $0.004 a call, a web search $0.0025, an X post $0.0003.
const AI_SEARCH_USD: f64 = 0.004;
const WEB_SEARCH_USD: f64 = 0.0025;
const X_POST_USD: f64 = 0.0003;

/// The results an AI or links search answer holds.
fn findings_count(answer: &Map<String, Value>) -> usize {
    answer.values().filter_map(Value::as_array).map(Vec::len).sum()
}

/// A successful answer with Desearch's billing headers. Since 2026-10-05 an answer that found
/// nothing costs nothing.
fn billed(service: &'static str, cost_usd: f64, found: usize, body: Value) -> Response {
    let cost = if found == 0 { 0.0 } else { cost_usd };
    let headers = [
        ("X-Desearch-Cost-Usd", format!("{cost:.6}")),
        ("X-Desearch-Usage-Count", found.to_string()),
        ("X-Desearch-Service", service.to_owned()),
        ("X-Desearch-Currency", "USD".to_owned()),
    ];
    (headers, Json(body)).into_response()
}

fn page_json(page: &Page) -> Value {
    json!({ "title": page.title, "snippet": page.snippet, "link": page.link })
}

fn pages_json(hits: &[Hit<Page>]) -> Value {
    hits.iter().map(|hit| page_json(hit.item)).collect()
}

fn tweet_json(tweet: &Tweet) -> Value {
    let author = tweet.author;
    json!({
        "id": tweet.id,
        "text": tweet.text,
        "created_at": tweet.at,
        "url": tweet.url(),
        "lang": "en",
        "like_count": tweet.likes,
        "retweet_count": tweet.retweets,
        "reply_count": tweet.replies,
        "quote_count": tweet.quotes,
        "view_count": tweet.views,
        "bookmark_count": tweet.bookmarks,
        "conversation_id": tweet.id,
        "is_quote_tweet": false,
        "is_retweet": false,
        "media": [],
        "user": {
            "id": author.id,
            "username": author.username,
            "name": author.name,
            "url": format!("https://x.com/{}", author.username),
            "description": author.description,
            "followers_count": author.followers,
            "verified": author.verified,
            "is_blue_verified": author.verified,
            "created_at": author.joined,
        },
    })
}

/// One result of any tool, as the summary and the link scores see it.
struct Finding {
    title: String,
    snippet: String,
    link: String,
    relevance: f64,
}

fn page_finding(hit: &Hit<Page>) -> Finding {
    let page = hit.item;
    Finding { title: page.title.into(), snippet: page.snippet.into(), link: page.link.into(), relevance: hit.relevance() }
}

fn tweet_finding(hit: &Hit<Tweet>) -> Finding {
    let tweet = hit.item;
    Finding { title: format!("@{}", tweet.author.username), snippet: tweet.text.into(), link: tweet.url(), relevance: hit.relevance() }
}

/// The miners' relevance grade of every link found.
fn link_scores(findings: &[Finding]) -> Value {
    let grade = |relevance: f64| match relevance {
        r if r >= 0.6 => "HIGH",
        r if r >= 0.3 => "MEDIUM",
        _ => "LOW",
    };
    findings.iter().map(|finding| (finding.link.clone(), Value::from(grade(finding.relevance)))).collect::<Map<_, _>>().into()
}

/// The final summary: the most relevant results' titles and snippets, so that it is
/// deterministic and carries the facts (prices, names) tests look for.
fn summarize(prompt: &str, mut findings: Vec<Finding>) -> String {
    if findings.is_empty() {
        return format!("No results found for \"{prompt}\".");
    }
    // Stable: equally relevant findings keep the order of the tools asked for.
    findings.sort_by(|a, b| b.relevance.total_cmp(&a.relevance));
    let lines: Vec<String> =
        findings.iter().take(SUMMARY_SOURCES).map(|finding| format!("- {}: {}", finding.title, finding.snippet)).collect();
    format!("Summary for \"{prompt}\", from {} results:\n{}", findings.len(), lines.join("\n"))
}
