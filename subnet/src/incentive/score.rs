//! A validator's scoreboard: what each miner earned, round after round, and the weights that
//! follow from it.
//!
//! Terms:
//! - **miner**: a hotkey, written as its SS58 address. Scores follow hotkeys, not uids, so a uid
//!   re-registered to a new hotkey starts over.
//! - **round**: one pass of the validator over the miners ([`Round`]). A miner is *in* a round
//!   when the round holds an observation or ledger work of it; miners not in a round keep
//!   their averages unchanged.
//! - **observation**: the outcome of one orchestration request a validator sent a miner
//!   ([`OrchestrationObservation`]).
//! - **groundedness** of an answer, in `[0, 1]`: the share of its result's leaves whose
//!   citations hold against response bodies that hash to its receipts (docs/SPEC.md §18); 0 for
//!   an answer without provenance or without a leaf, and for one whose cited calls, replayed to
//!   the same subnets, do not bear out its bodies (docs/SPEC.md §18.4), and for one
//!   contradicting the validator's own answer to the challenge (docs/SPEC.md §18.6).
//! - **coverage** of an answer, in `[0, 1]`: the share of what the challenge asked that the
//!   answer gives: its subjects named, its lists and tables not empty, the facts of the
//!   validator's own answer given (docs/SPEC.md §18.6).
//! - **orchestration score** of an observation, in `[0, 1]`: 0 unless the request succeeded, the
//!   answer fits the target schema, the receipts verify, every receipt's claimed cost is what
//!   its evidence says and the groundedness is 1; otherwise the sum of `0.5 *` the coverage for
//!   a valid answer, `0.25 *` the latency factor (1 at 0 ms, falling linearly to 0 at the deadline) and
//!   `0.25 *` the cost factor (`reference cost / cost`, at most 1). A result holding any value
//!   its evidence does not hold is a wrong answer, and a receipt claiming a cost its evidence
//!   does not bear out a false one: either earns nothing, however fast or cheap, so that
//!   neither keeping some real values beside placeholders nor shaving claimed costs pays.
//!   Costs are what the calls' evidence says they cost, in micro-USD (see
//!   [`OrchestrationObservation::cost_usd_micros`]), never what the miner claims. The reference
//!   cost is the round's given one or else the cheapest valid observation of a challenge of the
//!   same family (the same kind of work: an X search and a paid web search do not cost alike).
//!   A miner's
//!   orchestration score for a round is the mean over its observations in it.
//! - **attested diff**: a ledger diff of the miner's that the ledger accepted and the
//!   validators attested; only those count as ledger work.
//! - **ledger score** of a miner for a round: `ln(1 + entries)` where `entries` is the number of
//!   lasting changes paid to it in the round (see [`super::lasting`]: a record flipped and
//!   flipped back earns nothing; and [`super::used`]: a change is paid once an answer uses it),
//!   divided by the largest such value in the
//!   round, so the best contributor gets 1. The logarithm gives diminishing returns, so
//!   one huge dump cannot drown steady contributors; counting entries rather than diffs means
//!   splitting a change into many diffs earns nothing. Every miner in the round gets one, 0 when
//!   it was paid no ledger work.
//! - **average**: an exponential moving average per miner and kind of work,
//!   `average = alpha * round score + (1 - alpha) * average`, starting at 0 for a new miner.
//! - **combined score**: `0.6 * orchestration average + 0.4 * ledger average`.

use std::collections::{BTreeMap, HashMap};

/// How much one round moves a miner's averages.
pub const DEFAULT_ALPHA: f64 = 0.1;
/// The share of a miner's combined score earned by orchestration work.
pub const ORCHESTRATION_SHARE: f64 = 0.6;
/// The share of a miner's combined score earned by ledger work.
pub const LEDGER_SHARE: f64 = 0.4;

/// What a valid answer covering everything asked earns before latency and cost are counted.
const VALID_ANSWER_SCORE: f64 = 0.5;
/// What each of the latency and cost factors can add on top.
const FACTOR_WEIGHT: f64 = 0.25;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ScoreError {
    #[error("alpha {0} is not in (0, 1]")]
    InvalidAlpha(f64),
}

/// The outcome of one orchestration request to a miner.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OrchestrationObservation {
    /// The miner answered before the deadline without an error.
    pub success: bool,
    /// The answer fits the caller's target schema.
    pub schema_valid: bool,
    /// The miner's receipt bundle verifies for this request's nonce.
    pub receipts_valid: bool,
    pub latency_ms: f64,
    /// What the miner's subnet calls cost by their evidence, in micro-USD: the cost headers
    /// and bodies its receipts commit to, read with the endpoint's spec and public price.
    pub cost_usd_micros: u64,
    /// Every receipt's claimed cost matches what its evidence says.
    pub costs_hold: bool,
    pub deadline_ms: u64,
    /// The share of the result's values whose citations hold (see the module terms).
    pub groundedness: f64,
    /// The share of what the challenge asked that the answer gives (see the module terms).
    pub coverage: f64,
}

impl OrchestrationObservation {
    /// Whether the answer counts at all: it succeeded, fits the schema, its receipts verify,
    /// their claimed costs hold and every value of it is grounded.
    pub fn is_valid(&self) -> bool {
        self.success && self.schema_valid && self.receipts_valid && self.costs_hold && self.groundedness >= 1.0
    }

    /// The orchestration score against `reference_cost` (micro-USD; see the module terms).
    pub fn score(&self, reference_cost: u64) -> f64 {
        if !self.is_valid() {
            return 0.0;
        }
        VALID_ANSWER_SCORE * self.coverage.clamp(0.0, 1.0) + FACTOR_WEIGHT * self.latency_factor() + FACTOR_WEIGHT * self.cost_factor(reference_cost)
    }

    fn latency_factor(&self) -> f64 {
        if self.deadline_ms == 0 {
            return 0.0;
        }
        (1.0 - self.latency_ms / self.deadline_ms as f64).clamp(0.0, 1.0)
    }

    fn cost_factor(&self, reference_cost: u64) -> f64 {
        if self.cost_usd_micros == 0 {
            return 1.0;
        }
        (reference_cost as f64 / self.cost_usd_micros as f64).min(1.0)
    }
}

/// What a validator observed of the miners in one round.
#[derive(Debug, Clone, Default)]
pub struct Round {
    reference_cost: Option<u64>,
    /// Per miner, what each of its challenges asked (its family) and what it observed.
    observations: BTreeMap<String, Vec<(String, OrchestrationObservation)>>,
    ledger_entries: BTreeMap<String, u64>,
}

impl Round {
    /// A round whose cost reference is its cheapest valid observation.
    pub fn new() -> Round {
        Round::default()
    }

    /// A round whose costs are measured against `reference_cost`, for a validator that knows
    /// what the work should cost rather than trusting the cheapest miner to set the bar.
    pub fn with_reference_cost(reference_cost: u64) -> Round {
        Round { reference_cost: Some(reference_cost), ..Round::default() }
    }

    /// Notes `miner`'s answer to a challenge of `family`: its cost is measured against the
    /// answers to challenges of the same family, which ask for the same kind of work (an X
    /// search and a paid web search do not cost alike).
    pub fn observe(&mut self, miner: &str, family: &str, observation: OrchestrationObservation) {
        self.observations.entry(miner.to_owned()).or_default().push((family.to_owned(), observation));
    }

    /// Credits `miner` with `entries` lasting changes used this round.
    pub fn ledger_work(&mut self, miner: &str, entries: u64) {
        *self.ledger_entries.entry(miner.to_owned()).or_default() += entries;
    }

    /// The orchestration score of each observed miner: the mean of its observations' scores.
    pub fn orchestration_scores(&self) -> BTreeMap<&str, f64> {
        // Only valid answers (grounded, costs holding) set the bar: a failed call, filler or a
        // cost liar must not zero everyone else's cost factor.
        let mut cheapest_valid: BTreeMap<&str, u64> = BTreeMap::new();
        for (family, observation) in self.observations.values().flatten().filter(|(_, o)| o.is_valid()) {
            let cheapest = cheapest_valid.entry(family.as_str()).or_insert(u64::MAX);
            *cheapest = (*cheapest).min(observation.cost_usd_micros);
        }
        let reference = |family: &str| self.reference_cost.or_else(|| cheapest_valid.get(family).copied()).unwrap_or(0);
        self.observations
            .iter()
            .map(|(miner, observations)| {
                let total: f64 = observations.iter().map(|(family, o)| o.score(reference(family))).sum();
                (miner.as_str(), total / observations.len() as f64)
            })
            .collect()
    }

    /// The ledger score of every miner in the round.
    pub fn ledger_scores(&self) -> BTreeMap<&str, f64> {
        let raw = |miner: &str| self.ledger_entries.get(miner).map_or(0.0, |&entries| (entries as f64).ln_1p());
        let best = self.ledger_entries.keys().map(|miner| raw(miner)).fold(0.0, f64::max);
        self.miners().map(|miner| (miner, if best > 0.0 { raw(miner) / best } else { 0.0 })).collect()
    }

    fn miners(&self) -> impl Iterator<Item = &str> {
        self.observations.keys().chain(self.ledger_entries.keys()).map(String::as_str)
    }
}

/// A miner's two moving averages.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct MinerScore {
    pub orchestration: f64,
    pub ledger: f64,
}

impl MinerScore {
    pub fn combined(&self) -> f64 {
        ORCHESTRATION_SHARE * self.orchestration + LEDGER_SHARE * self.ledger
    }
}

/// Every miner's averages, updated one round at a time.
#[derive(Debug, Clone)]
pub struct Scoreboard {
    alpha: f64,
    miners: HashMap<String, MinerScore>,
}

impl Default for Scoreboard {
    fn default() -> Scoreboard {
        Scoreboard { alpha: DEFAULT_ALPHA, miners: HashMap::new() }
    }
}

impl Scoreboard {
    pub fn new(alpha: f64) -> Result<Scoreboard, ScoreError> {
        if alpha > 0.0 && alpha <= 1.0 {
            Ok(Scoreboard { alpha, ..Scoreboard::default() })
        } else {
            Err(ScoreError::InvalidAlpha(alpha))
        }
    }

    /// Moves the averages of every miner in `round` towards its scores for the round.
    pub fn record(&mut self, round: &Round) {
        let alpha = self.alpha;
        let step = |average: &mut f64, score: f64| *average = alpha * score + (1.0 - alpha) * *average;
        for (miner, score) in round.orchestration_scores() {
            step(&mut self.miners.entry(miner.to_owned()).or_default().orchestration, score);
        }
        for (miner, score) in round.ledger_scores() {
            step(&mut self.miners.entry(miner.to_owned()).or_default().ledger, score);
        }
    }

    /// The averages of `miner`; all zero for a miner never seen.
    pub fn miner(&self, miner: &str) -> MinerScore {
        self.miners.get(miner).copied().unwrap_or_default()
    }

    /// The combined score of every registered hotkey, by uid in ascending order, for
    /// [`process_weights_for_netuid`](super::weights::process_weights_for_netuid). Hotkeys never
    /// scored get 0; scored hotkeys no longer registered are left out.
    pub fn weights(&self, uids_by_hotkey: &HashMap<String, u16>) -> (Vec<u16>, Vec<f32>) {
        let mut by_uid: Vec<(u16, f32)> =
            uids_by_hotkey.iter().map(|(hotkey, &uid)| (uid, self.miner(hotkey).combined() as f32)).collect();
        by_uid.sort_by_key(|&(uid, _)| uid);
        by_uid.into_iter().unzip()
    }
}
