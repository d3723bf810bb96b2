//! The crate's integration tests, in one binary so that the suite links once.

mod common;
mod invocation;
mod jobs;
mod invocation_vectors;
mod outbound;
mod planner;
mod prices;
mod provenance_vectors;
mod ranking;
mod receipt_vectors;
mod receipts;
mod schema;
mod writer;
