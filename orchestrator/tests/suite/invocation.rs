//! The invocation engine against the genesis ledger's real endpoint records: requests built from
//! each record's spec validate against the record's own input schema and carry the right auth,
//! and answers in the subnets' real shapes (from their documentation) are read into evidence.

use std::path::{Path, PathBuf};

use ledger::record::{Endpoint, HttpMethod, Record};
use ledger::Namespace;
use orchestrator::invocation::{self, Access, CallInput, InvocationError, SubnetRequest, SubnetResponse};
use orchestrator::evidence::{Item, Spot, TaskOutput};
use serde_json::{json, Value};

/// The source roots whose records these tests read: the genesis sources, and the withdrawn
/// subnets' sources the test kit still serves (Apex's Connect JSON API).
fn source_roots() -> [PathBuf; 2] {
    [Path::new(env!("CARGO_MANIFEST_DIR")).join("../snapshots"), testkit::withdrawn_dir()]
}

/// Every endpoint record of the source roots, with its netuid.
fn source_endpoints() -> Vec<(u16, Endpoint)> {
    let mut endpoints = Vec::new();
    for root in source_roots() {
        let changes = ledger::genesis::read_sources(&root).unwrap_or_else(|error| panic!("{}: {error}", root.display()));
        endpoints.extend(changes.changes().iter().filter_map(|change| {
            let Namespace::Subnet(netuid) = change.key.namespace else { return None };
            match Record::decode(&change.key, change.value.as_deref()?).expect("a source record decodes") {
                Record::Endpoint(endpoint) => Some((netuid, endpoint)),
                _ => None,
            }
        }));
    }
    endpoints
}

fn endpoint(netuid: u16, name: &str) -> Endpoint {
    source_endpoints()
        .into_iter()
        .find(|(uid, endpoint)| *uid == netuid && endpoint.name == name)
        .unwrap_or_else(|| panic!("the sources have no endpoint {name} on subnet {netuid}"))
        .1
}

/// Every source endpoint that has an invocation spec.
fn invocable() -> Vec<(u16, Endpoint)> {
    source_endpoints().into_iter().filter(|(_, endpoint)| endpoint.invocation.is_some()).collect()
}

/// The task an endpoint's documented exchange asks (a subject it knows, a URL or a passage it
/// needs), else a general one: what every endpoint can be asked.
fn task_for(netuid: u16, endpoint: &Endpoint) -> (String, Option<String>) {
    let name = format!("documented/sn{netuid:03}-{}.json", endpoint.name);
    let file = source_roots().into_iter().map(|root| root.join(&name)).find(|file| file.exists()).unwrap_or_else(|| panic!("no {name} in the source roots"));
    let exchange: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap_or_else(|error| panic!("{}: {error}", file.display()))).unwrap();
    match exchange.get("task") {
        Some(task) => (task["query"].as_str().unwrap().to_owned(), task["subject"].as_str().map(str::to_owned)),
        None => ("Bittensor".to_owned(), None),
    }
}

fn input(query: &str) -> CallInput<'_> {
    CallInput { query, limit: 20, ..CallInput::default() }
}

/// Builds the request with a key, as the executor does.
fn build(endpoint: &Endpoint, input: &CallInput, netuid: u16, model: Option<&str>) -> SubnetRequest {
    invocation::request(endpoint, input, &Access { netuid, key: Some("test-key"), model }).expect("the request builds")
}

fn body(request: &SubnetRequest) -> Value {
    serde_json::from_slice(request.body.as_deref().expect("a POST has a body")).expect("the body is JSON")
}

/// The query string's parameters as a JSON object, numbers where the schema wants integers.
fn query_params(request: &SubnetRequest, schema: &Value) -> Value {
    let url = reqwest::Url::parse(&request.url).expect("the URL parses");
    let params = url
        .query_pairs()
        .map(|(name, value)| {
            let value = match schema["properties"][name.as_ref()]["type"].as_str() {
                Some("integer") => json!(value.parse::<i64>().expect("an integer parameter")),
                Some("number") => json!(value.parse::<f64>().expect("a number parameter")),
                Some("boolean") => json!(value.parse::<bool>().expect("a boolean parameter")),
                _ => json!(value),
            };
            (name.into_owned(), value)
        })
        .collect();
    Value::Object(params)
}

fn header<'a>(request: &'a SubnetRequest, name: &str) -> Option<&'a str> {
    request.headers.iter().find(|(header, _)| header.eq_ignore_ascii_case(name)).map(|(_, value)| value.as_str())
}

#[track_caller]
fn assert_valid(schema: &Value, instance: &Value) {
    let validator = jsonschema::validator_for(schema).expect("the recorded schema compiles");
    let errors: Vec<String> = validator.iter_errors(instance).map(|error| format!("{} at {}", error, error.instance_path())).collect();
    assert!(errors.is_empty(), "{instance} does not validate: {errors:?}");
}

/// The answer read by the record's spec. Every value read through a pointer or a format must be
/// located at a spot in `answer` that holds it (what citations rest on); the locations are then
/// cleared, so that the tests below compare values alone.
fn parse(netuid: u16, name: &str, answer: &Value) -> Result<SubnetResponse, InvocationError> {
    let mut response = invocation::read(&endpoint(netuid, name), &http::HeaderMap::new(), answer.to_string().as_bytes())?;
    for item in &mut response.items {
        let located = std::mem::take(&mut item.located);
        assert_eq!(located.receipt, None, "no receipt before the call has one");
        for (value, at) in [(item.title.as_deref(), &located.title), (Some(item.text.as_str()), &located.text), (item.url.as_deref(), &located.url), (item.published.as_deref(), &located.published), (item.author.as_deref(), &located.author)] {
            assert_holds(answer, at, value);
        }
        assert_eq!(located.numbers.keys().collect::<Vec<_>>(), item.numbers.keys().collect::<Vec<_>>(), "every number is located");
        for (name, at) in &located.numbers {
            assert_eq!(answer.pointer(at).and_then(|found| found.as_f64().or_else(|| found.as_str()?.trim().parse().ok())), item.numbers[name].as_f64(), "{name} at {at}");
        }
    }
    let located = std::mem::take(&mut response.text_located);
    assert_holds(answer, &located.text, response.text.as_deref());
    Ok(response)
}

/// A located value is what the answer holds at its spot: the value at its pointer (a number
/// as the text it reads as), or its format filled from the element there.
#[track_caller]
fn assert_holds(answer: &Value, spot: &Option<Spot>, value: Option<&str>) {
    let found = match spot {
        None => return,
        Some(Spot::At(at)) => answer.pointer(at).map(|found| found.as_str().map_or_else(|| found.to_string(), str::to_owned)),
        Some(Spot::Filled { at, format }) => answer.pointer(at).and_then(|element| orchestrator::provenance::fill(format, element)),
    };
    assert_eq!(found.as_deref(), value, "the value located at {spot:?}");
}

#[track_caller]
fn assert_bad_response(result: Result<SubnetResponse, InvocationError>, reason_part: &str) {
    match result {
        Err(InvocationError::BadResponse { reason, .. } | InvocationError::Reported { reason, .. }) => {
            assert!(reason.contains(reason_part), "reason `{reason}` lacks `{reason_part}`")
        }
        other => panic!("expected a bad response, got {other:?}"),
    }
}

#[track_caller]
fn assert_empty(result: Result<SubnetResponse, InvocationError>) {
    assert!(matches!(result, Err(InvocationError::Empty { .. })), "expected an empty answer, got {result:?}");
}

/// The text of the request's last (user) message.
fn user_message(request: &SubnetRequest) -> String {
    let body = body(request);
    let messages = body["messages"].as_array().expect("messages");
    messages.last().expect("a user message")["content"].as_str().expect("text content").to_owned()
}

fn evidence(task: &str, items: usize, text_chars: usize) -> TaskOutput {
    TaskOutput {
        task: task.into(),
        capability: "web-search".into(),
        subject: Some("Bittensor".into()),
        items: (0..items)
            .map(|index| Item {
                title: Some(format!("Result {index}")),
                text: "é".repeat(text_chars),
                url: Some(format!("https://example.com/{index}")),
                source: "web".into(),
                ..Item::default()
            })
            .collect(),
        text: Some("A summary.".into()),
        ..TaskOutput::default()
    }
}

// --- Specs and auth ---

#[test]
fn an_endpoint_without_a_spec_is_not_invocable_and_says_why() {
    for (netuid, endpoint) in source_endpoints().into_iter().filter(|(_, endpoint)| endpoint.invocation.is_none()) {
        let error = invocation::request(&endpoint, &input("Bittensor"), &Access { netuid, key: Some("test-key"), model: None }).unwrap_err();
        assert!(matches!(error, InvocationError::NotInvocable { .. }), "{}: {error}", endpoint.name);
        let reason = match &endpoint.not_orchestrable {
            Some(reason) => reason.clone(),
            None => "ledger upgrade".into(),
        };
        assert!(error.to_string().contains(&reason), "{error}");
    }
}

#[test]
fn every_built_request_validates_against_the_recorded_input_schema() {
    let schema = json!({"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]});
    let context = [evidence("search-web", 3, 50)];
    let full = CallInput { system: Some("Be brief."), context: &context, response_schema: Some(&schema), ..input("Bittensor research papers on subnets") };
    for (netuid, endpoint) in invocable() {
        let name = &endpoint.name;
        let (query, subject) = task_for(netuid, &endpoint);
        let asked = CallInput { subject: subject.as_deref(), ..input(&query) };
        for call in [asked.clone(), CallInput { query: &query, subject: subject.as_deref(), ..full.clone() }] {
            let request = build(&endpoint, &call, netuid, Some("deepseek-ai/DeepSeek-V3-0324"));
            assert_eq!(request.method, endpoint.method, "{name}");
            assert!(request.url.starts_with(&endpoint.url), "{name}: {}", request.url);
            let sent = match endpoint.method {
                HttpMethod::Post => {
                    assert_eq!(header(&request, "content-type"), Some("application/json"), "{name}");
                    body(&request)
                }
                HttpMethod::Get => {
                    assert!(request.body.is_none() && header(&request, "content-type").is_none(), "{name}");
                    query_params(&request, &endpoint.input_schema.0)
                }
            };
            assert_valid(&endpoint.input_schema.0, &sent);
        }
    }
}

#[test]
fn auth_headers_take_each_subnets_form() {
    for (netuid, endpoint) in invocable() {
        let (query, subject) = task_for(netuid, &endpoint);
        let request = build(&endpoint, &CallInput { subject: subject.as_deref(), ..input(&query) }, netuid, Some("model"));
        let expected = match &endpoint.auth {
            ledger::record::Auth::Header { name, prefix } => Some((name.clone(), prefix.as_ref().map_or("test-key".to_owned(), |prefix| format!("{prefix} test-key")))),
            _ => None,
        };
        let sent = expected.as_ref().and_then(|(name, _)| header(&request, name));
        assert_eq!(sent, expected.as_ref().map(|(_, value)| value.as_str()), "{}", endpoint.name);
        assert!(!request.url.contains("test-key") && !request.body.as_deref().is_some_and(|body| String::from_utf8_lossy(body).contains("test-key")), "{}: the key travels in its header only", endpoint.name);
    }
    assert_eq!(header(&build(&endpoint(22, "ai-search"), &input("Bittensor"), 22, None), "authorization"), Some("test-key"));
    assert_eq!(header(&build(&endpoint(64, "chat-completions"), &input("Bittensor"), 64, Some("deepseek-ai/DeepSeek-V3-0324")), "authorization"), Some("Bearer test-key"));
}

#[test]
fn a_missing_key_names_the_variable_to_set() {
    for (netuid, endpoint) in invocable().into_iter().filter(|(_, endpoint)| endpoint.auth != ledger::record::Auth::None) {
        let (query, subject) = task_for(netuid, &endpoint);
        let error = invocation::request(&endpoint, &CallInput { subject: subject.as_deref(), ..input(&query) }, &Access { netuid, key: None, model: None }).unwrap_err();
        let expected = InvocationError::MissingKey { endpoint: endpoint.name.clone(), netuid, env: format!("ORCHESTRA_SN{netuid}_KEY") };
        assert_eq!(error, expected);
        assert!(error.to_string().contains(&format!("ORCHESTRA_SN{netuid}_KEY")));
    }
}

/// What a receipt shows of a request (its preimage) is enough for a validator to send the same
/// request again with its own key, for every record, and shows no key; a preimage that is not
/// the endpoint's own request is refused.
#[test]
fn every_shown_request_replays_as_sent_and_only_to_its_endpoint() {
    for (netuid, endpoint) in invocable().into_iter().filter(|(_, endpoint)| endpoint.invocation.as_ref().is_some_and(|spec| spec.job.is_none())) {
        let (query, subject) = task_for(netuid, &endpoint);
        let sent = build(&endpoint, &CallInput { subject: subject.as_deref(), ..input(&query) }, netuid, Some("deepseek-ai/DeepSeek-V3-0324"));
        let preimage = sent.preimage();
        assert!(!String::from_utf8_lossy(&preimage).contains("test-key"), "{}: the preimage shows no key", endpoint.name);
        let replayed = invocation::replay_request(&endpoint, &preimage, &Access { netuid, key: Some("validator-key"), model: None }).unwrap();
        let with_validator_key = |request: &SubnetRequest| -> Vec<(String, String)> {
            request.headers.iter().map(|(name, value)| (name.clone(), value.replace("test-key", "validator-key"))).collect()
        };
        assert_eq!(replayed, SubnetRequest { headers: with_validator_key(&sent), ..sent.clone() }, "{}", endpoint.name);
    }

    let ai_search = endpoint(22, "ai-search");
    let sent = build(&ai_search, &input("Bittensor"), 22, None);
    let preimage = String::from_utf8(sent.preimage()).unwrap();
    let elsewhere = [
        ("another host", preimage.replacen("api.desearch.ai", "api.desearch.ai.example", 1)),
        ("another path", preimage.replacen("/desearch/ai/search", "/desearch/ai/search/links/web", 1)),
        ("another method", preimage.replacen("POST ", "GET ", 1).split('\n').next().unwrap().to_owned() + "\n"),
        ("no request line", "POST".to_owned()),
        ("an unknown method", preimage.replacen("POST ", "DELETE ", 1)),
    ];
    for (why, shown) in elsewhere {
        let error = invocation::replay_request(&ai_search, shown.as_bytes(), &Access { netuid: 22, key: Some("validator-key"), model: None }).unwrap_err();
        assert!(matches!(error, InvocationError::NotItsRequest { .. }), "{why}: {error}");
    }
}

// --- Desearch ---

#[test]
fn desearch_ai_search_asks_the_web_sources_for_a_year_of_links_and_a_summary() {
    let web = endpoint(22, "ai-search");
    let sent = body(&build(&web, &input("Bittensor"), 22, None));
    assert_eq!(sent["tools"], json!(["web", "hackernews", "reddit", "wikipedia", "arxiv"]));
    assert_eq!(sent["prompt"], "Bittensor");
    assert_eq!(sent["result_type"], "LINKS_WITH_FINAL_SUMMARY");
    assert_eq!(sent["date_filter"], "PAST_YEAR");
    assert_eq!(sent["streaming"], false);
    for (limit, count) in [(0, 10), (3, 10), (50, 50), (5000, 200)] {
        let sent = body(&build(&web, &CallInput { limit, ..input("Bittensor") }, 22, None));
        assert_eq!(sent["count"], count, "limit {limit}");
    }
}

#[test]
fn desearch_ai_search_answers_become_items_and_a_summary() {
    let answer = json!({
        "search": [{"title": "Bittensor", "snippet": "A decentralised AI network.", "link": "https://bittensor.com"}],
        "hacker_news_search": [{"title": "Show HN: a subnet", "snippet": "We built a subnet.", "link": "https://news.ycombinator.com/item?id=1"}],
        "reddit_search": [{"title": "TAO halving", "snippet": "Discussion of the halving.", "link": "https://reddit.com/r/bittensor_/1"}],
        "youtube_search": [{"title": "Subnets explained", "snippet": "A video.", "link": "https://youtube.com/watch?v=1"}],
        "tweets": [
            {"id": "1890000000000000001", "text": "Subnet 22 is live", "created_at": "2026-11-20T10:00:00Z",
             "url": "https://x.com/desearch_ai/status/1890000000000000001", "like_count": 12, "retweet_count": 3,
             "reply_count": 1, "quote_count": 0, "bookmark_count": 2,
             "user": {"id": "42", "username": "desearch_ai", "followers_count": 9000}},
            {"id": "1890000000000000002", "text": "No url here", "created_at": "2026-11-21T10:00:00Z",
             "user": {"id": "43", "username": "opentensor"}}
        ],
        "text": "raw text",
        "completion": "Bittensor is a network of subnets.",
        "miner_link_scores": {"https://bittensor.com": "HIGH"}
    });
    assert_valid(&endpoint(22, "ai-search").output_schema.0, &answer);
    let response = parse(22, "ai-search", &answer).unwrap();
    assert_eq!(response.text.as_deref(), Some("Bittensor is a network of subnets."));
    let web = response.items.iter().find(|item| item.source == "web").expect("a web item");
    assert_eq!(
        web,
        &Item {
            title: Some("Bittensor".into()),
            text: "A decentralised AI network.".into(),
            url: Some("https://bittensor.com".into()),
            source: "web".into(),
            ..Item::default()
        }
    );
    let mut sources: Vec<&str> = response.items.iter().map(|item| item.source.as_str()).collect();
    sources.sort();
    assert_eq!(sources, ["hackernews", "reddit", "web", "x", "x", "youtube"]);
    let tweets: Vec<&Item> = response.items.iter().filter(|item| item.source == "x").collect();
    assert_eq!(
        tweets[0],
        &Item {
            title: None,
            text: "Subnet 22 is live".into(),
            url: Some("https://x.com/desearch_ai/status/1890000000000000001".into()),
            source: "x".into(),
            published: Some("2026-11-20T10:00:00Z".into()),
            author: Some("desearch_ai".into()),
            numbers: [("likes", 12), ("replies", 1), ("retweets", 3)].into_iter().map(|(name, count)| (name.to_owned(), count.into())).collect(),
            ..Item::default()
        }
    );
    assert_eq!(tweets[1].url.as_deref(), Some("https://x.com/opentensor/status/1890000000000000002"));
}

#[test]
fn desearch_ai_search_falls_back_to_text_and_reads_any_source_it_names() {
    let response = parse(22, "ai-search", &json!({"completion": "", "text": "the summary"})).unwrap();
    assert_eq!(response.text.as_deref(), Some("the summary"));
    let arxiv = parse(22, "ai-search", &json!({"arxiv_search": [{"title": "Paper", "snippet": "Abstract", "link": "https://arxiv.org/abs/1"}]})).unwrap();
    assert_eq!(arxiv.items[0].source, "arxiv");
}

#[test]
fn answers_without_evidence_or_not_json_are_failures() {
    assert_empty(parse(22, "ai-search", &json!({})));
    assert_empty(parse(22, "ai-search", &json!(["not", "an", "object"])));
    assert_bad_response(invocation::read(&endpoint(22, "ai-search"), &http::HeaderMap::new(), b"<html>502</html>"), "not JSON");
    assert_empty(parse(22, "web-search", &json!({"results": []})));
    assert_empty(parse(22, "web-search", &json!({"data": [{"unrelated": 1}]})));
    assert_empty(parse(22, "x-search", &json!({"detail": "rate limited"})));
    assert_empty(parse(22, "x-search", &json!("text")));
}

#[test]
fn desearch_web_and_x_search_send_percent_encoded_queries() {
    let query = "rust & tokio = fast? 100% café 東京 a+b #1";
    let web = build(&endpoint(22, "web-search"), &input(query), 22, None);
    let twitter = build(&endpoint(22, "x-search"), &CallInput { limit: 500, ..input(query) }, 22, None);
    for request in [&web, &twitter] {
        assert!(request.url.is_ascii() && !request.url.contains(' '), "{}", request.url);
        let url = reqwest::Url::parse(&request.url).unwrap();
        let sent: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        assert!(sent.contains(&("query".into(), query.into())), "{}", request.url);
    }
    assert!(web.url.starts_with("https://api.desearch.ai/web?query=rust%20%26%20tokio%20%3D"), "{}", web.url);
    let web_params: Vec<(String, String)> = reqwest::Url::parse(&web.url).unwrap().query_pairs().into_owned().collect();
    assert_eq!(web_params[1..], [("start".to_string(), "0".to_string())]);
    let mut twitter_params: Vec<(String, String)> = reqwest::Url::parse(&twitter.url).unwrap().query_pairs().into_owned().collect();
    twitter_params.sort();
    assert_eq!(twitter_params, [("count".to_string(), "100".to_string()), ("query".to_string(), query.to_string()), ("sort".to_string(), "Top".to_string())]);
}

#[test]
fn desearch_web_results_become_web_items() {
    let answer = json!({"data": [
        {"title": "Bittensor docs", "snippet": "Learn about subnets.", "link": "https://docs.bittensor.com"},
        {"title": "Taostats", "snippet": "Explorer.", "link": "https://taostats.io"}
    ]});
    assert_valid(&endpoint(22, "web-search").output_schema.0, &answer);
    let response = parse(22, "web-search", &answer).unwrap();
    assert_eq!(response.items.len(), 2);
    assert_eq!(response.items[1].url.as_deref(), Some("https://taostats.io"));
    assert!(response.items.iter().all(|item| item.source == "web"));
    assert_eq!(response.text, None);
}

#[test]
fn desearch_x_search_reads_an_array_or_one_under_data_or_tweets() {
    let posts = json!([{
        "id": "1890000000000000003", "text": "dTAO is here", "created_at": "Fri Nov 20 10:00:00 +0000 2026",
        "url": "https://x.com/opentensor/status/1890000000000000003", "lang": "en", "like_count": 100,
        "retweet_count": 10, "reply_count": 5, "quote_count": 1, "view_count": 5000, "bookmark_count": 3,
        "is_quote_tweet": false, "is_retweet": false, "media": [],
        "user": {"id": "7", "username": "opentensor", "name": "Opentensor", "followers_count": 100000, "verified": true}
    }]);
    assert_valid(&endpoint(22, "x-search").output_schema.0, &posts);
    let expected = parse(22, "x-search", &posts).unwrap();
    assert_eq!(expected.items.len(), 1);
    assert_eq!(expected.items[0].author.as_deref(), Some("opentensor"));
    assert_eq!(expected.items[0].text, "dTAO is here");
    for wrapped in [json!({"data": posts}), json!({"tweets": posts})] {
        assert_eq!(parse(22, "x-search", &wrapped).unwrap(), expected);
    }
}

const ONE_RESULT: &[u8] = br#"{"data": [{"title": "Bittensor", "snippet": "A network.", "link": "https://bittensor.com"}]}"#;

#[test]
fn desearch_cost_headers_read_exactly_in_micro_usd() {
    let cost = |value: &str, currency: Option<&str>| {
        let mut headers = http::HeaderMap::new();
        headers.insert("X-Desearch-Cost-Usd", value.parse().unwrap());
        if let Some(currency) = currency {
            headers.insert("X-Desearch-Currency", currency.parse().unwrap());
        }
        invocation::read(&endpoint(22, "web-search"), &headers, ONE_RESULT).unwrap().reported_cost_usd_micros
    };
    for (value, micros) in [
        ("0.0025", Some(2_500)),
        ("12.5", Some(12_500_000)),
        ("1", Some(1_000_000)),
        ("0.000001", Some(1)),
        ("0.0000019", Some(1)),
        ("0.3", Some(300_000)),
        (" 0.01 ", Some(10_000)),
        ("18446744073709", Some(18_446_744_073_709_000_000)),
        ("18446744073710", None),
        ("abc", None),
        ("-0.5", None),
        ("1e-3", None),
        ("", None),
        (".5", None),
        ("1.", None),
        ("1.2.3", None),
    ] {
        assert_eq!(cost(value, None), micros, "{value:?}");
    }
    assert_eq!(cost("0.0025", Some("usd")), Some(2_500));
    assert_eq!(cost("0.0025", Some("EUR")), None);
    assert_eq!(invocation::read(&endpoint(22, "web-search"), &http::HeaderMap::new(), ONE_RESULT).unwrap().reported_cost_usd_micros, None);
}

// --- Data Universe ---

#[test]
fn data_universe_asks_for_the_capabilitys_source_and_window_over_http2() {
    let window = invocation::Window { since_ms: 1_793_577_600_000, until_ms: 1_796_203_800_000 };
    for (name, source) in [("on-demand-x", "X"), ("on-demand-reddit", "REDDIT")] {
        let request = build(&endpoint(13, name), &CallInput { window: Some(window), ..input("#bitcoin ETF flows") }, 13, None);
        assert!(request.http2_only);
        let sent = body(&request);
        assert_eq!(sent["source"], source);
        let subreddit = if source == "REDDIT" { vec!["r/all"] } else { Vec::new() };
        assert_eq!(sent["keywords"], json!([subreddit, vec!["#bitcoin", "ETF", "flows"]].concat()), "a Reddit search's first keyword is its subreddit");
        assert_eq!(sent["usernames"], json!([]));
        assert_eq!(sent["keyword_mode"], "any");
        assert_eq!(sent["limit"], 20);
        assert_eq!((&sent["start_date"], &sent["end_date"]), (&json!("2026-11-02T00:00:00Z"), &json!("2026-12-02T09:30:00Z")), "the task's window, not the API's last day");
    }
    for (limit, sent) in [(0, 100), (1, 1), (1000, 1000), (5000, 1000)] {
        let request = build(&endpoint(13, "on-demand-x"), &CallInput { limit, ..input("TAO") }, 13, None);
        assert_eq!(body(&request)["limit"], sent, "limit {limit}");
    }
}

#[test]
fn data_universe_keywords_drop_filler_and_stop_at_five() {
    let keywords = |query: &str| body(&build(&endpoint(13, "on-demand-x"), &input(query), 13, None))["keywords"].clone();
    assert_eq!(
        keywords("What are people saying on X about Vast.ai, #GPU pricing and (Bittensor's) subnets? vast.AI again"),
        json!(["Vast.ai", "#GPU", "pricing", "Bittensor", "subnets"])
    );
    let many = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu alpha";
    assert_eq!(keywords(many), json!(["alpha", "beta", "gamma", "delta", "epsilon"]), "the docs allow five");
    let reddit = body(&build(&endpoint(13, "on-demand-reddit"), &input(many), 13, None))["keywords"].clone();
    assert_eq!(reddit, json!(["r/all", "alpha", "beta", "gamma", "delta"]), "the subreddit counts among the five");
    assert_eq!(keywords("the latest on r/MachineLearning"), json!(["r/MachineLearning"]));
}

#[test]
fn data_universe_posts_become_items() {
    let answer = json!({
        "status": "success",
        "data": [
            {
                "text": "Bitcoin ETF inflows hit a record #bitcoin",
                "datetime": "2026-11-23T14:02:11+00:00",
                "uri": "https://x.com/analyst/status/1892",
                "source": "X",
                "label": "#bitcoin",
                "content_size_bytes": 412,
                "tweet": {"id": "1892", "like_count": 40, "retweet_count": 4, "reply_count": 2, "quote_count": 0,
                          "hashtags": ["#bitcoin"], "language": "en", "is_reply": false, "is_quote": false},
                "user": {"id": "99", "username": "analyst", "display_name": "An Analyst", "followers_count": 1200,
                         "verified": false, "user_blue_verified": true, "following_count": 10}
            },
            {
                "uri": "https://www.reddit.com/r/bittensor_/comments/abc/halving/",
                "datetime": "2026-11-22T09:00:00+00:00",
                "source": "REDDIT",
                "label": "r/bittensor_",
                "content_size_bytes": 900,
                "id": "t3_abc",
                "url": "https://www.reddit.com/r/bittensor_/comments/abc/halving/",
                "username": "taofan",
                "communityName": "r/bittensor_",
                "body": "What does the halving mean for subnets?",
                "createdAt": "2026-11-22T09:00:00+00:00",
                "dataType": "post",
                "title": "The halving",
                "is_nsfw": false,
                "score": 12,
                "upvote_ratio": 0.9,
                "num_comments": 4
            }
        ],
        "meta": {"miners_queried": 5, "miners_responded": 3, "items_returned": 2, "validation_success_rate": "2/2",
                 "processing_time_ms": 8123, "api_version": "1.0"}
    });
    assert_valid(&endpoint(13, "on-demand-x").output_schema.0, &answer);
    let x = parse(13, "on-demand-x", &json!({"status": "success", "data": [answer["data"][0].clone()]})).unwrap().items;
    assert_eq!(
        x,
        [Item {
            title: None,
            text: "Bitcoin ETF inflows hit a record #bitcoin".into(),
            url: Some("https://x.com/analyst/status/1892".into()),
            source: "x".into(),
            published: Some("2026-11-23T14:02:11+00:00".into()),
            author: Some("analyst".into()),
            numbers: [("likes", 40), ("replies", 2), ("retweets", 4)].into_iter().map(|(name, count)| (name.to_owned(), count.into())).collect(),
            ..Item::default()
        }]
    );
    let reddit = parse(13, "on-demand-reddit", &json!({"status": "success", "data": [answer["data"][1].clone()]})).unwrap().items;
    assert_eq!(
        reddit,
        [
            Item {
                title: Some("The halving".into()),
                text: "What does the halving mean for subnets?".into(),
                url: Some("https://www.reddit.com/r/bittensor_/comments/abc/halving/".into()),
                source: "reddit".into(),
                published: Some("2026-11-22T09:00:00+00:00".into()),
                author: Some("taofan".into()),
                ..Item::default()
            },
        ]
    );
}

#[test]
fn data_universe_failures_name_the_status_and_empty_answers_fail() {
    assert_empty(parse(13, "on-demand-x", &json!({"status": "success", "data": []})));
    assert_bad_response(parse(13, "on-demand-x", &json!({"status": "error", "message": "no miners available"})), "`/status` is \"error\": no miners available");
    assert_bad_response(parse(13, "on-demand-x", &json!({"data": []})), "`/status` is missing");
    assert_empty(parse(13, "on-demand-x", &json!({"status": "success", "data": {"text": "x"}})));
}

// --- LLMs ---

#[test]
fn openai_chat_sends_the_model_messages_and_structured_output() {
    let chutes = endpoint(64, "chat-completions");
    let schema = json!({"type": "object", "properties": {"summary": {"type": "string"}}, "required": ["summary"], "additionalProperties": false});
    let with_schema = CallInput { system: Some("You are an analyst."), response_schema: Some(&schema), ..input("Summarise Bittensor.") };
    let sent = body(&build(&chutes, &with_schema, 64, Some("deepseek-ai/DeepSeek-V3-0324")));
    assert_eq!(sent["model"], "deepseek-ai/DeepSeek-V3-0324");
    assert_eq!(sent["temperature"], 0);
    assert_eq!(sent["stream"], false);
    assert_eq!(sent["messages"][0], json!({"role": "system", "content": "You are an analyst."}));
    assert_eq!(sent["messages"][1]["role"], "user");
    assert_eq!(
        sent["response_format"],
        json!({"type": "json_schema", "json_schema": {"name": "answer", "strict": true, "schema": schema}})
    );

    let plain = body(&build(&chutes, &input("Say hello."), 64, Some("deepseek-ai/DeepSeek-V3-0324")));
    assert!(plain.get("response_format").is_none(), "{plain}");
    let no_model = invocation::request(&chutes, &input("Say hello."), &Access { netuid: 64, key: Some("test-key"), model: None }).unwrap_err();
    assert!(matches!(&no_model, InvocationError::Unsatisfiable { reason, .. } if reason.contains("\"model\" is a required property")), "a request the API would refuse is not sent: {no_model}");
    assert_eq!(plain["messages"], json!([{"role": "user", "content": "Say hello."}]));
}

#[test]
fn openai_chat_answers_are_read_from_the_first_choice() {
    let answer = json!({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1795478400, "model": "deepseek-ai/DeepSeek-V3-0324",
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "{\"summary\": \"A network.\"}"}}],
        "usage": {"prompt_tokens": 20, "completion_tokens": 8, "total_tokens": 28}
    });
    assert_valid(&endpoint(64, "chat-completions").output_schema.0, &answer);
    let response = parse(64, "chat-completions", &answer).unwrap();
    assert_eq!(response, SubnetResponse { text: Some("{\"summary\": \"A network.\"}".into()), tokens: Some((20, 8)), ..SubnetResponse::default() });

    assert_bad_response(parse(64, "chat-completions", &json!({"choices": []})), "no text");
    assert_bad_response(parse(64, "chat-completions", &json!({"error": {"message": "overloaded"}})), "no text");
    let null_content = json!({"choices": [{"index": 0, "finish_reason": "length", "message": {"role": "assistant", "content": null}}]});
    assert_valid(&endpoint(64, "chat-completions").output_schema.0, &null_content);
    assert_bad_response(parse(64, "chat-completions", &null_content), "no text");
}

#[test]
fn apex_chat_asks_for_json_and_carries_the_schema_in_the_prompt() {
    let apex = endpoint(1, "chat-completion");
    let schema = json!({"type": "object", "properties": {"verdict": {"type": "string", "enum": ["yes", "no"]}}});
    let request = build(&apex, &CallInput { response_schema: Some(&schema), ..input("Is TAO capped?") }, 1, None);
    let sent = body(&request);
    assert_eq!(sent["json_format"], true);
    assert_eq!(sent["sampling_parameters"], json!({"temperature": 0.0, "top_p": 1.0, "max_new_tokens": 4096, "do_sample": false}));
    assert!(sent.get("response_format").is_none());
    let prompt = user_message(&request);
    assert!(prompt.starts_with("Is TAO capped?"), "{prompt}");
    assert!(prompt.contains("JSON Schema") && prompt.contains(&serde_json::to_string_pretty(&schema).unwrap()), "{prompt}");

    let plain = body(&build(&apex, &input("Is TAO capped?"), 1, None));
    assert_eq!(plain["json_format"], false);
    assert_eq!(plain["messages"], json!([{"role": "user", "content": "Is TAO capped?"}]));
}

#[test]
fn apex_answers_in_protobuf_json_are_read() {
    let answer = json!({
        "id": "ca0b8d1e", "created": "1795478400", "model": "mrfakename/mistral-small-3.1-24b-instruct-2503-hf",
        "object": "chat.completion",
        "choices": [{"finishReason": "stop", "index": 0, "message": {"content": "Yes: 21 million.", "role": "assistant"}}]
    });
    assert_valid(&endpoint(1, "chat-completion").output_schema.0, &answer);
    assert_eq!(parse(1, "chat-completion", &answer).unwrap().text.as_deref(), Some("Yes: 21 million."));
    assert_bad_response(parse(1, "chat-completion", &json!({"choices": [{"index": 0}]})), "no text");
}

#[test]
fn prompts_list_the_evidence_of_earlier_tasks() {
    let mut output = evidence("search-web", 2, 10);
    output.items[1].title = None;
    output.items[1].text = "line one\nline two".into();
    let context = [output];
    let request = build(&endpoint(64, "chat-completions"), &CallInput { context: &context, ..input("Compare.") }, 64, Some("deepseek-ai/DeepSeek-V3-0324"));
    let prompt = user_message(&request);
    assert!(prompt.starts_with("Compare."), "{prompt}");
    assert!(prompt.contains("search-web") && prompt.contains("Bittensor") && prompt.contains("A summary."), "{prompt}");
    assert!(prompt.contains(&format!("1. Result 0 — {} — https://example.com/0\n", "é".repeat(10))), "{prompt}");
    assert!(prompt.contains("2. line one line two — https://example.com/1\n"), "{prompt}");
}

#[test]
fn prompts_stay_bounded_whatever_the_evidence() {
    // 40 tasks of 100 items with 5000-character texts: about 20 million characters of evidence.
    let context: Vec<TaskOutput> = (0..40).map(|task| evidence(&format!("task-{task}"), 100, 5000)).collect();
    let schema = json!({"type": "object", "properties": {"answer": {"type": "string"}}});
    let call = CallInput { context: &context, response_schema: Some(&schema), ..input("Summarise.") };
    for (netuid, name) in [(64, "chat-completions"), (1, "chat-completion")] {
        let prompt = user_message(&build(&endpoint(netuid, name), &call, netuid, Some("deepseek-ai/DeepSeek-V3-0324")));
        assert!(prompt.chars().count() <= 25_000, "{name}: {} characters", prompt.chars().count());
        assert!(prompt.contains("task-0") && !prompt.contains("task-39"), "{name}");
        assert!(prompt.contains(&serde_json::to_string_pretty(&schema).unwrap()), "{name}: the schema survives the bound");
        for line in prompt.lines() {
            assert!(line.chars().count() <= 1_000, "{name}: a line of {} characters", line.chars().count());
        }
    }

    // One task: its first 25 items only, each text cut to 400 characters.
    let one = [evidence("only", 100, 5000)];
    let prompt = user_message(&build(&endpoint(64, "chat-completions"), &CallInput { context: &one, ..input("Summarise.") }, 64, Some("deepseek-ai/DeepSeek-V3-0324")));
    assert!(prompt.contains("\n25. Result 24 — ") && !prompt.contains("\n26. "), "{prompt}");
    let first = prompt.lines().find(|line| line.starts_with("1. ")).unwrap();
    let text = first.split(" — ").nth(1).unwrap();
    assert_eq!(text.chars().count(), 400);
    assert!(text.ends_with('…'));
}
