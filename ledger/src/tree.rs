//! A Merkle tree over a sorted list of leaf hashes, built by merkle_light and kept in its
//! layout so that single leaves can be updated in place.
//!
//! merkle_light stores a tree as one flat vector: the leaves, then each level above them, an
//! odd level padded with a copy of its last node. It rebuilds from scratch and panics below two
//! leaves. [`Tree`] builds with merkle_light whenever the set of leaves changes, keeps the flat
//! vector, and updates a changed leaf's path in `O(log n)` with the same rules, so a commit that
//! only changes values never rebuilds. Trees of zero and one leaf are handled here: their roots
//! are [`Hash::ZERO`] and the leaf itself.

use std::hash::Hasher;

use merkle_light::hash::Algorithm;
use merkle_light::merkle::MerkleTree;

use crate::hash::{self, Hash};

/// merkle_light's hashing rule for this ledger. Leaves arrive already hashed (with their own
/// domain tag), so `leaf` is the identity; `node` is [`hash::node`]. merkle_light resets the
/// hasher before every node, so the state is a buffer that costs nothing to make: a fresh
/// `blake3::Hasher` per node would cost more than hashing the node.
#[derive(Default)]
pub struct NodeHasher(Vec<u8>);

impl Hasher for NodeHasher {
    fn finish(&self) -> u64 {
        let digest = blake3::hash(&self.0);
        u64::from_le_bytes(digest.as_bytes()[..8].try_into().expect("8 bytes"))
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0.extend_from_slice(bytes);
    }
}

impl Algorithm<[u8; 32]> for NodeHasher {
    fn hash(&mut self) -> [u8; 32] {
        *blake3::hash(&self.0).as_bytes()
    }

    fn leaf(&mut self, leaf: [u8; 32]) -> [u8; 32] {
        leaf
    }

    fn node(&mut self, left: [u8; 32], right: [u8; 32]) -> [u8; 32] {
        hash::node(&left, &right)
    }
}

/// A Merkle tree in merkle_light's layout.
#[derive(Clone, Debug, Default)]
pub struct Tree {
    /// Leaves, then every level above; an odd level ends with a copy of its last node.
    nodes: Vec<[u8; 32]>,
    leaves: usize,
}

impl Tree {
    pub fn build(leaves: impl ExactSizeIterator<Item = Hash>) -> Tree {
        let count = leaves.len();
        let nodes = match count {
            0 => Vec::new(),
            1 => leaves.map(|leaf| leaf.0).collect(),
            _ => MerkleTree::<[u8; 32], NodeHasher>::from_iter(leaves.map(|leaf| leaf.0)).to_vec(),
        };
        Tree { nodes, leaves: count }
    }

    pub fn len(&self) -> usize {
        self.leaves
    }

    pub fn is_empty(&self) -> bool {
        self.leaves == 0
    }

    pub fn leaf(&self, index: usize) -> Hash {
        Hash(self.nodes[index])
    }

    pub fn leaves(&self) -> impl ExactSizeIterator<Item = Hash> + '_ {
        self.nodes[..self.leaves].iter().map(|node| Hash(*node))
    }

    /// The tree's root: zero for no leaves, the leaf itself for one.
    pub fn root(&self) -> Hash {
        self.nodes.last().map_or(Hash::ZERO, |root| Hash(*root))
    }

    /// Replaces leaf `index` and rehashes its path to the root.
    pub fn update(&mut self, index: usize, leaf: Hash) {
        assert!(index < self.leaves, "leaf {index} outside a tree of {}", self.leaves);
        self.nodes[index] = leaf.0;
        let mut level_start = 0;
        let mut width = self.leaves;
        let mut position = index;
        while width > 1 {
            let padded = width + (width & 1);
            if width & 1 == 1 && position == width - 1 {
                self.nodes[level_start + width] = self.nodes[level_start + position];
            }
            let left = level_start + (position & !1);
            let parent = level_start + padded + position / 2;
            self.nodes[parent] = hash::node(&self.nodes[left], &self.nodes[left + 1]);
            level_start += padded;
            width = padded / 2;
            position /= 2;
        }
    }

    /// The siblings of leaf `index` from the bottom up, leaving out the self-copies that pad odd
    /// levels (the verifier knows them from the leaf count).
    pub fn siblings(&self, index: usize) -> Vec<Hash> {
        self.level_siblings(index).flatten().collect()
    }

    /// The sibling lists of the leaves either side of gap `gap`: leaf `gap - 1` on the left and
    /// leaf `gap` on the right, each when it exists. When both do, the lists are the compact
    /// ones of [`Tree::adjacent_siblings`]; a lone neighbour carries its whole path.
    pub fn gap_siblings(&self, gap: usize) -> (Option<Vec<Hash>>, Option<Vec<Hash>>) {
        match gap.checked_sub(1) {
            Some(left) if gap < self.leaves => {
                let (left, right) = self.adjacent_siblings(left);
                (Some(left), Some(right))
            }
            left => (left.map(|left| self.siblings(left)), (gap < self.leaves).then(|| self.siblings(gap))),
        }
    }

    /// The sibling lists of the adjacent leaves `left` and `left + 1` as
    /// [`hash::fold_adjacent`] takes them: the left's without the right's node at the level where
    /// the two paths meet, the right's only below that level. The verifier folds the right leaf
    /// to that node itself, and above it the right's siblings would repeat the left's.
    fn adjacent_siblings(&self, left: usize) -> (Vec<Hash>, Vec<Hash>) {
        let meeting = left.trailing_ones() as usize;
        let left_siblings =
            self.level_siblings(left).enumerate().filter(|(level, _)| *level != meeting).filter_map(|(_, sibling)| sibling);
        let right_siblings = self.level_siblings(left + 1).take(meeting).flatten();
        (left_siblings.collect(), right_siblings.collect())
    }

    /// Leaf `index`'s sibling on each level from the bottom up; `None` where the node is the
    /// last of an odd level and pairs with itself.
    fn level_siblings(&self, index: usize) -> impl Iterator<Item = Option<Hash>> + '_ {
        assert!(index < self.leaves, "leaf {index} outside a tree of {}", self.leaves);
        let (mut level_start, mut width, mut position) = (0, self.leaves, index);
        std::iter::from_fn(move || {
            if width <= 1 {
                return None;
            }
            let sibling = position ^ 1;
            let found = (sibling < width).then(|| Hash(self.nodes[level_start + sibling]));
            let padded = width + (width & 1);
            level_start += padded;
            width = padded / 2;
            position /= 2;
            Some(found)
        })
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn leaf(n: u64) -> Hash {
        Hash(*blake3::hash(&n.to_be_bytes()).as_bytes())
    }

    proptest! {
        /// In-place updates give exactly the tree merkle_light builds from the updated leaves,
        /// and every sibling path, alone or as an adjacent pair, folds back to the root.
        #[test]
        fn updates_match_a_rebuild(count in 1usize..80, updates in prop::collection::vec((any::<prop::sample::Index>(), any::<u64>()), 1..20)) {
            let mut leaves: Vec<Hash> = (0..count as u64).map(leaf).collect();
            let mut tree = Tree::build(leaves.iter().copied());
            for (index, seed) in updates {
                let index = index.index(count);
                leaves[index] = leaf(seed);
                tree.update(index, leaves[index]);
            }
            let rebuilt = Tree::build(leaves.iter().copied());
            prop_assert_eq!(&tree.nodes, &rebuilt.nodes);
            for (index, leaf) in leaves.iter().enumerate() {
                let folded = hash::fold_path(*leaf, index as u64, count as u64, &tree.siblings(index));
                prop_assert_eq!(folded, Some(tree.root()));
            }
            for left in 0..count - 1 {
                let (left_siblings, right_siblings) = tree.adjacent_siblings(left);
                let folded = hash::fold_adjacent((leaves[left], &left_siblings), (leaves[left + 1], &right_siblings), left as u64, count as u64);
                prop_assert_eq!(folded, Some(tree.root()));
            }
        }
    }

    #[test]
    fn zero_and_one_leaf_trees_do_not_panic() {
        assert_eq!(Tree::build(std::iter::empty()).root(), Hash::ZERO);
        let single = Tree::build(std::iter::once(leaf(7)));
        assert_eq!(single.root(), leaf(7));
        assert!(single.siblings(0).is_empty());
    }
}
