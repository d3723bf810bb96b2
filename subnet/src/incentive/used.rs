//! Used changes: ledger work earns once routing relies on it.
//!
//! A lasting change (see [`super::lasting`]) to a record no orchestration ever reaches is
//! work nobody needed: a miner could write endless correct records of endpoints nobody calls.
//! Terms:
//! - **use**: a call that a valid answer to one of the validator's challenges cites, or that
//!   the validator's own [known answer](crate::validator::challenge::known) cites (its subnet,
//!   endpoint and the endpoint's capability, [`Uses`]). The entries it uses: the endpoint's
//!   record and health record (`endpoint/E`, `health/E` in its subnet's namespace), every
//!   other entry of its subnet's namespace (its identity: a listing routing read), and the
//!   record of its capability. A change that takes a route away (an entry deleted, a health
//!   record saying down) is used by any call to its subnet (or, for a capability record, any
//!   call at all): routing relied on it by going elsewhere. Entries of other system namespaces
//!   are never used. A miner's own answers count: its calls were checked like any other.
//! - **pending credit**: a lasting change waiting for a use, with the proposer it is credited to
//!   and the round it was attested in ([`Pending`]). It is paid, once, in the first round after
//!   its attestation whose uses include its entry (the answers of its own round were written
//!   from ledgers that did not hold it yet); it lapses after [`USE_WINDOW_ROUNDS`] rounds
//!   unused. An entry holds at most one pending credit per proposer: a proposer's newer lasting
//!   change of the entry replaces its own older one (that one did not last), and leaves other
//!   proposers' standing, so rewriting a fresh record another proposer wrote (however slightly)
//!   earns the rewriter its own change at most and never takes the first proposer's credit.
//! - **revert**: a lasting change that gives an entry back the substance it had before its
//!   previous lasting change, within the window. A revert is credited nothing and takes the
//!   credit of the change it undoes if that is still pending, so that flipping a record back and
//!   forth across rounds earns at most the first change, once used. A proposer has at most [`MAX_PENDING_PER_PROPOSER`]
//!   pending credits: one large write cannot make a validator hold without bound, nor push
//!   out other proposers' credits.
//!
//! The limit: each distinct proposer rewriting an entry before its use is paid for its own
//! change, so hotkeys acting together (each registered, each change probed and approved) earn
//! one credit each per entry and use.
//! Challenges are drawn among the capabilities the validator's ledger routes, so what is used
//! grows with what challenges ask: records of a capability no challenge family asks about wait,
//! and lapse, until one does.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use ledger::{Key, Namespace, SystemNamespace};
use orchestrator::route::Catalog;

use super::lasting::Lasting;

/// Rounds a lasting change may wait for a use (about a day of tempos).
pub const USE_WINDOW_ROUNDS: u64 = 20;
/// Most pending credits one proposer has; later changes of its beyond them are not credited.
pub const MAX_PENDING_PER_PROPOSER: usize = 1024;

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

    /// Notes cited calls by `(netuid, endpoint)`, each serving the capability `catalog` lists
    /// for it; an endpoint the catalog does not list is no use of its records.
    pub fn cited(&mut self, catalog: &Catalog, calls: &BTreeSet<(u16, String)>) {
        for (netuid, endpoint) in calls {
            if let Some(listed) = catalog.endpoint(*netuid, endpoint) {
                self.call(*netuid, endpoint, &listed.capability);
            }
        }
    }

    /// Whether the calls use `key`, changed by `change` (see the module terms).
    pub fn uses(&self, key: &Key, change: &Lasting) -> bool {
        let any_call_to = |netuid: u16| self.endpoints.range((netuid, String::new())..).next().is_some_and(|(called, _)| *called == netuid);
        match key.namespace {
            Namespace::Subnet(netuid) if change.removes_route(key) => any_call_to(netuid),
            Namespace::Subnet(netuid) => match key.path.split_once('/') {
                Some(("endpoint" | "health", endpoint)) => self.endpoints.contains(&(netuid, endpoint.to_owned())),
                _ => any_call_to(netuid),
            },
            Namespace::System(SystemNamespace::Capabilities) if change.removes_route(key) => !self.endpoints.is_empty(),
            Namespace::System(SystemNamespace::Capabilities) => self.capabilities.contains(&key.path),
            Namespace::System(_) => false,
        }
    }
}

/// A lasting change waiting for a use, and the round it was attested in.
#[derive(Clone, Debug)]
struct Credit {
    change: Lasting,
    round: u64,
}

/// Lasting changes waiting for a use, and what each entry changed lately.
#[derive(Clone, Debug, Default)]
pub struct Pending {
    /// Per entry and proposer, its pending change.
    credits: BTreeMap<(Key, String), Credit>,
    /// Per entry, its last lasting change: a digest of the substance before it (what a revert
    /// would give back), its round and its proposer.
    previous: BTreeMap<Key, Previous>,
}

#[derive(Clone, Debug)]
struct Previous {
    before: Option<[u8; 32]>,
    round: u64,
    proposer: String,
}

impl Pending {
    /// Adds the lasting changes of round `round`: each replaces its proposer's pending change of
    /// the same entry, and a revert is credited nothing and cancels the change it undoes.
    pub fn add(&mut self, round: u64, lasting: BTreeMap<Key, Lasting>) {
        let mut held: HashMap<String, usize> = HashMap::new();
        for (_, proposer) in self.credits.keys() {
            *held.entry(proposer.clone()).or_default() += 1;
        }
        for (key, change) in lasting {
            let (before, after) = change.substances(&key);
            let undone = self.previous.get(&key).filter(|previous| round.saturating_sub(previous.round) < USE_WINDOW_ROUNDS && previous.before == after);
            let reverts = undone.is_some();
            // A revert cancels the change it undoes; any other change replaces its proposer's own.
            let replaced = undone.map_or_else(|| change.proposer.clone(), |undone| undone.proposer.clone());
            if self.credits.remove(&(key.clone(), replaced.clone())).is_some() {
                held.entry(replaced).and_modify(|count| *count -= 1);
            }
            self.previous.insert(key.clone(), Previous { before, round, proposer: change.proposer.clone() });
            let count = held.entry(change.proposer.clone()).or_default();
            if !reverts && *count < MAX_PENDING_PER_PROPOSER {
                *count += 1;
                self.credits.insert((key, change.proposer.clone()), Credit { change, round });
            }
        }
    }

    /// Pays the credits of earlier rounds that `uses` uses in round `round`, as each proposer's
    /// count of used changes, and lets those past the window lapse.
    pub fn redeem(&mut self, round: u64, uses: &Uses) -> BTreeMap<String, u64> {
        let mut paid = BTreeMap::new();
        self.credits.retain(|(key, proposer), credit| {
            if round.saturating_sub(credit.round) >= USE_WINDOW_ROUNDS {
                return false;
            }
            if credit.round < round && uses.uses(key, &credit.change) {
                *paid.entry(proposer.clone()).or_default() += 1;
                return false;
            }
            true
        });
        self.previous.retain(|_, previous| round.saturating_sub(previous.round) < USE_WINDOW_ROUNDS);
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
    use ledger::record::{Health, HealthStatus, Record};

    fn key(netuid: u16, path: &str) -> Key {
        Key::new(Namespace::Subnet(netuid), path).unwrap()
    }

    fn set(proposer: &str) -> Lasting {
        changed(proposer, b"old", b"record")
    }

    fn changed(proposer: &str, before: &[u8], after: &[u8]) -> Lasting {
        Lasting { proposer: proposer.to_owned(), before: Some(before.to_vec()), value: Some(after.to_vec()) }
    }

    fn web_search_called() -> Uses {
        let mut uses = Uses::default();
        uses.call(22, "web-search", "web-search");
        uses
    }

    #[test]
    fn a_call_uses_its_endpoint_its_subnets_listing_and_its_capability() {
        let (uses, change) = (web_search_called(), set("writer"));
        assert!(uses.uses(&key(22, "endpoint/web-search"), &change));
        assert!(uses.uses(&key(22, "health/web-search"), &change));
        assert!(uses.uses(&key(22, "identity"), &change));
        assert!(uses.uses(&Key::new(Namespace::System(SystemNamespace::Capabilities), "web-search").unwrap(), &change));
        assert!(!uses.uses(&key(22, "endpoint/x-search"), &change), "another endpoint of the subnet");
        assert!(!uses.uses(&key(21, "identity"), &change), "another subnet");
        assert!(!uses.uses(&key(23, "identity"), &change));
        assert!(!uses.uses(&Key::new(Namespace::System(SystemNamespace::Capabilities), "x-search").unwrap(), &change));
        assert!(!uses.uses(&Key::new(Namespace::System(SystemNamespace::Validators), "web-search").unwrap(), &change));
    }

    #[test]
    fn a_route_taken_away_is_used_by_any_call_to_its_subnet() {
        let uses = web_search_called();
        let deleted = Lasting { proposer: "pruner".to_owned(), before: Some(b"record".to_vec()), value: None };
        assert!(uses.uses(&key(22, "endpoint/x-search"), &deleted), "nothing calls a deleted endpoint; its subnet's calls went elsewhere");
        let down = Record::Health(Health { status: HealthStatus::Down, checked_at_ms: 1, latency_ms_p50: 0, success_ppm: 0, samples: 3 }).encode();
        let down = Lasting { proposer: "observer".to_owned(), before: None, value: Some(down) };
        assert!(uses.uses(&key(22, "health/x-search"), &down));
        assert!(!uses.uses(&key(21, "health/x-search"), &down), "another subnet's calls did not rely on it");
    }

    #[test]
    fn a_change_is_paid_once_when_used_after_its_round_within_the_window_and_lapses_unused_or_replaced() {
        let mut pending = Pending::default();
        pending.add(1, BTreeMap::from([(key(22, "health/web-search"), set("observer")), (key(22, "endpoint/x-search"), set("writer"))]));
        assert_eq!(pending.redeem(1, &web_search_called()), BTreeMap::new(), "its own round's answers were written without it");
        assert_eq!(pending.redeem(2, &web_search_called()), BTreeMap::from([("observer".to_owned(), 1)]));
        assert_eq!(pending.redeem(3, &web_search_called()), BTreeMap::new(), "paid once");
        assert_eq!(pending.len(), 1);
        let mut x_search = Uses::default();
        x_search.call(22, "x-search", "x-search");
        assert_eq!(pending.clone().redeem(USE_WINDOW_ROUNDS, &x_search), BTreeMap::from([("writer".to_owned(), 1)]), "the window's last round pays");
        assert_eq!(pending.redeem(1 + USE_WINDOW_ROUNDS, &x_search), BTreeMap::new(), "lapsed after the window");
        assert!(pending.is_empty());

        pending.add(30, BTreeMap::from([(key(22, "endpoint/web-search"), set("first"))]));
        pending.add(31, BTreeMap::from([(key(22, "endpoint/web-search"), changed("first", b"record", b"newer"))]));
        assert_eq!(pending.len(), 1, "a proposer's newer change replaces its own older one, which did not last");
        assert_eq!(pending.redeem(32, &web_search_called()), BTreeMap::from([("first".to_owned(), 1)]));
    }

    #[test]
    fn rewriting_a_record_another_proposer_wrote_never_takes_its_credit() {
        let mut pending = Pending::default();
        pending.add(1, BTreeMap::from([(key(22, "endpoint/web-search"), set("finder"))]));
        pending.add(2, BTreeMap::from([(key(22, "endpoint/web-search"), changed("sniper", b"record", b"record, reworded"))]));
        pending.add(3, BTreeMap::from([(key(22, "endpoint/web-search"), changed("sniper", b"record, reworded", b"record, reworded again"))]));
        assert_eq!(pending.len(), 2, "one credit per proposer of the entry");
        let paid = pending.redeem(4, &web_search_called());
        assert_eq!(paid, BTreeMap::from([("finder".to_owned(), 1), ("sniper".to_owned(), 1)]), "the first proposer keeps its credit");
        assert!(pending.is_empty());

        // The first proposer putting its record back undoes the rewrite: the rewriter's credit
        // goes, and the revert earns nothing more.
        let mut pending = Pending::default();
        pending.add(1, BTreeMap::from([(key(22, "endpoint/web-search"), changed("finder", b"old", b"record"))]));
        pending.add(2, BTreeMap::from([(key(22, "endpoint/web-search"), changed("sniper", b"record", b"worse"))]));
        pending.add(3, BTreeMap::from([(key(22, "endpoint/web-search"), changed("finder", b"worse", b"record"))]));
        assert_eq!(pending.redeem(4, &web_search_called()), BTreeMap::from([("finder".to_owned(), 1)]));
    }

    #[test]
    fn flipping_a_record_back_and_forth_across_rounds_earns_at_most_its_first_change() {
        let mut pending = Pending::default();
        let flip = |round: u64, pending: &mut Pending, from: &[u8], to: &[u8]| {
            pending.add(round, BTreeMap::from([(key(22, "endpoint/web-search"), changed("flipper", from, to))]));
            pending.redeem(round + 1, &web_search_called()).get("flipper").copied().unwrap_or(0)
        };
        let paid: Vec<u64> = (0..6).map(|step| if step % 2 == 0 { flip(2 * step + 1, &mut pending, b"a", b"b") } else { flip(2 * step + 1, &mut pending, b"b", b"a") }).collect();
        assert_eq!(paid, [1, 0, 0, 0, 0, 0], "each flip gives back what the entry had");
        assert_eq!(flip(100, &mut pending, b"a", b"b"), 1, "past the window a change is new work again");
        // A revert also takes the credit of the change it undoes while that waits.
        let mut pending = Pending::default();
        pending.add(1, BTreeMap::from([(key(22, "endpoint/web-search"), changed("breaker", b"good", b"bad"))]));
        pending.add(2, BTreeMap::from([(key(22, "endpoint/web-search"), changed("fixer", b"bad", b"good"))]));
        assert_eq!(pending.redeem(3, &web_search_called()), BTreeMap::new());
    }

    #[test]
    fn a_flood_of_changes_is_bounded_per_proposer_and_pushes_out_no_one_else() {
        let mut pending = Pending::default();
        pending.add(1, BTreeMap::from([(key(22, "endpoint/web-search"), set("steady"))]));
        let flood: BTreeMap<Key, Lasting> = (0..3 * MAX_PENDING_PER_PROPOSER).map(|index| (key(22, &format!("endpoint/e{index}")), set("flooder"))).collect();
        pending.add(2, flood.clone());
        pending.add(3, flood);
        assert_eq!(pending.len(), 1 + MAX_PENDING_PER_PROPOSER);
        assert_eq!(pending.redeem(3, &web_search_called()), BTreeMap::from([("steady".to_owned(), 1)]));
    }
}
