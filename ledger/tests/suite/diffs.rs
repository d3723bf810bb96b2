//! Signed diff proposals: what a miner submits and what the ledger refuses. Every refusal
//! must say why and leave the ledger exactly as it was.

use crate::common;

use ledger::hotkey::{Hotkey, HotkeyError};
use ledger::{Change, ChangeSet, DiffError, DiffProposal, Error, Key, Ledger, Namespace, Options, MAX_DIFF_CHANGES};

fn miner() -> Hotkey {
    Hotkey::from_seed(&[1; 32]).unwrap()
}

/// The subnet's registered hotkeys, as a node connected to the chain would read them.
fn registered(hotkey: &str) -> bool {
    hotkey == miner().ss58()
}

fn key(netuid: u16, path: &str) -> Key {
    Key::new(Namespace::Subnet(netuid), path).unwrap()
}

fn put(key: Key, record: ledger::record::Record) -> Change {
    Change { key, value: Some(record.encode()) }
}

fn proposal(ledger: &Ledger, changes: Vec<Change>) -> DiffProposal {
    DiffProposal {
        base_version: ledger.head().version,
        base_root: ledger.head().state_root,
        changes: ChangeSet::new(changes),
        proposer: miner().ss58(),
    }
}

fn ledger() -> (tempfile::TempDir, Ledger) {
    let dir = tempfile::tempdir().unwrap();
    let mut ledger = Ledger::create(dir.path(), Options::default()).unwrap();
    ledger.commit(ChangeSet::new([put(key(22, "identity"), common::identity(22, "Desearch"))])).unwrap();
    ledger.commit(ChangeSet::new([put(key(13, "identity"), common::identity(13, "Data Universe"))])).unwrap();
    (dir, ledger)
}

type Refusal = (&'static str, ledger::SignedDiff, fn(&Error) -> bool);

#[test]
fn a_signed_diff_is_applied_and_its_proposer_recorded() {
    let (_dir, mut ledger) = ledger();
    let diff = proposal(&ledger, vec![put(key(22, "endpoint/web"), common::endpoint("web"))]).sign(&miner());
    let checkpoint = ledger.apply_diff(&diff, &registered).unwrap();
    assert_eq!(checkpoint.version, 3);
    assert_eq!(ledger.get(&key(22, "endpoint/web")).unwrap(), Some(common::endpoint("web").encode()));
    assert_eq!(ledger.change_record(3).unwrap().proposer, Some(miner().ss58()));
}

#[test]
fn a_stale_base_is_rebased_when_its_keys_are_untouched() {
    let (_dir, mut ledger) = ledger();
    let base = ledger.checkpoint(1).unwrap();
    let mut stale = proposal(&ledger, vec![put(key(22, "endpoint/web"), common::endpoint("web"))]);
    stale.base_version = base.version;
    stale.base_root = base.state_root;
    assert_eq!(ledger.apply_diff(&stale.sign(&miner()), &registered).unwrap().version, 3);
}

#[test]
fn a_stale_base_whose_keys_changed_is_a_conflict() {
    let (_dir, mut ledger) = ledger();
    let base = ledger.checkpoint(1).unwrap();
    let mut stale = proposal(&ledger, vec![put(key(13, "identity"), common::identity(13, "Data Universe 2"))]);
    stale.base_version = base.version;
    stale.base_root = base.state_root;
    let head = *ledger.head();
    match ledger.apply_diff(&stale.sign(&miner()), &registered) {
        Err(Error::Diff(DiffError::Conflict { key: conflicting, changed_at: 2, base: 1 })) => assert_eq!(conflicting, key(13, "identity")),
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(*ledger.head(), head);
}

/// Each bad diff is refused with its own error, and the ledger does not move.
#[test]
fn bad_diffs_are_refused_and_change_nothing() {
    let (_dir, mut ledger) = ledger();
    let head = *ledger.head();
    let good = || proposal(&ledger, vec![put(key(22, "endpoint/web"), common::endpoint("web"))]);

    let mut forged = good().sign(&miner());
    forged.proposal.changes = ChangeSet::new([put(key(22, "endpoint/web"), common::endpoint("other"))]);
    let mut wrong_signer = good();
    wrong_signer.proposer = Hotkey::from_seed(&[2; 32]).unwrap().ss58();
    let mut bad_address = good();
    bad_address.proposer = "5notanaddress".to_owned();
    let mut future = good();
    future.base_version = 99;
    let mut wrong_root = good();
    wrong_root.base_root = ledger.checkpoint(1).unwrap().state_root;
    let too_many = (0..=MAX_DIFF_CHANGES).map(|index| put(key(22, &format!("endpoint/e{index}")), common::endpoint(&format!("e{index}"))));
    let mismatched_record = vec![put(key(22, "identity"), common::identity(64, "Chutes"))];
    let untyped = vec![Change { key: key(22, "identity"), value: Some(b"not a record".to_vec()) }];
    let unknown_path = vec![Change { key: key(22, "colour"), value: Some(b"blue".to_vec()) }];

    let cases: Vec<Refusal> = vec![
        ("changes edited after signing", forged, |error| matches!(error, Error::Diff(DiffError::Signature(HotkeyError::BadSignature(_))))),
        ("signed by another key", wrong_signer.sign(&miner()), |error| matches!(error, Error::Diff(DiffError::Signature(HotkeyError::BadSignature(_))))),
        ("proposer not an address", bad_address.sign(&miner()), |error| matches!(error, Error::Diff(DiffError::Signature(HotkeyError::BadAddress(..))))),
        ("base in the future", future.sign(&miner()), |error| matches!(error, Error::Diff(DiffError::BaseInFuture { base: 99, head: 2 }))),
        ("base root wrong", wrong_root.sign(&miner()), |error| matches!(error, Error::Diff(DiffError::BaseRootMismatch { .. }))),
        ("too many changes", proposal(&ledger, too_many.collect()).sign(&miner()), |error| matches!(error, Error::Diff(DiffError::TooManyChanges { .. }))),
        ("record names another subnet", proposal(&ledger, mismatched_record).sign(&miner()), |error| matches!(error, Error::Record(_))),
        ("value is not a record", proposal(&ledger, untyped).sign(&miner()), |error| matches!(error, Error::Record(_))),
        ("path holds no record type", proposal(&ledger, unknown_path).sign(&miner()), |error| matches!(error, Error::Record(_))),
        ("no changes", proposal(&ledger, vec![]).sign(&miner()), |error| matches!(error, Error::Diff(DiffError::Empty))),
    ];
    for (what, diff, expected) in cases {
        let error = ledger.apply_diff(&diff, &registered).expect_err(what);
        assert!(expected(&error), "{what}: unexpected error {error}");
        assert!(!error.to_string().is_empty());
        assert_eq!(*ledger.head(), head, "{what}: the ledger moved");
    }
}

/// Only a proposer the ledger knows may write: a stranger's well-signed diff is refused and
/// nothing changes; a hotkey the admin lists in the proposer set is admitted.
#[test]
fn only_known_proposers_write() {
    let (_dir, mut ledger) = ledger();
    let stranger = Hotkey::from_seed(&[5; 32]).unwrap();
    let diff = |ledger: &Ledger, proposer: &Hotkey| {
        let mut proposal = proposal(ledger, vec![put(key(22, "endpoint/web"), common::endpoint("web"))]);
        proposal.proposer = proposer.ss58();
        proposal.sign(proposer)
    };
    let head = *ledger.head();
    match ledger.apply_diff(&diff(&ledger, &stranger), &registered) {
        Err(Error::Diff(DiffError::UnknownProposer { proposer })) => assert_eq!(proposer, stranger.ss58()),
        other => panic!("expected an unknown proposer, got {other:?}"),
    }
    assert_eq!(*ledger.head(), head, "nothing was written");

    // The operator lists the stranger (a local write); from then on it is known.
    let listed = Change { key: Key::new(Namespace::System(ledger::SystemNamespace::Proposers), stranger.ss58()).unwrap(), value: Some(ledger::record::Record::Proposer(ledger::record::Proposer { label: "a partner's crawler".into() }).encode()) };
    ledger.commit(ChangeSet::new([listed])).unwrap();
    assert!(ledger.is_known_proposer(&stranger.ss58(), &registered).unwrap());
    ledger.apply_diff(&diff(&ledger, &stranger), &registered).expect("a listed proposer writes");
}

/// The proposer set changes only by the admin's diffs: a registered miner cannot list itself
/// or others.
#[test]
fn only_the_admin_changes_the_proposer_set() {
    let (_dir, mut ledger) = ledger();
    let proposers = ledger::Namespace::System(ledger::SystemNamespace::Proposers);
    let listing = |hotkey: &Hotkey| Change { key: Key::new(proposers, hotkey.ss58()).unwrap(), value: Some(ledger::record::Record::Proposer(ledger::record::Proposer { label: "me".into() }).encode()) };
    let head = *ledger.head();
    let diff = proposal(&ledger, vec![listing(&Hotkey::from_seed(&[6; 32]).unwrap())]).sign(&miner());
    assert!(matches!(ledger.apply_diff(&diff, &registered), Err(Error::Diff(DiffError::NotAdmin { .. }))));
    assert_eq!(*ledger.head(), head);
}

/// The prices of paid reads and orchestration are the operator's: a registered miner cannot
/// make them free.
#[test]
fn only_the_admin_changes_the_prices() {
    let (_dir, mut ledger) = ledger();
    let price = Change { key: Key::new(Namespace::System(ledger::SystemNamespace::Pricing), "orchestrate").unwrap(), value: Some(ledger::record::Record::Price(ledger::record::Price { rao: 0 }).encode()) };
    let head = *ledger.head();
    let diff = proposal(&ledger, vec![price]).sign(&miner());
    assert!(matches!(ledger.apply_diff(&diff, &registered), Err(Error::Diff(DiffError::NotAdmin { .. }))));
    assert_eq!(*ledger.head(), head, "nothing was written");
}

#[test]
fn a_replayed_diff_is_refused() {
    let (_dir, mut ledger) = ledger();
    let diff = proposal(&ledger, vec![put(key(22, "endpoint/web"), common::endpoint("web"))]).sign(&miner());
    ledger.apply_diff(&diff, &registered).unwrap();
    assert!(matches!(ledger.apply_diff(&diff, &registered), Err(Error::Diff(DiffError::Conflict { .. }))));
}

#[test]
fn a_signed_diff_survives_json() {
    let (_dir, ledger) = ledger();
    let diff = proposal(&ledger, vec![put(key(22, "endpoint/web"), common::endpoint("web"))]).sign(&miner());
    let json = serde_json::to_string(&diff).unwrap();
    let back: ledger::SignedDiff = serde_json::from_str(&json).unwrap();
    assert_eq!(back, diff);
    back.check().unwrap();
}

#[test]
fn an_unsorted_or_repeating_change_list_is_refused_when_read() {
    let (_dir, ledger) = ledger();
    let diff = proposal(&ledger, vec![
        put(key(22, "endpoint/a"), common::endpoint("a")),
        put(key(22, "endpoint/b"), common::endpoint("b")),
    ])
    .sign(&miner());
    let mut json: serde_json::Value = serde_json::to_value(&diff).unwrap();
    let changes = json["proposal"]["changes"].as_array_mut().unwrap();
    changes.swap(0, 1);
    let error = serde_json::from_value::<ledger::SignedDiff>(json.clone()).unwrap_err();
    assert!(error.to_string().contains("sorted by key"), "{error}");
    let changes = json["proposal"]["changes"].as_array_mut().unwrap();
    changes[0] = changes[1].clone();
    assert!(serde_json::from_value::<ledger::SignedDiff>(json).is_err());
}

/// A version keeps the signed diff it applied; a replica applying the version checks it: the
/// signature must hold and the proposal must contain every change, or nothing is written.
#[test]
fn a_replica_takes_only_versions_their_signed_diffs_bear_out() {
    let (_dir, mut primary) = ledger();
    let diff = proposal(&primary, vec![put(key(22, "endpoint/web"), common::endpoint("web"))]).sign(&miner());
    let checkpoint = primary.apply_diff(&diff, &registered).unwrap();
    let record = primary.change_record(checkpoint.version).unwrap();
    assert_eq!(record.diff.as_ref(), Some(&diff), "the version keeps its signed diff");
    let changes = primary.diff(checkpoint.version - 1, checkpoint.version).unwrap();

    let replica_dir = tempfile::tempdir().unwrap();
    let mut genesis = Vec::new();
    primary.export(0, &mut genesis, &mut |_| {}).unwrap();
    let mut replica = Ledger::import(replica_dir.path(), &genesis[..], None, Options::default(), &mut |_| {}).unwrap();
    for version in 1..checkpoint.version {
        let earlier = primary.checkpoint(version).unwrap();
        replica.replicate(&earlier, primary.diff(version - 1, version).unwrap(), None).unwrap();
    }
    let head = *replica.head();
    // Changes the diff never proposed, passed off under the proposer's signature.
    let smuggled = ChangeSet::new([put(key(22, "endpoint/web"), common::endpoint("elsewhere"))]);
    assert!(matches!(replica.replicate(&checkpoint, smuggled, Some(&diff)), Err(Error::Diff(DiffError::NotProposed { .. }))));
    let mut forged = diff.clone();
    forged.proposal.proposer = Hotkey::from_seed(&[9; 32]).unwrap().ss58();
    assert!(matches!(replica.replicate(&checkpoint, changes.clone(), Some(&forged)), Err(Error::Diff(DiffError::Signature(_)))));
    assert_eq!(*replica.head(), head, "refused versions wrote nothing");
    assert_eq!(replica.replicate(&checkpoint, changes, Some(&diff)).unwrap(), checkpoint);
    assert_eq!(replica.change_record(checkpoint.version).unwrap().diff, Some(diff));
}
