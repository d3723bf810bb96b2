//! Evidence: what subnet calls returned, in one shape whatever the subnet, so that synthesis
//! and LLM prompts need not know any subnet's API.
//!
//! Terms:
//! - **item**: one thing a call found: a web page, a post, a paper, a tweet.
//! - **text**: free text a call produced: a search engine's summary or an LLM's answer.
//! - **task output**: the items and text of one task, with the task's subject.
//! - **location**: where a value is in the response body it was read from: the receipt whose
//!   `response_hash` covers that body, and a **spot** in it: a JSON pointer to the value, or the
//!   pointer of the element a format was filled from, with the format. Synthesis cites values
//!   by their locations (see [`crate::provenance`]); a constant or a value read from JSON inside
//!   a string has none, and is never cited.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One thing a call found.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The snippet, post or abstract.
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Where it came from: `web`, `arxiv`, `x`, `reddit`, ...
    pub source: String,
    /// When it was published, as the subnet wrote it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// Named numbers the item carries (a price, a probability), as the subnet wrote them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub numbers: BTreeMap<String, serde_json::Number>,
    /// Where its fields are in the body it came from; never sent to a subnet.
    #[serde(skip)]
    pub located: Located,
}

/// Where an item's fields (or a task's text) are in their response body.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Located {
    /// The receipt of the call whose body holds them; set once the call has its receipt.
    pub receipt: Option<u64>,
    pub title: Option<Spot>,
    pub text: Option<Spot>,
    pub url: Option<Spot>,
    pub published: Option<Spot>,
    pub author: Option<Spot>,
    /// Numbers are read by pointer only.
    pub numbers: BTreeMap<String, String>,
}

/// Where in a body a value is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Spot {
    /// The value at this JSON pointer.
    At(String),
    /// `format` filled from the element at `at` (see [`crate::provenance::fill`]).
    Filled { at: String, format: String },
}

/// A value's location: a receipt and a spot in its body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location<'a> {
    pub receipt: u64,
    pub spot: &'a Spot,
}

impl Located {
    /// The location of a field's spot, once the receipt is known.
    pub fn of<'a>(&'a self, spot: &'a Option<Spot>) -> Option<Location<'a>> {
        Some(Location { receipt: self.receipt?, spot: spot.as_ref()? })
    }
}

/// What one task produced.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskOutput {
    pub task: String,
    pub capability: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    pub items: Vec<Item>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Where the text is in its body; never sent to a subnet.
    #[serde(skip)]
    pub text_located: Located,
}
