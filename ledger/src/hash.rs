//! The commitment's hash functions: blake3 over domain-separated, length-prefixed preimages.
//!
//! Every preimage starts with a one-byte tag naming what is hashed, so that no hash of one kind
//! can be passed off as another (an inner node as a leaf, a namespace root as an entry). The
//! exact layouts are in `docs/SPEC.md`; the test vectors there are checked by `tests/spec_vectors.rs`.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Tag of an entry leaf: `0x00 || u32be(len(path)) || path || value_hash`.
pub const TAG_ENTRY_LEAF: u8 = 0x00;
/// Tag of an inner node of either tree: `0x01 || left || right`.
pub const TAG_NODE: u8 = 0x01;
/// Tag of a namespace leaf in the ledger tree: `0x02 || u32be(namespace) || namespace_root`.
pub const TAG_NAMESPACE_LEAF: u8 = 0x02;
/// Tag of a namespace root: `0x03 || u64be(entry_count) || tree_root`.
pub const TAG_NAMESPACE_ROOT: u8 = 0x03;
/// Tag of the ledger (state) root: `0x04 || u64be(namespace_count) || tree_root`.
pub const TAG_LEDGER_ROOT: u8 = 0x04;
/// Tag of a checkpoint hash.
pub const TAG_CHECKPOINT: u8 = 0x05;
/// Tag of a change set hash.
pub const TAG_CHANGES: u8 = 0x06;
/// Tag of a value hash: `0x07 || value`.
pub const TAG_VALUE: u8 = 0x07;

/// A 32-byte blake3 digest. Serialised as lowercase hex in human-readable formats (JSON) and
/// as 32 raw bytes in binary ones (MessagePack).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Hash(pub [u8; 32]);

impl Hash {
    /// The all-zero hash: the tree root of an empty tree and the parent of the first checkpoint.
    pub const ZERO: Hash = Hash([0; 32]);

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses 64 hex digits, with or without a `0x` prefix.
    pub fn from_hex(text: &str) -> Result<Hash, HashParseError> {
        let digits = text.strip_prefix("0x").unwrap_or(text);
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(digits, &mut bytes).map_err(|_| HashParseError(text.to_owned()))?;
        Ok(Hash(bytes))
    }
}

/// A string that is not 64 hex digits.
#[derive(Debug, thiserror::Error)]
#[error("`{0}` is not a 32-byte hash (expected 64 hex digits)")]
pub struct HashParseError(pub String);

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_hex())
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl Serialize for Hash {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            serializer.serialize_str(&self.to_hex())
        } else {
            serializer.serialize_bytes(&self.0)
        }
    }
}

impl<'de> Deserialize<'de> for Hash {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Hash, D::Error> {
        use serde::de::Error;
        if deserializer.is_human_readable() {
            let text = String::deserialize(deserializer)?;
            Hash::from_hex(&text).map_err(D::Error::custom)
        } else {
            let bytes = serde_bytes::ByteBuf::deserialize(deserializer)?;
            let array: [u8; 32] = bytes
                .as_slice()
                .try_into()
                .map_err(|_| D::Error::invalid_length(bytes.len(), &"32 bytes"))?;
            Ok(Hash(array))
        }
    }
}

fn tagged(tag: u8, parts: &[&[u8]]) -> Hash {
    let mut hasher = blake3::Hasher::new();
    hasher.update(&[tag]);
    for part in parts {
        hasher.update(part);
    }
    Hash(*hasher.finalize().as_bytes())
}

/// The hash of a stored value.
pub fn value_hash(value: &[u8]) -> Hash {
    tagged(TAG_VALUE, &[value])
}

/// The leaf of one entry in its namespace tree. The path is length-prefixed so that no two
/// (path, value) pairs share a preimage.
pub fn entry_leaf(path: &str, value_hash: &Hash) -> Hash {
    let len = (path.len() as u32).to_be_bytes();
    tagged(TAG_ENTRY_LEAF, &[&len, path.as_bytes(), &value_hash.0])
}

/// An inner node. The same rule serves both levels: their leaves carry distinct tags.
pub fn node(left: &[u8; 32], right: &[u8; 32]) -> [u8; 32] {
    let mut preimage = [0u8; 65];
    preimage[0] = TAG_NODE;
    preimage[1..33].copy_from_slice(left);
    preimage[33..].copy_from_slice(right);
    *blake3::hash(&preimage).as_bytes()
}

/// A namespace root: the namespace tree's root bound to the number of entries under it.
/// Binding the count closes merkle_light's odd-level duplication, under which
/// `tree([a, b, c]) == tree([a, b, c, c])`.
pub fn namespace_root(entry_count: u64, tree_root: &Hash) -> Hash {
    tagged(TAG_NAMESPACE_ROOT, &[&entry_count.to_be_bytes(), &tree_root.0])
}

/// A namespace's leaf in the ledger tree.
pub fn namespace_leaf(namespace: u32, namespace_root: &Hash) -> Hash {
    tagged(TAG_NAMESPACE_LEAF, &[&namespace.to_be_bytes(), &namespace_root.0])
}

/// The ledger's state root: the ledger tree's root bound to the number of namespaces.
pub fn ledger_root(namespace_count: u64, tree_root: &Hash) -> Hash {
    tagged(TAG_LEDGER_ROOT, &[&namespace_count.to_be_bytes(), &tree_root.0])
}

/// The state root of a ledger with no entries.
pub fn empty_ledger_root() -> Hash {
    ledger_root(0, &Hash::ZERO)
}

pub(crate) fn tagged_hasher(tag: u8) -> blake3::Hasher {
    let mut hasher = blake3::Hasher::new();
    hasher.update(&[tag]);
    hasher
}

/// Folds a leaf up to the root of a tree of `count` leaves laid out as merkle_light lays them
/// out: levels are paired left to right, and the last node of an odd level is paired with
/// itself. Siblings that are such self-copies are not in `siblings`.
///
/// Returns `None` when the index is outside the tree or the number of siblings does not match
/// the tree's shape.
pub fn fold_path(leaf: Hash, index: u64, count: u64, siblings: &[Hash]) -> Option<Hash> {
    Climb::new(leaf, index, count, siblings)?.finish()
}

/// Folds two adjacent leaves, at `left_index` and `left_index + 1`, up to the root of a tree of
/// `count` leaves, as [`fold_path`] does for one.
///
/// Below the level where the two paths meet each leaf climbs with its own siblings; there the
/// two nodes are each other's sibling, and above it their paths are one. So `left_siblings` is
/// the left leaf's sibling list without the right's node at the meeting level (every sibling
/// above it included), and `right_siblings` holds only the right leaf's siblings below that
/// level. The meeting level is the number of trailing one bits of `left_index`, and below it
/// the left leaf (an odd position on every level) always has a sibling, while the right one (an
/// even position) may be the self-paired last node of an odd level.
///
/// Returns `None` when the right leaf is outside the tree or a sibling list does not match the
/// tree's shape.
pub fn fold_adjacent(
    (left_leaf, left_siblings): (Hash, &[Hash]),
    (right_leaf, right_siblings): (Hash, &[Hash]),
    left_index: u64,
    count: u64,
) -> Option<Hash> {
    let mut left = Climb::new(left_leaf, left_index, count, left_siblings)?;
    let mut right = Climb::new(right_leaf, left_index.checked_add(1)?, count, right_siblings)?;
    for _ in 0..left_index.trailing_ones() {
        left.up(None)?;
        right.up(None)?;
    }
    if right.siblings.next().is_some() {
        return None;
    }
    left.up(Some(right.node))?;
    left.finish()
}

/// A node on its way up a tree in merkle_light's layout: the node, its position on its level,
/// the level's width and the siblings still to use.
struct Climb<'a> {
    node: [u8; 32],
    position: u64,
    width: u64,
    siblings: std::slice::Iter<'a, Hash>,
}

impl<'a> Climb<'a> {
    fn new(leaf: Hash, index: u64, count: u64, siblings: &'a [Hash]) -> Option<Climb<'a>> {
        (index < count).then(|| Climb { node: leaf.0, position: index, width: count, siblings: siblings.iter() })
    }

    /// Hashes the node with its sibling into its parent. The sibling is `known` when the caller
    /// has it, the node itself when it is the last of an odd level, and the next listed one
    /// otherwise.
    fn up(&mut self, known: Option<[u8; 32]>) -> Option<()> {
        if self.width <= 1 {
            return None;
        }
        let sibling = match known {
            Some(sibling) => sibling,
            None if self.position ^ 1 >= self.width => self.node,
            None => self.siblings.next()?.0,
        };
        self.node = if self.position & 1 == 0 { node(&self.node, &sibling) } else { node(&sibling, &self.node) };
        self.position >>= 1;
        self.width = self.width.div_ceil(2);
        Some(())
    }

    /// Climbs to the root, which it returns when every sibling has been used.
    fn finish(mut self) -> Option<Hash> {
        while self.width > 1 {
            self.up(None)?;
        }
        self.siblings.next().is_none().then_some(Hash(self.node))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(n: u8) -> Hash {
        Hash([n; 32])
    }

    #[test]
    fn fold_pairs_the_last_node_of_an_odd_level_with_itself() {
        let (a, b, c) = (leaf(1), leaf(2), leaf(3));
        let ab = node(&a.0, &b.0);
        let cc = node(&c.0, &c.0);
        let root = Hash(node(&ab, &cc));
        assert_eq!(fold_path(c, 2, 3, &[Hash(ab)]), Some(root));
        assert_eq!(fold_path(a, 0, 3, &[b, Hash(cc)]), Some(root));
    }

    #[test]
    fn fold_refuses_positions_and_sibling_counts_that_do_not_fit() {
        let (a, b) = (leaf(1), leaf(2));
        assert_eq!(fold_path(a, 2, 2, &[b]), None, "index past the end");
        assert_eq!(fold_path(a, 0, 2, &[]), None, "too few siblings");
        assert_eq!(fold_path(a, 0, 2, &[b, b]), None, "too many siblings");
        assert_eq!(fold_path(a, 0, 1, &[]), Some(a), "a single leaf is its own root");
    }

    #[test]
    fn hashes_parse_from_hex_with_or_without_prefix() {
        let hash = value_hash(b"x");
        assert_eq!(Hash::from_hex(&hash.to_hex()).unwrap(), hash);
        assert_eq!(Hash::from_hex(&format!("0x{hash}")).unwrap(), hash);
        assert!(Hash::from_hex("abc").is_err());
    }
}
