//! Snapshots: one version of the ledger as one streamable file.
//!
//! A snapshot is `MAGIC || u32be(FORMAT) || u32be(len) || header || chunk*`. The **header**
//! is the canonical encoding of a [`SnapshotHeader`]: the checkpoint (version, state root, ...),
//! its attestations and the number of entries. The entries follow in key order, grouped in
//! **chunks** of at most [`CHUNK_ENTRIES`]: `u32be(n) || u32be(len) || body || chunk_hash`, where
//! the body holds `n` entries `u32be(namespace) || u8(len) || path || u64be(set_at) ||
//! u32be(len) || value` and each chunk hash chains on the one before:
//! `blake3(0x08 || previous || u32be(n) || body)`, the first `previous` being
//! `blake3(0x08 || MAGIC || u32be(FORMAT) || header)`. A reordered, altered or missing chunk
//! breaks the chain; a cut file ends before the header's entry count; values altered together
//! with their chunk hashes give another state root, which import and inspection recompute.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use rocksdb::WriteBatch;
use serde::{Deserialize, Serialize};

use crate::attest::{Attestation, ValidatorSet};
use crate::checkpoint::Checkpoint;
use crate::codec;
use crate::error::{Error, Result};
use crate::hash::{self, Hash};
use crate::key::{Key, Namespace};
use crate::schema;
use crate::store::{cf, claim_directory, empty_directory, open_db, Ledger, Options};
use crate::tree::Tree;

pub const MAGIC: &[u8; 8] = b"ORCHSNAP";
pub const FORMAT: u32 = 1;
/// Most entries in one chunk.
pub const CHUNK_ENTRIES: usize = 4096;
const TAG_CHUNK: u8 = 0x08;
/// Refuse headers and chunk bodies past these sizes before allocating for them.
const MAX_HEADER_BYTES: u32 = 16 << 20;
const MAX_CHUNK_BYTES: u32 = 256 << 20;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotHeader {
    pub checkpoint: Checkpoint,
    pub attestations: Vec<Attestation>,
    pub entry_count: u64,
}

/// What a snapshot holds, once read through and checked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SnapshotSummary {
    pub version: u64,
    pub state_root: Hash,
    pub checkpoint: Hash,
    pub attestations: usize,
    pub entries: u64,
    pub chunks: u64,
    pub bytes: u64,
}

/// How far an export or import has got.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    pub entries: u64,
    pub total: u64,
    pub bytes: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("not a ledger snapshot (the file does not start with {MAGIC:?})")]
    NotASnapshot,
    #[error("snapshot format {0} is not supported (this build reads format {FORMAT})")]
    UnsupportedFormat(u32),
    #[error("the snapshot is cut short: it ends inside {0}")]
    Truncated(String),
    #[error("chunk {index} does not follow the one before it: chunks were reordered, altered or left out")]
    BrokenChain { index: u64 },
    #[error("entry {key} is out of order: entries must be in strictly increasing key order")]
    OutOfOrder { key: String },
    #[error("entry {key} claims to be set at version {set_at}, after the snapshot's version {version}")]
    FromTheFuture { key: String, set_at: u64, version: u64 },
    #[error("chunk {index} announces {count} entries; a chunk holds 1 to {CHUNK_ENTRIES}")]
    BadChunkCount { index: u64, count: u32 },
    #[error("malformed entry in chunk {chunk}: {reason}")]
    BadEntry { chunk: u64, reason: String },
    #[error("{what} is {size} bytes, over the limit of {limit}")]
    TooLarge { what: &'static str, size: u32, limit: u32 },
    #[error("the snapshot holds more entries than the {0} its header announces")]
    TooManyEntries(u64),
    #[error("the snapshot has bytes after its last entry")]
    TrailingData,
    #[error("the entries give state root {computed}, but the header claims {claimed}: the data was altered")]
    RootMismatch { claimed: Hash, computed: Hash },
    #[error("the header's checkpoint is inconsistent: {0}")]
    BadHeader(String),
    #[error("the attestation by {validator} does not hold: {reason}")]
    BadAttestation { validator: String, reason: String },
    #[error("the attestations carry {signed} of the trusted validators' {total} stake; two thirds are needed")]
    NoQuorum { signed: u128, total: u128 },
    #[error("{} is not empty: a snapshot is imported into a new or empty directory", .0.display())]
    TargetNotEmpty(PathBuf),
    #[error("reading or writing the snapshot failed: {0}")]
    Io(#[from] io::Error),
}

/// One entry of a snapshot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotEntry {
    pub key: Key,
    /// The version that set the value.
    pub set_at: u64,
    pub value: Vec<u8>,
}

fn chain_seed(header: &[u8]) -> Hash {
    let mut hasher = hash::tagged_hasher(TAG_CHUNK);
    hasher.update(MAGIC).update(&FORMAT.to_be_bytes()).update(header);
    Hash(*hasher.finalize().as_bytes())
}

fn chunk_hash(previous: &Hash, count: u32, body: &[u8]) -> Hash {
    let mut hasher = hash::tagged_hasher(TAG_CHUNK);
    hasher.update(previous.as_bytes()).update(&count.to_be_bytes()).update(body);
    Hash(*hasher.finalize().as_bytes())
}

fn encode_entry(body: &mut Vec<u8>, key: &Key, set_at: u64, value: &[u8]) {
    body.extend_from_slice(&key.namespace.id().to_be_bytes());
    body.push(key.path.len() as u8);
    body.extend_from_slice(key.path.as_bytes());
    body.extend_from_slice(&set_at.to_be_bytes());
    body.extend_from_slice(&(value.len() as u32).to_be_bytes());
    body.extend_from_slice(value);
}

/// Writes a snapshot as its entries arrive, in key order.
pub(crate) struct SnapshotWriter<W: Write> {
    out: io::BufWriter<W>,
    header: SnapshotHeader,
    previous: Hash,
    body: Vec<u8>,
    in_chunk: u32,
    entries: u64,
    chunks: u64,
    bytes: u64,
}

impl<W: Write> SnapshotWriter<W> {
    pub(crate) fn start(out: W, header: SnapshotHeader) -> Result<SnapshotWriter<W>> {
        let header_bytes = codec::encode(&header);
        let mut out = io::BufWriter::new(out);
        out.write_all(MAGIC)
            .and_then(|()| out.write_all(&FORMAT.to_be_bytes()))
            .and_then(|()| out.write_all(&(header_bytes.len() as u32).to_be_bytes()))
            .and_then(|()| out.write_all(&header_bytes))
            .map_err(SnapshotError::Io)?;
        Ok(SnapshotWriter {
            out,
            previous: chain_seed(&header_bytes),
            bytes: 16 + header_bytes.len() as u64,
            header,
            body: Vec::new(),
            in_chunk: 0,
            entries: 0,
            chunks: 0,
        })
    }

    pub(crate) fn push(&mut self, key: &Key, set_at: u64, value: &[u8], progress: &mut dyn FnMut(Progress)) -> Result<()> {
        encode_entry(&mut self.body, key, set_at, value);
        self.in_chunk += 1;
        self.entries += 1;
        if self.in_chunk as usize == CHUNK_ENTRIES {
            self.end_chunk()?;
            progress(self.progress());
        }
        Ok(())
    }

    pub(crate) fn finish(mut self, progress: &mut dyn FnMut(Progress)) -> Result<SnapshotSummary> {
        self.end_chunk()?;
        self.out.flush().map_err(SnapshotError::Io)?;
        progress(self.progress());
        if self.entries != self.header.entry_count {
            return Err(Error::Corrupt(format!("the snapshot announced {} entries but {} were written", self.header.entry_count, self.entries)));
        }
        Ok(SnapshotSummary {
            version: self.header.checkpoint.version,
            state_root: self.header.checkpoint.state_root,
            checkpoint: self.header.checkpoint.hash(),
            attestations: self.header.attestations.len(),
            entries: self.entries,
            chunks: self.chunks,
            bytes: self.bytes,
        })
    }

    fn progress(&self) -> Progress {
        Progress { entries: self.entries, total: self.header.entry_count, bytes: self.bytes }
    }

    fn end_chunk(&mut self) -> Result<()> {
        if self.in_chunk == 0 {
            return Ok(());
        }
        let hash = chunk_hash(&self.previous, self.in_chunk, &self.body);
        self.out
            .write_all(&self.in_chunk.to_be_bytes())
            .and_then(|()| self.out.write_all(&(self.body.len() as u32).to_be_bytes()))
            .and_then(|()| self.out.write_all(&self.body))
            .and_then(|()| self.out.write_all(hash.as_bytes()))
            .map_err(SnapshotError::Io)?;
        self.bytes += 8 + self.body.len() as u64 + 32;
        self.previous = hash;
        self.body.clear();
        self.in_chunk = 0;
        self.chunks += 1;
        Ok(())
    }
}

/// Reads and checks a snapshot chunk by chunk.
pub struct SnapshotReader<R: Read> {
    input: R,
    header: SnapshotHeader,
    previous: Hash,
    last_key: Option<Key>,
    read_entries: u64,
    chunks: u64,
    bytes: u64,
}

impl<R: Read> SnapshotReader<R> {
    pub fn new(mut input: R) -> Result<SnapshotReader<R>> {
        let mut magic = [0u8; 8];
        read_exact(&mut input, &mut magic, "the file's magic")?;
        if &magic != MAGIC {
            return Err(SnapshotError::NotASnapshot.into());
        }
        let format = read_u32(&mut input, "the format number")?;
        if format != FORMAT {
            return Err(SnapshotError::UnsupportedFormat(format).into());
        }
        let header_len = read_u32(&mut input, "the header's length")?;
        check_size("the header", header_len, MAX_HEADER_BYTES)?;
        let header_bytes = read_sized(&mut input, header_len, "the header")?;
        let header: SnapshotHeader = codec::decode(&header_bytes, "snapshot header")?;
        Ok(SnapshotReader {
            input,
            previous: chain_seed(&header_bytes),
            header,
            last_key: None,
            read_entries: 0,
            chunks: 0,
            bytes: 16 + u64::from(header_len),
        })
    }

    pub fn header(&self) -> &SnapshotHeader {
        &self.header
    }

    pub fn progress(&self) -> Progress {
        Progress { entries: self.read_entries, total: self.header.entry_count, bytes: self.bytes }
    }

    /// The next chunk's entries, checked; `None` after the last, once the input has ended.
    pub fn next_chunk(&mut self) -> Result<Option<Vec<SnapshotEntry>>> {
        if self.read_entries == self.header.entry_count {
            let mut probe = [0u8; 1];
            return match self.input.read(&mut probe).map_err(SnapshotError::Io)? {
                0 => Ok(None),
                _ => Err(SnapshotError::TrailingData.into()),
            };
        }
        let index = self.chunks;
        let what = format!("chunk {index}");
        let count = read_u32(&mut self.input, &what)?;
        if count == 0 || count as usize > CHUNK_ENTRIES {
            return Err(SnapshotError::BadChunkCount { index, count }.into());
        }
        let body_len = read_u32(&mut self.input, &what)?;
        check_size("a chunk", body_len, MAX_CHUNK_BYTES)?;
        let body = read_sized(&mut self.input, body_len, &what)?;
        let mut claimed = [0u8; 32];
        read_exact(&mut self.input, &mut claimed, &what)?;
        let hash = chunk_hash(&self.previous, count, &body);
        if hash.0 != claimed {
            return Err(SnapshotError::BrokenChain { index }.into());
        }
        if self.read_entries + u64::from(count) > self.header.entry_count {
            return Err(SnapshotError::TooManyEntries(self.header.entry_count).into());
        }
        let entries = self.decode_body(index, count, &body)?;
        self.previous = hash;
        self.chunks += 1;
        self.read_entries += u64::from(count);
        self.bytes += 8 + u64::from(body_len) + 32;
        Ok(Some(entries))
    }

    fn decode_body(&mut self, chunk: u64, count: u32, mut body: &[u8]) -> Result<Vec<SnapshotEntry>> {
        let bad = |reason: &str| SnapshotError::BadEntry { chunk, reason: reason.to_owned() };
        let version = self.header.checkpoint.version;
        let mut entries = Vec::with_capacity(count as usize);
        for _ in 0..count {
            let namespace = u32::from_be_bytes(take(&mut body, 4).ok_or_else(|| bad("cut inside a namespace"))?.try_into().expect("4 bytes"));
            let path_len = take(&mut body, 1).ok_or_else(|| bad("cut inside a path length"))?[0];
            let path = take(&mut body, path_len.into()).ok_or_else(|| bad("cut inside a path"))?;
            let set_at = u64::from_be_bytes(take(&mut body, 8).ok_or_else(|| bad("cut inside a version"))?.try_into().expect("8 bytes"));
            let value_len = u32::from_be_bytes(take(&mut body, 4).ok_or_else(|| bad("cut inside a value length"))?.try_into().expect("4 bytes"));
            let value = take(&mut body, value_len as usize).ok_or_else(|| bad("cut inside a value"))?;
            let namespace = Namespace::from_id(namespace).map_err(|error| bad(&error.to_string()))?;
            let path = std::str::from_utf8(path).map_err(|_| bad("a path is not UTF-8"))?;
            let key = Key::new(namespace, path).map_err(|error| bad(&error.to_string()))?;
            if self.last_key.as_ref().is_some_and(|last| *last >= key) {
                return Err(SnapshotError::OutOfOrder { key: key.to_string() }.into());
            }
            if set_at > version {
                return Err(SnapshotError::FromTheFuture { key: key.to_string(), set_at, version }.into());
            }
            self.last_key = Some(key.clone());
            entries.push(SnapshotEntry { key, set_at, value: value.to_vec() });
        }
        if !body.is_empty() {
            return Err(bad("bytes left after the announced entries").into());
        }
        Ok(entries)
    }
}

fn take<'a>(body: &mut &'a [u8], len: usize) -> Option<&'a [u8]> {
    let (taken, rest) = body.split_at_checked(len)?;
    *body = rest;
    Some(taken)
}

fn read_exact(input: &mut impl Read, buffer: &mut [u8], what: &str) -> Result<()> {
    input.read_exact(buffer).map_err(|error| match error.kind() {
        io::ErrorKind::UnexpectedEof => SnapshotError::Truncated(what.to_owned()),
        _ => SnapshotError::Io(error),
    })?;
    Ok(())
}

/// Reads `len` bytes into a buffer that grows as they arrive, so a length the stream does not
/// back costs no allocation.
fn read_sized(input: &mut impl Read, len: u32, what: &str) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    input.take(u64::from(len)).read_to_end(&mut bytes).map_err(SnapshotError::Io)?;
    if bytes.len() != len as usize {
        return Err(SnapshotError::Truncated(what.to_owned()).into());
    }
    Ok(bytes)
}

fn read_u32(input: &mut impl Read, what: &str) -> Result<u32> {
    let mut bytes = [0u8; 4];
    read_exact(input, &mut bytes, what)?;
    Ok(u32::from_be_bytes(bytes))
}

fn check_size(what: &'static str, size: u32, limit: u32) -> Result<()> {
    if size > limit {
        return Err(SnapshotError::TooLarge { what, size, limit }.into());
    }
    Ok(())
}

/// Computes a state root from entries arriving in key order, holding one namespace's leaves
/// at a time.
#[derive(Default)]
struct RootBuilder {
    namespace: Option<u32>,
    leaves: Vec<Hash>,
    namespace_leaves: Vec<Hash>,
}

impl RootBuilder {
    fn push(&mut self, key: &Key, value_hash: &Hash) {
        let id = key.namespace.id();
        if self.namespace != Some(id) {
            self.finish_namespace();
            self.namespace = Some(id);
        }
        self.leaves.push(hash::entry_leaf(&key.path, value_hash));
    }

    fn finish_namespace(&mut self) {
        if let Some(id) = self.namespace.take() {
            let count = self.leaves.len() as u64;
            let tree = Tree::build(self.leaves.drain(..));
            self.namespace_leaves.push(hash::namespace_leaf(id, &hash::namespace_root(count, &tree.root())));
        }
    }

    fn root(mut self) -> Hash {
        self.finish_namespace();
        let count = self.namespace_leaves.len() as u64;
        hash::ledger_root(count, &Tree::build(self.namespace_leaves.into_iter()).root())
    }
}

/// Checks the header against itself and the attestations against the trusted set, if any.
fn check_header(header: &SnapshotHeader, trusted: Option<&ValidatorSet>) -> Result<()> {
    let checkpoint_hash = header.checkpoint.hash();
    for attestation in &header.attestations {
        let refuse = |reason: String| SnapshotError::BadAttestation { validator: attestation.validator.clone(), reason };
        if attestation.version != header.checkpoint.version || attestation.checkpoint != checkpoint_hash {
            return Err(refuse("it attests another checkpoint".into()).into());
        }
        attestation.verify_signature().map_err(|error| refuse(error.to_string()))?;
    }
    if let Some(trusted) = trusted {
        let signers = header.attestations.iter().map(|attestation| attestation.validator.as_str());
        if !trusted.is_quorum(signers.clone()) {
            return Err(SnapshotError::NoQuorum { signed: trusted.stake_of(signers), total: trusted.total_stake() }.into());
        }
    }
    Ok(())
}

/// Reads a whole snapshot, checking its chain, order and root, without a database.
pub fn inspect(input: impl Read, trusted: Option<&ValidatorSet>) -> Result<SnapshotSummary> {
    let mut reader = SnapshotReader::new(input)?;
    check_header(reader.header(), trusted)?;
    let mut root = RootBuilder::default();
    while let Some(entries) = reader.next_chunk()? {
        for entry in &entries {
            root.push(&entry.key, &hash::value_hash(&entry.value));
        }
    }
    let header = reader.header().clone();
    let computed = root.root();
    if computed != header.checkpoint.state_root {
        return Err(SnapshotError::RootMismatch { claimed: header.checkpoint.state_root, computed }.into());
    }
    Ok(SnapshotSummary {
        version: header.checkpoint.version,
        state_root: computed,
        checkpoint: header.checkpoint.hash(),
        attestations: header.attestations.len(),
        entries: header.entry_count,
        chunks: reader.chunks,
        bytes: reader.bytes,
    })
}

/// An export of one kept version that needs no borrow of the [`Ledger`]: it holds the database
/// and reads one RocksDB snapshot, a consistent view that later commits and pruning do not
/// change. A node can so stream a snapshot to a slow client while its ledger keeps taking
/// writes.
pub struct Exporter {
    db: std::sync::Arc<rocksdb::DB>,
    checkpoint: Checkpoint,
    attestations: Vec<Attestation>,
}

impl Exporter {
    /// Writes the snapshot to `out`: the entries are counted, then written, from one view. A
    /// version pruned between [`Ledger::exporter`] and the view is refused before a byte is
    /// written ([`Error::Pruned`]): the view no longer holds all of its values.
    pub fn write(self, out: impl Write, progress: &mut dyn FnMut(Progress)) -> Result<SnapshotSummary> {
        let view = self.db.snapshot();
        let oldest = view
            .get_cf(cf(&self.db, schema::META), schema::META_OLDEST)?
            .and_then(|bytes| schema::parse_version_key(&bytes))
            .ok_or_else(|| Error::Corrupt("meta `oldest` is missing or not a u64".into()))?;
        if self.checkpoint.version < oldest {
            return Err(Error::Pruned { version: self.checkpoint.version, oldest });
        }
        let values = cf(&self.db, schema::VALUES);
        let scan = |visit: &mut crate::store::Visit<'_>| {
            crate::store::scan_values(view.iterator_cf(values, rocksdb::IteratorMode::Start), &[], self.checkpoint.version, visit)
        };
        let mut entry_count = 0u64;
        scan(&mut |_, _, _| {
            entry_count += 1;
            Ok(())
        })?;
        let header = SnapshotHeader { checkpoint: self.checkpoint, attestations: self.attestations.clone(), entry_count };
        let mut writer = SnapshotWriter::start(out, header)?;
        scan(&mut |key, set_at, value| writer.push(&key, set_at, value, progress))?;
        writer.finish(progress)
    }
}

impl Ledger {
    /// Writes `version` as a snapshot, calling `progress` after each chunk.
    pub fn export(&self, version: u64, out: impl Write, progress: &mut dyn FnMut(Progress)) -> Result<SnapshotSummary> {
        self.exporter(version)?.write(out, progress)
    }

    /// An export of `version` that runs apart from the ledger (see [`Exporter`]).
    pub fn exporter(&self, version: u64) -> Result<Exporter> {
        let checkpoint = self.checkpoint(version)?;
        Ok(Exporter { db: self.shared_db(), checkpoint, attestations: self.attestations(version)? })
    }

    /// Makes a ledger at `dir` (new or empty) from a snapshot, after checking its chain, order,
    /// attestations (against `trusted` when given) and recomputed root. On any failure the
    /// directory is left as it was found.
    pub fn import(dir: impl AsRef<Path>, input: impl Read, trusted: Option<&ValidatorSet>, options: Options, progress: &mut dyn FnMut(Progress)) -> Result<Ledger> {
        let dir = dir.as_ref();
        let mut reader = SnapshotReader::new(input)?;
        check_header(reader.header(), trusted)?;
        let existed = match claim_directory(dir) {
            Err(Error::AlreadyInitialised(_) | Error::NotALedger(_)) => return Err(SnapshotError::TargetNotEmpty(dir.to_path_buf()).into()),
            claimed => claimed?,
        };
        match write_snapshot(dir, &mut reader, progress) {
            Ok(()) => Ledger::open(dir, options),
            Err(error) => {
                let cleaned = if existed { empty_directory(dir) } else { std::fs::remove_dir_all(dir) };
                cleaned.map_err(|cleanup| Error::Corrupt(format!("import failed ({error}) and cleaning {} failed: {cleanup}", dir.display())))?;
                Err(error)
            }
        }
    }
}

/// Streams the entries into a new database and, once the root is confirmed, writes the
/// checkpoint and the format marker that makes the directory a ledger.
fn write_snapshot(dir: &Path, reader: &mut SnapshotReader<impl Read>, progress: &mut dyn FnMut(Progress)) -> Result<()> {
    let db = open_db(dir, true)?;
    let mut unlogged = rocksdb::WriteOptions::default();
    // Entries are flushed before the marker is written; a crash before that leaves a
    // directory that is not a ledger, so the log is not needed.
    unlogged.disable_wal(true);
    let mut root = RootBuilder::default();
    while let Some(entries) = reader.next_chunk()? {
        let mut batch = WriteBatch::default();
        for entry in &entries {
            let value_hash = hash::value_hash(&entry.value);
            root.push(&entry.key, &value_hash);
            batch.put_cf(cf(&db, schema::VALUES), schema::value_key(&entry.key, entry.set_at), schema::stored_value(Some(&entry.value)));
            batch.put_cf(cf(&db, schema::CURRENT), schema::entry_key(&entry.key), schema::current_value(entry.set_at, &value_hash));
        }
        db.write_opt(batch, &unlogged)?;
        progress(reader.progress());
    }
    let header = reader.header();
    let computed = root.root();
    if computed != header.checkpoint.state_root {
        return Err(SnapshotError::RootMismatch { claimed: header.checkpoint.state_root, computed }.into());
    }
    for family in schema::ALL_FAMILIES {
        db.flush_cf(cf(&db, family))?;
    }
    let version = header.checkpoint.version;
    let mut batch = WriteBatch::default();
    batch.put_cf(cf(&db, schema::CHECKPOINTS), schema::version_key(version), codec::encode(&header.checkpoint));
    for attestation in &header.attestations {
        batch.put_cf(cf(&db, schema::ATTESTATIONS), schema::attestation_key(version, &attestation.validator), codec::encode(attestation));
    }
    batch.put_cf(cf(&db, schema::META), schema::META_HEAD, version.to_be_bytes());
    batch.put_cf(cf(&db, schema::META), schema::META_OLDEST, version.to_be_bytes());
    batch.put_cf(cf(&db, schema::META), schema::META_FORMAT, schema::FORMAT_VERSION.to_be_bytes());
    let mut sync = rocksdb::WriteOptions::default();
    sync.set_sync(true);
    db.write_opt(batch, &sync)?;
    Ok(())
}
