//! Relays: answers a miner got from another miner's node and passed off as its own.
//!
//! Once a round's answers are in, the validator asks every miner's node which of the bodies the
//! other miners' answers cite it received for its customers during the round
//! ([`crate::served`]). Terms:
//! - **cited bodies**: the `response_hash`es of the calls an answer's result cites
//!   ([`Answered`]).
//! - **telling body**, for a node: a cited body of an answer that no third *valid* answer of the
//!   round also cites. A body two answers that hold on their own cite (a subnet answering two
//!   requests alike) says nothing of which of them a node's customer was. An invalid answer
//!   does not count, so a second hotkey cannot shield a copy by listing its bodies; nor does the
//!   node's own answer: its log holds only what it received for customers.
//! - **asked**: for a node and another miner's answer, a sample of that answer's telling bodies,
//!   at most [`MAX_QUERY_KEYS`] over the round's answers, since [`CLOCK_SLACK_MS`] before the
//!   challenges went out (the node's clock may run behind the validator's).
//! - **relay**: an answer of which a node other than its miner's shows at least
//!   [`MIN_RELAYED_SHARE`] of the bodies asked, one at least. A round's challenges name
//!   subjects that share no word while the generator allows
//!   ([`super::challenge::Challenge::generate_round`]), so two honest miners of one round do
//!   not send the same request. A relayed answer grounds nothing.
//! - **believed**: a node's showings count only when they accuse at most
//!   [`believed_accusations`] answers of the round. A node that received, for itself or for a
//!   customer, the answers to every call a challenge could need, from a subnet answering one
//!   request with the same bytes twice, could show other miners' bodies; it shows too much to
//!   be believed, where a node that really served a copier or two is.
//!
//! What it cannot tell: a copier that re-encodes the bodies it relays (their hashes then differ
//! from the node's) escapes, as does one whose node keeps quiet (a node selling its answers pays
//! for the copy with its own share), one that relays through a node with a validator permit
//! (served as a challenge, never logged), and one that floods the node's log past its bound
//! before the validator asks. Against a subnet answering alike, a node may accuse up to
//! [`believed_accusations`] honest answers a round.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use futures::future::join_all;
use ledger::hotkey::Hotkey;
use ledger::Hash;
use rand::seq::IteratorRandom;

use super::challenge::MinerAxon;
use crate::epistula;
use crate::served::{query_key, ServedAnswer, ServedQuery, MAX_QUERY_KEYS};
use orchestrator::outbound::{read_capped, Guard, Origin};

/// Least share of the bodies asked a node must show of an answer for it to be a relay.
pub const MIN_RELAYED_SHARE: f64 = 0.5;
/// Longest a node may take to answer a query.
const QUERY_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest answer to a query read: every body asked, with JSON around it.
const MAX_SERVED_ANSWER_BYTES: usize = MAX_QUERY_KEYS * 70 + 1024;
/// How far behind the validator's clock a node's may run.
pub const CLOCK_SLACK_MS: u64 = 60_000;

/// What the search for relays reads of one answer (see the module documentation).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Answered {
    pub cited: BTreeSet<Hash>,
    /// Whether the answer holds on its own, relays aside.
    pub valid: bool,
}

/// An answer found relayed: whose it is (an index into the miners), which node showed it.
#[derive(Clone, Debug, PartialEq)]
pub struct Relay {
    pub answer_index: usize,
    pub shown_by: u16,
    /// Bodies shown, of those asked.
    pub shown: usize,
    pub asked: usize,
}

impl std::fmt::Display for Relay {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "miner uid {}'s node received {} of the {} cited bodies asked about for a customer during the round: the answer is relayed", self.shown_by, self.shown, self.asked)
    }
}

/// Most answers of a round of `answers` one node's showings may accuse and be believed.
pub fn believed_accusations(answers: usize) -> usize {
    (answers / 10).max(2)
}

/// The relays among the round's answers (`answers[i]` is `miners[i]`'s), asking every miner's
/// node through `guard`, signed by `validator`; `sent_ms` is when the challenges went out.
pub async fn find(guard: &Guard, validator: &Hotkey, miners: &[MinerAxon], answers: &[Answered], sent_ms: u64) -> Vec<Relay> {
    let since_ms = sent_ms.saturating_sub(CLOCK_SLACK_MS);
    let per_answer = MAX_QUERY_KEYS / miners.len().saturating_sub(1).max(1);
    let mut rng = rand::thread_rng();
    let mut cited_by_valid: BTreeMap<Hash, Vec<usize>> = BTreeMap::new();
    for (index, answered) in answers.iter().enumerate().filter(|(_, answered)| answered.valid) {
        for body in &answered.cited {
            cited_by_valid.entry(*body).or_default().push(index);
        }
    }
    // For each node, what it is asked of each other answer.
    let asked: Vec<Vec<BTreeSet<Hash>>> = (0..miners.len())
        .map(|node| {
            (0..miners.len())
                .map(|answer| {
                    let elsewhere = |body: &Hash| cited_by_valid.get(body).is_some_and(|citing| citing.iter().any(|other| *other != answer && *other != node));
                    match answer == node {
                        true => BTreeSet::new(),
                        false => answers[answer].cited.iter().filter(|body| !elsewhere(body)).copied().choose_multiple(&mut rng, per_answer).into_iter().collect(),
                    }
                })
                .collect()
        })
        .collect();
    let shown = join_all(miners.iter().zip(&asked).map(|(miner, asked)| query(guard, validator, miner, asked.iter().flatten().copied().collect(), since_ms))).await;
    let mut relays = Vec::new();
    for (node, shown) in shown.iter().enumerate() {
        let accused: Vec<Relay> = asked[node]
            .iter()
            .enumerate()
            .filter_map(|(answer, asked)| {
                let held = asked.intersection(shown).count();
                (held >= 1 && held as f64 >= MIN_RELAYED_SHARE * asked.len() as f64).then(|| Relay { answer_index: answer, shown_by: miners[node].uid, shown: held, asked: asked.len() })
            })
            .collect();
        if accused.len() <= believed_accusations(miners.len()) {
            relays.extend(accused);
        }
    }
    relays
}

/// The bodies among `asked` that `miner`'s node shows; nothing when it does not answer.
async fn query(guard: &Guard, validator: &Hotkey, miner: &MinerAxon, asked: BTreeSet<Hash>, since_ms: u64) -> BTreeSet<Hash> {
    if asked.is_empty() {
        return BTreeSet::new();
    }
    let body = serde_json::to_string(&ServedQuery { since_ms, keys: asked.iter().map(query_key).collect() }).expect("a query serialises");
    let exchange = async {
        let mut request = guard.post(&format!("{}/v1/served", miner.url.trim_end_matches('/')), Origin::Axon).ok()?.header("content-type", "application/json");
        for (name, value) in epistula::sign(validator, body.as_bytes(), Some(&miner.hotkey), now_ms()) {
            request = request.header(name, value);
        }
        let response = request.body(body).send().await.ok()?;
        if !response.status().is_success() {
            return None;
        }
        let bytes = read_capped(response, MAX_SERVED_ANSWER_BYTES).await.ok()?;
        serde_json::from_slice::<ServedAnswer>(&bytes).ok()
    };
    let Ok(Some(answer)) = tokio::time::timeout(QUERY_TIMEOUT, exchange).await else { return BTreeSet::new() };
    // Only bodies asked about count.
    answer.held.into_iter().filter(|body| asked.contains(body)).collect()
}

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |since| since.as_millis() as u64)
}
