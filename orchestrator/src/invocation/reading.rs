//! Reading an answer by its spec (docs/SPEC.md §16.3): evidence items and text by pointer, the
//! body-level success test, the reported cost, and a job's state.

use std::collections::BTreeMap;

use ledger::invocation::{CostReport, Extract, Invocation, ItemList, Job};
use serde_json::Value;

use super::{holds, InvocationError, SubnetResponse};
use crate::evidence::Item;

/// Where an asynchronous job stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JobState {
    /// Not finished; poll again.
    Pending,
    /// The answer is the result.
    Done,
    /// Failed for good, with what the answer says.
    Failed(String),
}

fn json(endpoint: &str, body: &[u8]) -> Result<Value, InvocationError> {
    serde_json::from_slice(body).map_err(|error| InvocationError::BadResponse { endpoint: endpoint.to_owned(), reason: format!("not JSON: {error}") })
}

pub fn read(endpoint: &str, invocation: &Invocation, headers: &http::HeaderMap, body: &[u8]) -> Result<SubnetResponse, InvocationError> {
    let answer = json(endpoint, body)?;
    let reading = &invocation.response;
    if let Some(success) = &reading.success {
        if !holds(success, &answer) {
            let found = answer.pointer(&success.at).map_or_else(|| "missing".to_owned(), Value::to_string);
            let reason = match message(invocation, &answer) {
                Some(message) => format!("`{}` is {found}: {message}", success.at),
                None => format!("`{}` is {found}", success.at),
            };
            return Err(InvocationError::Reported { endpoint: endpoint.to_owned(), reason });
        }
    }
    let items: Vec<Item> = reading.items.iter().flat_map(|list| items(list, &answer)).collect();
    let text = first(&reading.text, &answer);
    if reading.text_required && text.is_none() {
        let pointers: Vec<String> = reading.text.iter().map(|extract| serde_json::to_string(extract).unwrap_or_default()).collect();
        return Err(InvocationError::BadResponse { endpoint: endpoint.to_owned(), reason: format!("no text at {}", pointers.join(" or ")) });
    }
    if items.is_empty() && text.is_none() {
        return Err(InvocationError::Empty { endpoint: endpoint.to_owned() });
    }
    let cost = invocation.cost.as_ref();
    Ok(SubnetResponse {
        items,
        text,
        reported_cost_usd_micros: cost.and_then(|cost| reported_usd(cost, headers)),
        tokens: cost.and_then(|cost| tokens(cost, &answer)),
    })
}

pub fn job_state(endpoint: &str, invocation: &Invocation, job: &Job, body: &[u8]) -> Result<JobState, InvocationError> {
    let answer = json(endpoint, body)?;
    if job.failed.as_ref().is_some_and(|failed| holds(failed, &answer)) {
        return Ok(JobState::Failed(message(invocation, &answer).unwrap_or_else(|| format!("`{}` reports the job failed", job.done.at))));
    }
    Ok(if holds(&job.done, &answer) { JobState::Done } else { JobState::Pending })
}

/// The job id a submission answered with (a string, or a number written as one).
pub fn job_id(endpoint: &str, job: &Job, body: &[u8]) -> Result<String, InvocationError> {
    let answer = json(endpoint, body)?;
    match answer.pointer(&job.id) {
        Some(Value::String(id)) if !id.is_empty() => Ok(id.clone()),
        Some(Value::Number(id)) => Ok(id.to_string()),
        _ => Err(InvocationError::BadResponse { endpoint: endpoint.to_owned(), reason: format!("no job id at `{}`", job.id) }),
    }
}

pub fn error_message(invocation: &Invocation, body: &[u8]) -> Option<String> {
    message(invocation, &serde_json::from_slice(body).ok()?)
}

fn message(invocation: &Invocation, answer: &Value) -> Option<String> {
    invocation.errors.message.iter().find_map(|at| text(answer.pointer(at)?))
}

/// The items of one list: the first `at` that holds an array; an element needs a title, a text
/// or a URL to be evidence.
fn items(list: &ItemList, answer: &Value) -> Vec<Item> {
    let Some(elements) = list.at.iter().find_map(|at| answer.pointer(at)?.as_array()) else { return Vec::new() };
    elements
        .iter()
        .map(|element| Item {
            title: first(&list.title, element),
            text: first(&list.text, element).unwrap_or_default(),
            url: first(&list.url, element),
            source: first(&list.source, element).unwrap_or_default(),
            published: first(&list.published, element),
            author: first(&list.author, element),
            numbers: numbers(&list.numbers, element),
        })
        .filter(|item| item.title.is_some() || !item.text.is_empty() || item.url.is_some())
        .collect()
}

/// The first extract that finds a non-empty value.
fn first(extracts: &[Extract], value: &Value) -> Option<String> {
    extracts.iter().find_map(|extract| match extract {
        Extract::Pointer(at) => text(value.pointer(at)?),
        Extract::Const { r#const } => Some(r#const.clone()),
        Extract::Format { format } => fill(format, value),
        Extract::Parse { parse, then } => first(then, &serde_json::from_str(value.pointer(parse)?.as_str()?).ok()?),
    })
}

/// A string, or a number written as text; empty text is none.
fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) if !text.trim().is_empty() => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

/// `format` with each `{pointer}` replaced by the value there; none when one is missing.
fn fill(format: &str, value: &Value) -> Option<String> {
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

/// Numbers by name: JSON numbers, or decimal text (protobuf JSON writes 64-bit integers so).
fn numbers(pointers: &BTreeMap<String, String>, element: &Value) -> BTreeMap<String, serde_json::Number> {
    pointers
        .iter()
        .filter_map(|(name, at)| {
            let number = match element.pointer(at)? {
                Value::Number(number) => number.clone(),
                Value::String(text) => serde_json::from_str::<serde_json::Number>(text.trim()).ok()?,
                _ => return None,
            };
            Some((name.clone(), number))
        })
        .collect()
}

/// The cost in a USD header, in micro-USD. A cost in another currency is not a USD cost: none.
fn reported_usd(cost: &CostReport, headers: &http::HeaderMap) -> Option<u64> {
    if let Some(currency) = cost.currency_header.as_ref().and_then(|name| headers.get(name.as_str())) {
        if !currency.to_str().is_ok_and(|currency| currency.trim().eq_ignore_ascii_case("USD")) {
            return None;
        }
    }
    usd_micros(headers.get(cost.usd_header.as_deref()?)?.to_str().ok()?.trim())
}

/// `decimal` (digits, optionally a point and more digits) in millionths, read digit by digit,
/// not through a float, so that "0.0025" is exactly 2500; digits past the sixth decimal drop.
pub(crate) fn usd_micros(decimal: &str) -> Option<u64> {
    let (whole, fraction) = decimal.split_once('.').unwrap_or((decimal, "0"));
    let all_digits = |part: &str| !part.is_empty() && part.bytes().all(|byte| byte.is_ascii_digit());
    if !all_digits(whole) || !all_digits(fraction) {
        return None;
    }
    let micros = fraction.bytes().chain(std::iter::repeat(b'0')).take(6).fold(0, |micros, digit| micros * 10 + u64::from(digit - b'0'));
    whole.parse::<u64>().ok()?.checked_mul(1_000_000)?.checked_add(micros)
}

/// Input and output tokens, when the spec points at both and the answer holds them.
fn tokens(cost: &CostReport, answer: &Value) -> Option<(u64, u64)> {
    let count = |at: &Option<String>| answer.pointer(at.as_deref()?)?.as_u64();
    Some((count(&cost.input_tokens)?, count(&cost.output_tokens)?))
}
