//! Snapshots: a version exported from one ledger imports into another with the same root,
//! values and attestations; a damaged or untrusted snapshot is refused with its own error and
//! leaves the target directory as it was.


use std::path::Path;

use ledger::hotkey::Hotkey;
use ledger::record::{Record, Stake};
use ledger::snapshot::{self, SnapshotError, CHUNK_ENTRIES};
use ledger::{Attestation, Change, ChangeSet, Error, Key, Ledger, Namespace, Options, SystemNamespace, ValidatorSet};

/// Enough entries for three chunks, a validator set of two, and a first version with fewer
/// entries than the head.
fn source() -> (tempfile::TempDir, Ledger) {
    let dir = tempfile::tempdir().unwrap();
    let mut ledger = Ledger::create(dir.path(), Options::default()).unwrap();
    let validators = [validator(1), validator(2)].map(|hotkey| Change {
        key: Key::new(Namespace::System(SystemNamespace::Validators), hotkey.ss58()).unwrap(),
        value: Some(Record::Stake(Stake { rao: 10 }).encode()),
    });
    ledger.commit(ChangeSet::new(validators)).unwrap();
    let entries = (0..2 * CHUNK_ENTRIES + 100).map(|index| Change {
        key: Key::new(Namespace::Subnet((index % 5) as u16), format!("path/{index:05}")).unwrap(),
        value: Some(format!("value {index}").into_bytes()),
    });
    ledger.commit(ChangeSet::new(entries)).unwrap();
    let head = *ledger.head();
    for seed in [1, 2] {
        ledger.attest(&Attestation::sign(&head, &validator(seed))).unwrap();
    }
    (dir, ledger)
}

fn validator(seed: u8) -> Hotkey {
    Hotkey::from_seed(&[seed; 32]).unwrap()
}

fn export(ledger: &Ledger, version: u64) -> Vec<u8> {
    let mut bytes = Vec::new();
    ledger.export(version, &mut bytes, &mut |_| {}).unwrap();
    bytes
}

fn import(target: &Path, bytes: &[u8], trusted: Option<&ValidatorSet>) -> ledger::Result<Ledger> {
    Ledger::import(target, bytes, trusted, Options::default(), &mut |_| {})
}

fn trusted(members: &[u8]) -> ValidatorSet {
    ValidatorSet { admin: None, stakes: members.iter().map(|seed| (validator(*seed).ss58(), 10)).collect() }
}

/// Byte ranges of the chunks, each with its 8-byte frame and 32-byte hash.
fn chunk_spans(bytes: &[u8]) -> Vec<std::ops::Range<usize>> {
    let header_len = u32::from_be_bytes(bytes[12..16].try_into().unwrap()) as usize;
    let mut start = 16 + header_len;
    let mut spans = Vec::new();
    while start < bytes.len() {
        let body_len = u32::from_be_bytes(bytes[start + 4..start + 8].try_into().unwrap()) as usize;
        spans.push(start..start + 8 + body_len + 32);
        start += 8 + body_len + 32;
    }
    spans
}

/// A damaged snapshot, the trusted set to import it with, and the error it must get.
type Refusal = (&'static str, Vec<u8>, Option<ValidatorSet>, fn(&SnapshotError) -> bool);

#[test]
fn a_version_moves_between_ledgers_whole() {
    let (_dir, source) = source();
    let head = *source.head();
    let bytes = export(&source, head.version);
    assert_eq!(chunk_spans(&bytes).len(), 3);
    let summary = snapshot::inspect(&bytes[..], Some(&trusted(&[1, 2]))).unwrap();
    assert_eq!((summary.version, summary.state_root, summary.attestations), (head.version, head.state_root, 2));

    let target = tempfile::tempdir().unwrap();
    let imported = import(&target.path().join("copy"), &bytes, Some(&trusted(&[1, 2]))).unwrap();
    assert_eq!(*imported.head(), head);
    assert_eq!(imported.finality().unwrap().latest_final, Some(head), "attestations travel with the checkpoint");
    let key = Key::new(Namespace::Subnet(3), "path/00003").unwrap();
    assert_eq!(imported.get(&key).unwrap(), Some(b"value 3".to_vec()));
    assert_eq!(imported.history(&key).unwrap()[0].version, 2, "entries keep the version that set them");
    assert!(matches!(imported.get_at(&key, 1), Err(Error::Pruned { version: 1, oldest: 2 })));
    assert!(matches!(imported.checkpoint(1), Err(Error::Pruned { .. })));

    let first = source.checkpoint(1).unwrap();
    let old = import(&target.path().join("old"), &export(&source, 1), None).unwrap();
    assert_eq!(*old.head(), first, "any kept version exports, not only the head");
}

/// Each kind of damage gets its own error, and the target is left as it was: absent when it
/// was absent, empty when it was empty.
#[test]
fn damaged_or_untrusted_snapshots_are_refused_and_leave_no_trace() {
    let (_dir, source) = source();
    let good = export(&source, source.head().version);
    let spans = chunk_spans(&good);

    let mut flipped = good.clone();
    flipped[spans[1].start + 20] ^= 1;
    let mut swapped = good[..spans[0].start].to_vec();
    swapped.extend_from_slice(&good[spans[1].clone()]);
    swapped.extend_from_slice(&good[spans[0].clone()]);
    swapped.extend_from_slice(&good[spans[2].clone()]);
    let mut dropped = good[..spans[0].start].to_vec();
    dropped.extend_from_slice(&good[spans[1].start..]);
    let mut trailing = good.clone();
    trailing.push(0);
    let resealed = reseal_with_altered_value(&good);

    let cases: Vec<Refusal> = vec![
        ("a byte flipped", flipped, None, |e| matches!(e, SnapshotError::BrokenChain { index: 1 })),
        ("chunks swapped", swapped, None, |e| matches!(e, SnapshotError::BrokenChain { index: 0 })),
        ("a chunk left out", dropped, None, |e| matches!(e, SnapshotError::BrokenChain { index: 0 })),
        ("a value altered and the chain rebuilt", resealed, None, |e| matches!(e, SnapshotError::RootMismatch { .. })),
        ("bytes after the end", trailing, None, |e| matches!(e, SnapshotError::TrailingData)),
        ("not a snapshot", b"PK\x03\x04 a zip file".to_vec(), None, |e| matches!(e, SnapshotError::NotASnapshot)),
        ("signed by too little trusted stake", good.clone(), Some(trusted(&[1, 3, 4])), |e| matches!(e, SnapshotError::NoQuorum { signed: 10, total: 30 })),
    ];
    for (what, bytes, trusted, expected) in cases {
        assert_refused_cleanly(what, &bytes, trusted.as_ref(), expected);
    }
    for cut in [3, 12, 20, spans[0].start + 5, spans[1].start + 100, spans[2].end - 1] {
        assert_refused_cleanly(&format!("cut at byte {cut}"), &good[..cut], None, |e| matches!(e, SnapshotError::Truncated(_)));
    }
}

#[test]
fn attestations_over_another_checkpoint_are_refused() {
    let (_dir, source) = source();
    let genesis = source.checkpoint(0).unwrap();
    let mut bytes = export(&source, source.head().version);
    // Replace the first validator's signature (signatures are randomised: take the stored one)
    // with its signature over the genesis checkpoint.
    let stored = source.attestations(source.head().version).unwrap();
    let honest = stored.iter().find(|attestation| attestation.validator == validator(1).ss58()).unwrap();
    let other = Attestation::sign(&genesis, &validator(1));
    let position = bytes.windows(64).position(|window| window == honest.signature).unwrap();
    bytes[position..position + 64].copy_from_slice(&other.signature);
    assert_refused_cleanly("signature over another checkpoint", &bytes, None, |e| matches!(e, SnapshotError::BadAttestation { .. }));
}

#[test]
fn a_non_empty_target_is_refused_and_untouched() {
    let (_dir, source) = source();
    let target = tempfile::tempdir().unwrap();
    std::fs::write(target.path().join("keep.txt"), b"mine").unwrap();
    let error = import(target.path(), &export(&source, 1), None).err().unwrap();
    assert!(matches!(error, Error::Snapshot(SnapshotError::TargetNotEmpty(_))), "{error}");
    assert_eq!(std::fs::read(target.path().join("keep.txt")).unwrap(), b"mine");
}

fn assert_refused_cleanly(what: &str, bytes: &[u8], trusted: Option<&ValidatorSet>, expected: fn(&SnapshotError) -> bool) {
    let parent = tempfile::tempdir().unwrap();
    let absent = parent.path().join("new");
    let empty = parent.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    for target in [&absent, &empty] {
        match import(target, bytes, trusted) {
            Err(Error::Snapshot(error)) => assert!(expected(&error), "{what}: unexpected error {error}"),
            Err(other) => panic!("{what}: unexpected error {other}"),
            Ok(_) => panic!("{what}: the snapshot was accepted"),
        }
    }
    assert!(!absent.exists(), "{what}: a new target was left behind");
    assert_eq!(std::fs::read_dir(&empty).unwrap().count(), 0, "{what}: an empty target was left with files");
}

/// Alters one value's bytes and recomputes every chunk hash after it, as a forger would.
fn reseal_with_altered_value(good: &[u8]) -> Vec<u8> {
    let mut bytes = good.to_vec();
    let position = bytes.windows(9).position(|window| window == b"value 100").unwrap();
    bytes[position + 6] = b'9';
    let header = snapshot::SnapshotReader::new(good).unwrap().header().clone();
    with_header(&bytes, &header)
}

/// An import killed before it finished leaves a database without the format marker: it does
/// not open as a ledger, and the next import or create clears it and starts again.
#[test]
fn an_unfinished_import_is_cleared_by_the_next_attempt() {
    let (_dir, source) = source();
    let bytes = export(&source, source.head().version);
    let parent = tempfile::tempdir().unwrap();
    let target = parent.path().join("ledger");
    drop(import(&target, &bytes, None).unwrap());
    {
        let families = rocksdb::DB::list_cf(&rocksdb::Options::default(), &target).unwrap();
        let db = rocksdb::DB::open_cf(&rocksdb::Options::default(), &target, families).unwrap();
        db.delete_cf(db.cf_handle("meta").unwrap(), b"format").unwrap();
    }
    assert!(matches!(Ledger::open(&target, Options::default()), Err(Error::NotInitialised(_))));
    let imported = import(&target, &bytes, None).unwrap();
    assert_eq!(imported.head(), source.head());
    drop(imported);
    assert!(matches!(Ledger::create(&target, Options::default()), Err(Error::AlreadyInitialised(_))));
}

/// `good` with its header replaced by `header` and every chunk hash chained anew from it, as a
/// forger who controls the whole file would write it.
fn with_header(good: &[u8], header: &snapshot::SnapshotHeader) -> Vec<u8> {
    let spans = chunk_spans(good);
    let encoded = ledger::codec::encode(header);
    let mut bytes = good[..12].to_vec();
    bytes.extend_from_slice(&(encoded.len() as u32).to_be_bytes());
    bytes.extend_from_slice(&encoded);
    let mut previous = *blake3::Hasher::new().update(&[0x08]).update(b"ORCHSNAP").update(&1u32.to_be_bytes()).update(&encoded).finalize().as_bytes();
    for span in spans {
        let chunk = &good[span.clone()];
        let body = &chunk[8..chunk.len() - 32];
        let hash = *blake3::Hasher::new().update(&[0x08]).update(&previous).update(&chunk[..4]).update(body).finalize().as_bytes();
        bytes.extend_from_slice(&chunk[..chunk.len() - 32]);
        bytes.extend_from_slice(&hash);
        previous = hash;
    }
    bytes
}

/// One validator's attestation repeated counts once toward two thirds: 1 of 101 trusted stake
/// stays 1 however often it is written, for inspection and import alike.
#[test]
fn a_repeated_attestation_counts_once() {
    let (_dir, source) = source();
    let good = export(&source, source.head().version);
    let mut header = snapshot::SnapshotReader::new(&good[..]).unwrap().header().clone();
    let first = header.attestations.iter().find(|attestation| attestation.validator == validator(1).ss58()).unwrap().clone();
    header.attestations = vec![first; 68];
    let repeated = with_header(&good, &header);
    let trusted = ValidatorSet { admin: None, stakes: [(validator(1).ss58(), 1), (validator(3).ss58(), 100)].into_iter().collect() };
    let refused = snapshot::inspect(&repeated[..], Some(&trusted)).unwrap_err();
    assert!(matches!(refused, Error::Snapshot(SnapshotError::NoQuorum { signed: 1, total: 101 })), "{refused}");
    assert_refused_cleanly("one attestation repeated", &repeated, Some(&trusted), |e| matches!(e, SnapshotError::NoQuorum { signed: 1, total: 101 }));
    // The same file without a trusted set is a valid snapshot: only the quorum was in question.
    snapshot::inspect(&repeated[..], None).unwrap();
}

/// A chunk must announce 1 to CHUNK_ENTRIES entries; any other count is refused before its
/// body is read or room is made for its entries.
#[test]
fn a_chunk_count_outside_the_spec_is_refused() {
    let (_dir, source) = source();
    let good = export(&source, source.head().version);
    let header = snapshot::SnapshotReader::new(&good[..]).unwrap().header().clone();
    let first_chunk = chunk_spans(&good)[0].start;
    for count in [0, CHUNK_ENTRIES as u32 + 1, u32::MAX] {
        let mut altered = good.clone();
        altered[first_chunk..first_chunk + 4].copy_from_slice(&count.to_be_bytes());
        let resealed = with_header(&altered, &header);
        assert_refused_cleanly(&format!("{count} entries announced"), &resealed, None, move |e| matches!(e, SnapshotError::BadChunkCount { index: 0, .. }));
    }
}

/// An export admitted for a version that pruning then drops is refused before a byte is
/// written: its view no longer holds the version's values, and a snapshot of it would be
/// missing entries.
#[test]
fn an_export_of_a_version_pruned_since_its_admission_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut ledger = Ledger::create(dir.path(), Options { retention: Some(1), ..Options::default() }).unwrap();
    let key = |index: u32| Key::new(Namespace::Subnet(1), format!("path/{index}")).unwrap();
    ledger.commit(ChangeSet::new([Change { key: key(0), value: Some(b"first".to_vec()) }])).unwrap();
    let admitted = ledger.head().version;
    let exporter = ledger.exporter(admitted).unwrap();
    ledger.commit(ChangeSet::new([Change { key: key(0), value: Some(b"second".to_vec()) }])).unwrap();
    assert!(ledger.oldest_version() > admitted, "the admitted version is pruned");

    let mut out = Vec::new();
    let refused = exporter.write(&mut out, &mut |_| {}).expect_err("the pruned version's export is refused");
    assert!(matches!(refused, Error::Pruned { version, .. } if version == admitted), "{refused}");
    assert!(out.is_empty(), "nothing was written");
    // The head still exports whole.
    let target = tempfile::tempdir().unwrap();
    let copy = import(&target.path().join("copy"), &export(&ledger, ledger.head().version), None).unwrap();
    assert_eq!(copy.get(&key(0)).unwrap().as_deref(), Some(&b"second"[..]));
}
