//! Schema terms: the words a target schema (full form) uses for what it wants, so that a
//! schema asking for `tweets` or `papers` steers the plan even when the objective does not say.
//!
//! They are the words of property and definition names (as identifiers, `tweetCount` giving
//! `tweet`, `count`) and of `title` and `description` texts, found at any depth. Example
//! values (`enum`, `const`, `default`, `examples`) describe data, not the request, and are
//! skipped.

use std::collections::BTreeSet;

use serde_json::Value;

use super::words::{identifier_words, words};

/// Keywords whose object values are named subschemas.
const NAMING_KEYWORDS: [&str; 3] = ["properties", "$defs", "definitions"];

const TEXT_KEYWORDS: [&str; 2] = ["title", "description"];

const DATA_KEYWORDS: [&str; 4] = ["enum", "const", "default", "examples"];

/// Nesting followed at most, so that no schema can exhaust the stack.
const MAX_DEPTH: usize = 64;

pub(super) fn schema_words(schema: &Value) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    collect(schema, MAX_DEPTH, &mut found);
    found
}

fn collect(schema: &Value, depth_left: usize, found: &mut BTreeSet<String>) {
    let Some(depth_left) = depth_left.checked_sub(1) else { return };
    match schema {
        Value::Object(keywords) => {
            for (keyword, value) in keywords {
                match (keyword.as_str(), value) {
                    (keyword, _) if DATA_KEYWORDS.contains(&keyword) => {}
                    (keyword, Value::String(text)) if TEXT_KEYWORDS.contains(&keyword) => found.extend(words(text)),
                    // Walked by hand: a property may be called `enum` or `title`.
                    (keyword, Value::Object(named)) if NAMING_KEYWORDS.contains(&keyword) => {
                        for (name, subschema) in named {
                            found.extend(identifier_words(name));
                            collect(subschema, depth_left, found);
                        }
                    }
                    (_, value) => collect(value, depth_left, found),
                }
            }
        }
        Value::Array(subschemas) => subschemas.iter().for_each(|subschema| collect(subschema, depth_left, found)),
        _ => {}
    }
}
