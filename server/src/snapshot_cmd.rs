//! `orchestra snapshot ...`, `orchestra attest` and `orchestra genesis build|check`: moving a
//! trusted ledger between machines, vouching for its checkpoints, and building the genesis.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use ledger::snapshot::{self, Progress};
use ledger::{genesis, Attestation, Ledger, Options, ValidatorSet};
use serde_json::json;

use crate::cli::{print_json, CliError};
use crate::identity::{self, HOTKEY_SEED_VAR};

#[derive(Subcommand)]
pub enum SnapshotCommand {
    /// Write a kept version (the head by default) of the ledger to a snapshot file.
    Export {
        file: PathBuf,
        #[arg(long)]
        version: Option<u64>,
    },
    /// Make the ledger in the (new or empty) data directory from a snapshot file.
    Import {
        file: PathBuf,
        #[command(flatten)]
        trust: TrustArgs,
    },
    /// Check a snapshot file through (chunk chain, order, root, attestations) and describe it.
    Inspect {
        file: PathBuf,
        #[command(flatten)]
        trust: TrustArgs,
    },
}

#[derive(Args)]
pub struct TrustArgs {
    /// JSON file of trusted validators, `{"<SS58 hotkey>": stake, ...}`: refuse the snapshot
    /// unless validators holding two thirds of that stake attested it.
    #[arg(long)]
    trusted_validators: Option<PathBuf>,
}

impl TrustArgs {
    fn load(&self) -> Result<Option<ValidatorSet>, CliError> {
        let Some(path) = &self.trusted_validators else { return Ok(None) };
        let text = std::fs::read_to_string(path).map_err(|source| CliError::Read { path: path.display().to_string(), source })?;
        let stakes: BTreeMap<String, u64> =
            serde_json::from_str(&text).map_err(|source| CliError::Json { what: format!("trusted validators file {}", path.display()), source })?;
        for hotkey in stakes.keys() {
            ledger::hotkey::ss58_decode(hotkey).map_err(|error| CliError::Usage(format!("{}: {error}", path.display())))?;
        }
        Ok(Some(ValidatorSet { admin: None, stakes }))
    }
}

impl SnapshotCommand {
    pub fn run(self, data: &Path) -> Result<(), CliError> {
        let summary = match self {
            SnapshotCommand::Export { file, version } => {
                let ledger = Ledger::open(data, Options::default())?;
                let version = version.unwrap_or(ledger.head().version);
                let out = File::create(&file).map_err(|source| CliError::Read { path: file.display().to_string(), source })?;
                let bar = progress_bar("exporting");
                let summary = ledger.export(version, out, &mut |progress| show(&bar, progress));
                bar.finish_and_clear();
                if summary.is_err() {
                    let _ = std::fs::remove_file(&file);
                }
                summary?
            }
            SnapshotCommand::Import { file, trust } => {
                let trusted = trust.load()?;
                let bar = progress_bar("importing");
                let imported = Ledger::import(data, open(&file)?, trusted.as_ref(), Options::default(), &mut |progress| show(&bar, progress));
                bar.finish_and_clear();
                let ledger = imported?;
                let finality = ledger.finality()?;
                return print_json(&json!({
                    "version": ledger.head().version,
                    "root": ledger.head().state_root,
                    "checkpoint": ledger.head().hash(),
                    "final": finality.latest_final.map(|checkpoint| checkpoint.version),
                    "entries": ledger.state().entry_count(),
                }));
            }
            SnapshotCommand::Inspect { file, trust } => snapshot::inspect(open(&file)?, trust.load()?.as_ref())?,
        };
        print_json(&summary)
    }
}

fn open(file: &Path) -> Result<std::io::BufReader<File>, CliError> {
    let opened = File::open(file).map_err(|source| CliError::Read { path: file.display().to_string(), source })?;
    Ok(std::io::BufReader::with_capacity(1 << 20, opened))
}

/// A bar on stderr that draws only on a terminal.
fn progress_bar(action: &'static str) -> ProgressBar {
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} entries, {binary_bytes} ({per_sec})")
            .expect("the template is valid")
            .progress_chars("=> "),
    );
    bar.set_message(action);
    bar
}

fn show(bar: &ProgressBar, progress: Progress) {
    bar.set_length(progress.total);
    bar.set_position(progress.entries);
}

/// `orchestra attest`: sign a checkpoint of the local ledger with a validator's hotkey.
#[derive(Args)]
pub struct AttestArgs {
    /// Version to attest; the head by default.
    #[arg(long)]
    version: Option<u64>,
    /// File holding the hotkey's 32-byte seed as hex. Without it, the seed is read from
    /// the ORCHESTRA_HOTKEY_SEED environment variable; it is never taken on the command line.
    #[arg(long)]
    key_file: Option<PathBuf>,
}

impl AttestArgs {
    pub fn run(self, data: &Path) -> Result<(), CliError> {
        let hotkey = identity::HotkeyArgs { hotkey_file: self.key_file.clone(), ..Default::default() }.configured()?
            .ok_or_else(|| CliError::Usage(format!("give the hotkey with --key-file FILE or the {HOTKEY_SEED_VAR} environment variable")))?;
        let mut ledger = Ledger::open(data, Options::default())?;
        let checkpoint = ledger.checkpoint(self.version.unwrap_or(ledger.head().version))?;
        let attestation = Attestation::sign(&checkpoint, &hotkey);
        let attested = ledger.attest(&attestation)?;
        print_json(&json!({
            "version": checkpoint.version,
            "checkpoint": checkpoint.hash(),
            "validator": attestation.validator,
            "recorded": attested.recorded,
            "final": attested.is_final,
        }))
    }
}

/// `orchestra genesis build`: turn the subnet source files into the genesis snapshot.
#[derive(Args)]
pub struct GenesisArgs {
    /// The sources: `subnets/` and `capabilities/` (see `snapshots/README.md`).
    #[arg(long, default_value = "snapshots")]
    sources: PathBuf,
    #[arg(long, default_value = "snapshots/genesis.snap")]
    out: PathBuf,
}

impl GenesisArgs {
    pub fn run(self) -> Result<(), CliError> {
        let changes = genesis::read_sources(&self.sources)?;
        let mut bytes = Vec::new();
        let summary = genesis::write_snapshot(&changes, &mut bytes)?;
        std::fs::write(&self.out, bytes).map_err(|source| CliError::Read { path: self.out.display().to_string(), source })?;
        print_json(&summary)
    }
}

#[derive(Args)]
pub struct GenesisCheckArgs {
    /// The sources: `subnets/` and `capabilities/`.
    #[arg(long, default_value = "snapshots")]
    sources: PathBuf,
    /// The documented exchanges (see `snapshots/README.md`).
    #[arg(long, default_value = "snapshots/documented")]
    documented: PathBuf,
}

impl GenesisCheckArgs {
    /// Replays every routable endpoint against its documented exchange and prints the report;
    /// fails when any check fails or an endpoint and its exchange are not paired.
    pub fn run(self) -> Result<(), CliError> {
        let report = crate::serve::runtime()?.block_on(crate::documented::check(&self.sources, &self.documented))?;
        print_json(&report)?;
        match report.ok() {
            true => Ok(()),
            false => Err(CliError::Usage(format!("{} documented exchanges failed; {} endpoints or exchanges unpaired", report.failed, report.unpaired.len()))),
        }
    }
}
