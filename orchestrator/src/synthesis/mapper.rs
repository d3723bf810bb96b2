//! The deterministic mapper: a document shaped by the target schema (full form), filled from the
//! evidence without an LLM.
//!
//! The schema is walked from its root. Each value is drawn from a scope of the evidence (see
//! `scope`: the whole evidence, a subject, an item) by its slot's role (see `fields` and
//! `findings`), and fitted to its node (see `nodes` and `fit`):
//! - **objects** get their required properties, and the optional ones the scope has evidence
//!   for; never a property that `additionalProperties: false` forbids. A pricing object that
//!   allows other properties also gets the scope's prices, labelled (`{"H100 SXM": 2.69}`).
//! - **arrays** whose elements stand for subjects (objects with a name-like property, or names)
//!   get, at the whole evidence, one element per subject drawn from that subject's scope; arrays
//!   of phrase strings get phrases (see `scope`); other arrays get one element per item, those
//!   from the field's preferred source first. At most `maxItems` elements
//!   ([`DEFAULT_MAX_ITEMS`], or [`DEFAULT_MAX_PHRASES`] phrases, without it), repeats dropped
//!   under `uniqueItems`, and padded to `minItems` with values drawn from the array's own
//!   scope. Tuples (`prefixItems`, or draft 7's `items` list) are filled position by position.
//!
//! An optional property that refers to a definition being filled (a tree's optional `left`
//! inside `left`) is left out. Past [`SHALLOW_DEPTH`] levels of nesting, objects get only their
//! required properties and arrays only `minItems` elements, so that recursive schemas end; past
//! [`MAX_DEPTH`], or once the document has [`MAX_VALUES`] values, a value is `null`. The mapper
//! never fails: what no value fits is left out (`null` at the root), for the caller's
//! validation to report.

use std::cell::{Cell, RefCell};

use serde_json::{Map, Value};

use super::fields::{preferred_source, role, Role, Slot};
use super::findings::{Findings, PHRASES_LISTED};
use super::fit::{choose_enum, fit_number, fit_string};
use super::nodes::{choose_type, count, flag, resolve, resolve_noting, types, JsonType, Node};
use super::scope::Scope;
use crate::evidence::TaskOutput;

/// Elements of an array without `maxItems`.
const DEFAULT_MAX_ITEMS: usize = 10;

/// Phrases (strengths, features) in an array without `maxItems`.
const DEFAULT_MAX_PHRASES: usize = PHRASES_LISTED;

/// Most elements made to meet a `minItems`: a bound on the document's size.
const MAX_PADDED_ELEMENTS: usize = 256;

/// Nesting from which only what is required is filled.
const SHALLOW_DEPTH: usize = 16;

/// Nesting past which a value is `null`.
const MAX_DEPTH: usize = 48;

/// Values in a document, at most: a bound on the work a schema can ask for.
const MAX_VALUES: usize = 20_000;

/// Maps `outputs` into a document shaped by `schema` (full JSON Schema form).
pub fn map(objective: &str, schema: &Value, outputs: &[TaskOutput]) -> Value {
    let mapper = Mapper { findings: Findings::new(objective, outputs), root: schema, values_left: Cell::new(MAX_VALUES), entered: RefCell::new(vec!["#".to_owned()]) };
    mapper.value(schema, &Slot::root(), &mapper.findings.whole(), 0).unwrap_or(Value::Null)
}

struct Mapper<'a> {
    findings: Findings<'a>,
    root: &'a Value,
    values_left: Cell<usize>,
    /// The references followed to reach the value being filled, the root being `#`.
    entered: RefCell<Vec<String>>,
}

impl Mapper<'_> {
    /// The value of `schema` at `slot`, or `None` when no value fits it.
    fn value(&self, schema: &Value, slot: &Slot, scope: &Scope, depth: usize) -> Option<Value> {
        if depth > MAX_DEPTH || self.values_left.get() == 0 {
            return Some(Value::Null);
        }
        self.values_left.set(self.values_left.get() - 1);
        let mut followed = Vec::new();
        let node = resolve_noting(self.root, schema, slot.preferred_types(), &mut followed)?;
        let entered_before = self.entered.borrow().len();
        self.entered.borrow_mut().extend(followed);
        let value = self.value_of_node(&node, slot, scope, depth);
        self.entered.borrow_mut().truncate(entered_before);
        value
    }

    fn value_of_node(&self, node: &Node, slot: &Slot, scope: &Scope, depth: usize) -> Option<Value> {
        if let Some(constant) = node.get("const") {
            return Some(constant.clone());
        }
        if let Some(Value::Array(values)) = node.get("enum") {
            return choose_enum(node, values, scope);
        }
        let value = match choose_type(node, slot.preferred_types())? {
            JsonType::Object => self.object(node, slot, scope, depth),
            JsonType::Array => self.array(node, slot, scope, depth),
            JsonType::String => Value::String(fit_string(node, self.findings.string(slot, scope), self.findings.objective())),
            JsonType::Number => fit_number(node, self.findings.number(slot, scope), false),
            JsonType::Integer => fit_number(node, self.findings.number(slot, scope), true),
            JsonType::Boolean => Value::Bool(self.findings.mentions_field(slot, scope)),
            JsonType::Null => Value::Null,
        };
        Some(value)
    }

    /// Whether `schema` refers to a definition being filled, so that filling it would repeat
    /// that definition inside itself.
    fn recurses(&self, schema: &Value) -> bool {
        let entered = self.entered.borrow();
        let mut pending = vec![schema];
        while let Some(schema) = pending.pop() {
            match schema {
                Value::Object(keywords) => {
                    if keywords.get("$ref").and_then(Value::as_str).is_some_and(|reference| entered.iter().any(|known| known == reference)) {
                        return true;
                    }
                    pending.extend(keywords.values());
                }
                Value::Array(schemas) => pending.extend(schemas),
                _ => {}
            }
        }
        false
    }

    fn object(&self, node: &Node, slot: &Slot, scope: &Scope, depth: usize) -> Value {
        let shallow = depth >= SHALLOW_DEPTH;
        let empty = Map::new();
        let properties = node.get("properties").and_then(Value::as_object).unwrap_or(&empty);
        let required: Vec<&str> = node.get("required").and_then(Value::as_array).map(|names| names.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
        let beside_price = properties.keys().any(|name| role(name) == Role::Price);
        let mut object = Map::new();
        for (name, schema) in properties {
            let child = Slot::property(name, beside_price);
            let wanted = required.contains(&name.as_str()) || (!shallow && !self.recurses(schema) && self.findings.has_evidence(&child, scope, self.is_structured(schema)));
            if let Some(value) = wanted.then(|| self.value(schema, &child, scope, depth + 1)).flatten() {
                object.insert(name.clone(), value);
            }
        }
        let additional = node.get("additionalProperties").unwrap_or(&Value::Bool(true));
        for name in required.iter().filter(|name| !properties.contains_key(**name)) {
            // A required property that `additionalProperties: false` forbids cannot be written.
            if let Some(value) = self.value(additional, &Slot::property(name, beside_price), scope, depth + 1) {
                object.insert((*name).to_owned(), value);
            }
        }
        if slot.role == Role::Pricing && !shallow && self.takes_any_prices(node) {
            let limit = count(node, "maxProperties", usize::MAX).unwrap_or(usize::MAX);
            for price in scope.prices() {
                if object.len() >= limit {
                    break;
                }
                object.entry(price.label).or_insert(Value::from(price.amount));
            }
        }
        Value::Object(object)
    }

    /// Whether an object of `node` may hold any property whose value is a price.
    fn takes_any_prices(&self, node: &Node) -> bool {
        let names_constrained = ["patternProperties", "propertyNames"].iter().any(|keyword| node.contains_key(*keyword)) || node.get("unevaluatedProperties") == Some(&Value::Bool(false));
        let takes_numbers = match node.get("additionalProperties") {
            None | Some(Value::Bool(true)) => true,
            Some(schema @ Value::Object(_)) => resolve(self.root, schema, &[JsonType::Number]).is_some_and(|additional| choose_type(&additional, &[JsonType::Number]) == Some(JsonType::Number)),
            Some(_) => false,
        };
        takes_numbers && !names_constrained
    }

    fn array(&self, node: &Node, slot: &Slot, scope: &Scope, depth: usize) -> Value {
        let default_max = if slot.role == Role::Phrases { DEFAULT_MAX_PHRASES } else { DEFAULT_MAX_ITEMS };
        let min = count(node, "minItems", MAX_PADDED_ELEMENTS).unwrap_or(0);
        let max = count(node, "maxItems", usize::MAX).unwrap_or(default_max.max(min));
        let element = slot.element();
        let (tuple, rest) = match (node.get("prefixItems"), node.get("items")) {
            (Some(Value::Array(tuple)), rest) => (tuple.as_slice(), rest),
            (_, Some(Value::Array(tuple))) => (tuple.as_slice(), node.get("additionalItems")),
            (_, rest) => (&[][..], rest),
        };
        let rest = rest.unwrap_or(&Value::Bool(true));
        let mut elements: Vec<Value> = if !tuple.is_empty() {
            tuple.iter().take(max).map_while(|schema| self.value(schema, &element, scope, depth + 1)).collect()
        } else if depth < SHALLOW_DEPTH {
            self.elements(rest, &element, scope, depth, max)
        } else {
            Vec::new()
        };
        if flag(node, "uniqueItems") {
            let mut unique: Vec<Value> = Vec::with_capacity(elements.len());
            for value in elements {
                if !unique.contains(&value) {
                    unique.push(value);
                }
            }
            elements = unique;
        }
        while elements.len() < min.min(max) {
            match self.value(rest, &element, scope, depth + 1) {
                Some(value) => elements.push(value),
                None => break,
            }
        }
        elements.truncate(max);
        Value::Array(elements)
    }

    /// An array's elements drawn from the evidence, at most `max`.
    fn elements(&self, schema: &Value, slot: &Slot, scope: &Scope, depth: usize, max: usize) -> Vec<Value> {
        let Some(node) = resolve(self.root, schema, slot.preferred_types()) else { return Vec::new() };
        let element_type = choose_type(&node, slot.preferred_types());
        let listed = node.contains_key("enum") || node.contains_key("const");
        if scope.is_whole() && self.findings.has_subjects() && stands_for_subjects(&node, element_type, slot) {
            return self.findings.subject_scopes().take(max).filter_map(|subject| self.value(schema, slot, &subject, depth + 1)).collect();
        }
        if slot.role == Role::Phrases && element_type == Some(JsonType::String) && !listed {
            return scope.phrases().into_iter().take(max).map(|phrase| Value::String(fit_string(&node, phrase.to_owned(), self.findings.objective()))).collect();
        }
        scope
            .items_preferring(preferred_source(slot.field))
            .into_iter()
            .filter_map(|item| self.value(schema, slot, &Scope::item(item), depth + 1))
            .take(max)
            .collect()
    }

    /// Whether a value of `schema` is an object or an array, whatever its slot.
    fn is_structured(&self, schema: &Value) -> bool {
        resolve(self.root, schema, &[]).is_some_and(|node| types(&node).iter().all(|json_type| matches!(json_type, JsonType::Object | JsonType::Array)))
    }
}

/// Whether elements of `node` each stand for a subject: objects with a name-like property, or
/// names.
fn stands_for_subjects(node: &Node, element_type: Option<JsonType>, slot: &Slot) -> bool {
    match element_type {
        Some(JsonType::Object) => node.get("properties").and_then(Value::as_object).is_some_and(|properties| properties.keys().any(|name| role(name) == Role::Name)),
        Some(JsonType::String) => slot.role == Role::Name,
        _ => false,
    }
}
