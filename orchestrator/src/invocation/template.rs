//! Rendering a template (docs/SPEC.md §16.2): every `{"$input": name}` replaced by the input's
//! value, every `{"$present": name}` by whether it was given, every `{"$if": name, "then": t}`
//! by `t` when it was, and every member or element whose input is absent left out. A `map`
//! translates a text input by its table (a text the table lacks is absent). The ledger checked
//! the template's directives when it stored it.

use serde_json::{json, Map, Value};

use super::inputs::Inputs;

/// The template with the inputs in place; `None` when it is one directive whose input is absent.
pub fn render(template: &Value, inputs: &Inputs) -> Option<Value> {
    match template {
        Value::Object(directive) if directive.contains_key("$present") => {
            let name = directive["$present"].as_str().unwrap_or_default();
            Some(json!(present(name, inputs)))
        }
        Value::Object(directive) if directive.contains_key("$if") => {
            let name = directive["$if"].as_str().unwrap_or_default();
            present(name, inputs).then(|| render(&directive["then"], inputs)).flatten()
        }
        Value::Object(directive) if directive.contains_key("$input") => input(directive, inputs),
        Value::Object(members) => {
            Some(Value::Object(members.iter().filter_map(|(name, value)| Some((name.clone(), render(value, inputs)?))).collect()))
        }
        Value::Array(elements) => Some(Value::Array(elements.iter().filter_map(|element| render(element, inputs)).collect())),
        scalar => Some(scalar.clone()),
    }
}

fn present(name: &str, inputs: &Inputs) -> bool {
    matches!(name, "since" | "until") || inputs.get(name).is_some()
}

fn input(directive: &Map<String, Value>, inputs: &Inputs) -> Option<Value> {
    let name = directive["$input"].as_str().unwrap_or_default();
    let value = match name {
        "since" | "until" => {
            let ms = if name == "since" { inputs.window.since_ms } else { inputs.window.until_ms };
            Some(time(ms, directive.get("format").and_then(Value::as_str).unwrap_or("datetime")))
        }
        _ => inputs.get(name).cloned(),
    };
    let value = match (value, directive.get("map").and_then(Value::as_object)) {
        (Some(Value::String(text)), Some(table)) => translate(&text, table),
        (value, _) => value,
    };
    let value = value.or_else(|| directive.get("default").cloned())?;
    let (min, max) = (directive.get("min").and_then(Value::as_i64), directive.get("max").and_then(Value::as_i64));
    Some(match value {
        Value::Number(number) if number.is_i64() => {
            let clamped = number.as_i64().unwrap_or_default().max(min.unwrap_or(i64::MIN)).min(max.unwrap_or(i64::MAX));
            json!(clamped)
        }
        Value::Array(elements) => {
            let mut elements: Vec<Value> = directive.get("prepend").and_then(Value::as_array).into_iter().flatten().cloned().chain(elements).collect();
            if let Some(max) = max {
                elements.truncate(usize::try_from(max).unwrap_or(0));
            }
            Value::Array(elements)
        }
        other => other,
    })
}

/// The value `table` gives `text`: that of the key equal to it, else of the longest key it
/// holds as whole words, keys compared without regard to case ("NBA odds tonight" finds
/// `nba`); none when no key matches, so that a text the API has no word for is not sent as if
/// it had. Ties between keys of one length go to the first in key order.
fn translate(text: &str, table: &Map<String, Value>) -> Option<Value> {
    let text = text.trim().to_lowercase();
    if let Some((_, value)) = table.iter().find(|(key, _)| key.to_lowercase() == text) {
        return Some(value.clone());
    }
    let mut keys: Vec<(&String, &Value)> = table.iter().collect();
    keys.sort_by_key(|(key, _)| std::cmp::Reverse(key.chars().count()));
    keys.into_iter().find(|(key, _)| holds_words(&text, &key.to_lowercase())).map(|(_, value)| value.clone())
}

/// Whether `phrase` occurs in `text` with no letter or digit right before or after it.
fn holds_words(text: &str, phrase: &str) -> bool {
    if phrase.is_empty() {
        return false;
    }
    text.match_indices(phrase).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + phrase.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

/// Unix milliseconds as an RFC 3339 time in UTC: `2026-11-02T09:30:00Z`.
pub fn datetime(ms: u64) -> String {
    time(ms, "datetime").as_str().unwrap_or_default().to_owned()
}

/// `ms` as `date` (`2026-11-02`), `datetime` (`2026-11-02T09:30:00Z`) or `unix` (seconds).
fn time(ms: u64, format: &str) -> Value {
    let seconds = ms / 1000;
    if format == "unix" {
        return json!(seconds);
    }
    let (year, month, day) = civil_from_days((seconds / 86_400) as i64);
    let date = format!("{year:04}-{month:02}-{day:02}");
    if format == "date" {
        return json!(date);
    }
    let of_day = seconds % 86_400;
    json!(format!("{date}T{:02}:{:02}:{:02}Z", of_day / 3600, of_day / 60 % 60, of_day % 60))
}

/// The proleptic Gregorian date of a day count from 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * shifted_month + 2) / 5 + 1) as u32;
    let month = if shifted_month < 10 { shifted_month + 3 } else { shifted_month - 9 } as u32;
    (year_of_era + era * 400 + i64::from(month <= 2), month, day)
}

#[cfg(test)]
mod tests {
    use super::{civil_from_days, time, translate};

    #[test]
    fn a_map_finds_its_longest_key_as_whole_words() {
        let table = serde_json::json!({"nba": "basketball_nba", "ncaab": "basketball_ncaab", "premier league": "soccer_epl", "eth": "ETH"});
        let table = table.as_object().unwrap();
        assert_eq!(translate("NBA", table), Some("basketball_nba".into()));
        assert_eq!(translate("What are the odds for tonight's NBA games?", table), Some("basketball_nba".into()));
        assert_eq!(translate("Premier League odds this weekend", table), Some("soccer_epl".into()));
        assert_eq!(translate("Ethereum's price", table), None, "eth inside a word is no match");
        assert_eq!(translate("tennis", table), None);
    }

    #[test]
    fn dates_are_gregorian() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(20_789), (2026, 12, 2));
        assert_eq!(time(1_764_668_730_000, "datetime"), "2025-12-02T09:45:30Z");
        assert_eq!(time(1_764_668_730_999, "date"), "2025-12-02");
        assert_eq!(time(1_764_668_730_999, "unix"), 1_764_668_730);
    }
}
