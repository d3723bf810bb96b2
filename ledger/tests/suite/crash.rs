//! Crash test: a child process commits in a loop and is killed with SIGKILL at random moments,
//! again and again on the same data directory. After every kill the ledger must open at the
//! last whole commit: never before one the child saw acknowledged, its root equal to the
//! model's for that version, its checkpoint chain unbroken, every kept version reading as the
//! model says, and pruning (a retention window is on) never having eaten a kept version.
//!
//! The child is this test binary again, running the ignored test `crash::crash_child`. Both sides
//! derive each version's changes from the version number, so the parent can replay them.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use ledger::{Change, ChangeSet, Durability, Key, Ledger, Namespace, Options};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const KILLS: usize = 24;
const RETENTION: u64 = 40;
const CHILD_DIR: &str = "ORCHESTRA_CRASH_DIR";

fn options() -> Options {
    Options { durability: Durability::Buffered, retention: Some(RETENTION) }
}

fn key(index: u64) -> Key {
    Key::new(Namespace::Subnet((index % 7) as u16), format!("path/{}", index / 7)).unwrap()
}

/// The changes version `version` applies, given which keys exist before it.
fn changes_for(version: u64, present: impl Fn(&Key) -> bool) -> ChangeSet {
    let mut rng = StdRng::seed_from_u64(version);
    let changes = (0..rng.gen_range(1..12)).map(|_| {
        let key = key(rng.gen_range(0..300));
        let value = if present(&key) && rng.gen_bool(0.25) { None } else { Some(rng.gen::<[u8; 24]>().to_vec()) };
        Change { key, value }
    });
    // Normalise first so a put then a delete of a new key in one version cannot delete an
    // absent key.
    let normalised = ChangeSet::new(changes);
    ChangeSet::new(normalised.into_changes().into_iter().filter(|change| change.value.is_some() || present(&change.key)))
}

/// The state of every version from 0 to `head`.
fn replay(head: u64) -> Vec<BTreeMap<Key, Vec<u8>>> {
    let mut versions = vec![BTreeMap::new()];
    for version in 1..=head {
        let mut state = versions.last().unwrap().clone();
        for change in changes_for(version, |key| state.contains_key(key)).into_changes() {
            match change.value {
                Some(value) => state.insert(change.key, value),
                None => state.remove(&change.key),
            };
        }
        versions.push(state);
    }
    versions
}

#[test]
#[ignore = "the child side of `killed_mid_commit_reopens_at_last_whole_commit`"]
fn crash_child() {
    let Ok(dir) = std::env::var(CHILD_DIR) else { return };
    let mut ledger = Ledger::open(&dir, options()).unwrap();
    loop {
        let version = ledger.head().version + 1;
        let changes = changes_for(version, |key| ledger.state().get(key).is_some());
        let checkpoint = ledger.commit(changes).unwrap();
        println!("committed {} {}", checkpoint.version, checkpoint.state_root);
    }
}

#[test]
fn killed_mid_commit_reopens_at_last_whole_commit() {
    let dir = tempfile::tempdir().unwrap();
    drop(Ledger::create(dir.path(), options()).unwrap());
    let mut rng = StdRng::seed_from_u64(0x5eed);
    let mut acknowledged = 0;
    for _ in 0..KILLS {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["crash::crash_child", "--exact", "--ignored", "--nocapture", "--test-threads=1"])
            .env(CHILD_DIR, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let (sender, receiver) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(version) = line.strip_prefix("committed ").and_then(|rest| rest.split(' ').next()) {
                    let _ = sender.send(version.parse::<u64>().unwrap());
                }
            }
        });
        // Let it get going, then kill it at a random moment.
        receiver.recv_timeout(Duration::from_secs(60)).expect("the child commits");
        std::thread::sleep(Duration::from_millis(rng.gen_range(1..150)));
        child.kill().unwrap();
        child.wait().unwrap();
        reader.join().unwrap();
        acknowledged = receiver.try_iter().last().unwrap_or(acknowledged).max(acknowledged);

        let ledger = Ledger::open(dir.path(), options()).expect("the ledger opens after a kill");
        check_after_kill(&ledger, acknowledged);
    }
    assert!(acknowledged > KILLS as u64, "the child committed between kills");
}

fn check_after_kill(ledger: &Ledger, acknowledged: u64) {
    let head = ledger.head().version;
    assert!(head >= acknowledged, "version {acknowledged} was acknowledged but the ledger opened at {head}");
    assert!(head <= acknowledged + 1, "the ledger opened at {head}, past the one commit in flight after {acknowledged}");
    let model = replay(head);
    let checkpoints = ledger.checkpoints(0, head).unwrap();
    for pair in checkpoints.windows(2) {
        assert!(pair[0].is_parent_of(&pair[1]), "checkpoint {} does not follow {}", pair[1].version, pair[0].version);
    }
    let oldest = ledger.oldest_version();
    assert_eq!(oldest, head.saturating_sub(RETENTION - 1), "pruning keeps exactly the window");
    for version in [oldest, (oldest + head) / 2, head] {
        let state = &model[version as usize];
        for index in (0..300).step_by(13) {
            let key = key(index);
            assert_eq!(ledger.get_at(&key, version).unwrap().as_ref(), state.get(&key), "{key} at version {version}");
        }
        let some_key = state.keys().next().cloned().unwrap_or_else(|| key(0));
        let proven = ledger.prove_at(&some_key, version).unwrap();
        ledger::verify(&checkpoints[version as usize].state_root, &some_key, proven.value.as_deref(), &proven.proof).unwrap();
    }
}
