//! Known answers: challenges whose answer the validator fixed in advance from its own calls to
//! the subnets.
//!
//! Citations show that each value stands in a body a subnet returned, not that it is the right
//! value: a result giving every provider the price one page lists for another cites real
//! bodies throughout. So before sending some challenges, the validator answers them itself.
//! Terms:
//! - **fixable challenge**: one whose target schema has a field that can hold a number (a
//!   number, an integer, a free-form object or list, or any value): the only values two answers
//!   written from different calls can be held to agree on.
//! - **number** of a result: a number leaf, or a string leaf holding exactly one numeral
//!   (`"$1.19/hr"`), at a place the schema lets hold a number (a string field's numerals are
//!   not numbers: a name like "RTX 4090" is no price).
//! - **item** of a number: the innermost array element holding it whose own strings (its
//!   string fields, not those of lists or objects inside it) name a subject of the challenge
//!   (see [`super::relevance`]; an element named "Vast.ai" is about Vast.ai).
//! - **fact**: a number's subject and where it stands ([`Fact`]). In a challenge with one
//!   subject every number is about it and stands at its whole pointer; in one with more, it is
//!   about the subjects its item names and stands at its pointer within the item. Array
//!   indexes are written `*` and every token is normalised (lowercased, its words joined by one
//!   space: `A100-80GB` is `a100 80gb`). A number in no item is no fact.
//! - **known answer**: the facts of the validator's own result for the challenge ([`fix`]): the
//!   same engine a miner runs, deterministic, with the validator's keys and within its budget,
//!   just before the challenge goes out. Only numbers its provenance cites from a body
//!   (extracted or quoted) in items naming exactly one subject are kept; derived ones (a
//!   median) depend on the writer.
//! - **contradiction**: a fact of the answer that the known answer also holds, with a number
//!   none of the validator's for it is close to (within [`TOLERANCE`]). An item of the answer
//!   naming several subjects is held to each of them, so that naming them all cannot hide a
//!   number. One contradiction makes the answer's groundedness 0: it is grounded in a body,
//!   but not in the body about its subject.
//! - **given fact**: a fact of the known answer the answer holds a number for, agreeing or not;
//!   the share given is part of the answer's [coverage](super::coverage).
//!
//! A challenge's known answer is not shown to the miner, and which challenges of a round have
//! one is drawn at random, so a miner cannot tell which answers are held to the validator's.
//! The limits: a miner citing another source than the validator found (another page quoting
//! another price for the same provider) contradicts it; and one that writes its numbers under
//! other keys than the validator's engine does gives no fact, which costs it coverage only.

use std::collections::{BTreeMap, BTreeSet, HashMap};
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
/// Contradictions of one answer described in words; the rest are counted.
const CONTRADICTIONS_DESCRIBED: usize = 8;

/// A number's place in a result: its subject, and where it stands in the subject's item.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Fact {
    pub subject: String,
    /// A JSON pointer within the item, normalised (see the module terms).
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
    /// The `(netuid, endpoint)` of the calls its result cites: what the validator's own answer
    /// used of the ledger.
    pub cited_calls: BTreeSet<(u16, String)>,
}

/// What a known answer says of an answer.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Judgement {
    /// How many of the known answer's facts the answer gives.
    pub given: usize,
    /// How many numbers of the answer contradict the known answer.
    pub contradicted: usize,
    /// The first contradictions, in words.
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

/// What a challenge asks, as the facts of a result are read against it.
pub struct Asked<'a> {
    pub schema: &'a TargetSchema,
    pub subjects: &'a [String],
    /// The words more than one subject the validator may ask about names.
    pub shared: &'a BTreeSet<String>,
}

impl KnownAnswer {
    /// The facts of `result` its `provenance` cites from bodies, each in an item of one subject;
    /// `None` when it holds none.
    pub fn from_result(result: &Value, provenance: &Provenance, asked: &Asked) -> Option<KnownAnswer> {
        let from_a_body = |pointer: &str| matches!(provenance.leaves.get(pointer), Some(Citation::Extract { .. } | Citation::Quote { .. }));
        let mut facts: BTreeMap<Fact, Vec<f64>> = BTreeMap::new();
        for placed in numbers(result, asked).into_iter().filter(|placed| placed.subjects.len() == 1 && from_a_body(&placed.pointer)) {
            facts.entry(Fact { subject: asked.subjects[placed.subjects[0]].clone(), at: placed.at }).or_default().push(placed.number);
        }
        (!facts.is_empty()).then_some(KnownAnswer { facts, cited_calls: BTreeSet::new() })
    }

    pub fn facts(&self) -> impl Iterator<Item = &Fact> {
        self.facts.keys()
    }

    /// What the known answer says of `result`, an answer to the same challenge.
    pub fn judge(&self, result: &Value, asked: &Asked) -> Judgement {
        let mut judgement = Judgement::default();
        let mut given = BTreeSet::new();
        for placed in numbers(result, asked) {
            for subject in placed.subjects {
                let fact = Fact { subject: asked.subjects[subject].clone(), at: placed.at.clone() };
                let Some(known) = self.facts.get(&fact) else { continue };
                if known.iter().any(|known| close(placed.number, *known)) {
                    given.insert(fact);
                    continue;
                }
                judgement.contradicted += 1;
                if judgement.contradictions.len() < CONTRADICTIONS_DESCRIBED {
                    let known: Vec<String> = known.iter().map(f64::to_string).collect();
                    judgement.contradictions.push(format!("the answer gives {} for {fact}; the validator's own calls found {}", placed.number, known.join(" or ")));
                }
                given.insert(fact);
            }
        }
        judgement.given = given.len();
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

/// Whether the place `pointer` names in a document of `schema` (full form) may hold a number.
fn may_hold_number(schema: &Value, pointer: &str) -> bool {
    let mut schema = schema;
    for token in pointer.split('/').skip(1) {
        schema = match schema.get("type").and_then(Value::as_str) {
            Some("object") => match schema.get("properties").and_then(Value::as_object) {
                Some(properties) => match properties.get(&unescape(token)) {
                    Some(field) => field,
                    None => return false,
                },
                None => return true,
            },
            Some("array") => match schema.get("items") {
                Some(items) => items,
                None => return true,
            },
            None => return true,
            Some(_) => return false,
        };
    }
    matches!(schema.get("type").and_then(Value::as_str), None | Some("number" | "integer"))
}

/// The validator's own answer to `challenge` (see the module terms), or why it has none.
pub async fn fix(orchestrator: &Orchestrator, catalog: &Catalog, challenge: &Challenge, budget: KnownAnswerBudget, deadline: Duration, shared: &BTreeSet<String>) -> Result<KnownAnswer, String> {
    let schema = TargetSchema::parse(challenge.target_schema.clone()).map_err(|error| format!("the challenge's schema is refused: {error}"))?;
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
    let asked = Asked { schema: &schema, subjects: &challenge.subjects, shared };
    let mut known = KnownAnswer::from_result(&outcome.result, &provenance, &asked).ok_or("the validator's own answer holds no number about one subject")?;
    let cited = provenance.cited_receipts();
    known.cited_calls = outcome.receipts.receipts.iter().filter(|receipt| receipt.call.status != 0 && cited.contains(&receipt.index)).map(|receipt| (receipt.call.subnet, receipt.call.endpoint.clone())).collect();
    Ok(known)
}

/// A number of a result, where it is and what it is about.
struct Placed {
    pointer: String,
    /// The subjects (their indexes) its item names.
    subjects: Vec<usize>,
    /// Where it stands in its item, normalised.
    at: String,
    number: f64,
}

/// Every number of `result` in an item, or of a one-subject challenge (see the module terms).
fn numbers(result: &Value, asked: &Asked) -> Vec<Placed> {
    let about: Vec<About> = asked.subjects.iter().map(|subject| About::new(subject, asked.shared)).collect();
    // Each element's subjects are read once, whatever number of leaves it holds.
    let mut named: HashMap<String, Vec<usize>> = HashMap::new();
    let mut placed = Vec::new();
    for (pointer, value) in provenance::leaves(result) {
        let number = match value {
            Value::Number(number) => number.as_f64(),
            Value::String(text) => sole_numeral(text),
            _ => None,
        };
        let Some(number) = number.filter(|_| may_hold_number(asked.schema.json_schema(), &pointer)) else { continue };
        let elements = element_prefixes(result, &pointer);
        let item = match asked.subjects.len() {
            1 => Some((vec![0], "")),
            _ => elements.iter().rev().find_map(|element| {
                let subjects = named.entry((*element).to_owned()).or_insert_with(|| own_subjects(result.pointer(element), &about));
                (!subjects.is_empty()).then(|| (subjects.clone(), *element))
            }),
        };
        let Some((subjects, within)) = item else { continue };
        let at = normalised(&pointer, within, &elements);
        placed.push(Placed { pointer, subjects, at, number });
    }
    placed
}

/// The subjects an element's own strings name: the element itself when a string, else its
/// string fields.
fn own_subjects(element: Option<&Value>, about: &[About]) -> Vec<usize> {
    let text: BTreeSet<String> = match element {
        Some(Value::String(text)) => words(text),
        Some(Value::Object(fields)) => fields.values().filter_map(Value::as_str).flat_map(words).collect(),
        _ => BTreeSet::new(),
    };
    about.iter().enumerate().filter(|(_, subject)| subject.in_words(&text)).map(|(index, _)| index).collect()
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
            Value::Object(fields) => fields.get(&unescape(token)),
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

/// `pointer` after `within`, each array index written `*` and every other token normalised.
fn normalised(pointer: &str, within: &str, elements: &[&str]) -> String {
    let arrays: BTreeSet<usize> = elements.iter().map(|prefix| prefix.len()).collect();
    let mut at = String::new();
    let mut end = 0;
    for token in pointer.split('/').skip(1) {
        end += 1 + token.len();
        if end <= within.len() {
            continue;
        }
        at.push('/');
        match arrays.contains(&end) {
            true => at.push('*'),
            false => {
                let token = unescape(token);
                let parts: Vec<String> = token.split(|character: char| !character.is_alphanumeric()).filter(|part| !part.is_empty()).map(str::to_lowercase).collect();
                at.push_str(&parts.join(" "));
            }
        }
    }
    at
}

fn unescape(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

/// The value of the one numeral `text` holds (thousands commas aside); none when it holds none
/// or several.
fn sole_numeral(text: &str) -> Option<f64> {
    let plain: String = text.chars().filter(|&character| character != ',').collect();
    let mut numerals = plain.split(|character: char| !(character.is_ascii_digit() || character == '.')).filter(|part| part.chars().any(|character| character.is_ascii_digit()));
    let numeral = numerals.next()?;
    if numerals.next().is_some() {
        return None;
    }
    numeral.trim_matches('.').parse().ok()
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

    fn prices_schema() -> TargetSchema {
        TargetSchema::parse(json!({ "competitors": [{ "name": "str", "pricing": "dict", "strengths": "list" }], "recommendation": { "price_point": "float" } })).unwrap()
    }

    fn extracted(pointers: &[&str]) -> Provenance {
        Provenance { format: provenance::FORMAT, leaves: pointers.iter().map(|pointer| ((*pointer).to_owned(), Citation::Extract { receipt: 0, at: "/x".into() })).collect() }
    }

    fn priced(runpod: Value, vast: Value) -> Value {
        json!({
            "competitors": [
                { "name": "RunPod", "pricing": { "A100 80GB": runpod, "H100 SXM": 2.69 }, "strengths": ["cheaper than Lambda"] },
                { "name": "Vast.ai", "pricing": { "A100 80GB": vast } },
            ],
            "recommendation": { "price_point": 1.04 },
        })
    }

    fn known() -> KnownAnswer {
        let (schema, subjects, shared) = (prices_schema(), subjects(), shared());
        let provenance = extracted(&["/competitors/0/pricing/A100 80GB", "/competitors/0/pricing/H100 SXM", "/competitors/1/pricing/A100 80GB", "/recommendation/price_point"]);
        KnownAnswer::from_result(&priced(json!(1.19), json!(0.89)), &provenance, &Asked { schema: &schema, subjects: &subjects, shared: &shared }).expect("facts")
    }

    fn judge(result: &Value) -> Judgement {
        let (schema, subjects, shared) = (prices_schema(), subjects(), shared());
        known().judge(result, &Asked { schema: &schema, subjects: &subjects, shared: &shared })
    }

    #[test]
    fn each_number_is_a_fact_about_the_subject_its_item_names() {
        let facts: Vec<String> = known().facts().map(Fact::to_string).collect();
        // The price point is cited here, but stands in no item: it is about no one subject. A
        // strength naming Lambda is in a list inside the item, which does not name the item.
        assert_eq!(facts, ["RunPod's `/pricing/a100 80gb`", "RunPod's `/pricing/h100 sxm`", "Vast.ai's `/pricing/a100 80gb`"]);
        assert_eq!(judge(&priced(json!(1.19), json!(0.89))), Judgement { given: 3, contradicted: 0, contradictions: Vec::new() });
    }

    #[test]
    fn an_answer_giving_one_subject_anothers_number_contradicts_and_an_answer_in_another_order_agrees() {
        let swapped = judge(&priced(json!(0.89), json!(1.19)));
        assert_eq!((swapped.given, swapped.contradicted), (3, 2), "{swapped:?}");
        assert!(swapped.contradictions[0].contains("0.89 for RunPod's `/pricing/a100 80gb`"), "{swapped:?}");
        let reordered = json!({ "competitors": [{ "name": "Vast.ai", "pricing": { "A100-80GB": "$0.891/hr" } }, { "name": "RunPod", "pricing": { "a100 80gb": 1.19 } }] });
        assert_eq!(judge(&reordered), Judgement { given: 2, contradicted: 0, contradictions: Vec::new() }, "order, key spelling, strings and cents are free");
        let silent = json!({ "competitors": [{ "name": "RunPod", "pricing": {} }] });
        assert_eq!(judge(&silent), Judgement::default(), "a fact not given contradicts nothing");
    }

    #[test]
    fn an_item_naming_every_subject_is_held_to_each_and_a_price_as_a_string_still_counts() {
        let hidden = json!({ "competitors": [{ "name": "RunPod and Vast.ai", "pricing": { "A100 80GB": 1.19 } }] });
        let judged = judge(&hidden);
        assert_eq!(judged.contradicted, 1, "held to Vast.ai's 0.89 too: {judged:?}");
        let as_text = json!({ "competitors": [{ "name": "RunPod", "pricing": { "A100 80GB": "0.89 USD" } }] });
        assert_eq!(judge(&as_text).contradicted, 1);
        let flood: Vec<Value> = (0..100).map(|_| json!({ "name": "RunPod", "pricing": { "A100 80GB": 9.0 } })).collect();
        let flooded = judge(&json!({ "competitors": flood }));
        assert_eq!((flooded.contradicted, flooded.contradictions.len()), (100, CONTRADICTIONS_DESCRIBED), "counted, a few described");
    }

    #[test]
    fn numbers_in_no_item_of_a_subject_or_in_string_fields_are_no_facts() {
        let (schema, subjects, shared) = (prices_schema(), subjects(), shared());
        let asked = Asked { schema: &schema, subjects: &subjects, shared: &shared };
        let result = json!({ "competitors": [{ "name": "someone", "pricing": { "A100": 2.0 } }] });
        assert_eq!(KnownAnswer::from_result(&result, &extracted(&["/competitors/0/pricing/A100"]), &asked), None);
        let two = json!({ "competitors": [{ "name": "RunPod or Vast.ai", "pricing": { "A100": 1.0 } }] });
        assert_eq!(KnownAnswer::from_result(&two, &extracted(&["/competitors/0/pricing/A100"]), &asked), None, "the validator keeps items of one subject");
        let one = vec!["mixture of experts".to_owned()];
        let papers = TargetSchema::parse(json!({ "papers": [{ "title": "str", "citations": "int" }] })).unwrap();
        let asked = Asked { schema: &papers, subjects: &one, shared: &shared };
        let result = json!({ "papers": [{ "title": "GPT-4 sparse experts", "citations": 12 }] });
        let known = KnownAnswer::from_result(&result, &extracted(&["/papers/0/title", "/papers/0/citations"]), &asked).expect("one subject");
        assert_eq!(known.facts().map(Fact::to_string).collect::<Vec<_>>(), ["mixture of experts's `/papers/*/citations`"], "a title's numeral is no number");
    }

    #[test]
    fn only_schemas_that_can_hold_numbers_are_fixable() {
        assert!(fixable(&json!({ "competitors": [{ "name": "str", "pricing": "dict" }] })));
        assert!(fixable(&json!({ "recommendation": { "price_point": "float" } })));
        assert!(!fixable(&json!({ "papers": [{ "title": "str", "url": "str" }] })));
        assert!(!fixable(&json!({ "papers": [{ "title": "str", "tags": ["str"] }] })));
    }
}
