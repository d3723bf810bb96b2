//! Proofs and their verifier.
//!
//! A [`Proof`] shows, against a trusted state root, either that a key holds a value
//! (**inclusion**) or that it holds none (**exclusion**). Exclusion shows the two entries
//! adjacent to the missing path in its namespace (or the namespace's edge), or, when the whole
//! namespace is missing, the two adjacent namespaces in the ledger tree (or the tree's edge).
//! When both neighbours are shown, their sibling lists are compact: above the level where
//! their paths meet the right neighbour's siblings would repeat the left's, and at that level
//! each is the other's node, so only the left carries siblings above it and neither carries the
//! other's node (see [`hash::fold_adjacent`]).
//!
//! [`verify`] is a pure function of blake3 and the proof: it needs no database, and it checks
//! the recomputed root against the root the caller trusts, never against a root carried by the
//! proof (merkle_light's `Proof::validate` makes that mistake).

use serde::{Deserialize, Serialize};

use crate::hash::{self, fold_adjacent, fold_path, Hash};
use crate::key::Key;

/// A leaf's place in a tree: its index among `count` leaves and the sibling hashes from the
/// leaf up (a self-paired last node of an odd level contributes no sibling).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    pub index: u64,
    pub count: u64,
    pub siblings: Vec<Hash>,
}

/// An entry shown as a neighbour of a missing path. When both neighbours are shown, their
/// `siblings` are those [`hash::fold_adjacent`] takes; otherwise the neighbour's full list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NeighbourEntry {
    pub path: String,
    pub value_hash: Hash,
    pub siblings: Vec<Hash>,
}

/// A namespace shown as a neighbour of a missing namespace; `siblings` as in [`NeighbourEntry`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NeighbourNamespace {
    pub namespace: u32,
    pub root: Hash,
    pub siblings: Vec<Hash>,
}

/// What a proof shows and the hashes it takes to show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Proof {
    /// The key is present: the entry's place in its namespace tree and the namespace's place in
    /// the ledger tree.
    Present { entry: Position, namespace: Position },
    /// The namespace exists but holds no entry at the path. `gap` entries have smaller paths:
    /// `left` is entry `gap - 1` (absent when `gap == 0`) and `right` entry `gap` (absent when
    /// `gap == entry_count`).
    PathAbsent {
        entry_count: u64,
        gap: u64,
        left: Option<NeighbourEntry>,
        right: Option<NeighbourEntry>,
        namespace: Position,
    },
    /// The namespace holds no entries at all. `gap` namespaces have smaller numbers: `left` is
    /// namespace `gap - 1` and `right` namespace `gap` of `namespace_count`.
    NamespaceAbsent {
        namespace_count: u64,
        gap: u64,
        left: Option<NeighbourNamespace>,
        right: Option<NeighbourNamespace>,
    },
}

/// Why a proof does not hold.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VerifyError {
    #[error("the proof shows the key present, but absence was claimed")]
    ShowsPresence,
    #[error("the proof shows the key absent, but a value was claimed")]
    ShowsAbsence,
    #[error("the proof's shape is inconsistent: {0}")]
    Malformed(&'static str),
    #[error("the neighbours do not enclose the key: {0}")]
    NotAdjacent(&'static str),
    #[error("the recomputed root {computed} differs from the trusted root {trusted}")]
    RootMismatch { computed: Hash, trusted: Hash },
}

/// Checks that `key` holds `value` (`Some`) or nothing (`None`) in the state whose root is
/// `trusted_root`.
pub fn verify(trusted_root: &Hash, key: &Key, value: Option<&[u8]>, proof: &Proof) -> Result<(), VerifyError> {
    let computed = match (proof, value) {
        (Proof::Present { entry, namespace }, Some(value)) => {
            let leaf = hash::entry_leaf(&key.path, &hash::value_hash(value));
            let namespace_root = namespace_root_from(leaf, entry)?;
            ledger_root_from(key.namespace.id(), &namespace_root, namespace)?
        }
        (Proof::Present { .. }, None) => return Err(VerifyError::ShowsPresence),
        (_, Some(_)) => return Err(VerifyError::ShowsAbsence),
        (Proof::PathAbsent { entry_count, gap, left, right, namespace }, None) => {
            let namespace_root = path_absent_root(&key.path, *entry_count, *gap, left.as_ref(), right.as_ref())?;
            ledger_root_from(key.namespace.id(), &namespace_root, namespace)?
        }
        (Proof::NamespaceAbsent { namespace_count, gap, left, right }, None) => {
            namespace_absent_root(key.namespace.id(), *namespace_count, *gap, left.as_ref(), right.as_ref())?
        }
    };
    if computed != *trusted_root {
        return Err(VerifyError::RootMismatch { computed, trusted: *trusted_root });
    }
    Ok(())
}

fn namespace_root_from(leaf: Hash, position: &Position) -> Result<Hash, VerifyError> {
    let tree_root = fold_path(leaf, position.index, position.count, &position.siblings)
        .ok_or(VerifyError::Malformed("entry position does not fit its tree"))?;
    Ok(hash::namespace_root(position.count, &tree_root))
}

fn ledger_root_from(namespace: u32, namespace_root: &Hash, position: &Position) -> Result<Hash, VerifyError> {
    let leaf = hash::namespace_leaf(namespace, namespace_root);
    let tree_root = fold_path(leaf, position.index, position.count, &position.siblings)
        .ok_or(VerifyError::Malformed("namespace position does not fit the ledger tree"))?;
    Ok(hash::ledger_root(position.count, &tree_root))
}

/// Checks that neighbours are given on exactly the sides the gap has.
fn check_gap<T>(count: u64, gap: u64, left: Option<&T>, right: Option<&T>) -> Result<(), VerifyError> {
    if gap > count {
        return Err(VerifyError::Malformed("gap beyond the end of the tree"));
    }
    if left.is_some() != (gap > 0) {
        return Err(VerifyError::Malformed("left neighbour must be given exactly when the gap is not at the start"));
    }
    if right.is_some() != (gap < count) {
        return Err(VerifyError::Malformed("right neighbour must be given exactly when the gap is not at the end"));
    }
    Ok(())
}

/// Folds the given neighbours, `left` at index `gap - 1` and `right` at `gap`, each as its leaf
/// and siblings, to their tree root; `None` when neither is given.
fn neighbours_root(
    count: u64,
    gap: u64,
    left: Option<(Hash, &[Hash])>,
    right: Option<(Hash, &[Hash])>,
) -> Result<Option<Hash>, VerifyError> {
    let root = match (left, right) {
        (Some(left), Some(right)) => fold_adjacent(left, right, gap - 1, count),
        (Some((leaf, siblings)), None) => fold_path(leaf, gap - 1, count, siblings),
        (None, Some((leaf, siblings))) => fold_path(leaf, gap, count, siblings),
        (None, None) => return Ok(None),
    };
    root.map(Some).ok_or(VerifyError::Malformed("neighbour positions do not fit their tree"))
}

fn path_absent_root<'a>(
    path: &str,
    count: u64,
    gap: u64,
    left: Option<&'a NeighbourEntry>,
    right: Option<&'a NeighbourEntry>,
) -> Result<Hash, VerifyError> {
    if count == 0 {
        return Err(VerifyError::Malformed("an existing namespace has at least one entry"));
    }
    check_gap(count, gap, left, right)?;
    if left.is_some_and(|left| left.path.as_bytes() >= path.as_bytes()) {
        return Err(VerifyError::NotAdjacent("left neighbour's path is not before the key's"));
    }
    if right.is_some_and(|right| right.path.as_bytes() <= path.as_bytes()) {
        return Err(VerifyError::NotAdjacent("right neighbour's path is not after the key's"));
    }
    let leaf = |entry: &'a NeighbourEntry| (hash::entry_leaf(&entry.path, &entry.value_hash), &entry.siblings[..]);
    let tree_root = neighbours_root(count, gap, left.map(leaf), right.map(leaf))?
        .expect("check_gap requires a neighbour in a non-empty tree");
    Ok(hash::namespace_root(count, &tree_root))
}

fn namespace_absent_root<'a>(
    namespace: u32,
    count: u64,
    gap: u64,
    left: Option<&'a NeighbourNamespace>,
    right: Option<&'a NeighbourNamespace>,
) -> Result<Hash, VerifyError> {
    check_gap(count, gap, left, right)?;
    if left.is_some_and(|left| left.namespace >= namespace) {
        return Err(VerifyError::NotAdjacent("left namespace is not before the key's"));
    }
    if right.is_some_and(|right| right.namespace <= namespace) {
        return Err(VerifyError::NotAdjacent("right namespace is not after the key's"));
    }
    let leaf =
        |neighbour: &'a NeighbourNamespace| (hash::namespace_leaf(neighbour.namespace, &neighbour.root), &neighbour.siblings[..]);
    let tree_root = neighbours_root(count, gap, left.map(leaf), right.map(leaf))?.unwrap_or(Hash::ZERO);
    Ok(hash::ledger_root(count, &tree_root))
}
