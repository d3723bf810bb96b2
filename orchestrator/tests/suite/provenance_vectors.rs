//! The provenance vectors of docs/SPEC.md §18: the cited result checks, and each refusal is
//! reported with its error and leaf.

use std::collections::BTreeMap;

use orchestrator::provenance::{check, Provenance, ProvenanceError};
use serde_json::Value;

fn error_name(error: &ProvenanceError) -> (&'static str, Option<&str>) {
    match error {
        ProvenanceError::UnknownFormat(_) => ("unknown_format", None),
        ProvenanceError::Uncited(leaf) => ("uncited", Some(leaf)),
        ProvenanceError::NotALeaf(leaf) => ("not_a_leaf", Some(leaf)),
        ProvenanceError::NoBody { leaf, .. } => ("no_body", Some(leaf)),
        ProvenanceError::Unsupported { leaf, .. } => ("unsupported", Some(leaf)),
    }
}

/// Sets the member `pointer` names, creating it in its parent when absent.
fn set(document: &mut Value, pointer: &str, value: Value) {
    let (parent, name) = pointer.rsplit_once('/').unwrap();
    let parent = document.pointer_mut(parent).unwrap_or_else(|| panic!("no parent for {pointer}"));
    match parent {
        Value::Object(members) => {
            members.insert(name.replace("~1", "/").replace("~0", "~"), value);
        }
        Value::Array(elements) => elements[name.parse::<usize>().unwrap()] = value,
        _ => panic!("{pointer} is not in a container"),
    }
}

#[test]
fn provenance_check() {
    let vectors = crate::common::spec_vectors("provenance_");
    assert_eq!(vectors.keys().collect::<Vec<_>>(), ["provenance_check"]);
    let vector = &vectors["provenance_check"];
    let objective = vector["objective"].as_str().unwrap();
    let bodies: BTreeMap<u64, Vec<u8>> = vector["bodies"].as_object().unwrap().iter().map(|(receipt, body)| (receipt.parse().unwrap(), body.as_str().unwrap().as_bytes().to_vec())).collect();
    let document = &vector["document"];
    let provenance: Provenance = serde_json::from_value(vector["provenance"].clone()).unwrap();
    assert_eq!(check(document, &provenance, &bodies, objective), Ok(()));

    let refused = vector["refused"].as_array().unwrap();
    assert!(refused.len() >= 10);
    for case in refused {
        let mut document = document.clone();
        let mut provenance = provenance.clone();
        for (pointer, value) in case.get("set").and_then(Value::as_object).into_iter().flatten() {
            set(&mut document, pointer, value.clone());
        }
        for (pointer, citation) in case.get("cite").and_then(Value::as_object).into_iter().flatten() {
            provenance.leaves.insert(pointer.clone(), serde_json::from_value(citation.clone()).unwrap());
        }
        let error = check(&document, &provenance, &bodies, objective).expect_err(case["why"].as_str().unwrap());
        assert_eq!(error_name(&error), (case["error"].as_str().unwrap(), case["leaf"].as_str()), "{}: {error}", case["why"]);
    }
}
