//! The genesis ledger: real subnets' records, from reviewable source files to a snapshot.
//!
//! The sources directory holds `subnets/`, where each file describes one subnet
//! (`snNNN-name.json`): its `identity`, its `endpoints` by name and the `provenance` of the
//! facts; and `capabilities/`, where each file (`<name>.json`) is one [`Capability`] record.
//! [`read_sources`] turns them into checked records at `identity`, `endpoint/<name>` and
//! `provenance` of each subnet's namespace and at `<name>` of `capabilities`;
//! [`write_snapshot`] writes them as the snapshot of version 0, whose checkpoint records the
//! sources' change set as its diff hash. The build is deterministic: the same sources give
//! the same bytes, so the committed snapshot can be checked against its sources.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use serde::Deserialize;

use crate::change::{Change, ChangeSet};
use crate::checkpoint::Checkpoint;
use crate::error::{Error, Result};
use crate::hash::{self, Hash};
use crate::key::{Key, Namespace, SystemNamespace};
use crate::record::Record;
#[cfg(doc)]
use crate::record::Capability;
use crate::snapshot::{SnapshotHeader, SnapshotSummary, SnapshotWriter};
use crate::state::{EntryMeta, State};

/// The commit time written into the genesis checkpoint (2026-11-24T00:00:00Z), fixed so the
/// build is reproducible.
pub const GENESIS_TIME_MS: u64 = 1_795_478_400_000;

/// One subnet's source file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SubnetSource {
    identity: serde_json::Value,
    endpoints: BTreeMap<String, serde_json::Value>,
    provenance: serde_json::Value,
}

/// The `*.json` files of `dir`, sorted.
fn json_files(dir: &Path) -> Result<Vec<std::path::PathBuf>> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map_err(|error| Error::Genesis(format!("cannot read {}: {error}", dir.display())))?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|extension| extension == "json"))
        .collect();
    files.sort();
    Ok(files)
}

/// Reads every subnet file of `root/subnets` and capability file of `root/capabilities` (a
/// ledger may have none) into checked records, in key order.
pub fn read_sources(root: &Path) -> Result<ChangeSet> {
    let mut changes = subnet_changes(&root.join("subnets"))?;
    let capabilities = root.join("capabilities");
    let capability_files = if capabilities.exists() { json_files(&capabilities)? } else { Vec::new() };
    for file in capability_files {
        let name = file.file_name().and_then(|name| name.to_str()).unwrap_or_default().to_owned();
        let fail = |reason: String| Error::Genesis(format!("capabilities/{name}: {reason}"));
        let text = std::fs::read_to_string(&file).map_err(|error| fail(error.to_string()))?;
        let json: serde_json::Value = serde_json::from_str(&text).map_err(|error| fail(error.to_string()))?;
        let path = name.strip_suffix(".json").unwrap_or(&name).to_owned();
        let key = Key::new(Namespace::System(SystemNamespace::Capabilities), path)?;
        let value = Record::from_json(&key, json).map_err(|error| fail(error.to_string()))?.encode();
        changes.push(Change { key, value: Some(value) });
    }
    Ok(ChangeSet::new(changes))
}

fn subnet_changes(dir: &Path) -> Result<Vec<Change>> {
    let files = json_files(dir)?;
    let mut changes = Vec::new();
    let mut seen = BTreeMap::new();
    for file in files {
        let name = file.file_name().and_then(|name| name.to_str()).unwrap_or_default().to_owned();
        let fail = |reason: String| Error::Genesis(format!("{name}: {reason}"));
        let netuid: u16 = name
            .strip_prefix("sn")
            .and_then(|rest| rest.split(['-', '.']).next())
            .and_then(|digits| digits.parse().ok())
            .ok_or_else(|| fail("file names are `snNNN-name.json`".into()))?;
        if let Some(other) = seen.insert(netuid, name.clone()) {
            return Err(fail(format!("netuid {netuid} is already described by {other}")));
        }
        let text = std::fs::read_to_string(&file).map_err(|error| fail(error.to_string()))?;
        let source: SubnetSource = serde_json::from_str(&text).map_err(|error| fail(error.to_string()))?;
        let namespace = Namespace::Subnet(netuid);
        let mut record = |path: String, json: serde_json::Value| -> Result<()> {
            let key = Key::new(namespace, path)?;
            let value = Record::from_json(&key, json).map_err(|error| fail(error.to_string()))?.encode();
            changes.push(Change { key, value: Some(value) });
            Ok(())
        };
        record("identity".into(), source.identity)?;
        for (endpoint, json) in source.endpoints {
            record(format!("endpoint/{endpoint}"), json)?;
        }
        record("provenance".into(), source.provenance)?;
    }
    Ok(changes)
}

/// The genesis checkpoint of `changes`: version 0 holding exactly them.
pub fn checkpoint(changes: &ChangeSet) -> Checkpoint {
    let state = State::from_sorted(changes.changes().iter().filter_map(|change| {
        let value = change.value.as_deref()?;
        Some((change.key.clone(), EntryMeta { value_hash: hash::value_hash(value), version: 0 }))
    }));
    Checkpoint { version: 0, state_root: state.root(), parent: Hash::ZERO, diff_hash: changes.hash(), time_ms: GENESIS_TIME_MS }
}

/// Writes the genesis snapshot of `changes`.
pub fn write_snapshot(changes: &ChangeSet, out: impl Write) -> Result<SnapshotSummary> {
    let header = SnapshotHeader { checkpoint: checkpoint(changes), attestations: Vec::new(), entry_count: changes.len() as u64 };
    let mut writer = SnapshotWriter::start(out, header)?;
    for change in changes.changes() {
        let value = change.value.as_deref().expect("genesis changes are all puts");
        writer.push(&change.key, 0, value, &mut |_| {})?;
    }
    writer.finish(&mut |_| {})
}
