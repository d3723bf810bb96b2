//! Payment verification and settlement against the real finney runtime metadata (spec 393,
//! `$ORCHESTRA_SUBTENSOR_METADATA` or `../shared/subtensor/`), with no network.
//!
//! The extrinsics are real and settlement goes through a mock node: see
//! `subnet::chain::testing` (feature `test-support`). These tests therefore prove encoding,
//! decoding and signing against the real runtime, and the reading of the payer's account; they
//! do not prove the runtime's own checks at inclusion (fees, weights), which only a live node
//! performs.

use subnet::chain::testing::{
    account, account_entry, block_hash, dev, genesis, immortal_transfer, metadata, mock_node_with_storage, offline_client, sign, transfer, CHECKPOINT,
    CURRENT, PERIOD, SPEC_VERSION, TX_VERSION,
};
use subnet::chain::{
    funding_problem, read_metadata_file, verify_payment, Account, AccountId32, ChainClient, ChainState, MemoryReplaySet, Payment, PaymentError,
    PaymentRequirement, VerifiedPayment, H256,
};
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use subxt::config::substrate::BlakeTwo256;
use subxt::config::Hasher;
use subxt::ext::codec::{Compact, Decode, Encode};
use subxt::utils::MultiAddress;

const PRICE: u128 = 1_000_000;

fn payee() -> AccountId32 {
    account(&dev::bob())
}

fn check_at(extrinsic: &[u8], from: &AccountId32, current_block: u64, replay: &mut MemoryReplaySet) -> Result<VerifiedPayment, PaymentError> {
    let chain = ChainState { genesis_hash: genesis(), spec_version: SPEC_VERSION, transaction_version: TX_VERSION, current_block };
    let hashes: HashMap<u64, H256> = (0..2 * CHECKPOINT).map(|n| (n, block_hash(n))).collect();
    let requirement = PaymentRequirement { pay_to: payee(), min_amount_rao: PRICE };
    verify_payment(Payment { extrinsic, from }, metadata(), &chain, &hashes, &requirement, replay)
}

fn check(extrinsic: &[u8]) -> Result<VerifiedPayment, PaymentError> {
    check_at(extrinsic, &account(&dev::alice()), CURRENT, &mut MemoryReplaySet::default())
}

#[test]
fn accepts_a_real_signed_transfer() {
    let extrinsic = transfer(payee(), PRICE);
    let verified = check(&extrinsic).unwrap();
    assert_eq!(
        verified,
        VerifiedPayment {
            payer: account(&dev::alice()),
            amount: PRICE,
            extrinsic_hash: BlakeTwo256.hash(&extrinsic),
            era_expires_at: CHECKPOINT + PERIOD,
            nonce: 0,
        }
    );
}

#[test]
fn refuses_bytes_that_are_not_an_extrinsic() {
    assert!(matches!(check(&[0x0c, 1, 2, 3]), Err(PaymentError::Undecodable(_))));
    let extrinsic = transfer(payee(), PRICE);
    assert!(matches!(check(&extrinsic[..extrinsic.len() - 1]), Err(PaymentError::Undecodable(_))));
}

#[test]
fn refuses_an_unsigned_extrinsic() {
    let call = subxt::dynamic::tx("Balances", "transfer_keep_alive", (MultiAddress::<AccountId32, ()>::Id(payee()), PRICE));
    let unsigned = offline_client().at_block(CURRENT).unwrap().tx().create_v4_unsigned(&call).unwrap().into_encoded();
    assert_eq!(check(&unsigned), Err(PaymentError::NotSigned("bare")));
}

#[test]
fn refuses_other_calls() {
    let allow_death = sign("Balances", "transfer_allow_death", (MultiAddress::<AccountId32, ()>::Id(payee()), PRICE), &dev::alice(), true);
    assert_eq!(check(&allow_death), Err(PaymentError::WrongCall { pallet: "Balances".into(), call: "transfer_allow_death".into() }));
    let weights = sign("SubtensorModule", "set_weights", (1u16, vec![0u16, 1], vec![65535u16, 100], 0u64), &dev::alice(), true);
    assert_eq!(check(&weights), Err(PaymentError::WrongCall { pallet: "SubtensorModule".into(), call: "set_weights".into() }));
}

#[test]
fn refuses_a_transfer_to_someone_else() {
    let charlie = account(&dev::charlie());
    assert_eq!(check(&transfer(charlie, PRICE)), Err(PaymentError::WrongDestination(charlie.to_string())));
}

#[test]
fn refuses_too_little() {
    assert_eq!(check(&transfer(payee(), PRICE - 1)), Err(PaymentError::InsufficientAmount { paid: PRICE - 1, required: PRICE }));
}

#[test]
fn refuses_an_immortal_era() {
    let immortal = immortal_transfer(payee(), PRICE);
    assert_eq!(check(&immortal), Err(PaymentError::ImmortalEra));
}

#[test]
fn refuses_an_expired_era() {
    let current_block = CHECKPOINT + PERIOD + 6;
    let result = check_at(&transfer(payee(), PRICE), &account(&dev::alice()), current_block, &mut MemoryReplaySet::default());
    assert_eq!(result, Err(PaymentError::ExpiredEra { expired_at: CHECKPOINT + PERIOD, current_block }));
    // Two windows on, the checkpoint is no longer looked up, and the signature cannot verify.
    let result = check_at(&transfer(payee(), PRICE), &account(&dev::alice()), current_block + PERIOD, &mut MemoryReplaySet::default());
    assert_eq!(result, Err(PaymentError::BadSignature("it does not verify")));
}

/// Where the sr25519 signature starts: after the length prefix, the version byte, the
/// `MultiAddress::Id` signer (1 + 32 bytes) and the `MultiSignature::Sr25519` variant byte.
fn signature_offset(extrinsic: &[u8]) -> usize {
    let prefix = Compact::<u32>::decode(&mut &extrinsic[..]).unwrap().encoded_size();
    prefix + 1 + 33 + 1
}

#[test]
fn refuses_a_bad_signature() {
    let mut extrinsic = transfer(payee(), PRICE);
    let offset = signature_offset(&extrinsic);
    extrinsic[offset + 10] ^= 1;
    assert_eq!(check(&extrinsic), Err(PaymentError::BadSignature("it does not verify")));
}

#[test]
fn refuses_an_amount_changed_after_signing() {
    // The value is the last argument: a compact u128, here 4 bytes (PRICE < 2^30).
    let mut extrinsic = transfer(payee(), PRICE);
    let last = extrinsic.len() - 4;
    let mut raised = extrinsic[..last].to_vec();
    Compact(PRICE * 4).encode_to(&mut raised);
    assert_eq!(raised.len(), extrinsic.len(), "same compact width, same length prefix");
    extrinsic = raised;
    assert_eq!(check(&extrinsic), Err(PaymentError::BadSignature("it does not verify")));
}

#[test]
fn refuses_a_replay() {
    let extrinsic = transfer(payee(), PRICE);
    let alice = account(&dev::alice());
    let mut replay = MemoryReplaySet::default();
    let first = check_at(&extrinsic, &alice, CURRENT, &mut replay).unwrap();
    assert_eq!(check_at(&extrinsic, &alice, CURRENT, &mut replay), Err(PaymentError::Replayed(first.extrinsic_hash)));
}

#[test]
fn refuses_a_signer_other_than_the_claimed_payer() {
    let extrinsic = transfer(payee(), PRICE);
    let claimed = account(&dev::charlie());
    let result = check_at(&extrinsic, &claimed, CURRENT, &mut MemoryReplaySet::default());
    assert_eq!(result, Err(PaymentError::SignerMismatch { signer: account(&dev::alice()), claimed }));
}

#[test]
fn a_missing_metadata_file_says_how_to_get_it() {
    let error = read_metadata_file(Path::new("/nonexistent/finney-spec393.scale")).unwrap_err().to_string();
    assert!(error.contains("/nonexistent/finney-spec393.scale") && error.contains("subxt metadata --url"), "{error}");
}

#[tokio::test]
async fn verifies_and_settles_through_a_node() {
    let submitted = Arc::new(Mutex::new(Vec::new()));
    let alice = account(&dev::alice());
    let storage = [account_entry(&alice, 0, 5 * PRICE as u64)].into_iter().collect();
    let chain = ChainClient::from_rpc_client(mock_node_with_storage(submitted.clone(), true, storage)).await.unwrap();
    assert_eq!(chain.genesis_hash(), genesis());
    assert_eq!(chain.account(&alice).await.unwrap(), Account { nonce: 0, free: 5 * PRICE }, "System.Account reads in the runtime's layout");
    assert_eq!(chain.current_block().await.unwrap().number, CURRENT);
    let versions = chain.runtime_versions().await.unwrap();
    assert_eq!((versions.spec_version, versions.transaction_version), (SPEC_VERSION, TX_VERSION));

    let extrinsic = transfer(payee(), PRICE);
    let requirement = PaymentRequirement { pay_to: payee(), min_amount_rao: PRICE };
    let mut replay = MemoryReplaySet::default();
    let payment = Payment { extrinsic: &extrinsic, from: &account(&dev::alice()) };
    let verified = chain.verify_payment(payment, &requirement, &mut replay).await.unwrap();

    let settled = chain.settle(&extrinsic).await.unwrap();
    assert_eq!(settled, verified.extrinsic_hash);
    assert_eq!(*submitted.lock().unwrap(), vec![extrinsic]);
}

/// The payer's account must be able to include the transfer: its next nonce (a few ahead at
/// most) and a free balance covering the amount.
#[test]
fn funding_is_checked_against_the_account() {
    let verified = check(&transfer(payee(), PRICE)).unwrap();
    let account = |nonce, free| Account { nonce, free };
    assert_eq!(funding_problem(&verified, &account(0, PRICE)), None);
    assert_eq!(funding_problem(&verified, &account(1, PRICE)), Some(PaymentError::StaleNonce { nonce: 0, account_nonce: 1 }));
    assert_eq!(funding_problem(&verified, &account(0, PRICE - 1)), Some(PaymentError::Unfunded { free: PRICE - 1, amount: PRICE }));
    let ahead = VerifiedPayment { nonce: 9, ..verified.clone() };
    assert!(matches!(funding_problem(&ahead, &account(0, PRICE)), Some(PaymentError::FutureNonce { nonce: 9, account_nonce: 0 })));
    assert_eq!(funding_problem(&VerifiedPayment { nonce: 8, ..verified }, &account(0, PRICE)), None);
}
