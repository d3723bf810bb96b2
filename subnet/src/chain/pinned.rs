//! The chain's WebSocket over a connection the outbound guard checked.
//!
//! subxt's own client resolves a chain URL itself, and its WebSocket handshake follows
//! redirects, neither through the guard. So the connection is made here: TCP to an address the
//! guard checked (see `Guard::resolve`), TLS over it for `wss://` verifying the URL's own host
//! name with the platform's roots, then the WebSocket handshake with no redirect followed, and
//! the JSON-RPC client subxt uses on top. A second DNS answer cannot move the connection, and
//! a chain node that answers with a redirect is refused.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use jsonrpsee::client_transport::ws::{Url, WsTransportClientBuilder};
use jsonrpsee::core::client::Client;

/// Longest the TCP connection, TLS and handshake may take, per address tried.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A JSON-RPC client for `url` (`ws://` or `wss://`), connected to the first of `addresses`
/// that answers.
pub(super) async fn client(url: &reqwest::Url, addresses: &[IpAddr]) -> Result<Client, String> {
    let port = url.port_or_known_default().ok_or_else(|| format!("{url} names no port"))?;
    let transport_url = Url::parse(url.as_str()).map_err(|error| error.to_string())?;
    let mut failures = Vec::new();
    for address in addresses {
        let socket = SocketAddr::new(*address, port);
        match tokio::time::timeout(CONNECT_TIMEOUT, connect(url, transport_url.clone(), socket)).await {
            Ok(Ok(client)) => return Ok(client),
            Ok(Err(error)) => failures.push(format!("{socket}: {error}")),
            Err(_) => failures.push(format!("{socket}: no connection within {} s", CONNECT_TIMEOUT.as_secs())),
        }
    }
    Err(failures.join("; "))
}

async fn connect(url: &reqwest::Url, transport_url: Url, socket: SocketAddr) -> Result<Client, String> {
    let tcp = tokio::net::TcpStream::connect(socket).await.map_err(|error| error.to_string())?;
    tcp.set_nodelay(true).map_err(|error| error.to_string())?;
    match url.scheme() {
        "ws" => over(transport_url, tcp).await,
        "wss" => {
            let host = url.host_str().unwrap_or_default().trim_start_matches('[').trim_end_matches(']').to_owned();
            let name = rustls::pki_types::ServerName::try_from(host).map_err(|error| error.to_string())?;
            let tls = tls_connector().connect(name, tcp).await.map_err(|error| error.to_string())?;
            over(transport_url, tls).await
        }
        scheme => Err(format!("the chain is reached over ws:// or wss://, not {scheme}://")),
    }
}

/// The WebSocket handshake over `stream`, following no redirect, and the client on top.
async fn over<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static>(url: Url, stream: S) -> Result<Client, String> {
    let (sender, receiver) = WsTransportClientBuilder::default().max_redirections(0).build_with_stream(url, stream).await.map_err(|error| error.to_string())?;
    Ok(Client::builder().max_buffer_capacity_per_subscription(4096).build_with_tokio(sender, receiver))
}

fn tls_connector() -> tokio_rustls::TlsConnector {
    use rustls_platform_verifier::ConfigVerifierExt;
    // The provider subxt's stack uses; installing it twice is harmless.
    let _ = rustls::crypto::ring::default_provider().install_default();
    Arc::new(rustls::ClientConfig::with_platform_verifier()).into()
}
