//! Typed records: what the ledger says about a subnet, over the generic key-value store.
//!
//! In a subnet's namespace each path holds one record type:
//!
//! | path | record |
//! |---|---|
//! | `identity` | [`SubnetIdentity`] |
//! | `endpoint/<name>` | [`Endpoint`]: method, URL, input and output JSON Schema, auth, pricing, limits |
//! | `health/<endpoint name>` | [`Health`] |
//! | `provenance` | [`Provenance`]: the public sources the facts came from |
//!
//! In the `validators` namespace each path is an SS58 hotkey holding a [`Stake`], except
//! [`ADMIN_PATH`], which holds the [`Admin`] whose signature any change to the set needs; in
//! `pricing` each path is a priced resource holding a [`Price`]; in `proposers` each path is an SS58
//! hotkey holding a [`Proposer`], a member of the proposer set; in `capabilities` each path is a
//! capability name holding its [`Capability`]. Records are stored in the canonical
//! encoding of [`crate::codec`]; [`Record::decode`] checks both the encoding and the content.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::codec::{self, CodecError};
use crate::hotkey;
use crate::invocation::Invocation;
use crate::key::{Key, Namespace, SystemNamespace};

/// A JSON value (a schema, an example input) stored with its object keys sorted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Json(#[serde(serialize_with = "sorted_json")] pub serde_json::Value);

/// Serialises objects with sorted keys whatever map type serde_json was built with.
fn sorted_json<S: serde::Serializer>(value: &serde_json::Value, serializer: S) -> Result<S::Ok, S::Error> {
    use serde::ser::{SerializeMap, SerializeSeq};
    match value {
        serde_json::Value::Object(map) => {
            let sorted: BTreeMap<&String, &serde_json::Value> = map.iter().collect();
            let mut out = serializer.serialize_map(Some(sorted.len()))?;
            for (key, value) in sorted {
                out.serialize_entry(key, &Sorted(value))?;
            }
            out.end()
        }
        serde_json::Value::Array(items) => {
            let mut out = serializer.serialize_seq(Some(items.len()))?;
            for item in items {
                out.serialize_element(&Sorted(item))?;
            }
            out.end()
        }
        scalar => scalar.serialize(serializer),
    }
}

struct Sorted<'a>(&'a serde_json::Value);

impl Serialize for Sorted<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        sorted_json(self.0, serializer)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SubnetIdentity {
    pub netuid: u16,
    pub name: String,
    pub summary: String,
    /// What the subnet can do, e.g. `web-search`, `llm-chat`; sorted, without repeats.
    pub capabilities: Vec<String>,
    pub website: Option<String>,
    pub github: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpMethod {
    Get,
    Post,
}

/// How a caller authenticates to an endpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "scheme", rename_all = "snake_case")]
pub enum Auth {
    None,
    /// A key in a header, optionally after a prefix such as `Bearer`.
    Header { name: String, prefix: Option<String> },
    /// Requests signed by a hotkey (Epistula headers).
    Hotkey,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PriceUnit {
    Request,
    ThousandTokens,
    Item,
}

/// A public price, in millionths of a US dollar per unit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pricing {
    pub unit: PriceUnit,
    pub usd_micros: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimit {
    pub requests: u32,
    pub per_seconds: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Endpoint {
    pub name: String,
    pub capability: String,
    pub method: HttpMethod,
    pub url: String,
    pub input_schema: Json,
    pub output_schema: Json,
    pub auth: Auth,
    pub example_input: Option<Json>,
    pub pricing: Option<Pricing>,
    pub rate_limit: Option<RateLimit>,
    pub timeout_ms: u32,
    /// How to call it and read its answer (docs/SPEC.md §16). Records written before specs
    /// existed have none and are not routed.
    /// Boxed: most records are read for their other fields, and a spec is large.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invocation: Option<Box<Invocation>>,
    /// Why the endpoint is not for orchestration (an account's own data, a rental that spends
    /// money), in place of an invocation spec.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_orchestrable: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthStatus {
    Up,
    Degraded,
    Down,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    pub status: HealthStatus,
    pub checked_at_ms: u64,
    pub latency_ms_p50: u32,
    /// Successful calls per million.
    pub success_ppm: u32,
    pub samples: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    pub url: String,
    /// What the source says, in a few words.
    pub fact: String,
    /// Day the source was read, `YYYY-MM-DD`.
    pub retrieved: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    pub sources: Vec<Source>,
}

/// A validator's stake, in rao.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stake {
    pub rao: u64,
}

/// Path of the validator set's admin in the `validators` namespace.
pub const ADMIN_PATH: &str = "admin";

/// The hotkey that signs changes to the validator set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Admin {
    pub hotkey: String,
}

/// A member of the proposer set: a hotkey the operator lets propose diffs over the network.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proposer {
    /// Who the hotkey belongs to, for the operator's own reference.
    pub label: String,
}

/// The price of a paid resource, in rao.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Price {
    pub rao: u64,
}

/// What a capability's tasks do for an orchestration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CapabilityRole {
    /// It gathers evidence (search results, forecasts, detections): planned as tasks.
    Evidence,
    /// It plans and writes (an LLM): never a task, chosen by the operator's preference.
    Writer,
}

/// Most words a capability's `names` or `hints` may hold: the planner reads every capability
/// for every objective.
pub const MAX_CAPABILITY_WORDS: usize = 64;

/// A capability: what its tasks find, and the words of an objective or a target schema that
/// call for it (docs/SPEC.md §17). The planner plans from these records, so a capability the
/// ledger gains is planned with no new code.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capability {
    pub name: String,
    pub description: String,
    pub role: CapabilityRole,
    /// Capabilities answering the same kind of question from different sources share a family
    /// (the social searches): naming one outright is no request for its kin.
    pub family: String,
    /// Words naming its source outright (`twitter`, `reddit`): they decide.
    pub names: Vec<String>,
    /// Words suggesting it (`sentiment`, `forecast`): they count unless a kin is named.
    pub hints: Vec<String>,
    /// The hints describe the medium (posts, threads), so they are left out of its queries.
    #[serde(default)]
    pub hints_are_medium_words: bool,
    /// Its search finds papers when asked for them ("arxiv papers").
    #[serde(default)]
    pub finds_papers: bool,
    /// Planned when nothing in an objective calls for any capability.
    #[serde(default)]
    pub fallback: bool,
    /// Where its tasks come in a plan, lower first; ties by name.
    pub order: u16,
}

impl Capability {
    fn problem(&self, path: &str) -> Option<String> {
        let kebab = |text: &str| !text.is_empty() && text.split('-').all(|part| !part.is_empty() && part.bytes().all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit()));
        if self.name != path {
            return Some(format!("capability is named `{}` but stored at `{path}`", self.name));
        }
        if !kebab(&self.name) || !kebab(&self.family) {
            return Some("a capability's name and family are kebab-case".into());
        }
        if self.description.trim().is_empty() {
            return Some("a capability needs a description".into());
        }
        for (which, words) in [("names", &self.names), ("hints", &self.hints)] {
            if words.len() > MAX_CAPABILITY_WORDS {
                return Some(format!("a capability has at most {MAX_CAPABILITY_WORDS} {which}"));
            }
            if let Some(word) = words.iter().find(|word| word.is_empty() || word.chars().any(|c| !(c.is_lowercase() || c.is_ascii_digit()))) {
                return Some(format!("{which} are lowercase words without spaces or punctuation, not `{word}`"));
            }
        }
        None
    }
}

/// A typed record; serialises as the record it holds.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Record {
    Identity(SubnetIdentity),
    Endpoint(Endpoint),
    Health(Health),
    Provenance(Provenance),
    Stake(Stake),
    Admin(Admin),
    Price(Price),
    Proposer(Proposer),
    Capability(Capability),
}

/// The record type a path holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordKind {
    Identity,
    Endpoint,
    Health,
    Provenance,
    Stake,
    Admin,
    Price,
    Proposer,
    Capability,
}

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("{key}: no record type lives at this path (subnet paths: identity, endpoint/<name>, health/<name>, provenance)")]
    UnknownPath { key: Key },
    #[error("{key}: {source}")]
    Encoding { key: Key, source: CodecError },
    #[error("{key}: {reason}")]
    Invalid { key: Key, reason: String },
    #[error("{key}: not a valid {kind:?} record as JSON: {reason}")]
    Json { key: Key, kind: RecordKind, reason: String },
}

impl RecordKind {
    /// The record type `key` holds.
    pub fn of(key: &Key) -> Result<RecordKind, RecordError> {
        let unknown = || RecordError::UnknownPath { key: key.clone() };
        match key.namespace {
            Namespace::System(SystemNamespace::Validators) if key.path == ADMIN_PATH => Ok(RecordKind::Admin),
            Namespace::System(SystemNamespace::Validators) => Ok(RecordKind::Stake),
            Namespace::System(SystemNamespace::Pricing) => Ok(RecordKind::Price),
            Namespace::System(SystemNamespace::Proposers) => Ok(RecordKind::Proposer),
            Namespace::System(SystemNamespace::Capabilities) => Ok(RecordKind::Capability),
            Namespace::Subnet(_) => match key.path.split_once('/') {
                None if key.path == "identity" => Ok(RecordKind::Identity),
                None if key.path == "provenance" => Ok(RecordKind::Provenance),
                Some(("endpoint", name)) if !name.is_empty() => Ok(RecordKind::Endpoint),
                Some(("health", name)) if !name.is_empty() => Ok(RecordKind::Health),
                _ => Err(unknown()),
            },
        }
    }
}

impl Record {
    /// Decodes and checks the record stored at `key`.
    pub fn decode(key: &Key, bytes: &[u8]) -> Result<Record, RecordError> {
        let encoding = |source| RecordError::Encoding { key: key.clone(), source };
        let record = match RecordKind::of(key)? {
            RecordKind::Identity => Record::Identity(codec::decode(bytes, "identity record").map_err(encoding)?),
            RecordKind::Endpoint => Record::Endpoint(codec::decode(bytes, "endpoint record").map_err(encoding)?),
            RecordKind::Health => Record::Health(codec::decode(bytes, "health record").map_err(encoding)?),
            RecordKind::Provenance => Record::Provenance(codec::decode(bytes, "provenance record").map_err(encoding)?),
            RecordKind::Stake => Record::Stake(codec::decode(bytes, "stake record").map_err(encoding)?),
            RecordKind::Admin => Record::Admin(codec::decode(bytes, "admin record").map_err(encoding)?),
            RecordKind::Price => Record::Price(codec::decode(bytes, "price record").map_err(encoding)?),
            RecordKind::Proposer => Record::Proposer(codec::decode(bytes, "proposer record").map_err(encoding)?),
            RecordKind::Capability => Record::Capability(codec::decode(bytes, "capability record").map_err(encoding)?),
        };
        record.check(key)?;
        Ok(record)
    }

    /// Reads the record for `key` from JSON, checks it and returns it.
    pub fn from_json(key: &Key, json: serde_json::Value) -> Result<Record, RecordError> {
        let kind = RecordKind::of(key)?;
        let failed = |error: serde_json::Error| RecordError::Json { key: key.clone(), kind, reason: error.to_string() };
        let record = match kind {
            RecordKind::Identity => Record::Identity(serde_json::from_value(json).map_err(failed)?),
            RecordKind::Endpoint => Record::Endpoint(serde_json::from_value(json).map_err(failed)?),
            RecordKind::Health => Record::Health(serde_json::from_value(json).map_err(failed)?),
            RecordKind::Provenance => Record::Provenance(serde_json::from_value(json).map_err(failed)?),
            RecordKind::Stake => Record::Stake(serde_json::from_value(json).map_err(failed)?),
            RecordKind::Admin => Record::Admin(serde_json::from_value(json).map_err(failed)?),
            RecordKind::Price => Record::Price(serde_json::from_value(json).map_err(failed)?),
            RecordKind::Proposer => Record::Proposer(serde_json::from_value(json).map_err(failed)?),
            RecordKind::Capability => Record::Capability(serde_json::from_value(json).map_err(failed)?),
        };
        record.check(key)?;
        Ok(record)
    }

    /// The canonical bytes to store.
    pub fn encode(&self) -> Vec<u8> {
        codec::encode(self)
    }

    fn check(&self, key: &Key) -> Result<(), RecordError> {
        let invalid = |reason: String| Err(RecordError::Invalid { key: key.clone(), reason });
        let tail = key.path.split_once('/').map(|(_, name)| name);
        match self {
            Record::Identity(identity) => {
                if Namespace::Subnet(identity.netuid) != key.namespace {
                    return invalid(format!("identity names netuid {} in namespace {}", identity.netuid, key.namespace));
                }
                if identity.name.trim().is_empty() {
                    return invalid("identity has an empty name".into());
                }
                if !identity.capabilities.windows(2).all(|pair| pair[0] < pair[1]) {
                    return invalid("capabilities must be sorted and without repeats".into());
                }
            }
            Record::Endpoint(endpoint) => {
                if tail != Some(endpoint.name.as_str()) {
                    return invalid(format!("endpoint is named `{}` but stored at `{}`", endpoint.name, key.path));
                }
                if !(endpoint.url.starts_with("https://") || endpoint.url.starts_with("http://")) {
                    return invalid(format!("endpoint URL `{}` is not http(s)", endpoint.url));
                }
                for (which, schema) in [("input", &endpoint.input_schema), ("output", &endpoint.output_schema)] {
                    if !schema.0.is_object() {
                        return invalid(format!("{which} schema must be a JSON Schema object"));
                    }
                }
                if endpoint.timeout_ms == 0 {
                    return invalid("timeout_ms must be positive".into());
                }
                match (&endpoint.invocation, &endpoint.not_orchestrable) {
                    (Some(_), Some(_)) => return invalid("an endpoint has an invocation spec or a reason it is not orchestrable, not both".into()),
                    (Some(invocation), None) => {
                        if let Err(error) = invocation.check(endpoint.method, &endpoint.url) {
                            return invalid(error.to_string());
                        }
                    }
                    (None, Some(reason)) if reason.trim().is_empty() => return invalid("not_orchestrable needs a reason".into()),
                    _ => {}
                }
            }
            Record::Health(health) => {
                if health.success_ppm > 1_000_000 {
                    return invalid(format!("success_ppm {} exceeds one million", health.success_ppm));
                }
            }
            Record::Provenance(provenance) => {
                if provenance.sources.is_empty() {
                    return invalid("provenance needs at least one source".into());
                }
            }
            Record::Stake(_) | Record::Proposer(_) => {
                if let Err(error) = hotkey::ss58_decode(&key.path) {
                    return invalid(error.to_string());
                }
            }
            Record::Admin(admin) => {
                if let Err(error) = hotkey::ss58_decode(&admin.hotkey) {
                    return invalid(error.to_string());
                }
            }
            Record::Price(_) => {}
            Record::Capability(capability) => {
                if let Some(reason) = capability.problem(&key.path) {
                    return invalid(reason);
                }
            }
        }
        Ok(())
    }
}
