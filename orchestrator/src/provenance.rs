//! Provenance: for every value of a result, the evidence it stands on, in a form a holder of
//! the response bodies can check (docs/SPEC.md §18).
//!
//! Terms:
//! - **leaf**: a string, number or boolean of the document, named by its JSON pointer. `null`
//!   needs no evidence; objects and arrays are not leaves.
//! - **body**: a subnet's response body, as received, named by the index of the receipt whose
//!   `response_hash` covers it.
//! - **citation** ([`Citation`]), one of:
//!   - `extract`: the value at a pointer into a body (a JSON body) is the leaf: the same
//!     string, or the same number (a decimal string there counts as the number it writes);
//!   - `quote`: a text that occurs in the string at a pointer into a body; a string leaf is that
//!     text, a number leaf is the value of one of its numerals (thousands commas aside, `3.90`
//!     writes 3.9), a boolean leaf is `true`
//!     and the text holds the words of its field (the pointer's last token that is not an
//!     array index);
//!   - `format`: a format filled from the value at a pointer into a body (see [`fill`]) is the
//!     string leaf;
//!   - `objective`: a text that occurs in the request's objective (a subject the caller named);
//!     the leaf is that text;
//!   - `derived`: a rule over other leaves of the same document (`median`, `min`, `max` over
//!     number leaves; `count` of an array's elements), each of which is cited itself.
//! - **checking** a document's provenance ([`check`]): every leaf has a citation and every
//!   citation holds against the bodies and the objective.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The format of [`Provenance`] this code writes and checks.
pub const FORMAT: u32 = 1;

/// Why a leaf has its value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Citation {
    Extract { receipt: u64, at: String },
    Quote { receipt: u64, at: String, text: String },
    Format { receipt: u64, at: String, format: String },
    Objective { text: String },
    Derived { rule: Rule, from: Vec<String> },
}

/// How a derived value is computed from the leaves it names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    Median,
    Min,
    Max,
    /// The number of elements of the one array named.
    Count,
}

/// Every leaf's citation, by JSON pointer.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Provenance {
    pub format: u32,
    pub leaves: BTreeMap<String, Citation>,
}

impl Provenance {
    /// The receipts whose bodies the citations point into: the calls the result stands on.
    pub fn cited_receipts(&self) -> std::collections::BTreeSet<u64> {
        self.leaves
            .values()
            .filter_map(|citation| match citation {
                Citation::Extract { receipt, .. } | Citation::Quote { receipt, .. } | Citation::Format { receipt, .. } => Some(*receipt),
                Citation::Objective { .. } | Citation::Derived { .. } => None,
            })
            .collect()
    }
}

/// The first reason a document's provenance does not hold.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProvenanceError {
    #[error("provenance format {0} is not format {FORMAT}")]
    UnknownFormat(u32),
    #[error("`{0}` has no citation")]
    Uncited(String),
    #[error("`{0}` is cited but is not a leaf of the document")]
    NotALeaf(String),
    #[error("`{leaf}` cites receipt {receipt}, whose body is not given")]
    NoBody { leaf: String, receipt: u64 },
    #[error("`{leaf}` does not hold: {reason}")]
    Unsupported { leaf: String, reason: String },
}

/// Checks `provenance` for `document`: `bodies` are the response bodies by receipt index
/// (their hashes checked against the receipts by the caller), `objective` the request's. The
/// first failure, in the order of docs/SPEC.md §18.2.
pub fn check(document: &Value, provenance: &Provenance, bodies: &BTreeMap<u64, Vec<u8>>, objective: &str) -> Result<(), ProvenanceError> {
    match problems(document, provenance, bodies, objective).into_iter().next() {
        Some(problem) => Err(problem),
        None => Ok(()),
    }
}

/// Every failure of [`check`]: a wrong format or a citation of no leaf alone, else one per leaf
/// that does not hold, in pointer order (what an LLM is asked to repair).
pub fn problems(document: &Value, provenance: &Provenance, bodies: &BTreeMap<u64, Vec<u8>>, objective: &str) -> Vec<ProvenanceError> {
    if provenance.format != FORMAT {
        return vec![ProvenanceError::UnknownFormat(provenance.format)];
    }
    let leaves = leaves(document);
    if let Some(cited) = provenance.leaves.keys().find(|pointer| !leaves.contains_key(pointer.as_str())) {
        return vec![ProvenanceError::NotALeaf(cited.clone())];
    }
    let parsed: BTreeMap<u64, Option<Value>> = bodies.iter().map(|(receipt, bytes)| (*receipt, serde_json::from_slice(bytes).ok())).collect();
    let checker = Checker { document, leaves: &leaves, bodies: &parsed, objective };
    leaves.iter().filter_map(|(pointer, value)| checker.leaf(pointer, value, provenance.leaves.get(pointer)).err()).collect()
}

/// What one leaf is checked against.
struct Checker<'a> {
    document: &'a Value,
    leaves: &'a BTreeMap<String, &'a Value>,
    /// The bodies by receipt, `None` for one that is not JSON.
    bodies: &'a BTreeMap<u64, Option<Value>>,
    objective: &'a str,
}

impl Checker<'_> {
    fn leaf(&self, pointer: &str, value: &Value, citation: Option<&Citation>) -> Result<(), ProvenanceError> {
        let citation = citation.ok_or_else(|| ProvenanceError::Uncited(pointer.to_owned()))?;
        let unsupported = |reason: String| ProvenanceError::Unsupported { leaf: pointer.to_owned(), reason };
        let body = |receipt: u64| -> Result<&Value, ProvenanceError> {
            let body = self.bodies.get(&receipt).ok_or_else(|| ProvenanceError::NoBody { leaf: pointer.to_owned(), receipt })?;
            body.as_ref().ok_or_else(|| unsupported(format!("receipt {receipt}'s body is not JSON")))
        };
        match citation {
            Citation::Extract { receipt, at } => {
                let found = body(*receipt)?.pointer(at).ok_or_else(|| unsupported(format!("receipt {receipt}'s body has nothing at `{at}`")))?;
                if !same_value(value, found) {
                    return Err(unsupported(format!("receipt {receipt} holds {found} at `{at}`, not {value}")));
                }
            }
            Citation::Quote { receipt, at, text } => {
                let found = body(*receipt)?.pointer(at).and_then(Value::as_str).ok_or_else(|| unsupported(format!("receipt {receipt}'s body has no string at `{at}`")))?;
                if !found.contains(text.as_str()) {
                    return Err(unsupported(format!("the quote is not in receipt {receipt}'s `{at}`")));
                }
                quote_supports(pointer, value, text).map_err(unsupported)?;
            }
            Citation::Format { receipt, at, format } => {
                let element = body(*receipt)?.pointer(at).ok_or_else(|| unsupported(format!("receipt {receipt}'s body has nothing at `{at}`")))?;
                let filled = fill(format, element).ok_or_else(|| unsupported(format!("`{format}` cannot be filled from `{at}`")))?;
                if value.as_str() != Some(filled.as_str()) {
                    return Err(unsupported(format!("`{format}` fills as {filled:?}, not {value}")));
                }
            }
            Citation::Objective { text } => {
                if !self.objective.contains(text.as_str()) || value.as_str() != Some(text.as_str()) {
                    return Err(unsupported(format!("{value} is not the objective's {text:?}")));
                }
            }
            Citation::Derived { rule, from } => {
                let derived = derive(*rule, from, self.document, self.leaves).map_err(unsupported)?;
                if !value.as_f64().is_some_and(|value| close(value, derived)) {
                    return Err(unsupported(format!("{rule:?} of {} is {derived}, not {value}", from.join(", "))));
                }
            }
        }
        Ok(())
    }
}

/// `format` with each `{pointer}` replaced by the text of the value there in `value`; none when
/// one is missing or has no text.
pub fn fill(format: &str, value: &Value) -> Option<String> {
    let mut filled = String::new();
    let mut rest = format;
    while let Some(open) = rest.find('{') {
        let close = open + rest[open..].find('}')?;
        filled.push_str(&rest[..open]);
        filled.push_str(&text(value.pointer(&rest[open + 1..close])?)?);
        rest = &rest[close + 1..];
    }
    filled.push_str(rest);
    Some(filled)
}

/// A value's text: a string that is not blank, or a number as JSON writes it.
pub fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) if !text.trim().is_empty() => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

/// Every leaf of `document` by pointer.
pub fn leaves(document: &Value) -> BTreeMap<String, &Value> {
    let mut found = BTreeMap::new();
    let mut pending = vec![(String::new(), document)];
    while let Some((pointer, value)) = pending.pop() {
        match value {
            Value::Object(members) => pending.extend(members.iter().map(|(name, member)| (format!("{pointer}/{}", escape(name)), member))),
            Value::Array(elements) => pending.extend(elements.iter().enumerate().map(|(index, element)| (format!("{pointer}/{index}"), element))),
            Value::Null => {}
            leaf => {
                found.insert(pointer, leaf);
            }
        }
    }
    found
}

/// A name as a JSON pointer token (RFC 6901: `~` as `~0`, `/` as `~1`).
pub fn escape(name: &str) -> String {
    name.replace('~', "~0").replace('/', "~1")
}

/// The field a leaf at `pointer` fills: its last token that is not an array index, unescaped.
fn field_of(pointer: &str) -> String {
    let token = pointer.rsplit('/').find(|token| !token.is_empty() && !token.bytes().all(|byte| byte.is_ascii_digit())).unwrap_or_default();
    token.replace("~1", "/").replace("~0", "~")
}

fn same_value(leaf: &Value, found: &Value) -> bool {
    match (leaf, found) {
        (Value::Number(number), Value::String(text)) => text.trim().parse::<f64>().ok().zip(number.as_f64()).is_some_and(|(a, b)| close(a, b)),
        (Value::Number(a), Value::Number(b)) => a.as_f64().zip(b.as_f64()).is_some_and(|(a, b)| close(a, b)),
        _ => leaf == found,
    }
}

/// Whether a quote supports the leaf at `pointer` (see the module documentation); a number's
/// label is not checked: which product a quoted price is for is read by the holder.
fn quote_supports(pointer: &str, value: &Value, quote: &str) -> Result<(), String> {
    match value {
        Value::String(text) if text == quote => Ok(()),
        Value::String(_) => Err("a quoted string leaf must be the quote".to_owned()),
        Value::Number(number) if number.as_f64().is_some_and(|number| writes_number(quote, number)) => Ok(()),
        Value::Number(number) => Err(format!("the quote does not write {number}")),
        Value::Bool(true) if names_field(quote, &field_of(pointer)) => Ok(()),
        Value::Bool(_) => Err("only `true` can be quoted, with its field's words".to_owned()),
        _ => Err("not a leaf".to_owned()),
    }
}

/// Whether `quote` writes `number`: one of its numerals (digits with at most one decimal
/// point, thousands commas dropped) has its value; `3.90` writes 3.9, `2.69` does not write 2.
fn writes_number(quote: &str, number: f64) -> bool {
    let plain: String = quote.chars().filter(|&character| character != ',').collect();
    let mut numerals = Vec::new();
    let mut current = String::new();
    for character in plain.chars().chain(std::iter::once(' ')) {
        if character.is_ascii_digit() || (character == '.' && !current.is_empty() && !current.contains('.')) {
            current.push(character);
        } else if !current.is_empty() {
            numerals.push(std::mem::take(&mut current));
        }
    }
    numerals.iter().filter_map(|numeral| numeral.trim_end_matches('.').parse::<f64>().ok()).any(|value| close(value, number))
}

/// Whether `quote` holds the meaningful words of a field's name (`has_free_tier`: "free" and
/// "tier"), as whole words, ignoring case.
pub fn names_field(quote: &str, field: &str) -> bool {
    let words = crate::planner::words::identifier_words(field);
    let meaningful: Vec<&String> = words.iter().skip(usize::from(words.len() > 1 && ["is", "has", "have", "supports", "offers", "can"].contains(&words[0].as_str()))).collect();
    let quoted = crate::planner::words::words(quote);
    !meaningful.is_empty() && meaningful.iter().all(|word| quoted.iter().any(|found| crate::planner::words::is_keyword(found, word)))
}

fn derive(rule: Rule, from: &[String], document: &Value, leaves: &BTreeMap<String, &Value>) -> Result<f64, String> {
    if rule == Rule::Count {
        let [array] = from else { return Err("count names one array".to_owned()) };
        return document.pointer(array).and_then(Value::as_array).map(|elements| elements.len() as f64).ok_or_else(|| format!("`{array}` is not an array"));
    }
    let mut values = Vec::with_capacity(from.len());
    for pointer in from {
        values.push(leaves.get(pointer).and_then(|leaf| leaf.as_f64()).ok_or_else(|| format!("`{pointer}` is not a number leaf"))?);
    }
    if values.is_empty() {
        return Err("derived from nothing".to_owned());
    }
    values.sort_by(f64::total_cmp);
    Ok(match rule {
        Rule::Min => values[0],
        Rule::Max => values[values.len() - 1],
        Rule::Median if values.len() % 2 == 1 => values[values.len() / 2],
        Rule::Median => (values[values.len() / 2 - 1] + values[values.len() / 2]) / 2.0,
        Rule::Count => unreachable!("counted above"),
    })
}

/// Equal up to the rounding of a decimal written with 6 significant digits or more.
fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}
