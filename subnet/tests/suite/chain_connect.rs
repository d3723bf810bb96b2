//! The chain connection goes through the outbound guard like every other call: the operator's
//! chain URL may use ws(s) or http(s), but every address it names or resolves to must be public
//! or in a range the operator allowed, and it is checked before any connection. Names resolve
//! through an injected lookup, so no packet leaves 127.0.0.0/8.

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;

use orchestrator::outbound::{Guard, Lookup, Policy, Refusal};
use subnet::chain::{ChainClient, ChainError};

/// Resolves every name to one address.
struct Everything(IpAddr);

impl Lookup for Everything {
    fn lookup(&self, _host: String) -> Pin<Box<dyn Future<Output = std::io::Result<Vec<IpAddr>>> + Send>> {
        let address = self.0;
        Box::pin(async move { Ok(vec![address]) })
    }
}

fn guard(policy: Policy, resolves_to: &str) -> Guard {
    Guard::with_lookup(policy, Arc::new(Everything(resolves_to.parse().unwrap()))).unwrap()
}

async fn refusal(guard: &Guard, url: &str) -> Refusal {
    match ChainClient::connect(guard, url).await {
        Err(ChainError::Refused { refusal, .. }) => refusal,
        Err(other) => panic!("{url}: refused for the wrong reason: {other}"),
        Ok(_) => panic!("{url}: connected"),
    }
}

#[tokio::test]
async fn a_chain_url_at_an_address_the_operator_did_not_allow_is_never_connected_to() {
    let guard = guard(Policy::default(), "10.0.0.7");
    for (url, address) in [("ws://127.0.0.1:9944", "127.0.0.1"), ("wss://[::1]:443", "::1"), ("ws://subtensor.internal:9944", "10.0.0.7"), ("wss://metadata.attacker.test", "10.0.0.7")] {
        match refusal(&guard, url).await {
            Refusal::Address { address: refused, .. } => assert_eq!(refused, address.parse::<IpAddr>().unwrap(), "{url}"),
            other => panic!("{url}: {other}"),
        }
    }
    assert!(matches!(refusal(&guard, "ftp://127.0.0.1/").await, Refusal::Scheme { .. }));
    assert!(matches!(refusal(&guard, "ws://user:secret@subtensor.internal:9944").await, Refusal::Credentials));
    assert_eq!(guard.refused(), 6, "each refusal is counted");
}

#[tokio::test]
async fn an_allowed_chain_address_is_connected_to() {
    // Allowed for the operator's own URLs: the connection is attempted (to a closed loopback
    // port, so it fails to connect rather than being refused).
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let policy = Policy { operator_ranges: vec!["127.0.0.1".parse().unwrap()], ..Policy::default() };
    let guard = guard(policy, "127.0.0.1");
    for url in [format!("ws://127.0.0.1:{closed}"), format!("ws://subtensor.internal:{closed}")] {
        match ChainClient::connect(&guard, &url).await {
            Err(ChainError::Connect { .. }) => {}
            Err(other) => panic!("{url}: {other}"),
            Ok(_) => panic!("{url}: nothing listens there"),
        }
    }
    assert_eq!(guard.refused(), 0);
}

/// A chain node that answers the WebSocket handshake with a redirect is refused: the redirect's
/// target, another address, is never connected to.
#[tokio::test]
async fn a_redirect_from_the_chain_node_is_not_followed() {
    let target = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target_port = target.local_addr().unwrap().port();
    let reached = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = reached.clone();
    tokio::spawn(async move {
        while target.accept().await.is_ok() {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    });
    let redirecting = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = redirecting.local_addr().unwrap().port();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut stream, _)) = redirecting.accept().await {
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request).await;
            let answer = format!("HTTP/1.1 301 Moved Permanently\r\nLocation: ws://127.0.0.1:{target_port}/\r\nContent-Length: 0\r\n\r\n");
            let _ = stream.write_all(answer.as_bytes()).await;
        }
    });
    let policy = Policy { operator_ranges: vec!["127.0.0.1".parse().unwrap()], ..Policy::default() };
    match ChainClient::connect(&guard(policy, "127.0.0.1"), &format!("ws://127.0.0.1:{port}")).await {
        Err(ChainError::Connect { .. }) => {}
        Err(other) => panic!("refused for the wrong reason: {other}"),
        Ok(_) => panic!("a redirect is no chain node"),
    }
    assert_eq!(reached.load(std::sync::atomic::Ordering::SeqCst), 0, "the redirect's target was never connected to");
}
