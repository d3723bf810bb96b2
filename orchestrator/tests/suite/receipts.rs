//! Receipt chains: a sealed chain verifies, and every tampering a miner could try is refused with
//! the failure that names it.

use ledger::hash::Hash;
use ledger::hotkey::{Hotkey, HotkeyError};
use orchestrator::receipts::{
    body_hash, cost_evidence_hash, root, signed_message, verify, Call, Nonce, Receipt, ReceiptBundle, ReceiptChain, ReceiptError,
};
use proptest::prelude::*;

const NONCE: Nonce = Nonce([0x42; 32]);
const OTHER_NONCE: Nonce = Nonce([0x43; 32]);

fn miner() -> Hotkey {
    Hotkey::from_seed(&[7; 32]).unwrap()
}

fn other_key() -> Hotkey {
    Hotkey::from_seed(&[8; 32]).unwrap()
}

/// Call `i` of a test chain: every field differs from call to call.
fn call(i: u64) -> Call {
    Call {
        subnet: 4 + i as u16,
        endpoint: format!("endpoint-{i}"),
        request_hash: body_hash(format!("request {i}").as_bytes()),
        response_hash: body_hash(format!("response {i}").as_bytes()),
        status: 200 + i as u16,
        started_ms: 1_700_000_000_000 + 1_000 * i,
        duration_ms: 120 + i,
        cost_rao: 1_000_000 * (i + 1),
        cost_usd_micros: 2_500 * (i + 1),
        cost_evidence_hash: cost_evidence_hash(&[("x-cost-usd".to_owned(), format!("0.00{}", i + 1))]),
    }
}

fn bundle_under(nonce: Nonce, count: u64) -> ReceiptBundle {
    let mut chain = ReceiptChain::new(nonce);
    for i in 0..count {
        chain.push(call(i));
    }
    chain.seal(&miner())
}

fn bundle(count: u64) -> ReceiptBundle {
    bundle_under(NONCE, count)
}

/// Recommits and re-signs a tampered bundle with the miner's own key, as a cheating miner would,
/// so that only the receipt checks can catch the tampering.
fn resealed(mut bundle: ReceiptBundle) -> ReceiptBundle {
    bundle.root = root(&bundle.nonce, &bundle.receipts);
    bundle.signature = miner().sign(&signed_message(&bundle.root));
    bundle
}

fn flip(hash: &mut Hash) {
    hash.0[0] ^= 1;
}

#[test]
fn chains_of_zero_to_five_receipts_verify() {
    for count in 0..=5 {
        let bundle = bundle(count);
        assert_eq!(bundle.receipts.len() as u64, count);
        assert_eq!(verify(&bundle, &NONCE), Ok(()), "a chain of {count}");
    }
}

#[test]
fn push_links_each_receipt_to_the_one_before() {
    let mut chain = ReceiptChain::new(NONCE);
    let first = chain.push(call(0)).clone();
    let second = chain.push(call(1)).clone();
    assert_eq!((first.index, second.index), (0, 1));
    assert_eq!(second.previous, first.hash());
    assert_eq!(first.call.endpoint, "endpoint-0");
}

#[test]
fn roots_differ_by_count_and_nonce() {
    let roots: Vec<Hash> = (0..4).map(|count| bundle(count).root).collect();
    for (i, a) in roots.iter().enumerate() {
        assert!(roots[i + 1..].iter().all(|b| a != b), "root of {i} receipts repeats");
    }
    assert_ne!(bundle_under(NONCE, 0).root, bundle_under(OTHER_NONCE, 0).root);
}

#[test]
fn bundle_round_trips_through_json() {
    let bundle = bundle(3);
    let json = serde_json::to_value(&bundle).unwrap();
    assert_eq!(json["nonce"], "42".repeat(32));
    assert_eq!(json["root"], bundle.root.to_hex());
    assert!(json["signature"].as_str().unwrap().starts_with("0x"));
    assert_eq!(json["receipts"][1]["previous"], bundle.receipts[0].hash().to_hex());
    let back: ReceiptBundle = serde_json::from_value(json).unwrap();
    assert_eq!(back, bundle);
    assert_eq!(verify(&back, &NONCE), Ok(()));
}

#[test]
fn reordering_is_refused() {
    let mut swapped = bundle(3);
    swapped.receipts.swap(0, 1);
    assert_eq!(verify(&resealed(swapped.clone()), &NONCE), Err(ReceiptError::IndexMismatch { position: 0, index: 1 }));

    // Renumbered to hide the swap, the links still give it away.
    swapped.receipts[0].index = 0;
    swapped.receipts[1].index = 1;
    assert_eq!(verify(&resealed(swapped), &NONCE), Err(ReceiptError::BrokenLink { index: 0 }));
}

#[test]
fn removal_is_refused() {
    let mut middle = bundle(3);
    middle.receipts.remove(1);
    assert_eq!(verify(&resealed(middle), &NONCE), Err(ReceiptError::IndexMismatch { position: 1, index: 2 }));

    // Dropping the tail keeps every link intact: the signed root is what catches it.
    let mut tail = bundle(3);
    tail.receipts.pop();
    assert!(matches!(verify(&tail, &NONCE), Err(ReceiptError::RootMismatch { .. })));
}

#[test]
fn insertion_of_a_copy_is_refused() {
    // Appending a copy of the last receipt is merkle_light's odd-level duplication:
    // its tree over [a, b, c, c] has the root of [a, b, c].
    let mut appended = bundle(3);
    appended.receipts.push(appended.receipts[2].clone());
    assert_eq!(verify(&appended, &NONCE), Err(ReceiptError::IndexMismatch { position: 3, index: 2 }));
    appended.receipts[3].index = 3;
    assert_eq!(verify(&resealed(appended), &NONCE), Err(ReceiptError::BrokenLink { index: 3 }));

    let mut inserted = bundle(3);
    inserted.receipts.insert(1, inserted.receipts[1].clone());
    assert_eq!(verify(&resealed(inserted), &NONCE), Err(ReceiptError::IndexMismatch { position: 2, index: 1 }));
}

#[test]
fn another_nonce_is_refused() {
    let bundle = bundle(2);
    let expected = OTHER_NONCE.to_hex();
    let found = NONCE.to_hex();
    assert_eq!(verify(&bundle, &OTHER_NONCE), Err(ReceiptError::WrongNonce { expected, found }));

    // Receipts made for one challenge cannot be re-served for another, even recommitted.
    let mut reused = bundle;
    reused.nonce = OTHER_NONCE;
    assert_eq!(verify(&resealed(reused), &OTHER_NONCE), Err(ReceiptError::BrokenLink { index: 0 }));
}

#[test]
fn empty_chain_is_bound_to_its_nonce() {
    let mut reused = bundle(0);
    reused.nonce = OTHER_NONCE;
    assert!(matches!(verify(&reused, &OTHER_NONCE), Err(ReceiptError::RootMismatch { .. })));
}

#[test]
fn another_signer_is_refused() {
    let mut bundle = bundle(2);
    bundle.signature = other_key().sign(&signed_message(&bundle.root));
    assert_eq!(verify(&bundle, &NONCE), Err(ReceiptError::Signature(HotkeyError::BadSignature(miner().ss58()))));

    // Claiming another miner without its key fails the same way.
    let mut claimed = self::bundle(2);
    claimed.miner = other_key().ss58();
    assert_eq!(verify(&claimed, &NONCE), Err(ReceiptError::Signature(HotkeyError::BadSignature(other_key().ss58()))));
}

#[test]
fn signature_over_the_bare_root_is_refused() {
    let mut bundle = bundle(1);
    bundle.signature = miner().sign(bundle.root.as_bytes());
    assert!(matches!(verify(&bundle, &NONCE), Err(ReceiptError::Signature(HotkeyError::BadSignature(_)))));
}

#[test]
fn forged_root_is_refused() {
    for count in 0..=3 {
        let mut bundle = bundle(count);
        let computed = bundle.root;
        flip(&mut bundle.root);
        // Signed properly, so only the recomputation can catch it.
        bundle.signature = miner().sign(&signed_message(&bundle.root));
        assert_eq!(verify(&bundle, &NONCE), Err(ReceiptError::RootMismatch { claimed: bundle.root, computed }));
    }
}

/// Changes field `field` (0..10, in declaration order) of a receipt.
fn edit(receipt: &mut Receipt, field: usize) {
    match field {
        0 => receipt.index += 1,
        1 => receipt.call.subnet ^= 1,
        2 => receipt.call.endpoint.push('x'),
        3 => flip(&mut receipt.call.request_hash),
        4 => flip(&mut receipt.call.response_hash),
        5 => receipt.call.status ^= 1,
        6 => receipt.call.started_ms ^= 1,
        7 => receipt.call.duration_ms ^= 1,
        8 => receipt.call.cost_rao ^= 1,
        9 => flip(&mut receipt.previous),
        10 => receipt.call.cost_usd_micros ^= 1,
        11 => flip(&mut receipt.call.cost_evidence_hash),
        _ => unreachable!("a receipt has 12 fields"),
    }
}

proptest! {
    /// An edit of any field of any receipt is refused, both as sent (the signed root no longer
    /// matches) and recommitted by the miner (a link breaks, unless the edit is to the last
    /// receipt's content, which only the signed root covers).
    #[test]
    fn editing_any_field_is_refused(count in 1u64..=5, target in any::<prop::sample::Index>(), field in 0usize..12) {
        let original = bundle(count);
        let target = target.index(count as usize);
        let mut edited = original.clone();
        edit(&mut edited.receipts[target], field);

        prop_assert!(verify(&edited, &NONCE).is_err());

        let expected = match field {
            0 => ReceiptError::IndexMismatch { position: target, index: target as u64 + 1 },
            9 => ReceiptError::BrokenLink { index: target as u64 },
            _ if target + 1 < count as usize => ReceiptError::BrokenLink { index: target as u64 + 1 },
            _ => return Ok(()),
        };
        prop_assert_eq!(verify(&resealed(edited), &NONCE), Err(expected));
    }
}
