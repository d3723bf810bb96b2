//! The orchestrator: plans, routes and executes an objective across Bittensor subnets, reading
//! the Subnet Ledger, and synthesises one result in the caller's target schema. It knows nothing
//! of the chain: the subnet's side (miners, validators, weights) is the `subnet` crate's.

pub mod credentials;
pub mod evidence;
pub mod llm;
pub mod orchestrate;
pub mod outbound;
pub mod execute;
pub mod invocation;
pub mod plan;
pub mod planner;
pub mod progress;
pub mod provenance;
pub mod ranking;
pub mod receipts;
pub mod route;
pub mod schema;
pub mod synthesis;
pub mod tao_price;
