//! `orchestra node`: opens the ledger on the data directory, creating it when absent, checks
//! it (opening rebuilds the trees and compares the root with the head checkpoint) and reports
//! its head.

use std::path::Path;

use ledger::{Error, Ledger, Options};
use serde_json::json;

use crate::cli::CliError;

pub fn run(data: &Path) -> Result<(), CliError> {
    let ledger = match Ledger::open(data, Options::default()) {
        Err(Error::NotInitialised(_)) => Ledger::create(data, Options::default())?,
        opened => opened?,
    };
    let head = ledger.head();
    let namespaces = ledger.state().namespaces().count();
    let report = json!({
        "data": data.display().to_string(),
        "version": head.version,
        "root": head.state_root,
        "checkpoint": head.hash(),
        "namespaces": namespaces,
        "entries": ledger.state().entry_count(),
    });
    println!("{}", serde_json::to_string_pretty(&report).expect("JSON values print"));
    Ok(())
}
