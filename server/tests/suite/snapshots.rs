//! Snapshots, attestations and the genesis node through the `orchestra` binary.

use std::process::{Command, Output};

use ledger::hotkey::Hotkey;
use serde_json::Value;

fn orchestra(data: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_orchestra")).arg("--data").arg(data).args(args).env_remove("ORCHESTRA_HOTKEY_SEED").output().unwrap()
}

fn ok(data: &std::path::Path, args: &[&str]) -> Value {
    let output = orchestra(data, args);
    assert!(output.status.success(), "{args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap()
}

fn fails(data: &std::path::Path, args: &[&str]) -> String {
    let output = orchestra(data, args);
    assert!(!output.status.success(), "{args:?} should have failed");
    String::from_utf8(output.stderr).unwrap()
}

#[test]
fn a_new_node_starts_from_the_genesis_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("node");
    let genesis = concat!(env!("CARGO_MANIFEST_DIR"), "/../snapshots/genesis.snap");
    let expected = ok(&data, &["snapshot", "inspect", genesis]);
    let first = ok(&data, &["node"]);
    assert_eq!(first["seeded_from_genesis"], true);
    assert_eq!(first["root"], expected["state_root"]);
    assert!(first["subnets"].as_u64().unwrap() >= 12);
    let again = ok(&data, &["node"]);
    assert_eq!(again["seeded_from_genesis"], false);
    assert_eq!(again["root"], first["root"]);
    let desearch = ok(&data, &["ledger", "get", "sn22", "identity"]);
    assert_eq!(desearch["record"]["name"], "Desearch");
}

#[test]
fn attested_snapshots_move_between_nodes_and_trust_is_checked() {
    let dir = tempfile::tempdir().unwrap();
    let (primary, replica, refused) = (dir.path().join("primary"), dir.path().join("replica"), dir.path().join("refused"));
    ok(&primary, &["node"]);
    let validator = Hotkey::from_seed(&[5; 32]).unwrap();
    let stake = r#"{"rao": 1000}"#;
    ok(&primary, &["ledger", "put", "validators", &validator.ss58(), stake]);

    let key_file = dir.path().join("hotkey");
    std::fs::write(&key_file, hex::encode([5u8; 32])).unwrap();
    assert!(fails(&primary, &["attest"]).contains("--key-file"), "no key, no attestation");
    let attested = ok(&primary, &["attest", "--key-file", key_file.to_str().unwrap()]);
    assert_eq!(attested["final"], true, "the only validator holds all the stake");
    let head = ok(&primary, &["ledger", "head"]);
    assert_eq!(head["final"]["version"], head["version"]);

    let file = dir.path().join("ledger.snap");
    let file = file.to_str().unwrap();
    let exported = ok(&primary, &["snapshot", "export", file]);
    assert_eq!(exported["attestations"], 1);

    let trusted = dir.path().join("trusted.json");
    std::fs::write(&trusted, format!(r#"{{"{}": 1000}}"#, validator.ss58())).unwrap();
    let imported = ok(&replica, &["snapshot", "import", file, "--trusted-validators", trusted.to_str().unwrap()]);
    assert_eq!(imported["root"], head["root"]);
    assert_eq!(imported["final"], head["version"]);

    let strangers = dir.path().join("strangers.json");
    std::fs::write(&strangers, format!(r#"{{"{}": 1000}}"#, Hotkey::from_seed(&[6; 32]).unwrap().ss58())).unwrap();
    let message = fails(&refused, &["snapshot", "import", file, "--trusted-validators", strangers.to_str().unwrap()]);
    assert!(message.contains("two thirds are needed"), "{message}");
    assert!(!refused.exists(), "a refused import leaves nothing behind");
}
