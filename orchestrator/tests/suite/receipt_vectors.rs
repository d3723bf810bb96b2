//! The receipt vectors of `docs/SPEC.md` (§15), recomputed with the crate, so that the spec,
//! the Rust verifier and the Python client's verifier (which reads the same blocks) agree.
//!
//! `vector:receipts_chain` gives a nonce, a miner's seed, three calls and each call's cost
//! headers; every hash in it is
//! recomputed from the layouts of the module [`orchestrator::receipts`] and compared, and its
//! preimages are rebuilt here byte by byte. Its signature is randomised, so it is verified
//! rather than recomputed. `vector:receipts_refusals` lists tamperings of that bundle and the
//! check that must refuse each.
//!
//! After a deliberate change, run these tests: a block that differs is printed as recomputed.

use std::collections::BTreeMap;

use ledger::hash::Hash;
use ledger::hotkey::Hotkey;
use ledger::Tree;
use orchestrator::receipts::{challenge, cost_evidence_hash, root, signed_message, verify, Call, Nonce, ReceiptBundle, ReceiptChain, ReceiptError, FORMAT};
use serde_json::{json, Value};

const BLOCK_TAG: &str = "```json vector:";
const PREFIX: &str = "receipts_";

/// The spec's vector blocks whose names start with `receipts_`.
fn receipt_vectors() -> BTreeMap<String, Value> {
    crate::common::spec_vectors(PREFIX)
}

fn block(name: &str) -> Value {
    receipt_vectors().remove(name).unwrap_or_else(|| panic!("docs/SPEC.md has no vector:{name} block"))
}

fn assert_block(name: &str, written: &Value, computed: &Value) {
    assert!(
        computed == written,
        "vector:{name} in docs/SPEC.md differs from what the code computes; recomputed:\n{BLOCK_TAG}{name}\n{}\n```",
        serde_json::to_string_pretty(computed).expect("JSON")
    );
}

fn tagged(tag: &str, parts: &[&[u8]]) -> Vec<u8> {
    assert_eq!(tag.len(), 14, "every receipt tag is 14 bytes");
    [tag.as_bytes(), &parts.concat()].concat()
}

fn hash_of(preimage: &[u8]) -> Hash {
    Hash(*blake3::hash(preimage).as_bytes())
}

#[test]
fn the_spec_has_exactly_these_receipt_blocks() {
    let names: Vec<String> = receipt_vectors().into_keys().collect();
    assert_eq!(names, ["receipts_chain", "receipts_refusals"], "every receipt vector block needs a test here, and every test a block");
}

#[test]
fn the_chain_vector_recomputes() {
    let written = block("receipts_chain");
    let seed = hex::decode(written["seed"].as_str().unwrap()).unwrap();
    let miner = Hotkey::from_seed(&seed).unwrap();
    let nonce: Nonce = serde_json::from_value(written["nonce"].clone()).unwrap();
    let mut calls: Vec<Call> = serde_json::from_value(written["calls"].clone()).unwrap();

    // Each call's cost evidence: its cost headers, their preimage built byte by byte, the hash.
    let mut cost_evidence = Vec::new();
    for (call, written) in calls.iter_mut().zip(written["cost_evidence"].as_array().expect("cost_evidence per call")) {
        let headers: Vec<(String, String)> = serde_json::from_value(written["headers"].clone()).unwrap();
        let mut sorted = headers.clone();
        sorted.sort();
        let mut parts: Vec<u8> = (sorted.len() as u32).to_be_bytes().to_vec();
        for (name, value) in &sorted {
            for text in [name, value] {
                parts.extend_from_slice(&(text.len() as u32).to_be_bytes());
                parts.extend_from_slice(text.as_bytes());
            }
        }
        let preimage = tagged("ORCH-RCPT-COST", &[&parts]);
        assert_eq!(hash_of(&preimage), cost_evidence_hash(&headers));
        call.cost_evidence_hash = hash_of(&preimage);
        cost_evidence.push(json!({ "headers": headers, "preimage": hex::encode(&preimage), "hash": hash_of(&preimage) }));
    }

    let challenge_preimage = tagged("ORCH-RCPT-CHAL", &[&nonce.0]);
    assert_eq!(hash_of(&challenge_preimage), challenge(&nonce));
    let mut chain = ReceiptChain::new(nonce);
    let mut receipts = Vec::new();
    for call in &calls {
        let receipt = chain.push(call.clone()).clone();
        let preimage = tagged(
            "ORCH-RCPT-CAL2",
            &[
                &receipt.index.to_be_bytes(),
                &call.subnet.to_be_bytes(),
                &(call.endpoint.len() as u32).to_be_bytes(),
                call.endpoint.as_bytes(),
                call.request_hash.as_bytes(),
                call.response_hash.as_bytes(),
                &call.status.to_be_bytes(),
                &call.started_ms.to_be_bytes(),
                &call.duration_ms.to_be_bytes(),
                &call.cost_rao.to_be_bytes(),
                &call.cost_usd_micros.to_be_bytes(),
                call.cost_evidence_hash.as_bytes(),
                receipt.previous.as_bytes(),
            ],
        );
        assert_eq!(hash_of(&preimage), receipt.hash());
        receipts.push(json!({ "index": receipt.index, "previous": receipt.previous, "preimage": hex::encode(&preimage), "hash": receipt.hash() }));
    }
    let bundle = chain.seal(&miner);
    let tree_root = Tree::build(bundle.receipts.iter().map(|receipt| receipt.hash())).root();
    let root_preimage = tagged("ORCH-RCPT-ROOT", &[&nonce.0, &(calls.len() as u64).to_be_bytes(), tree_root.as_bytes()]);
    assert_eq!(hash_of(&root_preimage), root(&nonce, &bundle.receipts));
    let message = signed_message(&bundle.root);
    assert_eq!(message, tagged("ORCH-RCPT-SIGN", &[bundle.root.as_bytes()]));

    // The written signature must verify; a fresh one is printed when it does not.
    let mut signed = bundle.clone();
    if let Ok(written_bundle) = serde_json::from_value::<ReceiptBundle>(written["bundle"].clone()) {
        signed.signature = written_bundle.signature;
        if verify(&signed, &nonce).is_err() {
            signed.signature = bundle.signature;
        }
    }
    assert_eq!(verify(&signed, &nonce), Ok(()));
    let computed = json!({
        "seed": written["seed"],
        "nonce": nonce,
        "calls": calls,
        "cost_evidence": cost_evidence,
        "challenge_preimage": hex::encode(&challenge_preimage),
        "challenge": challenge(&nonce),
        "receipts": receipts,
        "tree_root": tree_root,
        "root_preimage": hex::encode(&root_preimage),
        "root": bundle.root,
        "signed_message": hex::encode(&message),
        "miner": miner.ss58(),
        "bundle": signed,
    });
    assert_block("receipts_chain", &written, &computed);
    assert_eq!(FORMAT, written["bundle"]["format"]);
}

/// The name the spec gives the check that refuses a bundle.
fn refusal_name(error: &ReceiptError) -> &'static str {
    match error {
        ReceiptError::UnknownFormat(_) => "unknown_format",
        ReceiptError::WrongNonce { .. } => "wrong_nonce",
        ReceiptError::IndexMismatch { .. } => "index_mismatch",
        ReceiptError::BrokenLink { .. } => "broken_link",
        ReceiptError::RootMismatch { .. } => "root_mismatch",
        ReceiptError::Signature(_) => "bad_signature",
    }
}

#[test]
fn every_refusal_vector_is_refused_by_the_check_it_names() {
    let chain = block("receipts_chain");
    let nonce: Nonce = serde_json::from_value(chain["nonce"].clone()).unwrap();
    let cases = block("receipts_refusals");
    let cases = cases.as_array().unwrap();
    let mut names: Vec<&str> = Vec::new();
    for case in cases {
        let mut bundle = chain["bundle"].clone();
        for (pointer, value) in case["set"].as_object().unwrap() {
            *bundle.pointer_mut(pointer).unwrap_or_else(|| panic!("{pointer} is not in the bundle")) = value.clone();
        }
        let expected_nonce: Nonce = match case.get("verify_with_nonce") {
            Some(other) => serde_json::from_value(other.clone()).unwrap(),
            None => nonce,
        };
        let bundle: ReceiptBundle = serde_json::from_value(bundle).unwrap();
        let error = verify(&bundle, &expected_nonce).expect_err(case["name"].as_str().unwrap());
        assert_eq!(refusal_name(&error), case["refused_by"], "{case}: {error}");
        names.push(case["refused_by"].as_str().unwrap());
    }
    names.sort();
    names.dedup();
    assert_eq!(names, ["bad_signature", "broken_link", "index_mismatch", "root_mismatch", "unknown_format", "wrong_nonce"], "every check has a vector");
}
