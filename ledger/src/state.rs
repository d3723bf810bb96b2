//! The in-memory commitment of one version: every namespace's tree and the ledger tree over
//! them, from which roots and proofs come without touching storage.
//!
//! The head's [`State`] lives as long as the open ledger and is updated by each commit;
//! a past version's is rebuilt from history when a proof at that version is asked for.

use crate::hash::{self, Hash};
use crate::key::{Key, Namespace};
use crate::proof::{NeighbourEntry, NeighbourNamespace, Position, Proof};
use crate::tree::Tree;

/// What the state knows of a present entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntryMeta {
    pub value_hash: Hash,
    /// The version that last set the value.
    pub version: u64,
}

/// Where a key is among its namespace's sorted entries, as [`slice::binary_search`] reports it:
/// `Ok` with its entry's index, or `Err` with the index it would be inserted at (0 when the
/// namespace has no entries).
pub(crate) type Slot = Result<usize, usize>;

#[derive(Clone, Debug)]
struct Entry {
    path: Box<str>,
    meta: EntryMeta,
    /// Kept so that rebuilding a tree after an insert hashes only inner nodes.
    leaf: Hash,
}

impl Entry {
    fn new(path: &str, meta: EntryMeta) -> Entry {
        Entry { leaf: hash::entry_leaf(path, &meta.value_hash), path: path.into(), meta }
    }
}

#[derive(Clone, Debug)]
struct NamespaceState {
    id: u32,
    /// Sorted by path bytes; `tree`'s leaves are in the same order.
    entries: Vec<Entry>,
    tree: Tree,
    root: Hash,
}

impl NamespaceState {
    fn new(id: u32, entries: Vec<Entry>) -> NamespaceState {
        let tree = Tree::build(entries.iter().map(|entry| entry.leaf));
        let root = hash::namespace_root(entries.len() as u64, &tree.root());
        NamespaceState { id, entries, tree, root }
    }

    fn find(&self, path: &str) -> Slot {
        self.entries.binary_search_by(|entry| entry.path.as_bytes().cmp(path.as_bytes()))
    }

    fn leaf(&self) -> Hash {
        hash::namespace_leaf(self.id, &self.root)
    }

    /// Applies changes to this namespace (sorted by path), each with its slot before any of
    /// them applies. Value changes update the tree in place; inserts and removals rebuild it.
    fn apply<'a>(
        &mut self,
        changes: impl Iterator<Item = (&'a str, Option<EntryMeta>, Slot)>,
        undo: &mut Vec<(Key, Option<EntryMeta>)>,
    ) {
        let namespace = Namespace::from_id(self.id).expect("state holds only valid namespaces");
        let mut updated = Vec::new();
        let mut reshaped = false;
        // Entries inserted minus entries removed so far. Earlier changes have smaller paths, so
        // they moved every later slot by exactly this much.
        let mut shift = 0isize;
        for (path, meta, slot) in changes {
            let moved = |index: usize| index.checked_add_signed(shift).expect("a slot within the namespace");
            let slot = slot.map(moved).map_err(moved);
            debug_assert_eq!(slot, self.find(path), "the slot given for {path}");
            let previous = match (slot, meta) {
                (Ok(index), Some(meta)) => {
                    updated.push(index);
                    Some(std::mem::replace(&mut self.entries[index], Entry::new(path, meta)).meta)
                }
                (Ok(index), None) => {
                    reshaped = true;
                    shift -= 1;
                    Some(self.entries.remove(index).meta)
                }
                (Err(index), Some(meta)) => {
                    reshaped = true;
                    shift += 1;
                    self.entries.insert(index, Entry::new(path, meta));
                    None
                }
                (Err(_), None) => None,
            };
            undo.push((Key { namespace, path: path.to_owned() }, previous));
        }
        if reshaped {
            self.tree = Tree::build(self.entries.iter().map(|entry| entry.leaf));
        } else {
            for index in updated {
                self.tree.update(index, self.entries[index].leaf);
            }
        }
        self.root = hash::namespace_root(self.entries.len() as u64, &self.tree.root());
    }
}

/// The commitment of one version.
#[derive(Clone, Debug, Default)]
pub struct State {
    /// Non-empty namespaces sorted by number; `tree`'s leaves are in the same order.
    namespaces: Vec<NamespaceState>,
    tree: Tree,
}

/// How to put a state back as it was before [`State::apply`].
#[must_use]
pub struct Undo(Vec<(Key, Option<EntryMeta>)>);

impl State {
    /// Builds a state from entries sorted by key.
    pub fn from_sorted(entries: impl IntoIterator<Item = (Key, EntryMeta)>) -> State {
        let mut namespaces: Vec<NamespaceState> = Vec::new();
        let mut current: Option<(u32, Vec<Entry>)> = None;
        for (key, meta) in entries {
            let id = key.namespace.id();
            match &mut current {
                Some((current_id, entries)) if *current_id == id => entries.push(Entry::new(&key.path, meta)),
                _ => {
                    if let Some((id, entries)) = current.take() {
                        namespaces.push(NamespaceState::new(id, entries));
                    }
                    current = Some((id, vec![Entry::new(&key.path, meta)]));
                }
            }
        }
        if let Some((id, entries)) = current {
            namespaces.push(NamespaceState::new(id, entries));
        }
        let tree = Tree::build(namespaces.iter().map(NamespaceState::leaf));
        State { namespaces, tree }
    }

    /// The state root.
    pub fn root(&self) -> Hash {
        hash::ledger_root(self.namespaces.len() as u64, &self.tree.root())
    }

    pub fn entry_count(&self) -> usize {
        self.namespaces.iter().map(|namespace| namespace.entries.len()).sum()
    }

    fn find_namespace(&self, namespace: Namespace) -> Result<usize, usize> {
        let id = namespace.id();
        self.namespaces.binary_search_by_key(&id, |namespace| namespace.id)
    }

    pub fn get(&self, key: &Key) -> Option<&EntryMeta> {
        self.locate(key).0
    }

    /// `key`'s entry, if present, and its slot: what [`State::apply_at`] takes so as not to
    /// search for the key again.
    pub(crate) fn locate(&self, key: &Key) -> (Option<&EntryMeta>, Slot) {
        let Ok(namespace) = self.find_namespace(key.namespace) else { return (None, Err(0)) };
        let namespace = &self.namespaces[namespace];
        let slot = namespace.find(&key.path);
        (slot.ok().map(|index| &namespace.entries[index].meta), slot)
    }

    /// Namespaces holding at least one entry, with their entry counts.
    pub fn namespaces(&self) -> impl Iterator<Item = (Namespace, usize)> + '_ {
        self.namespaces
            .iter()
            .map(|namespace| (Namespace::from_id(namespace.id).expect("valid namespace"), namespace.entries.len()))
    }

    /// Paths present in a namespace, in order.
    pub fn paths(&self, namespace: Namespace) -> impl Iterator<Item = (&str, &EntryMeta)> + '_ {
        let entries = match self.find_namespace(namespace) {
            Ok(index) => &self.namespaces[index].entries[..],
            Err(_) => &[],
        };
        entries.iter().map(|entry| (&*entry.path, &entry.meta))
    }

    /// Applies changes sorted by key: `Some` sets an entry, `None` removes it.
    pub fn apply(&mut self, changes: &[(Key, Option<EntryMeta>)]) -> Undo {
        let slots: Vec<Slot> = changes.iter().map(|(key, _)| self.locate(key).1).collect();
        self.apply_at(changes, &slots)
    }

    /// [`State::apply`] given each change's slot in the state as it is before the call, from
    /// [`State::locate`].
    pub(crate) fn apply_at(&mut self, changes: &[(Key, Option<EntryMeta>)], slots: &[Slot]) -> Undo {
        assert_eq!(changes.len(), slots.len(), "one slot per change");
        let mut undo = Vec::with_capacity(changes.len());
        let mut reshaped = false;
        let mut updated = Vec::new();
        let (mut rest, mut rest_slots) = (changes, slots);
        while let Some((first, _)) = rest.first() {
            let namespace = first.namespace;
            let group_len = rest.iter().take_while(|(key, _)| key.namespace == namespace).count();
            let (group, tail) = rest.split_at(group_len);
            let (group_slots, slots_tail) = rest_slots.split_at(group_len);
            (rest, rest_slots) = (tail, slots_tail);
            let index = match self.find_namespace(namespace) {
                Ok(index) => index,
                Err(index) => {
                    if group.iter().all(|(_, meta)| meta.is_none()) {
                        undo.extend(group.iter().map(|(key, _)| (key.clone(), None)));
                        continue;
                    }
                    reshaped = true;
                    self.namespaces.insert(index, NamespaceState::new(namespace.id(), Vec::new()));
                    index
                }
            };
            let state = &mut self.namespaces[index];
            let group = group.iter().zip(group_slots).map(|((key, meta), slot)| (key.path.as_str(), meta.clone(), *slot));
            state.apply(group, &mut undo);
            if state.entries.is_empty() {
                self.namespaces.remove(index);
                reshaped = true;
            } else {
                updated.push(namespace);
            }
        }
        if reshaped {
            self.tree = Tree::build(self.namespaces.iter().map(NamespaceState::leaf));
        } else {
            for namespace in updated {
                let index = self.find_namespace(namespace).expect("updated namespace is present");
                self.tree.update(index, self.namespaces[index].leaf());
            }
        }
        Undo(undo)
    }

    /// Puts the state back as it was before the [`State::apply`] that returned `undo`.
    pub fn revert(&mut self, undo: Undo) {
        let mut changes = undo.0;
        changes.sort_by(|a, b| a.0.cmp(&b.0));
        let _ = self.apply(&changes);
    }

    /// A proof of `key`'s value, or of its absence, in this state.
    pub fn prove(&self, key: &Key) -> Proof {
        let namespace_index = match self.find_namespace(key.namespace) {
            Ok(index) => index,
            Err(gap) => return self.prove_namespace_absent(gap),
        };
        let namespace = &self.namespaces[namespace_index];
        let namespace_position = Position {
            index: namespace_index as u64,
            count: self.namespaces.len() as u64,
            siblings: self.tree.siblings(namespace_index),
        };
        let count = namespace.entries.len() as u64;
        match namespace.find(&key.path) {
            Ok(index) => Proof::Present {
                entry: Position { index: index as u64, count, siblings: namespace.tree.siblings(index) },
                namespace: namespace_position,
            },
            Err(gap) => {
                let neighbour = |index: usize, siblings: Vec<Hash>| {
                    let entry = &namespace.entries[index];
                    NeighbourEntry { path: entry.path.to_string(), value_hash: entry.meta.value_hash, siblings }
                };
                let (left, right) = namespace.tree.gap_siblings(gap);
                Proof::PathAbsent {
                    entry_count: count,
                    gap: gap as u64,
                    left: left.map(|siblings| neighbour(gap - 1, siblings)),
                    right: right.map(|siblings| neighbour(gap, siblings)),
                    namespace: namespace_position,
                }
            }
        }
    }

    fn prove_namespace_absent(&self, gap: usize) -> Proof {
        let neighbour = |index: usize, siblings: Vec<Hash>| {
            let namespace = &self.namespaces[index];
            NeighbourNamespace { namespace: namespace.id, root: namespace.root, siblings }
        };
        let (left, right) = self.tree.gap_siblings(gap);
        Proof::NamespaceAbsent {
            namespace_count: self.namespaces.len() as u64,
            gap: gap as u64,
            left: left.map(|siblings| neighbour(gap - 1, siblings)),
            right: right.map(|siblings| neighbour(gap, siblings)),
        }
    }
}
