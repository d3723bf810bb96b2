//! What a validator checks of a served ledger version before attesting it: the parent link, the
//! diff hash against the changes served, and the proposer's signed diff covering them. Each
//! forgery a ledger node could serve is named.

use ledger::hotkey::Hotkey;
use ledger::record::{Health, HealthStatus, Record};
use ledger::{Change, ChangeSet, Checkpoint, DiffProposal, Hash, Key, Namespace};
use subnet::validator::review::{problems, LedgerVersion};

fn miner() -> Hotkey {
    Hotkey::from_seed(&[12; 32]).unwrap()
}

fn health(latency: u32) -> Change {
    let record = Record::Health(Health { status: HealthStatus::Up, checked_at_ms: 1, latency_ms_p50: latency, success_ppm: 1_000_000, samples: 3 });
    Change { key: Key::new(Namespace::Subnet(22), "health/web-search").unwrap(), value: Some(record.encode()) }
}

/// A version after `previous` applying `changes` as signed by the miner.
fn version(previous: &Checkpoint, changes: ChangeSet) -> LedgerVersion {
    let diff = DiffProposal { base_version: previous.version, base_root: previous.state_root, changes: changes.clone(), proposer: miner().ss58() }.sign(&miner());
    let checkpoint = Checkpoint { version: previous.version + 1, state_root: Hash([3; 32]), parent: previous.hash(), diff_hash: changes.hash(), time_ms: previous.time_ms + 1 };
    LedgerVersion { checkpoint, changes, proposer: Some(miner().ss58()), diff: Some(diff) }
}

fn previous() -> Checkpoint {
    Checkpoint { version: 4, state_root: Hash([1; 32]), parent: Hash([2; 32]), diff_hash: Hash([4; 32]), time_ms: 1_000 }
}

#[test]
fn an_honest_version_has_no_problems() {
    assert_eq!(problems(&previous(), &version(&previous(), ChangeSet::new([health(10)]))), Vec::<String>::new());
}

#[test]
fn every_forgery_is_named() {
    let previous = previous();
    let honest = || version(&previous, ChangeSet::new([health(10)]));
    let mut orphan = honest();
    orphan.checkpoint.parent = Hash([9; 32]);
    let mut other_changes = honest();
    other_changes.changes = ChangeSet::new([health(99)]);
    let mut smuggled = honest();
    smuggled.changes = ChangeSet::new([health(99)]);
    smuggled.checkpoint.diff_hash = smuggled.changes.hash();
    let mut unsigned = honest();
    unsigned.diff = None;
    let mut local = honest();
    (local.proposer, local.diff) = (None, None);
    let mut resigned = honest();
    resigned.diff.as_mut().unwrap().proposal.base_version = 1;
    let mut someone_else = honest();
    someone_else.proposer = Some(Hotkey::from_seed(&[13; 32]).unwrap().ss58());
    for (what, version, expected) in [
        ("a parent that is not the version before", orphan, "parent"),
        ("changes the checkpoint does not commit to", other_changes, "diff hash"),
        ("changes the signed diff never proposed", smuggled, "does not hold"),
        ("a proposer without a signed diff", unsigned, "carries no diff"),
        ("a local write", local, "local write"),
        ("a diff altered after signing", resigned, "does not hold"),
        ("a diff signed by another proposer", someone_else, "carries no diff"),
    ] {
        let found = problems(&previous, &version);
        assert!(found.iter().any(|problem| problem.contains(expected)), "{what}: {found:?}");
    }
}
