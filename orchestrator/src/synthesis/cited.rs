//! The LLM's cited answer: the document and a citation for each of its leaves, asked for as one
//! structured output and read back (docs/SPEC.md §18).
//!
//! Terms:
//! - **answer schema**: an object of `document` (the target schema) and `citations` (pointer to
//!   citation). The target's definitions (`$defs`, `definitions`) move to the answer schema's
//!   root and every other reference into the target (`#`, `#/properties/...`) is rebased under
//!   `#/properties/document`, so that a recursive target resolves as it did.
//! - **reading** an answer: `document` and `citations` as [`Provenance`] of format 1; an answer
//!   missing either, or with a citation not in the format, is a violation at its pointer.

use serde_json::{json, Map, Value};

use crate::provenance::{Provenance, FORMAT};
use crate::schema::Violation;

/// Keywords whose schemas stay addressable at the root.
const DEFINITIONS: [&str; 2] = ["$defs", "definitions"];

/// Where the target schema sits in the answer schema.
const DOCUMENT: &str = "#/properties/document";

/// The answer schema for `target` (full form).
pub(crate) fn answer_schema(target: &Value) -> Value {
    let mut document = target.clone();
    let mut root = Map::new();
    if let Value::Object(keywords) = &mut document {
        for keyword in DEFINITIONS.into_iter().chain(["$schema"]) {
            if let Some(moved) = keywords.remove(keyword) {
                root.insert(keyword.to_owned(), moved);
            }
        }
    }
    rebase(&mut document);
    for keyword in DEFINITIONS {
        if let Some(definitions) = root.get_mut(keyword) {
            rebase(definitions);
        }
    }
    let citation = json!({ "type": "object", "minProperties": 1, "maxProperties": 1, "properties": {
        "extract": { "type": "object", "required": ["receipt", "at"], "properties": { "receipt": { "type": "integer", "minimum": 0 }, "at": { "type": "string" } } },
        "quote": { "type": "object", "required": ["receipt", "at", "text"], "properties": { "receipt": { "type": "integer", "minimum": 0 }, "at": { "type": "string" }, "text": { "type": "string" } } },
        "objective": { "type": "object", "required": ["text"], "properties": { "text": { "type": "string" } } },
        "derived": { "type": "object", "required": ["rule", "from"], "properties": { "rule": { "enum": ["median", "min", "max", "count"] }, "from": { "type": "array", "items": { "type": "string" } } } }
    } });
    root.insert("type".into(), json!("object"));
    root.insert("required".into(), json!(["document", "citations"]));
    root.insert("properties".into(), json!({ "document": document, "citations": { "type": "object", "additionalProperties": citation } }));
    Value::Object(root)
}

/// Rebases every reference in `schema` that points into the target itself.
fn rebase(schema: &mut Value) {
    match schema {
        Value::Object(keywords) => {
            if let Some(Value::String(reference)) = keywords.get_mut("$ref") {
                let into_definitions = DEFINITIONS.iter().any(|keyword| reference.starts_with(&format!("#/{keyword}")));
                if let Some(rest) = reference.strip_prefix('#').filter(|_| !into_definitions) {
                    *reference = format!("{DOCUMENT}{rest}");
                }
            }
            keywords.values_mut().for_each(rebase);
        }
        Value::Array(schemas) => schemas.iter_mut().for_each(rebase),
        _ => {}
    }
}

/// The document and its provenance in `answer`, or what is wrong with its shape.
pub(crate) fn read(answer: Value) -> Result<(Value, Provenance), (Value, Vec<Violation>)> {
    let Value::Object(mut members) = answer else {
        return Err((answer, vec![Violation { path: String::new(), message: "the answer is not an object of `document` and `citations`".into() }]));
    };
    let (Some(document), Some(citations)) = (members.remove("document"), members.remove("citations")) else {
        return Err((Value::Object(members), vec![Violation { path: String::new(), message: "the answer needs both `document` and `citations`".into() }]));
    };
    match serde_json::from_value(citations) {
        Ok(leaves) => Ok((document, Provenance { format: FORMAT, leaves })),
        Err(error) => Err((document, vec![Violation { path: "/citations".into(), message: format!("a citation is not in the format: {error}") }])),
    }
}
