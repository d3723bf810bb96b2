//! Replays: a validator sends a sample of a miner's calls again, to the same subnets with its
//! own keys, and compares what comes back with the bodies the miner showed.
//!
//! Receipts, citations and claimed costs all hold for a body a miner invented and hashed
//! itself: only the subnet can say it never answered so. Terms:
//! - **replayable receipt**: a call the result cites (docs/SPEC.md §18) that got a 2xx answer,
//!   to an endpoint of the validator's ledger with an invocation spec and no job (a job's
//!   answer comes from polls that cannot be asked again), whose evidence shows the body and
//!   the request.
//! - **sample**: at most [`ReplayBudget::calls_per_answer`] replayable receipts, drawn at random
//!   by the validator once the answer is in, so a miner cannot tell which of its calls will be
//!   checked.
//! - **agreement**: both answers read by the endpoint's invocation spec share enough. Items
//!   agree when at least [`MIN_ITEM_OVERLAP`] of the shorter list's keys (an item's URL, else its
//!   title, else its text) are in the other; answers of text alone (LLMs, which the engine asks
//!   with deterministic settings) when their word sets overlap by at least
//!   [`MIN_WORD_OVERLAP`] (Jaccard). Live subnets drift, so agreement is overlap, not equality;
//!   an invented body shares almost nothing with the subnet's.
//! - **disagreement**: the request shown does not hash to its receipt or is not one the
//!   endpoint is sent, the body shown is not an answer the spec reads, or the answers do not
//!   agree. The answer's groundedness is then 0: its evidence is not the subnets'.
//! - **inconclusive**: a replay that says nothing of the miner (the validator holds no key for
//!   the subnet, the round's budget is spent, the subnet failed, timed out or answered empty).
//!   It costs the miner nothing.
//! - **budget**: what replays may cost one validator in a round ([`ReplayBudget`]), reserved
//!   before each replay from the endpoint's public price (per item: as many as the shown
//!   answer holds); an endpoint without a public price counts only against the number of
//!   replays.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures::future::join_all;
use ledger::record::Endpoint;
use rand::seq::SliceRandom;

use orchestrator::credentials::Credentials;
use orchestrator::evidence::Item;
use orchestrator::execute::price;
use orchestrator::invocation::{self, Access, InvocationError, SubnetResponse};
use orchestrator::orchestrate::EvidenceBody;
use orchestrator::outbound::{describe, read_capped, Guard};
use orchestrator::provenance::Provenance;
use orchestrator::receipts::{body_hash, Receipt, ReceiptBundle};
use orchestrator::route::Catalog;

/// Share of the shorter item list whose keys the other list must hold.
pub const MIN_ITEM_OVERLAP: f64 = 1.0 / 3.0;
/// Jaccard overlap of the word sets two text answers must reach.
pub const MIN_WORD_OVERLAP: f64 = 0.5;
/// Largest replayed answer read.
const MAX_REPLAY_BYTES: usize = 4 << 20;

/// What one validator's replays may cost.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReplayBudget {
    /// Most calls of one answer replayed.
    pub calls_per_answer: usize,
    /// Most the round's replays may cost together, in micro-USD by the endpoints' public prices.
    pub usd_micros_per_round: u64,
}

impl Default for ReplayBudget {
    /// Two calls an answer, at most $0.05 a round.
    fn default() -> ReplayBudget {
        ReplayBudget { calls_per_answer: 2, usd_micros_per_round: 50_000 }
    }
}

/// What replaying one call showed.
#[derive(Clone, Debug, PartialEq)]
pub enum Replay {
    /// The subnet's answer agrees with the body shown, sharing `overlap` of it.
    Agreed { receipt: u64, overlap: f64 },
    /// The body shown is not the subnet's (see the module documentation).
    Disagreed { receipt: u64, reason: String },
    /// The replay says nothing of the miner.
    Inconclusive { receipt: u64, reason: String },
}

/// One round's replays: the validator's keys, and what is left of its budget.
pub struct Replayer<'a> {
    guard: &'a Guard,
    credentials: &'a Credentials,
    calls_per_answer: usize,
    remaining_usd_micros: AtomicU64,
}

impl<'a> Replayer<'a> {
    /// A round's replays through `guard` with `credentials`, within `budget`.
    pub fn new(guard: &'a Guard, credentials: &'a Credentials, budget: ReplayBudget) -> Replayer<'a> {
        Replayer { guard, credentials, calls_per_answer: budget.calls_per_answer, remaining_usd_micros: AtomicU64::new(budget.usd_micros_per_round) }
    }

    /// Replays a sample of the calls `provenance` cites (see the module documentation).
    pub async fn replay(&self, catalog: &Catalog, receipts: &ReceiptBundle, evidence: &[EvidenceBody], provenance: &Provenance) -> Vec<Replay> {
        let given: BTreeMap<u64, &EvidenceBody> = evidence.iter().map(|given| (given.receipt, given)).collect();
        let cited: BTreeSet<u64> = provenance.cited_receipts();
        let mut replayable: Vec<(&Receipt, &EvidenceBody, &Endpoint)> = receipts
            .receipts
            .iter()
            .filter(|receipt| cited.contains(&receipt.index) && (200..300).contains(&receipt.call.status))
            .filter_map(|receipt| {
                let endpoint = catalog.endpoint(receipt.call.subnet, &receipt.call.endpoint)?;
                let spec = endpoint.invocation.as_deref()?;
                (spec.job.is_none()).then_some((receipt, *given.get(&receipt.index)?, endpoint))
            })
            .collect();
        replayable.shuffle(&mut rand::thread_rng());
        replayable.truncate(self.calls_per_answer);
        join_all(replayable.into_iter().map(|(receipt, given, endpoint)| self.replay_one(receipt, given, endpoint))).await
    }

    async fn replay_one(&self, receipt: &Receipt, given: &EvidenceBody, endpoint: &Endpoint) -> Replay {
        let index = receipt.index;
        let disagreed = |reason: String| Replay::Disagreed { receipt: index, reason };
        let inconclusive = |reason: String| Replay::Inconclusive { receipt: index, reason };
        let (Some(shown_request), Some(shown_body)) = (given.request_preimage(), given.body()) else {
            return disagreed("the request or body shown is not base64".into());
        };
        if body_hash(&shown_request) != receipt.call.request_hash {
            return disagreed("the request shown does not hash to the receipt's request_hash".into());
        }
        if body_hash(&shown_body) != receipt.call.response_hash {
            return disagreed("the body shown does not hash to the receipt's response_hash".into());
        }
        let shown = match invocation::read(endpoint, &given.cost_header_map(), &shown_body) {
            Ok(shown) => shown,
            Err(error) => return disagreed(format!("the body shown is not an answer the endpoint's spec reads: {error}")),
        };
        let netuid = receipt.call.subnet;
        let key = match self.credentials.key_for(netuid, &endpoint.url) {
            Ok(key) => key,
            Err(unbound) => return inconclusive(unbound.to_string()),
        };
        let request = match invocation::replay_request(endpoint, &shown_request, &Access { netuid, key, model: None }) {
            Ok(request) => request,
            Err(error @ InvocationError::NotItsRequest { .. }) => return disagreed(error.to_string()),
            Err(error) => return inconclusive(error.to_string()),
        };
        let cost = endpoint.pricing.as_ref().map_or(0, |pricing| price::expected_usd_micros(pricing, &request, shown.items.len() as u32));
        if self.remaining_usd_micros.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |remaining| remaining.checked_sub(cost)).is_err() {
            return inconclusive(format!("the round's replay budget cannot pay {cost} micro-USD"));
        }
        let builder = match request.prepare(self.guard) {
            Ok(builder) => builder,
            Err(refusal) => return inconclusive(refusal.to_string()),
        };
        let exchange = async {
            let response = builder.send().await.map_err(|error| describe(&error))?;
            let (status, headers) = (response.status(), response.headers().clone());
            let body = read_capped(response, MAX_REPLAY_BYTES).await.map_err(|error| error.to_string())?;
            Ok::<_, String>((status, headers, body))
        };
        let (status, headers, body) = match tokio::time::timeout(Duration::from_millis(u64::from(endpoint.timeout_ms)), exchange).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(reason)) => return inconclusive(format!("the subnet did not answer the replay: {reason}")),
            Err(_) => return inconclusive(format!("the subnet did not answer the replay within {} ms", endpoint.timeout_ms)),
        };
        if !status.is_success() {
            return inconclusive(format!("the subnet answered the replay {status}"));
        }
        match invocation::read(endpoint, &headers, &body) {
            Ok(replayed) => match agreement(&shown, &replayed) {
                Ok(overlap) => Replay::Agreed { receipt: index, overlap },
                Err(reason) => disagreed(reason),
            },
            Err(error) => inconclusive(format!("the subnet's answer to the replay: {error}")),
        }
    }
}

/// How much the answer shown shares with the subnet's own, or why they do not agree (see the
/// module documentation).
pub fn agreement(shown: &SubnetResponse, replayed: &SubnetResponse) -> Result<f64, String> {
    let (overlap, least, what) = match (shown.items.is_empty(), replayed.items.is_empty(), &shown.text, &replayed.text) {
        (false, false, _, _) => {
            let keys = |items: &[Item]| items.iter().map(item_key).collect::<BTreeSet<String>>();
            let (shown_keys, replayed_keys) = (keys(&shown.items), keys(&replayed.items));
            let shared = shown_keys.intersection(&replayed_keys).count();
            (shared as f64 / shown_keys.len().min(replayed_keys.len()) as f64, MIN_ITEM_OVERLAP, "of the shorter list's items")
        }
        (true, true, Some(shown), Some(replayed)) => (jaccard(&words(shown), &words(replayed)), MIN_WORD_OVERLAP, "of the words"),
        _ => {
            let shape = |response: &SubnetResponse| format!("{} items and {} text", response.items.len(), if response.text.is_some() { "a" } else { "no" });
            return Err(format!("the subnet answered {}; the body shown has {}", shape(replayed), shape(shown)));
        }
    };
    match overlap >= least {
        true => Ok(overlap),
        false => Err(format!("the subnet's answer and the body shown share {:.0}% {what}, under the {:.0}% agreement needs", overlap * 100.0, least * 100.0)),
    }
}

/// An item's identity across answers: its URL, else its title, else its text, lowercased.
fn item_key(item: &Item) -> String {
    let key = item.url.as_deref().or(item.title.as_deref()).unwrap_or(&item.text);
    key.trim().to_lowercase()
}

fn words(text: &str) -> BTreeSet<String> {
    text.split(|character: char| !character.is_alphanumeric()).filter(|word| !word.is_empty()).map(str::to_lowercase).collect()
}

fn jaccard(a: &BTreeSet<String>, b: &BTreeSet<String>) -> f64 {
    let union = a.union(b).count();
    match union {
        0 => 1.0,
        union => a.intersection(b).count() as f64 / union as f64,
    }
}
