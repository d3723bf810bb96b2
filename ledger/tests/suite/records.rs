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

/// The test endpoint (a GET of `https://api.desearch.ai/web`) with `spec` as its invocation,
/// read from JSON as a record file or a diff would give it.
fn with_spec(spec: serde_json::Value) -> Result<Record, RecordError> {
    let Record::Endpoint(endpoint) = common::endpoint("web") else { unreachable!() };
    let mut json = serde_json::to_value(&endpoint).unwrap();
    json["invocation"] = spec;
    Record::from_json(&Key::new(Namespace::Subnet(22), "endpoint/web").unwrap(), json)
}

#[test]
fn an_endpoint_without_a_spec_encodes_as_records_did_before_specs() {
    // The test endpoint's bytes are pinned by the spec's vectors: a record with neither new field
    // must keep them, or every older ledger's root would change.
    let record = common::endpoint("web");
    let encoded = record.encode();
    assert!(!encoded.windows(10).any(|window| window == b"invocation"), "an absent spec is not encoded");
    let Record::Endpoint(endpoint) = record else { unreachable!() };
    assert!(endpoint.invocation.is_none() && endpoint.not_orchestrable.is_none());
}

#[test]
fn a_valid_spec_round_trips_exactly() {
    let record = with_spec(json!({
        "request": {"query": {"query": {"$input": "query"}, "count": {"$input": "count", "min": 1, "max": 100}}},
        "response": {"items": [{"at": ["/data", ""], "source": [{"const": "web"}], "title": ["/title"], "url": ["/link", {"format": "https://x.com/{/user/name}/status/{/id}"}]}]},
        "errors": {"message": ["/detail"], "retry": [429, 503]},
        "cost": {"usd_header": "X-Cost-Usd"},
        "job": {"id": "/id", "poll": {"method": "GET", "path": "/jobs/{job_id}", "request": {"query": {"id": {"$input": "job_id"}}}},
                "done": {"at": "/status", "equals": ["done"]}, "interval_ms": 500, "max_polls": 20}
    }))
    .unwrap();
    let key = Key::new(Namespace::Subnet(22), "endpoint/web").unwrap();
    assert_eq!(Record::decode(&key, &record.encode()).unwrap(), record);
}

#[test]
fn specs_that_cannot_be_executed_safely_are_refused_with_the_reason() {
    let items = json!([{"at": ["/data"], "source": [{"const": "web"}], "title": ["/title"]}]);
    let job = |path: &str| json!({"id": "/id", "poll": {"method": "GET", "path": path}, "done": {"at": "/status", "equals": ["done"]}, "interval_ms": 500, "max_polls": 20});
    for (spec, reason) in [
        (json!({"request": {"query": {"q": {"$input": "password"}}}, "response": {"items": items}}), "`password` is not an input"),
        (json!({"request": {"query": {"q": {"$input": "job_id"}}}, "response": {"items": items}}), "`job_id` is not an input"),
        (json!({"request": {"body": {"q": {"$input": "query"}}}, "response": {"items": items}}), "a GET sends no body"),
        (json!({"request": {"query": {"q": {"$input": "query", "max": 3}}}}), "does not apply to $input `query`"),
        (json!({"request": {"query": {"q": {"$input": "since", "format": "iso"}}}}), "does not apply"),
        (json!({"request": {"query": {"q": {"$input": "query", "$present": "schema"}}}}), "one directive"),
        (json!({"request": {"query": {"q": {"$if": "schema"}}}}), "needs a `then`"),
        (json!({"response": {"items": [{"at": ["data"], "source": [{"const": "web"}]}]}}), "not a JSON Pointer"),
        (json!({"response": {"items": [{"at": ["/data"], "source": [{"const": "web"}], "url": [{"format": "https://x/{/id"}]}]}}), "unclosed"),
        (json!({"response": {"items": [{"at": [], "source": [{"const": "web"}]}]}}), "at least one pointer"),
        (json!({"response": {"text_required": true}}), "needs `text` pointers"),
        (json!({"response": {"items": items}, "errors": {"retry": [700]}}), "not an HTTP status"),
        // A job polled elsewhere would carry the key bound to this host to another one.
        (json!({"response": {"items": items}, "job": job("https://attacker.example/jobs/{job_id}")}), "a path of the endpoint's origin"),
        (json!({"response": {"items": items}, "job": job("//attacker.example/jobs/{job_id}")}), "a path of the endpoint's origin"),
        (json!({"response": {"items": items}, "job": job("@attacker.example/jobs")}), "a path of the endpoint's origin"),
        (json!({"response": {"items": items}, "job": job("/\\attacker.example/jobs")}), "a path of the endpoint's origin"),
        (json!({"response": {"items": items}, "job": json!({"id": "/id", "poll": {"method": "GET", "path": "/j"}, "done": {"at": "/s", "equals": [1]}, "interval_ms": 1, "max_polls": 100000})}), "at most 600 times"),
    ] {
        match with_spec(spec.clone()) {
            Err(RecordError::Invalid { reason: refused, .. }) => assert!(refused.contains(reason), "{spec}: `{refused}` does not say `{reason}`"),
            other => panic!("{spec}: expected a refusal saying `{reason}`, got {other:?}"),
        }
    }

    let Record::Endpoint(endpoint) = common::endpoint("web") else { unreachable!() };
    let mut both = serde_json::to_value(&endpoint).unwrap();
    both["invocation"] = json!({"response": {"items": items}});
    both["not_orchestrable"] = json!("a management call");
    let error = Record::from_json(&Key::new(Namespace::Subnet(22), "endpoint/web").unwrap(), both).unwrap_err();
    assert!(error.to_string().contains("not both"), "{error}");
}
