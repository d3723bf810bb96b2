//! Prepaid credits: keys are shown once and stored hashed, debits never overdraw, concurrent
//! debits never spend the same rao twice, and balances survive a reopen.

use std::sync::Arc;

use ledger::{CreditError, Error, Ledger, Options};

fn ledger() -> (tempfile::TempDir, Ledger) {
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::create(dir.path(), Options::default()).unwrap();
    (dir, ledger)
}

#[test]
fn debits_take_the_price_and_refuse_an_overdraft() {
    let (dir, ledger) = ledger();
    let key = ledger.issue_api_key(1_000).unwrap();
    assert!(key.starts_with("ok_") && key.len() == 67);
    assert_eq!(ledger.debit(&key, 300).unwrap(), 700);
    match ledger.debit(&key, 701) {
        Err(Error::Credit(CreditError::Insufficient { price: 701, balance: 700 })) => {}
        other => panic!("expected an overdraft refusal, got {other:?}"),
    }
    assert_eq!(ledger.balance(&key).unwrap(), 700, "a refused debit takes nothing");
    assert_eq!(ledger.add_credit(&key, 50).unwrap(), 750);
    assert!(matches!(ledger.debit("ok_not-a-key", 1), Err(Error::Credit(CreditError::UnknownKey))));
    assert!(matches!(ledger.add_credit(&key, u64::MAX), Err(Error::Credit(CreditError::Overflow { .. }))));
    drop(ledger);
    let reopened = Ledger::open(dir.path(), Options::default()).unwrap();
    assert_eq!(reopened.balance(&key).unwrap(), 750);
}

#[test]
fn keys_are_stored_only_as_hashes() {
    let (dir, ledger) = ledger();
    let key = ledger.issue_api_key(5).unwrap();
    drop(ledger);
    let mut found = false;
    for file in walk(dir.path()) {
        let bytes = std::fs::read(&file).unwrap();
        assert!(!bytes.windows(key.len()).any(|window| window == key.as_bytes()), "{} holds the key", file.display());
        found |= bytes.windows(32).any(|window| window == blake3::hash(key.as_bytes()).as_bytes());
    }
    assert!(found, "the key's hash is stored");
}

#[test]
fn concurrent_debits_never_spend_the_same_rao() {
    let (_dir, ledger) = ledger();
    let ledger = Arc::new(ledger);
    let key = ledger.issue_api_key(1_000).unwrap();
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let (ledger, key) = (ledger.clone(), key.clone());
            std::thread::spawn(move || (0..200).filter(|_| ledger.debit(&key, 1).is_ok()).count())
        })
        .collect();
    let succeeded: usize = threads.into_iter().map(|thread| thread.join().unwrap()).sum();
    assert_eq!(succeeded, 1_000);
    assert_eq!(ledger.balance(&key).unwrap(), 0);
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir).unwrap().flat_map(|entry| {
        let path = entry.unwrap().path();
        if path.is_dir() { walk(&path) } else { vec![path] }
    }).collect()
}
