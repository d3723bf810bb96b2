//! Lasting changes: a round credits the entries its attested writes left changed, to the last
//! writer, and nothing for a record set and set back.

use std::collections::BTreeMap;

use ledger::{Change, ChangeSet, Key, Namespace};
use subnet::incentive::lasting::Writes;

fn key(path: &str) -> Key {
    Key::new(Namespace::Subnet(22), path).unwrap()
}

/// How many lasting changes each proposer is credited.
fn credited(writes: &Writes, before: &BTreeMap<Key, Option<Vec<u8>>>) -> BTreeMap<String, u64> {
    let mut credited = BTreeMap::new();
    for lasting in writes.lasting(before).into_values() {
        *credited.entry(lasting.proposer).or_default() += 1;
    }
    credited
}

fn set(path: &str, value: &[u8]) -> ChangeSet {
    ChangeSet::new([Change { key: key(path), value: Some(value.to_vec()) }])
}

#[test]
fn a_record_flipped_and_flipped_back_earns_nothing() {
    let mut writes = Writes::default();
    writes.record("flipper", &set("health/web-search", b"down"));
    writes.record("flipper", &set("health/web-search", b"up"));
    writes.record("flipper", &set("health/web-search", b"down"));
    writes.record("flipper", &set("health/web-search", b"up"));
    let before = BTreeMap::from([(key("health/web-search"), Some(b"up".to_vec()))]);
    assert_eq!(credited(&writes, &before), BTreeMap::new());
}

#[test]
fn each_lasting_change_counts_once_for_its_last_writer() {
    let mut writes = Writes::default();
    writes.record("a", &ChangeSet::new([Change { key: key("endpoint/x"), value: Some(b"1".to_vec()) }, Change { key: key("endpoint/y"), value: Some(b"1".to_vec()) }]));
    writes.record("b", &set("endpoint/y", b"2"));
    // Rewriting what was already there changes nothing; a deletion of what was there does.
    writes.record("c", &set("endpoint/z", b"same"));
    writes.record("c", &ChangeSet::new([Change { key: key("endpoint/gone"), value: None }]));
    let before = BTreeMap::from([
        (key("endpoint/x"), None),
        (key("endpoint/y"), None),
        (key("endpoint/z"), Some(b"same".to_vec())),
        (key("endpoint/gone"), Some(b"old".to_vec())),
    ]);
    assert_eq!(credited(&writes, &before), BTreeMap::from([("a".to_owned(), 1), ("b".to_owned(), 1), ("c".to_owned(), 1)]));
}

#[test]
fn an_entry_whose_earlier_value_is_unknown_is_not_credited() {
    let mut writes = Writes::default();
    writes.record("a", &set("endpoint/x", b"1"));
    assert_eq!(credited(&writes, &BTreeMap::new()), BTreeMap::new());
}

#[test]
fn re_measuring_a_subnet_whose_status_stands_earns_nothing() {
    use ledger::record::{Health, HealthStatus, Record};
    let health = |status, latency_ms_p50, checked_at_ms| Record::Health(Health { status, checked_at_ms, latency_ms_p50, success_ppm: 1_000_000, samples: 10 }).encode();
    let before = BTreeMap::from([(key("health/web-search"), Some(health(HealthStatus::Up, 300, 1)))]);
    let mut remeasured = Writes::default();
    remeasured.record("measurer", &set("health/web-search", &health(HealthStatus::Up, 280, 2)));
    assert_eq!(credited(&remeasured, &before), BTreeMap::new(), "a new latency and time for a subnet still up");
    let mut failed = Writes::default();
    failed.record("observer", &set("health/web-search", &health(HealthStatus::Down, 0, 3)));
    assert_eq!(credited(&failed, &before), BTreeMap::from([("observer".to_owned(), 1)]), "the subnet went down: routing changes");
    // A first health record of an endpoint is new knowledge, credited to whoever reported it
    // first: another miner re-measuring the same status after it earns nothing.
    let mut first = Writes::default();
    first.record("observer", &set("health/web-search", &health(HealthStatus::Up, 300, 1)));
    first.record("latecomer", &set("health/web-search", &health(HealthStatus::Up, 310, 2)));
    assert_eq!(credited(&first, &BTreeMap::from([(key("health/web-search"), None)])), BTreeMap::from([("observer".to_owned(), 1)]));
}
