//! `orchestra node`: opens the ledger on the data directory, seeding it from the genesis
//! snapshot built into the binary when there is none, checks it (opening rebuilds the trees
//! and compares the root with the head checkpoint) and reports its head.

use std::path::Path;

use ledger::{Error, Ledger, Options};
use serde_json::json;

use crate::cli::{print_json, CliError};

/// The genesis ledger of `snapshots/`, as built by `orchestra genesis build`.
pub const GENESIS: &[u8] = include_bytes!("../../snapshots/genesis.snap");

/// Opens the ledger at `data`, seeding it from the genesis snapshot when there is none; says
/// whether it seeded.
pub fn open_or_seed(data: &Path, options: Options) -> Result<(Ledger, bool), CliError> {
    Ok(match Ledger::open(data, options) {
        Err(Error::NotInitialised(_)) => (Ledger::import(data, GENESIS, None, options, &mut |_| {})?, true),
        opened => (opened?, false),
    })
}

pub fn run(data: &Path) -> Result<(), CliError> {
    let (ledger, seeded) = open_or_seed(data, Options::default())?;
    let head = ledger.head();
    let finality = ledger.finality()?;
    print_json(&json!({
        "data": data.display().to_string(),
        "seeded_from_genesis": seeded,
        "version": head.version,
        "root": head.state_root,
        "checkpoint": head.hash(),
        "final": finality.latest_final.map(|checkpoint| checkpoint.version),
        "subnets": ledger.state().namespaces().count(),
        "entries": ledger.state().entry_count(),
    }))
}
