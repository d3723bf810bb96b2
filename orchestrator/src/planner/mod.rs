//! Planning: from an objective and a target schema to a [`Plan`].
//!
//! With an LLM subnet routable, the LLM plans (see [`llm`]); otherwise, or when the LLM's plan
//! does not check after one repair, the [`deterministic`] planner does, and the plan says why
//! in `fallback_reason`. So a plan never needs a network, and a bad LLM answer never becomes a
//! bad plan.

mod capabilities;
pub mod deterministic;
mod llm;
mod query;
mod schema_terms;
mod subjects;
mod tokens;
pub(crate) mod words;

use std::collections::BTreeSet;

use crate::execute::Session;
use crate::llm::LLM_CAPABILITY;
use crate::plan::Plan;
use crate::schema::TargetSchema;
pub use capabilities::Vocabulary;

/// Plans `objective` with the capabilities `offered`, described by `vocabulary`.
pub async fn plan(session: &Session<'_>, objective: &str, schema: &TargetSchema, vocabulary: &Vocabulary, offered: &BTreeSet<String>) -> Plan {
    if !offered.contains(LLM_CAPABILITY) {
        return deterministic::plan(objective, schema.json_schema(), vocabulary, offered);
    }
    match llm::plan(session, objective, schema, vocabulary, offered).await {
        Ok(plan) => plan,
        Err(reason) => Plan { fallback_reason: Some(reason), ..deterministic::plan(objective, schema.json_schema(), vocabulary, offered) },
    }
}
