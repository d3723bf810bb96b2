//! `orchestra ledger upgrade`: endpoint records written before invocation specs existed decode
//! as they always did but carry no spec, so they are not routed. This gives each one the spec
//! (or the reason it is not orchestrable) of the built-in genesis' record at the same key, when
//! that record is the same endpoint (same method and URL path; the host may differ, as on a
//! mirror), and commits them as one new version with its checkpoint. Records it cannot match
//! are listed: a spec for them comes as a diff like any other change.

use ledger::record::{Endpoint, Record};
use ledger::{Change, ChangeSet, Key, Ledger, Namespace};
use serde_json::{json, Value};

use crate::cli::CliError;
use crate::{node, present};

/// What an upgrade of the head would change.
pub struct Upgrade {
    /// The records given a spec, by key.
    pub upgraded: Vec<String>,
    /// Records without a spec that the genesis does not describe.
    pub unmatched: Vec<String>,
    changes: Vec<Change>,
}

impl Upgrade {
    /// Reads the head's endpoint records and matches those without a spec with the genesis'.
    pub fn plan(ledger: &Ledger) -> ledger::Result<Upgrade> {
        let genesis = node::genesis_endpoints();
        let head = ledger.head().version;
        let mut upgrade = Upgrade { upgraded: Vec::new(), unmatched: Vec::new(), changes: Vec::new() };
        for namespace in ledger.namespaces_at(head)?.into_iter().filter(|namespace| matches!(namespace, Namespace::Subnet(_))) {
            for (path, value) in ledger.namespace_at(namespace, head)? {
                let key = Key { namespace, path };
                let Ok(Record::Endpoint(mut endpoint)) = Record::decode(&key, &value) else { continue };
                if endpoint.invocation.is_some() || endpoint.not_orchestrable.is_some() {
                    continue;
                }
                let Some(known) = genesis.get(&key).filter(|known| same_endpoint(known, &endpoint)) else {
                    upgrade.unmatched.push(key.to_string());
                    continue;
                };
                endpoint.invocation = known.invocation.clone();
                endpoint.not_orchestrable = known.not_orchestrable.clone();
                let encoded = Record::Endpoint(endpoint).encode();
                // The genesis' spec is checked against this record's own URL (a job's poll must
                // stay on its origin); one that does not fit is left for a diff.
                match Record::decode(&key, &encoded) {
                    Ok(_) => {
                        upgrade.upgraded.push(key.to_string());
                        upgrade.changes.push(Change { key, value: Some(encoded) });
                    }
                    Err(_) => upgrade.unmatched.push(key.to_string()),
                }
            }
        }
        Ok(upgrade)
    }
}

pub fn run(ledger: &mut Ledger) -> Result<Value, CliError> {
    let Upgrade { upgraded, unmatched, changes } = Upgrade::plan(ledger)?;
    let checkpoint = if changes.is_empty() { None } else { Some(present::checkpoint(&ledger.commit(ChangeSet::new(changes))?)) };
    Ok(json!({ "upgraded": upgraded, "without_spec": unmatched, "checkpoint": checkpoint, "version": ledger.head().version }))
}

/// Whether `known` (from the genesis) describes the same call as `endpoint` and has a spec or a
/// reason to give it.
fn same_endpoint(known: &Endpoint, endpoint: &Endpoint) -> bool {
    let path = |url: &str| reqwest::Url::parse(url).map(|url| url.path().to_owned()).ok();
    let described = known.invocation.is_some() || known.not_orchestrable.is_some();
    described && known.method == endpoint.method && path(&known.url).is_some() && path(&known.url) == path(&endpoint.url)
}
