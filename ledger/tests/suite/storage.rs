//! What the storage guarantees a user: a damaged data directory is refused at open with a
//! message that says so, damaged values are never served, limits are enforced before anything
//! is written, and pruning keeps exactly the window asked for.


use ledger::{Change, ChangeSet, Error, Key, Ledger, Namespace, Options, MAX_VALUE_LEN};

fn key(path: &str) -> Key {
    Key::new(Namespace::Subnet(22), path).unwrap()
}

fn put(path: &str, value: &[u8]) -> ChangeSet {
    ChangeSet::new([Change { key: key(path), value: Some(value.to_vec()) }])
}

/// Opens the data directory's RocksDB directly, as damage from outside the ledger would.
fn raw_db(dir: &std::path::Path) -> rocksdb::DB {
    let families = rocksdb::DB::list_cf(&rocksdb::Options::default(), dir).unwrap();
    rocksdb::DB::open_cf(&rocksdb::Options::default(), dir, families).unwrap()
}

#[test]
fn open_refuses_an_index_that_disagrees_with_the_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let mut ledger = Ledger::create(dir.path(), Options::default()).unwrap();
    ledger.commit(put("a", b"one")).unwrap();
    let recorded = ledger.commit(put("b", b"two")).unwrap().state_root;
    drop(ledger);
    {
        let db = raw_db(dir.path());
        let current = db.cf_handle("current").unwrap();
        let entry_key = [&22u32.to_be_bytes()[..], b"a"].concat();
        let mut index = db.get_cf(current, &entry_key).unwrap().unwrap();
        index[20] ^= 1;
        db.put_cf(current, &entry_key, index).unwrap();
    }
    match Ledger::open(dir.path(), Options::default()) {
        Err(error @ Error::RootMismatch { version: 2, .. }) => {
            let message = error.to_string();
            assert!(message.contains("refusing to open"), "{message}");
            assert!(message.contains(&recorded.to_hex()), "{message}");
        }
        Err(other) => panic!("expected a root mismatch, got {other}"),
        Ok(_) => panic!("a damaged ledger opened"),
    }
}

#[test]
fn a_damaged_value_is_reported_not_served() {
    let dir = tempfile::tempdir().unwrap();
    let mut ledger = Ledger::create(dir.path(), Options::default()).unwrap();
    ledger.commit(put("a", b"one")).unwrap();
    drop(ledger);
    {
        let db = raw_db(dir.path());
        let values = db.cf_handle("values").unwrap();
        let value_key = [&22u32.to_be_bytes()[..], b"a\0", &1u64.to_be_bytes()].concat();
        db.put_cf(values, value_key, b"\x01oNe").unwrap();
    }
    let ledger = Ledger::open(dir.path(), Options::default()).unwrap();
    let error = ledger.get(&key("a")).unwrap_err();
    assert!(matches!(error, Error::Corrupt(_)), "{error}");
    assert!(error.to_string().contains("does not match its hash"), "{error}");
}

#[test]
fn refused_commits_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut ledger = Ledger::create(dir.path(), Options::default()).unwrap();
    ledger.commit(put("a", b"one")).unwrap();
    let head = *ledger.head();
    let too_large = vec![0u8; MAX_VALUE_LEN + 1];
    let mixed = ChangeSet::new([
        Change { key: key("b"), value: Some(b"fine".to_vec()) },
        Change { key: key("c"), value: Some(too_large) },
    ]);
    assert!(matches!(ledger.commit(mixed), Err(Error::ValueTooLarge { .. })));
    assert!(matches!(ledger.commit(put("a", b"one")), Err(Error::EmptyCommit)));
    let absent = ChangeSet::new([Change { key: key("b"), value: Some(b"fine".to_vec()) }, Change { key: key("zz"), value: None }]);
    assert!(matches!(ledger.commit(absent), Err(Error::NotFound(_))));
    assert_eq!(*ledger.head(), head);
    assert_eq!(ledger.get(&key("b")).unwrap(), None);
    drop(ledger);
    let reopened = Ledger::open(dir.path(), Options::default()).unwrap();
    assert_eq!(*reopened.head(), head);
    assert_eq!(reopened.history(&key("b")).unwrap(), vec![]);
}

#[test]
fn pruned_versions_say_so_and_kept_ones_read_and_prove() {
    let dir = tempfile::tempdir().unwrap();
    let options = Options { retention: Some(3), ..Options::default() };
    let mut ledger = Ledger::create(dir.path(), options).unwrap();
    for round in 1..=6u8 {
        ledger.commit(put("a", &[round])).unwrap();
    }
    assert_eq!(ledger.oldest_version(), 4);
    for version in 0..4 {
        match ledger.get_at(&key("a"), version) {
            Err(error @ Error::Pruned { oldest: 4, .. }) => assert!(error.to_string().contains("has been pruned")),
            other => panic!("version {version}: expected pruned, got {other:?}"),
        }
        assert!(matches!(ledger.prove_at(&key("a"), version), Err(Error::Pruned { .. })));
        assert!(matches!(ledger.diff(version, 6), Err(Error::Pruned { .. })));
    }
    for version in 4..=6u64 {
        assert_eq!(ledger.get_at(&key("a"), version).unwrap(), Some(vec![version as u8]));
        let proven = ledger.prove_at(&key("a"), version).unwrap();
        let root = ledger.checkpoint(version).unwrap().state_root;
        ledger::verify(&root, &key("a"), proven.value.as_deref(), &proven.proof).unwrap();
    }
    let versions: Vec<u64> = ledger.history(&key("a")).unwrap().iter().map(|entry| entry.version).collect();
    assert_eq!(versions, [4, 5, 6], "older versions of the key are gone from disk");
    assert_eq!(ledger.checkpoints(0, 6).unwrap().len(), 7, "checkpoints outlive pruning");
}

#[test]
fn create_refuses_a_directory_of_other_files_and_an_existing_ledger() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), b"mine").unwrap();
    assert!(matches!(Ledger::create(dir.path(), Options::default()), Err(Error::NotALedger(_))));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "nothing was written beside the user's file");

    let ledger_dir = dir.path().join("ledger");
    drop(Ledger::create(&ledger_dir, Options::default()).unwrap());
    assert!(matches!(Ledger::create(&ledger_dir, Options::default()), Err(Error::AlreadyInitialised(_))));
}

#[test]
fn a_key_built_around_its_checks_is_refused_at_commit() {
    let dir = tempfile::tempdir().unwrap();
    let mut ledger = Ledger::create(dir.path(), Options::default()).unwrap();
    let unchecked = Key { namespace: Namespace::Subnet(1), path: "nul\0inside".to_owned() };
    let error = ledger.commit(ChangeSet::new([Change { key: unchecked, value: Some(b"x".to_vec()) }])).unwrap_err();
    assert!(matches!(error, Error::Key(_)), "{error}");
    drop(ledger);
    Ledger::open(dir.path(), Options::default()).expect("the ledger still opens");
}

/// A ledger whose layout lacks a column family this build has (an older layout) is still a
/// ledger: it opens, and creating or importing over it is refused rather than clearing it.
#[test]
fn a_ledger_missing_a_newer_column_family_is_never_cleared() {
    let dir = tempfile::tempdir().unwrap();
    let mut ledger = Ledger::create(dir.path(), Options::default()).unwrap();
    let head = ledger.commit(put("a", b"one")).unwrap();
    drop(ledger);
    {
        let mut db = raw_db(dir.path());
        db.drop_cf("attestations").unwrap();
    }
    assert!(matches!(Ledger::create(dir.path(), Options::default()), Err(Error::AlreadyInitialised(_))));
    let reopened = Ledger::open(dir.path(), Options::default()).unwrap();
    assert_eq!(*reopened.head(), head);
    assert_eq!(reopened.get(&key("a")).unwrap(), Some(b"one".to_vec()));
}
