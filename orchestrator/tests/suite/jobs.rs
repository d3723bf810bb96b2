//! Asynchronous endpoints: a job is submitted, polled at its interval until done, and read from
//! the poll that finished it, every request a call with its receipt (Apex's deep researcher, in
//! the test kit, runs for one poll first). A job that never finishes costs its bounded number of
//! polls and fails saying so; an id the subnet returns cannot steer the poll off its path.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::Path;
use axum::routing::{get, post};
use axum::{Json, Router};
use ledger::hotkey::Hotkey;
use ledger::record::{Auth, Endpoint, HttpMethod, Json as RecordJson, Record};
use ledger::{Change, ChangeSet, Key, Namespace};
use orchestrator::credentials::Credentials;
use orchestrator::execute::budget::TaoPrice;
use orchestrator::execute::retry::RetryPolicy;
use orchestrator::execute::{Context, LearnedCosts, Network, Session, TaskError};
use orchestrator::invocation::CallInput;
use orchestrator::progress::Watcher;
use orchestrator::receipts::Nonce;
use orchestrator::route::Catalog;
use serde_json::{json, Value};
use testkit::{expected_key, SubnetKind, SubnetServer};

const NETUID: u16 = 1;

/// What a session borrows: the catalog of a ledger, the keys, and the node's network.
struct Node {
    catalog: Catalog,
    credentials: Credentials,
    network: Network,
    learned: LearnedCosts,
}

impl Node {
    fn new(ledger: &ledger::Ledger, credentials: Credentials) -> Node {
        let retry = RetryPolicy { attempts_per_route: 1, base: Duration::from_millis(1), cap: Duration::from_millis(1) };
        Node { catalog: Catalog::read(ledger).unwrap(), credentials, network: Network::new(crate::common::loopback_guard(), retry), learned: LearnedCosts::default() }
    }

    fn session(&self) -> Session<'_> {
        let tao_price = TaoPrice { usd_micros_per_tao: 400_000_000 };
        let context = Context { network: &self.network, credentials: &self.credentials, catalog: &self.catalog, tao_price, learned: &self.learned };
        Session::new(context, Nonce([7; 32]), Duration::from_secs(30), None, Watcher::none())
    }
}

#[tokio::test]
async fn a_deep_research_job_is_polled_until_done_and_read_from_the_last_poll() {
    let apex = SubnetServer::start(SubnetKind::Apex).await;
    apex.set_llm(|_| "Data subnets pay miners for fresh, validated scrapes.".to_owned());
    let test = testkit::test_ledger(&[&apex]);
    let node = Node::new(&test.ledger, Credentials::default().with_key(NETUID, expected_key(SubnetKind::Apex), ["127.0.0.1"]));
    let session = node.session();

    let input = CallInput { query: "Compare the incentive mechanisms of Bittensor data subnets.", ..CallInput::default() };
    let response = session.call_capability("research", "deep-research", &input).await.unwrap();
    assert_eq!(response.items.len(), 1);
    assert_eq!(response.items[0].text, "Data subnets pay miners for fresh, validated scrapes.");
    assert_eq!(response.items[0].source, "apex-deep-research");

    let (bundle, calls, _) = session.finish(&Hotkey::from_seed(&[3; 32]).unwrap());
    let paths: Vec<String> = apex.requests().iter().map(|request| request.path.clone()).collect();
    assert_eq!(paths, ["/apex.v1.ApexService/SubmitDeepResearcherJob", "/apex.v1.ApexService/GetDeepResearcherJob", "/apex.v1.ApexService/GetDeepResearcherJob"]);
    assert_eq!(calls.len(), 3, "the submission and both polls are calls: {calls:#?}");
    assert!(calls.iter().all(|call| call.status == 200 && call.endpoint == "deep-research-submit"), "{calls:#?}");
    assert_eq!(bundle.receipts.len(), 3, "each a receipt");
    let (submitted, polled): (Value, Value) = (apex.requests()[0].body.clone(), apex.requests()[1].body.clone());
    assert!(submitted["messages"].is_array(), "{submitted}");
    assert!(polled["job_id"].as_str().is_some_and(|id| !id.is_empty()), "the poll names the submitted job: {polled}");
}

/// A job API on loopback whose jobs never finish, answering the submission with `job_id`.
async fn never_finishing(job_id: &'static str) -> (String, Arc<Mutex<Vec<String>>>) {
    let polled: Arc<Mutex<Vec<String>>> = Arc::default();
    let seen = polled.clone();
    let app = Router::new().route("/jobs", post(move || async move { Json(json!({ "id": job_id })) })).route(
        "/jobs/{id}",
        get(move |Path(id): Path<String>| {
            let seen = seen.clone();
            async move {
                seen.lock().unwrap().push(id);
                Json(json!({ "state": "running" }))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, polled)
}

#[tokio::test]
async fn a_job_that_never_finishes_costs_its_polls_and_fails_saying_so() {
    let (base, polled) = never_finishing("../admin?x=1#").await;
    let endpoint = Endpoint {
        name: "slow-job".into(),
        capability: "deep-research".into(),
        method: HttpMethod::Post,
        url: format!("{base}/jobs"),
        input_schema: RecordJson(json!({"type": "object"})),
        output_schema: RecordJson(json!({"type": "object"})),
        auth: Auth::None,
        example_input: None,
        pricing: None,
        rate_limit: None,
        timeout_ms: 5_000,
        invocation: Some(Box::new(serde_json::from_value(json!({
            "request": {"body": {"q": {"$input": "query"}}},
            "response": {"items": [{"at": ["/items"], "source": [{"const": "slow"}], "text": ["/text"]}]},
            "job": {"id": "/id", "poll": {"method": "GET", "path": "/jobs/{job_id}"}, "done": {"at": "/state", "equals": ["done"]}, "interval_ms": 100, "max_polls": 3}
        })).unwrap())),
        not_orchestrable: None,
    };
    let mut test = testkit::test_ledger(&[]);
    let key = Key::new(Namespace::Subnet(200), "endpoint/slow-job").unwrap();
    test.ledger.commit(ChangeSet::new([Change { key, value: Some(Record::Endpoint(endpoint).encode()) }])).unwrap();
    let node = Node::new(&test.ledger, Credentials::default());
    let session = node.session();

    let error = session.call_capability("research", "deep-research", &CallInput { query: "anything", ..CallInput::default() }).await.unwrap_err();
    let TaskError::AllRoutesFailed { failures, .. } = &error else { panic!("{error}") };
    assert!(failures[0].contains("was not done after 3 polls"), "{error}");
    assert_eq!(*polled.lock().unwrap(), ["../admin?x=1#"; 3], "three polls, each of the job's own path with the id encoded into it");
    let (bundle, calls, _) = session.finish(&Hotkey::from_seed(&[3; 32]).unwrap());
    assert_eq!((calls.len(), bundle.receipts.len()), (4, 4), "the submission and three polls, each with a receipt");
}
