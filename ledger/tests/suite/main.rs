//! The crate's integration tests, in one binary so that the suite links once.

mod common;
mod attestations;
mod commitment_traps;
mod crash;
mod credits;
mod diffs;
mod genesis;
mod hostile_input;
mod import_crash;
mod model;
mod pool;
mod proof_tamper;
mod records;
mod snapshots;
mod spec_vectors;
mod storage;
