//! Model-based property test: random sequences of puts, deletes, commits and reopens run
//! against the ledger and against a plain `BTreeMap` per version, and every observable answer
//! must agree: the head, values at the head and at every kept version, histories, diffs,
//! proofs at the head and at past versions, and the root, which must equal one built from
//! scratch from the model's state.

use std::collections::BTreeMap;

use ledger::{verify, Change, ChangeSet, EntryMeta, Error, Key, Ledger, Namespace, Options, State, SystemNamespace};
use proptest::prelude::*;

const NAMESPACES: [Namespace; 3] = [Namespace::Subnet(1), Namespace::Subnet(22), Namespace::System(SystemNamespace::Pricing)];
const PATHS: [&str; 5] = ["a", "ab", "b", "endpoint/search", "identity"];

#[derive(Clone, Debug)]
enum Op {
    Put { key: usize, value: u8 },
    Delete { key: usize },
    Commit,
    Reopen,
}

fn key(index: usize) -> Key {
    Key::new(NAMESPACES[index / PATHS.len()], PATHS[index % PATHS.len()]).unwrap()
}

fn all_keys() -> impl Iterator<Item = Key> {
    (0..NAMESPACES.len() * PATHS.len()).map(key)
}

fn op() -> impl Strategy<Value = Op> {
    let keys = NAMESPACES.len() * PATHS.len();
    prop_oneof![
        5 => (0..keys, any::<u8>()).prop_map(|(key, value)| Op::Put { key, value }),
        2 => (0..keys).prop_map(|key| Op::Delete { key }),
        3 => Just(Op::Commit),
        1 => Just(Op::Reopen),
    ]
}

type Snapshot = BTreeMap<Key, Vec<u8>>;

/// The model: the state of every version, and the changes staged for the next commit.
struct Model {
    versions: Vec<Snapshot>,
    staged: Vec<Change>,
}

impl Model {
    /// What committing the staged changes must do: the next state, or the error.
    fn commit(&mut self) -> Result<(), &'static str> {
        let head = self.versions.last().unwrap();
        let mut next = head.clone();
        let mut changed = false;
        for change in ChangeSet::new(std::mem::take(&mut self.staged)).into_changes() {
            match change.value {
                None if !head.contains_key(&change.key) => return Err("not found"),
                None => {
                    next.remove(&change.key);
                    changed = true;
                }
                Some(value) => changed |= next.insert(change.key, value.clone()).as_ref() != Some(&value),
            }
        }
        if !changed {
            return Err("empty");
        }
        self.versions.push(next);
        Ok(())
    }
}

fn value(byte: u8) -> Vec<u8> {
    vec![byte; 1 + usize::from(byte % 7)]
}

fn check_version(ledger: &Ledger, model: &Model, version: u64) -> Result<(), TestCaseError> {
    let snapshot = &model.versions[version as usize];
    let checkpoint = ledger.checkpoint(version).unwrap();
    for key in all_keys() {
        let expected = snapshot.get(&key);
        let read = ledger.get_at(&key, version).unwrap();
        prop_assert_eq!(read.as_ref(), expected, "{} at {}", key, version);
        let proven = ledger.prove_at(&key, version).unwrap();
        prop_assert_eq!(proven.value.as_ref(), expected);
        prop_assert!(verify(&checkpoint.state_root, &key, expected.map(Vec::as_slice), &proven.proof).is_ok());
        let wrong = expected.map_or_else(|| Some(vec![0xEE]), |_| None);
        prop_assert!(verify(&checkpoint.state_root, &key, wrong.as_deref(), &proven.proof).is_err());
    }
    Ok(())
}

fn check_head(ledger: &Ledger, model: &Model) -> Result<(), TestCaseError> {
    let head = model.versions.len() as u64 - 1;
    prop_assert_eq!(ledger.head().version, head);
    let from_scratch = State::from_sorted(model.versions[head as usize].iter().map(|(key, value)| {
        (key.clone(), EntryMeta { value_hash: ledger::hash::value_hash(value), version: 0 })
    }));
    prop_assert_eq!(ledger.head().state_root, from_scratch.root());
    check_version(ledger, model, head)
}

fn run(ops: Vec<Op>, options: Options) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let mut ledger = Ledger::create(dir.path(), options).unwrap();
    let mut model = Model { versions: vec![Snapshot::new()], staged: Vec::new() };
    for op in ops {
        match op {
            Op::Put { key: index, value: byte } => model.staged.push(Change { key: key(index), value: Some(value(byte)) }),
            Op::Delete { key: index } => model.staged.push(Change { key: key(index), value: None }),
            Op::Commit => {
                let changes = ChangeSet::new(model.staged.clone());
                let before = *ledger.head();
                match (model.commit(), ledger.commit(changes)) {
                    (Ok(()), Ok(checkpoint)) => prop_assert!(before.is_parent_of(&checkpoint)),
                    (Err("not found"), Err(Error::NotFound(_))) | (Err("empty"), Err(Error::EmptyCommit)) => {
                        prop_assert_eq!(*ledger.head(), before, "a refused commit leaves the head alone");
                    }
                    (expected, actual) => prop_assert!(false, "model says {:?}, ledger says {:?}", expected, actual.map(|c| c.version)),
                }
                check_head(&ledger, &model)?;
            }
            Op::Reopen => {
                drop(ledger);
                ledger = Ledger::open(dir.path(), options).unwrap();
                check_head(&ledger, &model)?;
            }
        }
    }
    check_history(&ledger, &model)
}

/// Every kept version reads as the model says, diffs between kept versions are the model's,
/// pruned ones say so, and the checkpoints chain.
fn check_history(ledger: &Ledger, model: &Model) -> Result<(), TestCaseError> {
    let head = ledger.head().version;
    let oldest = ledger.oldest_version();
    for version in 0..oldest {
        let pruned = matches!(ledger.get_at(&key(0), version), Err(Error::Pruned { .. }));
        prop_assert!(pruned, "version {} is below the oldest kept {}", version, oldest);
    }
    for version in oldest..=head {
        check_version(ledger, model, version)?;
        let expected: Vec<(Key, Option<Vec<u8>>)> = all_keys()
            .filter_map(|key| {
                let (before, after) = (model.versions[version as usize].get(&key), model.versions[head as usize].get(&key));
                (before != after).then(|| (key, after.cloned()))
            })
            .collect();
        let actual: Vec<(Key, Option<Vec<u8>>)> =
            ledger.diff(version, head).unwrap().into_changes().into_iter().map(|change| (change.key, change.value)).collect();
        prop_assert_eq!(actual, expected);
    }
    let checkpoints = ledger.checkpoints(0, head).unwrap();
    for pair in checkpoints.windows(2) {
        prop_assert!(pair[0].is_parent_of(&pair[1]));
    }
    for key in all_keys() {
        let history = ledger.history(&key).unwrap();
        for entry in history.iter().filter(|entry| entry.version >= oldest) {
            prop_assert_eq!(entry.value.as_ref(), model.versions[entry.version as usize].get(&key));
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn ledger_agrees_with_model(ops in prop::collection::vec(op(), 1..60)) {
        run(ops, Options { durability: ledger::Durability::Buffered, retention: None })?;
    }

    #[test]
    fn ledger_with_retention_agrees_with_model(ops in prop::collection::vec(op(), 1..60), retention in 1u64..4) {
        run(ops, Options { durability: ledger::Durability::Buffered, retention: Some(retention) })?;
    }
}
