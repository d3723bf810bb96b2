//! `orchestra`: the command-line tool of Orchestra.

use std::process::ExitCode;

use clap::Parser;
use orchestra_server::{cli, config};

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
