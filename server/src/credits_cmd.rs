//! `orchestra credits ...`: the operator issues API keys with prepaid credits and tops them up.
//! The node must be stopped: RocksDB lets one process at a time hold the data directory.

use std::path::Path;

use clap::Subcommand;
use ledger::{Ledger, Options};
use serde_json::json;

use crate::cli::{print_json, CliError};

#[derive(Subcommand)]
pub enum CreditsCommand {
    /// Make a new API key holding RAO credits; the key is printed once and stored hashed.
    Issue {
        #[arg(long)]
        rao: u64,
    },
    /// Add RAO credits to a key.
    Add {
        api_key: String,
        #[arg(long)]
        rao: u64,
    },
    /// Print a key's balance, and its daily cap with what it spent today.
    Balance { api_key: String },
    /// Cap what a key may spend in one UTC day (`--rao`), or lift the cap (`--none`).
    Cap {
        api_key: String,
        #[arg(long, conflicts_with = "none", required_unless_present = "none")]
        rao: Option<u64>,
        #[arg(long)]
        none: bool,
    },
}

impl CreditsCommand {
    pub fn run(self, data: &Path) -> Result<(), CliError> {
        let ledger = Ledger::open(data, Options::default())?;
        match self {
            CreditsCommand::Issue { rao } => print_json(&json!({ "api_key": ledger.issue_api_key(rao)?, "balance_rao": rao })),
            CreditsCommand::Add { api_key, rao } => print_json(&json!({ "balance_rao": ledger.add_credit(&api_key, rao)? })),
            CreditsCommand::Balance { api_key } => {
                let daily = ledger.daily_spend(&api_key)?;
                print_json(&json!({ "balance_rao": ledger.balance(&api_key)?, "daily_cap_rao": daily.cap, "spent_today_rao": daily.spent_today }))
            }
            CreditsCommand::Cap { api_key, rao, .. } => {
                ledger.set_daily_cap(&api_key, rao)?;
                let daily = ledger.daily_spend(&api_key)?;
                print_json(&json!({ "daily_cap_rao": daily.cap, "spent_today_rao": daily.spent_today }))
            }
        }
    }
}
