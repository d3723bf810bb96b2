//! Known answers: challenges whose answer the validator fixed in advance from its own calls to
//! the subnets.
//!
//! Citations show that each value stands in a body a subnet returned, not that it is the right
//! value: a result giving every provider the price one page lists for another cites real
//! bodies throughout. So before sending some challenges, the validator answers them itself.
//! Terms:
//! - **fixable challenge**: one whose target schema has a field that can hold a number (a
//!   number, an integer, a free-form object or any value): the only values two answers written
//!   from different calls can be held to agree on.
//! - **fact**: a number a result gives about one subject of the challenge, named by the subject
//!   and where the number stands in the subject's item ([`Fact`]). The **item** of a leaf is
//!   the innermost array element holding it whose strings are about exactly one subject (see
//!   [`super::relevance`]; an item named "Vast.ai" is about Vast.ai); `at` is the leaf's
//!   pointer within it, array indexes written `*`. In a challenge with one subject every number
//!   is about it, `at` then being the whole pointer; in one with more, a number in no item of
//!   one subject is no fact.
//! - **known answer**: the facts of the validator's own result for the challenge ([`fix`]): the
//!   same engine a miner runs, deterministic, with the validator's keys and within its budget,
//!   just before the challenge goes out. Only numbers its provenance cites from a body
//!   (extracted or quoted) are kept; derived ones (a median) depend on the writer.
//! - **contradiction**: a fact of the answer that the known answer also holds, with a number
//!   none of the validator's for it is close to (within [`TOLERANCE`]). One makes the
//!   answer's groundedness 0: it is grounded in a body, but not in the body about its subject.
//! - **given fact**: a fact of the known answer the answer holds a number for, agreeing or not;
//!   the share given is part of the answer's [coverage](super::coverage).
//!
//! A challenge's known answer is not shown to the miner, and which challenges of a round have
//! one is drawn at random, so a miner cannot tell which answers are held to the validator's.
//! The limit: a miner citing another source than the validator found (another page quoting
//! another price for the same provider) contradicts it; known answers are drawn only for
//! challenges whose subjects publish one figure for each fact.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde_json::Value;

use super::relevance::{words, About};
use super::Challenge;
use orchestrator::orchestrate::{Orchestrator, Request};
use orchestrator::provenance::{self, Citation, Provenance};
use orchestrator::route::Catalog;
use orchestrator::schema::TargetSchema;

/// Relative difference under which two numbers for one fact agree (rounding, a currency's cents).
pub const TOLERANCE: f64 = 0.005;

/// A number's place in a result: its subject, and where it stands in the subject's item.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Fact {
    pub subject: String,
    /// A JSON pointer within the item, array indexes written `*`.
    pub at: String,
}

impl std::fmt::Display for Fact {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}'s `{}`", self.subject, self.at)
    }
}

/// The facts the validator's own calls found, with every number they gave for each.
#[derive(Clone, Debug, PartialEq)]
pub struct KnownAnswer {
    facts: BTreeMap<Fact, Vec<f64>>,
}

/// What a known answer says of an answer.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Judgement {
    /// How many of the known answer's facts the answer gives.
    pub given: usize,
    /// Every contradiction, in words.
    pub contradictions: Vec<String>,
}

/// What fixing a challenge's answer may cost the validator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KnownAnswerBudget {
    /// Most challenges of a round the validator answers itself.
    pub per_round: usize,
    /// Most one answer may spend on subnet calls, in rao.
    pub rao_per_answer: u64,
}

impl Default for KnownAnswerBudget {
    /// One challenge a round, at most 0.01 TAO.
    fn default() -> KnownAnswerBudget {
        KnownAnswerBudget { per_round: 1, rao_per_answer: 10_000_000 }
    }
}

impl KnownAnswer {
    /// The facts of `result` its `provenance` cites from bodies; `None` when it holds none.
    pub fn from_result(result: &Value, provenance: &Provenance, subjects: &[String], shared: &BTreeSet<String>) -> Option<KnownAnswer> {
        let from_a_body = |pointer: &str| matches!(provenance.leaves.get(pointer), Some(Citation::Extract { .. } | Citation::Quote { .. }));
        let facts = facts(result, subjects, shared, from_a_body);
        (!facts.is_empty()).then_some(KnownAnswer { facts })
    }

    pub fn facts(&self) -> impl Iterator<Item = &Fact> {
        self.facts.keys()
    }

    /// What the known answer says of `result`, an answer to the same challenge.
    pub fn judge(&self, result: &Value, subjects: &[String], shared: &BTreeSet<String>) -> Judgement {
        let mut judgement = Judgement::default();
        for (fact, given) in facts(result, subjects, shared, |_| true) {
            let Some(known) = self.facts.get(&fact) else { continue };
            judgement.given += 1;
            for number in given.iter().filter(|number| !known.iter().any(|known| close(**number, *known))) {
                let known: Vec<String> = known.iter().map(f64::to_string).collect();
                judgement.contradictions.push(format!("the answer gives {number} for {fact}; the validator's own calls found {}", known.join(" or ")));
            }
        }
        judgement
    }
}

/// Whether `schema` (compact or full form) is fixable (see the module terms).
pub fn fixable(schema: &Value) -> bool {
    let Ok(schema) = TargetSchema::parse(schema.clone()) else { return false };
    holds_numbers(schema.json_schema())
}

fn holds_numbers(schema: &Value) -> bool {
    match schema.get("type").and_then(Value::as_str) {
        None | Some("number" | "integer") => true,
        Some("object") => schema.get("properties").and_then(Value::as_object).is_none_or(|properties| properties.values().any(holds_numbers)),
        Some("array") => schema.get("items").is_none_or(holds_numbers),
        Some(_) => false,
    }
}

/// The validator's own answer to `challenge` (see the module terms), or why it has none.
pub async fn fix(orchestrator: &Orchestrator, catalog: &Catalog, challenge: &Challenge, budget: KnownAnswerBudget, deadline: Duration, shared: &BTreeSet<String>) -> Result<KnownAnswer, String> {
    let request = Request {
        objective: challenge.objective.clone(),
        target_schema: challenge.target_schema.clone(),
        budget_rao: Some(budget.rao_per_answer),
        deadline_ms: Some(deadline.as_millis() as u64),
        nonce: None,
        include_evidence: false,
    };
    let outcome = orchestrator.run(catalog, request).await.map_err(|error| format!("the validator's own answer failed: {error}"))?;
    let provenance = outcome.provenance.ok_or("the validator's own answer cites nothing")?;
    KnownAnswer::from_result(&outcome.result, &provenance, &challenge.subjects, shared).ok_or_else(|| "the validator's own answer holds no number about one subject".to_owned())
}

/// The facts of `result` among the leaves `counted` keeps, each with its numbers.
fn facts(result: &Value, subjects: &[String], shared: &BTreeSet<String>, counted: impl Fn(&str) -> bool) -> BTreeMap<Fact, Vec<f64>> {
    let about: Vec<About> = subjects.iter().map(|subject| About::new(subject, shared)).collect();
    let leaves = provenance::leaves(result);
    let mut facts: BTreeMap<Fact, Vec<f64>> = BTreeMap::new();
    for (pointer, value) in &leaves {
        let Some(number) = value.as_f64() else { continue };
        if !counted(pointer) {
            continue;
        }
        let fact = match subjects {
            [subject] => Fact { subject: subject.clone(), at: starred(result, pointer, "") },
            _ => match item_of(result, pointer, &leaves, &about) {
                Some((subject, within)) => Fact { subject: subjects[subject].clone(), at: starred(result, pointer, within) },
                None => continue,
            },
        };
        facts.entry(fact).or_default().push(number);
    }
    facts
}

/// The subject (its index) of the innermost array element holding `pointer` whose strings are
/// about exactly one subject, and the element's pointer.
fn item_of<'a>(result: &Value, pointer: &'a str, leaves: &BTreeMap<String, &Value>, about: &[About]) -> Option<(usize, &'a str)> {
    let elements = element_prefixes(result, pointer);
    elements.into_iter().rev().find_map(|element| {
        let inside = format!("{element}/");
        let text: BTreeSet<String> = leaves.range(inside.clone()..).take_while(|(leaf, _)| leaf.starts_with(&inside)).filter_map(|(_, value)| value.as_str()).flat_map(words).collect();
        let named: Vec<usize> = about.iter().enumerate().filter(|(_, subject)| subject.in_words(&text)).map(|(index, _)| index).collect();
        match named[..] {
            [subject] => Some((subject, element)),
            _ => None,
        }
    })
}

/// The prefixes of `pointer` that name an array's element, outermost first.
fn element_prefixes<'a>(result: &Value, pointer: &'a str) -> Vec<&'a str> {
    let mut prefixes = Vec::new();
    let mut value = result;
    let mut end = 0;
    for token in pointer.split('/').skip(1) {
        end += 1 + token.len();
        let Some(next) = (match value {
            Value::Array(elements) => token.parse::<usize>().ok().and_then(|index| elements.get(index)),
            Value::Object(fields) => fields.get(&token.replace("~1", "/").replace("~0", "~")),
            _ => None,
        }) else {
            break;
        };
        if value.is_array() {
            prefixes.push(&pointer[..end]);
        }
        value = next;
    }
    prefixes
}

/// `pointer` after `within`, each token that indexes an array written `*`.
fn starred(result: &Value, pointer: &str, within: &str) -> String {
    let arrays: BTreeSet<usize> = element_prefixes(result, pointer).iter().map(|prefix| prefix.len()).collect();
    let mut starred = String::new();
    let mut end = 0;
    for token in pointer.split('/').skip(1) {
        end += 1 + token.len();
        if end <= within.len() {
            continue;
        }
        starred.push('/');
        starred.push_str(if arrays.contains(&end) { "*" } else { token });
    }
    starred
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= TOLERANCE * a.abs().max(b.abs()).max(f64::MIN_POSITIVE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn subjects() -> Vec<String> {
        vec!["RunPod".to_owned(), "Vast.ai".to_owned(), "Lambda".to_owned()]
    }

    fn shared() -> BTreeSet<String> {
        super::super::relevance::shared_words(["RunPod", "Vast.ai", "Lambda", "mixture of experts"])
    }

    fn extracted(pointers: &[&str]) -> Provenance {
        Provenance { format: provenance::FORMAT, leaves: pointers.iter().map(|pointer| ((*pointer).to_owned(), Citation::Extract { receipt: 0, at: "/x".into() })).collect() }
    }

    fn priced(runpod: f64, vast: f64) -> Value {
        json!({
            "competitors": [
                { "name": "RunPod", "pricing": { "A100 80GB": runpod, "H100 SXM": 2.69 } },
                { "name": "Vast.ai", "pricing": { "A100 80GB": vast } },
            ],
            "recommendation": { "price_point": 1.04 },
        })
    }

    #[test]
    fn each_number_is_a_fact_about_the_subject_its_item_names() {
        let result = priced(1.19, 0.89);
        let provenance = extracted(&["/competitors/0/pricing/A100 80GB", "/competitors/0/pricing/H100 SXM", "/competitors/1/pricing/A100 80GB"]);
        let known = KnownAnswer::from_result(&result, &provenance, &subjects(), &shared()).expect("facts");
        let facts: Vec<String> = known.facts().map(Fact::to_string).collect();
        assert_eq!(facts, ["RunPod's `/pricing/A100 80GB`", "RunPod's `/pricing/H100 SXM`", "Vast.ai's `/pricing/A100 80GB`"], "a derived price point is no fact of the validator's");
        assert_eq!(known.judge(&result, &subjects(), &shared()), Judgement { given: 3, contradictions: Vec::new() });
    }

    #[test]
    fn an_answer_giving_one_subject_anothers_number_contradicts_and_an_answer_in_another_order_agrees() {
        let known = KnownAnswer::from_result(&priced(1.19, 0.89), &extracted(&["/competitors/0/pricing/A100 80GB", "/competitors/1/pricing/A100 80GB"]), &subjects(), &shared()).expect("facts");
        let swapped = known.judge(&priced(0.89, 1.19), &subjects(), &shared());
        assert_eq!(swapped.given, 2);
        assert_eq!(swapped.contradictions.len(), 2, "{swapped:?}");
        assert!(swapped.contradictions[0].contains("0.89 for RunPod's `/pricing/A100 80GB`"), "{swapped:?}");
        let reordered = json!({ "competitors": [{ "name": "Vast.ai", "pricing": { "A100 80GB": 0.891 } }, { "name": "RunPod", "pricing": { "A100 80GB": 1.19 } }] });
        assert_eq!(known.judge(&reordered, &subjects(), &shared()), Judgement { given: 2, contradictions: Vec::new() }, "order is free and cents round");
        let silent = json!({ "competitors": [{ "name": "RunPod", "pricing": {} }] });
        assert_eq!(known.judge(&silent, &subjects(), &shared()), Judgement::default(), "a fact not given contradicts nothing");
    }

    #[test]
    fn an_item_about_two_subjects_or_none_holds_no_fact() {
        let result = json!({ "competitors": [{ "name": "RunPod or Vast.ai", "price": 1.0 }, { "name": "someone", "price": 2.0 }] });
        let provenance = extracted(&["/competitors/0/price", "/competitors/1/price"]);
        assert_eq!(KnownAnswer::from_result(&result, &provenance, &subjects(), &shared()), None);
        let one = vec!["mixture of experts".to_owned()];
        let papers = json!({ "papers": [{ "title": "Sparse experts", "citations": 12 }] });
        let known = KnownAnswer::from_result(&papers, &extracted(&["/papers/0/citations"]), &one, &shared()).expect("one subject");
        assert_eq!(known.facts().map(Fact::to_string).collect::<Vec<_>>(), ["mixture of experts's `/papers/*/citations`"]);
    }

    #[test]
    fn only_schemas_that_can_hold_numbers_are_fixable() {
        assert!(fixable(&json!({ "competitors": [{ "name": "str", "pricing": "dict" }] })));
        assert!(fixable(&json!({ "recommendation": { "price_point": "float" } })));
        assert!(!fixable(&json!({ "papers": [{ "title": "str", "url": "str" }] })));
        assert!(!fixable(&json!({ "papers": [{ "title": "str", "tags": ["str"] }] })));
    }
}
