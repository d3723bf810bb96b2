//! The explorer page in a real headless Chromium against a running node: it renders the
//! genesis subnets and the head, and a change made through the API appears on the next load.

use crate::common;

use std::process::Command;

use ledger::hotkey::Hotkey;
use ledger::record::{Record, SubnetIdentity};
use ledger::{Change, ChangeSet, DiffProposal, Hash, Key, Namespace};
use serde_json::Value;

fn chromium() -> &'static str {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|path| std::path::Path::new(path).exists())
        .expect("headless Chromium is needed: `bash scripts/install-deps` installs Debian's chromium package")
}

/// The page's DOM after its scripts ran.
fn render(url: &str) -> String {
    let profile = tempfile::tempdir().unwrap();
    let output = Command::new(chromium())
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(["--virtual-time-budget=10000", "--dump-dom", url])
        .output()
        .unwrap();
    assert!(output.status.success(), "chromium failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn the_explorer_shows_the_ledger_and_its_changes() {
    let data = tempfile::tempdir().unwrap();
    let owner = Hotkey::from_seed(&[9; 32]).unwrap();
    common::seed_with_proposer(&data.path().join("ledger"), &owner);
    let node = common::serve(&data.path().join("ledger"), &[]);
    let base = node.base.clone();

    let page = render(&format!("{base}/"));
    assert!(page.contains(r#"data-loaded="true""#), "the page's scripts did not finish: {page}");
    for subnet in ["SN1 Apex", "SN22 Desearch", "SN64 Chutes", "web-search"] {
        assert!(page.contains(subnet), "{subnet} is not on the page");
    }
    let head: Value = reqwest::blocking::get(format!("{base}/v1/head")).unwrap().json().unwrap();
    assert!(page.contains(head["root"].as_str().unwrap()), "the head's root is not on the page");

    let identity = Record::Identity(SubnetIdentity {
        netuid: 99,
        name: "Lighthouse".into(),
        summary: "a subnet registered after genesis".into(),
        capabilities: vec!["web-search".into()],
        website: None,
        github: None,
    });
    let diff = DiffProposal {
        base_version: head["version"].as_u64().unwrap(),
        base_root: Hash::from_hex(head["root"].as_str().unwrap()).unwrap(),
        changes: ChangeSet::new([Change { key: Key::new(Namespace::Subnet(99), "identity").unwrap(), value: Some(identity.encode()) }]),
        proposer: owner.ss58(),
    }
    .sign(&owner);
    let response = reqwest::blocking::Client::new().post(format!("{base}/v1/diffs")).json(&diff).send().unwrap();
    assert!(response.status().is_success());

    let page = render(&format!("{base}/"));
    assert!(page.contains("SN99 Lighthouse"), "the new subnet does not appear");
    assert!(page.contains(&format!(">{}<", head["version"].as_u64().unwrap() + 1)), "the new version is not in the history");
}
