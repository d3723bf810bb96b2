//! FastAPI's request validation, as Desearch answers it: every problem of a request is listed
//! in one 422 `{"detail": [{"type", "loc", "msg", "input"}]}`.

use std::collections::HashMap;
use std::ops::RangeInclusive;

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Map, Value};

use crate::errors::json_response;

/// Reads request fields and collects FastAPI-style problems, so that one 422 lists them all.
pub(crate) struct Fields {
    /// `None` when the body is not an object (that is the only problem then).
    values: Option<Map<String, Value>>,
    /// `body` or `query`, the first element of every problem's `loc`.
    location: &'static str,
    problems: Vec<Value>,
}

impl Fields {
    pub(crate) fn body(body: &Value) -> Fields {
        let mut fields = Fields { values: body.as_object().cloned(), location: "body", problems: Vec::new() };
        match body {
            Value::Object(_) => {}
            Value::Null => fields.problem("missing", json!(["body"]), "Field required".into(), Value::Null),
            other => fields.problem(
                "model_attributes_type",
                json!(["body"]),
                "Input should be a valid dictionary or object to extract fields from".into(),
                other.clone(),
            ),
        }
        fields
    }

    pub(crate) fn query(params: &HashMap<String, String>) -> Fields {
        let values = params.iter().map(|(name, value)| (name.clone(), Value::from(value.as_str()))).collect();
        Fields { values: Some(values), location: "query", problems: Vec::new() }
    }

    fn problem(&mut self, kind: &str, loc: Value, msg: String, input: Value) {
        self.problems.push(json!({ "type": kind, "loc": loc, "msg": msg, "input": input }));
    }

    /// The field's value; `None`, recorded as a problem, when it is missing (and silently when the
    /// body is not an object, which is already the problem).
    fn required(&mut self, name: &str) -> Option<Value> {
        let values = self.values.as_ref()?;
        let value = values.get(name).cloned();
        if value.is_none() {
            // FastAPI shows the whole body as the input of a missing body field.
            let input = if self.location == "body" { Value::Object(values.clone()) } else { Value::Null };
            self.problem("missing", json!([self.location, name]), "Field required".into(), input);
        }
        value
    }

    /// A required string; empty when there is a problem.
    pub(crate) fn string(&mut self, name: &str) -> String {
        match self.required(name) {
            Some(Value::String(text)) => text,
            Some(other) => {
                self.problem("string_type", json!([self.location, name]), "Input should be a valid string".into(), other);
                String::new()
            }
            None => String::new(),
        }
    }

    /// The required, non-empty `tools` list, each one of `allowed`.
    pub(crate) fn tools(&mut self, allowed: &[&str]) -> Vec<String> {
        let Some(value) = self.required("tools") else { return Vec::new() };
        let Value::Array(items) = value else {
            self.problem("list_type", json!([self.location, "tools"]), "Input should be a valid list".into(), value);
            return Vec::new();
        };
        if items.is_empty() {
            self.problem(
                "too_short",
                json!([self.location, "tools"]),
                "List should have at least 1 item after validation, not 0".into(),
                Value::Array(items),
            );
            return Vec::new();
        }
        let mut tools = Vec::new();
        for (index, item) in items.into_iter().enumerate() {
            match item.as_str() {
                Some(tool) if allowed.contains(&tool) => tools.push(tool.to_owned()),
                _ => self.enum_problem(json!([self.location, "tools", index]), allowed, item),
            }
        }
        tools
    }

    /// An optional integer in `range` (numbers and numeric strings, as FastAPI's lax mode takes).
    pub(crate) fn integer(&mut self, name: &str, default: usize, range: RangeInclusive<usize>) -> usize {
        let Some(value) = self.values.as_ref().and_then(|values| values.get(name)).cloned() else { return default };
        let loc = json!([self.location, name]);
        let number = match &value {
            Value::Number(number) => number.as_u64().map(|number| number as usize),
            Value::String(text) => text.trim().parse().ok(),
            _ => None,
        };
        match number {
            None => self.problem("int_parsing", loc, "Input should be a valid integer".into(), value),
            Some(number) if number < *range.start() => {
                let min = *range.start();
                self.problem("greater_than_equal", loc, format!("Input should be greater than or equal to {min}"), value)
            }
            Some(number) if number > *range.end() => {
                let max = *range.end();
                self.problem("less_than_equal", loc, format!("Input should be less than or equal to {max}"), value)
            }
            Some(number) => return number,
        }
        default
    }

    /// An optional field that must be one of `allowed`.
    pub(crate) fn choice(&mut self, name: &str, allowed: &[&str]) -> Option<String> {
        let value = self.values.as_ref().and_then(|values| values.get(name)).cloned()?;
        match value.as_str() {
            Some(choice) if allowed.contains(&choice) => Some(choice.to_owned()),
            _ => {
                self.enum_problem(json!([self.location, name]), allowed, value);
                None
            }
        }
    }

    fn enum_problem(&mut self, loc: Value, allowed: &[&str], input: Value) {
        let quoted: Vec<String> = allowed.iter().map(|choice| format!("'{choice}'")).collect();
        let (last, rest) = quoted.split_last().expect("choices are never empty");
        let expected = format!("{} or {last}", rest.join(", "));
        self.problems.push(json!({
            "type": "enum",
            "loc": loc,
            "msg": format!("Input should be {expected}"),
            "input": input,
            "ctx": { "expected": expected },
        }));
    }

    #[allow(clippy::result_large_err)] // an error answer is built once and sent; its size costs nothing
    pub(crate) fn finish(self) -> Result<(), Response> {
        if self.problems.is_empty() {
            Ok(())
        } else {
            Err(json_response(StatusCode::UNPROCESSABLE_ENTITY, json!({ "detail": self.problems })))
        }
    }
}
