//! Target schemas: the shape a user wants the orchestrator's answer in, and the check that an
//! answer has it.
//!
//! Terms:
//! - **Full form**: a JSON Schema document (the draft is detected by `jsonschema`, 2020-12 by
//!   default). It is what [`TargetSchema::json_schema`] hands to an LLM's structured output.
//! - **Compact form**: the seed's shorthand, e.g.
//!   `{"competitors": [{"name": "str", "pricing": "dict"}], "recommendation": {"price_point": "float"}}`.
//!   It is converted to the full form:
//!   - an object maps to `{"type": "object", "properties": ..., "required": [...],
//!     "additionalProperties": false}`; every field is required unless its type name ends in `?`
//!     (`"str?"`), which means the field may be absent (not that it may be `null`);
//!   - a one-element array `[X]` maps to `{"type": "array", "items": X}`;
//!   - a type name maps to a JSON Schema type: `str`/`string`, `int`/`integer`, `float`/`number`,
//!     `bool`/`boolean`, `dict`/`object` (any object), `list`/`array` (any array), and `any`
//!     (any value).
//! - **Which form**: a top-level object with a `$schema`, `type` or `properties` key is the full
//!   form; anything else is the compact form. A compact schema therefore cannot have a
//!   top-level field of one of those three names; such a schema must be written in full form.
//! - **Field path**: where a compact-form error is, written like `competitors[0].pricing`.
//! - **Violation**: one way a document fails its schema, located by the JSON pointer of the
//!   offending value in the document (`/competitors/0/pricing`; the empty pointer is the root).

use std::fmt;

use jsonschema::Validator;
use serde_json::{json, Map, Value};

/// The keys that mark a top-level object as the full form (see the module documentation).
const FULL_FORM_KEYS: [&str; 3] = ["$schema", "type", "properties"];

/// The suffix marking an optional field in the compact form.
const OPTIONAL_SUFFIX: char = '?';

/// Why a schema was refused.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error("unknown type name {name:?} at {path} (expected one of str, int, float, bool, dict, list, any, or their JSON Schema names)")]
    UnknownType { path: FieldPath, name: String },
    #[error("malformed compact schema at {path}: {reason}")]
    Malformed { path: FieldPath, reason: String },
    #[error("not a valid JSON Schema: {0}")]
    InvalidJsonSchema(Box<jsonschema::ValidationError<'static>>),
}

/// One way a document fails its schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// JSON pointer of the offending value in the document; empty for the document itself.
    pub path: String,
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = if self.path.is_empty() { "the root" } else { &self.path };
        write!(f, "at {path}: {}", self.message)
    }
}

/// A schema in full form together with its compiled validator, so that validating many
/// documents (one per repair attempt) compiles it only once.
#[derive(Debug, Clone)]
pub struct TargetSchema {
    json_schema: Value,
    validator: Validator,
}

impl TargetSchema {
    /// Reads a schema in either form (see the module documentation) and compiles it.
    pub fn parse(value: Value) -> Result<TargetSchema, SchemaError> {
        let json_schema = if is_full_form(&value) { value } else { compact_to_full(&value, &FieldPath::root())? };
        let validator = jsonschema::validator_for(&json_schema).map_err(|error| SchemaError::InvalidJsonSchema(Box::new(error)))?;
        Ok(TargetSchema { json_schema, validator })
    }

    /// The schema in full form.
    pub fn json_schema(&self) -> &Value {
        &self.json_schema
    }

    /// Checks `document`, listing every violation rather than the first, so that a repair
    /// prompt can ask for all the fixes at once.
    pub fn validate(&self, document: &Value) -> Result<(), Vec<Violation>> {
        let violations: Vec<Violation> = self
            .validator
            .iter_errors(document)
            .map(|error| Violation { path: error.instance_path().as_str().to_owned(), message: error.to_string() })
            .collect();
        if violations.is_empty() {
            Ok(())
        } else {
            Err(violations)
        }
    }
}

fn is_full_form(value: &Value) -> bool {
    value.as_object().is_some_and(|object| FULL_FORM_KEYS.iter().any(|key| object.contains_key(*key)))
}

/// Converts a compact-form value found at `path` to the full form.
fn compact_to_full(value: &Value, path: &FieldPath) -> Result<Value, SchemaError> {
    match value {
        Value::Object(fields) => object_to_full(fields, path),
        Value::Array(items) => array_to_full(items, path),
        Value::String(name) if name.ends_with(OPTIONAL_SUFFIX) => Err(SchemaError::Malformed {
            path: path.clone(),
            reason: format!("{name:?}: only an object's field can be optional"),
        }),
        Value::String(name) => type_name_to_full(name, path),
        other => Err(SchemaError::Malformed {
            path: path.clone(),
            reason: format!("expected a type name, an object or a one-element array, found {}", kind_of(other)),
        }),
    }
}

fn object_to_full(fields: &Map<String, Value>, path: &FieldPath) -> Result<Value, SchemaError> {
    let mut properties = Map::new();
    let mut required = Vec::new();
    for (name, field) in fields {
        let field_path = path.field(name);
        let (field, optional) = split_optional(field);
        properties.insert(name.clone(), compact_to_full(&field, &field_path)?);
        if !optional {
            required.push(Value::String(name.clone()));
        }
    }
    Ok(json!({"type": "object", "properties": properties, "required": required, "additionalProperties": false}))
}

/// Strips the optional marker from a field's type name, saying whether it was there.
fn split_optional(field: &Value) -> (Value, bool) {
    match field.as_str().and_then(|name| name.strip_suffix(OPTIONAL_SUFFIX)) {
        Some(name) => (Value::String(name.to_owned()), true),
        None => (field.clone(), false),
    }
}

fn array_to_full(items: &[Value], path: &FieldPath) -> Result<Value, SchemaError> {
    match items {
        [item] => Ok(json!({"type": "array", "items": compact_to_full(item, &path.index(0))?})),
        _ => Err(SchemaError::Malformed {
            path: path.clone(),
            reason: format!("an array must hold exactly one element, the item type, not {}", items.len()),
        }),
    }
}

fn type_name_to_full(name: &str, path: &FieldPath) -> Result<Value, SchemaError> {
    let json_type = match name {
        "str" | "string" => "string",
        "int" | "integer" => "integer",
        "float" | "number" => "number",
        "bool" | "boolean" => "boolean",
        "dict" | "object" => "object",
        "list" | "array" => "array",
        "any" => return Ok(json!({})),
        _ => return Err(SchemaError::UnknownType { path: path.clone(), name: name.to_owned() }),
    };
    Ok(json!({ "type": json_type }))
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Where a compact-form error is, written like `competitors[0].pricing`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldPath(String);

impl FieldPath {
    fn root() -> FieldPath {
        FieldPath(String::new())
    }

    fn field(&self, name: &str) -> FieldPath {
        let plain = !name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || c == '_');
        // A name that would be ambiguous in dotted form (spaces, dots, brackets) is quoted.
        let segment = if plain { name.to_owned() } else { format!("[{}]", Value::String(name.to_owned())) };
        let separator = if self.0.is_empty() || !plain { "" } else { "." };
        FieldPath(format!("{}{separator}{segment}", self.0))
    }

    fn index(&self, index: usize) -> FieldPath {
        FieldPath(format!("{}[{index}]", self.0))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            f.write_str("the root")
        } else {
            f.write_str(&self.0)
        }
    }
}
