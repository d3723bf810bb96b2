//! The grounded writer: a document shaped by the target schema (full form) whose every value is
//! cited from the evidence, written without an LLM.
//!
//! The schema is walked from its root. Each value is drawn from a scope of the evidence (see
//! `facts`: the whole evidence, a subject, an item) by its field's role (see `fields`), and is
//! written only with a citation (see [`crate::provenance`]):
//! - **strings**: an item's title, text, URL, date or author (extracted, or filled by the
//!   spec's format); a subject's name (from the objective); for a text, a task's text, else a
//!   sentence of the scope (quoted), else an item's whole text; for a field without a role, a
//!   sentence that names one of the field's words at least. A
//!   string longer than `maxLength` is cut at a word boundary, and quoted; one shorter than
//!   `minLength` is not written. An enum's value is written when the scope writes it.
//! - **numbers**: a subject's offer (quoted); a number an item carries under the field's name
//!   (extracted); beside a subjects array, the market price: the median of the subjects' offers
//!   for the reference product as the document gives them (derived); a count beside an array,
//!   its length (derived). A number that breaks its bounds or step is not written: it is never
//!   moved.
//! - **booleans**: `true` when a sentence of the scope names the field's words; `false` is never
//!   written, since absence proves nothing.
//! - **objects** get every required property and the optional ones with evidence; a price list
//!   (a pricing field that takes any property) gets the scope's offers by product.
//! - **arrays** get, at the whole evidence, one element per subject when their elements stand
//!   for subjects; sentences for phrases; else one element per item of the scope. Elements
//!   without evidence are left out; an array is written with one element at least, and with
//!   `minItems`, never padded.
//!
//! A value no evidence supports is `null` where the schema allows `null`, left out where it is
//! optional, and otherwise makes the document fail with the pointers of the values missing
//! ([`Insufficient`]). Past [`MAX_DEPTH`] levels, or once [`MAX_VALUES`] values are written,
//! nothing more is written, so that any schema ends.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;

use serde_json::{Map, Number, Value};

use super::facts::{Cited, Facts, Price, Scope};
use super::fields::{meaningful_words, preferred_source, role, Role, Slot, Source};
use super::nodes::{choose_type, count, flag, number, resolve, resolve_noting, type_allows, types, JsonType, Node};
use crate::evidence::{Item, TaskOutput};
use crate::provenance::{escape, Citation, Provenance, Rule, FORMAT};

/// Nesting past which nothing is written.
const MAX_DEPTH: usize = 32;

/// Values in a document, at most: a bound on the work a schema can ask for.
const MAX_VALUES: usize = 20_000;

/// Elements of an array without `maxItems`.
const DEFAULT_MAX_ITEMS: usize = 10;

/// Phrases (strengths, features) in an array without `maxItems`.
const DEFAULT_MAX_PHRASES: usize = 3;

/// A document and the citation of each of its leaves.
#[derive(Clone, Debug, PartialEq)]
pub struct Written {
    pub document: Value,
    pub provenance: Provenance,
}

/// No document: values the schema requires that no evidence supports, by JSON pointer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("no evidence supports {}", .fields.join(", "))]
pub struct Insufficient {
    pub fields: Vec<String>,
}

/// Pointers of the values missing under a value that could not be written.
type Missing = Vec<String>;

/// A market price to derive once the document is whole.
struct Deferred {
    at: String,
    node: Node,
    integer: bool,
    nullable: bool,
}

/// Writes a document of `schema` (full JSON Schema form) from `outputs`.
pub fn write(objective: &str, schema: &Value, outputs: &[TaskOutput]) -> Result<Written, Insufficient> {
    let writer = Writer {
        facts: Facts::new(objective, outputs),
        root: schema,
        values_left: Cell::new(MAX_VALUES),
        entered: RefCell::new(vec!["#".to_owned()]),
        cited: RefCell::new(BTreeMap::new()),
        offers: RefCell::new(Vec::new()),
        deferred: RefCell::new(Vec::new()),
    };
    let mut document = writer.value(schema, &Slot::root(), Scope::Whole, 0, "").map_err(|fields| Insufficient { fields })?;
    writer.derive_market_prices(&mut document)?;
    Ok(Written { document, provenance: Provenance { format: FORMAT, leaves: writer.cited.into_inner() } })
}

struct Writer<'a> {
    facts: Facts<'a>,
    root: &'a Value,
    values_left: Cell<usize>,
    /// The references followed to reach the value being written, the root being `#`.
    entered: RefCell<Vec<String>>,
    /// Citations of the leaves written so far, by pointer.
    cited: RefCell<BTreeMap<String, Citation>>,
    /// Leaves holding a subject's offer for the reference product.
    offers: RefCell<Vec<String>>,
    deferred: RefCell<Vec<Deferred>>,
}

impl<'a> Writer<'a> {
    fn value(&self, schema: &Value, slot: &Slot, scope: Scope<'a>, depth: usize, at: &str) -> Result<Value, Missing> {
        if depth > MAX_DEPTH || self.values_left.get() == 0 {
            return Err(vec![at.to_owned()]);
        }
        self.values_left.set(self.values_left.get() - 1);
        let mut followed = Vec::new();
        let node = resolve_noting(self.root, schema, slot.preferred_types(), &mut followed).ok_or_else(|| vec![at.to_owned()])?;
        let entered_before = self.entered.borrow().len();
        self.entered.borrow_mut().extend(followed);
        let written = self.value_of_node(&node, slot, scope, depth, at);
        self.entered.borrow_mut().truncate(entered_before);
        match written {
            Err(_) if types(&node).contains(&JsonType::Null) => {
                self.forget(at);
                Ok(Value::Null)
            }
            Err(missing) => {
                self.forget(at);
                Err(missing)
            }
            Ok(value) => Ok(value),
        }
    }

    fn value_of_node(&self, node: &Node, slot: &Slot, scope: Scope<'a>, depth: usize, at: &str) -> Result<Value, Missing> {
        let missing = || vec![at.to_owned()];
        if let Some(Value::Array(values)) = node.get("enum") {
            let quoted = values.iter().filter(|value| type_allows(node, value)).filter_map(Value::as_str).find_map(|value| self.facts.quoted(scope, value));
            return quoted.map(|cited| self.leaf(at, Value::String(cited.value), cited.citation)).ok_or_else(missing);
        }
        if node.contains_key("const") {
            // A constant is the schema's, not the evidence's: nothing can cite it.
            return Err(missing());
        }
        match choose_type(node, slot.preferred_types()).ok_or_else(missing)? {
            JsonType::Object => self.object(node, slot, scope, depth, at),
            JsonType::Array => self.array(node, slot, scope, depth, at),
            JsonType::String => {
                let cited = self.string(slot, scope).and_then(|cited| fit_string(node, cited)).ok_or_else(missing)?;
                Ok(self.leaf(at, Value::String(cited.value), cited.citation))
            }
            json_type @ (JsonType::Number | JsonType::Integer) => {
                let integer = json_type == JsonType::Integer;
                if matches!(slot.role, Role::Price | Role::Pricing) && matches!(scope, Scope::Whole) {
                    self.deferred.borrow_mut().push(Deferred { at: at.to_owned(), node: node.clone(), integer, nullable: types(node).contains(&JsonType::Null) });
                    return Ok(Value::Null);
                }
                let (cited, is_offer) = self.number(slot, scope).ok_or_else(missing)?;
                let value = fit_number(node, cited.value, integer).ok_or_else(missing)?;
                if is_offer {
                    self.offers.borrow_mut().push(at.to_owned());
                }
                Ok(self.leaf(at, value, cited.citation))
            }
            JsonType::Boolean => {
                let cited = self.facts.naming(scope, slot.field).ok_or_else(missing)?;
                let Citation::Quote { receipt, at: pointer, text } = cited.citation else { return Err(missing()) };
                Ok(self.leaf(at, Value::Bool(true), Citation::Quote { receipt, at: pointer, text }))
            }
            JsonType::Null => Ok(Value::Null),
        }
    }

    fn leaf(&self, at: &str, value: Value, citation: Citation) -> Value {
        self.cited.borrow_mut().insert(at.to_owned(), citation);
        value
    }

    /// Drops the citations of everything at or under `at`: its value was not written.
    fn forget(&self, at: &str) {
        let under = |pointer: &String| pointer == at || pointer.strip_prefix(at).is_some_and(|rest| rest.starts_with('/'));
        self.cited.borrow_mut().retain(|pointer, _| !under(pointer));
        self.offers.borrow_mut().retain(|pointer| !under(pointer));
        self.deferred.borrow_mut().retain(|deferred| !under(&deferred.at));
    }

    fn string(&self, slot: &Slot, scope: Scope<'a>) -> Option<Cited<String>> {
        let field_words = meaningful_words(slot.field);
        let first_item = |field: fn(&Item) -> Option<Cited<String>>| self.facts.items(scope).into_iter().find_map(field);
        match (slot.role, scope) {
            (Role::Name, Scope::Item(item)) => Facts::title(item),
            (Role::Name, Scope::Subject(subject)) => self.facts.subject_name(subject),
            (Role::Name, Scope::Whole) if slot.beside_price => self.cheapest_subject().and_then(|subject| self.facts.subject_name(subject)),
            (Role::Name, Scope::Whole) => None,
            (Role::Url, _) => first_item(Facts::url),
            (Role::Date, _) => first_item(Facts::published),
            (Role::Author, _) => first_item(Facts::author),
            (Role::Text, Scope::Item(item)) => Facts::item_text(item),
            (Role::Text, Scope::Whole) if slot.beside_price => self.market_sentence().or_else(|| self.facts.best_sentence(scope, &field_words)),
            (Role::Text, _) => self
                .facts
                .task_text(scope)
                .or_else(|| self.facts.best_sentence(scope, &field_words))
                .or_else(|| self.facts.sentences(scope).into_iter().next())
                .or_else(|| first_item(Facts::item_text)),
            (Role::Phrases, _) => self.facts.sentences(scope).into_iter().next(),
            (Role::Price, _) => self.facts.price(scope).and_then(|price| match &price.cited.citation {
                Citation::Quote { text, .. } => Some(Cited { value: text.clone(), citation: price.cited.citation.clone() }),
                _ => None,
            }),
            (Role::Pricing | Role::Count, _) => None,
            (Role::Other, _) => self.facts.best_sentence(scope, &field_words),
        }
    }

    /// A number for `slot` in `scope`, and whether it is a subject's offer.
    fn number(&self, slot: &Slot, scope: Scope<'a>) -> Option<(Cited<f64>, bool)> {
        let field_words = meaningful_words(slot.field);
        match (slot.role, scope) {
            (Role::Price | Role::Pricing, Scope::Subject(_)) => {
                let price = self.facts.price(scope)?;
                Some((price.cited.clone(), self.is_reference(price)))
            }
            (Role::Price | Role::Pricing, Scope::Item(item)) => Facts::item_number(item, &field_words).or_else(|| self.facts.prices(scope).first().map(|price| price.cited.clone())).map(|cited| (cited, false)),
            (_, Scope::Item(item)) => Facts::item_number(item, &field_words).map(|cited| (cited, false)),
            _ => self.facts.items(scope).into_iter().find_map(|item| Facts::item_number(item, &field_words)).map(|cited| (cited, false)),
        }
    }

    /// Whether `price` is for the reference product.
    fn is_reference(&self, price: &Price) -> bool {
        self.facts.reference_product().is_some_and(|(product, unit)| price.product.eq_ignore_ascii_case(&product) && price.unit == unit)
    }

    /// The subject with the lowest offer for the reference product, the first on a tie.
    fn cheapest_subject(&self) -> Option<&'a str> {
        let (product, unit) = self.facts.reference_product()?;
        let mut best: Option<(&str, f64)> = None;
        for subject in self.facts.subjects() {
            let offer = self.facts.offers(Scope::Subject(subject)).into_iter().find(|offer| offer.product.eq_ignore_ascii_case(&product) && offer.unit == unit);
            if let Some(offer) = offer {
                if best.is_none_or(|(_, lowest)| offer.cited.value < lowest) {
                    best = Some((subject, offer.cited.value));
                }
            }
        }
        best.map(|(subject, _)| subject)
    }

    /// A sentence that prices the reference product, naming the most subjects (a comparison),
    /// the first on a tie: why the market price is what it is.
    fn market_sentence(&self) -> Option<Cited<String>> {
        let (product, _) = self.facts.reference_product()?;
        let named = |sentence: &str| self.facts.subjects().iter().filter(|subject| !super::spans::mentions(sentence, subject).is_empty()).count();
        let pricing: Vec<Cited<String>> = self.facts.sentences(Scope::Whole).into_iter().filter(|sentence| !super::spans::amounts(&sentence.value).is_empty() && !super::spans::mentions(&sentence.value, &product).is_empty()).collect();
        let most = pricing.iter().map(|sentence| named(&sentence.value)).max()?;
        pricing.into_iter().find(|sentence| named(&sentence.value) == most)
    }

    fn object(&self, node: &Node, slot: &Slot, scope: Scope<'a>, depth: usize, at: &str) -> Result<Value, Missing> {
        let empty = Map::new();
        let properties = node.get("properties").and_then(Value::as_object).unwrap_or(&empty);
        let required: Vec<&str> = node.get("required").and_then(Value::as_array).map(|names| names.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
        let beside_price = properties.keys().any(|name| role(name) == Role::Price);
        let mut object = Map::new();
        let mut counts = Vec::new();
        for (name, schema) in properties {
            let child = Slot::property(name, beside_price);
            let child_at = format!("{at}/{}", escape(name));
            let is_required = required.contains(&name.as_str());
            if child.role == Role::Count && self.is_numeric(schema) {
                counts.push((name, schema, is_required, child_at));
                continue;
            }
            if !is_required && self.recurses(schema) {
                continue;
            }
            match self.value(schema, &child, scope, depth + 1, &child_at) {
                Ok(value) => {
                    object.insert(name.clone(), value);
                }
                Err(missing) if is_required => return Err(missing),
                Err(_) => {}
            }
        }
        for (name, schema, is_required, child_at) in counts {
            match self.count_beside(&object, at, schema, &child_at) {
                Some(value) => {
                    object.insert(name.clone(), value);
                }
                None if is_required => return Err(vec![child_at]),
                None => {}
            }
        }
        let additional = node.get("additionalProperties").unwrap_or(&Value::Bool(true));
        for name in required.iter().filter(|name| !properties.contains_key(**name)) {
            let child_at = format!("{at}/{}", escape(name));
            let value = self.value(additional, &Slot::property(name, beside_price), scope, depth + 1, &child_at)?;
            object.insert((*name).to_owned(), value);
        }
        if slot.role == Role::Pricing && self.takes_any_prices(node) {
            let limit = count(node, "maxProperties", usize::MAX).unwrap_or(usize::MAX);
            for offer in self.facts.offers(scope) {
                if object.len() >= limit || object.contains_key(&offer.product) {
                    continue;
                }
                let Some(value) = Number::from_f64(offer.cited.value).map(Value::Number) else { continue };
                let leaf_at = format!("{at}/{}", escape(&offer.product));
                if self.is_reference(offer) {
                    self.offers.borrow_mut().push(leaf_at.clone());
                }
                object.insert(offer.product.clone(), self.leaf(&leaf_at, value, offer.cited.citation.clone()));
            }
            if object.is_empty() {
                return Err(vec![at.to_owned()]);
            }
        }
        Ok(Value::Object(object))
    }

    /// The length of the first array beside a count field, derived.
    fn count_beside(&self, object: &Map<String, Value>, at: &str, schema: &Value, child_at: &str) -> Option<Value> {
        let (name, elements) = object.iter().find_map(|(name, value)| Some((name, value.as_array()?)))?;
        let node = resolve(self.root, schema, &[JsonType::Integer])?;
        let value = fit_number(&node, elements.len() as f64, true)?;
        Some(self.leaf(child_at, value, Citation::Derived { rule: Rule::Count, from: vec![format!("{at}/{}", escape(name))] }))
    }

    fn is_numeric(&self, schema: &Value) -> bool {
        resolve(self.root, schema, &[JsonType::Integer]).is_some_and(|node| matches!(choose_type(&node, &[JsonType::Integer, JsonType::Number]), Some(JsonType::Integer | JsonType::Number)))
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

    /// Whether `schema` refers to a definition being written, so that writing it would repeat
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

    fn array(&self, node: &Node, slot: &Slot, scope: Scope<'a>, depth: usize, at: &str) -> Result<Value, Missing> {
        let default_max = if slot.role == Role::Phrases { DEFAULT_MAX_PHRASES } else { DEFAULT_MAX_ITEMS };
        let min = count(node, "minItems", usize::MAX).unwrap_or(0).max(1);
        let max = count(node, "maxItems", usize::MAX).unwrap_or(default_max.max(min));
        let element = slot.element();
        let (tuple, rest) = match (node.get("prefixItems"), node.get("items")) {
            (Some(Value::Array(tuple)), rest) => (tuple.as_slice(), rest),
            (_, Some(Value::Array(tuple))) => (tuple.as_slice(), node.get("additionalItems")),
            (_, rest) => (&[][..], rest),
        };
        if !tuple.is_empty() {
            let mut elements = Vec::new();
            for (index, schema) in tuple.iter().enumerate().take(max) {
                elements.push(self.value(schema, &element, scope, depth + 1, &format!("{at}/{index}"))?);
            }
            return Ok(Value::Array(elements));
        }
        let rest = rest.unwrap_or(&Value::Bool(true));
        let unique = flag(node, "uniqueItems");
        let mut elements: Vec<Value> = Vec::new();
        let mut first_missing: Option<Missing> = None;
        for candidate in self.candidates(rest, &element, scope) {
            if elements.len() >= max {
                break;
            }
            let element_at = format!("{at}/{}", elements.len());
            let written = match candidate {
                Candidate::Scope(scope) => self.value(rest, &element, scope, depth + 1, &element_at),
                Candidate::Phrase(cited) => {
                    let node = resolve(self.root, rest, &[JsonType::String]).unwrap_or_default();
                    fit_string(&node, cited).map(|cited| self.leaf(&element_at, Value::String(cited.value), cited.citation)).ok_or_else(|| vec![element_at.clone()])
                }
            };
            match written {
                Ok(value) if unique && elements.contains(&value) => self.forget(&element_at),
                Ok(value) => elements.push(value),
                Err(missing) => {
                    self.forget(&element_at);
                    first_missing.get_or_insert(missing);
                }
            }
        }
        if elements.len() < min {
            for index in 0..elements.len() {
                self.forget(&format!("{at}/{index}"));
            }
            return Err(first_missing.unwrap_or_else(|| vec![at.to_owned()]));
        }
        Ok(Value::Array(elements))
    }

    /// What an array's elements are drawn from, in order.
    fn candidates(&self, schema: &Value, slot: &Slot, scope: Scope<'a>) -> Vec<Candidate<'a>> {
        let Some(node) = resolve(self.root, schema, slot.preferred_types()) else { return Vec::new() };
        let element_type = choose_type(&node, slot.preferred_types());
        let listed = node.contains_key("enum") || node.contains_key("const");
        if matches!(scope, Scope::Whole) && !self.facts.subjects().is_empty() && stands_for_subjects(&node, element_type, slot) {
            return self.facts.subjects().iter().map(|subject| Candidate::Scope(Scope::Subject(subject))).collect();
        }
        if slot.role == Role::Phrases && element_type == Some(JsonType::String) && !listed {
            return self.facts.sentences(scope).into_iter().map(Candidate::Phrase).collect();
        }
        items_preferring(self.facts.items(scope), preferred_source(slot.field)).into_iter().map(|item| Candidate::Scope(Scope::Item(item))).collect()
    }

    /// Writes each market price: the median of the offers the document gives for the reference
    /// product, derived from their leaves.
    fn derive_market_prices(&self, document: &mut Value) -> Result<(), Insufficient> {
        let offers = self.offers.borrow().clone();
        let values: Vec<f64> = offers.iter().filter_map(|pointer| document.pointer(pointer)?.as_f64()).collect();
        let mut missing = Vec::new();
        for deferred in self.deferred.borrow().iter() {
            let median = (!values.is_empty()).then(|| median(&values));
            let fitted = median.and_then(|median| fit_number(&deferred.node, median, deferred.integer).filter(|fitted| fitted.as_f64() == Some(median)));
            match fitted {
                Some(value) => {
                    if let Some(slot) = document.pointer_mut(&deferred.at) {
                        *slot = value;
                    }
                    self.cited.borrow_mut().insert(deferred.at.clone(), Citation::Derived { rule: Rule::Median, from: offers.clone() });
                }
                None if deferred.nullable => {}
                None => missing.push(deferred.at.clone()),
            }
        }
        if missing.is_empty() {
            Ok(())
        } else {
            Err(Insufficient { fields: missing })
        }
    }
}

enum Candidate<'a> {
    Scope(Scope<'a>),
    Phrase(Cited<String>),
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let middle = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[middle]
    } else {
        (sorted[middle - 1] + sorted[middle]) / 2.0
    }
}

/// The items, those from `source` first.
fn items_preferring<'a>(items: Vec<&'a Item>, source: Option<&Source>) -> Vec<&'a Item> {
    let Some(source) = source else { return items };
    let (mut first, rest): (Vec<&Item>, Vec<&Item>) = items.into_iter().partition(|item| source.holds(item));
    first.extend(rest);
    first
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

/// `cited` made to meet a string node: cut to `maxLength` at a word boundary (and so quoted),
/// or `None` when it is shorter than `minLength` or cannot be cut.
fn fit_string(node: &Node, cited: Cited<String>) -> Option<Cited<String>> {
    let length = cited.value.chars().count();
    if count(node, "minLength", usize::MAX).is_some_and(|min| length < min) {
        return None;
    }
    let Some(max) = count(node, "maxLength", usize::MAX).filter(|max| length > *max) else { return Some(cited) };
    // Only a value in the body as written can be cut into a quote.
    let (receipt, at) = match &cited.citation {
        Citation::Extract { receipt, at } | Citation::Quote { receipt, at, .. } => (*receipt, at.clone()),
        Citation::Format { .. } | Citation::Objective { .. } | Citation::Derived { .. } => return None,
    };
    let cut_at = cited.value.char_indices().nth(max).map_or(cited.value.len(), |(index, _)| index);
    let prefix = &cited.value[..cut_at];
    let whole_words = match cited.value[cut_at..].starts_with(char::is_whitespace) {
        true => prefix,
        false => prefix.rsplit_once(char::is_whitespace).map_or("", |(words, _)| words),
    };
    let text = whole_words.trim_end().to_owned();
    if text.is_empty() || count(node, "minLength", usize::MAX).is_some_and(|min| text.chars().count() < min) {
        return None;
    }
    Some(Cited { value: text.clone(), citation: Citation::Quote { receipt, at, text } })
}

/// `value` as a JSON number of a node, or `None` when the node's type, bounds or step refuse it.
fn fit_number(node: &Node, value: f64, integer: bool) -> Option<Value> {
    if !value.is_finite() || (integer && value.fract() != 0.0) {
        return None;
    }
    let inclusive = |keyword: &str, exclusive: &str| number(node, keyword).map(|limit| (limit, flag(node, exclusive)));
    let below_minimum = inclusive("minimum", "exclusiveMinimum").is_some_and(|(limit, exclusive)| value < limit || (exclusive && value <= limit)) || number(node, "exclusiveMinimum").is_some_and(|limit| value <= limit);
    let above_maximum = inclusive("maximum", "exclusiveMaximum").is_some_and(|(limit, exclusive)| value > limit || (exclusive && value >= limit)) || number(node, "exclusiveMaximum").is_some_and(|limit| value >= limit);
    let off_step = number(node, "multipleOf").filter(|step| *step > 0.0).is_some_and(|step| {
        let multiple = value / step;
        (multiple - multiple.round()).abs() > 1e-9
    });
    if below_minimum || above_maximum || off_step {
        return None;
    }
    if integer && value.abs() < 9.0e15 {
        return Some(Value::from(value as i64));
    }
    Number::from_f64(value).map(Value::Number)
}
