//! The subnet's side of Orchestra: what miners and validators do on Bittensor, apart from the
//! orchestration itself.
//!
//! - [`chain`]: subtensor reads and extrinsics (metagraph, weights, payments), through subxt.
//! - [`epistula`]: hotkey-signed HTTP requests between validators and miners.
//! - [`validator`]: challenges sent to miners and their answers reviewed.
//! - [`served`]: what a miner's node fetched for its customers, shown to validators.
//! - [`incentive`]: scores from reviewed answers, and the weights they become.
//! - [`ledger_work`]: miners' and validators' work on the Subnet Ledger (health probes, diffs,
//!   chain sync).
//!
//! The orchestration engine it builds on ([`orchestrator`]) knows nothing of the chain.

pub mod chain;
pub mod epistula;
pub mod incentive;
pub mod ledger_work;
pub mod served;
pub mod validator;
