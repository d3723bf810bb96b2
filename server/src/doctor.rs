//! `orchestra doctor`: checks what `orchestra serve` would run with, the same settings read the
//! same way, and says what to fix.
//!
//! Terms:
//! - **finding**: one checked fact, `ok`, `warn` (the node runs, but not as it could) or `fail`
//!   (something it is asked to do cannot work), with the fix when there is one.
//! - **topics**: the ledger (opens and checks, or the built-in genesis when there is none yet or
//!   a running node holds it), the hotkey (and its file's permissions), the subnet keys (which
//!   capabilities they make routable, which variable each missing one needs, keys withheld from
//!   hosts they are not bound to), each routable endpoint's host (reached through the outbound
//!   guard, without any key: any HTTP answer counts), the chain (`--chain-url`), and settings
//!   that expose the node (a public listener with no fee, free orchestrations, no payee).
//!
//! Nothing is written: no ledger is seeded, no hotkey made. The exit status is 1 when any
//! finding fails.

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use clap::Args;
use ledger::hotkey::Hotkey;
use ledger::{Ledger, Options};
use orchestrator::orchestrate::Orchestrator;
use orchestrator::outbound::{describe, Origin};
use orchestrator::route::{key_hints, Catalog};

use crate::cli::CliError;
use crate::identity;
use crate::node;
use crate::serve::{runtime, ServeArgs};

/// How long one reachability check or the chain connection may take.
const CHECK_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Args)]
pub struct DoctorArgs {
    #[command(flatten)]
    serve: ServeArgs,
    /// Skip the checks that reach the network (endpoints, chain).
    #[arg(long)]
    offline: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Level {
    Ok,
    Warn,
    Fail,
}

struct Finding {
    level: Level,
    topic: &'static str,
    text: String,
    fix: Option<String>,
}

impl Finding {
    fn ok(topic: &'static str, text: impl Into<String>) -> Finding {
        Finding { level: Level::Ok, topic, text: text.into(), fix: None }
    }

    fn warn(topic: &'static str, text: impl Into<String>, fix: impl Into<String>) -> Finding {
        Finding { level: Level::Warn, topic, text: text.into(), fix: Some(fix.into()) }
    }

    fn fail(topic: &'static str, text: impl Into<String>, fix: impl Into<String>) -> Finding {
        Finding { level: Level::Fail, topic, text: text.into(), fix: Some(fix.into()) }
    }
}

impl DoctorArgs {
    pub fn run(self, data: &Path) -> Result<(), CliError> {
        let runtime = runtime()?;
        let mut findings = Vec::new();
        let (ledger, _scratch) = self.ledger(data, &mut findings)?;
        let hotkey = self.hotkey(data, &mut findings)?;
        let orchestrator = self.serve.orchestrator.orchestrator_signed_by(hotkey)?;
        let catalog = Catalog::read(&ledger)?;
        findings.extend(keys(&catalog, &orchestrator));
        if !self.offline {
            findings.extend(runtime.block_on(reachability(&catalog, &orchestrator)));
            findings.push(runtime.block_on(self.chain()));
        }
        findings.extend(self.settings());
        let failed = findings.iter().any(|finding| finding.level == Level::Fail);
        for finding in &findings {
            let level = match finding.level {
                Level::Ok => "ok  ",
                Level::Warn => "warn",
                Level::Fail => "FAIL",
            };
            println!("{level}  {}: {}", finding.topic, finding.text);
            if let Some(fix) = &finding.fix {
                println!("      fix: {fix}");
            }
        }
        if failed {
            return Err(CliError::Usage("doctor found problems to fix (the FAIL lines above)".into()));
        }
        Ok(())
    }

    /// The ledger `serve` would open, or the built-in genesis in a scratch directory when there
    /// is none yet or another process holds it.
    fn ledger(&self, data: &Path, findings: &mut Vec<Finding>) -> Result<(Ledger, Option<tempfile::TempDir>), CliError> {
        let genesis = |findings: &mut Vec<Finding>, finding: Finding| -> Result<(Ledger, Option<tempfile::TempDir>), CliError> {
            findings.push(finding);
            let scratch = tempfile::tempdir().map_err(|source| CliError::Read { path: "a temporary directory".into(), source })?;
            let (ledger, _) = node::open_or_seed(&scratch.path().join("genesis"), Options::default())?;
            Ok((ledger, Some(scratch)))
        };
        if !data.exists() {
            let text = format!("no ledger yet at {}: `orchestra serve` seeds it from the built-in genesis (checked below)", data.display());
            return genesis(findings, Finding::ok("ledger", text));
        }
        match Ledger::open(data, Options::default()) {
            Ok(ledger) => {
                let head = ledger.head();
                let finality = ledger.finality()?;
                let final_note = finality.latest_final.map_or_else(|| "no validator set".to_owned(), |checkpoint| format!("final at version {}", checkpoint.version));
                findings.push(Finding::ok("ledger", format!("{} opens and checks: version {}, root {}, {final_note}", data.display(), head.version, head.state_root)));
                let upgrade = crate::upgrade::Upgrade::plan(&ledger)?;
                if !upgrade.upgraded.is_empty() || !upgrade.capabilities.is_empty() {
                    let text = format!(
                        "{} endpoint records predate invocation specs and {} capabilities predate capability records: they are not routed or planned",
                        upgrade.upgraded.len(),
                        upgrade.capabilities.len()
                    );
                    findings.push(Finding::warn("ledger", text, "stop the node and run `orchestra ledger upgrade`"));
                }
                Ok((ledger, None))
            }
            Err(error) if error.to_string().to_lowercase().contains("lock") => {
                let text = format!("{} is held by another process (a running node?): checked the built-in genesis instead", data.display());
                genesis(findings, Finding::warn("ledger", text, "stop the node to check its own ledger, or read it over the API"))
            }
            Err(error) => {
                findings.push(Finding::fail("ledger", format!("{} does not open: {error}", data.display()), "restore it from a snapshot (`orchestra snapshot import`), or move it away to start from genesis"));
                let scratch = tempfile::tempdir().map_err(|source| CliError::Read { path: "a temporary directory".into(), source })?;
                let (ledger, _) = node::open_or_seed(&scratch.path().join("genesis"), Options::default())?;
                Ok((ledger, Some(scratch)))
            }
        }
    }

    /// The hotkey that would sign receipts, or a throwaway one when `serve` would make it.
    fn hotkey(&self, data: &Path, findings: &mut Vec<Finding>) -> Result<Hotkey, CliError> {
        let source = &self.serve.orchestrator.hotkey;
        let configured = match source.configured() {
            Ok(hotkey) => hotkey,
            Err(error) => {
                findings.push(Finding::fail(
                    "hotkey",
                    error.to_string(),
                    "give --wallet and --hotkey naming an unencrypted btcli hotkey readable by its owner only, --hotkey-file a file holding a 32-byte seed as 64 hex digits, or set ORCHESTRA_HOTKEY_SEED",
                ));
                None
            }
        };
        let (hotkey, kept_in) = match configured {
            Some(hotkey) => (hotkey, source.hotkey_file.clone()),
            None => match identity::kept_hotkey(data)? {
                Some(hotkey) => (hotkey, Some(identity::kept_hotkey_path(data))),
                None => {
                    findings.push(Finding::ok("hotkey", format!("none yet: `orchestra serve` makes one in {}", identity::kept_hotkey_path(data).display())));
                    return Ok(random_hotkey());
                }
            },
        };
        findings.push(Finding::ok("hotkey", format!("receipts are signed by {}", hotkey.ss58())));
        if let Some(path) = kept_in {
            if let Ok(metadata) = std::fs::metadata(&path) {
                if metadata.permissions().mode() & 0o077 != 0 {
                    findings.push(Finding::fail("hotkey", format!("{} can be read by other users (mode {:o})", path.display(), metadata.permissions().mode() & 0o777), format!("chmod 600 {}", path.display())));
                }
            }
        }
        Ok(hotkey)
    }

    async fn chain(&self) -> Finding {
        let Some(url) = &self.serve.chain_url else {
            return Finding::ok("chain", "not configured: x402 payments, registered proposers and the metagraph need --chain-url");
        };
        let guard = match self.serve.orchestrator.outbound.guard() {
            Ok(guard) => guard,
            Err(error) => return Finding::fail("chain", error.to_string(), "check the outbound settings"),
        };
        match tokio::time::timeout(CHECK_TIMEOUT, subnet::chain::ChainClient::connect(&guard, url)).await {
            Ok(Ok(chain)) => Finding::ok("chain", format!("connected to {url}, genesis {:?}", chain.genesis_hash())),
            Ok(Err(error @ subnet::chain::ChainError::Refused { .. })) => Finding::fail("chain", error.to_string(), "a node on this machine or a private network needs its address allowed: --allow-operator-address 127.0.0.1 (or its range)"),
            Ok(Err(error)) => Finding::fail("chain", format!("cannot connect to {url}: {error}"), "check --chain-url (a subtensor node's ws:// or wss:// URL) and that the node runs"),
            Err(_) => Finding::fail("chain", format!("no answer from {url} within {} s", CHECK_TIMEOUT.as_secs()), "check --chain-url and the network"),
        }
    }

    fn settings(&self) -> Vec<Finding> {
        let serve = &self.serve;
        let mut findings = Vec::new();
        let public = !serve.listen.ip().is_loopback();
        if public && serve.orchestrate_fee_rao == 0 && !serve.free_orchestrations {
            findings.push(Finding::warn("settings", format!("{} is public and charges no fee, so unpaid orchestrations are refused", serve.listen), "set --orchestrate-fee-rao, or --free-orchestrations to serve anyone"));
        }
        if public && serve.free_orchestrations {
            findings.push(Finding::warn("settings", format!("{} is public with --free-orchestrations: anyone who reaches it spends your subnet keys", serve.listen), "charge a fee (--orchestrate-fee-rao) or listen on loopback"));
        }
        if serve.pay_to.is_some() && serve.chain_url.is_none() {
            findings.push(Finding::fail("settings", "--pay-to is set without --chain-url: x402 payments cannot be settled", "add --chain-url"));
        }
        if (serve.orchestrate_fee_rao > 0 || serve.price_proof_rao > 0) && serve.pay_to.is_none() {
            findings.push(Finding::ok("settings", "paid by API key only (no --pay-to, so no x402 payments)"));
        }
        if serve.orchestrator.tao_usd() == 300.0 {
            findings.push(Finding::warn("settings", "the TAO price is the default 300 USD: subnets' dollar prices are converted with it", "set --tao-usd (ORCHESTRA_TAO_USD) to the market price"));
        }
        if findings.is_empty() {
            findings.push(Finding::ok("settings", format!("listening on {} as configured", serve.listen)));
        }
        findings
    }
}

fn random_hotkey() -> Hotkey {
    use rand::RngCore;
    let mut seed = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut seed);
    Hotkey::from_seed(&seed).expect("any 32 bytes are a seed")
}

/// What the node's keys make routable, and what they do not.
fn keys(catalog: &Catalog, orchestrator: &Orchestrator) -> Vec<Finding> {
    let credentials = orchestrator.credentials();
    let offered = catalog.offered(credentials);
    let unroutable = catalog.unroutable(credentials);
    let mut findings = Vec::new();
    let fallbacks: Vec<&str> = catalog.vocabulary().fallbacks().collect();
    if !offered.is_empty() {
        findings.push(Finding::ok("keys", format!("routable capabilities: {}", offered.iter().cloned().collect::<Vec<_>>().join(", "))));
    }
    if !fallbacks.iter().any(|capability| offered.contains(*capability)) {
        findings.push(Finding::fail(
            "keys",
            format!("no general search is routable ({}): an objective that asks for nothing more specific gets no plan", fallbacks.join(", ")),
            "set one of the keys below in the environment (or the config file) and restart",
        ));
    }
    for hint in key_hints(&unroutable) {
        findings.push(Finding::warn("keys", format!("SN{} {} is not routable without a key", hint.netuid, hint.subnet), hint.to_string()));
    }
    for withheld in unroutable.iter().filter(|listing| listing.withheld_key) {
        findings.push(Finding::fail("keys", format!("SN{} {}: {}", withheld.netuid, withheld.endpoint, withheld.reason), format!("bind the key to that host with {}_HOSTS only if you trust it", orchestrator::credentials::key_env(withheld.netuid))));
    }
    findings
}

/// Whether each host of a routable endpoint answers, reached as subnet calls are (the guard),
/// without any key.
async fn reachability(catalog: &Catalog, orchestrator: &Orchestrator) -> Vec<Finding> {
    let credentials = orchestrator.credentials();
    let mut origins = BTreeSet::new();
    for capability in catalog.offered(credentials) {
        for route in catalog.routes(&capability, credentials, &orchestrator::ranking::Ranking::default()).0 {
            if let Ok(url) = reqwest::Url::parse(&route.listing.endpoint.url) {
                origins.insert((route.listing.netuid, url.origin().ascii_serialization()));
            }
        }
    }
    let guard = orchestrator.guard();
    let checks = origins.into_iter().map(|(netuid, origin)| async move {
        let request = match guard.get(&format!("{origin}/"), Origin::Record) {
            Ok(request) => request,
            Err(refusal) => return Finding::fail("endpoints", format!("SN{netuid} {origin}: refused by the outbound guard: {refusal}"), "fix the endpoint record, or allow the address (--allow-address, --allow-http-host) if you trust it"),
        };
        match tokio::time::timeout(CHECK_TIMEOUT, request.send()).await {
            Ok(Ok(response)) => Finding::ok("endpoints", format!("SN{netuid} {origin} answers (HTTP {})", response.status().as_u16())),
            Ok(Err(error)) => Finding::fail("endpoints", format!("SN{netuid} {origin} cannot be reached: {}", describe(&error)), "check the network, DNS and the subnet's status; calls to it will fail over to other routes"),
            Err(_) => Finding::fail("endpoints", format!("SN{netuid} {origin} did not answer within {} s", CHECK_TIMEOUT.as_secs()), "check the network and the subnet's status"),
        }
    });
    futures::future::join_all(checks).await
}
