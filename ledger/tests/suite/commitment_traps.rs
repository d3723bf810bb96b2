//! One test per merkle_light trap named in `DESIGN.md`; each fails if its trap reopens.
//!
//! - merkle_light pairs the last node of an odd level with itself, so `[a, b, c]` and
//!   `[a, b, c, c]` share a tree root: the entry count bound into every root must tell them
//!   apart, at the namespace level and at the ledger level.
//! - merkle_light panics below two leaves: ledgers and namespaces of zero and one entries must
//!   still commit, prove, verify and reopen.
//! - merkle_light's `Proof::validate` checks a proof only against the root the proof carries:
//!   [`verify`] must compare with the root the caller trusts.
//! - Leaves and inner nodes must not be confusable (domain separation), and paths must be
//!   length-prefixed so that no two (path, value) splits share a leaf preimage.

use ledger::hash::{self, fold_path, Hash};
use ledger::{verify, Change, ChangeSet, EntryMeta, Key, Ledger, Namespace, NodeHasher, Options, Position, Proof, State, Tree, VerifyError};
use merkle_light::merkle::MerkleTree;

fn merkle_light_root(leaves: &[Hash]) -> Hash {
    Hash(MerkleTree::<[u8; 32], NodeHasher>::from_iter(leaves.iter().map(|leaf| leaf.0)).root())
}

fn key(netuid: u16, path: &str) -> Key {
    Key::new(Namespace::Subnet(netuid), path).expect("a valid path")
}

fn leaf(path: &str, value: &[u8]) -> Hash {
    hash::entry_leaf(path, &hash::value_hash(value))
}

/// An in-memory state of `(netuid, path, value)` entries given in key order.
fn state(entries: &[(u16, &str, &[u8])]) -> State {
    State::from_sorted(entries.iter().map(|(netuid, path, value)| {
        (key(*netuid, path), EntryMeta { value_hash: hash::value_hash(value), version: 1 })
    }))
}

/// The positions of a present key's proof.
fn present(state: &State, key: &Key) -> (Position, Position) {
    match state.prove(key) {
        Proof::Present { entry, namespace } => (entry, namespace),
        other => panic!("{key} is present, but its proof is {other:?}"),
    }
}

/// The position a duplicated last leaf would have in merkle_light's padded layout: the leaf
/// `index == count - 1` of an odd level claimed as leaf `count` of `count + 1`, its own copy
/// as the first sibling. The levels above are unchanged.
fn as_duplicate(position: &Position, leaf: Hash) -> Position {
    assert!(position.count % 2 == 1 && position.index == position.count - 1, "only the last leaf of an odd level is duplicated");
    let siblings = std::iter::once(leaf).chain(position.siblings.iter().copied()).collect();
    Position { index: position.count, count: position.count + 1, siblings }
}

fn assert_root_mismatch(result: Result<(), VerifyError>) {
    assert!(matches!(result, Err(VerifyError::RootMismatch { .. })), "expected a root mismatch, got {result:?}");
}

#[test]
fn odd_level_duplication_is_closed_by_the_bound_counts() {
    let leaves = [leaf("a", b"1"), leaf("b", b"2"), leaf("c", b"3")];
    let padded = [leaves[0], leaves[1], leaves[2], leaves[2]];
    assert_eq!(merkle_light_root(&leaves), merkle_light_root(&padded), "the trap: merkle_light cannot tell 3 leaves from 4");
    let tree_root = Tree::build(leaves.into_iter()).root();
    assert_eq!(tree_root, merkle_light_root(&leaves), "the ledger's trees are merkle_light's");
    assert_ne!(hash::namespace_root(3, &tree_root), hash::namespace_root(4, &tree_root));
    assert_ne!(hash::ledger_root(3, &tree_root), hash::ledger_root(4, &tree_root));

    // sn1 holds a, b, c; the ledger tree holds three namespaces. Both last leaves are padded.
    let state = state(&[(1, "a", b"1"), (1, "b", b"2"), (1, "c", b"3"), (2, "x", b"4"), (3, "y", b"5")]);
    let root = state.root();

    // Entry `c` claimed as entry 3 of 4: the fold reaches the same tree root, only the count
    // bound into the namespace root refuses it.
    let c = key(1, "c");
    let (entry, namespace) = present(&state, &c);
    verify(&root, &c, Some(b"3"), &Proof::Present { entry: entry.clone(), namespace: namespace.clone() }).unwrap();
    let forged = as_duplicate(&entry, leaves[2]);
    assert_eq!(fold_path(leaves[2], forged.index, forged.count, &forged.siblings), Some(tree_root));
    assert_root_mismatch(verify(&root, &c, Some(b"3"), &Proof::Present { entry: forged, namespace }));

    // Namespace sn3 claimed as namespace 3 of 4 in the ledger tree.
    let y = key(3, "y");
    let (entry, namespace) = present(&state, &y);
    let namespace_leaf = hash::namespace_leaf(3, &hash::namespace_root(1, &leaf("y", b"5")));
    let forged = as_duplicate(&namespace, namespace_leaf);
    let ledger_tree_root = fold_path(namespace_leaf, namespace.index, namespace.count, &namespace.siblings);
    assert_eq!(fold_path(namespace_leaf, forged.index, forged.count, &forged.siblings), ledger_tree_root);
    assert_root_mismatch(verify(&root, &y, Some(b"5"), &Proof::Present { entry, namespace: forged }));
}

/// Checks that the ledger proves `key` holds `expected` at its head, and that the proof does not
/// also support the opposite claim.
fn assert_proves(ledger: &Ledger, key: &Key, expected: Option<&[u8]>) {
    let proven = ledger.prove(key).expect("prove");
    assert_eq!(proven.value.as_deref(), expected, "{key}");
    let root = ledger.head().state_root;
    verify(&root, key, expected, &proven.proof).expect("the head's proof verifies");
    let opposite = if expected.is_some() { None } else { Some(&b"anything"[..]) };
    assert!(verify(&root, key, opposite, &proven.proof).is_err(), "{key}: the proof also shows {opposite:?}");
}

fn put(key: &Key, value: &[u8]) -> ChangeSet {
    ChangeSet::new([Change { key: key.clone(), value: Some(value.to_vec()) }])
}

#[test]
fn zero_and_one_entries_commit_prove_verify_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let identity = key(1, "identity");
    let mut ledger = Ledger::create(dir.path(), Options::default()).unwrap();

    // Zero entries, zero namespaces.
    assert_eq!(ledger.head().state_root, hash::empty_ledger_root());
    assert_proves(&ledger, &identity, None);

    // One namespace of one entry: both trees are a single leaf.
    ledger.commit(put(&identity, b"one")).unwrap();
    assert_proves(&ledger, &identity, Some(b"one"));
    assert_proves(&ledger, &key(1, "health"), None);
    assert_proves(&ledger, &key(1, "zzz"), None);
    assert_proves(&ledger, &key(0, "identity"), None);
    assert_proves(&ledger, &key(2, "identity"), None);

    // Opening rebuilds the single-leaf trees from storage and checks them against the head.
    let root = ledger.head().state_root;
    drop(ledger);
    let mut ledger = Ledger::open(dir.path(), Options::default()).unwrap();
    assert_eq!(ledger.state().root(), root);
    assert_proves(&ledger, &identity, Some(b"one"));

    // Back to zero entries; the single-entry version stays provable from history.
    ledger.commit(ChangeSet::new([Change { key: identity.clone(), value: None }])).unwrap();
    assert_eq!(ledger.head().state_root, hash::empty_ledger_root());
    assert_proves(&ledger, &identity, None);
    let past = ledger.prove_at(&identity, 1).unwrap();
    assert_eq!(past.state_root, root);
    verify(&root, &identity, Some(b"one"), &past.proof).unwrap();
}

#[test]
fn verify_checks_the_trusted_root_where_merkle_light_validate_does_not() {
    let trusted = state(&[(1, "a", b"1"), (1, "b", b"2")]);
    let forged = state(&[(1, "a", b"forged"), (1, "b", b"2")]);
    let a = key(1, "a");

    // merkle_light: a proof from another tree validates, because it is checked against the
    // root it carries.
    let other_tree = MerkleTree::<[u8; 32], NodeHasher>::from_iter([leaf("a", b"forged").0, leaf("b", b"2").0]);
    let merkle_proof = other_tree.gen_proof(0);
    assert!(merkle_proof.validate::<NodeHasher>(), "the trap: validate() accepts a proof of a leaf the trusted tree lacks");
    let (entry, _) = present(&trusted, &a);
    let trusted_tree_root = fold_path(leaf("a", b"1"), entry.index, entry.count, &entry.siblings).unwrap();
    assert_ne!(Hash(merkle_proof.root()), trusted_tree_root);

    // The same proof in the ledger's form holds for the tree it came from, and `verify`
    // refuses it against the trusted root.
    let lemma = merkle_proof.lemma();
    let entry = Position { index: 0, count: 2, siblings: lemma[1..lemma.len() - 1].iter().map(|node| Hash(*node)).collect() };
    let (_, namespace) = present(&forged, &a);
    let proof = Proof::Present { entry, namespace };
    verify(&forged.root(), &a, Some(b"forged"), &proof).unwrap();
    assert_root_mismatch(verify(&trusted.root(), &a, Some(b"forged"), &proof));
}

#[test]
fn an_inner_node_cannot_pose_as_an_entry() {
    let state = state(&[(1, "a", b"1"), (1, "b", b"2"), (1, "c", b"3"), (1, "d", b"4")]);
    let a = key(1, "a");
    let (entry, namespace) = present(&state, &a);
    let tree_root = fold_path(leaf("a", b"1"), entry.index, entry.count, &entry.siblings).unwrap();
    let (left, right) = (leaf("a", b"1"), leaf("b", b"2"));
    let inner = Hash(hash::node(&left.0, &right.0));

    // A proof one level shorter from the inner node reaches the tree root.
    let shorter = Position { index: 0, count: 2, siblings: vec![entry.siblings[1]] };
    assert_eq!(fold_path(inner, shorter.index, shorter.count, &shorter.siblings), Some(tree_root));

    // The inner node's preimage posing as a value: were a leaf the plain hash of its content,
    // it would be the inner node. With distinct tags the leaf misses the tree root.
    let posing: Vec<u8> = [&[hash::TAG_NODE][..], &left.0, &right.0].concat();
    assert_eq!(Hash(*blake3::hash(&posing).as_bytes()), inner);
    assert_ne!(fold_path(leaf("a", &posing), shorter.index, shorter.count, &shorter.siblings), Some(tree_root));
    let proof = Proof::Present { entry: shorter, namespace };
    assert!(verify(&state.root(), &a, Some(&posing), &proof).is_err());
}

/// Every kind of hash over the same bytes after its tag: only the tag tells them apart, and it
/// must.
#[test]
fn hashes_of_different_kinds_over_the_same_bytes_differ() {
    let h = Hash([0xab; 32]);
    // 64 bytes: an inner node, an entry leaf with a 28-byte path, a value.
    let path = "p".repeat(28);
    let left: [u8; 32] = [&28u32.to_be_bytes()[..], path.as_bytes()].concat().try_into().unwrap();
    let node = Hash(hash::node(&left, &h.0));
    assert_distinct(&[
        ("node", node),
        ("entry leaf", hash::entry_leaf(&path, &h)),
        ("value", hash::value_hash(&[left, h.0].concat())),
    ]);
    // 36 bytes: a namespace leaf, an entry leaf with an empty path, a value.
    assert_distinct(&[
        ("namespace leaf", hash::namespace_leaf(0, &h)),
        ("entry leaf", hash::entry_leaf("", &h)),
        ("value", hash::value_hash(&[&[0; 4][..], &h.0].concat())),
    ]);
    // 40 bytes: a namespace root, a ledger root, a value.
    assert_distinct(&[
        ("namespace root", hash::namespace_root(0, &h)),
        ("ledger root", hash::ledger_root(0, &h)),
        ("value", hash::value_hash(&[&[0; 8][..], &h.0].concat())),
    ]);
    // 8 bytes: an empty change set, a value.
    assert_distinct(&[("change set", ChangeSet::default().hash()), ("value", hash::value_hash(&[0; 8]))]);
}

fn assert_distinct(hashes: &[(&str, Hash)]) {
    for (i, (first, a)) in hashes.iter().enumerate() {
        for (second, b) in &hashes[i + 1..] {
            assert_ne!(a, b, "a {first} and a {second} over the same bytes hash alike");
        }
    }
}

/// Pairs whose naive `path || value` concatenations coincide. The leaf preimage is
/// `0x00 || u32be(len(path)) || path || value_hash`: the length prefix keeps the path's end
/// unambiguous, and the test pins that layout so that dropping the prefix fails here.
#[test]
fn length_prefixed_paths_keep_splits_apart() {
    let splits: [[(&str, &[u8]); 2]; 2] = [
        [("endpoint/search", b"X"), ("endpoint/", b"searchX")],
        [("ab", b"c"), ("a", b"bc")],
    ];
    for [(first_path, first_value), (second_path, second_value)] in splits {
        assert_eq!([first_path.as_bytes(), first_value].concat(), [second_path.as_bytes(), second_value].concat());
        assert_ne!(leaf(first_path, first_value), leaf(second_path, second_value));
        for (path, value) in [(first_path, first_value), (second_path, second_value)] {
            let value_hash = hash::value_hash(value);
            let preimage = [&[hash::TAG_ENTRY_LEAF][..], &(path.len() as u32).to_be_bytes(), path.as_bytes(), &value_hash.0].concat();
            assert_eq!(Hash(*blake3::hash(&preimage).as_bytes()), hash::entry_leaf(path, &value_hash), "the leaf of {path:?}");
        }
    }
}
