//! The orchestrator: plans, routes and executes an objective across Bittensor subnets, reading
//! the Subnet Ledger. For now it holds the chain access ([`chain`]).

pub mod chain;
pub mod receipts;
pub mod schema;
