//! The crate's integration tests, in one binary so that the suite links once.

mod common;
mod incentive;
mod new_subnet;
mod contract;
mod hostile_ledger;
mod orchestration;
mod playground;
mod progress;
mod python_client;
mod testkit;
