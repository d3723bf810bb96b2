//! The proposal pool: on a ledger with validators a proposer's diff waits until validators
//! holding two thirds of the stake approve it; nothing before that moves the root, a refused or
//! unapproved proposal never enters the history, and approvals count each validator once.

use crate::common;

use ledger::hotkey::Hotkey;
use ledger::record::{Admin, Record, Stake, ADMIN_PATH};
use ledger::{proposal_id, Approval, Approved, Change, ChangeSet, DiffProposal, Error, Key, Ledger, Namespace, Options, PoolError, Proposed, SignedDiff, SystemNamespace};

const VALIDATORS: Namespace = Namespace::System(SystemNamespace::Validators);

fn hotkey(seed: u8) -> Hotkey {
    Hotkey::from_seed(&[seed; 32]).unwrap()
}

/// Validators 1, 2 and 3 with stakes 50, 30 and 20, administered by 9; miner 5 registered.
fn ledger() -> (tempfile::TempDir, Ledger) {
    let dir = tempfile::tempdir().unwrap();
    let mut ledger = Ledger::create(dir.path(), Options::default()).unwrap();
    let stake = |validator: u8, rao: u64| Change { key: Key::new(VALIDATORS, hotkey(validator).ss58()).unwrap(), value: Some(Record::Stake(Stake { rao }).encode()) };
    let admin = Change { key: Key::new(VALIDATORS, ADMIN_PATH).unwrap(), value: Some(Record::Admin(Admin { hotkey: hotkey(9).ss58() }).encode()) };
    ledger.commit(ChangeSet::new([admin, stake(1, 50), stake(2, 30), stake(3, 20)])).unwrap();
    (dir, ledger)
}

fn registered(proposer: &str) -> bool {
    proposer == hotkey(5).ss58()
}

/// `proposer`'s diff naming subnet `netuid`, against the head.
fn diff(ledger: &Ledger, proposer: &Hotkey, netuid: u16, name: &str) -> SignedDiff {
    let change = Change { key: Key::new(Namespace::Subnet(netuid), "identity").unwrap(), value: Some(common::identity(netuid, name).encode()) };
    DiffProposal { base_version: ledger.head().version, base_root: ledger.head().state_root, changes: ChangeSet::new([change]), proposer: proposer.ss58() }.sign(proposer)
}

#[test]
fn a_proposal_enters_the_history_only_with_a_quorum_of_approvals() {
    let (dir, mut ledger) = ledger();
    let before = *ledger.head();
    let proposal = diff(&ledger, &hotkey(5), 22, "Desearch");
    let id = proposal_id(&proposal);
    assert_eq!(ledger.propose(&proposal, &registered).unwrap(), Proposed::Pending(id));
    assert_eq!(*ledger.head(), before, "a waiting proposal moves nothing");
    assert_eq!(ledger.propose(&proposal, &registered).unwrap(), Proposed::Pending(id), "sent again, it is the same proposal");
    assert_eq!(ledger.proposals().count(), 1);

    // Validator 1 (50 of 100) alone is short of two thirds, however often it approves.
    assert_eq!(ledger.approve(&Approval::sign(&id, &hotkey(1)), &registered).unwrap(), Approved::Waiting { recorded: true });
    for _ in 0..3 {
        assert_eq!(ledger.approve(&Approval::sign(&id, &hotkey(1)), &registered).unwrap(), Approved::Waiting { recorded: false }, "a repeated approval counts once");
    }
    assert_eq!(*ledger.head(), before);

    // The pool survives a restart.
    drop(ledger);
    let mut ledger = Ledger::open(dir.path(), Options::default()).unwrap();
    assert_eq!(ledger.proposal(&id).unwrap().unwrap().approvals.len(), 1);
    let listed: Vec<_> = ledger.proposals().collect();
    assert_eq!((listed.len(), listed[0].approvals.clone()), (1, vec![hotkey(1).ss58()]), "its summary is read back too");

    // Validator 3 brings it to 70 of 100: applied, signed diff and proposer recorded, gone from the pool.
    let Approved::Applied(checkpoint) = ledger.approve(&Approval::sign(&id, &hotkey(3)), &registered).unwrap() else { panic!("the quorum applies it") };
    assert_eq!(checkpoint.version, before.version + 1);
    assert_eq!(ledger.change_record(checkpoint.version).unwrap().diff, Some(proposal));
    assert!(ledger.proposals().next().is_none());
    let late = ledger.approve(&Approval::sign(&id, &hotkey(2)), &registered).unwrap_err();
    assert!(matches!(late, Error::Pool(PoolError::Unknown(unknown)) if unknown == id), "{late}");
}

#[test]
fn bad_approvals_are_refused_and_count_for_nothing() {
    let (_dir, mut ledger) = ledger();
    let proposal = diff(&ledger, &hotkey(5), 22, "Desearch");
    let Proposed::Pending(id) = ledger.propose(&proposal, &registered).unwrap() else { panic!("it waits") };
    let before = *ledger.head();

    let stranger = ledger.approve(&Approval::sign(&id, &hotkey(7)), &registered).unwrap_err();
    assert!(matches!(stranger, Error::Pool(PoolError::NotAMember { .. })), "{stranger}");
    let mut forged = Approval::sign(&id, &hotkey(7));
    forged.validator = hotkey(1).ss58();
    assert!(matches!(ledger.approve(&forged, &registered).unwrap_err(), Error::Pool(PoolError::Signature(_))));
    let other = Approval::sign(&ledger::Hash([7; 32]), &hotkey(1));
    assert!(matches!(ledger.approve(&other, &registered).unwrap_err(), Error::Pool(PoolError::Unknown(_))));
    let mut moved = Approval::sign(&ledger::Hash([7; 32]), &hotkey(1));
    moved.proposal = id;
    assert!(matches!(ledger.approve(&moved, &registered).unwrap_err(), Error::Pool(PoolError::Signature(_))), "a signature over another id does not approve this one");

    assert!(ledger.proposal(&id).unwrap().unwrap().approvals.is_empty(), "no refused approval was recorded");
    assert_eq!(*ledger.head(), before);
}

#[test]
fn a_proposal_that_no_longer_applies_leaves_the_pool_at_its_quorum() {
    let (_dir, mut ledger) = ledger();
    let late = diff(&ledger, &hotkey(5), 22, "Desearch");
    let Proposed::Pending(id) = ledger.propose(&late, &registered).unwrap() else { panic!("it waits") };
    // The admin's diff is applied at once and writes the same key first.
    let admin = diff(&ledger, &hotkey(9), 22, "Desearch v2");
    assert!(matches!(ledger.propose(&admin, &registered).unwrap(), Proposed::Applied(_)), "the admin's diff needs no approval");
    let head = *ledger.head();

    ledger.approve(&Approval::sign(&id, &hotkey(1)), &registered).unwrap();
    let Approved::Dropped(why) = ledger.approve(&Approval::sign(&id, &hotkey(2)), &registered).unwrap() else { panic!("a conflicting proposal is dropped") };
    assert!(why.contains("conflict"), "{why}");
    assert_eq!(*ledger.head(), head, "nothing was written");
    assert!(ledger.proposals().next().is_none());
}

#[test]
fn unknown_proposers_never_reach_the_pool_and_a_ledger_without_validators_applies_at_once() {
    let (_dir, mut ledger) = ledger();
    let stranger = diff(&ledger, &hotkey(6), 22, "Desearch");
    assert!(matches!(ledger.propose(&stranger, &registered).unwrap_err(), Error::Diff(ledger::DiffError::UnknownProposer { .. })));
    assert!(ledger.proposals().next().is_none());

    let solo_dir = tempfile::tempdir().unwrap();
    let mut solo = Ledger::create(solo_dir.path(), Options::default()).unwrap();
    let proposal = diff(&solo, &hotkey(5), 22, "Desearch");
    let Proposed::Applied(checkpoint) = solo.propose(&proposal, &registered).unwrap() else { panic!("no validators: applied") };
    assert_eq!(checkpoint.version, 1);
}

#[test]
fn one_proposer_cannot_fill_the_pool() {
    let (_dir, mut ledger) = ledger();
    for netuid in 0..ledger::pool::MAX_PROPOSALS_PER_PROPOSER as u16 {
        assert!(matches!(ledger.propose(&diff(&ledger, &hotkey(5), 100 + netuid, "Subnet"), &registered).unwrap(), Proposed::Pending(_)));
    }
    let refused = ledger.propose(&diff(&ledger, &hotkey(5), 99, "One more"), &registered).unwrap_err();
    assert!(matches!(refused, Error::Pool(PoolError::ProposerFull { .. })), "{refused}");
    assert_eq!(ledger.proposals().count(), ledger::pool::MAX_PROPOSALS_PER_PROPOSER, "the refused one was not stored");
}

/// A version that applies a proposal's diff removes the proposal in the same write: after a
/// reopen nothing applied is still waiting.
#[test]
fn an_applied_proposal_leaves_the_pool_in_the_same_write() {
    let (dir, mut ledger) = ledger();
    let proposal = diff(&ledger, &hotkey(5), 22, "Desearch");
    let Proposed::Pending(id) = ledger.propose(&proposal, &registered).unwrap() else { panic!("it waits") };
    let other = diff(&ledger, &hotkey(5), 13, "Data Universe");
    ledger.propose(&other, &registered).unwrap();
    // Applied by another path than an approval (a node's own `apply_diff`), it leaves too.
    ledger.apply_diff(&proposal, &registered).unwrap();
    assert!(ledger.proposal(&id).unwrap().is_none());
    assert_eq!(ledger.proposals().count(), 1);
    drop(ledger);
    let ledger = Ledger::open(dir.path(), Options::default()).unwrap();
    assert!(ledger.proposal(&id).unwrap().is_none(), "gone after a reopen too");
    assert_eq!(ledger.proposals().map(|summary| summary.id).collect::<Vec<_>>(), [proposal_id(&other)]);
}
