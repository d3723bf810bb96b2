//! Challenges drawn from the nonce: the same nonce always draws the same challenge, nonces
//! draw thousands of distinct ones, each a valid target schema, and only families whose
//! capability the validator's ledger routes are drawn.

use std::collections::BTreeSet;

use orchestrator::receipts::Nonce;
use orchestrator::schema::TargetSchema;
use subnet::validator::challenge::generate::{distinct_challenges, draw, Drawn, FAMILIES};
use subnet::validator::challenge::Challenge;

fn routable(capabilities: &[&str]) -> BTreeSet<String> {
    capabilities.iter().map(|capability| (*capability).to_owned()).collect()
}

fn nonce(n: u64) -> Nonce {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&n.to_le_bytes());
    Nonce(bytes)
}

#[test]
fn a_nonce_always_draws_the_same_challenge_and_another_nonce_usually_another() {
    let web = routable(&["web-search"]);
    for n in 0..64 {
        assert_eq!(draw(&nonce(n), &web), draw(&nonce(n), &web));
    }
    let drawn: BTreeSet<String> = (0..20_000).map(|n| { let drawn = draw(&nonce(n), &web).unwrap(); format!("{}\n{}", drawn.objective, drawn.target_schema) }).collect();
    assert!(distinct_challenges(&web) >= 3_000, "{}", distinct_challenges(&web));
    // Half of 20,000 draws among 3,072 papers challenges meet about 2,900 of them, and the
    // other half all 48 price ones.
    assert!(drawn.len() >= 2_500, "only {} distinct challenges in 20,000 draws", drawn.len());
    let challenge = Challenge::from_nonce(nonce(7), &web).unwrap();
    let drawn = draw(&nonce(7), &web).unwrap();
    assert_eq!((challenge.objective, challenge.target_schema, challenge.subjects), (drawn.objective, drawn.target_schema, drawn.subjects));
}

/// The family a drawn challenge belongs to, by the list its schema asks for.
fn family_of(schema: &serde_json::Value) -> &'static str {
    match ["papers", "tweets", "threads"].into_iter().find(|list| schema.get(list).is_some()) {
        Some("papers") => "papers",
        Some("tweets") => "x-posts",
        Some(_) => "reddit-threads",
        None => "gpu-prices",
    }
}

#[test]
fn every_drawn_schema_is_a_valid_target_schema_and_every_family_is_met() {
    let all = routable(&["reddit-search", "web-search", "x-search"]);
    let mut families = BTreeSet::new();
    for n in 0..4_000 {
        let Drawn { family, objective, target_schema: schema, subjects } = draw(&nonce(n), &all).unwrap();
        assert!(!objective.contains('{'), "every placeholder is filled: {objective}");
        assert!(!subjects.is_empty() && subjects.iter().all(|subject| objective.contains(subject.as_str())), "the subjects are named in the objective: {objective} {subjects:?}");
        TargetSchema::parse(schema.clone()).unwrap_or_else(|error| panic!("{schema}: {error}"));
        assert_eq!(family, family_of(&schema), "{objective}");
        families.insert(family);
    }
    assert_eq!(families.len(), FAMILIES.len());
    assert!(distinct_challenges(&all) >= 3 * 2_048, "{}", distinct_challenges(&all));
}

#[test]
fn each_family_is_drawn_only_where_its_capability_routes() {
    for (capability, family) in [("web-search", ["papers", "gpu-prices"].as_slice()), ("x-search", &["x-posts"]), ("reddit-search", &["reddit-threads"])] {
        let only = routable(&[capability]);
        let drawn: BTreeSet<&str> = (0..500).map(|n| family_of(&draw(&nonce(n), &only).unwrap().target_schema)).collect();
        assert_eq!(drawn, family.iter().copied().collect(), "{capability}");
    }
}

#[test]
fn nothing_is_drawn_for_a_ledger_that_routes_no_family_s_capability() {
    assert_eq!(draw(&nonce(1), &routable(&[])), None);
    assert_eq!(draw(&nonce(1), &routable(&["weather-forecast", "llm-chat"])), None);
    assert_eq!(distinct_challenges(&routable(&["llm-chat"])), 0);
}
