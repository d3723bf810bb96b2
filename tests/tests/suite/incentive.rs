//! The incentive mechanism end to end on loopback: one validator, two miners and local subnet
//! servers, the chain being subxt over a mock node serving finney's real runtime metadata.
//!
//! The honest miner answers challenges with real orchestrations and proposes a ledger diff the
//! subnets bear out; the forger answers with receipts it altered (and signs that answer, as a
//! real forger would) and proposes a diff pointing an endpoint at nothing. The validator must
//! score the honest miner higher and submit weights that say so, in an extrinsic that decodes
//! with the real metadata to the expected uids and weights.
//!
//! The mock node proves encoding, decoding and signing against the real runtime; it does not
//! run the runtime's own checks (rate limits, permits, stake), which only a live chain does.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ledger::hotkey::Hotkey;
use ledger::record::{Endpoint, Record, Stake};
use ledger::{Change, ChangeSet, DiffProposal, Key, Ledger, Namespace, SystemNamespace};
use orchestra_server::api::paid::Pricing;
use orchestra_server::api::proposers::{ProposerGate, Quota};
use orchestra_server::api::{router, AppState};
use orchestra_server::simulate::strategies;
use subnet::chain::testing::{decode_signed_call, mock_node_with_storage, Submitted};
use subnet::chain::{ChainClient, WeightsAction};
use subnet::epistula;
use orchestrator::outbound::{Guard, Policy};
use orchestrator::route::Catalog;
use subnet::validator::challenge::known::{self, KnownAnswerBudget};
use subnet::validator::challenge::replay::{Replay, ReplayBudget, Replayer};
use subnet::validator::challenge;
use subnet::validator::{LedgerUnderReview, ProbeBudget, Settings, Validator};
use serde_json::Value;
use testkit::{SubnetKind, SubnetServer, TestLedger};

use crate::common::chain::{chain_state, serve, Participant, NETUID};

/// The catalog of a validator's own ledger over `subnets`.
fn validator_catalog(subnets: &[&SubnetServer]) -> Catalog {
    Catalog::read(&testkit::test_ledger(subnets).ledger).unwrap()
}

/// A miner's node: its own ledger over the local subnets, answering `validator`'s challenges.
async fn miner(key: &Participant, validator: &Participant, subnets: &[&SubnetServer], prepare: impl FnOnce(&mut Ledger)) -> (u16, tempfile::TempDir) {
    miner_proposing_to(None, key, validator, subnets, prepare).await
}

/// [`miner`], proposing its diffs to `primary` when given.
async fn miner_proposing_to(primary: Option<String>, key: &Participant, validator: &Participant, subnets: &[&SubnetServer], prepare: impl FnOnce(&mut Ledger)) -> (u16, tempfile::TempDir) {
    let TestLedger { mut ledger, dir } = testkit::test_ledger(subnets);
    prepare(&mut ledger);
    let spec = strategies::NodeSpec { hotkey: key.hotkey(), validator: validator.hotkey.ss58(), primary, gate: None, fee_rao: 1_000 };
    (strategies::node(spec, ledger).await.unwrap(), dir)
}

/// A forger in front of a miner's node: it passes challenges on, then lowers the cost of the
/// first receipt in the answer and signs the altered answer with its own hotkey.
async fn forger(node_port: u16, forger: Hotkey) -> u16 {
    rewriting_proxy(node_port, forger, |body| {
        let cost = &mut body["receipts"]["receipts"][0]["call"]["cost_rao"];
        *cost = (cost.as_u64().unwrap() / 2).into();
    })
    .await
}

/// A proxy in front of a miner's node: it passes challenges on, rewrites the answer with
/// `rewrite` and signs what it sends with `hotkey`, as a cheating miner would.
async fn rewriting_proxy(node_port: u16, hotkey: Hotkey, rewrite: impl Fn(&mut Value) + Send + Sync + 'static) -> u16 {
    let rewrite = Arc::new(rewrite);
    let rewriting = strategies::answer(move |headers, body| {
        let rewrite = rewrite.clone();
        async move {
            let mut answer = strategies::forward(node_port, &headers, body).await?;
            rewrite(&mut answer);
            Ok(answer)
        }
    });
    strategies::axon(hotkey, rewriting).await.unwrap()
}

/// A signed diff from `proposer` changing Desearch's `web-search` endpoint with `change`.
fn endpoint_diff(ledger: &Ledger, proposer: &Hotkey, change: impl FnOnce(&mut Endpoint)) -> ledger::SignedDiff {
    let key = Key::new(Namespace::Subnet(22), "endpoint/web-search").unwrap();
    let Record::Endpoint(mut endpoint) = Record::decode(&key, &ledger.get(&key).unwrap().unwrap()).unwrap() else { panic!("an endpoint") };
    change(&mut endpoint);
    let changes = ChangeSet::new([Change { key, value: Some(Record::Endpoint(endpoint).encode()) }]);
    DiffProposal { base_version: ledger.head().version, base_root: ledger.head().state_root, changes, proposer: proposer.ss58() }.sign(proposer)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_honest_miner_ends_with_the_higher_weight() {
    let desearch = SubnetServer::start(SubnetKind::Desearch).await;
    let data_universe = SubnetServer::start(SubnetKind::DataUniverse).await;
    let subnets = [&desearch, &data_universe];
    // Live subnets hold posts on whatever topic a challenge draws.
    for subnet in subnets {
        subnet.set_drift(1);
    }
    let (validator, honest, dishonest) = (Participant::new(1), Participant::new(2), Participant::new(3));

    // The ledger node the validator reviews: the honest miner's, where both propose diffs.
    let validator_stake = Key::new(Namespace::System(SystemNamespace::Validators), validator.hotkey.ss58()).unwrap();
    let (honest_port, _honest_data) = miner(&honest, &validator, &subnets, |ledger| {
        ledger.commit(ChangeSet::new([Change { key: validator_stake, value: Some(Record::Stake(Stake { rao: 1_000_000 }).encode()) }])).unwrap();
        let faster = endpoint_diff(ledger, &honest.hotkey, |endpoint| endpoint.timeout_ms = 20_000);
        ledger.apply_diff(&faster, &|hotkey| hotkey == honest.hotkey.ss58()).unwrap();
        let broken = endpoint_diff(ledger, &dishonest.hotkey, |endpoint| endpoint.url = "http://127.0.0.1:9/web".into());
        ledger.apply_diff(&broken, &|hotkey| hotkey == dishonest.hotkey.ss58()).unwrap();
    })
    .await;
    let (forger_node_port, _forger_data) = miner(&dishonest, &validator, &subnets, |_| {}).await;
    let forger_port = forger(forger_node_port, dishonest.hotkey()).await;

    let submitted: Submitted = Arc::new(Mutex::new(Vec::new()));
    let storage = chain_state(&validator, [(&honest, honest_port), (&dishonest, forger_port)]);
    let chain = ChainClient::from_rpc_client(mock_node_with_storage(submitted.clone(), true, storage)).await.unwrap();
    let mirror = tempfile::tempdir().unwrap();
    let settings = Settings { netuid: NETUID, challenge_deadline: Duration::from_secs(20), ledger: Some(LedgerUnderReview { url: format!("http://127.0.0.1:{honest_port}"), mirror_dir: mirror.path().join("mirror") }), replays: ReplayBudget::default(), known_answers: KnownAnswerBudget::default(), probes: ProbeBudget::default() };
    let mut validator_node = Validator::new(chain, validator.chain.clone(), validator.engine(strategies::credentials()), settings);
    let TestLedger { ledger: validator_ledger, dir: _validator_data } = testkit::test_ledger(&subnets);
    let catalog = Catalog::read(&validator_ledger).unwrap();

    let report = validator_node.round(&catalog).await.unwrap();

    let verdict = |uid: u16| &report.verdicts.iter().find(|(miner, _)| miner.uid == uid).unwrap().1;
    assert!(verdict(1).problems.is_empty(), "the honest miner's answer checks: {:?}", verdict(1).problems);
    assert!(verdict(1).observation.receipts_valid && verdict(1).observation.schema_valid);
    assert!(!verdict(2).observation.receipts_valid, "the forged receipts are caught");
    assert!(verdict(2).problems.iter().any(|problem| problem.contains("receipts do not verify")), "{:?}", verdict(2).problems);

    // Versions 1 and 2 are the operator's local writes (subnets, validator set), which no
    // proposer signed and so are never attested; 3 is the honest miner's endpoint diff, 4 the
    // forger's; the honest miner's node may add health diffs of its own from the challenge it
    // served, which hold no endpoint and are attested too.
    assert_eq!(report.attested[0], (3, honest.hotkey.ss58()), "the diff the subnets bear out is attested");
    assert!(report.attested.iter().all(|(_, proposer)| *proposer == honest.hotkey.ss58()), "{:?}", report.attested);
    // Later versions (the honest node's health diffs) are not attested while the forger's
    // refused change still stands in their history: attesting them would vouch for it. A health
    // claim is judged against the endpoint as its own version holds it, which is the forger's
    // dead address, so a claim that it is up is refused for that too.
    let refused: Vec<u64> = report.refused.iter().map(|(version, _)| *version).collect();
    assert_eq!(refused[..3], [1, 2, 4], "{:?}", report.refused);
    assert!(report.refused[..2].iter().all(|(_, why)| why.contains("local write")), "{:?}", report.refused);
    assert!(report.refused[2].1.contains("endpoint/web-search"), "{:?}", report.refused);
    assert!(report.refused[3..].iter().all(|(_, why)| why.contains("still stands") || why.contains("claimed up, but the probe failed: no answer from http://127.0.0.1:9/")), "{:?}", report.refused);
    assert_eq!(report.attested.len(), 1, "nothing after the refused proposal is attested: {:?}", report.attested);

    let scores = validator_node.scoreboard();
    assert!(scores.miner(&honest.hotkey.ss58()).combined() > scores.miner(&dishonest.hotkey.ss58()).combined());
    // The honest diff is a lasting change, read back with proofs; the round's answers were
    // written from ledgers without it, so it waits for a later round's use.
    assert!(report.ledger_work.is_empty() && report.unused_changes >= 1, "{:?} {}", report.ledger_work, report.unused_changes);

    // The honest diff's version, attested by the only validator, is final: its root goes on chain.
    let final_version = report.published.expect("a final version is published");
    assert!(final_version >= 3);
    let submitted = submitted.lock().unwrap();
    assert_eq!(submitted.len(), 2, "set_commitment, then set_weights");
    let commitment = decode_signed_call(&submitted[0]);
    assert_eq!((commitment.pallet.as_str(), commitment.call.as_str()), ("Commitments", "set_commitment"));
    assert_eq!(commitment.signer, validator.account());

    assert_eq!(report.action, WeightsAction::SetNow);
    let call = decode_signed_call(&submitted[1]);
    assert_eq!((call.pallet.as_str(), call.call.as_str()), ("SubtensorModule", "set_weights"));
    assert_eq!(call.signer, validator.account());
    assert_eq!(call.arg::<u16>("netuid"), NETUID);
    let dests: Vec<u16> = call.arg("dests");
    let weights: Vec<u16> = call.arg("weights");
    assert_eq!(call.arg::<u64>("version_key"), 3);
    assert_eq!((dests.clone(), weights.clone()), report.weights);
    let weight_of = |uid: u16| dests.iter().position(|dest| *dest == uid).map_or(0, |position| weights[position]);
    assert_eq!(weight_of(1), u16::MAX, "the honest miner gets the largest weight");
    assert!(weight_of(2) < weight_of(1));
    assert_eq!(weight_of(0), 0, "the validator does not weight itself");
    drop(submitted);

    // The next round's honest answer cites the web search the diff made faster: it is paid.
    // That round's validator routes web search alone, so its challenges ask for it.
    let TestLedger { ledger: mut web_only, dir: _web_only_data } = testkit::test_ledger(&[&desearch]);
    let x_endpoints = ["x-search", "x-links-search"].map(|endpoint| Change { key: Key::new(Namespace::Subnet(22), format!("endpoint/{endpoint}")).unwrap(), value: None });
    web_only.commit(ChangeSet::new(x_endpoints)).unwrap();
    let web_only = Catalog::read(&web_only).unwrap();
    assert_eq!(web_only.offered(&strategies::credentials()), BTreeSet::from(["web-search".to_owned()]));
    let next = validator_node.round(&web_only).await.unwrap();
    assert!(next.ledger_work.get(&honest.hotkey.ss58()).is_some_and(|&entries| entries >= 1), "{:?} {:?}", next.ledger_work, next.verdicts.iter().map(|(_, verdict)| &verdict.problems).collect::<Vec<_>>());
    let scores = validator_node.scoreboard();
    assert!(scores.miner(&honest.hotkey.ss58()).ledger > 0.0);
    assert_eq!(scores.miner(&dishonest.hotkey.ss58()).ledger, 0.0, "the refused diff earns nothing");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_miner_proposes_the_health_it_observed_to_the_primary() {
    let desearch = SubnetServer::start(SubnetKind::Desearch).await;
    let (validator, miner_key) = (Participant::new(1), Participant::new(2));
    let TestLedger { ledger: primary_ledger, dir: _primary_data } = testkit::test_ledger(&[&desearch]);
    let primary_version = primary_ledger.head().version;
    // The primary admits the miner as a hotkey registered on the subnet.
    let gate = Arc::new(ProposerGate::new(Quota::default()));
    gate.set_registered(BTreeSet::from([miner_key.hotkey.ss58()]));
    let primary = format!("http://127.0.0.1:{}", serve(router(AppState::new(primary_ledger, Pricing::default()).with_proposers(gate))).await);
    let (miner_port, _miner_data) = miner_proposing_to(Some(primary.clone()), &miner_key, &validator, &[&desearch], |_| {}).await;

    // Every Desearch call fails: the challenge fails, and the miner has seen the subnet down.
    desearch.fail_always(503);
    let axon = challenge::MinerAxon { uid: 1, hotkey: miner_key.hotkey.ss58(), url: format!("http://127.0.0.1:{miner_port}") };
    let papers = challenge::Challenge::new("Find recent arxiv papers on mixture of experts", serde_json::json!({ "papers": [{ "title": "str" }] }), &["mixture of experts"]);
    let (guard, keys) = (Guard::new(Policy::loopback()).unwrap(), strategies::credentials());
    let replayer = Replayer::new(&guard, &keys, ReplayBudget::default());
    let verdict = challenge::run(&guard, &validator.hotkey, &axon, &papers, Duration::from_secs(10), &validator_catalog(&[&desearch]), &replayer).await;
    assert!(!verdict.observation.success, "no subnet answered");

    // The health diff reaches the primary in the background.
    let mut proposed = Value::Null;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while std::time::Instant::now() < deadline {
        let changes: Value = reqwest::get(format!("{primary}/v1/changes?since={primary_version}")).await.unwrap().json().await.unwrap();
        if let Some(version) = changes["versions"].as_array().unwrap().first() {
            proposed = version.clone();
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(proposed["proposer"], miner_key.hotkey.ss58(), "the primary holds the miner's signed diff: {proposed}");
    let record = reqwest::get(format!("{primary}/v1/entries/sn22/health/web-search")).await.unwrap().json::<Value>().await.unwrap();
    assert_eq!(record["record"]["status"], "down", "{record}");
}

/// A result can cite real bodies throughout and still be wrong. A swapper gives each of two
/// providers the other's prices, every citation moved with its value, so that every value still
/// stands in a body the subnet returned: without a known answer it passes every check. Held to
/// the validator's own answer to the challenge, fixed from its own calls before the challenge
/// went out, it contradicts it and earns nothing; the honest answer agrees and gives every fact.
#[tokio::test(flavor = "multi_thread")]
async fn a_result_giving_one_provider_anothers_prices_contradicts_the_validators_own_answer() {
    let desearch = SubnetServer::start(SubnetKind::Desearch).await;
    let (validator, honest, swapper) = (Participant::new(1), Participant::new(2), Participant::new(3));
    let (honest_port, _honest_data) = miner(&honest, &validator, &[&desearch], |_| {}).await;
    let (swapper_node, _swapper_data) = miner(&swapper, &validator, &[&desearch], |_| {}).await;
    let swapper_port = rewriting_proxy(swapper_node, swapper.hotkey.clone(), swap_first_two_pricings).await;
    let schema = serde_json::json!({ "competitors": [{ "name": "str", "pricing": "dict" }] });
    let mut prices = challenge::Challenge::new("Compare RunPod and Vast.ai GPU prices", schema, &["RunPod", "Vast.ai"]);
    let catalog = validator_catalog(&[&desearch]);
    let keys = strategies::credentials();
    let (guard, engine) = (Guard::new(Policy::loopback()).unwrap(), validator.engine(keys.clone()));
    let replayer = Replayer::new(&guard, &keys, ReplayBudget::default());
    let axon = |port: u16, participant: &Participant| challenge::MinerAxon { uid: 1, hotkey: participant.hotkey.ss58(), url: format!("http://127.0.0.1:{port}") };
    let run = |port: u16, participant: &'static str, challenge: challenge::Challenge| {
        let (axon, guard, hotkey, catalog, replayer) = (axon(port, if participant == "honest" { &honest } else { &swapper }), &guard, &validator.hotkey, &catalog, &replayer);
        async move { challenge::run(guard, hotkey, &axon, &challenge, Duration::from_secs(20), catalog, replayer).await }
    };

    let unheld = run(swapper_port, "swapper", prices.clone()).await;
    assert!(unheld.observation.is_valid(), "the swap passes every check but a known answer: {:?}", unheld.problems);

    let shared = challenge::generate::shared_subject_words();
    let known = known::fix(&engine, &catalog, &prices, KnownAnswerBudget::default(), Duration::from_secs(20), shared).await.unwrap();
    let facts: Vec<String> = known.facts().map(ToString::to_string).collect();
    assert!(facts.iter().any(|fact| fact.starts_with("RunPod's `/pricing/")) && facts.iter().any(|fact| fact.starts_with("Vast.ai's `/pricing/")), "{facts:?}");
    prices.known = Some(known);

    let agreed = run(honest_port, "honest", prices.clone()).await;
    assert!(agreed.observation.is_valid(), "{:?}", agreed.problems);
    assert_eq!(agreed.observation.coverage, 1.0, "both providers, both tables and every fact: {:?}", agreed.problems);
    let swapped = run(swapper_port, "swapper", prices).await;
    assert_eq!(swapped.observation.groundedness, 0.0);
    assert_eq!(swapped.observation.score(1), 0.0);
    assert!(swapped.problems.iter().any(|problem| problem.contains("for RunPod's `/pricing/") && problem.contains("the validator's own calls found")), "{:?}", swapped.problems);
}

/// The swapper's change: the first two competitors' pricing exchanged, each citation moving with
/// its value.
fn swap_first_two_pricings(answer: &mut Value) {
    let competitors = answer["result"]["competitors"].as_array_mut().unwrap();
    let first = competitors[0]["pricing"].take();
    competitors[0]["pricing"] = std::mem::replace(&mut competitors[1]["pricing"], first);
    let leaves = answer["provenance"]["leaves"].as_object_mut().unwrap();
    let swap = |pointer: String| match (pointer.strip_prefix("/competitors/0/pricing/"), pointer.strip_prefix("/competitors/1/pricing/")) {
        (Some(rest), _) => format!("/competitors/1/pricing/{rest}"),
        (_, Some(rest)) => format!("/competitors/0/pricing/{rest}"),
        _ => pointer,
    };
    *leaves = std::mem::take(leaves).into_iter().map(|(pointer, citation)| (swap(pointer), citation)).collect();
}

/// A filler runs a real node, then overwrites every text of its result with a placeholder: the
/// shape still validates and its receipts still verify (they do not cover the result), and it
/// signs what it sends. Its citations no longer hold, so its answer earns nothing; an honest
/// node's answer to the same challenge is wholly grounded.
#[tokio::test(flavor = "multi_thread")]
async fn a_filler_answer_that_validates_and_verifies_earns_nothing() {
    let desearch = SubnetServer::start(SubnetKind::Desearch).await;
    let (validator, honest, filler) = (Participant::new(1), Participant::new(2), Participant::new(3));
    let (honest_port, _honest_data) = miner(&honest, &validator, &[&desearch], |_| {}).await;
    let (filler_node, _filler_data) = miner(&filler, &validator, &[&desearch], |_| {}).await;
    let filler_port = rewriting_proxy(filler_node, filler.hotkey.clone(), |body| strategies::fill(&mut body["result"])).await;
    let papers = challenge::Challenge::new("Find recent arxiv papers on mixture of experts", serde_json::json!({ "papers": [{ "title": "str", "url": "str" }] }), &["mixture of experts"]);
    let guard = Guard::new(Policy::loopback()).unwrap();
    let catalog = validator_catalog(&[&desearch]);
    let keys = strategies::credentials();
    let replayer = Replayer::new(&guard, &keys, ReplayBudget::default());
    let axon = |port: u16, participant: &Participant| challenge::MinerAxon { uid: 1, hotkey: participant.hotkey.ss58(), url: format!("http://127.0.0.1:{port}") };

    let grounded = challenge::run(&guard, &validator.hotkey, &axon(honest_port, &honest), &papers, Duration::from_secs(10), &catalog, &replayer).await;
    assert_eq!(grounded.observation.groundedness, 1.0, "{:?}", grounded.problems);
    assert!(grounded.observation.score(1) > 0.5);

    let filled = challenge::run(&guard, &validator.hotkey, &axon(filler_port, &filler), &papers, Duration::from_secs(10), &catalog, &replayer).await;
    assert!(filled.observation.receipts_valid && filled.observation.schema_valid, "the filler's shape and receipts pass: {:?}", filled.problems);
    assert_eq!(filled.observation.groundedness, 0.0);
    assert_eq!(filled.observation.score(1), 0.0, "placeholders earn nothing");
    assert!(filled.problems.iter().any(|problem| problem.contains("/papers/0/title") && problem.contains("does not hold")), "{:?}", filled.problems);
}

/// A replayer answers a new challenge with its answer to an earlier one, re-sealed for the new
/// nonce with fresh call times: its receipts verify, its citations hold against real bodies and
/// its replays agree, because the subnet still answers the old question so. None of its calls
/// asked about the new challenge's subject, so it grounds nothing; the first answer, to the
/// challenge it was made for, is wholly grounded.
#[tokio::test(flavor = "multi_thread")]
async fn an_answer_replayed_from_an_earlier_challenge_grounds_nothing() {
    let desearch = SubnetServer::start(SubnetKind::Desearch).await;
    let (validator, replayer_key) = (Participant::new(1), Participant::new(2));
    let (node_port, _data) = miner(&replayer_key, &validator, &[&desearch], |_| {}).await;
    let replaying = strategies::axon(replayer_key.hotkey(), strategies::replaying(node_port, replayer_key.hotkey())).await.unwrap();
    let schema = serde_json::json!({ "papers": [{ "title": "str", "url": "str" }] });
    let first = challenge::Challenge::new("Find recent arxiv papers on mixture of experts", schema.clone(), &["mixture of experts"]);
    let second = challenge::Challenge::new("Find recent arxiv papers on speculative decoding", schema, &["speculative decoding"]);
    let guard = Guard::new(Policy::loopback()).unwrap();
    let catalog = validator_catalog(&[&desearch]);
    let keys = strategies::credentials();
    let replayer = Replayer::new(&guard, &keys, ReplayBudget { calls_per_answer: usize::MAX, usd_micros_per_round: u64::MAX });
    let axon = challenge::MinerAxon { uid: 1, hotkey: replayer_key.hotkey.ss58(), url: format!("http://127.0.0.1:{replaying}") };

    let answered = challenge::run(&guard, &validator.hotkey, &axon, &first, Duration::from_secs(10), &catalog, &replayer).await;
    assert!(answered.problems.is_empty() && answered.observation.groundedness == 1.0, "{:?}", answered.problems);
    let replayed = challenge::run(&guard, &validator.hotkey, &axon, &second, Duration::from_secs(10), &catalog, &replayer).await;
    assert!(replayed.observation.receipts_valid && replayed.observation.schema_valid, "the re-sealed receipts verify: {:?}", replayed.problems);
    assert!(replayed.replays.iter().all(|replay| matches!(replay, Replay::Agreed { .. } | Replay::Inconclusive { .. })), "the old bodies are real: {:?}", replayed.replays);
    assert_eq!(replayed.observation.groundedness, 0.0, "{:?}", replayed.problems);
    assert!(!replayed.observation.is_valid());
    assert!(replayed.problems.iter().any(|problem| problem.contains("asks about none of the challenge's subjects (speculative decoding)")), "{:?}", replayed.problems);
}

/// A copier asks the honest miner's node for its challenge as a paying customer, under a nonce
/// of its own, and re-seals the answer as its own for the validator's nonce: receipts,
/// citations, costs and replays all hold. Asked which of the round's cited bodies it received
/// for customers, the honest node shows the copier's, so the copy is a relay; the honest miner
/// and a third miner answering on their own are accused of nothing.
#[tokio::test(flavor = "multi_thread")]
async fn a_copier_passing_off_another_miners_work_is_found_relayed_and_no_one_else_is() {
    use subnet::validator::relays;
    let desearch = SubnetServer::start(SubnetKind::Desearch).await;
    let (validator, honest, copier, third) = (Participant::new(1), Participant::new(2), Participant::new(3), Participant::new(4));
    let mut api_key = String::new();
    let (honest_port, _honest_data) = miner(&honest, &validator, &[&desearch], |ledger| api_key = ledger.issue_api_key(u64::MAX / 4).unwrap()).await;
    let (third_port, _third_data) = miner(&third, &validator, &[&desearch], |_| {}).await;
    let copier_port = strategies::axon(copier.hotkey(), strategies::copying(format!("http://127.0.0.1:{honest_port}"), api_key, copier.hotkey())).await.unwrap();
    let miners = [(1, honest_port, &honest), (2, copier_port, &copier), (3, third_port, &third)]
        .map(|(uid, port, participant)| challenge::MinerAxon { uid, hotkey: participant.hotkey.ss58(), url: format!("http://127.0.0.1:{port}") });
    let schema = serde_json::json!({ "papers": [{ "title": "str", "url": "str" }] });
    let challenges = [("speculative decoding", &miners[0]), ("mixture of experts", &miners[1]), ("diffusion models", &miners[2])]
        .map(|(topic, _)| challenge::Challenge::new(format!("Find recent arxiv papers on {topic}"), schema.clone(), &[topic]));
    let guard = Guard::new(Policy::loopback()).unwrap();
    let catalog = validator_catalog(&[&desearch]);
    let keys = strategies::credentials();
    let replayer = Replayer::new(&guard, &keys, ReplayBudget::default());

    let sent_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64;
    let mut verdicts = Vec::new();
    for (miner, challenge) in miners.iter().zip(&challenges) {
        verdicts.push(challenge::run(&guard, &validator.hotkey, miner, challenge, Duration::from_secs(10), &catalog, &replayer).await);
    }
    for verdict in &verdicts {
        assert!(verdict.problems.is_empty() && verdict.observation.is_valid(), "each answer alone holds, the copy's too: {:?}", verdict.problems);
    }
    let answered: Vec<relays::Answered> = verdicts.iter().map(|verdict| relays::Answered { cited: verdict.cited_bodies.clone(), valid: true }).collect();
    assert!(!answered[1].cited.is_empty());
    let found = relays::find(&guard, &validator.hotkey, &miners, &answered, sent_ms).await;
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!((found[0].answer_index, found[0].shown_by), (1, 1), "the copier's answer, shown by the honest node");
    assert_eq!(found[0].shown, found[0].asked);
    assert!(found[0].to_string().contains("relayed"));

    // A second hotkey citing the copied bodies in an answer that does not hold shields nothing;
    // one whose answer held would make them tell nothing of who was the customer.
    let shielded = |valid| {
        let mut answered = answered.clone();
        answered.push(relays::Answered { cited: answered[1].cited.clone(), valid });
        answered
    };
    let mut with_shield = miners.to_vec();
    with_shield.push(challenge::MinerAxon { uid: 4, hotkey: Participant::new(5).hotkey.ss58(), url: "http://127.0.0.1:9".into() });
    let found_past_shield = relays::find(&guard, &validator.hotkey, &with_shield, &shielded(false), sent_ms).await;
    assert_eq!(found_past_shield.iter().map(|relay| relay.answer_index).collect::<Vec<_>>(), vec![1]);
    assert_eq!(relays::find(&guard, &validator.hotkey, &with_shield, &shielded(true), sent_ms).await, vec![]);

    // Asked about a later round, nothing is shown: the node searches only since the time given.
    let later = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64 + relays::CLOCK_SLACK_MS + 1;
    assert_eq!(relays::find(&guard, &validator.hotkey, &miners, &answered, later).await, vec![]);
}

/// `POST /v1/served` answers only a validator of the subnet, signed, once per signature, and only
/// on a miner; a node that claims bodies it never received, or answers what was not asked,
/// accuses no one.
#[tokio::test(flavor = "multi_thread")]
async fn served_logs_answer_only_validators_and_a_node_cannot_claim_what_it_never_received() {
    use subnet::served::{query_key, ServedQuery};
    use subnet::validator::relays;
    let desearch = SubnetServer::start(SubnetKind::Desearch).await;
    let (validator, honest, stranger) = (Participant::new(1), Participant::new(2), Participant::new(3));
    let (honest_port, _honest_data) = miner(&honest, &validator, &[&desearch], |_| {}).await;
    let query = serde_json::to_string(&ServedQuery { since_ms: 0, keys: vec![query_key(&ledger::Hash([7; 32]))] }).unwrap();
    let ask = |port: u16, signer: Option<&Participant>, for_key: &Participant, body: String| {
        let mut request = reqwest::Client::new().post(format!("http://127.0.0.1:{port}/v1/served")).header("content-type", "application/json");
        if let Some(signer) = signer {
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64;
            for (name, value) in epistula::sign(&signer.hotkey, body.as_bytes(), Some(&for_key.hotkey.ss58()), now) {
                request = request.header(name, value);
            }
        }
        request.body(body).send()
    };
    let code = |answer: Value| answer["error"]["code"].as_str().unwrap_or_default().to_owned();
    let unsigned = ask(honest_port, None, &honest, query.clone()).await.unwrap();
    assert_eq!(unsigned.status(), 401);
    let by_stranger = ask(honest_port, Some(&stranger), &honest, query.clone()).await.unwrap();
    assert_eq!(by_stranger.status(), 403);
    assert_eq!(code(by_stranger.json().await.unwrap()), "not_a_validator");
    let too_many = serde_json::to_string(&ServedQuery { since_ms: 0, keys: (0..=1024u32).map(|n| { let mut hash = [0u8; 32]; hash[..4].copy_from_slice(&n.to_le_bytes()); ledger::Hash(hash) }).collect() }).unwrap();
    let refused = ask(honest_port, Some(&validator), &honest, too_many).await.unwrap();
    assert_eq!(refused.status(), 400);
    let answered = ask(honest_port, Some(&validator), &honest, query.clone()).await.unwrap();
    assert_eq!(answered.status(), 200);
    assert!(answered.headers().contains_key(epistula::SIGNED_BY_HEADER), "the answer is signed by the miner");
    assert_eq!(answered.json::<Value>().await.unwrap(), serde_json::json!({ "held": [] }));
    let TestLedger { ledger: plain_ledger, dir: _plain_data } = testkit::test_ledger(&[&desearch]);
    let not_a_miner = serve(router(AppState::new(plain_ledger, Pricing::default()))).await;
    assert_eq!(ask(not_a_miner, Some(&validator), &honest, query).await.unwrap().status(), 404);

    // A framer answers every query with every body it can think of: the hashes it was asked by
    // do not give the bodies away, so it shows none of those asked.
    let framer = axum::Router::new().route("/v1/served", axum::routing::post(|| async { axum::Json(serde_json::json!({ "held": [ledger::Hash([7; 32]), ledger::Hash([0; 32])] })) }));
    let framer_port = serve(framer).await;
    let miners = [(1, framer_port, &stranger), (2, honest_port, &honest)].map(|(uid, port, participant)| challenge::MinerAxon { uid, hotkey: participant.hotkey.ss58(), url: format!("http://127.0.0.1:{port}") });
    let honest_answer = relays::Answered { cited: BTreeSet::from([ledger::Hash([9; 32])]), valid: true };
    let found = relays::find(&Guard::new(Policy::loopback()).unwrap(), &validator.hotkey, &miners, &[relays::Answered::default(), honest_answer], 0).await;
    assert_eq!(found, vec![], "the framer showed nothing it was asked about");
}

/// A cost liar runs an honest node but claims its calls cost a tenth of what they did: it
/// re-chains and re-signs the receipts with its own hotkey, so they verify, and its citations
/// hold. The cost evidence each receipt commits to says otherwise: every lowered receipt is a
/// problem, the answer forfeits its cost factor, and its cost is measured from the evidence,
/// the same as the honest miner's for the same calls.
#[tokio::test(flavor = "multi_thread")]
async fn a_miner_claiming_lower_costs_than_its_evidence_shows_gains_nothing() {
    let desearch = SubnetServer::start(SubnetKind::Desearch).await;
    let (validator, honest, liar) = (Participant::new(1), Participant::new(2), Participant::new(3));
    let (honest_port, _honest_data) = miner(&honest, &validator, &[&desearch], |_| {}).await;
    let (liar_node, _liar_data) = miner(&liar, &validator, &[&desearch], |_| {}).await;
    let liar_key = liar.hotkey();
    let liar_port = rewriting_proxy(liar_node, liar.hotkey(), move |body| {
        strategies::reseal(body, &liar_key, None, |_, call| {
            call.cost_usd_micros /= 10;
            call.cost_rao /= 10;
        })
        .unwrap();
    })
    .await;
    let papers = challenge::Challenge::new("Find recent arxiv papers on mixture of experts", serde_json::json!({ "papers": [{ "title": "str", "url": "str" }] }), &["mixture of experts"]);
    let guard = Guard::new(Policy::loopback()).unwrap();
    let catalog = validator_catalog(&[&desearch]);
    let keys = strategies::credentials();
    let replayer = Replayer::new(&guard, &keys, ReplayBudget::default());
    let axon = |port: u16, participant: &Participant| challenge::MinerAxon { uid: 1, hotkey: participant.hotkey.ss58(), url: format!("http://127.0.0.1:{port}") };

    let honest_verdict = challenge::run(&guard, &validator.hotkey, &axon(honest_port, &honest), &papers, Duration::from_secs(10), &catalog, &replayer).await;
    assert!(honest_verdict.problems.is_empty(), "{:?}", honest_verdict.problems);
    assert!(honest_verdict.observation.costs_hold && honest_verdict.observation.cost_usd_micros > 0, "Desearch reports what its calls cost");

    let lied = challenge::run(&guard, &validator.hotkey, &axon(liar_port, &liar), &papers, Duration::from_secs(10), &catalog, &replayer).await;
    assert!(lied.observation.receipts_valid && lied.observation.schema_valid, "the re-signed receipts verify: {:?}", lied.problems);
    assert_eq!(lied.observation.groundedness, 1.0, "{:?}", lied.problems);
    assert!(!lied.observation.costs_hold);
    assert!(lied.problems.iter().any(|problem| problem.contains("micro-USD; its evidence says")), "{:?}", lied.problems);
    assert_eq!(lied.observation.cost_usd_micros, honest_verdict.observation.cost_usd_micros, "its cost is what its evidence says");

    // Dropping the cost headers instead (claiming nothing was reported, recommitted) is caught
    // too: the endpoint always reports its cost in a header.
    let (hider_node, _hider_data) = miner(&liar, &validator, &[&desearch], |_| {}).await;
    let hider_key = liar.hotkey();
    let hider_port = rewriting_proxy(hider_node, liar.hotkey(), move |body| {
        strategies::reseal(body, &hider_key, None, |_, call| {
            call.cost_usd_micros = 0;
            call.cost_evidence_hash = orchestrator::receipts::cost_evidence_hash(&[]);
        })
        .unwrap();
        for given in body["evidence"].as_array_mut().unwrap() {
            given["cost_headers"] = serde_json::json!([]);
        }
    })
    .await;
    let hidden = challenge::run(&guard, &validator.hotkey, &axon(hider_port, &liar), &papers, Duration::from_secs(10), &catalog, &replayer).await;
    assert!(!hidden.observation.costs_hold);
    assert!(hidden.problems.iter().any(|problem| problem.contains("lacks the cost header")), "{:?}", hidden.problems);

    let mut round = subnet::incentive::score::Round::new();
    round.observe("honest", challenge::CHOSEN, honest_verdict.observation);
    round.observe("liar", challenge::CHOSEN, lied.observation);
    let scores = round.orchestration_scores();
    assert!(scores["liar"] < scores["honest"], "{scores:?}");
}

/// A fabricator's answers are consistent in every way a validator can check from the answer
/// alone: its receipts hash the bodies it shows, its citations hold against them, its costs
/// are what its evidence reports, and it shows the requests as sent to Desearch's own URL
/// (re-chained and re-signed). Only the subnet can refute it: the validator replays the cited
/// calls with its own key, Desearch's answers share none of the invented links, and the answer
/// earns nothing. The same fabricator showing the requests it really sent names a URL that is
/// not the endpoint's, which is refused the same way. The honest miner's replays agree.
#[tokio::test(flavor = "multi_thread")]
async fn a_fabricator_whose_evidence_is_consistent_is_refuted_by_replays() {
    use strategies::{axon, disguising, inventing};
    let desearch = SubnetServer::start(SubnetKind::Desearch).await;
    let inventing = inventing(&desearch).await.unwrap();
    let (validator, honest, fabricator) = (Participant::new(1), Participant::new(2), Participant::new(3));
    let (honest_port, _honest_data) = miner(&honest, &validator, &[&desearch], |_| {}).await;
    let repointed = testkit::repointed(22, &inventing.base_url);
    let (fabricating_node, _fabricator_data) = miner(&fabricator, &validator, &[&desearch], |ledger| {
        ledger.commit(repointed).unwrap();
    })
    .await;
    let disguised_port = axon(fabricator.hotkey(), disguising(fabricating_node, fabricator.hotkey(), vec![inventing.clone()])).await.unwrap();
    let papers = challenge::Challenge::new("Find recent arxiv papers on mixture of experts", serde_json::json!({ "papers": [{ "title": "str", "url": "str" }] }), &["mixture of experts"]);
    let guard = Guard::new(Policy::loopback()).unwrap();
    let catalog = validator_catalog(&[&desearch]);
    let keys = strategies::credentials();
    let axon = |port: u16, participant: &Participant| challenge::MinerAxon { uid: 1, hotkey: participant.hotkey.ss58(), url: format!("http://127.0.0.1:{port}") };
    let every_call = ReplayBudget { calls_per_answer: usize::MAX, usd_micros_per_round: u64::MAX };

    let replayer = Replayer::new(&guard, &keys, every_call);
    let honest_verdict = challenge::run(&guard, &validator.hotkey, &axon(honest_port, &honest), &papers, Duration::from_secs(10), &catalog, &replayer).await;
    assert!(honest_verdict.problems.is_empty(), "{:?}", honest_verdict.problems);
    assert!(!honest_verdict.replays.is_empty() && honest_verdict.replays.iter().all(|replay| matches!(replay, Replay::Agreed { overlap, .. } if *overlap == 1.0)), "{:?}", honest_verdict.replays);
    let honest_requests = desearch.request_count();

    let fabricated = challenge::run(&guard, &validator.hotkey, &axon(disguised_port, &fabricator), &papers, Duration::from_secs(10), &catalog, &replayer).await;
    assert!(fabricated.observation.receipts_valid && fabricated.observation.schema_valid && fabricated.observation.costs_hold, "everything but the subnet agrees: {:?}", fabricated.problems);
    assert!(!fabricated.replays.is_empty() && fabricated.replays.iter().all(|replay| matches!(replay, Replay::Disagreed { .. })), "{:?}", fabricated.replays);
    assert!(fabricated.problems.iter().all(|problem| problem.starts_with("the replay of receipt") && problem.contains("share 0%")), "{:?}", fabricated.problems);
    assert_eq!(fabricated.observation.groundedness, 0.0);
    assert_eq!(fabricated.observation.score(1), 0.0, "invented evidence earns nothing");
    assert!(desearch.request_count() > honest_requests, "the replays reached Desearch itself");

    let undisguised = challenge::run(&guard, &validator.hotkey, &axon(fabricating_node, &fabricator), &papers, Duration::from_secs(10), &catalog, &replayer).await;
    assert_eq!(undisguised.observation.groundedness, 0.0);
    assert!(undisguised.problems.iter().any(|problem| problem.contains("is not one web-search is sent") || problem.contains("is not one ai-search is sent")), "{:?}", undisguised.problems);

    // With no replays budgeted, the same answer passes every other check: replays are what
    // catches it.
    let unchecked = Replayer::new(&guard, &keys, ReplayBudget { calls_per_answer: 0, usd_micros_per_round: 0 });
    let unrefuted = challenge::run(&guard, &validator.hotkey, &axon(disguised_port, &fabricator), &papers, Duration::from_secs(10), &catalog, &unchecked).await;
    assert!(unrefuted.problems.is_empty() && unrefuted.observation.groundedness == 1.0, "{:?}", unrefuted.problems);
}

/// Every shape of challenge the validator draws is answered in full by an honest miner: every
/// price challenge, and for each topical family (papers, X posts, Reddit threads) every phrasing
/// with every set of item fields on one topic, and every topic in one phrasing. The subnets
/// drift, as live ones do, so X and Reddit have posts on every topic. A family an honest miner
/// cannot answer would score honest work as nothing.
#[tokio::test(flavor = "multi_thread")]
async fn an_honest_miner_answers_every_shape_of_generated_challenge_in_full() {
    use subnet::validator::challenge::generate::{Drawn, FAMILIES};
    let desearch = SubnetServer::start(SubnetKind::Desearch).await;
    let data_universe = SubnetServer::start(SubnetKind::DataUniverse).await;
    let subnets = [&desearch, &data_universe];
    for subnet in subnets {
        subnet.set_drift(1);
    }
    let (validator, honest) = (Participant::new(1), Participant::new(2));
    let (honest_port, _honest_data) = miner(&honest, &validator, &subnets, |_| {}).await;
    let catalog = validator_catalog(&subnets);
    let keys = strategies::credentials();
    let routable = catalog.offered(&keys);
    let guard = Guard::new(Policy::loopback()).unwrap();
    // Every answer's cited calls replayed, whatever they cost: honest evidence always agrees.
    let replayer = Replayer::new(&guard, &keys, ReplayBudget { calls_per_answer: usize::MAX, usd_micros_per_round: u64::MAX });
    let axon = challenge::MinerAxon { uid: 1, hotkey: honest.hotkey.ss58(), url: format!("http://127.0.0.1:{honest_port}") };

    let mut shapes: Vec<Drawn> = Vec::new();
    let mut families = BTreeSet::new();
    for family in FAMILIES.iter().filter(|family| routable.contains(family.capability)) {
        families.insert(family.name);
        let all = (family.challenges)();
        if family.name == "gpu-prices" {
            shapes.extend(all.iter().cloned());
            continue;
        }
        // How many fields a topical challenge asks of each item.
        let fields = |drawn: &Drawn| drawn.target_schema.as_object().unwrap().values().next().unwrap()[0].as_object().unwrap().len();
        let first_phrasing = all[0].objective.split("mixture of experts").next().unwrap().to_owned();
        let most = all.iter().map(fields).max().unwrap();
        shapes.extend(all.iter().filter(|drawn| drawn.objective.contains("mixture of experts")).cloned());
        shapes.extend(all.iter().filter(|drawn| drawn.objective.starts_with(&first_phrasing) && fields(drawn) == most).cloned());
    }
    assert_eq!(families.len(), FAMILIES.len(), "every family is routable here: {families:?}");
    assert!(shapes.len() > 450, "{} shapes", shapes.len());
    let mut failed = Vec::new();
    for Drawn { objective, target_schema, subjects, .. } in shapes {
        let subjects: Vec<&str> = subjects.iter().map(String::as_str).collect();
        let drawn = challenge::Challenge::new(objective.clone(), target_schema.clone(), &subjects);
        let verdict = challenge::run(&guard, &validator.hotkey, &axon, &drawn, Duration::from_secs(20), &catalog, &replayer).await;
        let replays_agree = !verdict.replays.is_empty() && verdict.replays.iter().all(|replay| matches!(replay, Replay::Agreed { .. }));
        if !verdict.problems.is_empty() || verdict.observation.groundedness < 1.0 || !verdict.observation.is_valid() || !replays_agree {
            failed.push(format!("{objective} {target_schema}: {:?} {:?}", verdict.problems, verdict.replays));
        }
    }
    assert!(failed.is_empty(), "{} challenges the honest miner did not answer in full:\n{}", failed.len(), failed.join("\n"));
}

/// A validator's signed challenge captured on the wire and sent again inside its signature's
/// window is refused: a miner serves each challenge once.
#[tokio::test(flavor = "multi_thread")]
async fn a_replayed_challenge_is_refused() {
    let desearch = SubnetServer::start(SubnetKind::Desearch).await;
    let (validator, miner_key) = (Participant::new(1), Participant::new(2));
    let (miner_port, _miner_data) = miner(&miner_key, &validator, &[&desearch], |_| {}).await;
    let body = serde_json::json!({ "objective": "Find recent arxiv papers on mixture of experts", "target_schema": { "papers": [{ "title": "str" }] } }).to_string();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64;
    let headers = epistula::sign(&validator.hotkey, body.as_bytes(), Some(&miner_key.hotkey.ss58()), now);
    let send = || {
        let mut request = reqwest::Client::new().post(format!("http://127.0.0.1:{miner_port}/v1/orchestrate")).header("content-type", "application/json");
        for (name, value) in &headers {
            request = request.header(*name, value);
        }
        request.body(body.clone()).send()
    };
    let first = send().await.unwrap();
    assert_eq!(first.status(), 200, "the challenge is served once");
    let served = desearch.request_count();
    let replayed = send().await.unwrap();
    assert_eq!(replayed.status(), 401);
    let answer: Value = replayed.json().await.unwrap();
    assert_eq!(answer["error"]["code"], "replayed_request", "{answer}");
    assert_eq!(desearch.request_count(), served, "the replay made no subnet call");
}

/// A node following the chain admits diffs from the hotkeys registered on the subnet, as its
/// metagraph lists them, and refuses everyone else's.
#[tokio::test(flavor = "multi_thread")]
async fn hotkeys_registered_on_the_subnet_may_propose() {
    let desearch = SubnetServer::start(SubnetKind::Desearch).await;
    let (validator, registered, stranger) = (Participant::new(1), Participant::new(2), Participant::new(9));
    let chain = ChainClient::from_rpc_client(mock_node_with_storage(Arc::new(Mutex::new(Vec::new())), true, chain_state(&validator, [(&registered, 1), (&Participant::new(3), 2)]))).await.unwrap();
    let gate = Arc::new(ProposerGate::new(Quota::default()));
    gate.admit_registered(&chain.metagraph(NETUID, None).await.unwrap());
    let TestLedger { ledger, dir: _data } = testkit::test_ledger(&[&desearch]);
    let diff_by = |proposer: &Participant| endpoint_diff(&ledger, &proposer.hotkey, |endpoint| endpoint.timeout_ms = 12_345);
    let (by_registered, by_stranger) = (diff_by(&registered), diff_by(&stranger));
    let node = format!("http://127.0.0.1:{}", serve(router(AppState::new(ledger, Pricing::default()).with_proposers(gate))).await);
    let post = |diff: ledger::SignedDiff| {
        let url = format!("{node}/v1/diffs");
        async move { reqwest::Client::new().post(url).json(&diff).send().await.unwrap() }
    };
    let refused = post(by_stranger).await;
    assert_eq!(refused.status(), 403);
    assert_eq!(refused.json::<Value>().await.unwrap()["error"]["code"], "unknown_proposer");
    assert_eq!(post(by_registered).await.status(), 200, "the metagraph's hotkey is admitted");
}
