//! The scoreboard: observation scores, moving averages, the 60/40 split and the weights it
//! hands to the chain step.

use std::collections::HashMap;

use subnet::incentive::score::{OrchestrationObservation, Round, ScoreError, Scoreboard, DEFAULT_ALPHA};
use subnet::incentive::weights::{convert_weights_and_uids_for_emit, process_weights_for_netuid};

const HONEST: &str = "honest";
const FORGER: &str = "forger";

/// A valid answer at `latency_ms` of a 1000 ms deadline, costing `cost_usd_micros`.
fn answer(latency_ms: f64, cost_usd_micros: u64) -> OrchestrationObservation {
    OrchestrationObservation {
        success: true,
        schema_valid: true,
        receipts_valid: true,
        latency_ms,
        cost_usd_micros,
        costs_hold: true,
        deadline_ms: 1000,
        groundedness: 1.0,
        coverage: 1.0,
    }
}

fn assert_near(actual: f64, expected: f64) {
    assert!((actual - expected).abs() < 1e-12, "{actual} vs {expected}");
}

#[test]
fn an_answer_scores_half_plus_latency_and_cost_quarters() {
    // Reference 100, cost 200, 250 ms of 1000: .5 + .25 * (1 - .25) + .25 * (100 / 200) = .8125.
    assert_near(answer(250.0, 200).score(100), 0.8125);
    // Instant and at least as cheap as the reference: the full 1.
    assert_near(answer(0.0, 50).score(100), 1.0);
    // At or past the deadline the latency factor is 0; a free answer has cost factor 1.
    assert_near(answer(1500.0, 0).score(100), 0.75);
}

#[test]
fn the_valid_answers_half_is_earned_by_its_coverage() {
    // Half of what was asked, instant and free: .5 * .5 + .25 + .25.
    assert_near(OrchestrationObservation { coverage: 0.5, ..answer(0.0, 0) }.score(100), 0.75);
    // Covering nothing leaves only the factors; coverage cannot lift an invalid answer.
    assert_near(OrchestrationObservation { coverage: 0.0, ..answer(0.0, 0) }.score(100), 0.5);
    assert_eq!(OrchestrationObservation { coverage: 1.0, groundedness: 0.0, ..answer(0.0, 0) }.score(100), 0.0);
}

#[test]
fn an_invalid_answer_scores_zero() {
    let valid = answer(0.0, 0);
    for invalid in [
        OrchestrationObservation { success: false, ..valid },
        OrchestrationObservation { schema_valid: false, ..valid },
        OrchestrationObservation { receipts_valid: false, ..valid },
        OrchestrationObservation { costs_hold: false, ..valid },
        OrchestrationObservation { groundedness: 0.99, ..valid },
    ] {
        assert_eq!(invalid.score(100), 0.0);
    }
}

#[test]
fn an_answer_earns_only_when_the_evidence_holds_every_value() {
    let grounded = answer(250.0, 200);
    assert_near(grounded.score(100), 0.8125);
    // Real values beside placeholders: a wrong answer, whatever share of it is real.
    assert_eq!(OrchestrationObservation { groundedness: 0.5, ..grounded }.score(100), 0.0);
    // Filler that validates, answered at once and for free, earns nothing without citations.
    assert_eq!(OrchestrationObservation { groundedness: 0.0, ..answer(0.0, 0) }.score(100), 0.0);
}

#[test]
fn the_cheapest_valid_answer_sets_the_cost_reference() {
    let mut round = Round::new();
    round.observe("a", "papers", answer(0.0, 100));
    round.observe("b", "papers", answer(0.0, 400));
    // A free but forged answer must not become the reference, nor free filler.
    round.observe("c", "papers", OrchestrationObservation { receipts_valid: false, ..answer(0.0, 0) });
    round.observe("d", "papers", OrchestrationObservation { groundedness: 0.0, ..answer(0.0, 0) });
    let scores = round.orchestration_scores();
    // a: .5 + .25 + .25 * 100/100 = 1; b: .5 + .25 + .25 * 100/400 = .8125; c and d: 0.
    assert_near(scores["a"], 1.0);
    assert_near(scores["b"], 0.8125);
    assert_eq!((scores["c"], scores["d"]), (0.0, 0.0));

    // A given reference of 200 replaces it: a is capped at 1, b gets .25 * 200/400.
    let mut round = Round::with_reference_cost(200);
    round.observe("a", "papers", answer(0.0, 100));
    round.observe("b", "papers", answer(0.0, 400));
    assert_near(round.orchestration_scores()["b"], 0.875);
}

#[test]
fn costs_are_compared_only_among_answers_to_challenges_of_one_family() {
    let mut round = Round::new();
    // An X search that costs nothing sets no bar for a paid web search.
    round.observe("x", "x-posts", answer(0.0, 0));
    round.observe("a", "papers", answer(0.0, 100));
    round.observe("b", "papers", answer(0.0, 400));
    let scores = round.orchestration_scores();
    assert_near(scores["x"], 1.0);
    assert_near(scores["a"], 1.0);
    assert_near(scores["b"], 0.8125);
}

#[test]
fn a_cost_that_does_not_match_its_evidence_earns_nothing_and_sets_no_reference() {
    let mut round = Round::new();
    round.observe("honest", "papers", answer(0.0, 400));
    // A grounded answer whose receipts claim less than their evidence says: a false receipt,
    // and it cannot pull the reference down for everyone else.
    round.observe("liar", "papers", OrchestrationObservation { costs_hold: false, ..answer(0.0, 1) });
    let scores = round.orchestration_scores();
    assert_near(scores["honest"], 1.0);
    assert_eq!(scores["liar"], 0.0);
}

#[test]
fn a_miners_round_score_is_the_mean_of_its_observations() {
    let mut round = Round::with_reference_cost(100);
    round.observe("a", "papers", answer(0.0, 100)); // 1
    round.observe("a", "papers", OrchestrationObservation { success: false, ..answer(0.0, 100) }); // 0
    assert_near(round.orchestration_scores()["a"], 0.5);
}

#[test]
fn ledger_scores_are_log_entries_relative_to_the_best() {
    let mut round = Round::new();
    round.ledger_work("a", 3);
    round.ledger_work("b", 1);
    round.ledger_work("b", 2); // two diffs, the same 3 entries: the same score as a's one diff
    round.ledger_work("c", 15);
    round.observe("idle", "papers", answer(0.0, 1)); // in the round, no ledger work
    let scores = round.ledger_scores();
    // ln(1 + 3) / ln(1 + 15) = ln 4 / ln 16 = .5.
    assert_near(scores["a"], 0.5);
    assert_near(scores["b"], 0.5);
    assert_near(scores["c"], 1.0);
    assert_eq!(scores["idle"], 0.0);
}

#[test]
fn averages_move_by_alpha_from_zero() {
    let mut board = Scoreboard::new(0.5).unwrap();
    let mut round = Round::with_reference_cost(100);
    round.observe(HONEST, "papers", answer(0.0, 100)); // 1
    round.ledger_work(HONEST, 10); // the only contributor: 1
    board.record(&round);
    // 0 -> .5 * 1 + .5 * 0 = .5 for both kinds.
    assert_near(board.miner(HONEST).orchestration, 0.5);
    assert_near(board.miner(HONEST).ledger, 0.5);

    let mut round = Round::with_reference_cost(100);
    round.observe(HONEST, "papers", answer(500.0, 100)); // .5 + .25 * .5 + .25 = .875
    board.record(&round);
    // orchestration .5 * .875 + .5 * .5 = .6875; ledger .5 * 0 + .5 * .5 = .25 (in the round,
    // no diff).
    assert_near(board.miner(HONEST).orchestration, 0.6875);
    assert_near(board.miner(HONEST).ledger, 0.25);
}

#[test]
fn miners_outside_a_round_keep_their_averages() {
    let mut board = Scoreboard::default();
    let mut round = Round::new();
    round.observe("a", "papers", answer(0.0, 1));
    round.ledger_work("a", 1);
    board.record(&round);
    let before = board.miner("a");
    // Round scores of 1 move both averages from 0 to DEFAULT_ALPHA.
    assert_near(before.orchestration, DEFAULT_ALPHA);
    assert_near(before.ledger, DEFAULT_ALPHA);
    let mut round = Round::new();
    round.observe("b", "papers", answer(0.0, 1));
    board.record(&round);
    assert_eq!(board.miner("a"), before);
}

#[test]
fn combined_score_splits_sixty_forty() {
    let mut board = Scoreboard::new(1.0).unwrap();
    let mut round = Round::with_reference_cost(100);
    round.observe("orchestrator", "papers", answer(0.0, 100)); // orchestration 1, ledger 0
    round.ledger_work("archivist", 5); // orchestration untouched (0), ledger 1
    board.record(&round);
    assert_near(board.miner("orchestrator").combined(), 0.6);
    assert_near(board.miner("archivist").combined(), 0.4);
}

#[test]
fn an_honest_miner_outweighs_one_with_invalid_receipts() {
    let mut board = Scoreboard::default();
    for _ in 0..20 {
        let mut round = Round::new();
        round.observe(HONEST, "papers", answer(400.0, 300));
        // Faster and cheaper, but its receipts do not verify.
        round.observe(FORGER, "papers", OrchestrationObservation { receipts_valid: false, ..answer(10.0, 1) });
        round.ledger_work(HONEST, 4);
        round.ledger_work(FORGER, 4);
        board.record(&round);
    }
    let uids = HashMap::from([(HONEST.to_owned(), 1), (FORGER.to_owned(), 0)]);
    let (uids, weights) = board.weights(&uids);
    assert_eq!(uids, vec![0, 1]);
    assert!(weights[1] > weights[0], "{weights:?}");
    // The forger keeps only its ledger share: equal ledger work, no orchestration.
    assert_eq!(weights[0], board.miner(FORGER).combined() as f32);
    assert_eq!(board.miner(FORGER).orchestration, 0.0);

    // Through the chain step the honest miner gets u16::MAX and the forger its ratio.
    let (uids, weights) = process_weights_for_netuid(&uids, &weights, 2, 1, u16::MAX, 0).unwrap();
    let (uids, values) = convert_weights_and_uids_for_emit(&uids, &weights).unwrap();
    assert_eq!(uids, vec![0, 1]);
    assert_eq!(values[1], u16::MAX);
    assert!(values[0] < u16::MAX / 2, "{values:?}");
}

#[test]
fn equal_work_earns_equal_weight() {
    let mut board = Scoreboard::default();
    let mut round = Round::new();
    for miner in ["a", "b"] {
        round.observe(miner, "papers", answer(100.0, 50));
        round.ledger_work(miner, 7);
    }
    board.record(&round);
    let uids = HashMap::from([("a".to_owned(), 4), ("b".to_owned(), 2)]);
    let (uids, weights) = board.weights(&uids);
    assert_eq!(uids, vec![2, 4]);
    assert_eq!(weights[0], weights[1]);
    assert!(weights[0] > 0.0);
}

#[test]
fn unknown_and_unregistered_miners() {
    let mut board = Scoreboard::default();
    let mut round = Round::new();
    round.observe("deregistered", "papers", answer(0.0, 1));
    board.record(&round);
    // Never scored: all zero.
    assert_eq!(board.miner("stranger").combined(), 0.0);
    // A registered hotkey never scored gets weight 0; a scored one no longer registered is
    // left out.
    let uids = HashMap::from([("stranger".to_owned(), 3)]);
    assert_eq!(board.weights(&uids), (vec![3], vec![0.0]));
}

#[test]
fn alpha_must_be_in_zero_to_one() {
    for alpha in [0.0, -0.1, 1.5, f64::NAN] {
        assert!(matches!(Scoreboard::new(alpha), Err(ScoreError::InvalidAlpha(_))));
    }
    assert!(Scoreboard::new(1.0).is_ok());
}
