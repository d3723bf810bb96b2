//! The orchestrator: plans, routes and executes an objective across Bittensor subnets, reading
//! the Subnet Ledger, and synthesises one result in the caller's target schema.

pub mod chain;
pub mod credentials;
pub mod epistula;
pub mod evidence;
pub mod llm;
pub mod orchestrate;
pub mod outbound;
pub mod execute;
pub mod incentive;
pub mod invocation;
pub mod ledger_work;
pub mod plan;
pub mod planner;
pub mod progress;
pub mod ranking;
pub mod receipts;
pub mod route;
pub mod schema;
pub mod synthesis;
pub mod tao_price;
pub mod validator;
