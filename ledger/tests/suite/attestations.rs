//! Validator sets, attestations and finality: who may vouch for a checkpoint, what their
//! signatures must cover, and when a checkpoint becomes final (two thirds of the stake).

use crate::common;

use ledger::hotkey::Hotkey;
use ledger::record::{Admin, Record, Stake, ADMIN_PATH};
use ledger::{AttestError, Attestation, Change, ChangeSet, DiffError, DiffProposal, Error, Key, Ledger, Namespace, Options, SystemNamespace};

const VALIDATORS: Namespace = Namespace::System(SystemNamespace::Validators);

fn hotkey(seed: u8) -> Hotkey {
    Hotkey::from_seed(&[seed; 32]).unwrap()
}

fn stake(validator: &Hotkey, rao: u64) -> Change {
    Change { key: Key::new(VALIDATORS, validator.ss58()).unwrap(), value: Some(Record::Stake(Stake { rao }).encode()) }
}

/// A ledger whose set is validators 1, 2 and 3 with stakes 50, 30 and 20, administered by 9.
fn ledger() -> (tempfile::TempDir, Ledger) {
    let dir = tempfile::tempdir().unwrap();
    let mut ledger = Ledger::create(dir.path(), Options::default()).unwrap();
    let admin = Change { key: Key::new(VALIDATORS, ADMIN_PATH).unwrap(), value: Some(Record::Admin(Admin { hotkey: hotkey(9).ss58() }).encode()) };
    ledger.commit(ChangeSet::new([admin, stake(&hotkey(1), 50), stake(&hotkey(2), 30), stake(&hotkey(3), 20)])).unwrap();
    (dir, ledger)
}

type Refusal = (&'static str, Attestation, fn(&Error) -> bool);

#[test]
fn a_checkpoint_becomes_final_at_two_thirds_of_the_stake() {
    let (dir, mut ledger) = ledger();
    let head = *ledger.head();
    assert_eq!(ledger.finality().unwrap().latest_final, None);

    let first = ledger.attest(&Attestation::sign(&head, &hotkey(1))).unwrap();
    assert!(first.recorded && !first.is_final, "50 of 100 is short of two thirds");
    let again = ledger.attest(&Attestation::sign(&head, &hotkey(1))).unwrap();
    assert!(!again.recorded && !again.is_final, "a duplicate changes nothing");
    assert_eq!(ledger.attestations(head.version).unwrap().len(), 1);

    let second = ledger.attest(&Attestation::sign(&head, &hotkey(3))).unwrap();
    assert!(second.is_final, "70 of 100 is a quorum");
    let finality = ledger.finality().unwrap();
    assert_eq!(finality.latest_final, Some(head));

    ledger.commit(ChangeSet::new([Change { key: Key::new(Namespace::Subnet(1), "identity").unwrap(), value: Some(common::identity(1, "Apex").encode()) }])).unwrap();
    let finality = ledger.finality().unwrap();
    assert_eq!(finality.latest.version, 2);
    assert_eq!(finality.latest_final, Some(head), "the new head is not final yet");

    drop(ledger);
    let reopened = Ledger::open(dir.path(), Options::default()).unwrap();
    assert_eq!(reopened.finality().unwrap().latest_final, Some(head), "finality survives a reopen");
}

#[test]
fn bad_attestations_are_refused_and_recorded_nowhere() {
    let (_dir, mut ledger) = ledger();
    let head = *ledger.head();
    let genesis = ledger.checkpoint(0).unwrap();

    let mut forged = Attestation::sign(&head, &hotkey(1));
    forged.signature[0] ^= 1;
    let mut over_other = Attestation::sign(&genesis, &hotkey(1));
    over_other.version = head.version;
    let mut future = Attestation::sign(&head, &hotkey(1));
    future.version = 7;
    let mut signed_by_other = Attestation::sign(&head, &hotkey(2));
    signed_by_other.validator = hotkey(1).ss58();

    let cases: Vec<Refusal> = vec![
        ("not a member", Attestation::sign(&head, &hotkey(4)), |e| matches!(e, Error::Attest(AttestError::NotAMember { .. }))),
        ("member of no set at genesis", Attestation::sign(&genesis, &hotkey(1)), |e| matches!(e, Error::Attest(AttestError::NotAMember { version: 0, .. }))),
        ("signature tampered", forged, |e| matches!(e, Error::Attest(AttestError::Signature(_)))),
        ("signature over another checkpoint", over_other, |e| matches!(e, Error::Attest(AttestError::WrongCheckpoint { .. }))),
        ("unknown checkpoint", future, |e| matches!(e, Error::UnknownVersion { version: 7, .. })),
        ("signed by another member", signed_by_other, |e| matches!(e, Error::Attest(AttestError::Signature(_)))),
    ];
    for (what, attestation, expected) in cases {
        let error = ledger.attest(&attestation).expect_err(what);
        assert!(expected(&error), "{what}: unexpected error {error}");
    }
    assert!(ledger.attestations(head.version).unwrap().is_empty());
    assert!(ledger.attestations(0).unwrap().is_empty());
}

#[test]
fn only_the_admin_changes_the_validator_set() {
    let (_dir, mut ledger) = ledger();
    let propose = |ledger: &Ledger, signer: &Hotkey| {
        DiffProposal {
            base_version: ledger.head().version,
            base_root: ledger.head().state_root,
            changes: ChangeSet::new([stake(&hotkey(4), 1_000)]),
            proposer: signer.ss58(),
        }
        .sign(signer)
    };
    let refused = ledger.apply_diff(&propose(&ledger, &hotkey(1)), &|_| true).unwrap_err();
    assert!(matches!(refused, Error::Diff(DiffError::NotAdmin { .. })), "{refused}");
    ledger.apply_diff(&propose(&ledger, &hotkey(9)), &|_| false).unwrap();
    let set = ledger.validator_set(ledger.head().version).unwrap();
    assert_eq!(set.stakes.get(&hotkey(4).ss58()), Some(&1_000));
    assert_eq!(ledger.validator_set(1).unwrap().stakes.len(), 3, "the set of an older version is unchanged");
}

/// On a ledger with validators the current ledger is read at the latest final checkpoint and
/// the operator's own writes after it: a proposal is read once final, never before. Without
/// validators it is read at the head.
#[test]
fn the_current_ledger_is_read_where_validators_vouch_for_it() {
    let (_dir, mut ledger) = ledger();
    assert_eq!(ledger.reading().unwrap(), ledger::Reading { version: 1, basis: ledger::Basis::Final }, "the operator's own writes after the genesis");

    let miner = hotkey(5);
    let proposal = DiffProposal {
        base_version: 1,
        base_root: ledger.head().state_root,
        changes: ChangeSet::new([Change { key: Key::new(Namespace::Subnet(22), "identity").unwrap(), value: Some(common::identity(22, "Desearch").encode()) }]),
        proposer: miner.ss58(),
    }
    .sign(&miner);
    let proposed = ledger.apply_diff(&proposal, &|proposer| proposer == miner.ss58()).unwrap();
    ledger.commit(ChangeSet::new([Change { key: Key::new(Namespace::Subnet(1), "identity").unwrap(), value: Some(common::identity(1, "Apex").encode()) }])).unwrap();
    assert_eq!(ledger.reading().unwrap().version, 1, "the proposal is not final, and the local write after it waits behind it");

    for validator in [1, 2] {
        ledger.attest(&Attestation::sign(&proposed, &hotkey(validator))).unwrap();
    }
    assert_eq!(ledger.reading().unwrap().version, 3, "final, and the local write after it is read too");
    let proven = ledger.prove_at(&Key::new(Namespace::Subnet(22), "identity").unwrap(), ledger.reading().unwrap().version).unwrap();
    assert!(proven.value.is_some());

    let solo_dir = tempfile::tempdir().unwrap();
    let mut solo = Ledger::create(solo_dir.path(), Options::default()).unwrap();
    solo.commit(ChangeSet::new([Change { key: Key::new(Namespace::Subnet(1), "identity").unwrap(), value: Some(common::identity(1, "Apex").encode()) }])).unwrap();
    assert_eq!(solo.reading().unwrap(), ledger::Reading { version: 1, basis: ledger::Basis::Head });
}

/// Pruning never eats the latest final version of a ledger with validators: it is what reads of
/// the current ledger use, however far the head has moved.
#[test]
fn pruning_keeps_the_latest_final_version() {
    let dir = tempfile::tempdir().unwrap();
    let options = Options { retention: Some(2), ..Options::default() };
    let mut ledger = Ledger::create(dir.path(), options).unwrap();
    ledger.commit(ChangeSet::new([stake(&hotkey(1), 50), stake(&hotkey(2), 30)])).unwrap();
    let first = *ledger.head();
    for validator in [1, 2] {
        ledger.attest(&Attestation::sign(&first, &hotkey(validator))).unwrap();
    }
    let miner = hotkey(5);
    for latency in 0..6u16 {
        let proposal = DiffProposal {
            base_version: ledger.head().version,
            base_root: ledger.head().state_root,
            changes: ChangeSet::new([Change { key: Key::new(Namespace::Subnet(22), "identity").unwrap(), value: Some(common::identity(22, &format!("Desearch {latency}")).encode()) }]),
            proposer: miner.ss58(),
        }
        .sign(&miner);
        ledger.apply_diff(&proposal, &|proposer| proposer == miner.ss58()).unwrap();
    }
    assert!(ledger.oldest_version() <= first.version, "the final version {} was pruned (oldest {})", first.version, ledger.oldest_version());
    let reading = ledger.reading().unwrap();
    assert_eq!(reading.version, first.version);
    ledger.prove_at(&Key::new(VALIDATORS, hotkey(1).ss58()).unwrap(), reading.version).unwrap();
}
