//! The test vectors of `docs/SPEC.md`, recomputed with the crate, so that the spec and the code
//! cannot drift apart.
//!
//! The spec carries its vectors in fenced blocks tagged `json vector:NAME`, each holding inputs
//! and the outputs they give. Every test here reads one block's inputs, recomputes the whole
//! block with the public API (the hash functions, a real [`Ledger`] in a temporary directory,
//! [`verify`]) and requires it to come out identical. Every `preimage` is also rebuilt here from
//! the byte layout the spec states and must hash to the code's output, which pins the layouts
//! themselves and not only their digests.
//!
//! After a deliberate change to the commitment, run these tests: each block that differs is
//! printed as recomputed, ready to paste into the spec.

use std::collections::BTreeMap;
use std::path::Path;

use ledger::hash::{self, Hash};
use ledger::hotkey::{self, Hotkey};
use ledger::{check_path, verify, ChangeSet, Checkpoint, DiffProposal, Key, Ledger, Namespace, Options, Tree, DIFF_DOMAIN};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use tempfile::TempDir;

/// The vector blocks of the spec, by name.
type Vectors = BTreeMap<String, Value>;

const BLOCK_TAG: &str = "```json vector:";

fn spec_vectors() -> Vectors {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/SPEC.md");
    let spec = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
    let mut vectors = Vectors::new();
    let mut lines = spec.lines();
    while let Some(line) = lines.next() {
        let Some(name) = line.trim().strip_prefix(BLOCK_TAG) else { continue };
        let body: Vec<&str> = lines.by_ref().take_while(|line| line.trim() != "```").collect();
        let block = serde_json::from_str(&body.join("\n")).unwrap_or_else(|error| panic!("vector:{name} is not JSON: {error}"));
        assert!(vectors.insert(name.to_owned(), block).is_none(), "vector:{name} appears twice");
    }
    vectors
}

/// Recomputes block `name` from its inputs and requires the spec to hold exactly that.
fn check(name: &str, recompute: fn(&Value, &Vectors) -> Value) {
    let vectors = spec_vectors();
    let written = vectors.get(name).unwrap_or_else(|| panic!("docs/SPEC.md has no vector:{name} block"));
    let computed = recompute(written, &vectors);
    assert!(
        computed == *written,
        "vector:{name} in docs/SPEC.md differs from what the code computes; recomputed:\n{BLOCK_TAG}{name}\n{}\n```",
        serde_json::to_string_pretty(&computed).expect("JSON")
    );
}

fn items(block: &Value) -> &[Value] {
    block.as_array().expect("a vector block listing cases is a JSON array")
}

fn field<T: DeserializeOwned>(item: &Value, name: &str) -> T {
    serde_json::from_value(item[name].clone()).unwrap_or_else(|error| panic!("field `{name}` of {item}: {error}"))
}

fn bytes(item: &Value, name: &str) -> Vec<u8> {
    hex::decode(field::<String>(item, name)).unwrap_or_else(|error| panic!("field `{name}` is not hex: {error}"))
}

/// `tag || parts...`: every preimage of the spec.
fn preimage(tag: u8, parts: &[&[u8]]) -> Vec<u8> {
    let mut bytes = vec![tag];
    for part in parts {
        bytes.extend_from_slice(part);
    }
    bytes
}

/// The hex of a preimage as the spec lays it out, after checking that it hashes to the code's
/// result.
fn layout(preimage: Vec<u8>, computed: Hash) -> String {
    assert_eq!(
        Hash(*blake3::hash(&preimage).as_bytes()),
        computed,
        "the layout the spec states no longer gives the code's hash"
    );
    hex::encode(preimage)
}

/// A tree's levels as the spec defines them, leaves first: nodes pair left to right and the
/// last node of an odd level pairs with itself. Checked against the crate's merkle_light tree.
fn tree_levels(leaves: Vec<Hash>) -> (Vec<Vec<Hash>>, Hash) {
    let mut levels = Vec::new();
    let mut level = leaves.clone();
    while !level.is_empty() {
        let next = (level.len() > 1).then(|| {
            level.chunks(2).map(|pair| Hash(hash::node(&pair[0].0, &pair[pair.len() - 1].0))).collect()
        });
        levels.push(level);
        level = next.unwrap_or_default();
    }
    let root = levels.last().map_or(Hash::ZERO, |top| top[0]);
    assert_eq!(root, Tree::build(leaves.into_iter()).root(), "the spec's tree rule differs from the crate's tree");
    (levels, root)
}

fn entry_leaf(path: &str, value: &[u8]) -> Hash {
    hash::entry_leaf(path, &hash::value_hash(value))
}

/// The namespace root of a tree and the layout it is hashed from.
fn namespace_root(count: u64, tree_root: Hash) -> (String, Hash) {
    let root = hash::namespace_root(count, &tree_root);
    (layout(preimage(hash::TAG_NAMESPACE_ROOT, &[&count.to_be_bytes(), &tree_root.0]), root), root)
}

/// A new ledger holding version 0.
fn empty_ledger() -> (TempDir, Ledger) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let ledger = Ledger::create(dir.path(), Options::default()).expect("create a ledger");
    (dir, ledger)
}

/// The example ledger: the changes of `vector:ledger` committed as version 1.
fn example_ledger(vectors: &Vectors) -> (TempDir, Ledger) {
    let (dir, mut ledger) = empty_ledger();
    ledger.commit(field(&vectors["ledger"], "changes")).expect("commit the example");
    (dir, ledger)
}

/// What `prove` gives for `key`, after checking that it verifies against its own state root.
fn proven(ledger: &Ledger, key: &Key) -> Value {
    let proven = ledger.prove(key).expect("prove");
    verify(&proven.state_root, key, proven.value.as_deref(), &proven.proof).expect("a proof from the ledger verifies");
    json!(proven)
}

#[test]
fn the_spec_has_exactly_these_blocks() {
    // The receipt (§15), invocation (§16) and provenance (§18) vectors are the orchestrator's,
    // checked by its own tests.
    let theirs = ["receipts_", "invocation_", "provenance_"];
    let names: Vec<String> = spec_vectors().into_keys().filter(|name| !theirs.iter().any(|prefix| name.starts_with(prefix))).collect();
    let expected = [
        "change_set",
        "checkpoint",
        "diff",
        "empty_ledger",
        "entry_leaf",
        "ledger",
        "namespace",
        "namespace_root",
        "node",
        "path",
        "proofs",
        "value_hash",
    ];
    assert_eq!(names, expected, "every vector block needs a test here, and every test a block");
}

#[test]
fn value_hash() {
    check("value_hash", |block, _| {
        items(block)
            .iter()
            .map(|item| {
                let value = bytes(item, "value");
                let hash = hash::value_hash(&value);
                json!({ "value": hex::encode(&value), "preimage": layout(preimage(hash::TAG_VALUE, &[&value]), hash), "hash": hash })
            })
            .collect()
    });
}

#[test]
fn entry_leaf_vectors() {
    check("entry_leaf", |block, _| {
        items(block)
            .iter()
            .map(|item| {
                let path: String = field(item, "path");
                let value = bytes(item, "value");
                let value_hash = hash::value_hash(&value);
                let leaf = hash::entry_leaf(&path, &value_hash);
                let length = (path.len() as u32).to_be_bytes();
                let layout = layout(preimage(hash::TAG_ENTRY_LEAF, &[&length, path.as_bytes(), &value_hash.0]), leaf);
                json!({ "path": path, "value": hex::encode(&value), "value_hash": value_hash, "preimage": layout, "leaf": leaf })
            })
            .collect()
    });
}

#[test]
fn node() {
    check("node", |block, _| {
        items(block)
            .iter()
            .map(|item| {
                let (left, right): (Hash, Hash) = (field(item, "left"), field(item, "right"));
                let node = Hash(hash::node(&left.0, &right.0));
                json!({ "left": left, "right": right, "preimage": layout(preimage(hash::TAG_NODE, &[&left.0, &right.0]), node), "node": node })
            })
            .collect()
    });
}

#[test]
fn namespace_root_vectors() {
    check("namespace_root", |block, _| {
        items(block)
            .iter()
            .map(|item| {
                let entries = items(&item["entries"]);
                let leaves = entries.iter().map(|entry| entry_leaf(&field::<String>(entry, "path"), &bytes(entry, "value"))).collect();
                let (levels, tree_root) = tree_levels(leaves);
                let (layout, root) = namespace_root(entries.len() as u64, tree_root);
                json!({ "entries": entries, "levels": levels, "tree_root": tree_root, "preimage": layout, "root": root })
            })
            .collect()
    });
}

#[test]
fn ledger_root() {
    check("ledger", |block, vectors| {
        let changes: ChangeSet = field(block, "changes");
        let mut namespaces: BTreeMap<u32, Vec<Hash>> = BTreeMap::new();
        for change in changes.changes() {
            let value = change.value.as_deref().expect("the example ledger's changes are all puts");
            namespaces.entry(change.key.namespace.id()).or_default().push(entry_leaf(&change.key.path, value));
        }
        let (summaries, leaves): (Vec<Value>, Vec<Hash>) = namespaces
            .into_iter()
            .map(|(id, leaves)| {
                let count = leaves.len() as u64;
                let (root_preimage, root) = namespace_root(count, tree_levels(leaves).1);
                let leaf = hash::namespace_leaf(id, &root);
                let leaf_preimage = layout(preimage(hash::TAG_NAMESPACE_LEAF, &[&id.to_be_bytes(), &root.0]), leaf);
                let summary = json!({
                    "namespace": id, "entry_count": count, "root_preimage": root_preimage, "root": root,
                    "leaf_preimage": leaf_preimage, "leaf": leaf,
                });
                (summary, leaf)
            })
            .unzip();
        let count = leaves.len() as u64;
        let (levels, tree_root) = tree_levels(leaves);
        let root = hash::ledger_root(count, &tree_root);
        let (_dir, ledger) = example_ledger(vectors);
        assert_eq!(ledger.head().state_root, root, "a real ledger commits to the root the spec derives");
        assert_eq!(ledger.state().root(), root);
        json!({
            "changes": changes,
            "namespaces": summaries,
            "levels": levels,
            "tree_root": tree_root,
            "preimage": layout(preimage(hash::TAG_LEDGER_ROOT, &[&count.to_be_bytes(), &tree_root.0]), root),
            "root": root,
            "diff_hash": ledger.head().diff_hash,
        })
    });
}

#[test]
fn empty_ledger_root_and_proof() {
    check("empty_ledger", |block, _| {
        let root = hash::empty_ledger_root();
        let (_dir, ledger) = empty_ledger();
        assert_eq!(ledger.head().state_root, root);
        let key: Key = field(&block["proof"], "key");
        json!({
            "preimage": layout(preimage(hash::TAG_LEDGER_ROOT, &[&0u64.to_be_bytes(), &Hash::ZERO.0]), root),
            "root": root,
            "proof": proven(&ledger, &key),
        })
    });
}

#[test]
fn proofs() {
    check("proofs", |block, vectors| {
        let (_dir, ledger) = example_ledger(vectors);
        items(block).iter().map(|item| proven(&ledger, &field(item, "key"))).collect()
    });
}

/// The checkpoints of the example's two versions, with the example's times: version 0 is the
/// empty ledger, version 1 commits `vector:ledger`'s changes.
#[test]
fn checkpoint() {
    check("checkpoint", |block, vectors| {
        let (_dir, ledger) = example_ledger(vectors);
        let mut parent: Option<Checkpoint> = None;
        items(block)
            .iter()
            .map(|item| {
                let written: Checkpoint = field(item, "checkpoint");
                let committed = ledger.checkpoint(written.version).expect("the example has this version");
                let checkpoint = Checkpoint {
                    parent: parent.map_or(Hash::ZERO, |parent| parent.hash()),
                    time_ms: written.time_ms,
                    ..committed
                };
                assert!(parent.is_none_or(|parent| parent.is_parent_of(&checkpoint)));
                parent = Some(checkpoint);
                let hash = checkpoint.hash();
                let layout = layout(
                    preimage(
                        hash::TAG_CHECKPOINT,
                        &[
                            &checkpoint.version.to_be_bytes(),
                            &checkpoint.state_root.0,
                            &checkpoint.parent.0,
                            &checkpoint.diff_hash.0,
                            &checkpoint.time_ms.to_be_bytes(),
                        ],
                    ),
                    hash,
                );
                json!({ "checkpoint": checkpoint, "preimage": layout, "hash": hash })
            })
            .collect()
    });
}

#[test]
fn change_set() {
    check("change_set", |block, _| {
        items(block)
            .iter()
            .map(|item| {
                let changes: ChangeSet = field(item, "changes");
                assert_eq!(ChangeSet::new(changes.changes().to_vec()), changes, "a change set is sorted, one change per key");
                let mut body = (changes.len() as u64).to_be_bytes().to_vec();
                for change in changes.changes() {
                    body.extend_from_slice(&change.key.namespace.id().to_be_bytes());
                    body.extend_from_slice(&(change.key.path.len() as u32).to_be_bytes());
                    body.extend_from_slice(change.key.path.as_bytes());
                    match &change.value {
                        None => body.push(0x00),
                        Some(value) => {
                            body.push(0x01);
                            body.extend_from_slice(&hash::value_hash(value).0);
                        }
                    }
                }
                let hash = changes.hash();
                json!({ "changes": changes, "preimage": layout(preimage(hash::TAG_CHANGES, &[&body]), hash), "hash": hash })
            })
            .collect()
    });
}

#[test]
fn namespace_numbers() {
    check("namespace", |block, _| {
        items(block)
            .iter()
            .map(|item| {
                let name: String = field(item, "name");
                let namespace: Namespace = name.parse().expect("a namespace name");
                assert_eq!(namespace.to_string(), name, "names are given in their displayed form");
                assert_eq!(Namespace::from_id(namespace.id()), Ok(namespace));
                json!({ "name": name, "id": namespace.id() })
            })
            .collect()
    });
}

#[test]
fn path_rules() {
    check("path", |block, _| {
        items(block)
            .iter()
            .map(|item| {
                let path: String = field(item, "path");
                json!({ "path": path, "valid": check_path(&path).is_ok() })
            })
            .collect()
    });
}

/// The signed bytes of a diff proposal against a version of the example, and a signature over
/// them by the proposer's seed. A signature that no longer verifies is replaced by a fresh one
/// (sr25519 signing is randomised, so any valid signature is as good as another).
#[test]
fn diff_signing_bytes() {
    check("diff", |block, vectors| {
        let seed = bytes(block, "seed");
        let hotkey = Hotkey::from_seed(&seed).expect("a 32-byte seed");
        let mut proposal: DiffProposal = field(block, "proposal");
        let (_dir, ledger) = example_ledger(vectors);
        proposal.base_root = ledger.checkpoint(proposal.base_version).expect("the example has the base version").state_root;
        assert_eq!(proposal.proposer, hotkey.ss58(), "the proposer is the seed's hotkey");
        let signing_bytes = proposal.signing_bytes();
        assert!(signing_bytes.starts_with(DIFF_DOMAIN));
        let written = bytes(block, "signature");
        let signature = match hotkey::verify_signature(&proposal.proposer, &signing_bytes, &written) {
            Ok(()) => written,
            Err(_) => hotkey.sign(&signing_bytes).to_vec(),
        };
        json!({
            "seed": hex::encode(&seed),
            "proposal": proposal,
            "signing_bytes": hex::encode(&signing_bytes),
            "signature": hex::encode(signature),
        })
    });
}
