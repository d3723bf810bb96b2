//! `orchestra`: the command-line tool of Orchestra.

mod api;
mod cli;
mod credits_cmd;
mod ledger_cmd;
mod node;
mod present;
mod replica;
mod serve;
mod snapshot_cmd;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match cli.run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
