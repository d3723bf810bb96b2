//! `orchestra`: the command-line tool of Orchestra.

mod api;
mod cli;
mod config;
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
    let args: Vec<_> = std::env::args_os().collect();
    if let Err(error) = config::apply(&args) {
        eprintln!("error: {error}");
        return ExitCode::FAILURE;
    }
    match cli::Cli::parse_from(args).run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
