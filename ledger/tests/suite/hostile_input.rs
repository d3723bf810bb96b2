//! Every decoder of network input in the ledger, fed arbitrary bytes: a signed diff's JSON, a
//! snapshot stream (random, and a real one with bytes altered, cut or appended), and a replica
//! feed's version. Each must answer with an error, never a panic, and a refused version must
//! leave the ledger as it was.

use proptest::prelude::*;

use ledger::{ChangeSet, Checkpoint, Ledger, Options, SignedDiff};

/// A real snapshot to damage: a few versions with entries in several namespaces.
fn real_snapshot() -> &'static [u8] {
    static SNAPSHOT: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    SNAPSHOT.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let mut ledger = Ledger::create(dir.path(), Options::default()).unwrap();
        for round in 0..3u8 {
            let changes = (0..40u16).map(|index| ledger::Change {
                key: ledger::Key::new(ledger::Namespace::Subnet(index % 4), format!("path/{round}/{index}")).unwrap(),
                value: Some(vec![round; usize::from(index % 7) + 1]),
            });
            ledger.commit(ChangeSet::new(changes)).unwrap();
        }
        let mut bytes = Vec::new();
        ledger.export(ledger.head().version, &mut bytes, &mut |_| {}).unwrap();
        bytes
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_diff_json_is_refused_without_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(diff) = serde_json::from_slice::<SignedDiff>(&bytes) {
            let _ = diff.check();
        }
    }

    #[test]
    fn arbitrary_snapshot_streams_are_refused_without_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        prop_assert!(ledger::snapshot::inspect(&bytes[..], None).is_err());
        let mut framed = ledger::snapshot::MAGIC.to_vec();
        framed.extend_from_slice(&ledger::snapshot::FORMAT.to_be_bytes());
        framed.extend_from_slice(&bytes);
        prop_assert!(ledger::snapshot::inspect(&framed[..], None).is_err());
    }

    #[test]
    fn a_damaged_real_snapshot_is_refused_without_panic(
        flips in proptest::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 1..4),
        cut in any::<prop::sample::Index>(),
        tail in proptest::collection::vec(any::<u8>(), 0..16),
    ) {
        let good = real_snapshot();
        let mut flipped = good.to_vec();
        for (at, mask) in &flips {
            let at = at.index(flipped.len());
            flipped[at] ^= mask;
        }
        if flipped != good {
            prop_assert!(ledger::snapshot::inspect(&flipped[..], None).is_err(), "an altered byte is caught");
        }
        let cut = cut.index(good.len());
        prop_assert!(ledger::snapshot::inspect(&good[..cut], None).is_err(), "a cut stream is caught");
        if !tail.is_empty() {
            let mut longer = good.to_vec();
            longer.extend_from_slice(&tail);
            prop_assert!(ledger::snapshot::inspect(&longer[..], None).is_err(), "bytes after the end are caught");
        }
    }
}

/// A replica fed arbitrary versions: whatever decodes is refused (it reproduces no checkpoint
/// the replica can reach), and the replica's head does not move.
#[test]
fn arbitrary_replica_feed_versions_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = std::cell::RefCell::new(Ledger::create(dir.path(), Options::default()).unwrap());
    let head = *ledger.borrow().head();
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig { cases: 256, ..ProptestConfig::default() });
    let bytes = proptest::collection::vec(any::<u8>(), 0..256);
    runner
        .run(&(bytes.clone(), bytes.clone(), bytes), |(checkpoint, changes, diff)| {
            let checkpoint = serde_json::from_slice::<Checkpoint>(&checkpoint).unwrap_or(Checkpoint { version: 1, ..head });
            let changes = serde_json::from_slice::<ChangeSet>(&changes).unwrap_or_default();
            let diff = serde_json::from_slice::<SignedDiff>(&diff).ok();
            let mut ledger = ledger.borrow_mut();
            prop_assert!(ledger.replicate(&checkpoint, changes, diff.as_ref()).is_err());
            prop_assert_eq!(*ledger.head(), head);
            Ok(())
        })
        .unwrap();
}
