//! Used changes: ledger work earns once routing relies on it.
//!
//! A lasting change (see [`super::lasting`]) to a record no orchestration ever reaches is
//! work nobody needed: a miner could write endless correct records of endpoints nobody calls.
//! Terms:
//! - **use**: a call that a valid answer to one of the validator's challenges cites (its subnet,
//!   endpoint and the endpoint's capability, [`Uses`]). The entries it uses: the endpoint's
//!   record and health record (`endpoint/E`, `health/E` in its subnet's namespace), every
//!   other entry of its subnet's namespace (identity, and records deleted: a listing routing
//!   read), and the record of its capability. Entries of other system namespaces are never
//!   used.
//! - **pending credit**: a lasting change waiting for a use, with the proposer it is credited to
//!   and the round it was attested in ([`Pending`]). It is paid, once, in the first round whose
//!   uses include its entry (the round of its attestation included); it lapses when a newer
//!   lasting change of the same entry replaces it (the older one did not last) or after
//!   [`USE_WINDOW_ROUNDS`] rounds unused.
//!
//! Challenges are drawn among the capabilities the validator's ledger routes, so what is used
//! grows with what challenges ask: records of a capability no challenge family asks about wait,
//! and lapse, until one does.

use std::collections::{BTreeMap, BTreeSet};

use ledger::{Key, Namespace, SystemNamespace};

/// Rounds a lasting change may wait for a use (about a day of tempos).
pub const USE_WINDOW_ROUNDS: u64 = 20;
/// Most pending credits kept; beyond it the oldest round's lapse first, so that one large
/// write cannot make a validator hold without bound.
pub const MAX_PENDING: usize = 1 << 16;

/// What the valid answers of one round called.
#[derive(Clone, Debug, Default)]
pub struct Uses {
    endpoints: BTreeSet<(u16, String)>,
    capabilities: BTreeSet<String>,
}

impl Uses {
    /// Notes a cited call of `endpoint` of subnet `netuid`, serving `capability`.
    pub fn call(&mut self, netuid: u16, endpoint: &str, capability: &str) {
        self.endpoints.insert((netuid, endpoint.to_owned()));
        self.capabilities.insert(capability.to_owned());
    }

    /// Whether the calls use `key` (see the module terms).
    pub fn uses(&self, key: &Key) -> bool {
        match key.namespace {
            Namespace::Subnet(netuid) => match key.path.split_once('/') {
                Some(("endpoint" | "health", endpoint)) => self.endpoints.contains(&(netuid, endpoint.to_owned())),
                _ => self.endpoints.range((netuid, String::new())..).next().is_some_and(|(called, _)| *called == netuid),
            },
            Namespace::System(SystemNamespace::Capabilities) => self.capabilities.contains(&key.path),
            Namespace::System(_) => false,
        }
    }
}

/// Lasting changes waiting for a use.
#[derive(Clone, Debug, Default)]
pub struct Pending {
    credits: BTreeMap<Key, (String, u64)>,
}

impl Pending {
    /// Adds the lasting changes of round `round`, each entry with its proposer; each replaces
    /// what was pending for its entry.
    pub fn add(&mut self, round: u64, lasting: BTreeMap<Key, String>) {
        for (key, proposer) in lasting {
            self.credits.insert(key, (proposer, round));
        }
        while self.credits.len() > MAX_PENDING {
            let Some(oldest) = self.credits.values().map(|(_, round)| *round).min() else { break };
            self.credits.retain(|_, (_, attested)| *attested != oldest);
        }
    }

    /// Pays the credits `uses` uses in round `round`, as each proposer's count of used changes,
    /// and lets those past the window lapse.
    pub fn redeem(&mut self, round: u64, uses: &Uses) -> BTreeMap<String, u64> {
        let mut paid = BTreeMap::new();
        self.credits.retain(|key, (proposer, attested)| {
            if round.saturating_sub(*attested) >= USE_WINDOW_ROUNDS {
                return false;
            }
            if uses.uses(key) {
                *paid.entry(proposer.clone()).or_default() += 1;
                return false;
            }
            true
        });
        paid
    }

    pub fn len(&self) -> usize {
        self.credits.len()
    }

    pub fn is_empty(&self) -> bool {
        self.credits.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(netuid: u16, path: &str) -> Key {
        Key::new(Namespace::Subnet(netuid), path).unwrap()
    }

    fn web_search_called() -> Uses {
        let mut uses = Uses::default();
        uses.call(22, "web-search", "web-search");
        uses
    }

    #[test]
    fn a_call_uses_its_endpoint_its_subnets_listing_and_its_capability() {
        let uses = web_search_called();
        assert!(uses.uses(&key(22, "endpoint/web-search")));
        assert!(uses.uses(&key(22, "health/web-search")));
        assert!(uses.uses(&key(22, "identity")));
        assert!(uses.uses(&Key::new(Namespace::System(SystemNamespace::Capabilities), "web-search").unwrap()));
        assert!(!uses.uses(&key(22, "endpoint/x-search")), "another endpoint of the subnet");
        assert!(!uses.uses(&key(21, "identity")), "another subnet");
        assert!(!uses.uses(&key(23, "identity")));
        assert!(!uses.uses(&Key::new(Namespace::System(SystemNamespace::Capabilities), "x-search").unwrap()));
        assert!(!uses.uses(&Key::new(Namespace::System(SystemNamespace::Validators), "web-search").unwrap()));
    }

    #[test]
    fn a_change_is_paid_once_when_used_and_lapses_unused_or_replaced() {
        let mut pending = Pending::default();
        pending.add(1, BTreeMap::from([(key(22, "health/web-search"), "observer".to_owned()), (key(22, "endpoint/x-search"), "writer".to_owned())]));
        assert_eq!(pending.redeem(1, &Uses::default()), BTreeMap::new(), "nothing called yet");
        assert_eq!(pending.redeem(2, &web_search_called()), BTreeMap::from([("observer".to_owned(), 1)]));
        assert_eq!(pending.redeem(3, &web_search_called()), BTreeMap::new(), "paid once");
        assert_eq!(pending.len(), 1);
        let mut x_search = Uses::default();
        x_search.call(22, "x-search", "x-search");
        assert_eq!(pending.redeem(1 + USE_WINDOW_ROUNDS, &x_search), BTreeMap::new(), "lapsed after the window");
        assert!(pending.is_empty());

        pending.add(5, BTreeMap::from([(key(22, "health/web-search"), "flipper".to_owned())]));
        pending.add(6, BTreeMap::from([(key(22, "health/web-search"), "unflipper".to_owned())]));
        assert_eq!(pending.redeem(6, &web_search_called()), BTreeMap::from([("unflipper".to_owned(), 1)]), "the replaced change did not last");
    }

    #[test]
    fn pending_credits_are_bounded_oldest_round_first() {
        let mut pending = Pending::default();
        pending.add(1, BTreeMap::from([(key(22, "endpoint/old"), "a".to_owned())]));
        let flood: BTreeMap<Key, String> = (0..MAX_PENDING).map(|index| (key(22, &format!("endpoint/e{index}")), "b".to_owned())).collect();
        pending.add(2, flood);
        assert_eq!(pending.len(), MAX_PENDING);
        let mut old = Uses::default();
        old.call(22, "old", "web-search");
        assert_eq!(pending.redeem(2, &old), BTreeMap::new(), "the oldest round lapsed first");
    }
}
