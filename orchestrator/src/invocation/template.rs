//! Rendering a template (docs/SPEC.md §16.2): every `{"$input": name}` replaced by the input's
//! value, every `{"$present": name}` by whether it was given, every `{"$if": name, "then": t}`
//! by `t` when it was, and every member or element whose input is absent left out. The ledger checked the template's directives when it stored it.

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
    let value = value.or_else(|| directive.get("default").cloned())?;
    let (min, max) = (directive.get("min").and_then(Value::as_i64), directive.get("max").and_then(Value::as_i64));
    Some(match value {
        Value::Number(number) if number.is_i64() => {
            let clamped = number.as_i64().unwrap_or_default().max(min.unwrap_or(i64::MIN)).min(max.unwrap_or(i64::MAX));
            json!(clamped)
        }
        Value::Array(mut elements) => {
            if let Some(max) = max {
                elements.truncate(usize::try_from(max).unwrap_or(0));
            }
            Value::Array(elements)
        }
        other => other,
    })
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
    use super::{civil_from_days, time};

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
