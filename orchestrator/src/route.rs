//! Routing: which subnet endpoint serves a task, read from the Subnet Ledger.
//!
//! Terms:
//! - **catalog**: the ledger's subnet records at one version, grouped by capability: every
//!   endpoint with its subnet's name and its latest health record; and the capability records
//!   that describe them (the planner's vocabulary).
//! - **route**: one endpoint that can serve a capability: its record has an invocation spec
//!   (see [`crate::invocation`]), it is not reported down, and the node holds a key for it when
//!   it needs one.
//! - **ranking**: routes in the order they are tried; the first is the choice, the rest are
//!   the **fallbacks** (see [`crate::ranking`]: health, then observed latency and success, and
//!   price).
//! - **unroutable**: an endpoint offering the capability that is not a route, with the reason,
//!   so that "no route" errors say what to fix.

use std::collections::{BTreeMap, BTreeSet};

use ledger::record::{Auth, Endpoint, Health, HealthStatus, Record, SubnetIdentity};
use ledger::{Key, Ledger, Namespace, SystemNamespace};
use serde::Serialize;

use crate::credentials::{Credentials, UnboundHost};
use crate::planner::Vocabulary;
use crate::ranking::Ranking;

/// One endpoint of the catalog.
#[derive(Clone, Debug)]
pub struct Listing {
    pub netuid: u16,
    pub subnet: String,
    /// The subnet's site, as its ledger identity gives it: where an operator gets a key.
    pub website: Option<String>,
    pub endpoint: Endpoint,
    pub health: Option<Health>,
}

/// A listing that can serve a task now.
#[derive(Clone, Debug)]
pub struct Route<'a> {
    pub listing: &'a Listing,
}

/// Why a listing is not a route.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Unroutable {
    pub netuid: u16,
    pub endpoint: String,
    pub reason: String,
    /// Whether the node holds the subnet's key but may not send it to this endpoint's host.
    #[serde(skip)]
    pub withheld_key: bool,
    /// What setting a key would take: present when a key is all the listing lacks.
    #[serde(skip)]
    pub wants_key: Option<WantedKey>,
}

/// A subnet key that would make a listing a route.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WantedKey {
    pub subnet: String,
    pub website: Option<String>,
    pub capability: String,
    /// The variables any of which can hold the key (see [`crate::credentials::key_variables`]).
    pub variables: Vec<String>,
}

/// A subnet whose key would make listings routes, with what they offer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyHint {
    pub netuid: u16,
    pub subnet: String,
    pub website: Option<String>,
    pub capabilities: BTreeSet<String>,
    pub variables: Vec<String>,
}

impl std::fmt::Display for KeyHint {
    /// `for web-search, x-search set ORCHESTRA_SN22_KEY or DESEARCH_API_KEY (SN22 Desearch, keys at https://desearch.ai)`
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let capabilities: Vec<&str> = self.capabilities.iter().map(String::as_str).collect();
        write!(formatter, "for {} set {} (SN{} {}", capabilities.join(", "), self.variables.join(" or "), self.netuid, self.subnet)?;
        if let Some(site) = &self.website {
            write!(formatter, ", keys at {site}")?;
        }
        formatter.write_str(")")
    }
}

/// The keys `unroutable` lacks, one hint per subnet, by netuid.
pub fn key_hints(unroutable: &[Unroutable]) -> Vec<KeyHint> {
    let mut hints: BTreeMap<u16, KeyHint> = BTreeMap::new();
    for listing in unroutable {
        let Some(wanted) = &listing.wants_key else { continue };
        let hint = hints.entry(listing.netuid).or_insert_with(|| KeyHint {
            netuid: listing.netuid,
            subnet: wanted.subnet.clone(),
            website: wanted.website.clone(),
            capabilities: BTreeSet::new(),
            variables: wanted.variables.clone(),
        });
        hint.capabilities.insert(wanted.capability.clone());
    }
    hints.into_values().collect()
}

/// The subnet records of one ledger version, by capability.
#[derive(Clone, Debug)]
pub struct Catalog {
    reading: ledger::Reading,
    by_capability: BTreeMap<String, Vec<Listing>>,
    vocabulary: Vocabulary,
}

impl Catalog {
    /// Reads every subnet's identity, endpoints and health at the version reads of the current
    /// ledger use: the head, or on a ledger with validators its trusted version (see
    /// [`ledger::Reading`]), so that a proposal routes only once final.
    pub fn read(ledger: &Ledger) -> ledger::Result<Catalog> {
        let reading = ledger.reading()?;
        let version = reading.version;
        let mut by_capability: BTreeMap<String, Vec<Listing>> = BTreeMap::new();
        let namespaces = ledger.namespaces_at(version)?;
        let subnets: Vec<u16> = namespaces.iter().filter_map(|namespace| match namespace {
            Namespace::Subnet(netuid) => Some(*netuid),
            Namespace::System(_) => None,
        }).collect();
        let capabilities = Namespace::System(SystemNamespace::Capabilities);
        let mut records = Vec::new();
        if namespaces.contains(&capabilities) {
            for (path, value) in ledger.namespace_at(capabilities, version)? {
                if let Ok(Record::Capability(record)) = Record::decode(&Key { namespace: capabilities, path }, &value) {
                    records.push(record);
                }
            }
        }
        for netuid in subnets {
            let namespace = Namespace::Subnet(netuid);
            let mut name = format!("SN{netuid}");
            let mut website = None;
            let mut endpoints = Vec::new();
            let mut health = BTreeMap::new();
            for (path, value) in ledger.namespace_at(namespace, version)? {
                let key = Key { namespace, path: path.clone() };
                // A record that does not decode was refused at commit; skipping keeps routing
                // alive should an older node have written one.
                match Record::decode(&key, &value) {
                    Ok(Record::Identity(SubnetIdentity { name: subnet_name, website: site, .. })) => {
                        name = subnet_name;
                        website = site;
                    }
                    Ok(Record::Endpoint(endpoint)) => endpoints.push(endpoint),
                    Ok(Record::Health(record)) => {
                        health.insert(path.trim_start_matches("health/").to_owned(), record);
                    }
                    _ => {}
                }
            }
            for endpoint in endpoints {
                let listing = Listing { netuid, subnet: name.clone(), website: website.clone(), health: health.remove(&endpoint.name), endpoint };
                by_capability.entry(listing.endpoint.capability.clone()).or_default().push(listing);
            }
        }
        Ok(Catalog { reading, by_capability, vocabulary: Vocabulary::new(records) })
    }

    /// The capability records the ledger holds: what the planner plans from.
    pub fn vocabulary(&self) -> &Vocabulary {
        &self.vocabulary
    }

    /// The ledger version the catalog was read at.
    pub fn version(&self) -> u64 {
        self.reading.version
    }

    /// The version read, and why it is that one.
    pub fn reading(&self) -> ledger::Reading {
        self.reading
    }

    /// The routes for `capability` in `ranking`'s order, and the listings that are not routes
    /// with why.
    pub fn routes(&self, capability: &str, credentials: &Credentials, ranking: &Ranking) -> (Vec<Route<'_>>, Vec<Unroutable>) {
        let mut routes = Vec::new();
        let mut unroutable = Vec::new();
        for listing in self.by_capability.get(capability).into_iter().flatten() {
            match routability(listing, credentials) {
                Ok(()) => routes.push(Route { listing }),
                Err(refusal) => unroutable.push(Unroutable {
                    netuid: listing.netuid,
                    endpoint: listing.endpoint.name.clone(),
                    withheld_key: matches!(refusal, Refusal::UnboundHost(_)),
                    wants_key: matches!(refusal, Refusal::NoKey(_)).then(|| WantedKey {
                        subnet: listing.subnet.clone(),
                        website: listing.website.clone(),
                        capability: capability.to_owned(),
                        variables: crate::credentials::key_variables(listing.netuid),
                    }),
                    reason: refusal.to_string(),
                }),
            }
        }
        ranking.order(capability, &mut routes);
        (routes, unroutable)
    }

    /// The ledger's health record of an endpoint, if it has one.
    pub fn health(&self, netuid: u16, endpoint: &str) -> Option<Health> {
        self.listing(netuid, endpoint).and_then(|listing| listing.health.clone())
    }

    /// The ledger's record of an endpoint, if it lists one.
    pub fn endpoint(&self, netuid: u16, endpoint: &str) -> Option<&Endpoint> {
        self.listing(netuid, endpoint).map(|listing| &listing.endpoint)
    }

    fn listing(&self, netuid: u16, endpoint: &str) -> Option<&Listing> {
        self.by_capability.values().flatten().find(|listing| listing.netuid == netuid && listing.endpoint.name == endpoint)
    }

    /// Every `(netuid, endpoint name)` the catalog lists, routable or not.
    pub fn listed(&self) -> BTreeSet<(u16, String)> {
        self.by_capability.values().flatten().map(|listing| (listing.netuid, listing.endpoint.name.clone())).collect()
    }

    /// Every listing that is not a route now, with why.
    pub fn unroutable(&self, credentials: &Credentials) -> Vec<Unroutable> {
        let capabilities: Vec<&String> = self.by_capability.keys().collect();
        capabilities.into_iter().flat_map(|capability| self.routes(capability, credentials, &Ranking::default()).1).collect()
    }

    /// The capabilities with at least one route.
    pub fn offered(&self, credentials: &Credentials) -> BTreeSet<String> {
        self.by_capability
            .iter()
            .filter(|(_, listings)| listings.iter().any(|listing| routability(listing, credentials).is_ok()))
            .map(|(capability, _)| capability.clone())
            .collect()
    }
}

/// Why a listing is not a route.
#[derive(Debug, thiserror::Error)]
enum Refusal {
    #[error("{0}")]
    Other(String),
    #[error("it needs an API key: set {}", crate::credentials::key_variables(*.0).join(" or "))]
    NoKey(u16),
    #[error("its host is not one the key may go to ({0}); bind it with {variable}_HOSTS if the operator trusts it", variable = crate::credentials::key_env(.0.netuid))]
    UnboundHost(UnboundHost),
}

/// Whether a listing can be called now, or why not.
fn routability(listing: &Listing, credentials: &Credentials) -> Result<(), Refusal> {
    let endpoint = &listing.endpoint;
    crate::invocation::spec(endpoint).map_err(|error| Refusal::Other(error.to_string()))?;
    if let Some(Health { status: HealthStatus::Down, .. }) = listing.health {
        return Err(Refusal::Other("the ledger reports it down".into()));
    }
    match endpoint.auth {
        Auth::Header { .. } => match credentials.key_for(listing.netuid, &endpoint.url) {
            Ok(Some(_)) => Ok(()),
            Ok(None) => Err(Refusal::NoKey(listing.netuid)),
            Err(unbound) => Err(Refusal::UnboundHost(unbound)),
        },
        Auth::Hotkey => Err(Refusal::Other("it needs hotkey-signed requests, which this node does not send".into())),
        Auth::None => Ok(()),
    }
}
