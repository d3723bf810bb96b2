//! `orchestra simulate` as a user runs it: the validator's own rounds against the seven
//! strategies, each round's shares printed and written to the JSON file in the documented
//! format, and after 50 rounds the honest miner holding at least 60% of the weight and every
//! cheating strategy at most 5%.

use serde_json::Value;

use crate::common::orchestra;

const ROUNDS: usize = 50;

#[test]
fn after_fifty_rounds_the_honest_miner_holds_most_of_the_weight_and_no_cheat_more_than_five_percent() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("simulate.json");
    let output = orchestra(&dir.path().join("data")).args(["simulate", "--rounds", &ROUNDS.to_string(), "--json"]).arg(&json).output().unwrap();
    let progress = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{progress}");
    assert!(progress.starts_with("round  honest  filler  replayer  cost_liar  fabricator  copier  health_spammer\n"), "{progress}");
    assert_eq!(progress.lines().count(), ROUNDS + 1, "a line per round: {progress}");

    let report: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let rounds = report["rounds"].as_array().unwrap();
    assert_eq!(rounds.len(), ROUNDS);
    assert_eq!(report["final"], rounds[ROUNDS - 1], "the final shares are the last round's");
    let printed: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(printed["final"], report["final"]);
    let share = |round: &Value, strategy: &str| round[strategy].as_f64().unwrap_or_else(|| panic!("{strategy} in {round}"));
    for round in rounds {
        let strategies: Vec<&str> = round.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(strategies, ["copier", "cost_liar", "fabricator", "filler", "health_spammer", "honest", "replayer"]);
        let total: f64 = round.as_object().unwrap().values().map(|share| share.as_f64().unwrap()).sum();
        assert!((total - 1.0).abs() < 1e-9, "the shares add up to the whole: {round}");
        // Every round the honest miner earns; the replayer's first answer was real, so it
        // earns at first, and its share decays with its average.
        assert!(share(round, "honest") > 0.25, "{round}");
    }
    let last = &rounds[ROUNDS - 1];
    assert!(share(last, "honest") >= 0.6, "{last}");
    // Placeholders, replayed answers, shaved costs, invented bodies, relayed answers and refuted
    // health claims: every answer of theirs is refuted, and what earned once has decayed.
    for cheat in ["filler", "replayer", "cost_liar", "fabricator", "copier", "health_spammer"] {
        assert!(share(last, cheat) <= 0.05, "{cheat}: {last}");
    }
}
