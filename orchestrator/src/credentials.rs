//! Credentials for the subnets' APIs: keys and LLM models per netuid, read from the
//! environment (the node's TOML configuration sets the same variables).
//!
//! A key for subnet N is read from `ORCHESTRA_SN<N>_KEY`, or else from the name its operator
//! documents (`DESEARCH_API_KEY` for 22, `MACROCOSMOS_API_KEY` for 1 and 13, `CHUTES_API_KEY`
//! for 64). An LLM subnet's model is read from `ORCHESTRA_SN<N>_MODEL`.

use std::collections::BTreeMap;

/// Keys named by the subnets' own documentation, as fallbacks for `ORCHESTRA_SN<N>_KEY`.
const OPERATOR_KEY_NAMES: [(u16, &str); 4] = [(1, "MACROCOSMOS_API_KEY"), (13, "MACROCOSMOS_API_KEY"), (22, "DESEARCH_API_KEY"), (64, "CHUTES_API_KEY")];

/// The model asked of Chutes when none is configured: one that supports JSON-schema output.
pub const DEFAULT_CHUTES_MODEL: &str = "deepseek-ai/DeepSeek-V3-0324";

/// The variable holding subnet `netuid`'s key.
pub fn key_env(netuid: u16) -> String {
    format!("ORCHESTRA_SN{netuid}_KEY")
}

#[derive(Clone, Debug, Default)]
pub struct Credentials {
    keys: BTreeMap<u16, String>,
    models: BTreeMap<u16, String>,
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
                    "KEY" => credentials.keys.insert(netuid, value),
                    _ => credentials.models.insert(netuid, value),
                };
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

    pub fn with_key(mut self, netuid: u16, key: impl Into<String>) -> Credentials {
        self.keys.insert(netuid, key.into());
        self
    }

    pub fn key(&self, netuid: u16) -> Option<&str> {
        self.keys.get(&netuid).map(String::as_str)
    }

    /// The model to ask of subnet `netuid`; Chutes has a default.
    pub fn model(&self, netuid: u16) -> Option<&str> {
        self.models.get(&netuid).map(String::as_str).or((netuid == 64).then_some(DEFAULT_CHUTES_MODEL))
    }
}

/// `ORCHESTRA_SN<N>_KEY` or `ORCHESTRA_SN<N>_MODEL` as `(N, "KEY" | "MODEL")`.
fn subnet_setting(name: &str) -> Option<(u16, &str)> {
    let rest = name.strip_prefix("ORCHESTRA_SN")?;
    let (netuid, setting) = rest.split_once('_')?;
    let netuid = netuid.parse().ok().filter(|_| !netuid.starts_with('+'))?;
    matches!(setting, "KEY" | "MODEL").then_some((netuid, setting))
}
