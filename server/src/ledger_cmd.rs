//! `orchestra ledger ...`: the ledger by hand. Every command prints JSON on stdout.

use std::io::Read;
use std::path::Path;

use clap::{Args, Subcommand};
use ledger::record::Record;
use ledger::{Change, ChangeSet, Hash, Key, Ledger, Namespace, Options, Proven};
use serde_json::{json, Value};

use crate::cli::{print_json, CliError};
use crate::present;

#[derive(Subcommand)]
pub enum LedgerCommand {
    /// Create an empty ledger (version 0) in the data directory.
    Init,
    /// Print the head checkpoint (version, root, oldest kept version) and the latest final one.
    Head,
    /// Set a key to a record given as JSON; commits a new version.
    Put {
        #[command(flatten)]
        key: KeyArgs,
        /// The record as JSON; `-` reads it from stdin, `@FILE` from a file.
        record: String,
    },
    /// Print a key's record at the head or at a version.
    Get {
        #[command(flatten)]
        key: KeyArgs,
        #[arg(long)]
        at: Option<u64>,
    },
    /// Delete a key; commits a new version.
    Delete {
        #[command(flatten)]
        key: KeyArgs,
    },
    /// Print a key's value (or absence) with a proof against the state root.
    Prove {
        #[command(flatten)]
        key: KeyArgs,
        #[arg(long)]
        at: Option<u64>,
    },
    /// Check a proof printed by `prove` against a root you trust; exits non-zero if it fails.
    Verify {
        /// The trusted state root, 64 hex digits.
        #[arg(long)]
        root: String,
        /// File holding the proof; stdin when absent or `-`.
        proof: Option<String>,
    },
    /// Print every kept version of a key.
    History {
        #[command(flatten)]
        key: KeyArgs,
    },
    /// Print the changes that turn version FROM into version TO.
    Diff { from: u64, to: u64 },
    /// Bring in what the chain states: new or changed subnet identities and, with --netuid,
    /// the validator set from the metagraph.
    SyncChain(crate::sync_cmd::SyncChainArgs),
    /// Give endpoint records written before invocation specs existed the built-in genesis'
    /// spec for the same endpoint; commits one new version.
    Upgrade,
}

#[derive(Args)]
pub struct KeyArgs {
    /// Namespace: a netuid (`22` or `sn22`), `validators`, `pricing` or `proposers`.
    namespace: String,
    /// Path inside the namespace, e.g. `identity` or `endpoint/search`.
    path: String,
}

impl KeyArgs {
    fn key(&self) -> Result<Key, CliError> {
        let namespace: Namespace = self.namespace.parse()?;
        Ok(Key::new(namespace, self.path.clone())?)
    }
}

impl LedgerCommand {
    pub fn run(self, data: &Path) -> Result<(), CliError> {
        let output = match self {
            LedgerCommand::Init => present::checkpoint(Ledger::create(data, Options::default())?.head()),
            LedgerCommand::Head => {
                present::head(&open(data)?)?
            }
            LedgerCommand::Put { key, record } => {
                let key = key.key()?;
                let json = parse_json(&read_argument(&record)?, "the record")?;
                let value = Record::from_json(&key, json)?.encode();
                commit(data, Change { key, value: Some(value) })?
            }
            LedgerCommand::Delete { key } => commit(data, Change { key: key.key()?, value: None })?,
            LedgerCommand::Get { key, at } => {
                let ledger = open(data)?;
                let key = key.key()?;
                let version = at.unwrap_or(ledger.head().version);
                let value = ledger.get_at(&key, version)?.ok_or_else(|| CliError::Absent { key: key.clone(), version })?;
                json!({ "key": key.to_string(), "version": version, "record": present::record(&key, &value) })
            }
            LedgerCommand::Prove { key, at } => {
                let ledger = open(data)?;
                let key = key.key()?;
                let proven = match at {
                    Some(version) => ledger.prove_at(&key, version)?,
                    None => ledger.prove(&key)?,
                };
                present::proven(&proven)
            }
            LedgerCommand::Verify { root, proof } => {
                let trusted = Hash::from_hex(&root).map_err(|error| CliError::Usage(error.to_string()))?;
                let text = read_argument(&format!("@{}", proof.as_deref().unwrap_or("-")))?;
                let proven: Proven =
                    serde_json::from_str(&text).map_err(|source| CliError::Json { what: "the proof".into(), source })?;
                ledger::verify(&trusted, &proven.key, proven.value.as_deref(), &proven.proof)?;
                let claim = if proven.value.is_some() { "holds the given value" } else { "is absent" };
                json!({ "ok": true, "key": proven.key.to_string(), "claim": claim, "root": trusted })
            }
            LedgerCommand::History { key } => {
                let ledger = open(data)?;
                let key = key.key()?;
                let versions: Vec<Value> = ledger
                    .history(&key)?
                    .into_iter()
                    .map(|entry| json!({ "version": entry.version, "record": entry.value.map(|value| present::record(&key, &value)) }))
                    .collect();
                json!({ "key": key.to_string(), "history": versions })
            }
            LedgerCommand::SyncChain(args) => return args.run(data),
            LedgerCommand::Upgrade => crate::upgrade::run(&mut open(data)?)?,
            LedgerCommand::Diff { from, to } => {
                let ledger = open(data)?;
                let changes: Vec<Value> = ledger
                    .diff(from, to)?
                    .into_changes()
                    .into_iter()
                    .map(|change| json!({ "key": change.key.to_string(), "record": change.value.map(|value| present::record(&change.key, &value)) }))
                    .collect();
                json!({ "from": from, "to": to, "changes": changes })
            }
        };
        print_json(&output)
    }
}

fn open(data: &Path) -> Result<Ledger, CliError> {
    Ok(Ledger::open(data, Options::default())?)
}

fn commit(data: &Path, change: Change) -> Result<Value, CliError> {
    let mut ledger = open(data)?;
    Ok(present::checkpoint(&ledger.commit(ChangeSet::new([change]))?))
}

fn parse_json(text: &str, what: &str) -> Result<Value, CliError> {
    serde_json::from_str(text).map_err(|source| CliError::Json { what: what.to_owned(), source })
}

/// `-` is stdin, `@FILE` a file (`@-` stdin too), anything else the text itself.
fn read_argument(argument: &str) -> Result<String, CliError> {
    let source = match argument.strip_prefix('@') {
        Some(path) => path,
        None if argument == "-" => "-",
        None => return Ok(argument.to_owned()),
    };
    let text = if source == "-" {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text).map(|_| text)
    } else {
        std::fs::read_to_string(source)
    };
    text.map_err(|error| CliError::Read { path: if source == "-" { "stdin".into() } else { source.to_owned() }, source: error })
}
