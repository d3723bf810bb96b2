//! Canonical encoding of records: one record, one byte string. Round trips are exact, equal
//! records encode equally whatever order their JSON objects were written in, and bytes that
//! decode but are not canonical are refused (they would hash differently).

use crate::common;

use ledger::codec::{self, CodecError};
use ledger::record::{Health, HealthStatus, Json, Record, RecordError};
use ledger::{Key, Namespace};
use proptest::prelude::*;
use serde_json::json;

fn health_key() -> Key {
    Key::new(Namespace::Subnet(22), "health/web").unwrap()
}

proptest! {
    #[test]
    fn health_records_round_trip_exactly(status in 0..3u8, checked in any::<u64>(), latency in any::<u32>(), ppm in 0..=1_000_000u32, samples in any::<u32>()) {
        let status = [HealthStatus::Up, HealthStatus::Degraded, HealthStatus::Down][status as usize];
        let record = Record::Health(Health { status, checked_at_ms: checked, latency_ms_p50: latency, success_ppm: ppm, samples });
        let bytes = record.encode();
        prop_assert_eq!(Record::decode(&health_key(), &bytes).unwrap(), record.clone());
        prop_assert_eq!(record.encode(), bytes);
    }

    /// JSON objects encode with sorted keys, so the order they were written in does not matter.
    #[test]
    fn json_encodes_the_same_in_any_key_order(keys in prop::collection::btree_set("[a-z]{1,6}", 1..8), values in prop::collection::vec(any::<i64>(), 8)) {
        let pairs: Vec<(String, i64)> = keys.into_iter().zip(values).collect();
        let forward: serde_json::Map<String, serde_json::Value> = pairs.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
        let reverse: serde_json::Map<String, serde_json::Value> = pairs.iter().rev().map(|(k, v)| (k.clone(), json!(v))).collect();
        prop_assert_eq!(codec::encode(&Json(forward.into())), codec::encode(&Json(reverse.into())));
    }
}

#[test]
fn endpoint_and_identity_round_trip() {
    for (path, record) in [("endpoint/web", common::endpoint("web")), ("identity", common::identity(22, "Desearch"))] {
        let key = Key::new(Namespace::Subnet(22), path).unwrap();
        assert_eq!(Record::decode(&key, &record.encode()).unwrap(), record);
    }
}

#[test]
fn non_canonical_bytes_are_refused() {
    let record = Record::Health(Health { status: HealthStatus::Up, checked_at_ms: 5, latency_ms_p50: 120, success_ppm: 999_000, samples: 10 });
    let canonical = record.encode();
    // The same map with `checked_at_ms` = 5 written as a u64 (0xcf + 8 bytes) instead of a fixint.
    let position = canonical.windows(14).position(|window| window == b"\xadchecked_at_ms").unwrap() + 14;
    assert_eq!(canonical[position], 5);
    let mut wide = canonical[..position].to_vec();
    wide.push(0xcf);
    wide.extend_from_slice(&5u64.to_be_bytes());
    wide.extend_from_slice(&canonical[position + 1..]);
    match Record::decode(&health_key(), &wide) {
        Err(RecordError::Encoding { source: CodecError::NonCanonical { .. }, .. }) => {}
        other => panic!("expected a non-canonical refusal, got {other:?}"),
    }
}

#[test]
fn records_are_checked_against_their_key() {
    let identity_key = Key::new(Namespace::Subnet(22), "identity").unwrap();
    let error = Record::decode(&identity_key, &common::identity(64, "Chutes").encode()).unwrap_err();
    assert!(error.to_string().contains("netuid 64 in namespace sn22"), "{error}");
    let endpoint_key = Key::new(Namespace::Subnet(22), "endpoint/search").unwrap();
    let error = Record::decode(&endpoint_key, &common::endpoint("web").encode()).unwrap_err();
    assert!(error.to_string().contains("named `web` but stored at `endpoint/search`"), "{error}");
}
