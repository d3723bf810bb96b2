//! Command-line arguments and the errors every command reports.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::credits_cmd::CreditsCommand;
use crate::doctor::DoctorArgs;
use crate::incentive_cmd::{MinerArgs, ValidatorArgs};
use crate::mcp::McpArgs;
use crate::ledger_cmd::LedgerCommand;
use crate::orchestrate_cmd::ExecuteArgs;
use crate::replica::ReplicaArgs;
use crate::serve::ServeArgs;
use crate::simulate::SimulateArgs;
use crate::snapshot_cmd::{AttestArgs, GenesisArgs, GenesisCheckArgs, SnapshotCommand};

#[derive(Parser)]
#[command(name = "orchestra", version, about = "Orchestra: one objective in, one verified result out, over Bittensor subnets")]
pub struct Cli {
    /// Data directory of the ledger.
    #[arg(long, global = true, env = "ORCHESTRA_DATA", default_value = "orchestra-data")]
    pub data: PathBuf,
    /// TOML file of settings (see `config.rs`); the environment and flags override it.
    #[arg(long, global = true, env = "ORCHESTRA_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Start the ledger node on the data directory, creating the ledger when there is none,
    /// and print its head.
    Node,
    /// Serve the ledger's HTTP API (seeding the ledger from genesis when there is none).
    Serve(ServeArgs),
    /// Follow a primary over HTTP as a read replica, serving reads.
    Replica(ReplicaArgs),
    /// Read and write the Subnet Ledger by hand.
    #[command(subcommand)]
    Ledger(LedgerCommand),
    /// Export, import and inspect ledger snapshots.
    #[command(subcommand)]
    Snapshot(SnapshotCommand),
    /// Issue API keys with prepaid credits for paid reads, and top them up.
    #[command(subcommand)]
    Credits(CreditsCommand),
    /// Sign a checkpoint with a validator's hotkey and record the attestation.
    Attest(AttestArgs),
    /// Run one objective into a target schema across the subnets, printing the result with
    /// its plan, calls, receipts, cost and timings.
    Execute(ExecuteArgs),
    /// Serve as a miner of the Orchestra subnet: the node, answering validators' signed
    /// challenges.
    Miner(MinerArgs),
    /// Validate the Orchestra subnet: challenge miners, review the ledger, set weights once
    /// per tempo.
    Validator(ValidatorArgs),
    /// Run validator rounds against miners that cheat in each known way, on loopback subnets
    /// and a mock chain, printing each way's share of the weights round by round.
    Simulate(SimulateArgs),
    /// Build the genesis snapshot from the subnet source files.
    #[command(subcommand)]
    Genesis(GenesisCommand),
    /// Check the ledger, hotkey, subnet keys, endpoints, chain connection and settings that
    /// `serve` would run with, and say what to fix; exits non-zero when something fails.
    Doctor(DoctorArgs),
    /// Serve the Model Context Protocol over stdio for agents: orchestrate, list subnets, read
    /// a ledger record with its proof, through the node at --server.
    Mcp(McpArgs),
}

#[derive(Subcommand)]
pub enum GenesisCommand {
    /// Write `snapshots/genesis.snap` from `snapshots/subnets/` and `snapshots/capabilities/`.
    Build(GenesisArgs),
    /// Call every endpoint that has an invocation spec, through the engine, against a loopback
    /// server replaying its subnet's documented request and answer.
    Check(GenesisCheckArgs),
}

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Ledger(#[from] ledger::Error),
    #[error(transparent)]
    Record(#[from] ledger::record::RecordError),
    #[error(transparent)]
    Key(#[from] ledger::KeyError),
    #[error("{what} is not valid JSON: {source}")]
    Json { what: String, source: serde_json::Error },
    #[error("cannot read {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("{key} has no value at version {version}")]
    Absent { key: ledger::Key, version: u64 },
    #[error("the proof does not hold: {0}")]
    Verify(#[from] ledger::VerifyError),
    #[error(transparent)]
    Chain(#[from] subnet::chain::ChainError),
    #[error(transparent)]
    Validator(#[from] subnet::validator::ValidatorError),
    #[error(transparent)]
    Settlement(#[from] crate::api::paid::SettlementError),
    #[error("{0}")]
    Usage(String),
}

impl Cli {
    pub fn run(self) -> Result<(), CliError> {
        match self.command {
            Command::Node => crate::node::run(&self.data),
            Command::Serve(args) => args.run(&self.data),
            Command::Replica(args) => args.run(&self.data),
            Command::Ledger(command) => command.run(&self.data),
            Command::Snapshot(command) => command.run(&self.data),
            Command::Attest(args) => args.run(&self.data),
            Command::Credits(command) => command.run(&self.data),
            Command::Execute(args) => args.run(&self.data),
            Command::Miner(args) => args.run(&self.data),
            Command::Validator(args) => args.run(&self.data),
            Command::Simulate(args) => args.run(),
            Command::Genesis(GenesisCommand::Build(args)) => args.run(),
            Command::Genesis(GenesisCommand::Check(args)) => args.run(),
            Command::Doctor(args) => args.run(&self.data),
            Command::Mcp(args) => args.run(),
        }
    }
}

/// Prints a command's result as pretty JSON on stdout.
pub fn print_json(value: &impl serde::Serialize) -> Result<(), CliError> {
    println!("{}", serde_json::to_string_pretty(value).expect("results serialise to JSON"));
    Ok(())
}
