//! Fitting: a value drawn from the evidence made to meet its node's constraints.
//!
//! Terms:
//! - **fitting a string**: lengthened to `minLength` characters with the padding text (the
//!   objective) and then `.`s, and cut to `maxLength` characters. `pattern` and `format` are not
//!   read.
//! - **fitting a number**: moved onto the nearest multiple of `multipleOf` (of 1 for an
//!   integer), then into the bounds: below a lower bound, to the least allowed value at or above
//!   it; above an upper bound, to the greatest allowed value at or below it. An exclusive bound
//!   without a step moves the value halfway to the other bound, or one past it.
//! - **choosing from an enum**: of the values the node's `type` allows (all of them if none
//!   is), the one the scope mentions most, the first on a tie.

use serde_json::{Number, Value};

use super::nodes::{count, flag, number, type_allows, Node};
use super::scope::Scope;

/// Longest string made to meet a `minLength`, in characters: a bound on the document's size.
const MAX_PADDED_LENGTH: usize = 100_000;

pub(crate) fn fit_string(node: &Node, mut text: String, padding: &str) -> String {
    let min = count(node, "minLength", MAX_PADDED_LENGTH).unwrap_or(0);
    let mut length = text.chars().count();
    if length < min && !padding.trim().is_empty() {
        if length > 0 {
            text.push(' ');
        }
        text.push_str(padding.trim());
        length = text.chars().count();
    }
    text.extend(std::iter::repeat_n('.', min.saturating_sub(length)));
    match count(node, "maxLength", usize::MAX) {
        Some(max) if text.chars().count() > max => text.chars().take(max).collect(),
        _ => text,
    }
}

/// A bound: its value and whether it is exclusive.
type Bound = (f64, bool);

pub(crate) fn fit_number(node: &Node, value: f64, integer: bool) -> Value {
    let step = number(node, "multipleOf").filter(|step| *step > 0.0).or(integer.then_some(1.0));
    let lower = bound(node, "minimum", "exclusiveMinimum", f64::max);
    let upper = bound(node, "maximum", "exclusiveMaximum", f64::min);
    let mut value = if value.is_finite() { value } else { 0.0 };
    if let Some(step) = step {
        value = (value / step).round() * step;
    }
    if let Some((limit, exclusive)) = lower.filter(|&(limit, exclusive)| value < limit || (exclusive && value <= limit)) {
        value = nearest_inside(limit, exclusive, step, upper.map(|(other, _)| other), 1.0);
    }
    if let Some((limit, exclusive)) = upper.filter(|&(limit, exclusive)| value > limit || (exclusive && value >= limit)) {
        value = nearest_inside(limit, exclusive, step, lower.map(|(other, _)| other), -1.0);
    }
    if integer && value.abs() < 9.0e15 {
        return Value::from(value.round() as i64);
    }
    Number::from_f64(value).map_or(Value::from(0), Value::Number)
}

/// The value nearest `limit` on its allowed side (`direction` 1 above a lower bound, -1 below
/// an upper one).
fn nearest_inside(limit: f64, exclusive: bool, step: Option<f64>, other_limit: Option<f64>, direction: f64) -> f64 {
    match step {
        Some(step) => {
            let mut multiple = if direction > 0.0 { (limit / step).ceil() } else { (limit / step).floor() };
            if exclusive && multiple * step == limit {
                multiple += direction;
            }
            multiple * step
        }
        None if !exclusive => limit,
        None => match other_limit {
            Some(other) if (other - limit) * direction > 0.0 => (limit + other) / 2.0,
            _ => limit + direction,
        },
    }
}

/// The stricter of the inclusive and exclusive bound, draft 4's boolean `exclusiveMinimum`
/// and `exclusiveMaximum` making the inclusive one exclusive.
fn bound(node: &Node, inclusive: &str, exclusive: &str, stricter: fn(f64, f64) -> f64) -> Option<Bound> {
    let inclusive_bound = number(node, inclusive).map(|limit| (limit, flag(node, exclusive)));
    let exclusive_bound = number(node, exclusive).map(|limit| (limit, true));
    match (inclusive_bound, exclusive_bound) {
        (Some(a), Some(b)) => Some(if stricter(a.0, b.0) == b.0 { b } else { a }),
        (a, b) => a.or(b),
    }
}

/// The enum value to use, or `None` for an empty enum.
pub(crate) fn choose_enum(node: &Node, values: &[Value], scope: &Scope) -> Option<Value> {
    let candidates: Vec<&Value> = values.iter().filter(|value| type_allows(node, value)).collect();
    let candidates = if candidates.is_empty() { values.iter().collect() } else { candidates };
    let mentions = |value: &Value| value.as_str().map_or(0, |text| scope.mentions(text));
    let best = candidates.iter().map(|value| mentions(value)).max()?;
    candidates.into_iter().find(|value| mentions(value) == best).cloned()
}
