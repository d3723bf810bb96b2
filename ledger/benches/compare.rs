//! The ledger against raw RocksDB and the `jmt` crate: one run, one machine, the same workloads.
//!
//! ```text
//! cargo bench --workspace --bench compare -- [--quick] [--json FILE]
//! ```
//!
//! # Stores
//!
//! - **raw**: RocksDB `WriteBatch`es of `u32be(namespace) || path -> value`. No commitment and
//!   no history: the floor any store on RocksDB stands on.
//! - **jmt**: the `jmt` crate's Jellyfish Merkle tree hashed with blake3, its key hash the
//!   blake3 of the raw key, its nodes and versioned values in RocksDB. It is never pruned.
//! - **ledger**: [`Ledger`] with `retention: None`, so it too keeps every version.
//!
//! All three write with `Durability::Buffered`: the WAL is handed to the OS but not fsynced
//! (`set_sync(false)` for the peers). The peers' column families get the ledger's table options
//! (default options, 10-bit bloom filters), so the stores differ in layout, not in tuning.
//!
//! # Workloads
//!
//! - **W1 generic**: random keys over 256 namespaces (16-character paths), 100-byte random
//!   values, 1000 ops per version: an insert phase of every key, then an update phase that
//!   changes each key once in random order. On the resulting state: plain gets, gets with an
//!   inclusion proof, exclusion proofs of absent paths in present namespaces, their verification
//!   and encoded size; and reopening the closed store.
//! - **W2 subnet-shaped**: 1024 namespaces of 64 paths preloaded; then diffs of 1..=32 updates
//!   (uniform), each in one namespace, one version per diff, up to a fixed number of updates.
//!
//! # Method
//!
//! Every (workload, store, repetition) runs in a child process, the bench binary re-executed as
//! `--child STORE WORKLOAD`, so that its peak resident memory (`VmHWM`) is that store's alone;
//! it prints its metrics as one JSON line. Keys and values come from fixed seeds, so every store
//! sees the same ones, and they are made outside the timed calls. The parent prints the medians
//! over repetitions, the ledger's ratios to the peers and its targets, and writes all of it to
//! `--json FILE`. `--quick` runs once per store at smaller sizes.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use jmt::proof::SparseMerkleProof;
use jmt::storage::{LeafNode, Node, NodeBatch, NodeKey, TreeReader, TreeWriter};
use jmt::{JellyfishMerkleTree, KeyHash, OwnedValue, RootHash, SimpleHasher, Version};
use ledger::{Change, ChangeSet, Durability, Hash, Key, Ledger, Namespace, Proof};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, RngCore, SeedableRng};
use rocksdb::{BlockBasedOptions, ColumnFamily, ColumnFamilyDescriptor, Options as DbOptions, WriteBatch, WriteOptions, DB};
use serde::Serialize;
use serde_json::json;

use common::{dir_bytes, median, peak_rss_mib, random_key};

const SEED: u64 = 0x0bc4_e57a;
const VALUE_LEN: usize = 100;
const W1_NAMESPACES: u16 = 256;
const W1_PATH_LEN: usize = 16;
const W1_OPS_PER_VERSION: usize = 1000;
const W2_NAMESPACES: u16 = 1024;
const W2_PATHS: usize = 64;
const W2_MAX_DIFF: usize = 32;

/// How big a run is.
#[derive(Clone, Copy, Serialize)]
struct Sizes {
    w1_keys: usize,
    /// Updates committed in W2's diffs, after its preload.
    w2_updates: usize,
    /// Present keys read and proven on W1's state, and as many absent ones proven.
    reads: usize,
    /// Reopenings of the closed W1 store; the median counts.
    opens: usize,
    /// Child runs per workload and store; the median counts.
    repetitions: usize,
}

impl Sizes {
    fn new(quick: bool) -> Sizes {
        if quick {
            Sizes { w1_keys: 20_000, w2_updates: 20_000, reads: 2_000, opens: 3, repetitions: 1 }
        } else {
            Sizes { w1_keys: 100_000, w2_updates: 100_000, reads: 10_000, opens: 5, repetitions: 3 }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Metrics: what a child measures, by name.

type Metrics = BTreeMap<&'static str, f64>;

const INSERT: &str = "insert_ops_per_s";
const UPDATE: &str = "update_ops_per_s";
const GET: &str = "get_us";
const OPEN: &str = "open_ms";
const DISK: &str = "disk_mib";
const PEAK_RSS: &str = "peak_rss_mib";
/// Peak RSS before the store is made: the workload's own keys, the same for every store.
const DATA_RSS: &str = "data_rss_mib";

/// The metric names of one kind of proof.
struct ProofMetrics {
    /// Get with proof: the value read and the proof made.
    prove_us: &'static str,
    verify_us: &'static str,
    mean_bytes: &'static str,
    max_bytes: &'static str,
}

const INCLUSION: ProofMetrics = ProofMetrics {
    prove_us: "inclusion_prove_us",
    verify_us: "inclusion_verify_us",
    mean_bytes: "inclusion_bytes_mean",
    max_bytes: "inclusion_bytes_max",
};

const EXCLUSION: ProofMetrics = ProofMetrics {
    prove_us: "exclusion_prove_us",
    verify_us: "exclusion_verify_us",
    mean_bytes: "exclusion_bytes_mean",
    max_bytes: "exclusion_bytes_max",
};

// ---------------------------------------------------------------------------------------------
// Stores.

/// What the workloads need of a store. Keys arrive as ledger keys; turning them into a store's
/// own form happens inside the timed calls, since it is part of that store's cost.
trait Store: Sized {
    fn create_in(dir: &Path) -> Self;
    fn reopen(dir: &Path) -> Self;
    /// Writes `writes` as one version: one commit, one `WriteBatch`, one jmt version.
    fn write_version(&mut self, writes: Vec<(Key, Vec<u8>)>);
    fn read(&self, key: &Key) -> Option<Vec<u8>>;
    /// Proof metrics on the current state; none for a store that proves nothing.
    fn proof_metrics(&self, _present: &[Key], _absent: &[Key]) -> Metrics {
        Metrics::new()
    }
}

/// A store whose reads come with a proof against a root.
trait Prover {
    type Root;
    type Proof;
    fn root(&self) -> Self::Root;
    fn get_with_proof(&self, key: &Key) -> (Option<Vec<u8>>, Self::Proof);
    fn verify(root: &Self::Root, key: &Key, value: Option<&[u8]>, proof: &Self::Proof) -> bool;
    /// Bytes of the proof in the encoding the store's clients would be sent.
    fn encoded_len(proof: &Self::Proof) -> usize;
}

/// `u32be(namespace) || path`: raw RocksDB's key and the preimage of jmt's key hash.
fn raw_key(key: &Key) -> Vec<u8> {
    [&key.namespace.id().to_be_bytes()[..], key.path.as_bytes()].concat()
}

/// Opens RocksDB with the ledger's table options.
fn open_rocks(dir: &Path, families: &[&str], create: bool) -> DB {
    let mut options = DbOptions::default();
    options.create_if_missing(create);
    options.create_missing_column_families(create);
    let families = families.iter().map(|name| {
        let mut table = BlockBasedOptions::default();
        table.set_bloom_filter(10.0, false);
        let mut family = DbOptions::default();
        family.set_block_based_table_factory(&table);
        ColumnFamilyDescriptor::new(*name, family)
    });
    DB::open_cf_descriptors(&options, dir, families).expect("RocksDB opens")
}

/// `Durability::Buffered`, as the peers say it.
fn buffered() -> WriteOptions {
    let mut options = WriteOptions::default();
    options.set_sync(false);
    options
}

/// Raw RocksDB.
struct RawStore(DB);

impl Store for RawStore {
    fn create_in(dir: &Path) -> Self {
        RawStore(open_rocks(dir, &["default"], true))
    }

    fn reopen(dir: &Path) -> Self {
        RawStore(open_rocks(dir, &["default"], false))
    }

    fn write_version(&mut self, writes: Vec<(Key, Vec<u8>)>) {
        let mut batch = WriteBatch::default();
        for (key, value) in writes {
            batch.put(raw_key(&key), value);
        }
        self.0.write_opt(batch, &buffered()).expect("raw write");
    }

    fn read(&self, key: &Key) -> Option<Vec<u8>> {
        self.0.get_pinned(raw_key(key)).expect("raw read").map(|value| value.to_vec())
    }
}

/// blake3 for jmt, which would otherwise hash with sha2.
struct Blake3(blake3::Hasher);

impl SimpleHasher for Blake3 {
    fn new() -> Self {
        Blake3(blake3::Hasher::new())
    }

    fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }

    fn finalize(self) -> [u8; 32] {
        *self.0.finalize().as_bytes()
    }
}

fn key_hash(key: &Key) -> KeyHash {
    KeyHash::with::<Blake3>(raw_key(key))
}

const JMT_NODES: &str = "nodes";
const JMT_VALUES: &str = "values";

/// jmt's storage in RocksDB. Nodes are keyed `u64be(version) || borsh(nibble path)`, so the
/// newest version's nodes sort last and reopening finds the head without a record of its own.
/// Values are keyed `key_hash || u64be(version)`, so a reverse seek finds the newest version
/// at or before a given one, and stored with the ledger's marker byte (`0x01 || value`, `0x00`
/// deleted).
struct JmtDb(DB);

impl JmtDb {
    fn family(&self, name: &str) -> &ColumnFamily {
        self.0.cf_handle(name).expect("jmt's families are opened with the database")
    }

    fn node_key(node_key: &NodeKey) -> anyhow::Result<Vec<u8>> {
        Ok([&node_key.version().to_be_bytes()[..], &borsh::to_vec(node_key.nibble_path())?].concat())
    }

    fn value_key(key_hash: KeyHash, version: Version) -> Vec<u8> {
        [&key_hash.0[..], &version.to_be_bytes()].concat()
    }

    /// The newest version written, if any.
    fn head_version(&self) -> Option<Version> {
        let mut iterator = self.0.raw_iterator_cf(self.family(JMT_NODES));
        iterator.seek_to_last();
        iterator.key().map(|key| Version::from_be_bytes(key[..8].try_into().expect("node keys start with a version")))
    }
}

impl TreeReader for JmtDb {
    fn get_node_option(&self, node_key: &NodeKey) -> anyhow::Result<Option<Node>> {
        let stored = self.0.get_pinned_cf(self.family(JMT_NODES), JmtDb::node_key(node_key)?)?;
        Ok(stored.map(|bytes| borsh::from_slice(&bytes)).transpose()?)
    }

    fn get_value_option(&self, max_version: Version, key_hash: KeyHash) -> anyhow::Result<Option<OwnedValue>> {
        let mut iterator = self.0.raw_iterator_cf(self.family(JMT_VALUES));
        iterator.seek_for_prev(JmtDb::value_key(key_hash, max_version));
        match (iterator.key(), iterator.value()) {
            (Some(found), Some(stored)) if found.starts_with(&key_hash.0) => match stored.split_first() {
                Some((0x01, value)) => Ok(Some(value.to_vec())),
                _ => Ok(None),
            },
            _ => {
                iterator.status()?;
                Ok(None)
            }
        }
    }

    fn get_rightmost_leaf(&self) -> anyhow::Result<Option<(NodeKey, LeafNode)>> {
        unreachable!("only jmt's state restore asks for the rightmost leaf")
    }
}

impl TreeWriter for JmtDb {
    fn write_node_batch(&self, node_batch: &NodeBatch) -> anyhow::Result<()> {
        let (nodes, values) = (self.family(JMT_NODES), self.family(JMT_VALUES));
        let mut batch = WriteBatch::default();
        for (node_key, node) in node_batch.nodes() {
            batch.put_cf(nodes, JmtDb::node_key(node_key)?, borsh::to_vec(node)?);
        }
        for ((version, key_hash), value) in node_batch.values() {
            let stored = match value {
                Some(value) => [&[0x01][..], value].concat(),
                None => vec![0x00],
            };
            batch.put_cf(values, JmtDb::value_key(*key_hash, *version), stored);
        }
        self.0.write_opt(batch, &buffered())?;
        Ok(())
    }
}

/// jmt over [`JmtDb`], with its head version and root.
struct JmtStore {
    db: JmtDb,
    head: Option<(Version, RootHash)>,
}

impl JmtStore {
    fn open(dir: &Path, create: bool) -> JmtStore {
        let db = JmtDb(open_rocks(dir, &[JMT_NODES, JMT_VALUES], create));
        let head = db.head_version().map(|version| {
            let root = JellyfishMerkleTree::<_, Blake3>::new(&db).get_root_hash(version).expect("jmt root");
            (version, root)
        });
        JmtStore { db, head }
    }

    fn tree(&self) -> JellyfishMerkleTree<'_, JmtDb, Blake3> {
        JellyfishMerkleTree::new(&self.db)
    }

    fn head(&self) -> (Version, RootHash) {
        self.head.expect("reads come after writes")
    }
}

impl Store for JmtStore {
    fn create_in(dir: &Path) -> Self {
        JmtStore::open(dir, true)
    }

    fn reopen(dir: &Path) -> Self {
        JmtStore::open(dir, false)
    }

    /// Stale-node indexes are dropped: nothing is pruned, as in the ledger without retention.
    fn write_version(&mut self, writes: Vec<(Key, Vec<u8>)>) {
        let version = self.head.map_or(0, |(head, _)| head + 1);
        let value_set = writes.into_iter().map(|(key, value)| (key_hash(&key), Some(value)));
        let (root, update) = self.tree().put_value_set(value_set, version).expect("jmt put");
        self.db.write_node_batch(&update.node_batch).expect("jmt write");
        self.head = Some((version, root));
    }

    fn read(&self, key: &Key) -> Option<Vec<u8>> {
        self.tree().get(key_hash(key), self.head().0).expect("jmt get")
    }

    fn proof_metrics(&self, present: &[Key], absent: &[Key]) -> Metrics {
        measure_proofs(self, present, absent)
    }
}

impl Prover for JmtStore {
    type Root = RootHash;
    type Proof = SparseMerkleProof<Blake3>;

    fn root(&self) -> RootHash {
        self.head().1
    }

    fn get_with_proof(&self, key: &Key) -> (Option<Vec<u8>>, Self::Proof) {
        self.tree().get_with_proof(key_hash(key), self.head().0).expect("jmt proof")
    }

    fn verify(root: &RootHash, key: &Key, value: Option<&[u8]>, proof: &Self::Proof) -> bool {
        proof.verify(*root, key_hash(key), value).is_ok()
    }

    fn encoded_len(proof: &Self::Proof) -> usize {
        borsh::to_vec(proof).expect("proofs encode").len()
    }
}

fn ledger_options() -> ledger::Options {
    ledger::Options { durability: Durability::Buffered, retention: None }
}

impl Store for Ledger {
    fn create_in(dir: &Path) -> Self {
        Ledger::create(dir, ledger_options()).expect("ledger creates")
    }

    fn reopen(dir: &Path) -> Self {
        Ledger::open(dir, ledger_options()).expect("ledger opens")
    }

    fn write_version(&mut self, writes: Vec<(Key, Vec<u8>)>) {
        let changes = writes.into_iter().map(|(key, value)| Change { key, value: Some(value) });
        self.commit(ChangeSet::new(changes)).expect("ledger commits");
    }

    fn read(&self, key: &Key) -> Option<Vec<u8>> {
        self.get(key).expect("ledger reads")
    }

    fn proof_metrics(&self, present: &[Key], absent: &[Key]) -> Metrics {
        measure_proofs(self, present, absent)
    }
}

impl Prover for Ledger {
    type Root = Hash;
    type Proof = Proof;

    fn root(&self) -> Hash {
        self.head().state_root
    }

    fn get_with_proof(&self, key: &Key) -> (Option<Vec<u8>>, Proof) {
        let proven = self.prove(key).expect("ledger proves");
        (proven.value, proven.proof)
    }

    fn verify(root: &Hash, key: &Key, value: Option<&[u8]>, proof: &Proof) -> bool {
        ledger::verify(root, key, value, proof).is_ok()
    }

    /// The ledger's canonical MessagePack (`ledger::codec::encode`: `rmp_serde::to_vec_named`).
    fn encoded_len(proof: &Proof) -> usize {
        ledger::codec::encode(proof).len()
    }
}

// ---------------------------------------------------------------------------------------------
// Workloads, run in a child process.

#[derive(Clone, Copy, PartialEq, Eq)]
enum StoreKind {
    Raw,
    Jmt,
    Ledger,
}

impl StoreKind {
    const ALL: [StoreKind; 3] = [StoreKind::Raw, StoreKind::Jmt, StoreKind::Ledger];

    fn name(self) -> &'static str {
        match self {
            StoreKind::Raw => "raw",
            StoreKind::Jmt => "jmt",
            StoreKind::Ledger => "ledger",
        }
    }

    fn parse(name: &str) -> Option<StoreKind> {
        StoreKind::ALL.into_iter().find(|kind| kind.name() == name)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Workload {
    Generic,
    Subnet,
}

impl Workload {
    const ALL: [Workload; 2] = [Workload::Generic, Workload::Subnet];

    fn name(self) -> &'static str {
        match self {
            Workload::Generic => "w1",
            Workload::Subnet => "w2",
        }
    }

    fn parse(name: &str) -> Option<Workload> {
        Workload::ALL.into_iter().find(|workload| workload.name() == name)
    }

    fn describe(self, sizes: &Sizes) -> String {
        match self {
            Workload::Generic => format!(
                "W1 generic: {} keys over {W1_NAMESPACES} namespaces, {VALUE_LEN}-byte values, {W1_OPS_PER_VERSION} ops per version",
                sizes.w1_keys
            ),
            Workload::Subnet => format!(
                "W2 subnet-shaped: {W2_NAMESPACES} x {W2_PATHS} preloaded, then {} updates in one-namespace diffs of 1..={W2_MAX_DIFF}",
                sizes.w2_updates
            ),
        }
    }
}

fn run_child(store: StoreKind, workload: Workload, sizes: &Sizes) -> Metrics {
    match store {
        StoreKind::Raw => run_workload::<RawStore>(workload, sizes),
        StoreKind::Jmt => run_workload::<JmtStore>(workload, sizes),
        StoreKind::Ledger => run_workload::<Ledger>(workload, sizes),
    }
}

fn run_workload<S: Store>(workload: Workload, sizes: &Sizes) -> Metrics {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut metrics = match workload {
        Workload::Generic => generic::<S>(dir.path(), sizes),
        Workload::Subnet => subnet_shaped::<S>(dir.path(), sizes),
    };
    metrics.insert(PEAK_RSS, peak_rss_mib());
    metrics
}

/// W1: insert, update, then reads, proofs and reopening on the resulting state.
fn generic<S: Store>(dir: &Path, sizes: &Sizes) -> Metrics {
    let mut rng = StdRng::seed_from_u64(SEED);
    let mut values = StdRng::seed_from_u64(SEED + 1);
    let keys: Vec<Key> = (0..sizes.w1_keys).map(|_| random_key(&mut rng, W1_NAMESPACES, W1_PATH_LEN)).collect();
    let mut update_order: Vec<usize> = (0..keys.len()).collect();
    update_order.shuffle(&mut rng);
    let present: Vec<Key> = keys.choose_multiple(&mut rng, sizes.reads).cloned().collect();
    // 62^16 possible paths: a random one is absent from the state.
    let absent: Vec<Key> = (0..sizes.reads).map(|_| random_key(&mut rng, W1_NAMESPACES, W1_PATH_LEN)).collect();

    let mut metrics = Metrics::from([(DATA_RSS, peak_rss_mib())]);
    let mut store = S::create_in(dir);
    let inserts = keys.chunks(W1_OPS_PER_VERSION).map(<[Key]>::to_vec);
    metrics.insert(INSERT, ops_per_s(write_versions(&mut store, &mut values, inserts)));
    let updates = update_order.chunks(W1_OPS_PER_VERSION).map(|chunk| chunk.iter().map(|&index| keys[index].clone()).collect());
    metrics.insert(UPDATE, ops_per_s(write_versions(&mut store, &mut values, updates)));
    metrics.insert(GET, per_op_us(&present, |key| assert!(store.read(key).is_some(), "{key} was written")));
    metrics.extend(store.proof_metrics(&present, &absent));
    metrics.insert(DISK, close(store, dir));
    metrics.insert(OPEN, median_open_ms::<S>(dir, sizes.opens));
    metrics
}

/// W2: preload every subnet, then commit small diffs, each inside one subnet.
fn subnet_shaped<S: Store>(dir: &Path, sizes: &Sizes) -> Metrics {
    let mut rng = StdRng::seed_from_u64(SEED);
    let mut values = StdRng::seed_from_u64(SEED + 1);
    let mut metrics = Metrics::from([(DATA_RSS, peak_rss_mib())]);
    let mut store = S::create_in(dir);
    let preload = (0..W2_NAMESPACES).map(|netuid| (0..W2_PATHS).map(|path| subnet_key(netuid, path)).collect());
    write_versions(&mut store, &mut values, preload);
    let mut remaining = sizes.w2_updates;
    // Drawn lazily by `write_versions`, outside its timed calls.
    let diffs = std::iter::from_fn(|| {
        if remaining == 0 {
            return None;
        }
        let len = rng.gen_range(1..=W2_MAX_DIFF).min(remaining);
        remaining -= len;
        let netuid = rng.gen_range(0..W2_NAMESPACES);
        Some(rand::seq::index::sample(&mut rng, W2_PATHS, len).into_iter().map(|path| subnet_key(netuid, path)).collect())
    });
    metrics.insert(UPDATE, ops_per_s(write_versions(&mut store, &mut values, diffs)));
    metrics.insert(DISK, close(store, dir));
    metrics
}


fn subnet_key(netuid: u16, path: usize) -> Key {
    Key::new(Namespace::Subnet(netuid), format!("neuron/{path:02}")).expect("valid path")
}

/// Writes each group of keys as one version with fresh random values. Returns the ops written
/// and the time spent in the store alone: drawing keys and values is not timed.
fn write_versions<S: Store>(store: &mut S, values: &mut StdRng, groups: impl Iterator<Item = Vec<Key>>) -> (usize, Duration) {
    let (mut ops, mut spent) = (0, Duration::ZERO);
    for group in groups {
        ops += group.len();
        let writes = group
            .into_iter()
            .map(|key| {
                let mut value = vec![0; VALUE_LEN];
                values.fill_bytes(&mut value);
                (key, value)
            })
            .collect();
        let start = Instant::now();
        store.write_version(writes);
        spent += start.elapsed();
    }
    (ops, spent)
}

fn ops_per_s((ops, spent): (usize, Duration)) -> f64 {
    ops as f64 / spent.as_secs_f64()
}

/// Mean microseconds of `op` over `items`, timed as one loop so that reading the clock does
/// not weigh on sub-microsecond operations.
fn per_op_us<T>(items: &[T], mut op: impl FnMut(&T)) -> f64 {
    let start = Instant::now();
    items.iter().for_each(&mut op);
    start.elapsed().as_secs_f64() * 1e6 / items.len() as f64
}

/// Times getting with proof and verifying, present keys then absent ones, and sizes the proofs.
fn measure_proofs<P: Prover>(store: &P, present: &[Key], absent: &[Key]) -> Metrics {
    let root = store.root();
    let mut metrics = Metrics::new();
    for (keys, names, expect_value) in [(present, &INCLUSION, true), (absent, &EXCLUSION, false)] {
        let mut proven = Vec::with_capacity(keys.len());
        metrics.insert(names.prove_us, per_op_us(keys, |key| proven.push(store.get_with_proof(key))));
        assert!(proven.iter().all(|(value, _)| value.is_some() == expect_value), "every key is where the workload put it");
        let claims: Vec<_> = keys.iter().zip(&proven).collect();
        metrics.insert(
            names.verify_us,
            per_op_us(&claims, |(key, (value, proof))| assert!(P::verify(&root, key, value.as_deref(), proof), "{key} verifies")),
        );
        let lens: Vec<usize> = proven.iter().map(|(_, proof)| P::encoded_len(proof)).collect();
        metrics.insert(names.mean_bytes, lens.iter().sum::<usize>() as f64 / lens.len() as f64);
        metrics.insert(names.max_bytes, lens.iter().copied().max().unwrap_or(0) as f64);
    }
    metrics
}

/// Closes the store and sizes its directory: what a restart would find.
fn close<S: Store>(store: S, dir: &Path) -> f64 {
    drop(store);
    dir_bytes(dir) as f64 / MIB
}

/// The first reopening replays the WAL and the rest do not; the median is the steady one.
fn median_open_ms<S: Store>(dir: &Path, opens: usize) -> f64 {
    median(
        (0..opens)
            .map(|_| {
                let start = Instant::now();
                let store = S::reopen(dir);
                let elapsed = start.elapsed();
                drop(store);
                elapsed.as_secs_f64() * 1e3
            })
            .collect(),
    )
}

const MIB: f64 = 1024.0 * 1024.0;




// ---------------------------------------------------------------------------------------------
// The parent: runs the children, reports.

/// Figures by workload, then store, then metric.
type Figures = BTreeMap<&'static str, BTreeMap<&'static str, BTreeMap<String, f64>>>;

#[derive(Serialize)]
struct Run {
    workload: &'static str,
    store: &'static str,
    repetition: usize,
    metrics: BTreeMap<String, f64>,
}

/// One line of the table.
struct Row {
    workload: Workload,
    metric: &'static str,
    label: &'static str,
}

const fn row(workload: Workload, metric: &'static str, label: &'static str) -> Row {
    Row { workload, metric, label }
}

const ROWS: &[Row] = &[
    row(Workload::Generic, INSERT, "insert ops/s"),
    row(Workload::Generic, UPDATE, "update ops/s"),
    row(Workload::Generic, GET, "get µs"),
    row(Workload::Generic, INCLUSION.prove_us, "get + inclusion proof µs"),
    row(Workload::Generic, EXCLUSION.prove_us, "exclusion proof µs"),
    row(Workload::Generic, INCLUSION.verify_us, "verify inclusion µs"),
    row(Workload::Generic, EXCLUSION.verify_us, "verify exclusion µs"),
    row(Workload::Generic, INCLUSION.mean_bytes, "inclusion proof bytes (mean)"),
    row(Workload::Generic, INCLUSION.max_bytes, "inclusion proof bytes (max)"),
    row(Workload::Generic, EXCLUSION.mean_bytes, "exclusion proof bytes (mean)"),
    row(Workload::Generic, EXCLUSION.max_bytes, "exclusion proof bytes (max)"),
    row(Workload::Generic, OPEN, "open ms"),
    row(Workload::Generic, DISK, "disk MiB"),
    row(Workload::Generic, PEAK_RSS, "peak RSS MiB"),
    row(Workload::Generic, DATA_RSS, "  of which workload data"),
    row(Workload::Subnet, UPDATE, "committed updates/s"),
    row(Workload::Subnet, DISK, "disk MiB"),
    row(Workload::Subnet, PEAK_RSS, "peak RSS MiB"),
    row(Workload::Subnet, DATA_RSS, "  of which workload data"),
];

/// What the ledger's figure must be: at least or below a limit, itself or as a ratio to a peer.
struct Target {
    what: &'static str,
    workload: Workload,
    metric: &'static str,
    relative_to: Option<StoreKind>,
    bound: Bound,
}

#[derive(Clone, Copy)]
enum Bound {
    AtLeast(f64),
    Below(f64),
}

impl Bound {
    fn holds(self, value: f64) -> bool {
        match self {
            Bound::AtLeast(limit) => value >= limit,
            Bound::Below(limit) => value < limit,
        }
    }

    fn limit(self) -> f64 {
        match self {
            Bound::AtLeast(limit) | Bound::Below(limit) => limit,
        }
    }
}

const fn target(what: &'static str, workload: Workload, metric: &'static str, relative_to: Option<StoreKind>, bound: Bound) -> Target {
    Target { what, workload, metric, relative_to, bound }
}

const TARGETS: &[Target] = &[
    target("W2 updates/s >= 0.5x raw", Workload::Subnet, UPDATE, Some(StoreKind::Raw), Bound::AtLeast(0.5)),
    target("W2 updates/s >= 3x jmt", Workload::Subnet, UPDATE, Some(StoreKind::Jmt), Bound::AtLeast(3.0)),
    target("W1 insert ops/s >= 1.5x jmt", Workload::Generic, INSERT, Some(StoreKind::Jmt), Bound::AtLeast(1.5)),
    target("W1 update ops/s >= 1.5x jmt", Workload::Generic, UPDATE, Some(StoreKind::Jmt), Bound::AtLeast(1.5)),
    target("get + inclusion proof < 5 µs", Workload::Generic, INCLUSION.prove_us, None, Bound::Below(5.0)),
    target("exclusion proof < 5 µs", Workload::Generic, EXCLUSION.prove_us, None, Bound::Below(5.0)),
    target("verify inclusion < 10 µs", Workload::Generic, INCLUSION.verify_us, None, Bound::Below(10.0)),
    target("verify exclusion < 10 µs", Workload::Generic, EXCLUSION.verify_us, None, Bound::Below(10.0)),
    target("largest inclusion proof < 1024 B", Workload::Generic, INCLUSION.max_bytes, None, Bound::Below(1024.0)),
    target("largest exclusion proof < 1024 B", Workload::Generic, EXCLUSION.max_bytes, None, Bound::Below(1024.0)),
    target("open < 1000 ms", Workload::Generic, OPEN, None, Bound::Below(1000.0)),
    target("W1 disk < 3x raw", Workload::Generic, DISK, Some(StoreKind::Raw), Bound::Below(3.0)),
    target("W2 disk < 3x raw", Workload::Subnet, DISK, Some(StoreKind::Raw), Bound::Below(3.0)),
];

const SETUP: &[&str] = &[
    "durability: Buffered in all three stores (WAL written, not fsynced: set_sync(false))",
    "history: ledger retention None and unpruned jmt keep every version; raw keeps only the latest",
    "RocksDB 0.24 with the ledger's options (defaults, 10-bit bloom filters) in every store",
    "jmt 0.12 with blake3; key hash = blake3(u32be(namespace) || path)",
    "proof bytes: ledger = canonical MessagePack (ledger::codec::encode = rmp_serde::to_vec_named); jmt = borsh",
    "times are of the store's calls only; µs figures are means over the sampled keys",
    "peak RSS = VmHWM of the store's own child process; workload data = VmHWM before the store opened",
];

fn run_parent(quick: bool, json_path: Option<&Path>) {
    let sizes = Sizes::new(quick);
    let mut runs = Vec::new();
    for workload in Workload::ALL {
        for repetition in 1..=sizes.repetitions {
            // Stores take turns within each repetition so that drift in the machine hits all.
            for store in StoreKind::ALL {
                eprintln!("running {} {} ({repetition}/{})", workload.name(), store.name(), sizes.repetitions);
                let metrics = spawn_child(store, workload, quick);
                runs.push(Run { workload: workload.name(), store: store.name(), repetition, metrics });
            }
        }
    }
    let medians = medians(&runs);
    print_table(&medians, &sizes);
    let targets = evaluate_targets(&medians);
    print_targets(&targets, &sizes);
    if let Some(path) = json_path {
        let report = json!({
            "sizes": sizes,
            "quick": quick,
            "setup": SETUP,
            "medians": medians,
            "ratios": {
                "ledger/raw": ratios(&medians, StoreKind::Raw),
                "ledger/jmt": ratios(&medians, StoreKind::Jmt),
            },
            "targets": targets,
            "runs": runs,
        });
        std::fs::write(path, serde_json::to_string_pretty(&report).expect("JSON")).expect("the JSON file is writable");
        println!("\nwrote {}", path.display());
    }
}

fn spawn_child(store: StoreKind, workload: Workload, quick: bool) -> BTreeMap<String, f64> {
    let mut command = Command::new(std::env::current_exe().expect("the bench binary's path"));
    command.args(["--child", store.name(), workload.name()]);
    if quick {
        command.arg("--quick");
    }
    let output = command.stderr(Stdio::inherit()).output().expect("the child starts");
    assert!(output.status.success(), "{} {} failed: {}", workload.name(), store.name(), output.status);
    serde_json::from_slice(&output.stdout).expect("the child prints its metrics as JSON")
}

fn medians(runs: &[Run]) -> Figures {
    let mut samples: BTreeMap<&'static str, BTreeMap<&'static str, BTreeMap<String, Vec<f64>>>> = BTreeMap::new();
    for run in runs {
        let by_metric = samples.entry(run.workload).or_default().entry(run.store).or_default();
        for (metric, value) in &run.metrics {
            by_metric.entry(metric.clone()).or_default().push(*value);
        }
    }
    samples
        .into_iter()
        .map(|(workload, stores)| {
            let stores = stores
                .into_iter()
                .map(|(store, metrics)| (store, metrics.into_iter().map(|(metric, values)| (metric, median(values))).collect()))
                .collect();
            (workload, stores)
        })
        .collect()
}

fn figure(medians: &Figures, workload: Workload, store: StoreKind, metric: &str) -> Option<f64> {
    medians.get(workload.name())?.get(store.name())?.get(metric).copied()
}

/// The ledger's figure over a peer's.
fn ratio(medians: &Figures, workload: Workload, metric: &str, peer: StoreKind) -> Option<f64> {
    Some(figure(medians, workload, StoreKind::Ledger, metric)? / figure(medians, workload, peer, metric)?)
}

fn ratios(medians: &Figures, peer: StoreKind) -> BTreeMap<String, f64> {
    ROWS.iter()
        .filter_map(|row| Some((format!("{}.{}", row.workload.name(), row.metric), ratio(medians, row.workload, row.metric, peer)?)))
        .collect()
}

/// Three significant-ish digits: enough to compare, few enough to read.
fn format_value(value: Option<f64>) -> String {
    match value {
        None => "-".into(),
        Some(value) if value.abs() >= 100.0 => format!("{value:.0}"),
        Some(value) if value.abs() >= 10.0 => format!("{value:.1}"),
        Some(value) => format!("{value:.2}"),
    }
}

fn print_table(medians: &Figures, sizes: &Sizes) {
    println!("\nLedger vs raw RocksDB vs jmt (median of {} run(s) each)", sizes.repetitions);
    for line in SETUP {
        println!("  {line}");
    }
    for workload in Workload::ALL {
        println!("\n{}", workload.describe(sizes));
        println!("  {:<30} {:>10} {:>10} {:>10} {:>11} {:>11}", "", "raw", "jmt", "ledger", "ledger/raw", "ledger/jmt");
        for row in ROWS.iter().filter(|row| row.workload == workload) {
            let [raw, jmt, ledger] = StoreKind::ALL.map(|store| format_value(figure(medians, workload, store, row.metric)));
            let [over_raw, over_jmt] = [StoreKind::Raw, StoreKind::Jmt].map(|peer| {
                ratio(medians, workload, row.metric, peer).map_or("-".into(), |ratio| format!("{ratio:.2}x"))
            });
            println!("  {:<30} {raw:>10} {jmt:>10} {ledger:>10} {over_raw:>11} {over_jmt:>11}", row.label);
        }
    }
}

#[derive(Serialize)]
struct Verdict {
    what: &'static str,
    value: Option<f64>,
    limit: f64,
    pass: bool,
}

fn evaluate_targets(medians: &Figures) -> Vec<Verdict> {
    TARGETS
        .iter()
        .map(|target| {
            let value = match target.relative_to {
                Some(peer) => ratio(medians, target.workload, target.metric, peer),
                None => figure(medians, target.workload, StoreKind::Ledger, target.metric),
            };
            let pass = value.is_some_and(|value| target.bound.holds(value));
            Verdict { what: target.what, value, limit: target.bound.limit(), pass }
        })
        .collect()
}

fn print_targets(verdicts: &[Verdict], sizes: &Sizes) {
    println!("\nLedger targets (judged at {} W1 keys)", sizes.w1_keys);
    for verdict in verdicts {
        let outcome = if verdict.pass { "pass" } else { "MISS" };
        println!("  {:<36} {:>10}  {outcome}", verdict.what, format_value(verdict.value));
    }
}

// ---------------------------------------------------------------------------------------------
// Entry point.

const USAGE: &str = "usage: compare [--quick] [--json FILE]";

fn main() {
    let args = common::parse_args(USAGE);
    match args.child {
        Some([store, workload]) => {
            let store = StoreKind::parse(&store).unwrap_or_else(|| common::fail(USAGE, "--child needs raw, jmt or ledger"));
            let workload = Workload::parse(&workload).unwrap_or_else(|| common::fail(USAGE, "--child needs w1 or w2"));
            let metrics = run_child(store, workload, &Sizes::new(args.quick));
            println!("{}", serde_json::to_string(&metrics).expect("metrics serialise"));
        }
        None => run_parent(args.quick, args.json.as_deref()),
    }
}
