//! The budget: how many rao one orchestration may spend on subnet calls.
//!
//! Terms:
//! - **estimate**: what a call is expected to cost before it is made: its expected usage at the
//!   ledger's price (see [`super::price`]), or, when higher, what the same endpoint last cost
//!   on this node.
//! - **reservation**: before a call, its estimate is set aside; a call whose estimate does not
//!   fit in what is left is not made, and the orchestration stops with "budget exhausted".
//!   Reserving first is what keeps parallel calls from overspending together.
//! - **charge**: after the call, the reservation is replaced by its actual cost: the subnet's
//!   reported cost when it sends one, else its usage at the ledger's price (the tokens an LLM
//!   reports, the items returned), else the estimate. A subnet that reports more than
//!   its estimate is charged as reported, so the spend can pass the budget by at most that
//!   difference; the answer always states the actual spend.
//!
//! Prices in the ledger and subnets' reports are in micro-USD; they become rao at the node's
//! configured TAO price, rounding up so that a conversion never under-counts.

use std::sync::Mutex;

/// The TAO price the node converts US dollars at, in micro-USD per TAO.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TaoPrice {
    pub usd_micros_per_tao: u64,
}

const RAO_PER_TAO: u128 = 1_000_000_000;

impl TaoPrice {
    /// `usd_micros` in rao, rounded up.
    pub fn rao(&self, usd_micros: u64) -> u64 {
        let numerator = u128::from(usd_micros) * RAO_PER_TAO;
        let price = u128::from(self.usd_micros_per_tao.max(1));
        u64::try_from(numerator.div_ceil(price)).unwrap_or(u64::MAX)
    }
}

/// What the budget refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exhausted {
    pub budget_rao: u64,
    pub committed_rao: u64,
    pub needed_rao: u64,
    /// The call refused and what its estimate rests on: `SN22 ai-search at $0.005 per request`.
    pub call: String,
}

/// Spend so far against an optional limit.
#[derive(Debug)]
pub struct Budget {
    limit_rao: Option<u64>,
    /// Charged plus reserved.
    committed_rao: Mutex<u64>,
}

impl Budget {
    pub fn new(limit_rao: Option<u64>) -> Budget {
        Budget { limit_rao, committed_rao: Mutex::new(0) }
    }

    /// Sets `estimate_rao` aside for the call `call` describes, or refuses when it does not fit.
    pub fn reserve(&self, estimate_rao: u64, call: impl FnOnce() -> String) -> Result<(), Exhausted> {
        let mut committed = self.committed_rao.lock().expect("budget lock");
        let after = committed.saturating_add(estimate_rao);
        match self.limit_rao {
            Some(limit) if after > limit => Err(Exhausted { budget_rao: limit, committed_rao: *committed, needed_rao: estimate_rao, call: call() }),
            _ => {
                *committed = after;
                Ok(())
            }
        }
    }

    /// Replaces a reservation of `estimate_rao` by the call's actual `cost_rao`.
    pub fn charge(&self, estimate_rao: u64, cost_rao: u64) {
        let mut committed = self.committed_rao.lock().expect("budget lock");
        *committed = committed.saturating_sub(estimate_rao).saturating_add(cost_rao);
    }

    /// The rao charged so far (with nothing reserved once every call has finished).
    pub fn spent_rao(&self) -> u64 {
        *self.committed_rao.lock().expect("budget lock")
    }

    pub fn limit_rao(&self) -> Option<u64> {
        self.limit_rao
    }
}
