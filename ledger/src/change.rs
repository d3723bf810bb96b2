//! Changes: what one commit does to the state.
//!
//! A [`Change`] sets a key to a value or deletes it. A [`ChangeSet`] is the normalised list a
//! commit applies: sorted by key, one change per key. Its hash ([`ChangeSet::hash`]) is the
//! `diff_hash` of the checkpoint the commit makes.

use serde::{Deserialize, Serialize};

use crate::hash::{self, Hash};
use crate::key::Key;

/// One key set to a value (`Some`) or deleted (`None`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub key: Key,
    #[serde(with = "optional_bytes")]
    pub value: Option<Vec<u8>>,
}

/// A sorted list of changes with at most one per key. Deserialising refuses any other list,
/// so a change set read from the wire hashes as the one that will be committed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<Change>")]
pub struct ChangeSet(Vec<Change>);

impl TryFrom<Vec<Change>> for ChangeSet {
    type Error = &'static str;
    fn try_from(changes: Vec<Change>) -> Result<ChangeSet, &'static str> {
        if changes.windows(2).any(|pair| pair[0].key >= pair[1].key) {
            return Err("changes must be sorted by key, one per key");
        }
        Ok(ChangeSet(changes))
    }
}

impl ChangeSet {
    /// Normalises changes: a later change to a key replaces an earlier one.
    pub fn new(changes: impl IntoIterator<Item = Change>) -> ChangeSet {
        let mut by_key = std::collections::BTreeMap::new();
        for change in changes {
            by_key.insert(change.key, change.value);
        }
        ChangeSet(by_key.into_iter().map(|(key, value)| Change { key, value }).collect())
    }

    pub fn changes(&self) -> &[Change] {
        &self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn into_changes(self) -> Vec<Change> {
        self.0
    }

    /// `0x06 || u64be(n) || per change: u32be(namespace) || u32be(len(path)) || path ||
    /// (0x00 | 0x01 || value_hash)`, in key order.
    pub fn hash(&self) -> Hash {
        let value_hashes: Vec<_> = self.0.iter().map(|change| change.value.as_deref().map(hash::value_hash)).collect();
        self.hash_with(&value_hashes)
    }

    /// [`ChangeSet::hash`] from each change's value hash (`None` for a delete), already computed
    /// in order, so that a commit, which needs them for its entries too, hashes each value once.
    pub(crate) fn hash_with(&self, value_hashes: &[Option<Hash>]) -> Hash {
        assert_eq!(value_hashes.len(), self.0.len(), "one value hash per change");
        let mut hasher = hash::tagged_hasher(hash::TAG_CHANGES);
        hasher.update(&(self.0.len() as u64).to_be_bytes());
        for (change, value_hash) in self.0.iter().zip(value_hashes) {
            hasher.update(&change.key.namespace.id().to_be_bytes());
            hasher.update(&(change.key.path.len() as u32).to_be_bytes());
            hasher.update(change.key.path.as_bytes());
            match value_hash {
                None => hasher.update(&[0x00]),
                Some(value_hash) => hasher.update(&[0x01]).update(value_hash.as_bytes()),
            };
        }
        Hash(*hasher.finalize().as_bytes())
    }
}

/// Values are raw bytes: a byte string in MessagePack, a hex string in JSON.
pub(crate) mod optional_bytes {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(value: &Option<Vec<u8>>, serializer: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(bytes) if serializer.is_human_readable() => Some(hex::encode(bytes)).serialize(serializer),
            Some(bytes) => Some(serde_bytes::Bytes::new(bytes)).serialize(serializer),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Vec<u8>>, D::Error> {
        if deserializer.is_human_readable() {
            let text = Option::<String>::deserialize(deserializer)?;
            text.map(|text| hex::decode(text).map_err(serde::de::Error::custom)).transpose()
        } else {
            Ok(Option::<serde_bytes::ByteBuf>::deserialize(deserializer)?.map(|bytes| bytes.into_vec()))
        }
    }
}
