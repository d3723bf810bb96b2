//! `orchestra simulate` as a user runs it: the validator's own rounds against the seven
//! strategies, each round's shares printed and written to the JSON file in the documented
//! format, and the strategies whose answers the validator refutes ending with at most 5%.

use serde_json::Value;

use crate::common::orchestra;

const ROUNDS: usize = 8;

#[test]
fn a_simulation_writes_each_rounds_shares_and_the_refuted_strategies_end_with_nothing_to_speak_of() {
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
        // At most three miners share the weight: the honest one, the copier riding on its work,
        // and in the first rounds the replayer, whose first answer was real.
        assert!(share(round, "honest") > 0.25, "{round}");
    }
    // Placeholders, invented bodies, shaved costs and refuted health claims: every answer of
    // theirs is refuted, and what their nodes' real health reports may have earned is gone.
    for refuted in ["filler", "fabricator", "cost_liar", "health_spammer"] {
        assert!(share(&rounds[ROUNDS - 1], refuted) <= 0.05, "{refuted}: {rounds:?}");
    }
}
