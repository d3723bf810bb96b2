//! [`Ledger`]: the database. RocksDB holds every version; memory holds the head's trees.
//!
//! A **commit** applies a [`ChangeSet`] to the head and makes the next version in one atomic
//! RocksDB `WriteBatch`: the new values, the current index, the checkpoint, the change record,
//! the new head and any pruning. After a crash the ledger opens at the last whole commit.
//! **Opening** rebuilds the head's trees from the current index and refuses to go on when their
//! root differs from the head checkpoint's.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use rocksdb::{BlockBasedOptions, ColumnFamily, ColumnFamilyDescriptor, Direction, IteratorMode, Options as DbOptions, WriteBatch, WriteOptions, DB};
use serde::{Deserialize, Serialize};

use crate::change::{Change, ChangeSet};
use crate::checkpoint::Checkpoint;
use crate::codec;
use crate::diff::SignedDiff;
use crate::error::{Error, Result};
use crate::hash::{self, Hash};
use crate::key::{check_path, Key, Namespace};
use crate::proof::Proof;
use crate::schema;
use crate::state::{EntryMeta, State};

/// Largest value the ledger stores, in bytes.
pub const MAX_VALUE_LEN: usize = 1 << 20;

/// When a commit counts as durable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Durability {
    /// The write-ahead log is fsynced before a commit returns: survives power loss.
    #[default]
    Fsync,
    /// The write-ahead log is handed to the OS before a commit returns: survives the process
    /// being killed, not the machine losing power.
    Buffered,
}

/// How a ledger is opened.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    pub durability: Durability,
    /// Keep this many most recent versions readable; older ones are pruned. `None` keeps all.
    pub retention: Option<u64>,
}

/// What one version changed and who proposed it: the `changes` column family.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeRecord {
    pub keys: Vec<Key>,
    /// SS58 hotkey of the diff's proposer; `None` for a local write.
    pub proposer: Option<String>,
    /// The signed diff the version applied, so that validators and replicas can check who
    /// proposed what; absent for a local write (and in records written before it was kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diff: Option<SignedDiff>,
}

/// A value and its proof at one version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proven {
    pub version: u64,
    pub state_root: Hash,
    pub key: Key,
    #[serde(with = "crate::change::optional_bytes")]
    pub value: Option<Vec<u8>>,
    pub proof: Proof,
}

/// One version of a key: the value it was set to, or `None` where it was deleted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryEntry {
    pub version: u64,
    pub value: Option<Vec<u8>>,
}

/// An open ledger.
pub struct Ledger {
    /// Shared with running exports, which read a RocksDB snapshot without holding the ledger.
    db: Arc<DB>,
    dir: PathBuf,
    state: State,
    head: Checkpoint,
    oldest: u64,
    options: Options,
    /// The latest version attested by a quorum of its validator set.
    pub(crate) latest_final: Option<u64>,
    credit_lock: crate::credits::CreditLock,
    /// Trees of older versions kept in memory: the trusted version's (see [`crate::reading`]),
    /// which every read of the current ledger proves against, and the last other one proven.
    /// Two slots, so that proofs at other versions never push the trusted one out.
    historical: std::sync::Mutex<[Option<KeptTrees>; 2]>,
    /// What the proposal pool holds, in memory, so that taking and listing proposals never
    /// reads every waiting diff (see [`crate::pool`]).
    pub(crate) pool: crate::pool::Summaries,
}

impl Ledger {
    /// Makes a new ledger at `dir` holding version 0: no entries, the empty root.
    pub fn create(dir: impl AsRef<Path>, options: Options) -> Result<Ledger> {
        let dir = dir.as_ref().to_path_buf();
        claim_directory(&dir)?;
        let db = open_db(&dir, true)?;
        let genesis = Checkpoint {
            version: 0,
            state_root: hash::empty_ledger_root(),
            parent: Hash::ZERO,
            diff_hash: ChangeSet::default().hash(),
            time_ms: now_ms(),
        };
        let mut batch = WriteBatch::default();
        batch.put_cf(cf(&db, schema::CHECKPOINTS), schema::version_key(0), codec::encode(&genesis));
        batch.put_cf(cf(&db, schema::META), schema::META_HEAD, 0u64.to_be_bytes());
        batch.put_cf(cf(&db, schema::META), schema::META_OLDEST, 0u64.to_be_bytes());
        batch.put_cf(cf(&db, schema::META), schema::META_FORMAT, schema::FORMAT_VERSION.to_be_bytes());
        let mut sync = WriteOptions::default();
        sync.set_sync(true);
        db.write_opt(batch, &sync)?;
        Ok(Ledger { db: Arc::new(db), dir, state: State::default(), head: genesis, oldest: 0, options, latest_final: None, credit_lock: Default::default(), historical: Default::default(), pool: Default::default() })
    }

    /// Opens the ledger at `dir`, rebuilding the head's trees and checking their root.
    pub fn open(dir: impl AsRef<Path>, options: Options) -> Result<Ledger> {
        let dir = dir.as_ref().to_path_buf();
        let (db, format) = match directory_state(&dir)? {
            DirectoryState::Ledger(db, format) => (db, format),
            DirectoryState::Foreign => return Err(Error::NotALedger(dir)),
            DirectoryState::Absent | DirectoryState::Empty | DirectoryState::Unfinished => return Err(Error::NotInitialised(dir)),
        };
        if format != schema::FORMAT_VERSION {
            return Err(Error::UnsupportedFormat { dir, found: format, expected: schema::FORMAT_VERSION });
        }
        let head_version = read_meta(&db, schema::META_HEAD)?.ok_or_else(|| Error::Corrupt("no head version".into()))?;
        let oldest = read_meta(&db, schema::META_OLDEST)?.ok_or_else(|| Error::Corrupt("no oldest version".into()))?;
        let head = read_checkpoint(&db, head_version)?;
        let state = State::from_sorted(read_current(&db)?);
        if state.root() != head.state_root {
            return Err(Error::RootMismatch { dir, version: head.version, recorded: head.state_root, recomputed: state.root() });
        }
        let pool = crate::pool::read_summaries(&db)?;
        let mut ledger = Ledger { db: Arc::new(db), dir, state, head, oldest, options, latest_final: None, credit_lock: Default::default(), historical: Default::default(), pool };
        ledger.latest_final = ledger.find_latest_final()?;
        Ok(ledger)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The latest checkpoint.
    pub fn head(&self) -> &Checkpoint {
        &self.head
    }

    /// The oldest version still readable.
    pub fn oldest_version(&self) -> u64 {
        self.oldest
    }

    /// The head's state: roots, namespaces, entry metadata and proofs, all in memory.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// The checkpoint of `version`. Checkpoints outlive pruning: the chain stays whole.
    pub fn checkpoint(&self, version: u64) -> Result<Checkpoint> {
        self.check_exists(version)?;
        match read_checkpoint(&self.db, version) {
            // A ledger imported from a snapshot starts at the snapshot's version.
            Err(Error::Corrupt(_)) if version < self.oldest => Err(Error::Pruned { version, oldest: self.oldest }),
            read => read,
        }
    }

    /// Checkpoints `from..=to`, oldest first.
    pub fn checkpoints(&self, from: u64, to: u64) -> Result<Vec<Checkpoint>> {
        self.check_range(from, to, false)?;
        self.checkpoint(from)?;
        let start = schema::version_key(from);
        self.db
            .iterator_cf(cf(&self.db, schema::CHECKPOINTS), IteratorMode::From(&start, Direction::Forward))
            .take((to - from + 1) as usize)
            .map(|item| {
                let (_, bytes) = item?;
                Ok(codec::decode(&bytes, "checkpoint")?)
            })
            .collect()
    }

    /// The value of `key` at the head, checked against the hash the commitment holds.
    pub fn get(&self, key: &Key) -> Result<Option<Vec<u8>>> {
        let Some(meta) = self.state.get(key) else { return Ok(None) };
        let value = self.read_value(key, meta.version)?;
        if value.as_deref().map(hash::value_hash) != Some(meta.value_hash) {
            return Err(Error::Corrupt(format!("the stored value of {key} at version {} does not match its hash", meta.version)));
        }
        Ok(value)
    }

    /// The value of `key` at `version`.
    pub fn get_at(&self, key: &Key, version: u64) -> Result<Option<Vec<u8>>> {
        if version == self.head.version {
            return self.get(key);
        }
        self.check_readable(version)?;
        let mut iterator = self.db.raw_iterator_cf(cf(&self.db, schema::VALUES));
        iterator.seek_for_prev(schema::value_key(key, version));
        let prefix = schema::history_prefix(key);
        match (iterator.key(), iterator.value()) {
            (Some(found), Some(stored)) if found.starts_with(&prefix) => Ok(parse_stored(stored)?.map(<[u8]>::to_vec)),
            _ => {
                iterator.status()?;
                Ok(None)
            }
        }
    }

    /// Every kept version of `key`, oldest first. The first entry may predate the oldest kept
    /// version: it is the value that version reads.
    pub fn history(&self, key: &Key) -> Result<Vec<HistoryEntry>> {
        let prefix = schema::history_prefix(key);
        let mut entries = Vec::new();
        for item in self.db.prefix_iterator_cf(cf(&self.db, schema::VALUES), &prefix) {
            let (stored_key, stored) = item?;
            if !stored_key.starts_with(&prefix) {
                break;
            }
            let (_, version) = schema::parse_value_key(&stored_key).ok_or_else(|| corrupt_key(&stored_key))?;
            entries.push(HistoryEntry { version, value: parse_stored(&stored)?.map(<[u8]>::to_vec) });
        }
        Ok(entries)
    }

    /// The changes that turn version `from` into version `to`: every key whose value differs,
    /// with its value at `to`.
    pub fn diff(&self, from: u64, to: u64) -> Result<ChangeSet> {
        self.check_range(from, to, true)?;
        let mut touched = BTreeSet::new();
        for version in from + 1..=to {
            touched.extend(self.change_record(version)?.keys);
        }
        let mut changes = Vec::new();
        for key in touched {
            let (before, after) = (self.get_at(&key, from)?, self.get_at(&key, to)?);
            if before != after {
                changes.push(Change { key, value: after });
            }
        }
        Ok(ChangeSet::new(changes))
    }

    /// The last version that set or deleted `key`, if any is kept.
    pub fn last_change(&self, key: &Key) -> Result<Option<u64>> {
        let mut iterator = self.db.raw_iterator_cf(cf(&self.db, schema::VALUES));
        iterator.seek_for_prev(schema::value_key(key, u64::MAX));
        match iterator.key() {
            Some(found) if found.starts_with(&schema::history_prefix(key)) => {
                Ok(Some(schema::parse_value_key(found).ok_or_else(|| corrupt_key(found))?.1))
            }
            _ => {
                iterator.status()?;
                Ok(None)
            }
        }
    }

    /// Every entry of `namespace` at `version`, in path order.
    pub fn namespace_at(&self, namespace: Namespace, version: u64) -> Result<Vec<(String, Vec<u8>)>> {
        self.check_readable(version)?;
        let mut entries = Vec::new();
        self.scan_at(&namespace.id().to_be_bytes(), version, |key, _, value| {
            entries.push((key.path, value.to_vec()));
            Ok(())
        })?;
        Ok(entries)
    }

    /// What `version` changed and who proposed it.
    pub fn change_record(&self, version: u64) -> Result<ChangeRecord> {
        self.check_readable(version)?;
        read_change_record(&self.db, version)
    }

    /// `key`'s value at the head with a proof against the head's root.
    pub fn prove(&self, key: &Key) -> Result<Proven> {
        Ok(Proven {
            version: self.head.version,
            state_root: self.head.state_root,
            key: key.clone(),
            value: self.get(key)?,
            proof: self.state.prove(key),
        })
    }

    /// `key`'s value at `version` with a proof against that version's root. Past versions'
    /// trees are rebuilt from history.
    pub fn prove_at(&self, key: &Key, version: u64) -> Result<Proven> {
        if version == self.head.version {
            return self.prove(key);
        }
        self.check_readable(version)?;
        let state = self.historical_state(version)?;
        let checkpoint = read_checkpoint(&self.db, version)?;
        if state.root() != checkpoint.state_root {
            return Err(Error::Corrupt(format!(
                "history rebuilt at version {version} has root {}, but its checkpoint records {}",
                state.root(),
                checkpoint.state_root
            )));
        }
        Ok(Proven {
            version,
            state_root: checkpoint.state_root,
            key: key.clone(),
            value: self.get_at(key, version)?,
            proof: state.prove(key),
        })
    }

    /// The trees of an older `version`: kept ones, else rebuilt from the stored history and
    /// kept in the trusted slot when it is the trusted version, in the other slot otherwise.
    pub(crate) fn historical_state(&self, version: u64) -> Result<Arc<State>> {
        let trusted = self.reading()?.version;
        let mut kept = self.historical.lock().map_err(|_| Error::Corrupt("the historical trees' lock was poisoned".into()))?;
        if let Some((_, state)) = kept.iter().flatten().find(|(kept_version, _)| *kept_version == version) {
            return Ok(state.clone());
        }
        let state = Arc::new(State::from_sorted(self.entries_at(version)?));
        kept[usize::from(version != trusted)] = Some((version, state.clone()));
        Ok(state)
    }

    /// The namespaces holding entries at `version`, in order.
    pub fn namespaces_at(&self, version: u64) -> Result<Vec<Namespace>> {
        if version == self.head.version {
            return Ok(self.state.namespaces().map(|(namespace, _)| namespace).collect());
        }
        self.check_readable(version)?;
        Ok(self.historical_state(version)?.namespaces().map(|(namespace, _)| namespace).collect())
    }

    /// Applies `changes` as the next version.
    pub fn commit(&mut self, changes: ChangeSet) -> Result<Checkpoint> {
        self.commit_as(changes, None, None)
    }

    /// Applies a version received from a primary: the changes must reproduce the primary's
    /// checkpoint (root, parent, diff hash and time), and when the version applied a signed
    /// diff, the diff's signature must hold and its proposal must contain every change; else
    /// nothing is written.
    pub fn replicate(&mut self, primary: &Checkpoint, changes: ChangeSet, diff: Option<&SignedDiff>) -> Result<Checkpoint> {
        if primary.version != self.head.version + 1 {
            return Err(Error::ReplicaDiverged { primary: Box::new(*primary), computed: Box::new(self.head) });
        }
        if let Some(diff) = diff {
            diff.check()?;
            diff.covers(&changes)?;
        }
        self.commit_as(changes, diff, Some(primary))
    }

    /// Commits with the signed diff (and so the proposer) recorded in the version's change
    /// record. With `replicating`, the commit takes the primary's time and must reproduce the
    /// primary's checkpoint exactly, or nothing is written.
    pub(crate) fn commit_as(&mut self, changes: ChangeSet, diff: Option<&SignedDiff>, replicating: Option<&Checkpoint>) -> Result<Checkpoint> {
        let (changes, value_hashes, slots) = self.effective_changes(changes)?;
        let version = self.head.version + 1;
        let values = cf(&self.db, schema::VALUES);
        let current = cf(&self.db, schema::CURRENT);
        let mut batch = WriteBatch::default();
        let mut state_changes = Vec::with_capacity(changes.len());
        for (change, value_hash) in changes.changes().iter().zip(&value_hashes) {
            let entry_key = schema::entry_key(&change.key);
            batch.put_cf(values, schema::value_key(&change.key, version), schema::stored_value(change.value.as_deref()));
            let meta = value_hash.map(|value_hash| EntryMeta { value_hash, version });
            match &meta {
                Some(meta) => batch.put_cf(current, &entry_key, schema::current_value(version, &meta.value_hash)),
                None => batch.delete_cf(current, &entry_key),
            }
            state_changes.push((change.key.clone(), meta));
        }
        let undo = self.state.apply_at(&state_changes, &slots);
        let checkpoint = Checkpoint {
            version,
            state_root: self.state.root(),
            parent: self.head.hash(),
            diff_hash: changes.hash_with(&value_hashes),
            time_ms: replicating.map_or_else(|| now_ms().max(self.head.time_ms), |primary| primary.time_ms),
        };
        if let Some(primary) = replicating.filter(|primary| **primary != checkpoint) {
            self.state.revert(undo);
            return Err(Error::ReplicaDiverged { primary: Box::new(*primary), computed: Box::new(checkpoint) });
        }
        let record = ChangeRecord {
            keys: changes.changes().iter().map(|change| change.key.clone()).collect(),
            proposer: diff.map(|diff| diff.proposal.proposer.clone()),
            diff: diff.cloned(),
        };
        batch.put_cf(cf(&self.db, schema::CHECKPOINTS), schema::version_key(version), codec::encode(&checkpoint));
        batch.put_cf(cf(&self.db, schema::CHANGES), schema::version_key(version), codec::encode(&record));
        // A diff that enters the history leaves the proposal pool in the same write.
        let proposal = diff.map(crate::pool::proposal_id);
        if let Some(id) = &proposal {
            batch.delete_cf(cf(&self.db, schema::PROPOSALS), id.as_bytes());
        }
        batch.put_cf(cf(&self.db, schema::META), schema::META_HEAD, version.to_be_bytes());
        let written = self.prune_into(&mut batch, version, &changes).and_then(|oldest| {
            self.db.write_opt(batch, &self.write_options())?;
            Ok(oldest)
        });
        match written {
            Ok(oldest) => {
                self.head = checkpoint;
                self.oldest = oldest;
                if let Some(id) = &proposal {
                    self.forget_proposal(id);
                }
                Ok(checkpoint)
            }
            Err(error) => {
                self.state.revert(undo);
                Err(error)
            }
        }
    }

    /// Drops puts that write the value already there; refuses deletes of absent keys, values
    /// over the limit and a commit that would change nothing. Each change kept comes with its
    /// value hash (`None` for a delete) and its slot in the head's state, so that the commit
    /// neither hashes a value nor searches for a key a second time.
    #[allow(clippy::type_complexity)]
    fn effective_changes(&self, changes: ChangeSet) -> Result<(ChangeSet, Vec<Option<Hash>>, Vec<crate::state::Slot>)> {
        let mut effective = Vec::with_capacity(changes.len());
        let mut value_hashes = Vec::with_capacity(changes.len());
        let mut slots = Vec::with_capacity(changes.len());
        for change in changes.into_changes() {
            // `Key`'s fields are public, so a key built without `Key::new` is checked here.
            check_path(&change.key.path)?;
            let (present, slot) = self.state.locate(&change.key);
            let value_hash = match (&change.value, present) {
                (None, None) => return Err(Error::NotFound(change.key)),
                (None, Some(_)) => None,
                (Some(value), _) if value.len() > MAX_VALUE_LEN => {
                    return Err(Error::ValueTooLarge { key: change.key, len: value.len(), limit: MAX_VALUE_LEN })
                }
                (Some(value), present) => {
                    let value_hash = hash::value_hash(value);
                    if present.is_some_and(|meta| meta.value_hash == value_hash) {
                        continue;
                    }
                    Some(value_hash)
                }
            };
            effective.push(change);
            value_hashes.push(value_hash);
            slots.push(slot);
        }
        if effective.is_empty() {
            return Err(Error::EmptyCommit);
        }
        let effective = ChangeSet::try_from(effective).expect("what is left of a change set is sorted, one change per key");
        Ok((effective, value_hashes, slots))
    }

    /// Adds to `batch` the deletions that pruning needs once `head` (applying `committing`) is
    /// committed, and returns the oldest version kept after it.
    ///
    /// A value set at version `p` is still needed while some kept version reads it, that is
    /// until the key changes again at a version `q <= oldest`. So for every version `q` leaving
    /// the window, the versions of its keys before `q` go, and so does a deletion at `q` itself.
    /// Change records go with the versions before the oldest kept one.
    fn prune_into(&self, batch: &mut WriteBatch, head: u64, committing: &ChangeSet) -> Result<u64> {
        let Some(retention) = self.options.retention else { return Ok(self.oldest) };
        // On a ledger with validators, the latest final version (or the genesis) stays readable
        // whatever the window: it is what reads of the current ledger use.
        let mut oldest = head.saturating_sub(retention.max(1) - 1);
        if self.state.namespaces().any(|(namespace, _)| namespace == crate::attest::VALIDATORS) {
            oldest = oldest.min(self.latest_final.unwrap_or(0));
        }
        let oldest = oldest.max(self.oldest);
        if oldest == self.oldest {
            return Ok(oldest);
        }
        let values = cf(&self.db, schema::VALUES);
        for version in self.oldest + 1..=oldest {
            let changed: Vec<(Key, bool)> = if version == head {
                committing.changes().iter().map(|change| (change.key.clone(), change.value.is_none())).collect()
            } else {
                let mut changed = Vec::new();
                for key in read_change_record(&self.db, version)?.keys {
                    let stored = self.db.get_pinned_cf(values, schema::value_key(&key, version))?;
                    let deleted = stored.is_some_and(|stored| stored.as_ref() == [0x00]);
                    changed.push((key, deleted));
                }
                changed
            };
            for (key, deleted) in changed {
                batch.delete_range_cf(values, schema::value_key(&key, 0), schema::value_key(&key, version));
                if deleted {
                    batch.delete_cf(values, schema::value_key(&key, version));
                }
            }
        }
        batch.delete_range_cf(cf(&self.db, schema::CHANGES), schema::version_key(0), schema::version_key(oldest));
        batch.put_cf(cf(&self.db, schema::META), schema::META_OLDEST, oldest.to_be_bytes());
        Ok(oldest)
    }

    /// Every entry present at `version`, in key order, from the history.
    fn entries_at(&self, version: u64) -> Result<Vec<(Key, EntryMeta)>> {
        let mut entries = Vec::new();
        self.scan_at(&[], version, |key, set_at, value| {
            entries.push((key, EntryMeta { value_hash: hash::value_hash(value), version: set_at }));
            Ok(())
        })?;
        Ok(entries)
    }

    /// Visits, in key order, every key under `prefix` that holds a value at `version`, with
    /// the version that set it and the value.
    #[allow(clippy::type_complexity)] // the one local, a key's newest version seen so far
    pub(crate) fn scan_at(&self, prefix: &[u8], version: u64, visit: impl FnMut(Key, u64, &[u8]) -> Result<()>) -> Result<()> {
        scan_values(self.db.prefix_iterator_cf(cf(&self.db, schema::VALUES), prefix), prefix, version, visit)
    }

    /// The database, shared, for work that outlives a borrow of the ledger.
    pub(crate) fn shared_db(&self) -> Arc<DB> {
        self.db.clone()
    }

    fn read_value(&self, key: &Key, version: u64) -> Result<Option<Vec<u8>>> {
        let stored = self
            .db
            .get_pinned_cf(cf(&self.db, schema::VALUES), schema::value_key(key, version))?
            .ok_or_else(|| Error::Corrupt(format!("{key} is indexed at version {version} but has no value there")))?;
        Ok(parse_stored(&stored)?.map(<[u8]>::to_vec))
    }

    pub(crate) fn credit_lock(&self) -> &crate::credits::CreditLock {
        &self.credit_lock
    }

    pub(crate) fn db(&self) -> &DB {
        &self.db
    }

    pub(crate) fn write_options(&self) -> WriteOptions {
        let mut options = WriteOptions::default();
        options.set_sync(self.options.durability == Durability::Fsync);
        options
    }

    fn check_exists(&self, version: u64) -> Result<()> {
        if version > self.head.version {
            return Err(Error::UnknownVersion { version, head: self.head.version });
        }
        Ok(())
    }

    fn check_readable(&self, version: u64) -> Result<()> {
        self.check_exists(version)?;
        if version < self.oldest {
            return Err(Error::Pruned { version, oldest: self.oldest });
        }
        Ok(())
    }

    fn check_range(&self, from: u64, to: u64, readable: bool) -> Result<()> {
        if from > to {
            return Err(Error::ReversedRange { from, to });
        }
        self.check_exists(to)?;
        if readable {
            self.check_readable(from)?;
        }
        Ok(())
    }
}

/// What a data directory holds.
enum DirectoryState {
    Absent,
    Empty,
    /// Files that are not a RocksDB database.
    Foreign,
    /// A database whose creation or import did not finish: column families or the format
    /// marker (written last, atomically) are missing.
    Unfinished,
    /// A ledger, opened, with its format version.
    Ledger(DB, u64),
}

fn directory_state(dir: &Path) -> Result<DirectoryState> {
    let Ok(mut entries) = std::fs::read_dir(dir) else { return Ok(DirectoryState::Absent) };
    if entries.next().is_none() {
        return Ok(DirectoryState::Empty);
    }
    if !dir.join("CURRENT").exists() {
        // RocksDB writes its lock, log and manifest before CURRENT: a creation killed in
        // between leaves only files of those names.
        let only_rocksdb_files = std::fs::read_dir(dir)
            .map_err(|source| Error::Filesystem { action: "list", path: dir.to_path_buf(), source })?
            .all(|entry| entry.is_ok_and(|entry| is_rocksdb_file(&entry.file_name().to_string_lossy())));
        return Ok(if only_rocksdb_files { DirectoryState::Unfinished } else { DirectoryState::Foreign });
    }
    // The format marker alone decides: a ledger written by a layout with fewer column
    // families is still a ledger, never an unfinished one to clear.
    let families = DB::list_cf(&DbOptions::default(), dir)?;
    if !families.iter().any(|family| family == schema::META) {
        return Ok(DirectoryState::Unfinished);
    }
    let format = {
        let db = DB::open_cf_for_read_only(&DbOptions::default(), dir, &families, false)?;
        read_meta(&db, schema::META_FORMAT)?
    };
    Ok(match format {
        Some(format) => DirectoryState::Ledger(open_db(dir, true)?, format),
        None => DirectoryState::Unfinished,
    })
}

fn is_rocksdb_file(name: &str) -> bool {
    ["LOCK", "IDENTITY", "CURRENT", "LOG"].contains(&name)
        || ["LOG.old.", "MANIFEST-", "OPTIONS-"].iter().any(|prefix| name.starts_with(prefix))
        || [".log", ".sst", ".dbtmp", ".blob"].iter().any(|suffix| name.ends_with(suffix))
}

/// Makes `dir` ready to receive a new ledger and says whether it existed. An unfinished
/// creation or import is cleared; a finished ledger, or any other file, is refused.
pub(crate) fn claim_directory(dir: &Path) -> Result<bool> {
    match directory_state(dir)? {
        DirectoryState::Absent => {
            std::fs::create_dir_all(dir).map_err(|source| Error::Filesystem { action: "create", path: dir.to_path_buf(), source })?;
            Ok(false)
        }
        DirectoryState::Empty => Ok(true),
        DirectoryState::Unfinished => {
            empty_directory(dir).map_err(|source| Error::Filesystem { action: "clear the unfinished ledger at", path: dir.to_path_buf(), source })?;
            Ok(true)
        }
        DirectoryState::Ledger(..) => Err(Error::AlreadyInitialised(dir.to_path_buf())),
        DirectoryState::Foreign => Err(Error::NotALedger(dir.to_path_buf())),
    }
}

pub(crate) fn empty_directory(dir: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            std::fs::remove_dir_all(path)?
        } else {
            std::fs::remove_file(path)?
        }
    }
    Ok(())
}

pub(crate) fn open_db(dir: &Path, create: bool) -> Result<DB> {
    let mut options = DbOptions::default();
    options.create_if_missing(create);
    // A family added since the directory was made (the proposal pool) is created on open; the
    // others are always there.
    options.create_missing_column_families(true);
    let families = schema::ALL_FAMILIES.iter().map(|name| {
        let mut family = DbOptions::default();
        let mut table = BlockBasedOptions::default();
        table.set_bloom_filter(10.0, false);
        family.set_block_based_table_factory(&table);
        ColumnFamilyDescriptor::new(*name, family)
    });
    Ok(DB::open_cf_descriptors(&options, dir, families)?)
}

pub(crate) fn cf<'a>(db: &'a DB, name: &str) -> &'a ColumnFamily {
    db.cf_handle(name).expect("every column family is opened with the database")
}

fn read_meta(db: &DB, name: &[u8]) -> Result<Option<u64>> {
    db.get_cf(cf(db, schema::META), name)?
        .map(|bytes| schema::parse_version_key(&bytes).ok_or_else(|| Error::Corrupt(format!("meta `{}` is not a u64", String::from_utf8_lossy(name)))))
        .transpose()
}

fn read_checkpoint(db: &DB, version: u64) -> Result<Checkpoint> {
    let bytes = db
        .get_cf(cf(db, schema::CHECKPOINTS), schema::version_key(version))?
        .ok_or_else(|| Error::Corrupt(format!("checkpoint {version} is missing")))?;
    Ok(codec::decode(&bytes, "checkpoint")?)
}

fn read_change_record(db: &DB, version: u64) -> Result<ChangeRecord> {
    let bytes = db
        .get_cf(cf(db, schema::CHANGES), schema::version_key(version))?
        .ok_or_else(|| Error::Corrupt(format!("no change record for version {version}")))?;
    Ok(codec::decode(&bytes, "change record")?)
}

fn read_current(db: &DB) -> Result<Vec<(Key, EntryMeta)>> {
    db.iterator_cf(cf(db, schema::CURRENT), IteratorMode::Start)
        .map(|item| {
            let (stored_key, stored) = item?;
            let key = schema::parse_entry_key(&stored_key).ok_or_else(|| corrupt_key(&stored_key))?;
            let (version, value_hash) = schema::parse_current_value(&stored)
                .ok_or_else(|| Error::Corrupt(format!("index entry of {key} is malformed")))?;
            Ok((key, EntryMeta { value_hash, version }))
        })
        .collect()
}

fn parse_stored(stored: &[u8]) -> Result<Option<&[u8]>> {
    schema::parse_stored_value(stored).ok_or_else(|| Error::Corrupt("a stored value has an unknown marker".into()))
}

fn corrupt_key(bytes: &[u8]) -> Error {
    Error::Corrupt(format!("malformed storage key {}", hex::encode(bytes)))
}

pub(crate) fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_millis() as u64)
}

/// One older version's trees, kept in memory with the version.
type KeptTrees = (u64, Arc<State>);

/// What a scan hands each entry to: its key, the version that set it, and its value.
pub(crate) type Visit<'a> = dyn FnMut(Key, u64, &[u8]) -> Result<()> + 'a;

/// Visits every key under `prefix` with its value at `version` (and the version that set it),
/// in key order, from an iterator over the values family positioned at `prefix`.
#[allow(clippy::type_complexity)] // the iterator's item is RocksDB's, the pending entry a triple
pub(crate) fn scan_values(
    items: impl Iterator<Item = std::result::Result<(Box<[u8]>, Box<[u8]>), rocksdb::Error>>,
    prefix: &[u8],
    version: u64,
    mut visit: impl FnMut(Key, u64, &[u8]) -> Result<()>,
) -> Result<()> {
    // The latest version so far of the key being read: its key, the version that set it, and its
    // value (`None` when that version deleted it).
    let mut pending: Option<(Key, u64, Option<Box<[u8]>>)> = None;
    for item in items {
        let (stored_key, stored) = item?;
        if !stored_key.starts_with(prefix) {
            break;
        }
        let (key, set_at) = schema::parse_value_key(&stored_key).ok_or_else(|| corrupt_key(&stored_key))?;
        if set_at > version {
            continue;
        }
        // Versions of a key come oldest first: the last one at or before `version` wins.
        if pending.as_ref().is_some_and(|(pending_key, ..)| *pending_key != key) {
            if let Some((key, set_at, Some(value))) = pending.take() {
                visit(key, set_at, &value)?;
            }
        }
        pending = Some((key, set_at, parse_stored(&stored)?.map(Box::from)));
    }
    if let Some((key, set_at, Some(value))) = pending {
        visit(key, set_at, &value)?;
    }
    Ok(())
}
