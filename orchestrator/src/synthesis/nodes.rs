//! Schema nodes: a subschema of the target (full form) as one object of keywords, read for
//! what the mapper needs.
//!
//! Terms:
//! - **resolving** a subschema: `true` is the empty node, `false` has no node (no value fits);
//!   a `$ref` to `#` or `#/...` (a JSON pointer into the root, such as `#/$defs/Price`) is
//!   replaced by the node it points to, combined with its siblings; every `allOf` part is
//!   combined in; of `anyOf` and `oneOf`, the first branch that, combined in, allows a
//!   preferred type (else any type but `null`, else any) is kept. A reference that points
//!   elsewhere (another document, an `$anchor`) is read as the empty node, as is every
//!   subschema met once [`MAX_VISITS`] have been, so that cycles of references end and
//!   branching ones stay cheap.
//! - **combining** two nodes: the keywords of both, with `properties` merged (a property in both
//!   must meet both, through `allOf`), `required` joined, `type` and `enum` intersected, lower
//!   bounds raised, upper bounds lowered and `additionalProperties: false` kept; for any other
//!   keyword in both, the first node's. Values meeting the result meet both for the keywords the
//!   mapper reads.
//! - **JSON type**: what `type` allows, a name or a list of names; without `type`, the type the
//!   other keywords constrain (`properties` an object, `items` an array, `minLength` a string,
//!   `minimum` a number), else every type.

use serde_json::{Map, Value};

/// A resolved subschema.
pub(crate) type Node = Map<String, Value>;

/// Subschemas visited, at most, while resolving one.
const MAX_VISITS: usize = 256;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum JsonType {
    String,
    Number,
    Integer,
    Boolean,
    Object,
    Array,
    Null,
}

/// Every JSON type, in the order one is chosen when nothing says which.
const ALL_TYPES: [JsonType; 7] = [JsonType::String, JsonType::Number, JsonType::Integer, JsonType::Boolean, JsonType::Object, JsonType::Array, JsonType::Null];

/// Keywords that constrain one type only, so that a schema using them without `type` is read
/// as being of that type.
const TYPE_KEYWORDS: [(JsonType, &[&str]); 4] = [
    (JsonType::Object, &["properties", "required", "additionalProperties", "minProperties", "maxProperties", "patternProperties", "propertyNames"]),
    (JsonType::Array, &["items", "prefixItems", "minItems", "maxItems", "contains", "uniqueItems"]),
    (JsonType::String, &["minLength", "maxLength", "pattern"]),
    (JsonType::Number, &["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"]),
];

const LOWER_BOUNDS: [&str; 5] = ["minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties"];
const UPPER_BOUNDS: [&str; 5] = ["maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties"];

impl JsonType {
    fn name(self) -> &'static str {
        match self {
            JsonType::String => "string",
            JsonType::Number => "number",
            JsonType::Integer => "integer",
            JsonType::Boolean => "boolean",
            JsonType::Object => "object",
            JsonType::Array => "array",
            JsonType::Null => "null",
        }
    }

    fn named(name: &str) -> Option<JsonType> {
        ALL_TYPES.into_iter().find(|json_type| json_type.name() == name)
    }

    pub(crate) fn of(value: &Value) -> JsonType {
        match value {
            Value::Null => JsonType::Null,
            Value::Bool(_) => JsonType::Boolean,
            Value::Number(number) if number.is_i64() || number.is_u64() => JsonType::Integer,
            Value::Number(_) => JsonType::Number,
            Value::String(_) => JsonType::String,
            Value::Array(_) => JsonType::Array,
            Value::Object(_) => JsonType::Object,
        }
    }

}

/// `schema` resolved against `root`, preferring `anyOf`/`oneOf` branches that allow the
/// first of `preferred` they can; `None` when no value fits it.
pub(crate) fn resolve(root: &Value, schema: &Value, preferred: &[JsonType]) -> Option<Node> {
    resolve_noting(root, schema, preferred, &mut Vec::new())
}

/// [`resolve`], adding to `followed` every reference it follows.
pub(crate) fn resolve_noting(root: &Value, schema: &Value, preferred: &[JsonType], followed: &mut Vec<String>) -> Option<Node> {
    let mut visits_left = MAX_VISITS;
    Resolution { root, preferred, visits_left: &mut visits_left, followed }.resolve(schema)
}

struct Resolution<'r, 'w> {
    root: &'r Value,
    preferred: &'r [JsonType],
    visits_left: &'w mut usize,
    followed: &'w mut Vec<String>,
}

impl Resolution<'_, '_> {
    fn resolve(&mut self, schema: &Value) -> Option<Node> {
        let mut node = match schema {
            Value::Bool(false) => return None,
            Value::Object(keywords) if *self.visits_left > 0 => keywords.clone(),
            _ => return Some(Node::new()),
        };
        *self.visits_left -= 1;
        if let Some(Value::String(reference)) = node.remove("$ref") {
            let target = match follow(self.root, &reference) {
                Some(target) => self.resolve(target)?,
                None => Node::new(),
            };
            self.followed.push(reference);
            node = combine(node, target);
        }
        if let Some(Value::Array(parts)) = node.remove("allOf") {
            for part in &parts {
                node = combine(node, self.resolve(part)?);
            }
        }
        for keyword in ["anyOf", "oneOf"] {
            if let Some(Value::Array(branches)) = node.remove(keyword) {
                let candidates: Vec<Node> = branches.iter().filter_map(|branch| self.resolve(branch)).map(|branch| combine(node.clone(), branch)).collect();
                node = choose_branch(candidates, self.preferred)?;
            }
        }
        Some(node)
    }
}

/// The subschema `reference` points to, if it points into `root`.
fn follow<'r>(root: &'r Value, reference: &str) -> Option<&'r Value> {
    root.pointer(reference.strip_prefix('#')?)
}

fn choose_branch(candidates: Vec<Node>, preferred: &[JsonType]) -> Option<Node> {
    let position = preferred
        .iter()
        .find_map(|&json_type| candidates.iter().position(|candidate| narrowest(json_type, &types(candidate)).is_some()))
        .or_else(|| candidates.iter().position(|candidate| types(candidate).iter().any(|&json_type| json_type != JsonType::Null)))
        .or_else(|| candidates.iter().position(|candidate| !types(candidate).is_empty()))?;
    candidates.into_iter().nth(position)
}

fn combine(mut first: Node, second: Node) -> Node {
    for (keyword, theirs) in second {
        let Some(ours) = first.get_mut(&keyword) else {
            first.insert(keyword, theirs);
            continue;
        };
        match keyword.as_str() {
            "properties" => merge_properties(ours, theirs),
            "required" => {
                if let (Value::Array(ours), Value::Array(theirs)) = (ours, theirs) {
                    ours.extend(theirs.into_iter().filter(|name| !ours.contains(name)).collect::<Vec<_>>());
                }
            }
            "type" => {
                let theirs = types_named(&theirs);
                let common: Vec<Value> = types_named(ours).into_iter().filter_map(|json_type| narrowest(json_type, &theirs)).map(|json_type| Value::from(json_type.name())).collect();
                *ours = Value::Array(common);
            }
            "enum" => {
                if let (Value::Array(ours), Value::Array(theirs)) = (ours, theirs) {
                    ours.retain(|value| theirs.contains(value));
                }
            }
            "additionalProperties" if theirs == Value::Bool(false) => *ours = theirs,
            keyword if LOWER_BOUNDS.contains(&keyword) => keep_bound(ours, theirs, f64::max),
            keyword if UPPER_BOUNDS.contains(&keyword) => keep_bound(ours, theirs, f64::min),
            _ => {}
        }
    }
    first
}

/// Merges property schemas; one in both must meet both.
fn merge_properties(ours: &mut Value, theirs: Value) {
    let (Value::Object(ours), Value::Object(theirs)) = (ours, theirs) else { return };
    for (name, schema) in theirs {
        match ours.remove(&name) {
            Some(own) => ours.insert(name, serde_json::json!({"allOf": [own, schema]})),
            None => ours.insert(name, schema),
        };
    }
}

/// The type of the values of `json_type` that `allowed` also allows, if any: an integer is a
/// number, so integer and number give integer.
fn narrowest(json_type: JsonType, allowed: &[JsonType]) -> Option<JsonType> {
    if allowed.contains(&json_type) {
        Some(json_type)
    } else if json_type == JsonType::Number && allowed.contains(&JsonType::Integer) {
        Some(JsonType::Integer)
    } else {
        (json_type == JsonType::Integer && allowed.contains(&JsonType::Number)).then_some(json_type)
    }
}

/// Keeps the stricter of two numeric bounds (draft 4's boolean `exclusiveMinimum` stays as it is).
fn keep_bound(ours: &mut Value, theirs: Value, stricter: fn(f64, f64) -> f64) {
    if let (Some(own), Some(other)) = (ours.as_f64(), theirs.as_f64()) {
        if stricter(own, other) != own {
            *ours = theirs;
        }
    }
}

fn types_named(value: &Value) -> Vec<JsonType> {
    match value {
        Value::String(name) => JsonType::named(name).into_iter().collect(),
        Value::Array(names) => names.iter().filter_map(Value::as_str).filter_map(JsonType::named).collect(),
        _ => ALL_TYPES.to_vec(),
    }
}

/// The JSON types `node` allows (see the module documentation); empty when it allows none.
pub(crate) fn types(node: &Node) -> Vec<JsonType> {
    if let Some(declared) = node.get("type") {
        return types_named(declared);
    }
    if let Some(constant) = node.get("const") {
        return vec![JsonType::of(constant)];
    }
    if let Some(Value::Array(values)) = node.get("enum") {
        return values.iter().map(JsonType::of).collect();
    }
    TYPE_KEYWORDS
        .iter()
        .find(|(_, keywords)| keywords.iter().any(|keyword| node.contains_key(*keyword)))
        .map_or_else(|| ALL_TYPES.to_vec(), |(json_type, _)| vec![*json_type])
}

/// The type to give a value of `node`: the first of `preferred` it allows, else the first it
/// allows in the default order with `null` last; `None` when it allows none.
pub(crate) fn choose_type(node: &Node, preferred: &[JsonType]) -> Option<JsonType> {
    let allowed = types(node);
    preferred
        .iter()
        .find_map(|&json_type| narrowest(json_type, &allowed))
        .or_else(|| ALL_TYPES.into_iter().find(|json_type| allowed.contains(json_type)))
}

/// Whether the `type` of `node`, if it has one, allows `value` (an integer is a number).
pub(crate) fn type_allows(node: &Node, value: &Value) -> bool {
    let json_type = JsonType::of(value);
    node.get("type").map(types_named).is_none_or(|declared| declared.contains(&json_type) || (json_type == JsonType::Integer && declared.contains(&JsonType::Number)))
}

/// A numeric keyword of `node`.
pub(crate) fn number(node: &Node, keyword: &str) -> Option<f64> {
    node.get(keyword).and_then(Value::as_f64).filter(|value| value.is_finite())
}

/// A count keyword of `node` (`minItems`, `maxLength`), saturated at `cap`.
pub(crate) fn count(node: &Node, keyword: &str, cap: usize) -> Option<usize> {
    node.get(keyword).and_then(Value::as_u64).map(|count| usize::try_from(count).unwrap_or(usize::MAX).min(cap))
}

/// Whether a keyword of `node` is the boolean `true` (draft 4's `exclusiveMinimum`, `uniqueItems`).
pub(crate) fn flag(node: &Node, keyword: &str) -> bool {
    node.get(keyword) == Some(&Value::Bool(true))
}
