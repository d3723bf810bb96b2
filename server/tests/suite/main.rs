//! The crate's integration tests, in one binary so that the suite links once.

mod common;
mod adversarial;
mod api;
mod cli;
mod config;
mod doctor;
mod documented;
mod exact_payment;
mod execute;
mod explorer;
mod first_run;
mod mcp;
mod openapi_fuzz;
mod paid;
mod replica;
mod simulate;
mod snapshots;
mod upgrade;
