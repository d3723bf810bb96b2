//! The crate's integration tests, in one binary so that the suite links once.

mod common;
mod invocation;
mod jobs;
mod invocation_vectors;
mod chain_reads;
mod chain_sync;
mod chain_writes;
mod epistula;
mod from_chain;
mod health_claims;
mod health_diffs;
mod hostile_input;
mod mapper;
mod outbound;
mod payment;
mod planner;
mod prices;
mod probe;
mod ranking;
mod receipt_vectors;
mod receipts;
mod review;
mod schema;
mod score;
mod weights;
