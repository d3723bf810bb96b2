//! Checks, over real loopback HTTP, what users of the test kit rely on: auth in each API's form,
//! Data Universe's HTTP/2 only front, injected failures and latency, corpus search results, and
//! test ledgers whose endpoints point at the servers.

use std::time::{Duration, Instant};

use ledger::record::{HealthStatus, Record};
use ledger::{Key, Ledger, Namespace};
use reqwest::header::{AUTHORIZATION, RETRY_AFTER};
use reqwest::StatusCode;
use serde_json::{json, Value};
use testkit::{expected_key, register_mirror, set_health, sources_dir, test_ledger, SubnetKind, SubnetServer};

/// A request each kind answers with 200 once authorised: path and JSON body.
fn sample_request(kind: SubnetKind) -> (&'static str, Value) {
    match kind {
        SubnetKind::Desearch => ("/desearch/ai/search", json!({ "prompt": "Bittensor subnets", "tools": ["web"] })),
        SubnetKind::DataUniverse => {
            ("/sn13.v1.Sn13Service/OnDemandData", json!({ "source": "X", "keywords": ["#bittensor"], "limit": 10 }))
        }
        SubnetKind::Chutes => (
            "/v1/chat/completions",
            json!({ "model": "Qwen/Qwen3-32B-TEE", "messages": [{ "role": "user", "content": "Say hello in one sentence." }] }),
        ),
        SubnetKind::Apex => {
            ("/apex.v1.ApexService/ChatCompletion", json!({ "messages": [{ "role": "user", "content": "What is a Bittensor subnet?" }] }))
        }
    }
}

/// A client that can talk to `kind`: Data Universe only speaks HTTP/2.
fn client(kind: SubnetKind) -> reqwest::Client {
    let builder = reqwest::Client::builder();
    let builder = if kind == SubnetKind::DataUniverse { builder.http2_prior_knowledge() } else { builder };
    builder.build().unwrap()
}

/// Sends the kind's sample request with `authorization` as the `Authorization` header.
async fn send_sample(server: &SubnetServer, authorization: Option<&str>) -> reqwest::Response {
    let (path, body) = sample_request(server.kind());
    let mut request = client(server.kind()).post(format!("{}{path}", server.base_url())).json(&body);
    if let Some(authorization) = authorization {
        request = request.header(AUTHORIZATION, authorization);
    }
    request.send().await.unwrap()
}

/// Where each API's error body keeps its message.
fn error_message(kind: SubnetKind, body: &Value) -> Option<&str> {
    match kind {
        SubnetKind::Desearch => body["detail"].as_str(),
        SubnetKind::Chutes => body["error"]["message"].as_str(),
        SubnetKind::DataUniverse | SubnetKind::Apex => body["message"].as_str(),
    }
}

#[tokio::test]
async fn auth_is_enforced_in_each_apis_own_form() {
    for kind in SubnetKind::ALL {
        let server = SubnetServer::start(kind).await;
        let key = expected_key(kind);

        let missing = send_sample(&server, None).await;
        assert_eq!(missing.status(), StatusCode::UNAUTHORIZED, "{kind:?} without a key");
        let body: Value = missing.json().await.unwrap();
        assert!(error_message(kind, &body).is_some(), "{kind:?} 401 body in the API's shape: {body}");

        // Desearch takes the bare key; the others take a bearer token and refuse the bare key.
        let (right, wrong) = match kind {
            SubnetKind::Desearch => (key.to_owned(), format!("Bearer {key}")),
            _ => (format!("Bearer {key}"), key.to_owned()),
        };
        assert_eq!(send_sample(&server, Some(&wrong)).await.status(), StatusCode::UNAUTHORIZED, "{kind:?} with `{wrong}`");
        assert_eq!(send_sample(&server, Some(&right)).await.status(), StatusCode::OK, "{kind:?} with `{right}`");
        assert_eq!(right, kind.authorization());
    }

    // The public routes need no key.
    let desearch = SubnetServer::start(SubnetKind::Desearch).await;
    let health = reqwest::get(format!("{}/health", desearch.base_url())).await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let chutes = SubnetServer::start(SubnetKind::Chutes).await;
    let models: Value = reqwest::get(format!("{}/v1/models", chutes.base_url())).await.unwrap().json().await.unwrap();
    assert!(models["data"][0]["id"].is_string(), "{models}");
}

#[tokio::test]
async fn data_universe_refuses_http1_and_answers_over_http2() {
    let server = SubnetServer::start(SubnetKind::DataUniverse).await;
    let (path, body) = sample_request(SubnetKind::DataUniverse);
    let url = format!("{}{path}", server.base_url());
    let authorization = SubnetKind::DataUniverse.authorization();

    let http1 = reqwest::Client::builder().http1_only().build().unwrap();
    let refused = http1.post(&url).header(AUTHORIZATION, &authorization).json(&body).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::HTTP_VERSION_NOT_SUPPORTED);
    let refusal: Value = refused.json().await.unwrap();
    assert!(refusal["code"].is_string() && refusal["message"].is_string(), "{refusal}");

    let answer = send_sample(&server, Some(&authorization)).await;
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(answer.version(), reqwest::Version::HTTP_2);
    let answer: Value = answer.json().await.unwrap();
    assert_eq!(answer["status"], "success");
    let data = answer["data"].as_array().unwrap();
    assert!(!data.is_empty(), "#bittensor posts exist: {answer}");
    for item in data {
        assert_eq!(item["source"], "X");
        assert!(item["text"].as_str().unwrap().to_lowercase().contains("#bittensor"), "{item}");
        assert!(item["tweet"].is_object() && item["user"]["username"].is_string(), "{item}");
    }
    assert_eq!(answer["meta"]["items_returned"], data.len());

    let versions: Vec<String> = server.requests().into_iter().map(|request| request.http_version).collect();
    assert_eq!(versions, ["HTTP/1.1", "HTTP/2.0"]);

    let h2 = client(SubnetKind::DataUniverse);
    for invalid in
        [json!({ "source": "X", "limit": 1001 }), json!({ "source": "TIKTOK" }), json!({ "source": "X", "keywords": vec!["a"; 11] })]
    {
        let response = h2.post(&url).header(AUTHORIZATION, &authorization).json(&invalid).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{invalid}");
    }
}

#[tokio::test]
async fn fail_next_gives_429s_with_retry_after_then_succeeds() {
    let server = SubnetServer::start(SubnetKind::Chutes).await;
    let authorization = SubnetKind::Chutes.authorization();
    server.fail_next(2, 429);
    for attempt in 0..2 {
        let response = send_sample(&server, Some(&authorization)).await;
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS, "attempt {attempt}");
        assert_eq!(response.headers().get(RETRY_AFTER).unwrap(), "0");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "rate_limit_exceeded", "OpenAI-style error: {body}");
    }
    assert_eq!(send_sample(&server, Some(&authorization)).await.status(), StatusCode::OK);
    assert_eq!(server.request_count(), 3, "failed requests are recorded too");
    let recorded = &server.requests()[2];
    assert_eq!((recorded.method.as_str(), recorded.path.as_str()), ("POST", "/v1/chat/completions"));
    assert_eq!(recorded.header("authorization"), Some(authorization.as_str()));
    assert_eq!(recorded.body["model"], "Qwen/Qwen3-32B-TEE");

    // Failing always spares /health, and recovering ends it.
    let desearch = SubnetServer::start(SubnetKind::Desearch).await;
    desearch.fail_always(503);
    for _ in 0..3 {
        let failed = send_sample(&desearch, Some(expected_key(SubnetKind::Desearch))).await;
        assert_eq!(failed.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(failed.json::<Value>().await.unwrap()["detail"].is_string());
    }
    assert_eq!(reqwest::get(format!("{}/health", desearch.base_url())).await.unwrap().status(), StatusCode::OK);
    desearch.recover();
    assert_eq!(send_sample(&desearch, Some(expected_key(SubnetKind::Desearch))).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn latency_is_added_to_answers_and_errors() {
    let server = SubnetServer::start(SubnetKind::Apex).await;
    let authorization = SubnetKind::Apex.authorization();
    let latency = Duration::from_millis(200);
    server.set_latency(latency);

    let started = Instant::now();
    assert_eq!(send_sample(&server, Some(&authorization)).await.status(), StatusCode::OK);
    assert!(started.elapsed() >= latency, "answer after {:?}", started.elapsed());

    server.fail_next(1, 500);
    let started = Instant::now();
    assert_eq!(send_sample(&server, Some(&authorization)).await.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(started.elapsed() >= latency, "error after {:?}", started.elapsed());
}

#[tokio::test]
async fn gpu_pricing_search_finds_the_three_providers_with_cost_headers() {
    let server = SubnetServer::start(SubnetKind::Desearch).await;
    let http = reqwest::Client::new();
    let search = |prompt: &str| {
        http.post(format!("{}/desearch/ai/search", server.base_url()))
            .header(AUTHORIZATION, expected_key(SubnetKind::Desearch))
            .json(&json!({ "prompt": prompt, "tools": ["web", "twitter"], "count": 10, "result_type": "LINKS_WITH_FINAL_SUMMARY" }))
            .send()
    };

    let response = search("GPU cloud pricing per hour for H100 and A100").await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let header = |name: &str| response.headers().get(name).and_then(|value| value.to_str().ok()).map(str::to_owned);
    assert_eq!(header("x-desearch-cost-usd").as_deref(), Some("0.004000"), "an AI search's price");
    assert!(header("x-desearch-usage-count").is_some_and(|count| count.parse::<usize>().unwrap() > 0));
    assert_eq!(header("x-desearch-service").as_deref(), Some("ai_search"));
    assert_eq!(header("x-desearch-currency").as_deref(), Some("USD"));
    let answer: Value = response.json().await.unwrap();
    let nothing = search("zzqx flurble wombat").await.unwrap();
    assert_eq!(nothing.headers().get("x-desearch-cost-usd").unwrap(), "0.000000", "an answer that found nothing costs nothing");
    let links: Vec<&str> = answer["search"].as_array().unwrap().iter().map(|result| result["link"].as_str().unwrap()).collect();
    for domain in ["runpod.io", "vast.ai", "lambda.ai"] {
        assert!(links.iter().any(|link| link.contains(domain)), "{domain} among {links:?}");
    }
    assert!(!answer["tweets"].as_array().unwrap().is_empty(), "tweets about GPU prices: {answer}");
    assert!(answer.get("reddit_search").is_none(), "only the requested tools answer");
    assert!(answer["completion"].as_str().unwrap().contains("/hr"), "the summary carries prices: {answer}");
    assert!(answer["miner_link_scores"].as_object().unwrap().contains_key("https://www.runpod.io/pricing"));

    let unrelated: Value = search("chocolate cake recipe").await.unwrap().json().await.unwrap();
    assert_eq!(unrelated["search"], json!([]));
    assert_eq!(unrelated["tweets"], json!([]));

    let web: Value = http
        .get(format!("{}/web?query=H100+rental+prices&start=0", server.base_url()))
        .header(AUTHORIZATION, expected_key(SubnetKind::Desearch))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(web["data"][0]["title"].is_string() && web["data"][0]["link"].is_string(), "{web}");

    let tweets: Value = http
        .get(format!("{}/twitter?query=bittensor&sort=Latest&count=2", server.base_url()))
        .header(AUTHORIZATION, expected_key(SubnetKind::Desearch))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let tweets = tweets.as_array().unwrap();
    assert_eq!(tweets.len(), 2);
    assert!(tweets[0]["created_at"].as_str() >= tweets[1]["created_at"].as_str(), "latest first");
    assert!(tweets[0]["user"]["username"].is_string() && tweets[0]["like_count"].is_u64());
}

#[tokio::test]
async fn desearch_lists_every_validation_problem_as_fastapi_does() {
    let server = SubnetServer::start(SubnetKind::Desearch).await;
    let response = reqwest::Client::new()
        .post(format!("{}/desearch/ai/search", server.base_url()))
        .header(AUTHORIZATION, expected_key(SubnetKind::Desearch))
        .json(&json!({ "tools": ["web", "gopher"], "count": 5 }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = response.json().await.unwrap();
    let problems: Vec<(&str, Value)> =
        body["detail"].as_array().unwrap().iter().map(|problem| (problem["type"].as_str().unwrap(), problem["loc"].clone())).collect();
    assert_eq!(
        problems,
        [("missing", json!(["body", "prompt"])), ("enum", json!(["body", "tools", 1])), ("greater_than_equal", json!(["body", "count"])),]
    );
}

#[tokio::test]
async fn llm_kinds_answer_from_the_responder_in_their_shapes() {
    let chutes = SubnetServer::start(SubnetKind::Chutes).await;
    let answer: Value = send_sample(&chutes, Some(&SubnetKind::Chutes.authorization())).await.json().await.unwrap();
    assert_eq!(answer["object"], "chat.completion");
    assert_eq!(answer["choices"][0]["finish_reason"], "stop");
    let content = answer["choices"][0]["message"]["content"].as_str().unwrap();
    assert!(content.contains("Say hello in one sentence."), "the default answer echoes the prompt: {content}");
    let usage = &answer["usage"];
    assert_eq!(
        usage["total_tokens"].as_u64(),
        Some(usage["prompt_tokens"].as_u64().unwrap() + usage["completion_tokens"].as_u64().unwrap())
    );

    let apex = SubnetServer::start(SubnetKind::Apex).await;
    apex.set_llm(|body| format!("{} messages", body["messages"].as_array().map_or(0, Vec::len)));
    let answer: Value = send_sample(&apex, Some(&SubnetKind::Apex.authorization())).await.json().await.unwrap();
    assert_eq!(answer["choices"][0]["message"]["content"], "1 messages");
    assert_eq!(answer["choices"][0]["finishReason"], "stop", "protobuf JSON is camelCase: {answer}");
    assert!(answer["created"].is_string(), "int64 is a string in protobuf JSON: {answer}");
    assert!(answer.get("usage").is_none(), "Apex reports no usage");
}

/// The endpoint record at `netuid`'s `endpoint/<name>`.
fn read_endpoint(ledger: &Ledger, netuid: u16, name: &str) -> ledger::record::Endpoint {
    let key = Key::new(Namespace::Subnet(netuid), format!("endpoint/{name}")).unwrap();
    match Record::decode(&key, &ledger.get(&key).unwrap().expect("the endpoint is registered")).unwrap() {
        Record::Endpoint(endpoint) => endpoint,
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn register_subnets_points_endpoints_at_the_servers() {
    let desearch = SubnetServer::start(SubnetKind::Desearch).await;
    let chutes = SubnetServer::start(SubnetKind::Chutes).await;
    let mut test = test_ledger(&[&desearch, &chutes]);

    let source: Value = serde_json::from_str(&std::fs::read_to_string(sources_dir().join("sn022-desearch.json")).unwrap()).unwrap();
    let ai_search = read_endpoint(&test.ledger, 22, "ai-search");
    assert_eq!(ai_search.url, format!("{}/desearch/ai/search", desearch.base_url()));
    assert_eq!(ai_search.input_schema.0, source["endpoints"]["ai-search"]["input_schema"]);
    assert_eq!(ai_search.output_schema.0, source["endpoints"]["ai-search"]["output_schema"]);
    assert!(read_endpoint(&test.ledger, 64, "list-models").url.starts_with(&chutes.base_url()));
    // Kinds without a server keep their real URLs.
    assert!(read_endpoint(&test.ledger, 1, "chat-completion").url.starts_with("https://constellation.api.cloud.macrocosmos.ai/"));

    // The registered URL reaches the server.
    let chat = read_endpoint(&test.ledger, 64, "chat-completions");
    let (_, body) = sample_request(SubnetKind::Chutes);
    let response =
        reqwest::Client::new().post(&chat.url).header(AUTHORIZATION, SubnetKind::Chutes.authorization()).json(&body).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    let version = test.ledger.head().version;
    let mirror = register_mirror(&mut test.ledger, 200, "Mirror Search", &desearch);
    assert_eq!(mirror.version, version + 1);
    let identity_key = Key::new(Namespace::Subnet(200), "identity").unwrap();
    let Record::Identity(identity) = Record::decode(&identity_key, &test.ledger.get(&identity_key).unwrap().unwrap()).unwrap() else {
        panic!("an identity record")
    };
    assert_eq!((identity.name.as_str(), identity.capabilities), ("Mirror Search", vec!["web-search".to_owned(), "x-search".to_owned()]));
    let mirrored = read_endpoint(&test.ledger, 200, "x-search");
    assert_eq!(mirrored.url, format!("{}/twitter", desearch.base_url()));
    assert_eq!(mirrored.output_schema, read_endpoint(&test.ledger, 22, "x-search").output_schema);

    set_health(&mut test.ledger, 200, "x-search", HealthStatus::Degraded, 850, 900_000);
    let health_key = Key::new(Namespace::Subnet(200), "health/x-search").unwrap();
    let Record::Health(health) = Record::decode(&health_key, &test.ledger.get(&health_key).unwrap().unwrap()).unwrap() else {
        panic!("a health record")
    };
    assert_eq!((health.status, health.latency_ms_p50, health.success_ppm), (HealthStatus::Degraded, 850, 900_000));
}
