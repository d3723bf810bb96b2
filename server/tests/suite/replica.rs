//! Replicas as separate processes on loopback: a replica follows a primary that is killed and
//! restarted mid-sync and still reaches the identical root; a replica too far behind a pruning
//! primary restarts from a snapshot; a replica refuses writes.
//!
//! Every process listens on a port the OS assigns. The primary that restarts comes back on a new
//! port, behind a forwarder that the test holds open, so no other process can take the address
//! the replica follows.

use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ledger::hotkey::Hotkey;
use ledger::record::{Health, HealthStatus, Record};
use ledger::{Change, ChangeSet, DiffProposal, Hash, Key, Namespace};
use serde_json::Value;

use crate::common;

fn start(data: &Path, args: &[&str]) -> common::Running {
    let mut command = common::orchestra(data);
    command.args(args);
    common::start(command)
}

fn miner() -> Hotkey {
    Hotkey::from_seed(&[4; 32]).unwrap()
}

/// A primary on `data`, whose proposer set lists [`miner`].
fn primary(data: &Path, retention: Option<u64>) -> common::Running {
    if !data.exists() {
        common::seed_with_proposer(data, &miner());
    }
    let mut args = vec!["serve", "--listen", "127.0.0.1:0"];
    let retention = retention.map(|versions| versions.to_string());
    if let Some(retention) = &retention {
        args.extend(["--retention", retention]);
    }
    start(data, &args)
}

fn replica(data: &Path, primary: &str) -> common::Running {
    start(data, &["replica", "--primary", primary, "--listen", "127.0.0.1:0", "--poll-ms", "50", "--allow-operator-address", "127.0.0.1"])
}

/// A loopback address that forwards every connection to the current target, so that a primary
/// restarted on a new port stays at the address its replica follows.
struct Forwarder {
    base: String,
    target: Arc<Mutex<String>>,
}

impl Forwarder {
    fn to(target: &str) -> Forwarder {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let target = Arc::new(Mutex::new(target.trim_start_matches("http://").to_owned()));
        let current = target.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().map_while(Result::ok) {
                let address = current.lock().unwrap().clone();
                // A primary that is down refuses the connection: the client sees it closed.
                let Ok(upstream) = TcpStream::connect(address) else { continue };
                pipe(client.try_clone().unwrap(), upstream.try_clone().unwrap());
                pipe(upstream, client);
            }
        });
        Forwarder { base, target }
    }

    fn retarget(&self, target: &str) {
        *self.target.lock().unwrap() = target.trim_start_matches("http://").to_owned();
    }
}

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut from, &mut to);
        let _ = to.shutdown(Shutdown::Write);
    });
}

fn head(base: &str) -> Option<Value> {
    reqwest::blocking::get(format!("{base}/v1/head")).ok()?.json().ok()
}

/// Waits until `condition` holds, for at most a minute.
fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Commits one signed diff on the primary.
fn propose(base: &str, latency: u32) {
    let head = head(base).unwrap();
    let miner = miner();
    let record = Record::Health(Health { status: HealthStatus::Up, checked_at_ms: 1, latency_ms_p50: latency, success_ppm: 1_000_000, samples: 1 });
    let proposal = DiffProposal {
        base_version: head["version"].as_u64().unwrap(),
        base_root: Hash::from_hex(head["root"].as_str().unwrap()).unwrap(),
        changes: ChangeSet::new([Change { key: Key::new(Namespace::Subnet(64), "health/chat-completions").unwrap(), value: Some(record.encode()) }]),
        proposer: miner.ss58(),
    };
    let response = reqwest::blocking::Client::new().post(format!("{base}/v1/diffs")).json(&proposal.sign(&miner)).send().unwrap();
    assert!(response.status().is_success(), "{}", response.text().unwrap());
}

/// Waits until the replica's head equals the primary's.
fn converge(replica: &str, primary: &str) -> Value {
    let target = head(primary).unwrap();
    let mut reached = None;
    wait_until(&format!("the replica reaches {target}"), || {
        reached = head(replica).filter(|replica| replica["root"] == target["root"] && replica["checkpoint"] == target["checkpoint"]);
        reached.is_some()
    });
    reached.unwrap()
}

#[test]
fn a_replica_converges_through_a_primary_restart() {
    let dir = tempfile::tempdir().unwrap();
    let primary_data = dir.path().join("primary");
    let mut node = primary(&primary_data, None);
    let forwarder = Forwarder::to(&node.base);
    propose(&node.base, 10);
    let replica = replica(&dir.path().join("replica"), &forwarder.base);
    converge(&replica.base, &node.base);

    for latency in 20..30 {
        propose(&node.base, latency);
    }
    drop(node); // SIGKILL, while the replica is pulling
    node = primary(&primary_data, None);
    forwarder.retarget(&node.base);
    for latency in 30..33 {
        propose(&node.base, latency);
    }
    let replica_head = converge(&replica.base, &node.base);
    assert_eq!(replica_head["version"], head(&node.base).unwrap()["version"]);

    let refused = reqwest::blocking::Client::new().post(replica.url("/v1/attestations")).json(&serde_json::json!({})).send().unwrap();
    assert_eq!(refused.status(), reqwest::StatusCode::FORBIDDEN);
    let body: Value = refused.json().unwrap();
    assert_eq!(body["error"]["code"], "read_only_replica");
}

#[test]
fn a_replica_behind_a_pruning_primary_restarts_from_a_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let node = primary(&dir.path().join("primary"), Some(2));
    let replica_data = dir.path().join("replica");
    let first = replica(&replica_data, &node.base);
    converge(&first.base, &node.base);
    drop(first);
    for latency in 40..46 {
        propose(&node.base, latency);
    }
    let second = replica(&replica_data, &node.base);
    converge(&second.base, &node.base);
    // The replica serves from the new generation before it removes the old one.
    wait_until("the old generation is removed", || !replica_data.join("generation-0").exists());
    assert!(replica_data.join("generation-1").exists(), "the replica moved to a new generation from a snapshot");
}
