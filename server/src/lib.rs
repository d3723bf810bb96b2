//! The `orchestra` command-line tool and ledger node, as a library so that tests can build
//! the HTTP API in-process ([`api::router`] over an [`api::AppState`]); `main.rs` only parses
//! the command line and runs it.

pub mod api;
pub mod cli;
pub mod config;
mod credits_cmd;
mod doctor;
pub mod documented;
pub mod identity;
mod greeting;
mod incentive_cmd;
mod ledger_cmd;
mod live;
mod mcp;
pub mod node;
mod orchestrate_cmd;
mod present;
mod replica;
mod serve;
pub mod simulate;
mod snapshot_cmd;
mod sync_cmd;
pub mod wallet;
mod upgrade;
