//! Payment verification and settlement against the real finney runtime metadata (spec 393,
//! `$ORCHESTRA_SUBTENSOR_METADATA` or `../shared/subtensor/`), with no network.
//!
//! The extrinsics are real: built and sr25519-signed by subxt's `OfflineClient` with
//! `subxt-signer` dev keys, encoded for this runtime. Settlement goes through subxt's
//! `OnlineClient` talking to a `MockRpcClient` that answers the JSON-RPC calls a node would.
//! These tests therefore prove encoding, decoding and signing against the real runtime; they
//! do not prove the runtime's own checks at inclusion (nonce, balance, fees), which only a
//! live node performs.

use orchestrator::chain::{
    metadata_path, read_metadata_file, verify_payment, AccountId32, ChainClient, ChainState, MemoryReplaySet,
    Payment, PaymentError, PaymentRequirement, VerifiedPayment, H256,
};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};
use subxt::config::substrate::SpecVersionForRange;
use subxt::config::{Hasher, SubstrateExtrinsicParamsBuilder};
use subxt::config::substrate::{BlakeTwo256, SubstrateHeader, Digest};
use subxt::ext::codec::{Compact, Decode, Encode};
use subxt::ext::scale_encode::EncodeAsFields;
use subxt::utils::MultiAddress;
use subxt::{ArcMetadata, OfflineClient, SubstrateConfig};
use subxt_rpcs::client::MockRpcClient;
use subxt_signer::sr25519::{dev, Keypair};

/// Finney's genesis block hash.
const GENESIS: &str = "2f0555cc76fc2840a25a6ea3b9637146806f1f44b090c175ffde2a7e5ab36c03";
const SPEC_VERSION: u32 = 393;
const TX_VERSION: u32 = 1;
/// The block the test extrinsics take as their era checkpoint, and the era's length.
const CHECKPOINT: u64 = 1000;
const PERIOD: u64 = 64;
/// The current block in most tests: inside the era that starts at `CHECKPOINT`.
const CURRENT: u64 = 1010;
const PRICE: u128 = 1_000_000;

fn genesis() -> H256 {
    H256::from_slice(&hex::decode(GENESIS).unwrap())
}

/// Stand-in hashes for blocks other than genesis: distinct and deterministic.
fn block_hash(number: u64) -> H256 {
    if number == 0 {
        genesis()
    } else {
        H256::from_low_u64_be(0xb10c_0000_0000 + number)
    }
}

fn metadata_bytes_and_metadata() -> &'static (Vec<u8>, ArcMetadata) {
    static METADATA: OnceLock<(Vec<u8>, ArcMetadata)> = OnceLock::new();
    METADATA.get_or_init(|| {
        let (bytes, metadata) = read_metadata_file(&metadata_path()).unwrap_or_else(|e| panic!("{e}"));
        (bytes, metadata.arc())
    })
}

fn metadata() -> &'static ArcMetadata {
    &metadata_bytes_and_metadata().1
}

fn account(keypair: &Keypair) -> AccountId32 {
    keypair.public_key().into()
}

fn payee() -> AccountId32 {
    account(&dev::bob())
}

/// Signs `pallet.call(args)` by `signer` with nonce 0, as a wallet would offline.
fn sign(pallet: &str, call: &str, args: impl EncodeAsFields, signer: &Keypair, mortal: bool) -> Vec<u8> {
    let config = SubstrateConfig::builder()
        .set_genesis_hash(genesis())
        .set_spec_version_for_block_ranges([SpecVersionForRange {
            block_range: 0..u64::MAX,
            spec_version: SPEC_VERSION,
            transaction_version: TX_VERSION,
        }])
        .set_metadata_for_spec_versions([(SPEC_VERSION, metadata().clone())])
        .build();
    let params = SubstrateExtrinsicParamsBuilder::<SubstrateConfig>::new().nonce(0);
    let params = if mortal { params.mortal_from_unchecked(PERIOD, CHECKPOINT, block_hash(CHECKPOINT)) } else { params.immortal() };
    let call = subxt::dynamic::tx(pallet, call, args);
    let at = OfflineClient::new_with_config(config).at_block(CHECKPOINT).unwrap();
    at.tx().create_v4_signable_offline(&call, params.build()).unwrap().sign(signer).unwrap().into_encoded()
}

fn transfer(dest: AccountId32, amount: u128) -> Vec<u8> {
    sign("Balances", "transfer_keep_alive", (MultiAddress::<AccountId32, ()>::Id(dest), amount), &dev::alice(), true)
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
    let config = SubstrateConfig::builder()
        .set_spec_version_for_block_ranges([SpecVersionForRange { block_range: 0..u64::MAX, spec_version: SPEC_VERSION, transaction_version: TX_VERSION }])
        .set_metadata_for_spec_versions([(SPEC_VERSION, metadata().clone())])
        .build();
    let unsigned = OfflineClient::new_with_config(config).at_block(CURRENT).unwrap().tx().create_v4_unsigned(&call).unwrap().into_encoded();
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
    assert_eq!(check(&transfer(charlie.clone(), PRICE)), Err(PaymentError::WrongDestination(charlie.to_string())));
}

#[test]
fn refuses_too_little() {
    assert_eq!(check(&transfer(payee(), PRICE - 1)), Err(PaymentError::InsufficientAmount { paid: PRICE - 1, required: PRICE }));
}

#[test]
fn refuses_an_immortal_era() {
    let immortal = sign("Balances", "transfer_keep_alive", (MultiAddress::<AccountId32, ()>::Id(payee()), PRICE), &dev::alice(), false);
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

fn hex_of(bytes: &[u8]) -> String {
    format!("0x{}", hex::encode(bytes))
}

fn header(number: u64) -> Value {
    let header = SubstrateHeader {
        parent_hash: block_hash(number.saturating_sub(1)),
        number,
        state_root: H256::zero(),
        extrinsics_root: H256::zero(),
        digest: Digest::default(),
    };
    serde_json::to_value(header).unwrap()
}

/// A node at finalized block `CURRENT` whose finalized block `CURRENT + 1` contains whatever
/// is submitted; `submitted` receives the submitted bytes.
fn mock_node(submitted: Arc<Mutex<Vec<Vec<u8>>>>) -> MockRpcClient {
    const SYSTEM_EVENTS_KEY: &str = "0x26aa394eea5630e07c48ae0c9558cef780d41e5e16056765bc8461851072c9d7";
    let included = CURRENT + 1;
    let block_submitted = submitted.clone();
    MockRpcClient::builder()
        .method_fallback(move |method: String, params| {
            let params: Vec<Value> = params.map(|p| serde_json::from_str(p.get()).unwrap()).unwrap_or_default();
            let block_body = block_submitted.lock().unwrap().iter().map(|tx: &Vec<u8>| hex_of(tx)).collect::<Vec<_>>();
            async move {
                match method.as_str() {
                    "rpc_methods" => json!({ "methods": [
                        "chain_getBlockHash", "chain_getFinalizedHead", "chain_getHeader", "chain_getBlock",
                        "state_call", "state_getStorage", "author_submitAndWatchExtrinsic"] }),
                    "chain_getBlockHash" => {
                        let number = params.first().and_then(Value::as_u64).unwrap_or(CURRENT);
                        json!(block_hash(number))
                    }
                    "chain_getFinalizedHead" => json!(block_hash(CURRENT)),
                    "chain_getHeader" => header(number_of(params.first()).unwrap_or(CURRENT)),
                    "chain_getBlock" => {
                        let number = number_of(params.first()).unwrap_or(CURRENT);
                        let extrinsics = if number == included { block_body } else { Vec::new() };
                        json!({ "block": { "header": header(number), "extrinsics": extrinsics }, "justifications": null })
                    }
                    "state_call" => {
                        let bytes = state_call(params[0].as_str().unwrap());
                        json!(hex_of(&bytes))
                    }
                    // No events at all: in particular no `System.ExtrinsicFailed`.
                    "state_getStorage" if params[0] == SYSTEM_EVENTS_KEY => json!(hex_of(&Vec::<()>::new().encode())),
                    "state_getStorage" => Value::Null,
                    other => panic!("the mock node does not answer {other}"),
                }
            }
        })
        .subscription_handler("author_submitAndWatchExtrinsic", move |params, _unsubscribe| {
            let params: Vec<String> = serde_json::from_str(params.unwrap().get()).unwrap();
            submitted.lock().unwrap().push(hex::decode(params[0].trim_start_matches("0x")).unwrap());
            let in_block = block_hash(included);
            async move { vec![json!("ready"), json!({ "inBlock": in_block }), json!({ "finalized": in_block })] }
        })
        .build()
}

/// The block number a mock answer is about, given the block hash a request names.
fn number_of(hash: Option<&Value>) -> Option<u64> {
    let hash: H256 = serde_json::from_value(hash?.clone()).ok()?;
    (0..2 * CHECKPOINT).find(|n| block_hash(*n) == hash)
}

/// Runtime API answers, SCALE-encoded.
fn state_call(method: &str) -> Vec<u8> {
    match method {
        "Core_version" => {
            let apis: Vec<([u8; 8], u32)> = Vec::new();
            ("node-subtensor".to_string(), "node-subtensor".to_string(), 1u32, SPEC_VERSION, 1u32, apis, TX_VERSION, 1u8).encode()
        }
        "Metadata_metadata_versions" => vec![14u32, 15, 16].encode(),
        "Metadata_metadata_at_version" => Some(metadata_bytes_and_metadata().0.clone()).encode(),
        "AccountNonceApi_account_nonce" => 0u32.encode(),
        other => panic!("the mock node has no runtime API {other}"),
    }
}

#[tokio::test]
async fn verifies_and_settles_through_a_node() {
    let submitted = Arc::new(Mutex::new(Vec::new()));
    let chain = ChainClient::from_rpc_client(mock_node(submitted.clone())).await.unwrap();
    assert_eq!(chain.genesis_hash(), genesis());
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
