//! Replicas as separate processes on loopback: a replica follows a primary that is killed and
//! restarted mid-sync and still reaches the identical root; a replica too far behind a pruning
//! primary restarts from a snapshot; a replica refuses writes.

mod common;

use std::net::TcpListener;
use std::path::Path;
use std::time::{Duration, Instant};

use ledger::hotkey::Hotkey;
use ledger::record::{Health, HealthStatus, Record};
use ledger::{Change, ChangeSet, DiffProposal, Hash, Key, Namespace};
use serde_json::Value;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn start(data: &Path, args: &[&str]) -> common::Running {
    let mut command = common::orchestra(data);
    command.args(args);
    common::start(command)
}

fn primary(data: &Path, port: u16, retention: Option<u64>) -> common::Running {
    let listen = format!("127.0.0.1:{port}");
    let mut args = vec!["serve", "--listen", &listen];
    let retention = retention.map(|versions| versions.to_string());
    if let Some(retention) = &retention {
        args.extend(["--retention", retention]);
    }
    start(data, &args)
}

fn replica(data: &Path, port: u16, primary_port: u16) -> common::Running {
    start(data, &["replica", "--primary", &format!("http://127.0.0.1:{primary_port}"), "--listen", &format!("127.0.0.1:{port}"), "--poll-ms", "50"])
}

fn head(port: u16) -> Option<Value> {
    reqwest::blocking::get(format!("http://127.0.0.1:{port}/v1/head")).ok()?.json().ok()
}

/// Commits one signed diff on the primary.
fn propose(port: u16, latency: u32) {
    let head = head(port).unwrap();
    let miner = Hotkey::from_seed(&[4; 32]).unwrap();
    let record = Record::Health(Health { status: HealthStatus::Up, checked_at_ms: 1, latency_ms_p50: latency, success_ppm: 1_000_000, samples: 1 });
    let proposal = DiffProposal {
        base_version: head["version"].as_u64().unwrap(),
        base_root: Hash::from_hex(head["root"].as_str().unwrap()).unwrap(),
        changes: ChangeSet::new([Change { key: Key::new(Namespace::Subnet(64), "health/chat-completions").unwrap(), value: Some(record.encode()) }]),
        proposer: miner.ss58(),
    };
    let response = reqwest::blocking::Client::new().post(format!("http://127.0.0.1:{port}/v1/diffs")).json(&proposal.sign(&miner)).send().unwrap();
    assert!(response.status().is_success(), "{}", response.text().unwrap());
}

/// Waits until the replica's head equals the primary's.
fn converge(replica_port: u16, primary_port: u16) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    let target = head(primary_port).unwrap();
    loop {
        if let Some(replica) = head(replica_port) {
            if replica["root"] == target["root"] && replica["checkpoint"] == target["checkpoint"] {
                return replica;
            }
        }
        assert!(Instant::now() < deadline, "the replica did not reach {target}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_replica_converges_through_a_primary_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (primary_port, replica_port) = (free_port(), free_port());
    let primary_data = dir.path().join("primary");
    let mut node = primary(&primary_data, primary_port, None);
    propose(primary_port, 10);
    let _replica = replica(&dir.path().join("replica"), replica_port, primary_port);
    converge(replica_port, primary_port);

    for latency in 20..30 {
        propose(primary_port, latency);
    }
    drop(node); // SIGKILL, while the replica is pulling
    std::thread::sleep(Duration::from_millis(200));
    node = primary(&primary_data, primary_port, None);
    for latency in 30..33 {
        propose(primary_port, latency);
    }
    let replica_head = converge(replica_port, primary_port);
    assert_eq!(replica_head["version"], head(primary_port).unwrap()["version"]);

    let refused = reqwest::blocking::Client::new().post(format!("http://127.0.0.1:{replica_port}/v1/attestations")).json(&serde_json::json!({})).send().unwrap();
    assert_eq!(refused.status(), reqwest::StatusCode::FORBIDDEN);
    let body: Value = refused.json().unwrap();
    assert_eq!(body["error"]["code"], "read_only_replica");
    drop(node);
}

#[test]
fn a_replica_behind_a_pruning_primary_restarts_from_a_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let (primary_port, replica_port) = (free_port(), free_port());
    let _node = primary(&dir.path().join("primary"), primary_port, Some(2));
    let replica_data = dir.path().join("replica");
    let first = replica(&replica_data, replica_port, primary_port);
    converge(replica_port, primary_port);
    drop(first);
    for latency in 40..46 {
        propose(primary_port, latency);
    }
    let _second = replica(&replica_data, replica_port, primary_port);
    converge(replica_port, primary_port);
    assert!(replica_data.join("generation-1").exists(), "the replica moved to a new generation from a snapshot");
    assert!(!replica_data.join("generation-0").exists(), "the old generation was removed");
}
