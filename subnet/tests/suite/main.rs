//! The crate's integration tests, in one binary so that the suite links once.

mod common;
mod chain_connect;
mod chain_reads;
mod chain_sync;
mod chain_writes;
mod challenges;
mod epistula;
mod from_chain;
mod health_claims;
mod health_diffs;
mod hostile_input;
mod lasting;
mod payment;
mod probe;
mod replay;
mod review;
mod score;
mod standin;
mod weights;
