//! The validator: challenges miners, reviews the ledger's new versions, scores both kinds of
//! work and sets weights on chain.
//!
//! Terms:
//! - **round**: one pass, run once per tempo: read the metagraph and the subnet's
//!   hyperparameters; send every miner with an axon a [challenge](challenge); review the ledger
//!   versions since the last round; record both in the [`Scoreboard`]; turn the averages into
//!   weights as the Bittensor SDK does ([`process_weights_for_netuid`], then
//!   [`convert_weights_and_uids_for_emit`]); and submit them as the chain allows
//!   ([`weights_action`]): `set_weights`, or `commit_weights` with the reveal sent the next round.
//! - **review**: a new ledger version is applied to the validator's [mirror] of the ledger,
//!   which recomputes its root (a version whose checkpoint its changes do not reproduce ends
//!   the review), checked as [`review`] says (its parent, its diff hash, its proposer's
//!   signature and entitlement), probed ([`probe_changes`]: every endpoint it writes must answer
//!   its example input with a response that fits its declared output schema), every health
//!   record it writes is checked against a probe of its endpoint ([`check_health_claims`]), and,
//!   when all hold, the version is attested; then its writes count as the proposer's ledger
//!   work, for the entries whose values at the round's end differ from those before it
//!   ([`Writes`]; the earlier values read from the mirror). When the ledger's latest final
//!   checkpoint has moved, the validator publishes its root on chain
//!   (`Commitments.set_commitment`, [`ledger_root_commitment`]), so anyone can check a ledger
//!   node against what the validators attested.

pub mod challenge;
pub mod mirror;
pub mod review;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::time::Duration;

use futures::future::join_all;
use ledger::hotkey::Hotkey;
use ledger::record::{Endpoint, Record};
use ledger::{Attestation, ChangeSet, Key, Namespace};
use rand::Rng;
use serde::Deserialize;
use subxt_signer::sr25519::Keypair;

use crate::chain::{ledger_root_commitment, weights_action, weights_commit_hash, AccountId32, ChainClient, ChainError, Hyperparameters, WeightsAction, H256};
use orchestrator::credentials::Credentials;
use crate::incentive::lasting::Writes;
use crate::incentive::score::{Round, Scoreboard};
use crate::incentive::weights::{convert_weights_and_uids_for_emit, process_weights_for_netuid, WeightsError};
use crate::ledger_work::health_claims::check_health_claims;
use crate::ledger_work::probe::probe_changes;
use orchestrator::outbound::{describe, excerpt, Guard, Origin};
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
    /// Ledger versions attested this round, with their proposers.
    pub attested: Vec<(u64, String)>,
    /// Ledger versions refused this round, with why.
    pub refused: Vec<(u64, String)>,
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
    /// The ledger's latest final checkpoint after the review.
    latest_final: Option<FinalCheckpoint>,
}

pub struct Validator {
    chain: ChainClient,
    signer: Keypair,
    hotkey: Hotkey,
    guard: Guard,
    credentials: Credentials,
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
}

impl Validator {
    /// A validator signing on chain with `signer` and off chain with `hotkey`, the same key,
    /// calling out through `guard`.
    pub fn new(chain: ChainClient, signer: Keypair, hotkey: Hotkey, guard: Guard, credentials: Credentials, settings: Settings) -> Validator {
        Validator {
            chain,
            signer,
            hotkey,
            guard,
            credentials,
            settings,
            scoreboard: Scoreboard::default(),
            mirror: None,
            standing_refused: BTreeMap::new(),
            published_version: None,
            pending_reveal: None,
        }
    }

    pub fn scoreboard(&self) -> &Scoreboard {
        &self.scoreboard
    }

    /// One round (see the module documentation); `listed` holds the `(netuid, endpoint)`
    /// pairs of the validator's ledger, for the challenges' spot checks.
    pub async fn round(&mut self, listed: &BTreeSet<(u16, String)>) -> Result<RoundReport, ValidatorError> {
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
        let challenges: Vec<Challenge> = miners.iter().map(|_| Challenge::random()).collect();
        let verdicts = join_all(miners.iter().zip(&challenges).map(|(miner, challenge)| challenge::run(&self.guard, &self.hotkey, miner, challenge, deadline, listed))).await;
        let mut round = Round::new();
        for (miner, verdict) in miners.iter().zip(&verdicts) {
            round.observe(&miner.hotkey, verdict.observation);
        }
        let registered: BTreeSet<String> = metagraph.neurons.iter().map(|neuron| neuron.hotkey_ss58()).collect();
        let review = self.review_ledger(&mut round, &registered).await?;
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
            attested: review.attested,
            refused: review.refused,
            published,
            weights,
            action,
            extrinsic,
        })
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

    /// Reviews the ledger versions after the last reviewed one (see the module
    /// documentation), crediting the proposers of attested versions in `round`.
    async fn review_ledger(&mut self, round: &mut Round, registered: &BTreeSet<String>) -> Result<Review, ValidatorError> {
        let Some(LedgerUnderReview { url, mirror_dir }) = self.settings.ledger.clone() else { return Ok(Review::default()) };
        let failed = |reason: String| ValidatorError::Ledger { url: url.clone(), reason };
        let head: LedgerHead = self.get_json(&format!("{url}/v1/head")).await.map_err(failed)?;
        let mut mirror = match self.mirror.take() {
            // A node that has pruned the version the mirror is at can no longer serve what
            // follows it: the mirror starts again from a snapshot.
            Some(mirror) if mirror.head().version >= head.oldest_version => mirror,
            _ => Mirror::bootstrap(&self.guard, &url, &mirror_dir).await.map_err(|error| ValidatorError::Mirror { url: url.clone(), error: Box::new(error) })?,
        };
        let reviewed = self.review_versions(&url, &mut mirror, round, registered).await;
        self.mirror = Some(mirror);
        let (attested, refused) = reviewed?;
        // The attestations just made may have finalised versions the listing did not show.
        let head: LedgerHead = self.get_json(&format!("{url}/v1/head")).await.map_err(failed)?;
        Ok(Review { attested, refused, latest_final: head.latest_final })
    }

    /// [`Self::review_ledger`] with the mirror in hand: the attested and the refused versions.
    async fn review_versions(&mut self, url: &str, mirror: &mut Mirror, round: &mut Round, registered: &BTreeSet<String>) -> Result<(Vec<(u64, String)>, Vec<(u64, String)>), ValidatorError> {
        let failed = |reason: String| ValidatorError::Ledger { url: url.to_owned(), reason };
        let changes: LedgerChanges = self.get_json(&format!("{url}/v1/changes?since={}", mirror.head().version)).await.map_err(failed)?;
        let before_round = *mirror.head();
        let mut writes = Writes::default();
        let (mut attested, mut refused) = (Vec::new(), Vec::new());
        for version in changes.versions {
            let number = version.checkpoint.version;
            let previous = *mirror.head();
            let mut problems = review::problems(&previous, &version);
            // A version that does not follow the chain, or whose changes do not give its root,
            // ends the review: nothing after it can be judged against it.
            if !review::follows(&previous, &version.checkpoint) {
                refused.push((number, problems.join("; ")));
                break;
            }
            if let Err(error) = mirror.apply(&version) {
                problems.push(format!("its changes do not reproduce its checkpoint: {error}"));
                refused.push((number, problems.join("; ")));
                break;
            }
            if let (true, Some(proposer)) = (problems.is_empty(), &version.proposer) {
                problems.extend(review::membership_problem(|key| mirror.get_at(key, previous.version), &previous, &version.changes, proposer, registered));
            }
            if !problems.is_empty() {
                self.refuse(&version);
                refused.push((number, problems.join("; ")));
                continue;
            }
            self.overwrite(&version.changes);
            let proposer = version.proposer.clone().expect("a version without a proposer was refused");
            let probes = probe_changes(&self.guard, &version.changes, &self.credentials, PROBE_TIMEOUT).await;
            let endpoints = claimed_endpoints(mirror, &version.changes);
            let endpoint_of = |netuid: u16, name: &str| endpoints.get(&(netuid, name.to_owned())).cloned();
            let claims = check_health_claims(&self.guard, &version.changes, endpoint_of, &self.credentials, PROBE_TIMEOUT).await;
            let failures: Vec<String> = probes
                .iter()
                .filter_map(|(key, probe)| probe.as_ref().err().map(|error| format!("{key}: {error}")))
                .chain(claims.iter().filter_map(|(key, claim)| claim.as_ref().err().map(|error| format!("{key}: {error}"))))
                .collect();
            if !failures.is_empty() {
                self.refuse(&version);
                refused.push((number, failures.join("; ")));
                continue;
            }
            if let Some(key) = self.standing_refused.keys().next() {
                refused.push((number, format!("a refused proposal's change to {key} still stands in its history ({} in all)", self.standing_refused.len())));
                continue;
            }
            let attestation = Attestation::sign(&version.checkpoint, &self.hotkey);
            let request = self.guard.post(&format!("{url}/v1/attestations"), Origin::Operator).map_err(|refusal| failed(refusal.to_string()))?;
            let response = request.json(&attestation).send().await.map_err(|error| failed(describe(&error)))?;
            if !response.status().is_success() {
                let body = response.bytes().await.map(|body| excerpt(&body)).unwrap_or_default();
                refused.push((number, format!("the ledger refused the attestation: {body}")));
                continue;
            }
            writes.record(&proposer, &version.changes);
            attested.push((number, proposer));
        }
        // An earlier value that cannot be read (pruned from the mirror) credits nothing.
        let before: BTreeMap<Key, Option<Vec<u8>>> = writes.keys().filter_map(|key| Some((key.clone(), mirror.get_at(key, before_round.version).ok()?))).collect();
        for (proposer, changed) in writes.lasting(&before) {
            round.attested_diff(&proposer, changed);
        }
        Ok((attested, refused))
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

    /// A successful JSON answer to a GET of `url`, or why there is none.
    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, String> {
        review::get_json_capped(&self.guard, url, MAX_LEDGER_ANSWER_BYTES).await
    }
}

/// The endpoint records (at the mirror's head) that the health records of `changes` speak of;
/// one the mirror does not hold is left out, and its claim then fails.
fn claimed_endpoints(mirror: &Mirror, changes: &ChangeSet) -> HashMap<(u16, String), Endpoint> {
    let mut endpoints = HashMap::new();
    for change in changes.changes() {
        let (Namespace::Subnet(netuid), Some(name)) = (change.key.namespace, change.key.path.strip_prefix("health/")) else { continue };
        let Ok(key) = Key::new(Namespace::Subnet(netuid), format!("endpoint/{name}")) else { continue };
        if let Ok(Some(value)) = mirror.get_at(&key, mirror.head().version) {
            if let Ok(Record::Endpoint(endpoint)) = Record::decode(&key, &value) {
                endpoints.insert((netuid, name.to_owned()), endpoint);
            }
        }
    }
    endpoints
}
