//! Credentials for the subnets' APIs: keys and LLM models per netuid, read from the
//! environment (the node's TOML configuration sets the same variables).
//!
//! A key for subnet N is read from `ORCHESTRA_SN<N>_KEY`, or else from the name its operator
//! documents (`DESEARCH_API_KEY` for 22, `MACROCOSMOS_API_KEY` for 1 and 13, `CHUTES_API_KEY`
//! for 64). An LLM subnet's model is read from `ORCHESTRA_SN<N>_MODEL`.
//!
//! **Bound hosts.** A key is sent only to the hosts it is bound to: `ORCHESTRA_SN<N>_KEY_HOSTS`
//! (comma-separated `host` or `host:port`), or by default the hosts of the subnet's genesis
//! records ([`Credentials::bind_unbound`]). A ledger record that points the subnet elsewhere
//! (miners write records) cannot draw the key out: [`Credentials::key_for`] refuses it.

use std::collections::{BTreeMap, BTreeSet};

/// Keys named by the subnets' own documentation, as fallbacks for `ORCHESTRA_SN<N>_KEY`.
const OPERATOR_KEY_NAMES: [(u16, &str); 4] = [(1, "MACROCOSMOS_API_KEY"), (13, "MACROCOSMOS_API_KEY"), (22, "DESEARCH_API_KEY"), (64, "CHUTES_API_KEY")];

/// The model asked of Chutes when none is configured: one that supports JSON-schema output.
pub const DEFAULT_CHUTES_MODEL: &str = "deepseek-ai/DeepSeek-V3-0324";

/// The variable holding subnet `netuid`'s key.
pub fn key_env(netuid: u16) -> String {
    format!("ORCHESTRA_SN{netuid}_KEY")
}

/// Every variable that can hold subnet `netuid`'s key: [`key_env`], then the name its operator
/// documents, if any.
pub fn key_variables(netuid: u16) -> Vec<String> {
    let documented = OPERATOR_KEY_NAMES.iter().filter(|(subnet, _)| *subnet == netuid).map(|(_, name)| (*name).to_owned());
    std::iter::once(key_env(netuid)).chain(documented).collect()
}

#[derive(Clone, Default)]
pub struct Credentials {
    keys: BTreeMap<u16, String>,
    models: BTreeMap<u16, String>,
    /// The hosts (`host` or `host:port`, lowercase) each subnet's key may be sent to.
    hosts: BTreeMap<u16, BTreeSet<String>>,
}

/// Keys never appear in debug output.
impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials").field("keys_for", &self.keys.keys().collect::<Vec<_>>()).field("models", &self.models).field("hosts", &self.hosts).finish()
    }
}

/// A key that exists but is not bound to the host a route names.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the SN{netuid} key is bound to {}; the endpoint is at {host}", if bound.is_empty() { "no host".to_owned() } else { bound.join(", ") })]
pub struct UnboundHost {
    pub netuid: u16,
    pub host: String,
    pub bound: Vec<String>,
}

impl Credentials {
    /// Reads every subnet's key and model from the environment.
    pub fn from_env() -> Credentials {
        Credentials::from_vars(std::env::vars())
    }

    /// Reads keys and models from `(name, value)` pairs (the environment, or a list in tests).
    /// A per-subnet `ORCHESTRA_SN<N>_KEY` wins over the operator's name for the same subnet.
    pub fn from_vars(vars: impl IntoIterator<Item = (String, String)>) -> Credentials {
        let mut credentials = Credentials::default();
        let mut operator_keys = BTreeMap::new();
        for (name, value) in vars.into_iter().filter(|(_, value)| !value.is_empty()) {
            if let Some((netuid, setting)) = subnet_setting(&name) {
                match setting {
                    "KEY" => {
                        credentials.keys.insert(netuid, value);
                    }
                    "KEY_HOSTS" => {
                        credentials.hosts.insert(netuid, value.split(',').map(|host| host.trim().to_ascii_lowercase()).filter(|host| !host.is_empty()).collect());
                    }
                    _ => {
                        credentials.models.insert(netuid, value);
                    }
                }
            } else {
                for (netuid, _) in OPERATOR_KEY_NAMES.iter().filter(|(_, operator_name)| *operator_name == name) {
                    operator_keys.insert(*netuid, value.clone());
                }
            }
        }
        for (netuid, key) in operator_keys {
            credentials.keys.entry(netuid).or_insert(key);
        }
        credentials
    }

    /// Adds subnet `netuid`'s key, bound to `hosts` (`host` or `host:port`).
    pub fn with_key(mut self, netuid: u16, key: impl Into<String>, hosts: impl IntoIterator<Item = impl Into<String>>) -> Credentials {
        self.keys.insert(netuid, key.into());
        self.hosts.insert(netuid, hosts.into_iter().map(|host| host.into().to_ascii_lowercase()).collect());
        self
    }

    /// Binds every key without configured hosts to `defaults`' hosts for its subnet (the
    /// genesis records'); a key with neither stays bound to nothing and is never sent.
    pub fn bind_unbound(mut self, defaults: &BTreeMap<u16, BTreeSet<String>>) -> Credentials {
        for netuid in self.keys.keys() {
            if !self.hosts.contains_key(netuid) {
                self.hosts.insert(*netuid, defaults.get(netuid).cloned().unwrap_or_default());
            }
        }
        self
    }

    /// The key to send with a request to `url`: `None` without a key, and a refusal when the
    /// key is not bound to the URL's host.
    pub fn key_for(&self, netuid: u16, url: &str) -> Result<Option<&str>, UnboundHost> {
        let Some(key) = self.keys.get(&netuid) else { return Ok(None) };
        let bound = self.hosts.get(&netuid);
        let parsed = reqwest::Url::parse(url).ok();
        let host = parsed.as_ref().and_then(|url| url.host_str()).map(|host| host.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase());
        let port = parsed.as_ref().and_then(reqwest::Url::port_or_known_default);
        let matches = |entry: &String| match (&host, entry.rsplit_once(':')) {
            (Some(host), Some((entry_host, entry_port))) if entry_port.parse::<u16>().is_ok() => entry_host == host && entry_port.parse().ok() == port,
            (Some(host), _) => entry == host,
            (None, _) => false,
        };
        if bound.is_some_and(|bound| bound.iter().any(matches)) {
            return Ok(Some(key));
        }
        let shown = host.map(|host| port.map_or(host.clone(), |port| format!("{host}:{port}"))).unwrap_or_else(|| "an unparsable URL".into());
        Err(UnboundHost { netuid, host: shown, bound: bound.map(|bound| bound.iter().cloned().collect()).unwrap_or_default() })
    }

    /// The model to ask of subnet `netuid`; Chutes has a default.
    pub fn model(&self, netuid: u16) -> Option<&str> {
        self.models.get(&netuid).map(String::as_str).or((netuid == 64).then_some(DEFAULT_CHUTES_MODEL))
    }
}

/// `ORCHESTRA_SN<N>_KEY`, `ORCHESTRA_SN<N>_KEY_HOSTS` or `ORCHESTRA_SN<N>_MODEL` as
/// `(N, "KEY" | "KEY_HOSTS" | "MODEL")`.
fn subnet_setting(name: &str) -> Option<(u16, &str)> {
    let rest = name.strip_prefix("ORCHESTRA_SN")?;
    let (netuid, setting) = rest.split_once('_')?;
    let netuid = netuid.parse().ok().filter(|_| !netuid.starts_with('+'))?;
    matches!(setting, "KEY" | "KEY_HOSTS" | "MODEL").then_some((netuid, setting))
}
