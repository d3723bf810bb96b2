//! `orchestra ledger upgrade`: endpoint records written before invocation specs existed decode
//! as they always did but carry no spec, so they are not routed. This gives each one the spec
//! (or the reason it is not orchestrable) of the built-in genesis' record at the same key, when
//! that record is the same endpoint (same method and URL path; the host may differ, as on a
//! mirror). A ledger written before capability records existed plans nothing for its
//! capabilities: each capability its endpoints offer that has no record gets the genesis'
//! record of that name. Everything is committed as one new version with its checkpoint. What it
//! cannot match is listed: a spec or a capability record for it comes as a diff like any other
//! change.

use ledger::record::{Endpoint, Record};
use std::collections::BTreeSet;

use ledger::{Change, ChangeSet, Key, Ledger, Namespace, SystemNamespace};
use serde_json::{json, Value};

use crate::cli::CliError;
use crate::{node, present};

/// What an upgrade of the head would change.
pub struct Upgrade {
    /// The records given a spec, by key.
    pub upgraded: Vec<String>,
    /// Records without a spec that the genesis does not describe.
    pub unmatched: Vec<String>,
    /// The capability records added from the genesis.
    pub capabilities: Vec<String>,
    /// Capabilities offered by an endpoint with neither a record nor one in the genesis.
    pub undescribed: Vec<String>,
    changes: Vec<Change>,
}


impl Upgrade {
    /// Reads the head's endpoint records and matches those without a spec with the genesis'.
    pub fn plan(ledger: &Ledger) -> ledger::Result<Upgrade> {
        let (genesis, genesis_capabilities) = node::genesis_endpoints_and_capabilities();
        let head = ledger.head().version;
        let mut upgrade = Upgrade { upgraded: Vec::new(), unmatched: Vec::new(), capabilities: Vec::new(), undescribed: Vec::new(), changes: Vec::new() };
        let namespaces = ledger.namespaces_at(head)?;
        let mut offered = BTreeSet::new();
        for namespace in namespaces.iter().copied().filter(|namespace| matches!(namespace, Namespace::Subnet(_))) {
            for (path, value) in ledger.namespace_at(namespace, head)? {
                let key = Key { namespace, path };
                let Ok(Record::Endpoint(mut endpoint)) = Record::decode(&key, &value) else { continue };
                offered.insert(endpoint.capability.clone());
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
        let capabilities = Namespace::System(SystemNamespace::Capabilities);
        let described: BTreeSet<String> = match namespaces.contains(&capabilities) {
            true => ledger.namespace_at(capabilities, head)?.into_iter().map(|(path, _)| path).collect(),
            false => BTreeSet::new(),
        };
        for name in offered.difference(&described) {
            match genesis_capabilities.get(name) {
                Some(capability) => {
                    let key = Key::new(capabilities, name.clone())?;
                    upgrade.changes.push(Change { key, value: Some(Record::Capability(capability.clone()).encode()) });
                    upgrade.capabilities.push(name.clone());
                }
                None => upgrade.undescribed.push(name.clone()),
            }
        }
        Ok(upgrade)
    }
}

pub fn run(ledger: &mut Ledger) -> Result<Value, CliError> {
    let Upgrade { upgraded, unmatched, capabilities, undescribed, changes } = Upgrade::plan(ledger)?;
    let checkpoint = if changes.is_empty() { None } else { Some(present::checkpoint(&ledger.commit(ChangeSet::new(changes))?)) };
    Ok(json!({
        "upgraded": upgraded,
        "without_spec": unmatched,
        "capabilities_added": capabilities,
        "capabilities_without_record": undescribed,
        "checkpoint": checkpoint,
        "version": ledger.head().version,
    }))
}

/// Whether `known` (from the genesis) describes the same call as `endpoint` and has a spec or a
/// reason to give it.
fn same_endpoint(known: &Endpoint, endpoint: &Endpoint) -> bool {
    let path = |url: &str| reqwest::Url::parse(url).map(|url| url.path().to_owned()).ok();
    let described = known.invocation.is_some() || known.not_orchestrable.is_some();
    described && known.method == endpoint.method && path(&known.url).is_some() && path(&known.url) == path(&endpoint.url)
}
