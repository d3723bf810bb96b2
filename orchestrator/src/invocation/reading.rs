//! Reading an answer by its spec (docs/SPEC.md §16.3): evidence items and text by pointer, the
//! body-level success test, the reported cost, and a job's state.

use std::collections::BTreeMap;

use ledger::invocation::{CostReport, Extract, Invocation, ItemList, Job};
use serde_json::Value;

use super::{holds, InvocationError, SubnetResponse};
use crate::evidence::{Item, Located, Spot};
use crate::provenance::{fill, text};

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
    let (text, text_at) = first(&reading.text, &answer, "").unzip();
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
        text_located: Located { text: text_at.flatten(), ..Located::default() },
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
/// or a URL to be evidence. Each field is located at its element's pointer joined to the
/// extract's.
fn items(list: &ItemList, answer: &Value) -> Vec<Item> {
    let Some((at, elements)) = list.at.iter().find_map(|at| Some((at, answer.pointer(at)?.as_array()?))) else { return Vec::new() };
    elements
        .iter()
        .enumerate()
        .map(|(index, element)| {
            let base = format!("{at}/{index}");
            let (title, title_at) = first(&list.title, element, &base).unzip();
            let (text, text_at) = first(&list.text, element, &base).unzip();
            let (url, url_at) = first(&list.url, element, &base).unzip();
            let (published, published_at) = first(&list.published, element, &base).unzip();
            let (author, author_at) = first(&list.author, element, &base).unzip();
            let (numbers, number_locations) = numbers(&list.numbers, element, &base);
            let located = Located { receipt: None, title: title_at.flatten(), text: text_at.flatten(), url: url_at.flatten(), published: published_at.flatten(), author: author_at.flatten(), numbers: number_locations };
            let source = first(&list.source, element, &base).map(|(source, _)| source).unwrap_or_default();
            Item { title, text: text.unwrap_or_default(), url, source, published, author, numbers, located }
        })
        .filter(|item| item.title.is_some() || !item.text.is_empty() || item.url.is_some())
        .collect()
}

/// The first extract that finds a non-empty value, and its spot when a pointer or a format read
/// it (`base` is the pointer of `value` in the body).
fn first(extracts: &[Extract], value: &Value, base: &str) -> Option<(String, Option<Spot>)> {
    extracts.iter().find_map(|extract| match extract {
        Extract::Pointer(at) => Some((text(value.pointer(at)?)?, Some(Spot::At(format!("{base}{at}"))))),
        Extract::Const { r#const } => Some((r#const.clone(), None)),
        Extract::Format { format } => Some((fill(format, value)?, Some(Spot::Filled { at: base.to_owned(), format: format.clone() }))),
        Extract::Parse { parse, then } => Some((first(then, &serde_json::from_str(value.pointer(parse)?.as_str()?).ok()?, "")?.0, None)),
    })
}

/// Numbers by name: JSON numbers, or decimal text (protobuf JSON writes 64-bit integers so),
/// and where each is.
fn numbers(pointers: &BTreeMap<String, String>, element: &Value, base: &str) -> (BTreeMap<String, serde_json::Number>, BTreeMap<String, String>) {
    let mut numbers = BTreeMap::new();
    let mut located = BTreeMap::new();
    for (name, at) in pointers {
        let number = match element.pointer(at) {
            Some(Value::Number(number)) => number.clone(),
            Some(Value::String(text)) => match serde_json::from_str::<serde_json::Number>(text.trim()) {
                Ok(number) => number,
                Err(_) => continue,
            },
            _ => continue,
        };
        numbers.insert(name.clone(), number);
        located.insert(name.clone(), format!("{base}{at}"));
    }
    (numbers, located)
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
