//! The genesis ledger: the committed snapshot is exactly what its reviewable sources build,
//! it imports to a ledger holding the subnets a new node must know, and a bad source file is
//! refused with its name and the reason.

use std::path::{Path, PathBuf};

use ledger::record::Record;
use ledger::{genesis, snapshot, Key, Ledger, Namespace, Options};

fn snapshots_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../snapshots")
}

fn built() -> Vec<u8> {
    let changes = genesis::read_sources(&snapshots_dir()).unwrap();
    let mut bytes = Vec::new();
    genesis::write_snapshot(&changes, &mut bytes).unwrap();
    bytes
}

#[test]
fn the_committed_snapshot_matches_its_sources() {
    let built = built();
    let committed_path = snapshots_dir().join("genesis.snap");
    if std::env::var_os("ORCHESTRA_WRITE_GENESIS").is_some() {
        std::fs::write(&committed_path, &built).unwrap();
    }
    let committed = std::fs::read(&committed_path).expect("snapshots/genesis.snap exists");
    assert!(
        committed == built,
        "snapshots/genesis.snap is stale: rebuild it with `orchestra genesis build` after changing snapshots/subnets"
    );
    assert_eq!(built, self::built(), "the build is deterministic");
}

#[test]
fn genesis_holds_the_subnets_a_node_starts_with() {
    let bytes = std::fs::read(snapshots_dir().join("genesis.snap")).unwrap();
    let summary = snapshot::inspect(&bytes[..], None).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::import(dir.path().join("ledger"), &bytes[..], None, Options::default(), &mut |_| {}).unwrap();
    assert_eq!(ledger.head().state_root, summary.state_root);
    let subnets: Vec<Namespace> = ledger.state().namespaces().map(|(namespace, _)| namespace).collect();
    assert!(subnets.len() >= 12, "only {} subnets", subnets.len());
    // Apex's API was withdrawn in November 2025: the genesis knows the subnet and routes nothing to it.
    for (netuid, name, routed) in [(1, "Apex", false), (4, "Targon", true), (13, "Data Universe", true), (22, "Desearch", true), (64, "Chutes", true)] {
        let key = Key::new(Namespace::Subnet(netuid), "identity").unwrap();
        let value = ledger.get(&key).unwrap().unwrap_or_else(|| panic!("sn{netuid} has no identity"));
        match Record::decode(&key, &value).unwrap() {
            Record::Identity(identity) => assert!(identity.name.contains(name), "sn{netuid} is named {}", identity.name),
            other => panic!("sn{netuid}/identity holds {other:?}"),
        }
        let endpoints = ledger.state().paths(Namespace::Subnet(netuid)).filter(|(path, _)| path.starts_with("endpoint/")).count();
        assert_eq!(endpoints > 0, routed, "sn{netuid} has {endpoints} endpoints");
    }
}

#[test]
fn a_bad_source_is_refused_with_its_file_and_reason() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("subnets")).unwrap();
    let good = std::fs::read_to_string(snapshots_dir().join("subnets/sn022-desearch.json")).unwrap();
    std::fs::write(dir.path().join("subnets/sn023-desearch.json"), &good).unwrap();
    let error = genesis::read_sources(dir.path()).unwrap_err().to_string();
    assert!(error.contains("sn023-desearch.json") && error.contains("netuid 22 in namespace sn23"), "{error}");
}

#[test]
fn a_capability_stored_under_another_name_or_with_loose_words_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("subnets")).unwrap();
    std::fs::create_dir_all(dir.path().join("capabilities")).unwrap();
    let good: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(snapshots_dir().join("capabilities/web-search.json")).unwrap()).unwrap();
    std::fs::write(dir.path().join("capabilities/news-search.json"), good.to_string()).unwrap();
    let error = genesis::read_sources(dir.path()).unwrap_err().to_string();
    assert!(error.contains("capabilities/news-search.json") && error.contains("named `web-search` but stored at `news-search`"), "{error}");

    let mut loose = good.clone();
    loose["hints"] = serde_json::json!(["price", "Market Share"]);
    std::fs::remove_file(dir.path().join("capabilities/news-search.json")).unwrap();
    std::fs::write(dir.path().join("capabilities/web-search.json"), loose.to_string()).unwrap();
    let error = genesis::read_sources(dir.path()).unwrap_err().to_string();
    assert!(error.contains("not `Market Share`"), "{error}");
}
