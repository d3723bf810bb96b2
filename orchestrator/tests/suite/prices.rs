//! Prices that bind and limits that hold, against an API on loopback: a call is reserved at its
//! record's price before it is sent and charged for what it used (tokens, items); a budget
//! below one call's price sends nothing; a record's rate limit holds across orchestrations; the
//! TAO price comes from its feed, and a feed's hostile answers never become the price.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::routing::{get, post};
use axum::{Json, Router};
use ledger::record::{Auth, Endpoint, HttpMethod, Json as RecordJson, PriceUnit, Pricing, RateLimit, Record};
use ledger::{Change, ChangeSet, Key, Namespace};
use orchestrator::credentials::Credentials;
use orchestrator::execute::budget::TaoPrice;
use orchestrator::execute::price::{OperatorPrice, OperatorPrices};
use orchestrator::execute::retry::RetryPolicy;
use orchestrator::execute::{Context, LearnedCosts, Network, Session, Stop, TaskError};
use orchestrator::invocation::CallInput;
use orchestrator::outbound::{Guard, Origin, Policy, Refusal};
use orchestrator::progress::Watcher;
use orchestrator::receipts::Nonce;
use orchestrator::route::Catalog;
use orchestrator::tao_price::{Feed, TaoPrices};
use serde_json::{json, Value};

/// 400 USD per TAO: one micro-USD is 2.5 rao.
const TAO: TaoPrice = TaoPrice { usd_micros_per_tao: 400_000_000 };

/// An API answering every search with `answer`, recording when each request arrived.
async fn api(answer: Value) -> (String, Arc<Mutex<Vec<Instant>>>) {
    let arrivals: Arc<Mutex<Vec<Instant>>> = Arc::default();
    let seen = arrivals.clone();
    let app = Router::new().route(
        "/search",
        post(move || {
            let (seen, answer) = (seen.clone(), answer.clone());
            async move {
                seen.lock().unwrap().push(Instant::now());
                Json(answer)
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, arrivals)
}

fn search_endpoint(base: &str, pricing: Option<Pricing>, rate_limit: Option<RateLimit>) -> Endpoint {
    Endpoint {
        name: "search".into(),
        capability: "web-search".into(),
        method: HttpMethod::Post,
        url: format!("{base}/search"),
        input_schema: RecordJson(json!({"type": "object", "required": ["q"]})),
        output_schema: RecordJson(json!({"type": "object"})),
        auth: Auth::None,
        example_input: None,
        pricing,
        rate_limit,
        timeout_ms: 5_000,
        invocation: Some(Box::new(
            serde_json::from_value(json!({
                "request": {"body": {"q": {"$input": "query"}}},
                "response": {"items": [{"at": ["/items"], "source": [{"const": "web"}], "text": ["/text"]}]},
                "cost": {"input_tokens": "/usage/input", "output_tokens": "/usage/output"}
            }))
            .unwrap(),
        )),
        not_orchestrable: None,
    }
}

/// What sessions borrow: a ledger with `endpoint` on SN200, and one network for all sessions.
struct Node {
    catalog: Catalog,
    credentials: Credentials,
    network: Network,
    learned: LearnedCosts,
    _ledger: testkit::TestLedger,
}

impl Node {
    fn new(endpoint: Endpoint) -> Node {
        Node::priced(endpoint, OperatorPrices::default())
    }

    /// A node whose operator prices what the ledger leaves unpriced with `prices`.
    fn priced(endpoint: Endpoint, prices: OperatorPrices) -> Node {
        let mut test = testkit::test_ledger(&[]);
        let key = Key::new(Namespace::Subnet(200), "endpoint/search").unwrap();
        test.ledger.commit(ChangeSet::new([Change { key, value: Some(Record::Endpoint(endpoint).encode()) }])).unwrap();
        let retry = RetryPolicy { attempts_per_route: 1, base: Duration::from_millis(1), cap: Duration::from_millis(1) };
        let network = Network::new(crate::common::loopback_guard(), retry).with_prices(prices);
        Node { catalog: Catalog::read(&test.ledger).unwrap(), credentials: Credentials::default(), network, learned: LearnedCosts::default(), _ledger: test }
    }

    fn session(&self, budget_rao: Option<u64>, deadline: Duration) -> Session<'_> {
        let context = Context { network: &self.network, credentials: &self.credentials, catalog: &self.catalog, tao_price: TAO, learned: &self.learned };
        Session::new(context, Nonce([9; 32]), deadline, budget_rao, Watcher::none())
    }
}

fn search(query: &str) -> CallInput<'_> {
    CallInput { query, limit: 20, ..CallInput::default() }
}

#[tokio::test]
async fn a_call_priced_by_the_token_is_reserved_for_its_prompt_and_charged_for_what_it_used() {
    let (base, arrivals) = api(json!({"items": [{"text": "Subnets pay miners in alpha."}], "usage": {"input": 700, "output": 300}})).await;
    let node = Node::new(search_endpoint(&base, Some(Pricing { unit: PriceUnit::ThousandTokens, usd_micros: 2_000 }), None));

    // Reserved: the body's tokens plus the 1024-token allowance, at $0.002 per thousand.
    let session = node.session(Some(5_000), Duration::from_secs(10));
    let error = session.call_capability("search", "web-search", &search("How do subnets pay miners?")).await.unwrap_err();
    let TaskError::Stopped(Stop::BudgetExhausted(exhausted)) = &error else { panic!("{error}") };
    assert!(exhausted.needed_rao > 5_000 && exhausted.call.contains("SN200 search at $0.002 per thousand tokens"), "{exhausted:?}");
    assert!(arrivals.lock().unwrap().is_empty(), "a call its budget cannot cover is not sent");

    // Charged: the 1000 tokens the answer reports, 2000 micro-USD, 5000 rao.
    let session = node.session(Some(100_000), Duration::from_secs(10));
    session.call_capability("search", "web-search", &search("How do subnets pay miners?")).await.unwrap();
    assert_eq!(session.budget().spent_rao(), 5_000);
    let (bundle, calls, _) = session.finish(&ledger::hotkey::Hotkey::from_seed(&[3; 32]).unwrap());
    assert_eq!((calls[0].cost_rao, bundle.receipts[0].call.cost_rao), (5_000, 5_000));
}

#[tokio::test]
async fn a_call_priced_by_the_item_is_charged_for_the_items_returned() {
    let (base, _) = api(json!({"items": [{"text": "one"}, {"text": "two"}, {"text": "three"}]})).await;
    let node = Node::new(search_endpoint(&base, Some(Pricing { unit: PriceUnit::Item, usd_micros: 300 }), None));
    let session = node.session(Some(15_000), Duration::from_secs(10));
    session.call_capability("search", "web-search", &search("subnets")).await.unwrap();
    // Reserved for the 20 asked (15000 rao), charged for the 3 returned: 900 micro-USD.
    assert_eq!(session.budget().spent_rao(), 2_250);
}

#[tokio::test]
async fn the_operator_prices_what_the_ledger_leaves_unpriced_and_the_ledgers_price_wins() {
    let (base, arrivals) = api(json!({"items": [{"text": "ok"}]})).await;
    let price: OperatorPrice = "sn200/search=request:0.01".parse().unwrap();
    let node = Node::priced(search_endpoint(&base, None, None), OperatorPrices::new([price.clone()]));
    let error = node.session(Some(1), Duration::from_secs(10)).call_capability("search", "web-search", &search("subnets")).await.unwrap_err();
    assert!(error.to_string().contains("SN200 search at $0.01 per request (the operator's price)"), "{error}");
    assert!(arrivals.lock().unwrap().is_empty(), "an unpriced endpoint binds once the operator prices it");
    let session = node.session(Some(100_000), Duration::from_secs(10));
    session.call_capability("search", "web-search", &search("subnets")).await.unwrap();
    assert_eq!(session.budget().spent_rao(), 25_000, "$0.01 at 400 USD per TAO");

    let ledger_priced = Node::priced(search_endpoint(&base, Some(Pricing { unit: PriceUnit::Request, usd_micros: 1_000 }), None), OperatorPrices::new([price]));
    let session = ledger_priced.session(Some(100_000), Duration::from_secs(10));
    session.call_capability("search", "web-search", &search("subnets")).await.unwrap();
    assert_eq!(session.budget().spent_rao(), 2_500, "the record's public price wins");
    for refused in ["sn200/search", "sn200/search=minute:1", "x/search=item:1", "sn200/=item:1", "sn200/search=item:-1"] {
        assert!(refused.parse::<OperatorPrice>().is_err(), "{refused}");
    }
}

#[tokio::test]
async fn a_records_rate_limit_holds_across_orchestrations() {
    let (base, arrivals) = api(json!({"items": [{"text": "ok"}]})).await;
    let node = Node::new(search_endpoint(&base, None, Some(RateLimit { requests: 2, per_seconds: 1 })));
    let started = Instant::now();
    for _ in 0..3 {
        node.session(None, Duration::from_secs(10)).call_capability("search", "web-search", &search("subnets")).await.unwrap();
    }
    let times = arrivals.lock().unwrap().clone();
    assert_eq!(times.len(), 3);
    // The third takes its slot a full window after the first; arrivals are seen later than
    // slots are taken, so they only show that it waited most of a second.
    assert!(started.elapsed() >= Duration::from_secs(1), "the third waited for the window");
    assert!(times[2].duration_since(times[1]) >= Duration::from_millis(500), "{:?}", times[2].duration_since(times[1]));

    // A limit that leaves no slot before the deadline fails the route at once, sending nothing.
    let (base, arrivals) = api(json!({"items": [{"text": "ok"}]})).await;
    let node = Node::new(search_endpoint(&base, None, Some(RateLimit { requests: 1, per_seconds: 60 })));
    node.session(None, Duration::from_secs(10)).call_capability("search", "web-search", &search("subnets")).await.unwrap();
    let error = node.session(None, Duration::from_secs(5)).call_capability("search", "web-search", &search("subnets")).await.unwrap_err();
    assert!(error.to_string().contains("rate limit of 1 requests per 60 s is reached"), "{error}");
    assert_eq!(arrivals.lock().unwrap().len(), 1, "the refused call was never sent");
}

/// A feed on loopback answering each reading with the next of `answers` (the last repeats).
async fn feed(answers: Vec<&'static str>) -> Feed {
    let served = Arc::new(Mutex::new(0usize));
    let app = Router::new().route(
        "/fmv",
        get(move || {
            let (served, answers) = (served.clone(), answers.clone());
            async move {
                let mut count = served.lock().unwrap();
                let answer = answers[(*count).min(answers.len() - 1)];
                *count += 1;
                ([("content-type", "application/json")], answer)
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/fmv", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Feed { url, pointer: "/tao".into() }
}

#[tokio::test]
async fn the_tao_price_comes_from_its_feed_and_a_hostile_answer_never_becomes_the_price() {
    let guard = crate::common::loopback_guard();
    let fallback = TaoPrice { usd_micros_per_tao: 300_000_000 };

    let prices = TaoPrices::new(fallback, Some(feed(vec![r#"{"tao": 412.5}"#, r#"{"tao": -3}"#]).await));
    let unread = prices.quote();
    assert_eq!(unread.usd, 300.0);
    assert!(unread.source.contains("static price") && unread.source.contains("not been read"), "{}", unread.source);
    prices.refresh(&guard).await.unwrap();
    let quote = prices.quote();
    assert_eq!((quote.usd, quote.price.usd_micros_per_tao), (412.5, 412_500_000));
    assert!(quote.source.starts_with("http://127.0.0.1:") && quote.source.contains("/fmv at 20"), "{}", quote.source);
    assert!(prices.refresh(&guard).await.unwrap_err().contains("not a plausible TAO price"));
    assert_eq!(prices.quote().usd, 412.5, "the last good reading stands");

    for (answer, why) in [(r#"{"tao": 1e12}"#, "not a plausible"), (r#"{"tao": "412"}"#, "no number at /tao"), ("<html>", "not JSON"), (r#"{"price": 412}"#, "no number at /tao")] {
        let hostile = TaoPrices::new(fallback, Some(feed(vec![answer]).await));
        let error = hostile.refresh(&guard).await.unwrap_err();
        assert!(error.contains(why), "{answer}: {error}");
        let quote = hostile.quote();
        assert_eq!(quote.usd, 300.0, "{answer}");
        assert!(quote.source.contains("static price") && quote.source.contains(why), "the answer names why: {}", quote.source);
    }
    let none = TaoPrices::new(fallback, None).quote();
    assert!(none.source.contains("no feed is configured"), "{}", none.source);
}

#[test]
fn subnet_calls_reach_only_the_hosts_the_operator_names() {
    let policy = Policy { record_hosts: Some(["api.desearch.ai".to_owned()].into()), ..Policy::default() };
    let guard = Guard::new(policy).unwrap();
    assert!(guard.check("https://api.desearch.ai/web", Origin::Record).is_ok());
    assert_eq!(guard.check("https://attacker.example/web", Origin::Record).unwrap_err(), Refusal::UnlistedHost { host: "attacker.example".into() });
    assert!(guard.check("https://api.chutes.ai/fmv", Origin::Operator).is_ok(), "an operator-named URL is the operator's own choice");
}
