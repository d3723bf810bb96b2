//! Test ledgers: the real records of the kit's subnets, with endpoint URLs pointing at subnet
//! servers, plus mirrors (second providers of a capability) and health records.
//!
//! These are test helpers: they panic on any error, with the reason.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use ledger::record::{Endpoint, Health, HealthStatus, Record, SubnetIdentity};
use ledger::{Change, ChangeSet, Checkpoint, Key, Ledger, Namespace, Options};

use crate::{SubnetKind, SubnetServer};

/// Calls a health record stands for; the records are made up, so any plausible number will do.
const HEALTH_SAMPLES: u32 = 100;

/// A fresh ledger in a temporary directory.
pub struct TestLedger {
    // Declared before `dir` so that the database closes before its directory is deleted.
    pub ledger: Ledger,
    pub dir: tempfile::TempDir,
}

/// A fresh ledger in a temporary directory with the four kinds' subnets registered, those of
/// `servers` pointing at them.
pub fn test_ledger(servers: &[&SubnetServer]) -> TestLedger {
    let dir = tempfile::tempdir().expect("create a temporary directory");
    let mut ledger = Ledger::create(dir.path(), Options::default()).expect("create a ledger");
    register_subnets(&mut ledger, servers);
    TestLedger { ledger, dir }
}

/// The workspace's `snapshots/subnets` directory.
pub fn sources_dir() -> PathBuf {
    snapshots_dir().join("subnets")
}

/// The workspace's `snapshots` directory: the genesis sources.
fn snapshots_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the crate sits in the workspace").join("snapshots")
}

/// Writes into `ledger`, in one commit, the real records of subnets 1, 13, 22 and 64 (identity,
/// every endpoint, provenance) and the genesis' capability records. Endpoints of a subnet whose
/// kind has a server in `servers` get that server's scheme, host and port; the others keep their
/// real URLs.
pub fn register_subnets(ledger: &mut Ledger, servers: &[&SubnetServer]) -> Checkpoint {
    let changes = source_changes().into_iter().filter_map(|change| {
        if matches!(change.key.namespace, Namespace::System(_)) {
            return Some(change);
        }
        let kind = SubnetKind::ALL.into_iter().find(|kind| change.key.namespace == Namespace::Subnet(kind.netuid()))?;
        let server = servers.iter().find(|server| server.kind() == kind);
        let Some(server) = server.filter(|_| change.key.path.starts_with("endpoint/")) else { return Some(change) };
        let mut endpoint = endpoint(&change);
        endpoint.url = rebase(&endpoint.url, &server.base_url());
        Some(put(change.key, Record::Endpoint(endpoint)))
    });
    commit(ledger, changes)
}

/// Registers subnet `netuid`, named `name`, whose endpoints are copies of `server`'s kind's real
/// endpoints (same names, same schemas) pointing at `server`: a second provider of the same
/// capabilities, for fallback tests.
pub fn register_mirror(ledger: &mut Ledger, netuid: u16, name: &str, server: &SubnetServer) -> Checkpoint {
    let original = Namespace::Subnet(server.kind().netuid());
    let endpoints: Vec<Endpoint> = source_changes()
        .iter()
        .filter(|change| change.key.namespace == original && change.key.path.starts_with("endpoint/"))
        .map(endpoint)
        .collect();
    let mut capabilities: Vec<String> = endpoints.iter().map(|endpoint| endpoint.capability.clone()).collect();
    capabilities.sort();
    capabilities.dedup();
    let identity = SubnetIdentity {
        netuid,
        name: name.to_owned(),
        summary: format!("Test mirror of subnet {}'s endpoints, served at {}", server.kind().netuid(), server.base_url()),
        capabilities,
        website: None,
        github: None,
    };
    let namespace = Namespace::Subnet(netuid);
    let mut changes = vec![put(key(namespace, "identity".into()), Record::Identity(identity))];
    for mut endpoint in endpoints {
        endpoint.url = rebase(&endpoint.url, &server.base_url());
        changes.push(put(key(namespace, format!("endpoint/{}", endpoint.name)), Record::Endpoint(endpoint)));
    }
    commit(ledger, changes)
}

/// The changes that point every endpoint of subnet `netuid`'s real records at `base_url` (same
/// paths), as a proposer redirecting a subnet's traffic would write them.
pub fn repointed(netuid: u16, base_url: &str) -> ChangeSet {
    let namespace = Namespace::Subnet(netuid);
    ChangeSet::new(source_changes().into_iter().filter(|change| change.key.namespace == namespace && change.key.path.starts_with("endpoint/")).map(|change| {
        let mut endpoint = endpoint(&change);
        endpoint.url = rebase(&endpoint.url, base_url);
        put(change.key, Record::Endpoint(endpoint))
    }))
}

/// Writes a health record at subnet `netuid`, path `health/<endpoint>`, checked now.
pub fn set_health(
    ledger: &mut Ledger,
    netuid: u16,
    endpoint: &str,
    status: HealthStatus,
    latency_ms_p50: u32,
    success_ppm: u32,
) -> Checkpoint {
    let checked_at_ms = SystemTime::now().duration_since(UNIX_EPOCH).expect("the clock is past 1970").as_millis() as u64;
    let health = Health { status, checked_at_ms, latency_ms_p50, success_ppm, samples: HEALTH_SAMPLES };
    commit(ledger, [put(key(Namespace::Subnet(netuid), format!("health/{endpoint}")), Record::Health(health))])
}

/// The sources of subnets the kit serves whose APIs their operators withdrew, so the genesis
/// lists no endpoint for them: Apex (SN1), whose Constellation API (Connect JSON, submit-and-poll
/// jobs) was withdrawn in November 2025. The kit keeps serving its documented shape, the only
/// published one with both, and registers these records in place of the genesis' own.
pub fn withdrawn_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/withdrawn")
}

/// The checked records of every source file: the genesis sources, where the withdrawn sources
/// replace the whole namespace of each subnet they describe.
fn source_changes() -> Vec<Change> {
    let read = |dir: PathBuf| {
        ledger::genesis::read_sources(&dir)
            .unwrap_or_else(|error| panic!("read the subnet sources in {}: {error}", dir.display()))
            .into_changes()
    };
    let withdrawn = read(withdrawn_dir());
    let mut changes: Vec<Change> =
        read(snapshots_dir()).into_iter().filter(|change| !withdrawn.iter().any(|replacement| replacement.key.namespace == change.key.namespace)).collect();
    changes.extend(withdrawn);
    changes.sort_by(|a, b| a.key.cmp(&b.key));
    changes
}

fn endpoint(change: &Change) -> Endpoint {
    let value = change.value.as_deref().expect("source records are all puts");
    match Record::decode(&change.key, value) {
        Ok(Record::Endpoint(endpoint)) => endpoint,
        other => panic!("{} does not hold an endpoint: {other:?}", change.key),
    }
}

/// `url` with its scheme, host and port replaced by `base_url`'s.
fn rebase(url: &str, base_url: &str) -> String {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let path = after_scheme.find('/').map_or("", |start| &after_scheme[start..]);
    format!("{}{path}", base_url.trim_end_matches('/'))
}

fn key(namespace: Namespace, path: String) -> Key {
    Key::new(namespace, path).unwrap_or_else(|error| panic!("a ledger key: {error}"))
}

/// A change setting `key` to `record`, checked as the ledger checks records it reads, so that a
/// test cannot write a record the ledger would refuse.
fn put(key: Key, record: Record) -> Change {
    let value = record.encode();
    if let Err(error) = Record::decode(&key, &value) {
        panic!("invalid record: {error}");
    }
    Change { key, value: Some(value) }
}

fn commit(ledger: &mut Ledger, changes: impl IntoIterator<Item = Change>) -> Checkpoint {
    ledger.commit(ChangeSet::new(changes)).unwrap_or_else(|error| panic!("commit to the test ledger: {error}"))
}
