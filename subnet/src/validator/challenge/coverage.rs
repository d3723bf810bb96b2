//! Coverage: how much of what a challenge asked an answer gives.
//!
//! A result can fit its schema and cite every value while giving little: an empty price table,
//! no strengths, one provider of the three asked about. Terms:
//! - **part** of a challenge, for one answer:
//!   - each subject the challenge names, **covered** when a string of the result is about it
//!     (see [`super::relevance`]) and stands on evidence: it, or another value of the object
//!     holding it (a competitor's prices beside its name), cites a call's body (an extract, a
//!     quote or a format of one). A name written from the objective with nothing found beside
//!     it covers nothing;
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
//! every value must still be grounded.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::known::Asked;
use super::relevance::{words, About};
use orchestrator::provenance::{self, Citation, Provenance};

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

/// The parts of `result`, cited by `provenance`, for the challenge `asked` (see the module
/// terms); `known` is the known answer's count of facts and how many of them the result gives.
pub fn parts(result: &Value, provenance: Option<&Provenance>, asked: &Asked, known: Option<(usize, usize)>) -> Parts {
    let mut parts = Parts::default();
    let from_bodies: Vec<&str> = provenance
        .map(|provenance| {
            provenance.leaves.iter().filter(|(_, citation)| matches!(citation, Citation::Extract { .. } | Citation::Quote { .. } | Citation::Format { .. })).map(|(pointer, _)| pointer.as_str()).collect()
        })
        .unwrap_or_default();
    // A leaf stands on evidence when it, or a leaf beside it in its object, cites a body.
    let evidenced = |pointer: &str| {
        let within = pointer.rfind('/').map_or("", |slash| &pointer[..=slash]);
        from_bodies.iter().any(|cited| *cited == pointer || cited.starts_with(within))
    };
    let text: BTreeSet<String> = provenance::leaves(result)
        .into_iter()
        .filter(|(pointer, _)| evidenced(pointer))
        .filter_map(|(_, value)| value.as_str())
        .flat_map(words)
        .collect();
    for subject in asked.subjects {
        parts.count(About::new(subject, asked.shared).in_words(&text));
    }
    let mut places = BTreeMap::new();
    containers(asked.schema.json_schema(), result, String::new(), &mut places);
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
    use orchestrator::schema::TargetSchema;
    use serde_json::json;

    fn schema() -> TargetSchema {
        TargetSchema::parse(json!({ "competitors": [{ "name": "str", "pricing": "dict", "strengths": "list" }] })).unwrap()
    }

    fn providers() -> Vec<String> {
        vec!["RunPod".to_owned(), "Vast.ai".to_owned()]
    }

    /// A provenance citing every leaf of `result` from the body of receipt 0.
    fn extracted(result: &Value) -> Provenance {
        let leaves = provenance::leaves(result).into_keys().map(|pointer| (pointer.clone(), Citation::Extract { receipt: 0, at: pointer })).collect();
        Provenance { format: provenance::FORMAT, leaves }
    }

    fn parts_of(result: &Value, schema: &TargetSchema, subjects: &[String], known: Option<(usize, usize)>) -> Parts {
        let shared = BTreeSet::new();
        parts(result, Some(&extracted(result)), &Asked { schema, subjects, shared: &shared }, known)
    }

    #[test]
    fn every_subject_named_and_every_list_filled_covers_everything() {
        let full = json!({ "competitors": [
            { "name": "RunPod", "pricing": { "A100": 1.19 }, "strengths": ["per-second billing"] },
            { "name": "Vast.ai", "pricing": { "A100": 0.89 }, "strengths": ["cheapest"] },
        ] });
        let parts = parts_of(&full, &schema(), &providers(), None);
        assert_eq!(parts, Parts { covered: 5, asked: 5 }, "two subjects, the array, and its elements' two containers");
        assert_eq!(parts.share(), 1.0);
    }

    #[test]
    fn a_missing_subject_an_empty_table_and_an_ungiven_fact_each_cost_a_part() {
        let thin = json!({ "competitors": [{ "name": "RunPod", "pricing": {}, "strengths": ["per-second billing"] }] });
        assert_eq!(parts_of(&thin, &schema(), &providers(), Some((2, 0))), Parts { covered: 3, asked: 7 });
        let padded = json!({ "competitors": [
            { "name": "RunPod", "pricing": { "A100": 1.19 }, "strengths": ["per-second billing"] },
            { "name": "elsewhere", "pricing": {}, "strengths": [] },
            { "name": "another", "pricing": {}, "strengths": [] },
        ] });
        assert_eq!(parts_of(&padded, &schema(), &providers(), None), Parts { covered: 2, asked: 5 }, "padding empties the parts it touches");
        let empty = json!({ "competitors": [] });
        assert_eq!(parts_of(&empty, &schema(), &[], None), Parts { covered: 0, asked: 1 });
        let scalar = TargetSchema::parse(json!({ "answer": "str" })).unwrap();
        assert_eq!(parts_of(&json!({ "answer": "x" }), &scalar, &[], None).share(), 1.0, "nothing asked, nothing missing");
    }

    #[test]
    fn a_subject_named_from_the_objective_is_covered_only_beside_what_was_found_about_it() {
        let full = json!({ "competitors": [
            { "name": "RunPod", "pricing": { "A100": 1.19 }, "strengths": ["per-second billing"] },
            { "name": "Vast.ai", "pricing": { "A100": 0.89 }, "strengths": ["cheapest"] },
        ] });
        let shared = BTreeSet::new();
        let (schema, subjects) = (schema(), providers());
        let asked = Asked { schema: &schema, subjects: &subjects, shared: &shared };
        // Names from the objective beside prices from bodies: each competitor stands on evidence.
        let mut named = extracted(&full);
        for index in 0..2 {
            named.leaves.insert(format!("/competitors/{index}/name"), Citation::Objective { text: String::new() });
        }
        assert_eq!(parts(&full, Some(&named), &asked, None), Parts { covered: 5, asked: 5 });
        // Vast.ai named from the objective and nothing beside it cited: nothing found about it.
        let mut bare = named.clone();
        bare.leaves.retain(|pointer, _| !pointer.starts_with("/competitors/1/") || pointer == "/competitors/1/name");
        assert_eq!(parts(&full, Some(&bare), &asked, None), Parts { covered: 4, asked: 5 }, "Vast.ai is named, but nothing found about it stands beside its name");
        assert_eq!(parts(&full, None, &asked, None), Parts { covered: 3, asked: 5 }, "an answer without provenance names no subject");
    }
}
