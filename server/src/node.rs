//! `orchestra node`: opens the ledger on the data directory, seeding it from the genesis
//! snapshot built into the binary when there is none, checks it (opening rebuilds the trees
//! and compares the root with the head checkpoint) and reports its head.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use ledger::record::{Capability, Endpoint, Record};
use ledger::snapshot::SnapshotReader;
use ledger::{Error, Key, Ledger, Namespace, Options};
use orchestrator::credentials::Credentials;
use serde_json::json;

use crate::cli::{print_json, CliError};

/// The genesis ledger of `snapshots/`, as built by `orchestra genesis build`.
pub const GENESIS: &[u8] = include_bytes!("../../snapshots/genesis.snap");

/// Opens the ledger at `data`, seeding it from the genesis snapshot when there is none; says
/// whether it seeded.
pub fn open_or_seed(data: &Path, options: Options) -> Result<(Ledger, bool), CliError> {
    Ok(match Ledger::open(data, options) {
        Err(Error::NotInitialised(_)) => (Ledger::import(data, GENESIS, None, options, &mut |_| {})?, true),
        opened => (opened?, false),
    })
}

/// The built-in genesis' endpoint records by key, and its capability records by name, from one
/// read of the snapshot.
pub fn genesis_endpoints_and_capabilities() -> (BTreeMap<Key, Endpoint>, BTreeMap<String, Capability>) {
    let (mut endpoints, mut capabilities) = (BTreeMap::new(), BTreeMap::new());
    for (key, record) in genesis_records() {
        match record {
            Record::Endpoint(endpoint) => {
                endpoints.insert(key, endpoint);
            }
            Record::Capability(capability) => {
                capabilities.insert(capability.name.clone(), capability);
            }
            _ => {}
        }
    }
    (endpoints, capabilities)
}

/// Every record of the built-in genesis.
fn genesis_records() -> Vec<(Key, Record)> {
    let mut records = Vec::new();
    let mut reader = SnapshotReader::new(GENESIS).expect("the built-in genesis is a snapshot");
    while let Some(chunk) = reader.next_chunk().expect("the built-in genesis reads") {
        for entry in chunk {
            if let Ok(record) = Record::decode(&entry.key, &entry.value) {
                records.push((entry.key, record));
            }
        }
    }
    records
}

/// The hosts of each subnet's genesis endpoint records: where its key goes unless the operator
/// binds it elsewhere (`ORCHESTRA_SN<N>_KEY_HOSTS`).
pub fn genesis_key_hosts() -> BTreeMap<u16, BTreeSet<String>> {
    let mut hosts: BTreeMap<u16, BTreeSet<String>> = BTreeMap::new();
    for (key, endpoint) in genesis_endpoints_and_capabilities().0 {
        let Namespace::Subnet(netuid) = key.namespace else { continue };
        if let Some(host) = reqwest::Url::parse(&endpoint.url).ok().and_then(|url| url.host_str().map(str::to_ascii_lowercase)) {
            hosts.entry(netuid).or_default().insert(host);
        }
    }
    hosts
}

/// The subnets' keys from the environment, each bound to its configured hosts or else to its
/// genesis hosts.
pub fn credentials() -> Credentials {
    Credentials::from_env().bind_unbound(&genesis_key_hosts())
}

pub fn run(data: &Path) -> Result<(), CliError> {
    let (ledger, seeded) = open_or_seed(data, Options::default())?;
    let head = ledger.head();
    let finality = ledger.finality()?;
    print_json(&json!({
        "data": data.display().to_string(),
        "seeded_from_genesis": seeded,
        "version": head.version,
        "root": head.state_root,
        "checkpoint": head.hash(),
        "final": finality.latest_final.map(|checkpoint| checkpoint.version),
        "subnets": ledger.state().namespaces().count(),
        "entries": ledger.state().entry_count(),
    }))
}
