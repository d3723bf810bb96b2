//! SN13 Data Universe: on-demand X and Reddit posts from the corpus, and Gravity collection
//! tasks, on Macrocosmos' Connect API (errors are `{"code", "message"}`). The shared front in
//! `server` refuses HTTP/1.1 before these routes see a request.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::auth::require_key;
use crate::corpus::{self, Page, Source, Tweet};
use crate::errors::{error_response, parse_json};
use crate::server::Shared;
use crate::SubnetKind;

const KIND: SubnetKind = SubnetKind::DataUniverse;
const MAX_LIMIT: u64 = 1000;
const DEFAULT_LIMIT: u64 = 100;
/// Macrocosmos' docs: at most five keywords.
const MAX_KEYWORDS: usize = 5;
const MAX_USERNAMES: usize = 10;
/// Miners the validator queries for one request; in the kit they all answer.
const MINERS: u64 = 5;

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    let routes = Router::new()
        .route("/sn13.v1.Sn13Service/OnDemandData", post(on_demand_data))
        .route("/gravity.v1.GravityService/CreateGravityTask", post(create_gravity_task));
    require_key(routes, KIND).with_state(shared)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Platform {
    X,
    Reddit,
}

/// A checked `OnDemandData` request.
struct OnDemand {
    platform: Platform,
    keywords: Vec<String>,
    /// X authors, lowercase, without `@`.
    usernames: Vec<String>,
    limit: usize,
    /// `keyword_mode: "all"`: every keyword must match, not any of them.
    all_keywords: bool,
    url: Option<String>,
}

async fn on_demand_data(State(shared): State<Arc<Shared>>, body: Bytes) -> Result<Response, Response> {
    let body = parse_json(KIND, &body)?;
    let request = read_on_demand(&body).map_err(|message| error_response(KIND, StatusCode::BAD_REQUEST, &message))?;
    let data: Vec<Value> = match request.platform {
        Platform::X => {
            let posts = corpus::tweets(&request.keywords.join(" ")).filter(|tweet| {
                request.usernames.is_empty() || request.usernames.iter().any(|name| tweet.author.username.eq_ignore_ascii_case(name))
            });
            select(&request, posts, |tweet| (tweet.searchable(), tweet.url(), None)).into_iter().map(x_item).collect()
        }
        Platform::Reddit => {
            // The docs: a Reddit request's first keyword is the subreddit (`r/all` for every
            // one); the others are what to look for.
            let (subreddit, request) = request.split_subreddit();
            let posts = corpus::pages(Source::Reddit, &request.keywords.join(" ")).filter(move |page| {
                subreddit.as_deref().is_none_or(|wanted| page.subreddit().is_some_and(|label| label.eq_ignore_ascii_case(wanted)))
            });
            select(&request, posts, |page| (format!("{} {}", page.title, page.snippet), page.link.to_owned(), page.subreddit()))
                .into_iter()
                .map(reddit_item)
                .collect()
        }
    };
    let meta = json!({
        "miners_queried": MINERS,
        "miners_responded": MINERS,
        "items_returned": data.len(),
        "validation_success_rate": 1.0,
        "processing_time_ms": shared.latency().as_millis() as u64,
        "api_version": "1.0",
    });
    Ok(Json(json!({ "status": "success", "data": data, "meta": meta })).into_response())
}

impl OnDemand {
    /// The subreddit a Reddit request names in its first keyword (`None` for `r/all`), and the
    /// request with the remaining keywords.
    fn split_subreddit(mut self) -> (Option<String>, OnDemand) {
        if self.keywords.is_empty() {
            return (None, self);
        }
        let first = self.keywords.remove(0);
        let name = first.trim_start_matches("r/").trim_start_matches("R/");
        let subreddit = (!name.eq_ignore_ascii_case("all")).then(|| format!("r/{name}"));
        (subreddit, self)
    }
}

fn read_on_demand(body: &Value) -> Result<OnDemand, String> {
    let platform = match body.get("source").and_then(Value::as_str).map(str::to_uppercase).as_deref() {
        Some("X") => Platform::X,
        Some("REDDIT") => Platform::Reddit,
        _ => return Err("source must be X or REDDIT".into()),
    };
    let keywords = string_list(body, "keywords", MAX_KEYWORDS)?;
    let usernames = string_list(body, "usernames", MAX_USERNAMES)?.iter().map(|name| name.trim_start_matches('@').to_lowercase()).collect();
    let limit = match body.get("limit") {
        None | Some(Value::Null) => DEFAULT_LIMIT,
        Some(limit) => {
            limit.as_u64().filter(|limit| (1..=MAX_LIMIT).contains(limit)).ok_or(format!("limit must be between 1 and {MAX_LIMIT}"))?
        }
    };
    let all_keywords = match body.get("keyword_mode").and_then(Value::as_str) {
        None | Some("any") => false,
        Some("all") => true,
        Some(other) => return Err(format!("keyword_mode must be any or all, not {other}")),
    };
    let url = body.get("url").and_then(Value::as_str).map(str::to_owned);
    Ok(OnDemand { platform, keywords, usernames, limit: limit as usize, all_keywords, url })
}

fn string_list(body: &Value, field: &str, max: usize) -> Result<Vec<String>, String> {
    let Some(value) = body.get(field).filter(|value| !value.is_null()) else { return Ok(Vec::new()) };
    let items: Option<Vec<String>> = value.as_array().and_then(|items| items.iter().map(|item| item.as_str().map(str::to_owned)).collect());
    let items = items.ok_or(format!("{field} must be a list of strings"))?;
    if items.len() > max {
        return Err(format!("at most {max} {field} are allowed, got {}", items.len()));
    }
    Ok(items)
}

/// The posts the request asks for, most keywords matched first. `describe` gives a post's
/// searchable text, its URI and its label (the subreddit of a Reddit post).
fn select<T>(
    request: &OnDemand,
    posts: impl Iterator<Item = &'static T>,
    describe: impl Fn(&T) -> (String, String, Option<String>),
) -> Vec<&'static T> {
    let mut scored: Vec<(usize, &'static T)> = posts
        .filter_map(|post| {
            let (text, uri, label) = describe(post);
            if request.url.as_ref().is_some_and(|url| *url != uri) {
                return None;
            }
            let matched = request.keywords.iter().filter(|keyword| keyword_matches(keyword, &text, label.as_deref())).count();
            let wanted = if request.all_keywords { request.keywords.len() } else { request.keywords.len().min(1) };
            (matched >= wanted).then_some((matched, post))
        })
        .collect();
    // Stable: equal matches keep corpus order.
    scored.sort_by_key(|(matched, _)| std::cmp::Reverse(*matched));
    scored.into_iter().take(request.limit).map(|(_, post)| post).collect()
}

/// A keyword `r/<name>` names a subreddit; any other keyword (`#bitcoin`, `gpu prices`) matches
/// posts containing all its words.
fn keyword_matches(keyword: &str, text: &str, label: Option<&str>) -> bool {
    if keyword.to_lowercase().starts_with("r/") {
        label.is_some_and(|label| label.eq_ignore_ascii_case(keyword))
    } else {
        corpus::contains_words(text, keyword)
    }
}

fn x_item(tweet: &Tweet) -> Value {
    let hashtags: Vec<String> = tweet.hashtags().iter().map(|tag| format!("#{tag}")).collect();
    let author = tweet.author;
    json!({
        "text": tweet.text,
        "datetime": tweet.at,
        "uri": tweet.url(),
        "source": "X",
        "label": hashtags.first(),
        "content_size_bytes": tweet.text.len(),
        "tweet": {
            "id": tweet.id,
            "like_count": tweet.likes,
            "retweet_count": tweet.retweets,
            "reply_count": tweet.replies,
            "quote_count": tweet.quotes,
            "bookmark_count": tweet.bookmarks,
            "view_count": tweet.views,
            "hashtags": hashtags,
            "language": "en",
            "is_retweet": false,
            "is_reply": false,
            "is_quote": false,
            "conversation_id": tweet.id,
        },
        "user": {
            "id": author.id,
            "username": format!("@{}", author.username),
            "display_name": author.name,
            "verified": author.verified,
            "followers_count": author.followers,
        },
    })
}

fn reddit_item(page: &Page) -> Value {
    let text = format!("{}\n\n{}", page.title, page.snippet);
    json!({
        "text": text,
        "datetime": page.byline.as_ref().map(|byline| byline.at),
        "uri": page.link,
        "source": "REDDIT",
        "label": page.subreddit(),
        "content_size_bytes": text.len(),
        "user": { "username": page.byline.as_ref().map(|byline| byline.author) },
    })
}

/// `CreateGravityTask`: checks the tasks and hands out an id; nothing is collected.
async fn create_gravity_task(State(shared): State<Arc<Shared>>, body: Bytes) -> Result<Response, Response> {
    let body = parse_json(KIND, &body)?;
    let invalid = |message: &str| error_response(KIND, StatusCode::BAD_REQUEST, message);
    let tasks = body.get("gravityTasks").and_then(Value::as_array).filter(|tasks| !tasks.is_empty());
    let tasks = tasks.ok_or_else(|| invalid("gravityTasks must be a non-empty list"))?;
    let known_platform = |task: &Value| {
        task.get("platform").and_then(Value::as_str).is_some_and(|platform| ["x", "reddit"].contains(&platform.to_lowercase().as_str()))
    };
    if !tasks.iter().all(known_platform) {
        return Err(invalid("every gravity task needs a platform, x or reddit"));
    }
    Ok(Json(json!({ "gravityTaskId": format!("multicrawler-{:08x}", shared.next_id()) })).into_response())
}
