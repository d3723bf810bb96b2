//! Coverage: how much of what a challenge asked an answer gives.
//!
//! A result can fit its schema and cite every value while giving little: an empty price table,
//! no strengths, one provider of the three asked about. Terms:
//! - **part** of a challenge, for one answer:
//!   - each subject the challenge names, **covered** when a string of the result is about it
//!     (see [`super::relevance`]);
//!   - each array and each free-form object (`list`, `dict`) the target schema asks for, once
//!     per place in the schema (every competitor's `pricing` is one part), **filled** when the
//!     result holds it and every instance of it is non-empty;
//!   - for a challenge with a [known answer](super::known), each of its facts, **given** when the
//!     result holds a number for it.
//! - **coverage**: the share of the parts covered, filled or given, in `[0, 1]`; 1 for a
//!   challenge with no part.
//!
//! Coverage counts what is there, not how much: a second paper or a fourth strength adds
//! nothing, and an element added with an empty table empties its part, so padding never pays;
//! every value must still be grounded. The limit: a subject counts as covered wherever the
//! result names it, and the objective itself can be cited for a name.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::relevance::{words, About};
use orchestrator::provenance;
use orchestrator::schema::TargetSchema;

/// Parts of an answer: how many there are, and how many it covers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Parts {
    pub covered: usize,
    pub asked: usize,
}

impl Parts {
    fn count(&mut self, covered: bool) {
        self.asked += 1;
        self.covered += usize::from(covered);
    }

    /// The share covered; 1 when nothing was asked.
    pub fn share(&self) -> f64 {
        match self.asked {
            0 => 1.0,
            asked => self.covered as f64 / asked as f64,
        }
    }
}

/// The parts of `result` for a challenge about `subjects` asking `schema` (see the module
/// terms); `known` is the known answer's count of facts and how many of them the result gives.
pub fn parts(result: &Value, schema: &TargetSchema, subjects: &[String], shared: &BTreeSet<String>, known: Option<(usize, usize)>) -> Parts {
    let mut parts = Parts::default();
    let text: BTreeSet<String> = provenance::leaves(result).values().filter_map(|value| value.as_str()).flat_map(words).collect();
    for subject in subjects {
        parts.count(About::new(subject, shared).in_words(&text));
    }
    let mut places = BTreeMap::new();
    containers(schema.json_schema(), result, String::new(), &mut places);
    for filled in places.into_values() {
        parts.count(filled);
    }
    if let Some((facts, given)) = known {
        parts.asked += facts;
        parts.covered += given.min(facts);
    }
    parts
}

/// Notes, for each place `schema` asks for an array or a free-form object, whether every
/// instance `value` holds there is non-empty.
fn containers(schema: &Value, value: &Value, place: String, places: &mut BTreeMap<String, bool>) {
    let mut note = |place: String, filled: bool| *places.entry(place).or_insert(true) &= filled;
    match (schema.get("type").and_then(Value::as_str), value) {
        (Some("object"), Value::Object(fields)) => match schema.get("properties").and_then(Value::as_object) {
            Some(properties) => {
                for (name, field) in properties {
                    if let Some(value) = fields.get(name) {
                        containers(field, value, format!("{place}/{}", provenance::escape(name)), places);
                    }
                }
            }
            None => note(place, !fields.is_empty()),
        },
        (Some("array"), Value::Array(elements)) => {
            note(place.clone(), !elements.is_empty());
            if let Some(items) = schema.get("items") {
                for element in elements {
                    containers(items, element, format!("{place}/*"), places);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> TargetSchema {
        TargetSchema::parse(json!({ "competitors": [{ "name": "str", "pricing": "dict", "strengths": "list" }] })).unwrap()
    }

    fn providers() -> Vec<String> {
        vec!["RunPod".to_owned(), "Vast.ai".to_owned()]
    }

    #[test]
    fn every_subject_named_and_every_list_filled_covers_everything() {
        let full = json!({ "competitors": [
            { "name": "RunPod", "pricing": { "A100": 1.19 }, "strengths": ["per-second billing"] },
            { "name": "Vast.ai", "pricing": { "A100": 0.89 }, "strengths": ["cheapest"] },
        ] });
        let parts = parts(&full, &schema(), &providers(), &BTreeSet::new(), None);
        assert_eq!(parts, Parts { covered: 5, asked: 5 }, "two subjects, the array, and its elements' two containers");
        assert_eq!(parts.share(), 1.0);
    }

    #[test]
    fn a_missing_subject_an_empty_table_and_an_ungiven_fact_each_cost_a_part() {
        let thin = json!({ "competitors": [{ "name": "RunPod", "pricing": {}, "strengths": ["per-second billing"] }] });
        let parts = parts(&thin, &schema(), &providers(), &BTreeSet::new(), Some((2, 0)));
        assert_eq!(parts, Parts { covered: 3, asked: 7 });
        let padded = json!({ "competitors": [
            { "name": "RunPod", "pricing": { "A100": 1.19 }, "strengths": ["per-second billing"] },
            { "name": "elsewhere", "pricing": {}, "strengths": [] },
            { "name": "another", "pricing": {}, "strengths": [] },
        ] });
        assert_eq!(super::parts(&padded, &schema(), &providers(), &BTreeSet::new(), None), Parts { covered: 2, asked: 5 }, "padding empties the parts it touches");
        let empty = json!({ "competitors": [] });
        assert_eq!(super::parts(&empty, &schema(), &[], &BTreeSet::new(), None), Parts { covered: 0, asked: 1 });
        let scalar = TargetSchema::parse(json!({ "answer": "str" })).unwrap();
        assert_eq!(super::parts(&json!({ "answer": "x" }), &scalar, &[], &BTreeSet::new(), None).share(), 1.0, "nothing asked, nothing missing");
    }
}
