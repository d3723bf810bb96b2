//! Ranking: the order routes are tried in, from what was observed of them and what they cost.
//!
//! Terms:
//! - **observation**: what this node saw of its own calls to an endpoint: calls, successes, and
//!   a moving average of their latency. Kept in memory for the node's life.
//! - **expected latency**: the ledger's health record's median latency when it has samples,
//!   else the node's own observed average, else [`UNOBSERVED_LATENCY_MS`] for every endpoint
//!   alike: a declared timeout is a promise about the worst case, not a measurement, so it
//!   never ranks.
//! - **score**: expected latency divided by the success rate (the same sources, in the same
//!   order), plus the price of a typical call, where one US cent weighs as much as 100 ms.
//! - **writer preference**: the operator's ordered choice of the endpoints that plan and write
//!   (`llm-chat`): a preferred endpoint ranks before every other, in the operator's order.
//!   Without one, endpoints that enforce the JSON Schema they are sent (their spec says
//!   `schema_enforced`) rank before those that do not.
//!
//! Routes are ordered by writer preference (for `llm-chat`), then health (up, then unknown,
//! then degraded), then score; ties go to the lower netuid, then the endpoint name, so the same
//! ledger and observations always route the same way.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use ledger::record::{Health, HealthStatus, PriceUnit};

use crate::llm::LLM_CAPABILITY;
use crate::route::{Listing, Route};

/// Latency assumed of an endpoint neither the ledger nor this node has measured.
pub const UNOBSERVED_LATENCY_MS: u64 = 1_000;
/// Micro-USD that weigh as much as one millisecond in the score (one cent per 100 ms).
const USD_MICROS_PER_MS: u64 = 100;
/// A typical call, for comparing prices of different units: tokens and items it uses.
const TYPICAL_TOKENS: u64 = 2_000;
const TYPICAL_ITEMS: u64 = 10;
/// Weight of the newest call in the moving average of latency.
const LATENCY_SMOOTHING: f64 = 0.3;

/// One endpoint the operator prefers to plan and write with: a subnet, and optionally one of
/// its endpoints (any of them when `None`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Writer {
    pub netuid: u16,
    pub endpoint: Option<String>,
}

impl std::str::FromStr for Writer {
    type Err = String;

    /// `64` or `sn64` for any of SN64's endpoints, `sn64/chat-completions` for one.
    fn from_str(text: &str) -> Result<Writer, String> {
        let (subnet, endpoint) = match text.split_once('/') {
            Some((subnet, endpoint)) => (subnet, Some(endpoint.to_owned())),
            None => (text, None),
        };
        let digits = subnet.trim().trim_start_matches("sn").trim_start_matches("SN");
        let netuid = digits.parse().map_err(|_| format!("`{text}` is not a writer: write a netuid (64, sn64) or a netuid and endpoint (sn64/chat-completions)"))?;
        Ok(Writer { netuid, endpoint: endpoint.filter(|name| !name.is_empty()) })
    }
}

#[derive(Clone, Copy, Debug, Default)]
struct Observation {
    calls: u32,
    successes: u32,
    latency_ms: f64,
}

/// The node's observations and the operator's writer preference.
#[derive(Debug, Default)]
pub struct Ranking {
    observed: Mutex<HashMap<(u16, String), Observation>>,
    writers: Vec<Writer>,
}

impl Ranking {
    pub fn new(writers: Vec<Writer>) -> Ranking {
        Ranking { observed: Mutex::default(), writers }
    }

    /// Records one call to subnet `netuid`'s `endpoint`: whether it succeeded, and how long it took.
    pub fn observe(&self, netuid: u16, endpoint: &str, succeeded: bool, took: Duration) {
        let mut observed = self.observed.lock().expect("observations lock");
        let observation = observed.entry((netuid, endpoint.to_owned())).or_default();
        let latency = took.as_secs_f64() * 1000.0;
        observation.latency_ms = match observation.calls {
            0 => latency,
            _ => observation.latency_ms + LATENCY_SMOOTHING * (latency - observation.latency_ms),
        };
        observation.calls = observation.calls.saturating_add(1);
        observation.successes = observation.successes.saturating_add(u32::from(succeeded));
    }

    /// Puts `routes` of `capability` in the order they are tried (see the module documentation).
    pub fn order(&self, capability: &str, routes: &mut [Route<'_>]) {
        let observed = self.observed.lock().expect("observations lock");
        let writing = capability == LLM_CAPABILITY;
        routes.sort_by_cached_key(|route| {
            let listing = route.listing;
            let observation = observed.get(&(listing.netuid, listing.endpoint.name.clone())).copied();
            let preference = if writing { self.preference(listing) } else { 0 };
            let unenforced = writing && !listing.endpoint.invocation.as_ref().is_some_and(|spec| spec.schema_enforced);
            (preference, unenforced, health_tier(listing.health.as_ref()), score(listing, observation), listing.netuid, listing.endpoint.name.clone())
        });
    }

    /// The listing's place in the writer preference; past the end when not listed.
    fn preference(&self, listing: &Listing) -> usize {
        self.writers
            .iter()
            .position(|writer| writer.netuid == listing.netuid && writer.endpoint.as_ref().is_none_or(|name| *name == listing.endpoint.name))
            .unwrap_or(self.writers.len())
    }
}

fn health_tier(health: Option<&Health>) -> u8 {
    match health.map(|health| health.status) {
        Some(HealthStatus::Up) => 0,
        None => 1,
        Some(HealthStatus::Degraded) => 2,
        Some(HealthStatus::Down) => 3,
    }
}

/// Expected milliseconds per successful call plus the typical call's price in milliseconds'
/// worth.
fn score(listing: &Listing, observation: Option<Observation>) -> u64 {
    let (latency_ms, success_ppm) = match (&listing.health, observation) {
        (Some(health), _) if health.samples > 0 => (u64::from(health.latency_ms_p50), u64::from(health.success_ppm.max(1))),
        (_, Some(seen)) if seen.calls > 0 => (seen.latency_ms as u64, (u64::from(seen.successes) * 1_000_000 / u64::from(seen.calls)).max(1)),
        _ => (UNOBSERVED_LATENCY_MS, 1_000_000),
    };
    let expected_ms = latency_ms.saturating_mul(1_000_000) / success_ppm;
    expected_ms.saturating_add(typical_price_usd_micros(listing) / USD_MICROS_PER_MS)
}

/// The ledger's price of a typical call, in micro-USD (zero when unknown).
fn typical_price_usd_micros(listing: &Listing) -> u64 {
    listing.endpoint.pricing.as_ref().map_or(0, |pricing| match pricing.unit {
        PriceUnit::Request => pricing.usd_micros,
        PriceUnit::ThousandTokens => pricing.usd_micros.saturating_mul(TYPICAL_TOKENS) / 1000,
        PriceUnit::Item => pricing.usd_micros.saturating_mul(TYPICAL_ITEMS),
    })
}
