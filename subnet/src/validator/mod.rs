//! The validator: challenges miners, reviews the ledger's new versions, scores both kinds of
//! work and sets weights on chain.
//!
//! Terms:
//! - **round**: one pass, run once per tempo: read the metagraph and the subnet's
//!   hyperparameters; answer some of the round's challenges first with the validator's own
//!   engine ([`challenge::known`]); send every miner with an axon a [challenge](challenge); ask every miner's
//!   node which of the bodies the others' answers cite it received for a customer, an answer
//!   another node did the calls of being a [relay](relays) that grounds nothing; review the ledger
//!   versions since the last round; record both in the [`Scoreboard`]; turn the averages into
//!   weights as the Bittensor SDK does ([`process_weights_for_netuid`], then
//!   [`convert_weights_and_uids_for_emit`]); and submit them as the chain allows
//!   ([`weights_action`]): `set_weights`, or `commit_weights` with the reveal sent the next round.
//! - **approval**: a proposal waiting in the ledger's pool (see [`ledger::pool`]) is checked
//!   against the mirror's head (its signature, its proposer's entitlement, the probes of what
//!   it writes) and, when all hold, approved; a proposal enters the ledger's history only once
//!   validators holding two thirds of the stake approved it. Each round reviews the new
//!   versions, then at most [`PROPOSALS_PER_ROUND`] proposals, then the versions its approvals
//!   made.
//! - **review**: a new ledger version is applied to the validator's [mirror] of the ledger,
//!   which recomputes its root (a version whose checkpoint its changes do not reproduce ends
//!   the review), checked as [`review`] says (its parent, its diff hash, its proposer's
//!   signature and entitlement), probed ([`probe_changes`]: every endpoint it writes must answer
//!   its example input with a response that fits its declared output schema), every health
//!   record it writes is checked against a probe of its endpoint ([`check_health_claims`]), and,
//!   when all hold, the version is attested; then its writes count as the proposer's ledger
//!   work, for the entries whose values at the round's end differ from those before it
//!   ([`Writes`]; the earlier values read from the mirror), paid once a valid answer's cited
//!   call uses them ([`crate::incentive::used`]). When the ledger's latest final
//!   checkpoint has moved, the validator publishes its root on chain
//!   (`Commitments.set_commitment`, [`ledger_root_commitment`]), so anyone can check a ledger
//!   node against what the validators attested.

pub mod challenge;
pub mod mirror;
pub mod relays;
pub mod review;

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::path::PathBuf;
use std::time::Duration;

use futures::future::join_all;
use ledger::record::{Endpoint, Record};
use ledger::{Approval, Attestation, ChangeSet, Hash, Key, Namespace, Proposal};
use rand::seq::SliceRandom;
use rand::Rng;
use serde::Deserialize;
use subxt_signer::sr25519::Keypair;

use crate::chain::{ledger_root_commitment, weights_action, weights_commit_hash, AccountId32, ChainClient, ChainError, Hyperparameters, WeightsAction, H256};
use orchestrator::orchestrate::Orchestrator;
use orchestrator::route::Catalog;
use crate::incentive::lasting::{Lasting, Writes};
use crate::incentive::score::{Round, Scoreboard};
use crate::incentive::used::{Pending, Uses};
use crate::incentive::weights::{convert_weights_and_uids_for_emit, process_weights_for_netuid, WeightsError};
use crate::ledger_work::health_claims::{check_health_claims, DEGRADED_PROBES};
use crate::ledger_work::probe::probe_changes;
use orchestrator::outbound::{describe, excerpt, Origin};
use challenge::known::{self, KnownAnswerBudget};
use challenge::replay::{ReplayBudget, Replayer};
use challenge::{Challenge, MinerAxon, Verdict};
use mirror::{Mirror, MirrorError};
use review::LedgerVersion;

/// How long a probe of a changed endpoint may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(30);
/// Salt length of a weights commit, in u16s.
const SALT_LEN: usize = 8;

#[derive(Debug, thiserror::Error)]
pub enum ValidatorError {
    #[error(transparent)]
    Chain(#[from] ChainError),
    #[error("hotkey {0} is not registered on subnet {1}")]
    NotRegistered(String, u16),
    #[error("weights: {0}")]
    Weights(#[from] WeightsError),
    #[error("the ledger node at {url}: {reason}")]
    Ledger { url: String, reason: String },
    #[error("the ledger node at {url}: {error}")]
    Mirror { url: String, error: Box<MirrorError> },
}

#[derive(Clone, Debug)]
pub struct Settings {
    pub netuid: u16,
    /// Deadline of each challenge.
    pub challenge_deadline: Duration,
    /// The ledger node whose new versions the validator reviews and attests.
    pub ledger: Option<LedgerUnderReview>,
    /// What replaying miners' calls may cost each round.
    pub replays: ReplayBudget,
    /// How many challenges a round the validator answers itself first, and at what cost.
    pub known_answers: KnownAnswerBudget,
    /// What probing proposals may cost each round.
    pub probes: ProbeBudget,
}

/// What one validator's probes of proposals may cost a round. Every endpoint record a proposal
/// writes is probed once and every health record up to [`DEGRADED_PROBES`] times, each a call
/// with the validator's key. Versions are probed whatever the budget: a version exists only
/// once validators holding two thirds of the stake approved its proposal, and a review cannot
/// skip one and go on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProbeBudget {
    /// Most proposals reviewed in a round, oldest first.
    pub proposals_per_round: usize,
    /// Most probes the round's proposals may need together. A proposal needing more than the
    /// rest waits for the next round (those after it too, so that a large proposal is not
    /// passed over for ever); one needing more than the whole budget is refused.
    pub probes_per_round: usize,
}

impl Default for ProbeBudget {
    /// 32 proposals and 256 probes a round.
    fn default() -> ProbeBudget {
        ProbeBudget { proposals_per_round: 32, probes_per_round: 256 }
    }
}

/// How many probes `changes` may need at most (see [`ProbeBudget`]).
pub fn probes_needed(changes: &ChangeSet) -> usize {
    changes
        .changes()
        .iter()
        .filter(|change| change.value.is_some() && matches!(change.key.namespace, Namespace::Subnet(_)))
        .map(|change| match change.key.path.split_once('/') {
            Some(("endpoint", _)) => 1,
            Some(("health", _)) => DEGRADED_PROBES,
            _ => 0,
        })
        .sum()
}

/// A ledger node under review, and where the validator keeps its [mirror] of it.
#[derive(Clone, Debug)]
pub struct LedgerUnderReview {
    pub url: String,
    /// The mirror's directory, emptied when the validator starts.
    pub mirror_dir: PathBuf,
}

/// What one round did.
#[derive(Debug)]
pub struct RoundReport {
    pub block: u64,
    pub verdicts: Vec<(MinerAxon, Verdict)>,
    /// Why challenges drawn to have a known answer went without one (see [`challenge::known`]).
    pub known_answer_failures: Vec<String>,
    /// Ledger versions attested this round, with their proposers.
    pub attested: Vec<(u64, String)>,
    /// Ledger versions refused this round, with why.
    pub refused: Vec<(u64, String)>,
    /// Proposals approved this round, with their proposers.
    pub approved: Vec<(Hash, String)>,
    /// Proposals this round did not approve, with why.
    pub refused_proposals: Vec<(Hash, String)>,
    /// Whether proposals were left for the next round, the round's probe budget spent.
    pub proposals_deferred: bool,
    /// Ledger work paid this round: each proposer's count of lasting changes a valid answer
    /// used (see [`crate::incentive::used`]).
    pub ledger_work: BTreeMap<String, u64>,
    /// Lasting changes attested and not yet used, waiting.
    pub unused_changes: usize,
    /// Why the ledger review could not finish this round, if it could not.
    pub review_failure: Option<String>,
    /// The final ledger version whose root was published on chain this round.
    pub published: Option<u64>,
    /// The weights as emitted: uids and u16 values.
    pub weights: (Vec<u16>, Vec<u16>),
    pub action: WeightsAction,
    /// The extrinsic submitted, if any.
    pub extrinsic: Option<H256>,
}

/// A commit waiting for its reveal.
#[derive(Clone, Debug)]
struct PendingReveal {
    uids: Vec<u16>,
    values: Vec<u16>,
    salt: Vec<u16>,
    version_key: u64,
}

#[derive(Deserialize)]
struct LedgerChanges {
    versions: Vec<LedgerVersion>,
}

/// `GET /v1/proposals`, of which each proposal's id and approvers are read.
#[derive(Deserialize)]
struct Proposals {
    proposals: Vec<ProposalSummary>,
}

#[derive(Deserialize)]
struct ProposalSummary {
    id: Hash,
    received_ms: u64,
    approvals: Vec<String>,
}

/// Refused proposals a validator remembers, so as not to probe them again.
const REFUSED_REMEMBERED: usize = 4096;

/// `GET /v1/head`, of which the oldest version kept and the latest final checkpoint are read.
#[derive(Deserialize)]
struct LedgerHead {
    oldest_version: u64,
    #[serde(rename = "final")]
    latest_final: Option<FinalCheckpoint>,
}

#[derive(Deserialize)]
struct FinalCheckpoint {
    version: u64,
    root: ledger::Hash,
}

/// Largest answer read from the ledger node under review (a page of versions with their changes).
const MAX_LEDGER_ANSWER_BYTES: usize = 256 << 20;

/// What a review found.
#[derive(Default)]
struct Review {
    attested: Vec<(u64, String)>,
    refused: Vec<(u64, String)>,
    /// Proposals approved, with their proposers.
    approved: Vec<(Hash, String)>,
    /// Proposals not approved, with why.
    refused_proposals: Vec<(Hash, String)>,
    /// Whether proposals were left for the next round, the round's probes spent.
    proposals_deferred: bool,
    /// Why the review stopped, when it could not finish.
    failure: Option<String>,
    /// The ledger's latest final checkpoint after the review.
    latest_final: Option<FinalCheckpoint>,
}

pub struct Validator {
    chain: ChainClient,
    signer: Keypair,
    /// The validator's own engine: its hotkey, its keys to the subnets and the guard every call
    /// out goes through; it also answers the challenges whose answers the validator fixes.
    orchestrator: Orchestrator,
    settings: Settings,
    scoreboard: Scoreboard,
    /// The ledger under review as far as it has been reviewed; made at the first round.
    mirror: Option<Mirror>,
    /// What refused proposals wrote that still stands. Attesting a version vouches for its whole
    /// history, so nothing is attested while any of it stands: a bad proposal must be undone (its
    /// keys written again) before finality can pass it.
    standing_refused: BTreeMap<Key, Option<Vec<u8>>>,
    published_version: Option<u64>,
    pending_reveal: Option<PendingReveal>,
    /// Proposals this validator approved whose versions it has not reviewed yet: probed
    /// already, they are not probed again.
    approved: BTreeSet<Hash>,
    /// Proposals this validator refused, oldest first, not reviewed again (at most
    /// [`REFUSED_REMEMBERED`]): a proposer whose subnet was down resubmits against a newer
    /// base, which is a new proposal.
    refused_proposals: VecDeque<Hash>,
    /// Rounds run so far.
    rounds: u64,
    /// Lasting changes not yet used (see [`crate::incentive::used`]).
    pending: Pending,
}

impl Validator {
    /// A validator signing on chain with `signer` and off chain with `orchestrator`'s hotkey,
    /// the same key, calling out through `orchestrator`'s guard with its keys.
    pub fn new(chain: ChainClient, signer: Keypair, orchestrator: Orchestrator, settings: Settings) -> Validator {
        Validator {
            chain,
            signer,
            orchestrator,
            settings,
            scoreboard: Scoreboard::default(),
            mirror: None,
            standing_refused: BTreeMap::new(),
            published_version: None,
            pending_reveal: None,
            approved: BTreeSet::new(),
            refused_proposals: VecDeque::new(),
            rounds: 0,
            pending: Pending::default(),
        }
    }

    pub fn scoreboard(&self) -> &Scoreboard {
        &self.scoreboard
    }

    /// One round (see the module documentation); `catalog` is the validator's own ledger's:
    /// the challenges are drawn among the capabilities it routes with the validator's keys, and
    /// their spot checks and cost checks take the endpoints it lists.
    pub async fn round(&mut self, catalog: &Catalog) -> Result<RoundReport, ValidatorError> {
        let routable = catalog.offered(self.orchestrator.credentials());
        let netuid = self.settings.netuid;
        let metagraph = self.chain.metagraph(netuid, None).await?;
        let hyperparameters = self.chain.hyperparameters(netuid, None).await?;
        let me = AccountId32(self.signer.public_key().0);
        let own = metagraph.neurons.iter().find(|neuron| neuron.hotkey == me).ok_or_else(|| ValidatorError::NotRegistered(me.to_string(), netuid))?;
        let miners: Vec<MinerAxon> = metagraph
            .neurons
            .iter()
            .filter(|neuron| neuron.hotkey != me)
            .filter_map(|neuron| {
                let axon = neuron.axon?;
                Some(MinerAxon { uid: neuron.uid, hotkey: neuron.hotkey_ss58(), url: format!("http://{}", std::net::SocketAddr::new(axon.ip, axon.port)) })
            })
            .collect();

        let deadline = self.settings.challenge_deadline;
        let mut challenges = Challenge::generate_round(&routable, miners.len());
        let known_answer_failures = self.fix_answers(&mut challenges, catalog).await;
        let (guard, hotkey) = (self.orchestrator.guard(), self.orchestrator.hotkey());
        let replayer = Replayer::new(guard, self.orchestrator.credentials(), self.settings.replays);
        let replayer = &replayer;
        let sent_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |since| since.as_millis() as u64);
        let mut verdicts = join_all(miners.iter().zip(&challenges).map(|(miner, challenge)| async move {
            match challenge {
                Some(challenge) => challenge::run(guard, hotkey, miner, challenge, deadline, catalog, replayer).await,
                None => Verdict::unanswerable(deadline, "the validator's ledger routes no capability a challenge needs (web-search)"),
            }
        }))
        .await;
        let answered: Vec<relays::Answered> = verdicts.iter().map(|verdict| relays::Answered { cited: verdict.cited_bodies.clone(), valid: verdict.observation.is_valid() }).collect();
        for relay in relays::find(guard, hotkey, &miners, &answered, sent_ms).await {
            // Work another miner did grounds nothing for the one that passed it off.
            let verdict = &mut verdicts[relay.answer_index];
            verdict.observation.groundedness = 0.0;
            verdict.problems.push(relay.to_string());
        }
        let mut round = Round::new();
        let mut uses = Uses::default();
        for known in challenges.iter().flatten().filter_map(|challenge| challenge.known.as_ref()) {
            uses.cited(catalog, &known.cited_calls);
        }
        for ((miner, verdict), challenge) in miners.iter().zip(&verdicts).zip(&challenges) {
            round.observe(&miner.hotkey, challenge.as_ref().map_or(challenge::CHOSEN, |challenge| challenge.family), verdict.observation);
            if verdict.observation.is_valid() {
                uses.cited(catalog, &verdict.cited_calls);
            }
        }
        let registered: BTreeSet<String> = metagraph.neurons.iter().map(|neuron| neuron.hotkey_ss58()).collect();
        // A ledger node that fails the review does not stop the round: the miners' weights are
        // still set, and the report says what went wrong.
        let mut lasting = BTreeMap::new();
        let review = match self.review_ledger(&mut lasting, &registered).await {
            Ok(review) => review,
            Err(error) => Review { failure: Some(error.to_string()), ..Review::default() },
        };
        self.rounds += 1;
        self.pending.add(self.rounds, lasting);
        let ledger_work = self.pending.redeem(self.rounds, &uses);
        for (proposer, used) in &ledger_work {
            round.ledger_work(proposer, *used);
        }
        self.scoreboard.record(&round);
        let published = self.publish(review.latest_final).await?;

        let uids_by_hotkey: HashMap<String, u16> = metagraph.neurons.iter().map(|neuron| (neuron.hotkey_ss58(), neuron.uid)).collect();
        let (uids, scores) = self.scoreboard.weights(&uids_by_hotkey);
        let subnet_size = metagraph.neurons.len() as u16;
        let (uids, processed) = process_weights_for_netuid(&uids, &scores, subnet_size, hyperparameters.min_allowed_weights, hyperparameters.max_weights_limit, 0)?;
        let weights = convert_weights_and_uids_for_emit(&uids, &processed)?;
        let action = weights_action(&hyperparameters, own.last_update, metagraph.block.number);
        let extrinsic = self.emit(&hyperparameters, action, &weights).await?;
        Ok(RoundReport {
            block: metagraph.block.number,
            verdicts: miners.into_iter().zip(verdicts).collect(),
            known_answer_failures,
            ledger_work,
            unused_changes: self.pending.len(),
            attested: review.attested,
            refused: review.refused,
            approved: review.approved,
            refused_proposals: review.refused_proposals,
            proposals_deferred: review.proposals_deferred,
            review_failure: review.failure,
            published,
            weights,
            action,
            extrinsic,
        })
    }

    /// Answers up to the budget's count of the round's fixable challenges first, drawn at
    /// random, so that their answers are held to the validator's ([`challenge::known`]); why
    /// each that could not be fixed was not.
    async fn fix_answers(&self, challenges: &mut [Option<Challenge>], catalog: &Catalog) -> Vec<String> {
        let budget = self.settings.known_answers;
        let mut fixable: Vec<&mut Challenge> = challenges.iter_mut().flatten().filter(|challenge| known::fixable(&challenge.target_schema)).collect();
        fixable.shuffle(&mut rand::thread_rng());
        fixable.truncate(budget.per_round);
        let (orchestrator, deadline, shared) = (&self.orchestrator, self.settings.challenge_deadline, challenge::generate::shared_subject_words());
        let fixed = join_all(fixable.iter().map(|challenge| known::fix(orchestrator, catalog, challenge, budget, deadline, shared))).await;
        let mut failures = Vec::new();
        for (challenge, fixed) in fixable.into_iter().zip(fixed) {
            match fixed {
                Ok(known) => challenge.known = Some(known),
                Err(why) => failures.push(format!("{:?}: {why}", challenge.objective)),
            }
        }
        failures
    }

    /// Publishes `latest_final`'s root on chain when it is newer than the last one published.
    async fn publish(&mut self, latest_final: Option<FinalCheckpoint>) -> Result<Option<u64>, ValidatorError> {
        let Some(checkpoint) = latest_final.filter(|checkpoint| self.published_version < Some(checkpoint.version)) else { return Ok(None) };
        let commitment = ledger_root_commitment(checkpoint.version, &checkpoint.root);
        self.chain.set_commitment(&self.signer, self.settings.netuid, &commitment).await?;
        self.published_version = Some(checkpoint.version);
        Ok(Some(checkpoint.version))
    }

    /// Submits `weights` as `action` allows; a pending reveal goes first.
    async fn emit(&mut self, hyperparameters: &Hyperparameters, action: WeightsAction, weights: &(Vec<u16>, Vec<u16>)) -> Result<Option<H256>, ValidatorError> {
        let netuid = self.settings.netuid;
        let version_key = hyperparameters.weights_version_key;
        let (uids, values) = weights;
        if uids.is_empty() {
            return Ok(None);
        }
        match action {
            WeightsAction::WaitUntil(_) => Ok(None),
            WeightsAction::SetNow => Ok(Some(self.chain.set_weights(&self.signer, netuid, uids, values, version_key).await?)),
            WeightsAction::CommitNow => {
                if let Some(pending) = self.pending_reveal.take() {
                    self.chain.reveal_weights(&self.signer, netuid, &pending.uids, &pending.values, &pending.salt, pending.version_key).await?;
                }
                let salt: Vec<u16> = (0..SALT_LEN).map(|_| rand::thread_rng().gen()).collect();
                let me = AccountId32(self.signer.public_key().0);
                let hash = weights_commit_hash(&me, netuid, uids, values, &salt, version_key);
                let extrinsic = self.chain.commit_weights(&self.signer, netuid, hash).await?;
                self.pending_reveal = Some(PendingReveal { uids: uids.clone(), values: values.clone(), salt, version_key });
                Ok(Some(extrinsic))
            }
        }
    }

    /// Reviews the ledger (see the module documentation): the versions after the mirror's
    /// head, then the proposals waiting for approval, then the versions those approvals made;
    /// the lasting changes of attested versions go to `lasting`, each with its proposer.
    async fn review_ledger(&mut self, lasting: &mut BTreeMap<Key, Lasting>, registered: &BTreeSet<String>) -> Result<Review, ValidatorError> {
        let Some(LedgerUnderReview { url, mirror_dir }) = self.settings.ledger.clone() else { return Ok(Review::default()) };
        let failed = |reason: String| ValidatorError::Ledger { url: url.clone(), reason };
        let head: LedgerHead = self.get_json(&format!("{url}/v1/head")).await.map_err(failed)?;
        let start = head.latest_final.as_ref().map_or(head.oldest_version, |checkpoint| checkpoint.version);
        let mirror_failed = |error: MirrorError| ValidatorError::Mirror { url: url.clone(), error: Box::new(error) };
        let mut mirror = match self.mirror.take() {
            Some(mirror) => mirror,
            None => Mirror::bootstrap(self.orchestrator.guard(), &url, &mirror_dir, start).await.map_err(mirror_failed)?,
        };
        // A node that has pruned the version the mirror is at can no longer serve what follows
        // it: the mirror starts again from a snapshot its validators attested.
        if mirror.head().version < head.oldest_version {
            if let Err(error) = mirror.restart(self.orchestrator.guard(), &url, &mirror_dir, start).await {
                self.mirror = Some(mirror);
                return Err(mirror_failed(error));
            }
        }
        let before_round = *mirror.head();
        let mut writes = Writes::default();
        let mut review = Review::default();
        let reviewed = async {
            self.review_versions(&url, &mut mirror, &mut writes, &mut review, registered).await?;
            self.review_proposals(&url, &mirror, &mut review, registered).await?;
            if !review.approved.is_empty() {
                self.review_versions(&url, &mut mirror, &mut writes, &mut review, registered).await?;
            }
            Ok::<(), ValidatorError>(())
        }
        .await;
        // An earlier value that cannot be read (pruned from the mirror) credits nothing.
        let before: BTreeMap<Key, Option<Vec<u8>>> = writes.keys().filter_map(|key| Some((key.clone(), mirror.get_at(key, before_round.version).ok()?))).collect();
        lasting.extend(writes.lasting(&before));
        self.mirror = Some(mirror);
        reviewed?;
        // The attestations just made may have finalised versions the listing did not show.
        let head: LedgerHead = self.get_json(&format!("{url}/v1/head")).await.map_err(failed)?;
        review.latest_final = head.latest_final;
        Ok(review)
    }

    /// Applies the versions after the mirror's head to it and attests those that hold,
    /// recording their writes for credit.
    async fn review_versions(&mut self, url: &str, mirror: &mut Mirror, writes: &mut Writes, review: &mut Review, registered: &BTreeSet<String>) -> Result<(), ValidatorError> {
        let failed = |reason: String| ValidatorError::Ledger { url: url.to_owned(), reason };
        let changes: LedgerChanges = self.get_json(&format!("{url}/v1/changes?since={}", mirror.head().version)).await.map_err(failed)?;
        for version in changes.versions {
            let number = version.checkpoint.version;
            let previous = *mirror.head();
            let mut problems = review::problems(&previous, &version);
            // A version that does not follow the chain, or whose changes do not give its root,
            // ends the review: nothing after it can be judged against it.
            if !review::follows(&previous, &version.checkpoint) {
                review.refused.push((number, problems.join("; ")));
                break;
            }
            if let Err(error) = mirror.apply(&version) {
                problems.push(format!("its changes do not reproduce its checkpoint: {error}"));
                review.refused.push((number, problems.join("; ")));
                break;
            }
            if let (true, Some(proposer)) = (problems.is_empty(), &version.proposer) {
                problems.extend(review::membership_problem(|key| mirror.get_at(key, previous.version), &previous, &version.changes, proposer, registered));
            }
            if !problems.is_empty() {
                self.refuse(&version);
                review.refused.push((number, problems.join("; ")));
                continue;
            }
            self.overwrite(&version.changes);
            let proposer = version.proposer.clone().expect("a version without a proposer was refused");
            // A proposal this validator approved was probed before it approved it.
            let approved = version.diff.as_ref().is_some_and(|diff| self.approved.remove(&ledger::proposal_id(diff)));
            let failures = if approved { Vec::new() } else { self.probe_failures(mirror, &version.changes).await };
            if !failures.is_empty() {
                self.refuse(&version);
                review.refused.push((number, failures.join("; ")));
                continue;
            }
            if let Some(key) = self.standing_refused.keys().next() {
                review.refused.push((number, format!("a refused proposal's change to {key} still stands in its history ({} in all)", self.standing_refused.len())));
                continue;
            }
            if let Some(refusal) = self.send(url, "attestations", &Attestation::sign(&version.checkpoint, self.orchestrator.hotkey())).await? {
                review.refused.push((number, format!("the ledger refused the attestation: {refusal}")));
                continue;
            }
            writes.record(&proposer, &version.changes);
            review.attested.push((number, proposer));
        }
        Ok(())
    }

    /// Reviews the proposals waiting for approval that this validator has not approved, oldest
    /// first within the round's [`ProbeBudget`], against the mirror's head: each whose
    /// signature, proposer and probes hold is approved.
    async fn review_proposals(&mut self, url: &str, mirror: &Mirror, review: &mut Review, registered: &BTreeSet<String>) -> Result<(), ValidatorError> {
        let failed = |reason: String| ValidatorError::Ledger { url: url.to_owned(), reason };
        let mut listed: Proposals = self.get_json(&format!("{url}/v1/proposals")).await.map_err(failed)?;
        // Oldest first, so that no proposer can push others back by the ids it picks; those
        // already approved or refused by this validator are not reviewed again.
        listed.proposals.sort_by_key(|summary| summary.received_ms);
        let me = self.orchestrator.hotkey().ss58();
        let unseen: Vec<ProposalSummary> = listed.proposals.into_iter().filter(|summary| !summary.approvals.contains(&me) && !self.refused_proposals.contains(&summary.id)).take(self.settings.probes.proposals_per_round).collect();
        let mut probes_left = self.settings.probes.probes_per_round;
        for summary in unseen {
            // Another validator's approval may have applied it since the listing: nothing to do.
            let Ok(proposal) = self.get_json::<Proposal>(&format!("{url}/v1/proposals/{}", summary.id)).await else { continue };
            let (id, diff) = (ledger::proposal_id(&proposal.diff), &proposal.diff);
            let proposer = diff.proposal.proposer.clone();
            let mut problems = Vec::new();
            if id != summary.id {
                problems.push(format!("the node served another diff (id {id}) for proposal {}", summary.id));
            } else if let Err(error) = diff.check() {
                problems.push(format!("its signed diff does not hold: {error}"));
            } else if let Some(problem) = review::membership_problem(|key| mirror.get_at(key, mirror.head().version), mirror.head(), &diff.proposal.changes, &proposer, registered) {
                problems.push(problem);
            }
            let needed = probes_needed(&diff.proposal.changes);
            if problems.is_empty() && needed > self.settings.probes.probes_per_round {
                problems.push(format!("it needs {needed} probes, more than the {} this validator makes in a round", self.settings.probes.probes_per_round));
            } else if problems.is_empty() && needed > probes_left {
                // The round's probes are spent: this proposal and the later ones wait.
                review.proposals_deferred = true;
                break;
            }
            if problems.is_empty() {
                probes_left -= needed;
                problems = self.probe_failures(mirror, &diff.proposal.changes).await;
            }
            if !problems.is_empty() {
                self.remember_refused(summary.id);
                review.refused_proposals.push((summary.id, problems.join("; ")));
                continue;
            }
            if let Some(refusal) = self.send(url, "approvals", &Approval::sign(&id, self.orchestrator.hotkey())).await? {
                review.refused_proposals.push((id, format!("the ledger refused the approval: {refusal}")));
                continue;
            }
            // Remembered to spare the version its probes; past the bound it is simply probed again.
            if self.approved.len() >= REFUSED_REMEMBERED {
                self.approved.clear();
            }
            self.approved.insert(id);
            review.approved.push((id, proposer));
        }
        Ok(())
    }

    /// What fails of `changes`: the probes of the endpoints they write, and the health claims
    /// they make, each checked against the endpoint as `changes` on top of the mirror's head
    /// have it. Empty when everything holds.
    async fn probe_failures(&self, mirror: &Mirror, changes: &ChangeSet) -> Vec<String> {
        let probes = probe_changes(self.orchestrator.guard(), changes, self.orchestrator.credentials(), PROBE_TIMEOUT).await;
        let endpoints = claimed_endpoints(mirror, changes);
        let endpoint_of = |netuid: u16, name: &str| endpoints.get(&(netuid, name.to_owned())).cloned();
        let claims = check_health_claims(self.orchestrator.guard(), changes, endpoint_of, self.orchestrator.credentials(), PROBE_TIMEOUT).await;
        probes
            .iter()
            .filter_map(|(key, probe)| probe.as_ref().err().map(|error| format!("{key}: {error}")))
            .chain(claims.iter().filter_map(|(key, claim)| claim.as_ref().err().map(|error| format!("{key}: {error}"))))
            .collect()
    }

    fn remember_refused(&mut self, id: Hash) {
        if self.refused_proposals.len() == REFUSED_REMEMBERED {
            self.refused_proposals.pop_front();
        }
        self.refused_proposals.push_back(id);
    }

    /// Records what a refused version wrote as standing, when a proposer wrote it (an operator's
    /// own writes are never attested, but are the operator's to answer for). Its own changes
    /// overwrite earlier standing ones first.
    fn refuse(&mut self, version: &LedgerVersion) {
        self.overwrite(&version.changes);
        if version.proposer.is_some() {
            self.standing_refused.extend(version.changes.changes().iter().map(|change| (change.key.clone(), change.value.clone())));
        }
    }

    /// Forgets the standing refused changes that `changes` writes over with something else.
    fn overwrite(&mut self, changes: &ChangeSet) {
        for change in changes.changes() {
            if self.standing_refused.get(&change.key).is_some_and(|standing| *standing != change.value) {
                self.standing_refused.remove(&change.key);
            }
        }
    }

    /// POSTs `signed` (an attestation or an approval) to the ledger node's `/v1/{route}`: `None`
    /// when it was taken, else what the node said; an error when the node cannot be reached.
    async fn send(&self, url: &str, route: &str, signed: &impl serde::Serialize) -> Result<Option<String>, ValidatorError> {
        let failed = |reason: String| ValidatorError::Ledger { url: url.to_owned(), reason };
        let request = self.orchestrator.guard().post(&format!("{url}/v1/{route}"), Origin::Operator).map_err(|refusal| failed(refusal.to_string()))?;
        let response = request.json(signed).send().await.map_err(|error| failed(describe(&error)))?;
        if response.status().is_success() {
            return Ok(None);
        }
        Ok(Some(response.bytes().await.map(|body| excerpt(&body)).unwrap_or_default()))
    }

    /// A successful JSON answer to a GET of `url`, or why there is none.
    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, String> {
        review::get_json_capped(self.orchestrator.guard(), url, MAX_LEDGER_ANSWER_BYTES).await
    }
}

/// The endpoint records that the health records of `changes` speak of, as `changes` on top of
/// the mirror's head have them; one that neither holds is left out, and its claim then fails.
fn claimed_endpoints(mirror: &Mirror, changes: &ChangeSet) -> HashMap<(u16, String), Endpoint> {
    let mut endpoints = HashMap::new();
    for change in changes.changes() {
        let (Namespace::Subnet(netuid), Some(name)) = (change.key.namespace, change.key.path.strip_prefix("health/")) else { continue };
        let Ok(key) = Key::new(Namespace::Subnet(netuid), format!("endpoint/{name}")) else { continue };
        let written = changes.changes().iter().find(|written| written.key == key).map(|written| written.value.clone());
        let value = match written {
            Some(value) => value,
            None => mirror.get_at(&key, mirror.head().version).ok().flatten(),
        };
        if let Some(Ok(Record::Endpoint(endpoint))) = value.map(|value| Record::decode(&key, &value)) {
            endpoints.insert((netuid, name.to_owned()), endpoint);
        }
    }
    endpoints
}
