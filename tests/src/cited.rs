//! Cited answers, as an LLM that follows the node's instructions writes them: the values of a
//! document drawn from the evidence its prompt tags, each with its citation (docs/SPEC.md §18).
//!
//! Terms:
//! - **tagged field**: a value the prompt's evidence shows with its location,
//!   `[receipt R: title P, text Q] Title — Text — URL`: the receipt, the field's name and
//!   pointer, and the value as shown.

use serde_json::{json, Map, Value};

use crate::llm::message_text;

/// A field the prompt's evidence tags with its location.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tagged {
    pub receipt: u64,
    pub field: String,
    pub at: String,
    pub text: String,
}

/// The fields shown on an evidence line, in the order the line shows them.
const SHOWN: [&str; 3] = ["title", "text", "url"];

/// Every tagged field of the request's last user message.
pub fn tagged(request: &Value) -> Vec<Tagged> {
    let user = request["messages"].as_array().and_then(|messages| messages.iter().rev().find(|message| message["role"] == "user"));
    let prompt = user.map(|message| message_text(message.get("content"))).unwrap_or_default();
    prompt.lines().flat_map(tagged_line).collect()
}

fn tagged_line(line: &str) -> Vec<Tagged> {
    let Some(start) = line.find("[receipt ") else { return Vec::new() };
    let Some(end) = line[start..].find("] ").map(|end| start + end) else { return Vec::new() };
    let Some((receipt, spots)) = line[start + "[receipt ".len()..end].split_once(": ") else { return Vec::new() };
    let Ok(receipt) = receipt.parse::<u64>() else { return Vec::new() };
    let spots: Vec<(&str, &str)> = spots.split(", ").filter_map(|spot| spot.split_once(' ')).collect();
    let shown: Vec<&(&str, &str)> = spots.iter().filter(|(field, _)| SHOWN.contains(field)).collect();
    let parts: Vec<&str> = line[end + 2..].split(" — ").collect();
    if parts.len() != shown.len() {
        return Vec::new();
    }
    shown.into_iter().zip(parts).map(|((field, at), text)| Tagged { receipt, field: (*field).to_owned(), at: (*at).to_owned(), text: text.trim_end_matches('…').to_owned() }).collect()
}

/// A document and its citations as one answer.
pub fn answer(document: Value, citations: Map<String, Value>) -> String {
    json!({ "document": document, "citations": citations }).to_string()
}

pub fn quote(field: &Tagged, text: &str) -> Value {
    json!({ "quote": { "receipt": field.receipt, "at": field.at, "text": text } })
}

pub fn objective(text: &str) -> Value {
    json!({ "objective": { "text": text } })
}

/// The first sentence of a tagged text that holds `needle`, with its field.
pub fn sentence_with<'a>(fields: &'a [Tagged], needle: &str) -> Option<(&'a Tagged, String)> {
    fields.iter().filter(|field| field.field == "text").find_map(|field| {
        let sentence = field.text.split(". ").find(|sentence| sentence.contains(needle))?;
        Some((field, sentence.trim_end_matches('.').to_owned()))
    })
}

/// The first dollar amount of a tagged text (`$2.69`), with its field and value.
pub fn first_amount(fields: &[Tagged]) -> Option<(&Tagged, String, f64)> {
    fields.iter().filter(|field| field.field == "text").find_map(|field| {
        let start = field.text.find('$')?;
        let digits: String = field.text[start + 1..].chars().take_while(|character| character.is_ascii_digit() || *character == '.').collect();
        let digits = digits.trim_end_matches('.').to_owned();
        let value = digits.parse().ok()?;
        Some((field, format!("${digits}"), value))
    })
}

/// The worked example's result as a citing LLM writes it from the request's evidence: each
/// competitor named from the objective with a sentence about it as its strength, and the first
/// price the evidence writes as the price point, its sentence as the rationale. `None` when the
/// evidence lacks what it needs.
pub fn gpu_answer(request: &Value, competitors: &[&str]) -> Option<String> {
    let fields = tagged(request);
    let mut citations = Map::new();
    let mut written = Vec::new();
    for (index, name) in competitors.iter().enumerate() {
        let (field, sentence) = sentence_with(&fields, name)?;
        citations.insert(format!("/competitors/{index}/name"), objective(name));
        citations.insert(format!("/competitors/{index}/strengths/0"), quote(field, &sentence));
        written.push(json!({ "name": name, "pricing": {}, "strengths": [sentence] }));
    }
    let (field, amount, price) = first_amount(&fields)?;
    let (rationale_field, rationale) = sentence_with(std::slice::from_ref(field), &amount)?;
    citations.insert("/recommendation/price_point".into(), quote(field, &amount));
    citations.insert("/recommendation/rationale".into(), quote(rationale_field, &rationale));
    Some(answer(json!({ "competitors": written, "recommendation": { "price_point": price, "rationale": rationale } }), citations))
}
