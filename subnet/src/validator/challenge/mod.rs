//! Challenges: the orchestration requests a validator sends miners, and the checks of their
//! answers.
//!
//! Terms:
//! - **challenge**: a fresh random nonce, and the objective and target schema it draws among
//!   the capabilities the validator's ledger routes ([`generate`]), sent Epistula-signed by the
//!   validator for the miner's hotkey.
//! - **verdict**: what the validator concludes of one answer: the observation the scoreboard
//!   takes ([`OrchestrationObservation`]) and every problem found, in words.
//!
//! An answer is checked in this order, each failure noted: the Epistula signature over the
//! answer is the miner's and is for this validator; the receipts verify for the nonce and are
//! signed by the miner's hotkey; the result validates against the target schema; and the spot
//! checks hold: one receipt per reported call, every call names an endpoint the validator's
//! ledger lists, every receipt's start lies between the request's sending and the answer's
//! arrival (so receipts cannot have been made before the nonce existed or taken from
//! elsewhere), and the reported cost is the receipts' sum. Every challenge asks for the
//! evidence (`include_evidence`): each body given must hash to its receipt's `response_hash`,
//! and the answer's **groundedness** is the share of its result's values whose citations hold
//! against those bodies (docs/SPEC.md §18); every value that does not hold is a problem. Every
//! call the result cites must have asked about the challenge's subjects ([relevance]), and a
//! sample of them is [replayed](replay) to the same subnets: an off-subject call, or a body the
//! subnet's own answer does not bear out, makes the groundedness 0. A challenge the validator
//! answered itself first holds the answer's numbers to its own ([known]): a contradiction makes
//! the groundedness 0 too. The answer's [coverage] is the share of what the challenge asked
//! that it gives.
//!
//! **Costs are measured, not taken.** Every receipt that got a response must come with its
//! evidence, whose cost headers hash to the receipt's `cost_evidence_hash`. The validator reads
//! that evidence as the executor does (the endpoint's spec and public price in the validator's
//! own ledger): the cost a subnet's header reports, or else the price of the request, of the
//! items the answer holds or of the tokens it reports. A receipt claiming another
//! `cost_usd_micros` is a problem and forfeits the cost factor; the observation's cost is the
//! evidence's sum. What the evidence cannot price (an endpoint without a public price or cost
//! header, a per-token price whose answer reports no tokens) counts as 0 for every miner, so a
//! claim there gains nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ledger::hotkey::Hotkey;
use rand::RngCore;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::epistula;
use orchestrator::execute::trace::CallRecord;
use crate::incentive::score::OrchestrationObservation;
use known::KnownAnswer;
use replay::{Replay, Replayer};
use orchestrator::outbound::{describe, read_capped, Guard, Origin};
use orchestrator::orchestrate::EvidenceBody;
use orchestrator::provenance::{self, Provenance, ProvenanceError};
use orchestrator::execute::price;
use orchestrator::invocation;
use orchestrator::receipts::{self, body_hash, cost_evidence_hash, Nonce, ReceiptBundle};
use orchestrator::route::Catalog;
use orchestrator::schema::TargetSchema;

/// Time a miner gets beyond the challenge's deadline for the answer to travel back.
const ANSWER_MARGIN: Duration = Duration::from_secs(5);
/// Nonces drawn at most for one challenge of a round whose subjects the round has not named.
pub const ROUND_DRAWS: usize = 64;
/// The family of a challenge chosen rather than drawn ([`Challenge::new`]).
pub const CHOSEN: &str = "chosen";
/// Clock difference tolerated between a receipt's start and the validator's clock.
const CLOCK_SLACK_MS: u64 = 2_000;

pub mod coverage;
pub mod generate;
pub mod known;
pub mod relevance;
pub mod replay;

/// One request to a miner: its nonce, objective and target schema.
#[derive(Clone, Debug)]
pub struct Challenge {
    pub nonce: Nonce,
    /// The family it was drawn from ([`generate::FAMILIES`]), or [`CHOSEN`].
    pub family: &'static str,
    pub objective: String,
    pub target_schema: Value,
    /// What the challenge is about (see [`generate`]).
    pub subjects: Vec<String>,
    /// The validator's own answer, when it fixed one before sending the challenge ([`known`]).
    pub known: Option<KnownAnswer>,
}

impl Challenge {
    /// The challenge a fresh random nonce draws among the `routable` capabilities (see
    /// [`generate`]); `None` when the ledger routes none a challenge needs.
    pub fn generate(routable: &BTreeSet<String>) -> Option<Challenge> {
        Challenge::from_nonce(fresh_nonce(), routable)
    }

    /// `count` challenges for one round, each about subjects sharing no word with the others'
    /// ("mixture of depths" and "mixture of experts" share one) where [`ROUND_DRAWS`] fresh
    /// nonces allow, else sharing the fewest: two honest miners of a round then send different
    /// requests, so that an answer whose bodies another miner's node received is a relay, not a
    /// coincidence ([`super::relays`]). Price challenges all name providers of one small list,
    /// so a round holds few of them; the families are drawn uniformly only across rounds.
    pub fn generate_round(routable: &BTreeSet<String>, count: usize) -> Vec<Option<Challenge>> {
        let mut named: BTreeSet<String> = BTreeSet::new();
        let mut round = Vec::with_capacity(count);
        for _ in 0..count {
            let shared = |challenge: &Challenge| challenge.subjects.iter().flat_map(|subject| relevance::name_words(subject)).filter(|word| named.contains(word)).count();
            let mut drawn: Option<(usize, Challenge)> = None;
            for _ in 0..ROUND_DRAWS {
                let Some(challenge) = Challenge::generate(routable) else { break };
                let overlap = shared(&challenge);
                if drawn.as_ref().is_none_or(|(least, _)| overlap < *least) {
                    drawn = Some((overlap, challenge));
                }
                if overlap == 0 {
                    break;
                }
            }
            let drawn = drawn.map(|(_, challenge)| challenge);
            if let Some(challenge) = &drawn {
                named.extend(challenge.subjects.iter().flat_map(|subject| relevance::name_words(subject)));
            }
            round.push(drawn);
        }
        round
    }

    /// The challenge `nonce` draws among the `routable` capabilities.
    pub fn from_nonce(nonce: Nonce, routable: &BTreeSet<String>) -> Option<Challenge> {
        let generate::Drawn { family, objective, target_schema, subjects } = generate::draw(&nonce, routable)?;
        Some(Challenge { nonce, family, objective, target_schema, subjects, known: None })
    }

    /// A chosen objective, schema and subjects under a fresh random nonce.
    pub fn new(objective: impl Into<String>, target_schema: Value, subjects: &[&str]) -> Challenge {
        Challenge { nonce: fresh_nonce(), family: CHOSEN, objective: objective.into(), target_schema, subjects: subjects.iter().map(|subject| (*subject).to_owned()).collect(), known: None }
    }
}

fn fresh_nonce() -> Nonce {
    let mut nonce = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut nonce);
    Nonce(nonce)
}

/// A miner as the validator reaches it.
#[derive(Clone, Debug)]
pub struct MinerAxon {
    pub uid: u16,
    /// SS58 address.
    pub hotkey: String,
    /// Base URL of its HTTP API, e.g. `http://1.2.3.4:8091`.
    pub url: String,
}

#[derive(Clone, Debug)]
pub struct Verdict {
    pub observation: OrchestrationObservation,
    pub problems: Vec<String>,
    /// The calls of the answer the validator replayed, and what each showed.
    pub replays: Vec<Replay>,
    /// The bodies the answer's result cites (their `response_hash`es), for the round's search
    /// for [relays](super::relays).
    pub cited_bodies: BTreeSet<ledger::Hash>,
    /// The endpoints of the calls the answer's result cites, `(netuid, endpoint)`: what it used.
    pub cited_calls: BTreeSet<(u16, String)>,
}

impl Verdict {
    /// The verdict of a challenge not sent: nothing earned, and why.
    pub fn unanswerable(deadline: Duration, why: impl Into<String>) -> Verdict {
        Verdict {
            observation: OrchestrationObservation {
                success: false,
                schema_valid: false,
                receipts_valid: false,
                latency_ms: 0.0,
                cost_usd_micros: 0,
                costs_hold: false,
                deadline_ms: deadline.as_millis() as u64,
                groundedness: 0.0,
                coverage: 0.0,
            },
            problems: vec![why.into()],
            replays: Vec::new(),
            cited_bodies: BTreeSet::new(),
            cited_calls: BTreeSet::new(),
        }
    }
}

/// The parts of an orchestration answer the checks read.
#[derive(Deserialize)]
struct Answer {
    result: Value,
    calls: Vec<CallRecord>,
    receipts: ReceiptBundle,
    cost: AnswerCost,
    #[serde(default)]
    provenance: Option<Provenance>,
    #[serde(default)]
    evidence: Vec<EvidenceBody>,
}

#[derive(Deserialize)]
struct AnswerCost {
    subnet_calls_rao: u64,
}

/// Sends `challenge` to `miner` and judges the answer. `listed` holds the `(netuid, endpoint)`
/// pairs of the validator's ledger.
/// Largest answer to a challenge read: a result, its receipts and calls fit well inside it.
pub const MAX_ANSWER_BYTES: usize = 8 << 20;

pub async fn run(guard: &Guard, validator: &Hotkey, miner: &MinerAxon, challenge: &Challenge, deadline: Duration, catalog: &Catalog, replayer: &Replayer<'_>) -> Verdict {
    let nonce = challenge.nonce;
    let body = json!({
        "objective": challenge.objective,
        "target_schema": challenge.target_schema,
        "nonce": nonce,
        "deadline_ms": deadline.as_millis() as u64,
        "include_evidence": true,
    })
    .to_string();
    let sent_ms = now_ms();
    let started = Instant::now();
    let mut verdict = Verdict { problems: Vec::new(), ..Verdict::unanswerable(deadline, "") };
    let mut request = match guard.post(&format!("{}/v1/orchestrate", miner.url.trim_end_matches('/')), Origin::Axon) {
        Ok(request) => request.header("content-type", "application/json").timeout(deadline + ANSWER_MARGIN),
        Err(refusal) => {
            verdict.problems.push(format!("the axon is not called: {refusal}"));
            return verdict;
        }
    };
    for (name, value) in epistula::sign(validator, body.as_bytes(), Some(&miner.hotkey), sent_ms) {
        request = request.header(name, value);
    }
    let response = match request.body(body).send().await {
        Ok(response) => response,
        Err(error) => {
            verdict.problems.push(format!("no answer: {}", describe(&error)));
            return verdict;
        }
    };
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = match read_capped(response, MAX_ANSWER_BYTES).await {
        Ok(bytes) => bytes,
        Err(error) => {
            verdict.problems.push(error.to_string());
            return verdict;
        }
    };
    let received_ms = now_ms();
    verdict.observation.latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    let lookup = |name: &str| headers.get(name).and_then(|value| value.to_str().ok()).map(str::to_owned);
    match epistula::verify(lookup, &bytes, Some(&validator.ss58()), received_ms, epistula::DEFAULT_MAX_AGE_MS) {
        Ok(signed) if signed.signed_by == miner.hotkey => {}
        Ok(signed) => verdict.problems.push(format!("the answer is signed by {}, not the miner {}", signed.signed_by, miner.hotkey)),
        Err(error) => verdict.problems.push(format!("the answer's signature: {error}")),
    }
    if !status.is_success() {
        verdict.problems.push(format!("the miner answered {status}: {}", String::from_utf8_lossy(&bytes).chars().take(300).collect::<String>()));
        return verdict;
    }
    let answer: Answer = match serde_json::from_slice(&bytes) {
        Ok(answer) => answer,
        Err(error) => {
            verdict.problems.push(format!("the answer is not an orchestration answer: {error}"));
            return verdict;
        }
    };
    verdict.observation.success = verdict.problems.is_empty();

    let mut receipt_problems = Vec::new();
    if let Err(error) = receipts::verify(&answer.receipts, &nonce) {
        receipt_problems.push(format!("the receipts do not verify: {error}"));
    }
    if answer.receipts.miner != miner.hotkey {
        receipt_problems.push(format!("the receipts are signed by {}, not the miner {}", answer.receipts.miner, miner.hotkey));
    }
    receipt_problems.extend(spot_check(&answer, catalog, sent_ms, received_ms));
    verdict.observation.receipts_valid = receipt_problems.is_empty();
    verdict.problems.extend(receipt_problems);

    let schema = match TargetSchema::parse(challenge.target_schema.clone()) {
        Ok(schema) => schema,
        Err(error) => {
            verdict.problems.push(format!("the challenge's own schema is refused: {error}"));
            return verdict;
        }
    };
    match schema.validate(&answer.result) {
        Ok(()) => verdict.observation.schema_valid = true,
        Err(violations) => verdict.problems.extend(violations.iter().map(|violation| format!("the result does not fit the schema {violation}"))),
    }
    let (groundedness, ungrounded) = groundedness(&answer, &challenge.objective);
    verdict.observation.groundedness = groundedness;
    verdict.problems.extend(ungrounded);
    let shared = generate::shared_subject_words();
    let asked = known::Asked { schema: &schema, subjects: &challenge.subjects, shared };
    let judgement = challenge.known.as_ref().map(|known| (known.facts().count(), known.judge(&answer.result, &asked)));
    if let Some((_, judgement)) = judgement.as_ref().filter(|(_, judgement)| judgement.contradicted > 0) {
        // Grounded in a body, but not in the one about its subject: a wrong answer.
        verdict.observation.groundedness = 0.0;
        verdict.problems.extend(judgement.contradictions.iter().cloned());
        if judgement.contradicted > judgement.contradictions.len() {
            verdict.problems.push(format!("and {} more numbers contradict the validator's own calls", judgement.contradicted - judgement.contradictions.len()));
        }
    }
    let known = judgement.map(|(facts, judgement)| (facts, judgement.given));
    verdict.observation.coverage = coverage::parts(&answer.result, answer.provenance.as_ref(), &asked, known).share();
    if let Some(provenance) = &answer.provenance {
        let off_subject = relevance::off_subject(&provenance.cited_receipts(), &answer.evidence, &challenge.subjects, shared);
        if !off_subject.is_empty() {
            // Real bodies asked about something else ground nothing here.
            verdict.observation.groundedness = 0.0;
            verdict.problems.extend(off_subject);
        }
        verdict.replays = replayer.replay(catalog, &answer.receipts, &answer.evidence, provenance).await;
        let disagreements: Vec<String> = verdict
            .replays
            .iter()
            .filter_map(|replay| match replay {
                Replay::Disagreed { receipt, reason } => Some(format!("the replay of receipt {receipt}: {reason}")),
                Replay::Agreed { .. } | Replay::Inconclusive { .. } => None,
            })
            .collect();
        if !disagreements.is_empty() {
            // Evidence the subnets did not give grounds nothing.
            verdict.observation.groundedness = 0.0;
            verdict.problems.extend(disagreements);
        }
    }
    let cited = answer.provenance.as_ref().map(Provenance::cited_receipts).unwrap_or_default();
    let cited_calls = || answer.receipts.receipts.iter().filter(|receipt| receipt.call.status != 0 && cited.contains(&receipt.index)).map(|receipt| &receipt.call);
    verdict.cited_bodies = cited_calls().map(|call| call.response_hash).collect();
    verdict.cited_calls = cited_calls().map(|call| (call.subnet, call.endpoint.clone())).collect();
    let (cost, cost_problems) = measured_cost(&answer, catalog);
    verdict.observation.cost_usd_micros = cost;
    verdict.observation.costs_hold = cost_problems.is_empty();
    verdict.problems.extend(cost_problems);
    verdict
}

/// What the answer's calls cost by their evidence, in micro-USD, and every receipt whose
/// claimed cost or cost evidence does not hold (see the module documentation).
fn measured_cost(answer: &Answer, catalog: &Catalog) -> (u64, Vec<String>) {
    let given: BTreeMap<u64, &EvidenceBody> = answer.evidence.iter().map(|given| (given.receipt, given)).collect();
    let mut total = 0u64;
    let mut problems = Vec::new();
    for receipt in &answer.receipts.receipts {
        let call = &receipt.call;
        let evidence = given.get(&receipt.index);
        let (measured, body, headers) = match evidence {
            None if call.status == 0 => (None, Vec::new(), http::HeaderMap::new()),
            None => {
                problems.push(format!("receipt {} got a response but no evidence of it was given", receipt.index));
                continue;
            }
            Some(given) => {
                if cost_evidence_hash(&given.cost_headers) != call.cost_evidence_hash {
                    problems.push(format!("the cost headers given for receipt {} do not hash to its cost_evidence_hash", receipt.index));
                    continue;
                }
                (Some(()), given.body().unwrap_or_default(), given.cost_header_map())
            }
        };
        let Some(endpoint) = catalog.endpoint(call.subnet, &call.endpoint) else { continue };
        let cost = match measured {
            // A call that got no response is charged nothing.
            None => Some(0),
            Some(()) => match evidence_cost(endpoint, call.status, &headers, &body) {
                Ok(cost) => cost,
                Err(missing) => {
                    problems.push(format!("the evidence of receipt {} lacks the cost header {missing} its endpoint reports", receipt.index));
                    continue;
                }
            },
        };
        if let Some(cost) = cost {
            if cost != call.cost_usd_micros {
                problems.push(format!("receipt {} claims {} micro-USD; its evidence says {cost}", receipt.index, call.cost_usd_micros));
            }
            total = total.saturating_add(cost);
        }
    }
    (total, problems)
}

/// The cost in micro-USD a call's evidence gives, read as the executor reads it; `None` when
/// the evidence cannot price it (no public price and no cost header, or tokens not reported).
/// A successful answer whose endpoint reports its cost in a header must carry that header:
/// its name is the error, so that a miner cannot drop what it would rather not show.
fn evidence_cost(endpoint: &ledger::record::Endpoint, status: u16, headers: &http::HeaderMap, body: &[u8]) -> Result<Option<u64>, String> {
    if !(200..300).contains(&status) {
        // A failed answer is charged only what the subnet reports, which the executor does
        // not read from a failed answer: nothing.
        return Ok(Some(0));
    }
    let reported_in = endpoint.invocation.as_deref().and_then(|invocation| invocation.cost.as_ref()).and_then(|cost| cost.usd_header.as_deref());
    if let Some(header) = reported_in.filter(|header| !headers.contains_key(*header)) {
        return Err(header.to_owned());
    }
    // An answer the spec cannot read failed at the executor too: charged nothing.
    let Ok(response) = invocation::read(endpoint, headers, body) else { return Ok(Some(0)) };
    if let Some(reported) = response.reported_cost_usd_micros {
        return Ok(Some(reported));
    }
    Ok(endpoint.pricing.as_ref().and_then(|pricing| price::answered_usd_micros(pricing, &response)))
}

/// The share of the result's leaves whose citations hold against the bodies given that hash to
/// their receipts, and why the others do not.
fn groundedness(answer: &Answer, objective: &str) -> (f64, Vec<String>) {
    use base64::Engine as _;
    let Some(provenance) = &answer.provenance else { return (0.0, vec!["the result cites no evidence".to_owned()]) };
    let leaves = provenance::leaves(&answer.result).len();
    if leaves == 0 {
        return (0.0, vec!["the result has no value to cite".to_owned()]);
    }
    let mut problems = Vec::new();
    let mut bodies = BTreeMap::new();
    for given in &answer.evidence {
        let receipt = answer.receipts.receipts.get(given.receipt as usize);
        match base64::engine::general_purpose::STANDARD.decode(&given.base64) {
            Ok(body) if receipt.is_some_and(|receipt| body_hash(&body) == receipt.call.response_hash) => {
                bodies.insert(given.receipt, body);
            }
            _ => problems.push(format!("the body given for receipt {} does not hash to its receipt", given.receipt)),
        }
    }
    let failures = provenance::problems(&answer.result, provenance, &bodies, objective);
    let failed = match failures.first() {
        Some(ProvenanceError::UnknownFormat(_) | ProvenanceError::NotALeaf(_)) => leaves,
        _ => failures.len(),
    };
    problems.extend(failures.iter().map(|failure| format!("the result's citation: {failure}")));
    ((leaves - failed.min(leaves)) as f64 / leaves as f64, problems)
}

/// The spot checks of the module documentation, as problems.
fn spot_check(answer: &Answer, catalog: &Catalog, sent_ms: u64, received_ms: u64) -> Vec<String> {
    let mut problems = Vec::new();
    let receipts = &answer.receipts.receipts;
    if receipts.len() != answer.calls.len() {
        problems.push(format!("{} receipts for {} reported calls", receipts.len(), answer.calls.len()));
    }
    if receipts.is_empty() {
        problems.push("no subnet was called".to_owned());
    }
    for receipt in receipts {
        let call = &receipt.call;
        if catalog.endpoint(call.subnet, &call.endpoint).is_none() {
            problems.push(format!("receipt {} names SN{} {}, which the ledger does not list", receipt.index, call.subnet, call.endpoint));
        }
        if call.started_ms + CLOCK_SLACK_MS < sent_ms || call.started_ms > received_ms + CLOCK_SLACK_MS {
            problems.push(format!("receipt {} started at {} ms, outside the request's window {sent_ms}..{received_ms}", receipt.index, call.started_ms));
        }
    }
    let receipts_cost: u64 = receipts.iter().map(|receipt| receipt.call.cost_rao).sum();
    if receipts_cost != answer.cost.subnet_calls_rao {
        problems.push(format!("the answer claims {} rao of calls; its receipts sum to {receipts_cost}", answer.cost.subnet_calls_rao));
    }
    problems
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |since| since.as_millis() as u64)
}
