//! Crash test of snapshot import: a child process importing a large snapshot is killed with
//! SIGKILL at random moments. Every time, the target either opens as the whole snapshot (root
//! and entry count as exported) or does not open as a ledger at all, and the next import into
//! it succeeds.

use std::process::{Command, Stdio};
use std::time::Duration;

use ledger::{Change, ChangeSet, Durability, Error, Key, Ledger, Namespace, Options};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const KILLS: usize = 20;
const ENTRIES: usize = 60_000;
const CHILD_SNAPSHOT: &str = "ORCHESTRA_IMPORT_SNAPSHOT";
const CHILD_TARGET: &str = "ORCHESTRA_IMPORT_TARGET";

#[test]
#[ignore = "the child side of `killed_mid_import_leaves_a_whole_ledger_or_none`"]
fn import_child() {
    let (Ok(snapshot), Ok(target)) = (std::env::var(CHILD_SNAPSHOT), std::env::var(CHILD_TARGET)) else { return };
    let file = std::io::BufReader::new(std::fs::File::open(snapshot).unwrap());
    Ledger::import(target, file, None, Options::default(), &mut |_| {}).unwrap();
}

#[test]
fn killed_mid_import_leaves_a_whole_ledger_or_none() {
    let dir = tempfile::tempdir().unwrap();
    let source_dir = dir.path().join("source");
    let mut source = Ledger::create(&source_dir, Options { durability: Durability::Buffered, retention: None }).unwrap();
    let changes = (0..ENTRIES).map(|index| Change {
        key: Key::new(Namespace::Subnet((index % 64) as u16), format!("entry/{index:06}")).unwrap(),
        value: Some(vec![(index % 251) as u8; 100]),
    });
    source.commit(ChangeSet::new(changes)).unwrap();
    let snapshot = dir.path().join("ledger.snap");
    source.export(source.head().version, std::fs::File::create(&snapshot).unwrap(), &mut |_| {}).unwrap();
    let expected = *source.head();

    let mut rng = StdRng::seed_from_u64(7);
    let (mut whole, mut none) = (0, 0);
    for round in 0..KILLS {
        let target = dir.path().join(format!("target-{round}"));
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["import_crash::import_child", "--exact", "--ignored", "--test-threads=1"])
            .env(CHILD_SNAPSHOT, &snapshot)
            .env(CHILD_TARGET, &target)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(rng.gen_range(5..600)));
        child.kill().unwrap();
        child.wait().unwrap();
        match Ledger::open(&target, Options::default()) {
            Ok(ledger) => {
                assert_eq!(*ledger.head(), expected, "a target that opens holds the whole snapshot");
                assert_eq!(ledger.state().entry_count(), ENTRIES);
                whole += 1;
            }
            Err(Error::NotInitialised(_)) => {
                none += 1;
                let file = std::io::BufReader::new(std::fs::File::open(&snapshot).unwrap());
                let ledger = Ledger::import(&target, file, None, Options::default(), &mut |_| {}).expect("the next import succeeds");
                assert_eq!(*ledger.head(), expected);
            }
            Err(other) => panic!("round {round}: the target is neither a whole ledger nor none: {other}"),
        }
    }
    assert!(none > 0, "no kill landed mid-import ({whole} finished first)");
}
