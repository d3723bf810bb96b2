//! What `orchestra serve` prints after `listening on ADDR`: where the explorer and the API are,
//! the ledger it serves, and which subnet keys would make capabilities routable, so that a
//! first run says what to do next.

use std::net::SocketAddr;

use ledger::Ledger;
use orchestrator::orchestrate::Orchestrator;
use orchestrator::route::{key_hints, Catalog};

/// The facts the greeting tells, read before the node serves.
pub struct Greeting {
    seeded: bool,
    version: u64,
    subnets: usize,
    offered: Vec<String>,
    /// The capabilities planned for objectives that ask for nothing more specific, and whether
    /// one of them is routable.
    fallbacks: Vec<String>,
    general: bool,
    hints: Vec<String>,
    upgradable: usize,
    /// Capabilities the ledger's endpoints offer without a record, which the upgrade brings.
    undescribed: usize,
}

impl Greeting {
    /// Reads the ledger's routing view with the node's keys.
    pub fn read(ledger: &Ledger, orchestrator: &Orchestrator, seeded: bool) -> ledger::Result<Greeting> {
        let catalog = Catalog::read(ledger)?;
        let credentials = orchestrator.credentials();
        let offered: Vec<String> = catalog.offered(credentials).into_iter().collect();
        let fallbacks: Vec<String> = catalog.vocabulary().fallbacks().map(str::to_owned).collect();
        let general = fallbacks.iter().any(|capability| offered.contains(capability));
        let hints = key_hints(&catalog.unroutable(credentials)).iter().map(ToString::to_string).collect();
        let subnets = ledger.state().namespaces().filter(|(namespace, _)| matches!(namespace, ledger::Namespace::Subnet(_))).count();
        let upgrade = crate::upgrade::Upgrade::plan(ledger)?;
        Ok(Greeting { seeded, version: ledger.head().version, subnets, offered, fallbacks, general, hints, upgradable: upgrade.upgraded.len(), undescribed: upgrade.capabilities.len() })
    }

    /// The lines, for a node listening on `address`.
    pub fn lines(&self, address: SocketAddr) -> Vec<String> {
        let base = format!("http://{address}");
        let origin = if self.seeded { ", seeded from the built-in genesis" } else { "" };
        let mut lines = vec![
            format!("explorer: {base}/"),
            format!("API: POST {base}/v1/orchestrate, described at {base}/openapi.json"),
            format!("ledger: version {}, {} subnets{origin}", self.version, self.subnets),
        ];
        if self.upgradable > 0 {
            lines.push(format!(
                "ledger: {} endpoint records predate invocation specs and are not routed; stop the node and run `orchestra ledger upgrade`",
                self.upgradable
            ));
        }
        if self.undescribed > 0 {
            lines.push(format!(
                "ledger: {} capabilities predate capability records and are not planned; stop the node and run `orchestra ledger upgrade`",
                self.undescribed
            ));
        }
        if !self.offered.is_empty() {
            lines.push(format!("orchestration: routable capabilities: {}", self.offered.join(", ")));
        }
        if !self.general {
            lines.push(format!(
                "orchestration: no general search is routable yet ({}), so most objectives get no plan; set a subnet key in the environment and restart:",
                self.fallbacks.join(", ")
            ));
        } else if !self.hints.is_empty() {
            lines.push("more capabilities with these subnet keys (set in the environment, then restart):".into());
        }
        lines.extend(self.hints.iter().map(|hint| format!("  {hint}")));
        lines
    }
}
