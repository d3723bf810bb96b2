//! How a validator turns what it observed of miners into weights on chain.
//!
//! - [`lasting`]: which of a round's attested writes changed the ledger, and whose they are.
//! - [`used`]: which lasting changes routing relied on, paid as ledger work when it does.
//! - [`score`]: the scoreboard, per-miner moving averages of orchestration and ledger work,
//!   combined 60/40 into one score per miner.
//! - [`weights`]: the Bittensor SDK's weight processing, from those scores to the `u16` vector
//!   that `set_weights` takes.

pub mod lasting;
pub mod score;
pub mod used;
pub mod weights;
