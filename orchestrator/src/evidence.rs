//! Evidence: what subnet calls returned, in one shape whatever the subnet, so that synthesis
//! and LLM prompts need not know any subnet's API.
//!
//! Terms:
//! - **item**: one thing a call found: a web page, a post, a paper, a tweet.
//! - **text**: free text a call produced: a search engine's summary or an LLM's answer.
//! - **task output**: the items and text of one task, with the task's subject.

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
}
