//! The outbound guard: every address class of the SSRF list is refused (as a literal and behind
//! a name), a name is resolved once per connection and its checked addresses are the ones
//! connected to, redirects are not followed, bodies are capped, and remote words are cleaned.
//!
//! Names resolve through an injected lookup, so no test sends a packet anywhere but 127.0.0.1.

use std::collections::{BTreeSet, HashMap};
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use orchestrator::credentials::Credentials;
use orchestrator::outbound::address::AddressRange;
use orchestrator::outbound::{excerpt, read_capped, BodyError, Guard, Lookup, Origin, Policy, Refusal};

/// Resolves names from a table; each name's answers are used in turn, the last one repeating.
#[derive(Default)]
struct TableLookup {
    answers: Mutex<HashMap<String, Vec<Vec<IpAddr>>>>,
    lookups: AtomicUsize,
}

impl TableLookup {
    fn with(entries: &[(&str, &[&[&str]])]) -> Arc<TableLookup> {
        let answers = entries
            .iter()
            .map(|(name, answers)| (name.to_string(), answers.iter().map(|answer| answer.iter().map(|address| address.parse().unwrap()).collect()).collect()))
            .collect();
        Arc::new(TableLookup { answers: Mutex::new(answers), lookups: AtomicUsize::new(0) })
    }
}

impl Lookup for TableLookup {
    fn lookup(&self, host: String) -> Pin<Box<dyn Future<Output = std::io::Result<Vec<IpAddr>>> + Send>> {
        self.lookups.fetch_add(1, Ordering::SeqCst);
        let mut answers = self.answers.lock().unwrap();
        let answer = match answers.get_mut(&host) {
            Some(queue) if queue.len() > 1 => Ok(queue.remove(0)),
            Some(queue) => Ok(queue[0].clone()),
            None => Err(std::io::Error::new(std::io::ErrorKind::NotFound, format!("{host} is not in the table"))),
        };
        Box::pin(async move { answer })
    }
}

fn guard(policy: Policy, lookup: Arc<TableLookup>) -> Guard {
    Guard::with_lookup(policy, lookup).unwrap()
}

/// A loopback server counting its requests; `app` answers them.
async fn server(app: axum::Router) -> (u16, Arc<AtomicUsize>) {
    let count = Arc::new(AtomicUsize::new(0));
    let counted = count.clone();
    let app = app.layer(axum::middleware::from_fn(move |request: axum::extract::Request, next: axum::middleware::Next| {
        counted.fetch_add(1, Ordering::SeqCst);
        next.run(request)
    }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (port, count)
}

const FORBIDDEN: [(&str, &str); 20] = [
    ("127.0.0.1", "loopback"),
    ("127.255.0.9", "loopback"),
    ("10.1.2.3", "private"),
    ("172.16.0.1", "private"),
    ("172.31.255.255", "private"),
    ("192.168.1.1", "private"),
    ("169.254.169.254", "link-local"),
    ("100.64.0.1", "carrier-grade NAT"),
    ("0.0.0.0", "this network"),
    ("224.0.0.1", "multicast"),
    ("255.255.255.255", "broadcast"),
    ("::1", "loopback"),
    ("::", "unspecified"),
    ("fc00::1", "unique local"),
    ("fd12:3456::1", "unique local"),
    ("fe80::1", "link-local"),
    ("ff02::1", "multicast"),
    ("::ffff:127.0.0.1", "loopback"),
    ("::ffff:169.254.169.254", "link-local"),
    ("64:ff9b::a9fe:a9fe", "link-local"),
];

#[test]
fn every_forbidden_address_class_is_refused_as_a_literal() {
    let guard = guard(Policy::default(), TableLookup::with(&[]));
    for (address, class) in FORBIDDEN {
        let host = if address.contains(':') { format!("[{address}]") } else { address.to_owned() };
        let refusal = guard.check(&format!("https://{host}/v1"), Origin::Record).expect_err(address);
        match &refusal {
            Refusal::Address { address: refused, class: reason, .. } => {
                assert_eq!(*refused, address.parse::<IpAddr>().unwrap());
                assert!(reason.contains(class), "{address}: {reason}");
            }
            other => panic!("{address}: refused for the wrong reason: {other}"),
        }
        // Axons and the operator's URLs are held to the same addresses.
        assert!(matches!(guard.check(&format!("http://{host}:8091/"), Origin::Axon), Err(Refusal::Address { .. })), "{address}");
    }
    assert_eq!(guard.refused(), 2 * FORBIDDEN.len() as u64, "each refusal is counted");
    for public in ["8.8.8.8", "1.1.1.1", "[2606:4700:4700::1111]", "[2002:808:808::1]"] {
        guard.check(&format!("https://{public}/"), Origin::Record).unwrap_or_else(|refusal| panic!("{public}: {refusal}"));
    }
}

#[test]
fn schemes_follow_the_origin() {
    let policy = Policy { plain_http_hosts: BTreeSet::from(["api.partner.test".to_owned()]), ..Policy::default() };
    let guard = guard(policy, TableLookup::with(&[]));
    guard.check("https://api.desearch.ai/search", Origin::Record).unwrap();
    assert_eq!(
        guard.check("http://api.desearch.ai/search", Origin::Record).unwrap_err(),
        Refusal::PlainHttp { origin: Origin::Record, host: "api.desearch.ai".into() }
    );
    guard.check("http://api.partner.test/v1", Origin::Record).expect("the operator allowed plain http to this host");
    guard.check("http://8.8.4.4:8091", Origin::Axon).expect("axons are plain http, as Bittensor serves them");
    guard.check("wss://entrypoint-finney.opentensor.ai:443", Origin::Operator).unwrap();
    for (url, origin) in [("file:///etc/passwd", Origin::Record), ("gopher://8.8.8.8/", Origin::Axon), ("ws://8.8.8.8/", Origin::Record), ("ftp://8.8.8.8/", Origin::Operator)] {
        assert!(matches!(guard.check(url, origin), Err(Refusal::Scheme { .. } | Refusal::BadUrl(_))), "{url}");
    }
    assert_eq!(guard.check("https://user:secret@api.desearch.ai/", Origin::Record).unwrap_err(), Refusal::Credentials);
    assert!(matches!(guard.check("not a url", Origin::Record), Err(Refusal::BadUrl(_))));
}

#[tokio::test]
async fn a_name_resolving_to_a_forbidden_address_is_never_connected_to() {
    let lookup = TableLookup::with(&[("metadata.attacker.test", &[&["169.254.169.254"]]), ("mixed.attacker.test", &[&["8.8.8.8", "10.0.0.7"]])]);
    let guard = guard(Policy::default(), lookup.clone());
    for (host, address) in [("metadata.attacker.test", "169.254.169.254"), ("mixed.attacker.test", "10.0.0.7")] {
        let error = guard.get(&format!("https://{host}/latest/meta-data/"), Origin::Record).unwrap().send().await.expect_err(host);
        let reason = orchestrator::outbound::describe(&error);
        assert!(reason.contains(address), "{host}: {reason}");
    }
    assert_eq!(lookup.lookups.load(Ordering::SeqCst), 2);
    assert_eq!(guard.refused(), 2, "a name with one forbidden address is refused whole");
}

#[tokio::test]
async fn each_connection_goes_to_the_addresses_its_lookup_checked() {
    // The server closes every connection, so each request makes a new one and resolves again.
    let (port, requests) = server(axum::Router::new().route("/", axum::routing::get(|| async { ([(header::CONNECTION, "close")], "ok") }))).await;
    // The first answer is the loopback server (allowed here); the rebound one a private address.
    let lookup = TableLookup::with(&[("rebind.attacker.test", &[&["127.0.0.1"], &["10.0.0.1"]])]);
    let policy = Policy { plain_http_hosts: BTreeSet::from(["rebind.attacker.test".to_owned()]), ..Policy::loopback() };
    let guard = guard(policy, lookup.clone());
    let url = format!("http://rebind.attacker.test:{port}/");
    let first = guard.get(&url, Origin::Record).unwrap().send().await.unwrap();
    assert_eq!(first.text().await.unwrap(), "ok");
    let second = guard.get(&url, Origin::Record).unwrap().send().await.expect_err("the rebound name is refused");
    assert!(orchestrator::outbound::describe(&second).contains("10.0.0.1"), "{second}");
    assert_eq!(lookup.lookups.load(Ordering::SeqCst), 2, "one lookup per connection");
    assert_eq!(requests.load(Ordering::SeqCst), 1, "only the checked address was reached");
}

#[tokio::test]
async fn redirects_are_answered_not_followed() {
    let (target_port, target_requests) = server(axum::Router::new().route("/secret", axum::routing::get(|| async { "internal" }))).await;
    let location = format!("http://127.0.0.1:{target_port}/secret");
    let (port, _) = server(axum::Router::new().route("/", axum::routing::get(move || async move { (StatusCode::FOUND, [(header::LOCATION, location)]).into_response() }))).await;
    let guard = guard(Policy::loopback(), TableLookup::with(&[]));
    let response = guard.get(&format!("http://127.0.0.1:{port}/"), Origin::Record).unwrap().send().await.unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(target_requests.load(Ordering::SeqCst), 0, "the redirect's target was never called");
}

#[tokio::test]
async fn bodies_past_the_cap_are_refused() {
    let (port, _) = server(axum::Router::new().route("/big", axum::routing::get(|| async { "x".repeat(10_000) }))).await;
    let guard = guard(Policy::loopback(), TableLookup::with(&[]));
    let fetch = || async { guard.get(&format!("http://127.0.0.1:{port}/big"), Origin::Record).unwrap().send().await.unwrap() };
    assert!(matches!(read_capped(fetch().await, 9_999).await, Err(BodyError::TooLarge(9_999))));
    assert_eq!(read_capped(fetch().await, 10_000).await.unwrap().len(), 10_000);
}

#[test]
fn remote_words_reach_callers_short_and_clean() {
    let hostile = "error:\u{1b}[31m secret\r\nX-Injected: yes\u{0}\t".to_owned() + &"a".repeat(1000);
    let clean = excerpt(hostile.as_bytes());
    assert!(clean.chars().all(|c| !c.is_control()), "{clean:?}");
    assert!(clean.starts_with("error: [31m secret X-Injected: yes aaa"), "{clean:?}");
    assert!(clean.chars().count() <= 161, "{} characters", clean.chars().count());
    assert_eq!(excerpt(b"  short  "), "short");
}

#[test]
fn address_ranges_parse_and_match() {
    let range: AddressRange = "10.0.0.0/8".parse().unwrap();
    assert!(range.contains("10.200.3.4".parse().unwrap()));
    assert!(range.contains("::ffff:10.0.0.1".parse().unwrap()), "mapped forms match their IPv4 range");
    assert!(!range.contains("11.0.0.1".parse().unwrap()));
    let single: AddressRange = "127.0.0.1".parse().unwrap();
    assert!(single.contains("127.0.0.1".parse().unwrap()) && !single.contains("127.0.0.2".parse().unwrap()));
    let v6: AddressRange = "fd00::/8".parse().unwrap();
    assert!(v6.contains("fd12::1".parse().unwrap()) && !v6.contains("fe80::1".parse().unwrap()));
    for bad in ["10.0.0.0/33", "fd00::/129", "nonsense", "10.0.0.0/x"] {
        assert!(bad.parse::<AddressRange>().is_err(), "{bad}");
    }
    let allowed = Policy { allowed_ranges: vec![range], ..Policy::default() };
    assert_eq!(allowed.refuses("10.1.1.1".parse().unwrap(), Origin::Record), None, "the operator's range is allowed");
    assert!(allowed.refuses("192.168.0.1".parse().unwrap(), Origin::Record).is_some(), "other private ranges are not");
}

/// A key goes only to the hosts it is bound to: by host, or by host and port.
#[test]
fn keys_go_only_to_their_bound_hosts() {
    let credentials = Credentials::default().with_key(22, "dk", ["api.desearch.ai"]).with_key(13, "mk", ["127.0.0.1:8443"]);
    assert_eq!(credentials.key_for(22, "https://api.desearch.ai/desearch/ai/search").unwrap(), Some("dk"));
    assert_eq!(credentials.key_for(22, "https://API.Desearch.ai:443/x").unwrap(), Some("dk"), "hosts compare without case");
    let refused = credentials.key_for(22, "https://api.desearch.ai.attacker.test/search").unwrap_err();
    assert_eq!((refused.netuid, refused.host.as_str(), refused.bound.as_slice()), (22, "api.desearch.ai.attacker.test:443", &["api.desearch.ai".to_owned()][..]));
    assert_eq!(credentials.key_for(13, "http://127.0.0.1:8443/api").unwrap(), Some("mk"));
    assert!(credentials.key_for(13, "http://127.0.0.1:9000/api").is_err(), "a port binding holds only for its port");
    assert_eq!(credentials.key_for(64, "https://llm.chutes.ai/v1").unwrap(), None, "no key, nothing to withhold");

    // From the environment: bound by KEY_HOSTS, else by the defaults (the genesis hosts), else to nothing.
    let vars = [("ORCHESTRA_SN22_KEY", "dk"), ("ORCHESTRA_SN22_KEY_HOSTS", "api.desearch.ai, Backup.Desearch.ai"), ("CHUTES_API_KEY", "ck"), ("ORCHESTRA_SN7_KEY", "sk")];
    let defaults = [(64, BTreeSet::from(["llm.chutes.ai".to_owned()])), (22, BTreeSet::from(["ignored.example".to_owned()]))].into_iter().collect();
    let credentials = Credentials::from_vars(vars.map(|(name, value)| (name.to_owned(), value.to_owned()))).bind_unbound(&defaults);
    assert_eq!(credentials.key_for(22, "https://backup.desearch.ai/").unwrap(), Some("dk"));
    assert!(credentials.key_for(22, "https://ignored.example/").is_err(), "configured hosts replace the defaults");
    assert_eq!(credentials.key_for(64, "https://llm.chutes.ai/v1/chat/completions").unwrap(), Some("ck"));
    assert!(credentials.key_for(7, "https://anything.example/").is_err(), "a key with no hosts goes nowhere");
    assert!(!format!("{credentials:?}").contains("dk"), "keys never show in debug output");
}

/// A range the operator allows for its own URLs only (a primary ledger node on a private
/// network) is not opened to the URLs miners write: a ledger record or an axon naming a host
/// there is refused before any connection, while the operator's URL to the same host is called.
#[tokio::test]
async fn an_operator_only_range_stays_closed_to_records_and_axons() {
    let (port, requests) = server(axum::Router::new().route("/v1/head", axum::routing::get(|| async { "{}" }))).await;
    let lookup = TableLookup::with(&[("ledger.internal", &[&["127.0.0.1"]])]);
    let policy = Policy { operator_ranges: vec!["127.0.0.1".parse().unwrap()], plain_http_hosts: BTreeSet::from(["ledger.internal".to_owned()]), ..Policy::default() };
    let guard = guard(policy, lookup);
    let url = format!("http://ledger.internal:{port}/v1/head");

    let answer = guard.get(&url, Origin::Operator).unwrap().send().await.expect("the operator's own URL is called");
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(requests.load(Ordering::SeqCst), 1);

    for origin in [Origin::Record, Origin::Axon] {
        let error = guard.get(&url, origin).unwrap().send().await.expect_err("a miner's URL to the operator's range is refused");
        assert!(orchestrator::outbound::describe(&error).contains("loopback"), "{origin}: {error}");
        assert!(matches!(guard.check(&format!("https://127.0.0.1:{port}/"), origin), Err(Refusal::Address { .. })), "{origin}: a literal is refused too");
    }
    assert_eq!(requests.load(Ordering::SeqCst), 1, "nothing reached the operator's server from a record or an axon");
}
