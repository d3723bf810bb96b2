//! Ledger snapshots against RocksDB's own copies of the same data directory: how fast a ledger
//! leaves a machine and arrives on another, and what arriving costs in memory.
//!
//! ```text
//! cargo bench --workspace --bench snapshot -- [--quick] [--json FILE]
//! ```
//!
//! # Data
//!
//! One ledger per size, 100k and 1M entries (`--quick`: 20k and 100k): random keys over 256
//! subnet namespaces (16-character paths) with 100-byte random values, committed 10k changes a
//! version with `Durability::Buffered`, then flushed, so that every operation starts from the
//! same SST files and no write-ahead log is left to replay.
//!
//! # Operations
//!
//! - **ledger export**: `Ledger::export` of the head to a file, then fsync: a portable file whose
//!   chunks chain to a header that holds the checkpoint.
//! - **ledger import**: `Ledger::import` of that file into an empty directory. It checks the
//!   chain and recomputes the state root before marking the directory a ledger; `Ledger::open`
//!   then rebuilds the trees and checks the root again. The time to a usable, verified ledger;
//!   its peak memory says what machine can restore one.
//! - **snapshot inspect**: `snapshot::inspect`, the same verification without a database.
//! - **rocksdb checkpoint**: `Checkpoint::create_checkpoint` of the data directory. Hard links on
//!   one filesystem: the cheapest copy there is, but not a file one can ship or check.
//! - **rocksdb backup create / restore**: `BackupEngine::create_new_backup`, then
//!   `restore_from_latest_backup` into an empty directory, with the engine's default options
//!   (files fsynced, checksums of the copied files). RocksDB's portable copy: the peer, with no
//!   commitment to check the data against. The ledger's export and import are divided by it.
//!
//! # Method
//!
//! Every (size, operation, repetition) runs in a child process, the bench binary re-executed as
//! `--child OP DIR`, so that its peak resident memory (`VmHWM`) is the operation's own; it prints
//! seconds, bytes moved and `VmHWM` as one JSON line. Only the operation is timed: opening the
//! source ledger or database and sizing files are not. An operation whose first run takes under
//! 10 s runs 3 times and the median counts; a slower one runs once. Files are read warm from the
//! page cache: they were just written. The parent prints the table, the ratios and the target
//! and writes all of it to `--json FILE`.

mod common;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use ledger::{snapshot, Change, ChangeSet, Durability, Ledger};
use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use rocksdb::backup::{BackupEngine, BackupEngineOptions, RestoreOptions};
use rocksdb::checkpoint::Checkpoint;
use rocksdb::{Env, Options as DbOptions, DB};
use serde::{Deserialize, Serialize};
use serde_json::json;

use common::{dir_bytes, median, peak_rss_mib, random_key};

const SEED: u64 = 0x5a4b_5e07;
const NAMESPACES: u16 = 256;
const PATH_LEN: usize = 16;
const VALUE_LEN: usize = 100;
const CHANGES_PER_COMMIT: usize = 10_000;
/// An operation faster than this on its first run is repeated.
const REPEAT_UNDER_S: f64 = 10.0;
const REPETITIONS: usize = 3;
const TARGET_ENTRIES: usize = 1_000_000;
const TARGET_IMPORT_S: f64 = 10.0;
const MB: f64 = 1e6;

fn entry_counts(quick: bool) -> [usize; 2] {
    if quick {
        [20_000, 100_000]
    } else {
        [100_000, 1_000_000]
    }
}

fn ledger_options() -> ledger::Options {
    ledger::Options { durability: Durability::Buffered, retention: None }
}

// ---------------------------------------------------------------------------------------------
// Operations, each run in a child process.

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Export,
    Import,
    Inspect,
    Checkpoint,
    BackupCreate,
    BackupRestore,
}

impl Op {
    /// In the order they run: each after the one whose output it reads.
    const ALL: [Op; 6] = [Op::Export, Op::Import, Op::Inspect, Op::Checkpoint, Op::BackupCreate, Op::BackupRestore];

    fn name(self) -> &'static str {
        match self {
            Op::Export => "export",
            Op::Import => "import",
            Op::Inspect => "inspect",
            Op::Checkpoint => "checkpoint",
            Op::BackupCreate => "backup_create",
            Op::BackupRestore => "backup_restore",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Op::Export => "ledger export",
            Op::Import => "ledger import + open",
            Op::Inspect => "snapshot inspect",
            Op::Checkpoint => "rocksdb checkpoint",
            Op::BackupCreate => "rocksdb backup create",
            Op::BackupRestore => "rocksdb backup restore",
        }
    }

    /// What the bytes moved are.
    fn moves(self) -> &'static str {
        match self {
            Op::Export => "snapshot written",
            Op::Import | Op::Inspect => "snapshot read",
            Op::Checkpoint => "data dir linked (hard links: not a portable file)",
            Op::BackupCreate => "backup dir written",
            Op::BackupRestore => "data dir restored",
        }
    }

    fn parse(name: &str) -> Option<Op> {
        Op::ALL.into_iter().find(|op| op.name() == name)
    }
}

/// Where one size's files lie, under its working directory.
struct Layout {
    ledger: PathBuf,
    snapshot: PathBuf,
    backup: PathBuf,
    /// An operation's output that nothing reads after it; emptied after every child.
    scratch: PathBuf,
}

impl Layout {
    fn new(work: &Path) -> Layout {
        Layout {
            ledger: work.join("ledger"),
            snapshot: work.join("head.orchsnap"),
            backup: work.join("backup"),
            scratch: work.join("scratch"),
        }
    }
}

/// What a child measures.
#[derive(Clone, Copy, Serialize, Deserialize)]
struct Sample {
    seconds: f64,
    bytes: f64,
    peak_rss_mib: f64,
}

fn run_child(op: Op, layout: &Layout) -> Sample {
    remove_if_present(&layout.scratch);
    let (seconds, bytes) = match op {
        Op::Export => export(layout),
        Op::Import => import(layout),
        Op::Inspect => inspect(layout),
        Op::Checkpoint => checkpoint(layout),
        Op::BackupCreate => backup_create(layout),
        Op::BackupRestore => backup_restore(layout),
    };
    let sample = Sample { seconds, bytes: bytes as f64, peak_rss_mib: peak_rss_mib() };
    remove_if_present(&layout.scratch);
    sample
}

/// Seconds spent in `op`, and what it returns.
fn timed<T>(op: impl FnOnce() -> T) -> (f64, T) {
    let start = Instant::now();
    let result = op();
    (start.elapsed().as_secs_f64(), result)
}

fn export(layout: &Layout) -> (f64, u64) {
    let ledger = Ledger::open(&layout.ledger, ledger_options()).expect("the built ledger opens");
    let file = File::create(&layout.snapshot).expect("the snapshot file is writable");
    let (seconds, summary) = timed(|| {
        let summary = ledger.export(ledger.head().version, &file, &mut |_| ()).expect("the head exports");
        file.sync_all().expect("the snapshot is fsynced");
        summary
    });
    (seconds, summary.bytes)
}

fn import(layout: &Layout) -> (f64, u64) {
    let input = open_snapshot(layout);
    let (seconds, imported) = timed(|| Ledger::import(&layout.scratch, input, None, ledger_options(), &mut |_| ()).expect("the snapshot imports"));
    drop(imported);
    (seconds, file_bytes(&layout.snapshot))
}

fn inspect(layout: &Layout) -> (f64, u64) {
    let input = open_snapshot(layout);
    let (seconds, summary) = timed(|| snapshot::inspect(input, None).expect("the snapshot verifies"));
    (seconds, summary.bytes)
}

fn checkpoint(layout: &Layout) -> (f64, u64) {
    let (db, _) = open_raw(&layout.ledger);
    let (seconds, ()) = timed(|| Checkpoint::new(&db).and_then(|checkpoint| checkpoint.create_checkpoint(&layout.scratch)).expect("RocksDB checkpoints"));
    (seconds, dir_bytes(&layout.scratch))
}

fn backup_create(layout: &Layout) -> (f64, u64) {
    let (db, _) = open_raw(&layout.ledger);
    remove_if_present(&layout.backup);
    let mut engine = backup_engine(&layout.backup);
    let (seconds, ()) = timed(|| engine.create_new_backup(&db).expect("RocksDB backs up"));
    (seconds, dir_bytes(&layout.backup))
}

fn backup_restore(layout: &Layout) -> (f64, u64) {
    let mut engine = backup_engine(&layout.backup);
    let (seconds, ()) = timed(|| {
        engine.restore_from_latest_backup(&layout.scratch, &layout.scratch, &RestoreOptions::default()).expect("RocksDB restores")
    });
    (seconds, dir_bytes(&layout.scratch))
}

fn open_snapshot(layout: &Layout) -> BufReader<File> {
    BufReader::new(File::open(&layout.snapshot).expect("the exported snapshot is readable"))
}

/// The ledger's data directory opened with raw RocksDB, every column family with it.
fn open_raw(dir: &Path) -> (DB, Vec<String>) {
    let families = DB::list_cf(&DbOptions::default(), dir).expect("the ledger's directory lists its column families");
    let db = DB::open_cf(&DbOptions::default(), dir, &families).expect("the ledger's directory opens as RocksDB");
    (db, families)
}

fn backup_engine(dir: &Path) -> BackupEngine {
    let options = BackupEngineOptions::new(dir).expect("backup options");
    BackupEngine::open(&options, &Env::new().expect("RocksDB's default env")).expect("the backup engine opens")
}

fn remove_if_present(path: &Path) {
    if path.exists() {
        std::fs::remove_dir_all(path).expect("the previous output is removable");
    }
}

fn file_bytes(path: &Path) -> u64 {
    std::fs::metadata(path).expect("the file exists").len()
}



// ---------------------------------------------------------------------------------------------
// The parent: builds each ledger, runs the children, reports.

/// Builds a ledger of `entries` random entries, closes it and flushes its memtables. Returns
/// the seconds spent.
fn build_ledger(dir: &Path, entries: usize) -> f64 {
    let mut rng = StdRng::seed_from_u64(SEED);
    let (seconds, ()) = timed(|| {
        let mut ledger = Ledger::create(dir, ledger_options()).expect("the ledger creates");
        let mut remaining = entries;
        while remaining > 0 {
            let count = remaining.min(CHANGES_PER_COMMIT);
            let changes: Vec<Change> = (0..count).map(|_| Change { key: random_key(&mut rng, NAMESPACES, PATH_LEN), value: Some(random_value(&mut rng)) }).collect();
            ledger.commit(ChangeSet::new(changes)).expect("the ledger commits");
            remaining -= count;
        }
        // 62^16 possible paths per namespace: random keys do not collide.
        assert_eq!(ledger.state().entry_count(), entries, "every key is new");
    });
    let (db, families) = open_raw(dir);
    for family in &families {
        db.flush_cf(db.cf_handle(family).expect("the ledger's families")).expect("RocksDB flushes");
    }
    seconds
}


fn random_value(rng: &mut StdRng) -> Vec<u8> {
    let mut value = vec![0; VALUE_LEN];
    rng.fill_bytes(&mut value);
    value
}

fn spawn_child(op: Op, work: &Path) -> Sample {
    let output = Command::new(std::env::current_exe().expect("the bench binary's path"))
        .args(["--child", op.name()])
        .arg(work)
        .stderr(Stdio::inherit())
        .output()
        .expect("the child starts");
    assert!(output.status.success(), "{} failed: {}", op.name(), output.status);
    serde_json::from_slice(&output.stdout).expect("the child prints its sample as JSON")
}

/// Runs `op` once, and twice more if that took under [`REPEAT_UNDER_S`].
fn measure(op: Op, work: &Path, entries: usize) -> Vec<Sample> {
    eprintln!("{entries} entries: {}", op.label());
    let first = spawn_child(op, work);
    let repetitions = if first.seconds < REPEAT_UNDER_S { REPETITIONS } else { 1 };
    std::iter::once(first).chain((1..repetitions).map(|_| spawn_child(op, work))).collect()
}


/// An operation's medians at one size.
#[derive(Serialize)]
struct Figures {
    seconds: f64,
    entries_per_s: f64,
    mb_per_s: f64,
    mb: f64,
    peak_rss_mib: f64,
    moves: &'static str,
    samples: Vec<Sample>,
}

impl Figures {
    fn new(op: Op, entries: usize, samples: Vec<Sample>) -> Figures {
        let of = |field: fn(&Sample) -> f64| median(samples.iter().map(field).collect());
        let (seconds, bytes) = (of(|sample| sample.seconds), of(|sample| sample.bytes));
        Figures {
            seconds,
            entries_per_s: entries as f64 / seconds,
            mb_per_s: bytes / MB / seconds,
            mb: bytes / MB,
            peak_rss_mib: of(|sample| sample.peak_rss_mib),
            moves: op.moves(),
            samples,
        }
    }
}

/// One size: the ledger built and every operation on it.
#[derive(Serialize)]
struct SizeReport {
    entries: usize,
    build_seconds: f64,
    data_dir_mb: f64,
    operations: BTreeMap<&'static str, Figures>,
    /// Ledger seconds over backup-engine seconds.
    import_over_backup_restore: f64,
    export_over_backup_create: f64,
}

impl SizeReport {
    fn run(entries: usize) -> SizeReport {
        let work = tempfile::tempdir().expect("a temporary directory");
        let layout = Layout::new(work.path());
        eprintln!("{entries} entries: building");
        let build_seconds = build_ledger(&layout.ledger, entries);
        let data_dir_mb = dir_bytes(&layout.ledger) as f64 / MB;
        let operations: BTreeMap<_, _> = Op::ALL.into_iter().map(|op| (op.name(), Figures::new(op, entries, measure(op, work.path(), entries)))).collect();
        let seconds = |op: Op| operations[op.name()].seconds;
        SizeReport {
            entries,
            build_seconds,
            data_dir_mb,
            import_over_backup_restore: seconds(Op::Import) / seconds(Op::BackupRestore),
            export_over_backup_create: seconds(Op::Export) / seconds(Op::BackupCreate),
            operations,
        }
    }

    fn figures(&self, op: Op) -> &Figures {
        &self.operations[op.name()]
    }

    fn print(&self) {
        println!(
            "\n{} entries: data dir {:.1} MB, built in {:.1} s; median of the runs shown",
            self.entries, self.data_dir_mb, self.build_seconds
        );
        println!("  {:<24} {:>8} {:>11} {:>8} {:>8} {:>9} {:>5}  bytes moved", "operation", "s", "entries/s", "MB/s", "MB", "peak MiB", "runs");
        for op in Op::ALL {
            let figures = self.figures(op);
            println!(
                "  {:<24} {:>8} {:>11.0} {:>8.1} {:>8.1} {:>9.0} {:>5}  {}",
                op.label(),
                format_seconds(figures.seconds),
                figures.entries_per_s,
                figures.mb_per_s,
                figures.mb,
                figures.peak_rss_mib,
                figures.samples.len(),
                figures.moves
            );
        }
        println!(
            "  ratios (time): import / backup restore {:.2}x, export / backup create {:.2}x",
            self.import_over_backup_restore, self.export_over_backup_create
        );
    }
}

fn format_seconds(seconds: f64) -> String {
    if seconds >= 1.0 {
        format!("{seconds:.2}")
    } else {
        format!("{seconds:.4}")
    }
}

#[derive(Serialize)]
struct Verdict {
    what: String,
    seconds: Option<f64>,
    limit_seconds: f64,
    pass: bool,
    peak_rss_mib: Option<f64>,
}

fn judge(reports: &[SizeReport]) -> Verdict {
    let import = reports.iter().find(|report| report.entries == TARGET_ENTRIES).map(|report| report.figures(Op::Import));
    let seconds = import.map(|figures| figures.seconds);
    Verdict {
        what: format!("import of {TARGET_ENTRIES} entries, root verified, under {TARGET_IMPORT_S} s"),
        seconds,
        limit_seconds: TARGET_IMPORT_S,
        pass: seconds.is_some_and(|seconds| seconds < TARGET_IMPORT_S),
        peak_rss_mib: import.map(|figures| figures.peak_rss_mib),
    }
}

fn print_verdict(verdict: &Verdict) {
    let outcome = match (verdict.seconds, verdict.pass) {
        (None, _) => "not judged: --quick stops short of it".to_owned(),
        (Some(seconds), pass) => format!("{:.2} s  {}", seconds, if pass { "pass" } else { "MISS" }),
    };
    println!("\nTarget: {}: {outcome}", verdict.what);
    if let Some(peak) = verdict.peak_rss_mib {
        println!("  peak memory of the importing process (VmHWM): {peak:.0} MiB");
    }
}

const SETUP: &[&str] = &[
    "random keys over 256 subnet namespaces (16-character paths), 100-byte values, 10k changes a commit, Durability::Buffered",
    "each operation in its own child process; only the operation is timed; files warm in the page cache",
    "ledger export includes fsync of the file; backup engine with default options (fsync, file checksums)",
    "ledger import includes Ledger::open: root recomputed from the stream, then the trees rebuilt and checked",
    "peak MiB = VmHWM of the operation's child; export's includes the source ledger's open trees",
];

fn run_parent(quick: bool, json_path: Option<&Path>) {
    let reports: Vec<SizeReport> = entry_counts(quick).into_iter().map(SizeReport::run).collect();
    println!("\nLedger snapshots vs RocksDB checkpoint and backup engine");
    for line in SETUP {
        println!("  {line}");
    }
    reports.iter().for_each(SizeReport::print);
    let verdict = judge(&reports);
    print_verdict(&verdict);
    if let Some(path) = json_path {
        let report = json!({ "quick": quick, "setup": SETUP, "sizes": reports, "target": verdict });
        std::fs::write(path, serde_json::to_string_pretty(&report).expect("JSON")).expect("the JSON file is writable");
        println!("\nwrote {}", path.display());
    }
}

// ---------------------------------------------------------------------------------------------
// Entry point.

const USAGE: &str = "usage: snapshot [--quick] [--json FILE]";

fn main() {
    let args = common::parse_args(USAGE);
    match args.child {
        Some([op, work]) => {
            let op = Op::parse(&op).unwrap_or_else(|| common::fail(USAGE, "--child needs an operation"));
            let sample = run_child(op, &Layout::new(Path::new(&work)));
            println!("{}", serde_json::to_string(&sample).expect("the sample serialises"));
        }
        None => run_parent(args.quick, args.json.as_deref()),
    }
}
