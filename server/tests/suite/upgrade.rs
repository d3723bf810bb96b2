//! A data directory written before invocation specs existed: it opens, its endpoints are not
//! routed and the node says which command fixes that; `orchestra ledger upgrade` gives each
//! record the genesis' spec for the same endpoint in one new version, leaves alone what it
//! cannot match, and changes nothing when run again.

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use ledger::record::{HttpMethod, Record};
use ledger::{Change, ChangeSet, Key, Ledger, Namespace, Options};
use serde_json::Value;

use crate::common::orchestra;

/// Every endpoint record of `ledger`'s head, by key.
fn endpoints(ledger: &Ledger) -> Vec<(Key, ledger::record::Endpoint)> {
    let head = ledger.head().version;
    let mut endpoints = Vec::new();
    for namespace in ledger.namespaces_at(head).unwrap() {
        for (path, value) in ledger.namespace_at(namespace, head).unwrap() {
            let key = Key { namespace, path };
            if let Ok(Record::Endpoint(endpoint)) = Record::decode(&key, &value) {
                endpoints.push((key, endpoint));
            }
        }
    }
    endpoints
}

fn upgrade(data: &std::path::Path) -> Value {
    let output = orchestra(data).args(["ledger", "upgrade"]).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn a_ledger_from_before_invocation_specs_is_upgraded_from_the_genesis_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("ledger");
    assert!(orchestra(&data).arg("node").output().unwrap().status.success(), "the genesis seeds");

    // The same ledger as an older node wrote it: no endpoint carries a spec, and one of them
    // was since moved by its subnet to a path the genesis does not know.
    let moved = Key::new(Namespace::Subnet(22), "endpoint/web-search").unwrap();
    let genesis_specs = {
        let mut ledger = Ledger::open(&data, Options::default()).unwrap();
        let endpoints = endpoints(&ledger);
        let specs: Vec<(Key, ledger::record::Endpoint)> = endpoints.iter().filter(|(_, endpoint)| endpoint.invocation.is_some()).cloned().collect();
        assert!(specs.len() >= 7, "the genesis gives specs");
        let old = endpoints.into_iter().filter(|(_, endpoint)| endpoint.invocation.is_some()).map(|(key, mut endpoint)| {
            endpoint.invocation = None;
            if key == moved {
                endpoint.url = "https://api.desearch.ai/v2/web".into();
            }
            Change { key, value: Some(Record::Endpoint(endpoint).encode()) }
        });
        ledger.commit(ChangeSet::new(old)).unwrap();
        specs
    };
    let before = *Ledger::open(&data, Options::default()).unwrap().head();

    // The node opens it, routes none of those endpoints and names the fix.
    let mut serve = orchestra(&data).args(["serve", "--listen", "127.0.0.1:0"]).env("RUST_LOG", "warn").stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let lines: Vec<String> = BufReader::new(serve.stdout.take().unwrap()).lines().map(Result::unwrap).take_while(|line| line != "serving until Ctrl-C or SIGTERM").collect();
    let _ = serve.kill();
    let _ = serve.wait();
    let expected = format!(
        "ledger: {} endpoint records predate invocation specs and are not routed; stop the node and run `orchestra ledger upgrade`",
        genesis_specs.len() - 1
    );
    assert!(lines.contains(&expected), "{lines:#?}");

    let report = upgrade(&data);
    assert_eq!(report["upgraded"].as_array().unwrap().len(), genesis_specs.len() - 1, "{report:#}");
    assert_eq!(report["without_spec"].as_array().unwrap().iter().filter(|key| key.as_str() == Some(&moved.to_string())).count(), 1, "{report:#}");
    assert_eq!(report["version"], before.version + 1, "one new version");
    let ledger = Ledger::open(&data, Options::default()).unwrap();
    assert_eq!(report["checkpoint"]["root"], ledger.head().state_root.to_string(), "{report:#}");
    assert_ne!(ledger.head().state_root, before.state_root);
    let now = endpoints(&ledger);
    for (key, genesis) in &genesis_specs {
        let (_, endpoint) = now.iter().find(|(at, _)| at == key).unwrap();
        if *key == moved {
            assert!(endpoint.invocation.is_none(), "a moved endpoint is not given a spec for another path");
            assert_eq!(endpoint.method, HttpMethod::Get);
        } else {
            assert_eq!(endpoint.invocation, genesis.invocation, "{key}");
        }
    }
    let upgraded = *ledger.head();
    drop(ledger);

    let again = upgrade(&data);
    assert!(again["upgraded"].as_array().unwrap().is_empty() && again["checkpoint"].is_null(), "{again:#}");
    let ledger = Ledger::open(&data, Options::default()).unwrap();
    assert_eq!((ledger.head().version, ledger.head().state_root), (upgraded.version, upgraded.state_root), "a second upgrade commits nothing");
}

#[test]
fn a_ledger_from_before_capability_records_gets_the_genesis_records_of_the_capabilities_it_offers() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("ledger");
    assert!(orchestra(&data).arg("node").output().unwrap().status.success(), "the genesis seeds");
    let capabilities = Namespace::System(ledger::SystemNamespace::Capabilities);
    let removed: Vec<String> = {
        let mut ledger = Ledger::open(&data, Options::default()).unwrap();
        let head = ledger.head().version;
        let paths: Vec<String> = ledger.namespace_at(capabilities, head).unwrap().into_iter().map(|(path, _)| path).collect();
        assert!(paths.iter().any(|path| path == "web-search"), "{paths:?}");
        ledger.commit(ChangeSet::new(paths.iter().map(|path| Change { key: Key::new(capabilities, path.clone()).unwrap(), value: None }))).unwrap();
        paths
    };
    // The capabilities the ledger's endpoints offer: the genesis also describes some that no
    // endpoint of it offers (deep research, since Apex's API was withdrawn).
    let offered: std::collections::BTreeSet<String> = {
        let ledger = Ledger::open(&data, Options::default()).unwrap();
        let endpoints: Vec<Key> = ledger
            .state()
            .namespaces()
            .filter(|(namespace, _)| matches!(namespace, Namespace::Subnet(_)))
            .flat_map(|(namespace, _)| ledger.state().paths(namespace).filter(|(path, _)| path.starts_with("endpoint/")).map(move |(path, _)| Key::new(namespace, path.to_owned()).unwrap()).collect::<Vec<_>>())
            .collect();
        endpoints
            .iter()
            .map(|key| match Record::decode(key, &ledger.get(key).unwrap().unwrap()).unwrap() {
                Record::Endpoint(endpoint) => endpoint.capability,
                other => panic!("{key} holds {other:?}"),
            })
            .collect()
    };
    assert!(offered.len() < removed.len() && offered.iter().all(|capability| removed.contains(capability)), "{offered:?} {removed:?}");

    let mut serve = orchestra(&data).args(["serve", "--listen", "127.0.0.1:0"]).env("RUST_LOG", "warn").stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let lines: Vec<String> = BufReader::new(serve.stdout.take().unwrap()).lines().map(Result::unwrap).take_while(|line| line != "serving until Ctrl-C or SIGTERM").collect();
    let _ = serve.kill();
    let _ = serve.wait();
    assert!(lines.iter().any(|line| line.contains("capabilities predate capability records and are not planned") && line.contains("orchestra ledger upgrade")), "{lines:#?}");
    let doctor = orchestra(&data).args(["doctor", "--offline"]).output().unwrap();
    let report = String::from_utf8_lossy(&doctor.stdout);
    assert!(report.contains(&format!("warn  ledger: 0 endpoint records predate invocation specs and {} capabilities predate capability records", offered.len())), "{report}");
    assert!(report.contains("fix: stop the node and run `orchestra ledger upgrade`"), "{report}");

    let report = upgrade(&data);
    let added: Vec<&str> = report["capabilities_added"].as_array().unwrap().iter().map(|name| name.as_str().unwrap()).collect();
    assert!(added.contains(&"web-search") && added.contains(&"x-search"), "{report:#}");
    assert_eq!(added.iter().map(|name| name.to_string()).collect::<std::collections::BTreeSet<_>>(), offered, "exactly the capabilities the ledger offers: {report:#}");
    let ledger = Ledger::open(&data, Options::default()).unwrap();
    let key = Key::new(capabilities, "web-search").unwrap();
    assert!(matches!(Record::decode(&key, &ledger.get(&key).unwrap().unwrap()).unwrap(), Record::Capability(_)));
    drop(ledger);
    let again = upgrade(&data);
    assert!(again["capabilities_added"].as_array().unwrap().is_empty() && again["checkpoint"].is_null(), "{again:#}");
}
