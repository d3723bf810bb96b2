//! The deterministic mapper: a document shaped by the target schema (full form), filled from the
//! evidence without an LLM.
//!
//! The schema is walked from its root. Each value is drawn from a scope of the evidence (see
//! `scope`: the whole evidence, a subject, an item) according to the role its field's name
//! gives it (see `fields`), and fitted to its node (see `nodes` and `fit`):
//! - **objects** get their required properties, and the optional ones the scope has evidence
//!   for; never a property that `additionalProperties: false` forbids. A pricing object that
//!   allows other properties also gets the scope's prices, labelled (`{"H100 SXM": 2.69}`).
//! - **arrays** whose elements name subjects (objects with a name-like property, or names) get,
//!   at the whole evidence, one element per subject drawn from that subject's scope; arrays of
//!   phrase strings get phrases (see `scope`); other arrays get one element per item, those from the
//!   field's preferred source first. At most `maxItems` elements ([`DEFAULT_MAX_ITEMS`], or
//!   [`DEFAULT_MAX_PHRASES`] phrases, without it), repeats dropped under `uniqueItems`, and
//!   padded to `minItems` with values drawn from the array's own scope. Tuples (`prefixItems`,
//!   or draft 7's `items` list) are filled position by position.
//! - **prices**: the whole evidence's price is the market price (see `market`); a subject's is
//!   its offer for the reference product, else its first price; an item's is its first price.
//!   Beside a price field, at the whole evidence, a text field explains the market price and a
//!   name field names the subject with the lowest offer.
//! - **texts**: an item's text; else the tasks' texts; else the first items' texts; else a
//!   sentence naming what was found. Names: an item's title, the subject, or at the whole
//!   evidence the objective. Booleans are true when the scope mentions the field's words.
//!
//! An optional property that refers to a definition being filled (a tree's optional `left`
//! inside `left`) is left out. Past [`SHALLOW_DEPTH`] levels of nesting, objects get only their
//! required properties and arrays only `minItems` elements, so that recursive schemas end; past [`MAX_DEPTH`], or once
//! the document has [`MAX_VALUES`] values, a value is `null`. The mapper never fails: what no value fits is left out (`null` at the root), for
//! the caller's validation to report.

use std::cell::{Cell, RefCell};

use serde_json::{Map, Value};

use super::fields::{meaningful_words, preferred_source, role, Role};
use super::fit::{choose_enum, fit_number, fit_string};
use super::market::{Group, MarketPrice};
use super::nodes::{choose_type, count, flag, resolve, resolve_noting, types, JsonType, Node};
use super::prices::{dollars, prices};
use super::scope::{subjects, Scope};
use crate::evidence::TaskOutput;

/// Elements of an array without `maxItems`.
const DEFAULT_MAX_ITEMS: usize = 10;

/// Phrases (strengths, features) in an array without `maxItems`.
const DEFAULT_MAX_PHRASES: usize = 3;

/// Item texts joined for a text field when no task wrote a text.
const TEXTS_JOINED: usize = 2;

/// Words of an item's text standing in for its missing title.
const TITLE_WORDS: usize = 12;

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
    let mapper = Mapper::new(objective, schema, outputs);
    mapper.value(schema, &Slot::root(), &Scope::all(outputs), 0).unwrap_or(Value::Null)
}

struct Mapper<'a> {
    objective: &'a str,
    root: &'a Value,
    outputs: &'a [TaskOutput],
    subjects: Vec<&'a str>,
    market: Option<MarketPrice>,
    values_left: Cell<usize>,
    /// The references followed to reach the value being filled, the root being `#`.
    entered: RefCell<Vec<String>>,
}

/// Where a value goes.
struct Slot<'f> {
    /// The name of the field it fills, or of the array it is an element of; empty at the root.
    field: &'f str,
    role: Role,
    /// Whether it is an array's element.
    element: bool,
    /// Whether its object has a price field, which a text here should explain.
    beside_price: bool,
}

impl<'f> Slot<'f> {
    fn root() -> Slot<'static> {
        Slot { field: "", role: Role::Other, element: false, beside_price: false }
    }

    fn property(field: &'f str, beside_price: bool) -> Slot<'f> {
        Slot { field, role: role(field), element: false, beside_price }
    }

    fn element(&self) -> Slot<'f> {
        Slot { element: true, beside_price: false, ..*self }
    }

    /// The JSON types a value here is best given, most wanted first.
    fn preferred_types(&self) -> &'static [JsonType] {
        match (self.role, self.element) {
            (Role::Price, _) => &[JsonType::Number, JsonType::Integer, JsonType::String],
            (Role::Count, _) => &[JsonType::Integer, JsonType::Number, JsonType::String],
            (Role::Pricing, false) => &[JsonType::Object, JsonType::String],
            (Role::Phrases, false) => &[JsonType::Array, JsonType::String],
            _ => &[JsonType::String],
        }
    }
}

impl<'a> Mapper<'a> {
    fn new(objective: &'a str, root: &'a Value, outputs: &'a [TaskOutput]) -> Mapper<'a> {
        let subjects = subjects(outputs);
        let groups: Vec<Group> = if subjects.is_empty() {
            Scope::all(outputs).snippets().map(|snippet| Group { name: None, prices: prices(snippet) }).collect()
        } else {
            subjects.iter().map(|&subject| Group { name: Some(subject), prices: Scope::subject(outputs, subject).prices() }).collect()
        };
        let market = MarketPrice::of(&groups);
        Mapper { objective: objective.trim(), root, outputs, subjects, market, values_left: Cell::new(MAX_VALUES), entered: RefCell::new(vec!["#".to_owned()]) }
    }

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
            JsonType::String => Value::String(fit_string(node, self.string(slot, scope), self.objective)),
            JsonType::Number => fit_number(node, self.number(slot, scope), false),
            JsonType::Integer => fit_number(node, self.number(slot, scope), true),
            JsonType::Boolean => Value::Bool(scope.mentions(&meaningful_words(slot.field).join(" ")) > 0),
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
            let wanted = required.contains(&name.as_str()) || (!shallow && !self.recurses(schema) && self.has_evidence(schema, &child, scope));
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

    /// Whether `scope` has evidence for an optional property.
    fn has_evidence(&self, schema: &Value, slot: &Slot, scope: &Scope) -> bool {
        match slot.role {
            Role::Name => scope.subject.is_some() || scope.title().is_some(),
            Role::Url => scope.url().is_some(),
            Role::Text | Role::Phrases => scope.snippets().next().is_some(),
            Role::Pricing => !scope.prices().is_empty(),
            Role::Price => self.price(scope).is_some(),
            Role::Date => scope.published().is_some(),
            Role::Author => scope.author().is_some(),
            Role::Count => !scope.items.is_empty(),
            Role::Other => {
                let structured = resolve(self.root, schema, &[]).is_some_and(|node| types(&node).iter().all(|json_type| matches!(json_type, JsonType::Object | JsonType::Array)));
                scope.mentions(&meaningful_words(slot.field).join(" ")) > 0 || (structured && !scope.items.is_empty())
            }
        }
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
        let mut elements: Vec<Value> = tuple.iter().take(max).map_while(|schema| self.value(schema, &element, scope, depth + 1)).collect();
        if tuple.is_empty() && depth < SHALLOW_DEPTH {
            elements = self.elements(rest, &element, scope, depth, max);
        }
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
        if scope.subject.is_none() && scope.item.is_none() && !self.subjects.is_empty() && self.names_subjects(&node, element_type, slot) {
            return self.subjects.iter().take(max).filter_map(|&subject| self.value(schema, slot, &Scope::subject(self.outputs, subject), depth + 1)).collect();
        }
        if slot.role == Role::Phrases && element_type == Some(JsonType::String) && !listed {
            return scope.phrases().into_iter().take(max).map(|phrase| Value::String(fit_string(&node, phrase.to_owned(), self.objective))).collect();
        }
        scope
            .items_preferring(preferred_source(slot.field))
            .into_iter()
            .filter_map(|item| self.value(schema, slot, &Scope::item(item), depth + 1))
            .take(max)
            .collect()
    }

    /// Whether elements of `node` each stand for a subject: objects with a name-like property,
    /// or names.
    fn names_subjects(&self, node: &Node, element_type: Option<JsonType>, slot: &Slot) -> bool {
        match element_type {
            Some(JsonType::Object) => node.get("properties").and_then(Value::as_object).is_some_and(|properties| properties.keys().any(|name| role(name) == Role::Name)),
            Some(JsonType::String) => slot.role == Role::Name,
            _ => false,
        }
    }

    fn string(&self, slot: &Slot, scope: &Scope) -> String {
        let text = match slot.role {
            Role::Name if slot.beside_price && is_whole(scope) => return self.market.as_ref().and_then(MarketPrice::cheapest).map_or_else(|| self.name(scope), str::to_owned),
            Role::Name => return self.name(scope),
            Role::Url => scope.url(),
            Role::Text if slot.beside_price && is_whole(scope) => return self.market.as_ref().map_or_else(|| self.text(scope), MarketPrice::rationale),
            Role::Text => return self.text(scope),
            Role::Pricing => {
                let listed: Vec<String> = scope.prices().iter().map(|price| format!("{} {}", price.label, dollars(price.amount, price.unit.as_deref()))).collect();
                return if listed.is_empty() { self.text(scope) } else { listed.join(", ") };
            }
            Role::Price => return self.price(scope).map(|(amount, unit)| dollars(amount, unit.as_deref())).unwrap_or_default(),
            Role::Phrases => return scope.phrases().into_iter().take(DEFAULT_MAX_PHRASES).collect::<Vec<_>>().join("; "),
            Role::Date => scope.published(),
            Role::Author => scope.author(),
            Role::Count => return scope.items.len().to_string(),
            Role::Other => return scope.best_sentence(&meaningful_words(slot.field)).map_or_else(|| self.text(scope), str::to_owned),
        };
        text.unwrap_or_default().to_owned()
    }

    /// What a name-like field holds in `scope`.
    fn name(&self, scope: &Scope) -> String {
        if let Some(item) = scope.item {
            let title = item.title.as_deref().map(str::trim).filter(|title| !title.is_empty());
            let leading_words = || item.text.split_whitespace().take(TITLE_WORDS).collect::<Vec<_>>().join(" ");
            return title.map_or_else(leading_words, str::to_owned);
        }
        match scope.subject {
            Some(subject) => subject.to_owned(),
            None if !self.objective.is_empty() => self.objective.to_owned(),
            None => scope.title().unwrap_or_default().to_owned(),
        }
    }

    /// What a text field holds in `scope` (see the module documentation).
    fn text(&self, scope: &Scope) -> String {
        if let Some(item) = scope.item {
            let text = item.text.trim();
            return if text.is_empty() { self.name(scope) } else { text.to_owned() };
        }
        if !scope.task_texts().is_empty() {
            return scope.task_texts().iter().map(|text| text.trim()).collect::<Vec<_>>().join("\n\n");
        }
        let snippets: Vec<&str> = scope.snippets().take(TEXTS_JOINED).map(str::trim).collect();
        if !snippets.is_empty() {
            return snippets.join(" ");
        }
        let about = scope.subject.unwrap_or(self.objective);
        let titles: Vec<&str> = scope.items.iter().filter_map(|item| item.title.as_deref()).take(DEFAULT_MAX_PHRASES).collect();
        match (about.is_empty(), titles.is_empty()) {
            (_, false) => format!("{} found{}: {}.", count_of(scope.items.len(), "source"), about_clause(about), titles.join("; ")),
            (false, true) => format!("No evidence was found about {about}."),
            (true, true) => "No evidence was found.".to_owned(),
        }
    }

    /// The price in `scope` and its unit (see the module documentation).
    fn price(&self, scope: &Scope) -> Option<(f64, Option<String>)> {
        let market = self.market.as_ref();
        if is_whole(scope) {
            return market.map(|market| (market.median(), market.unit().map(str::to_owned)));
        }
        let offer = scope.subject.and_then(|subject| market.and_then(|market| Some((market.offer_of(subject)?, market.unit().map(str::to_owned)))));
        offer.or_else(|| scope.prices().into_iter().next().map(|price| (price.amount, price.unit)))
    }

    fn number(&self, slot: &Slot, scope: &Scope) -> f64 {
        match slot.role {
            Role::Price | Role::Pricing => self.price(scope).map_or(0.0, |(amount, _)| amount),
            Role::Count => scope.items.len() as f64,
            _ => 0.0,
        }
    }
}

/// Whether `scope` is the whole evidence.
fn is_whole(scope: &Scope) -> bool {
    scope.subject.is_none() && scope.item.is_none()
}

fn count_of(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

fn about_clause(about: &str) -> String {
    if about.is_empty() {
        String::new()
    } else {
        format!(" about {about}")
    }
}
