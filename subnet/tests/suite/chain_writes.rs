//! The validator's chain writes (weights, commit-reveal, ledger root commitments) against
//! finney's real runtime metadata (spec 393, `$ORCHESTRA_SUBTENSOR_METADATA` or
//! `../shared/subtensor/`), with no network; and the pure rules beside them (the commit hash,
//! when weights may be set).
//!
//! The chain client signs and submits to the mock node (`subnet::chain::testing`, feature
//! `test-support`), which captures the extrinsic; each test decodes it back with the runtime
//! metadata and checks the call, its arguments and its signer. These tests therefore prove
//! encoding, decoding and signing against the real runtime; not the runtime's own checks (rate
//! limits, version keys, commit-reveal windows, fees), which only a live node performs.

use blake2::digest::consts::U32;
use blake2::{Blake2b, Digest};
use subnet::chain::testing::{account, decode_signed_call, dev, mock_node, SignedCall, Submitted};
use subnet::chain::{
    extrinsic_hash, keypair_from_seed, ledger_root_commitment, weights_action, weights_commit_hash, ChainClient, ChainError,
    Hyperparameters, Keypair, WeightsAction, H256, MAX_COMMITMENT_BYTES,
};
use std::sync::{Arc, Mutex};
use subxt::dynamic::{At, Value};
use subxt::ext::codec::{Compact, Encode};
use subxt::ext::scale_value::ValueDef;

const NETUID: u16 = 7;
const VERSION_KEY: u64 = 42;
const UIDS: [u16; 3] = [0, 1, 2];
const WEIGHTS: [u16; 3] = [u16::MAX, 100, 0];
const SALT: [u16; 8] = [11, 22, 33, 44, 55, 66, 77, 88];

/// blake2b-256 of Alice, netuid 7, `UIDS`, `WEIGHTS`, `SALT` and version key 42 encoded, as
/// Python's `hashlib.blake2b(digest_size=32)` computes it.
const ALICE_COMMIT_HASH: &str = "b809539c57ab5cac35bfb7bedf57c99cf02d8ac9511d0d4953eaa877d7758185";

async fn chain_capturing(finalizes: bool) -> (ChainClient, Submitted) {
    let submitted: Submitted = Arc::new(Mutex::new(Vec::new()));
    let chain = ChainClient::from_rpc_client(mock_node(submitted.clone(), finalizes)).await.unwrap();
    (chain, submitted)
}

/// The one extrinsic submitted, decoded; checks that `returned` is its hash.
fn only_submitted(submitted: &Submitted, returned: H256) -> SignedCall {
    let submitted = submitted.lock().unwrap();
    assert_eq!(submitted.len(), 1);
    assert_eq!(returned, extrinsic_hash(&submitted[0]));
    decode_signed_call(&submitted[0])
}

fn assert_call(call: &SignedCall, pallet: &str, name: &str, signer: &Keypair) {
    assert_eq!((call.pallet.as_str(), call.call.as_str()), (pallet, name));
    assert_eq!(call.signer, account(signer));
}

#[tokio::test]
async fn set_weights_submits_the_weights_signed_by_the_hotkey() {
    let (chain, submitted) = chain_capturing(true).await;
    let hash = chain.set_weights(&dev::alice(), NETUID, &UIDS, &WEIGHTS, VERSION_KEY).await.unwrap();
    let call = only_submitted(&submitted, hash);
    assert_call(&call, "SubtensorModule", "set_weights", &dev::alice());
    assert_eq!(call.arg::<u16>("netuid"), NETUID);
    assert_eq!(call.arg::<Vec<u16>>("dests"), UIDS);
    assert_eq!(call.arg::<Vec<u16>>("weights"), WEIGHTS);
    assert_eq!(call.arg::<u64>("version_key"), VERSION_KEY);
}

#[tokio::test]
async fn commit_then_reveal_carry_matching_weights() {
    let (chain, submitted) = chain_capturing(true).await;
    let alice = dev::alice();
    let commit_hash = weights_commit_hash(&account(&alice), NETUID, &UIDS, &WEIGHTS, &SALT, VERSION_KEY);
    let hash = chain.commit_weights(&alice, NETUID, commit_hash).await.unwrap();
    let commit = only_submitted(&submitted, hash);
    assert_call(&commit, "SubtensorModule", "commit_weights", &alice);
    assert_eq!(commit.arg::<u16>("netuid"), NETUID);
    assert_eq!(commit.arg::<H256>("commit_hash"), commit_hash);

    submitted.lock().unwrap().clear();
    let hash = chain.reveal_weights(&alice, NETUID, &UIDS, &WEIGHTS, &SALT, VERSION_KEY).await.unwrap();
    let reveal = only_submitted(&submitted, hash);
    assert_call(&reveal, "SubtensorModule", "reveal_weights", &alice);
    let (uids, values, salt) = (reveal.arg::<Vec<u16>>("uids"), reveal.arg::<Vec<u16>>("values"), reveal.arg::<Vec<u16>>("salt"));
    assert_eq!((uids.as_slice(), values.as_slice(), salt.as_slice()), (&UIDS[..], &WEIGHTS[..], &SALT[..]));
    // What the runtime recomputes from the reveal and its signer matches the commit.
    let recomputed = weights_commit_hash(&reveal.signer, reveal.arg("netuid"), &uids, &values, &salt, reveal.arg("version_key"));
    assert_eq!(recomputed, commit_hash);
}

#[test]
fn the_commit_hash_is_blake2b_256_of_the_scale_encoded_tuple() {
    let who = account(&dev::alice());
    // The tuple encoded field by field: the account's 32 bytes, the netuid as two little-endian
    // bytes, each vector as a compact length and little-endian u16s, the version key as eight.
    let vector = |items: &[u16]| {
        let mut bytes = Compact(items.len() as u32).encode();
        items.iter().for_each(|item| bytes.extend_from_slice(&item.to_le_bytes()));
        bytes
    };
    let mut preimage = who.0.to_vec();
    preimage.extend_from_slice(&NETUID.to_le_bytes());
    preimage.extend(vector(&UIDS));
    preimage.extend(vector(&WEIGHTS));
    preimage.extend(vector(&SALT));
    preimage.extend_from_slice(&VERSION_KEY.to_le_bytes());
    let independent = H256::from_slice(&Blake2b::<U32>::digest(&preimage));

    let hash = weights_commit_hash(&who, NETUID, &UIDS, &WEIGHTS, &SALT, VERSION_KEY);
    assert_eq!(hash, independent);
    assert_eq!(hex::encode(hash), ALICE_COMMIT_HASH);
    // Any change to what is committed changes the hash.
    assert_ne!(weights_commit_hash(&who, NETUID + 1, &UIDS, &WEIGHTS, &SALT, VERSION_KEY), hash);
    assert_ne!(weights_commit_hash(&who, NETUID, &UIDS, &WEIGHTS, &SALT[1..], VERSION_KEY), hash);
    assert_ne!(weights_commit_hash(&account(&dev::bob()), NETUID, &UIDS, &WEIGHTS, &SALT, VERSION_KEY), hash);
}

/// The `RawN` variant and bytes of the only field of a `CommitmentInfo`.
fn raw_field(info: &Value) -> (String, Vec<u8>) {
    // `fields` is a `BoundedVec`: a composite around the vector of `Data`.
    let fields = info.at("fields").and_then(|bounded| bounded.at(0)).expect("a `fields` vector");
    let ValueDef::Variant(field) = &fields.at(0).expect("one field").value else { panic!("not a Data variant: {fields:?}") };
    assert!(fields.at(1).is_none(), "more than one field");
    let array = field.values.values().next().expect("a Raw variant's array");
    let bytes = (0..).map_while(|i| array.at(i)).map(|byte| byte.as_u128().unwrap() as u8).collect();
    (field.name.clone(), bytes)
}

#[tokio::test]
async fn set_commitment_publishes_the_ledger_root_as_one_raw_field() {
    let (chain, submitted) = chain_capturing(true).await;
    let root = ledger::Hash([0xab; 32]);
    let text = ledger_root_commitment(17, &root);
    assert_eq!(text, format!("orchestra-ledger:v17:{}", "ab".repeat(32)));

    let hash = chain.set_commitment(&dev::bob(), NETUID, &text).await.unwrap();
    let call = only_submitted(&submitted, hash);
    assert_call(&call, "Commitments", "set_commitment", &dev::bob());
    assert_eq!(call.arg::<u16>("netuid"), NETUID);
    assert_eq!(raw_field(&call.arg::<Value>("info")), (format!("Raw{}", text.len()), text.into_bytes()));
}

#[tokio::test]
async fn set_commitment_refuses_what_does_not_fit_one_field() {
    let (chain, submitted) = chain_capturing(true).await;
    let longest = "x".repeat(MAX_COMMITMENT_BYTES);
    chain.set_commitment(&dev::bob(), NETUID, &longest).await.unwrap();
    let too_long = "x".repeat(MAX_COMMITMENT_BYTES + 1);
    let error = chain.set_commitment(&dev::bob(), NETUID, &too_long).await.unwrap_err();
    assert!(matches!(error, ChainError::CommitmentTooLong { len: 129, max: 128 }), "{error}");
    assert_eq!(submitted.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn weights_that_do_not_pair_up_are_refused_before_submission() {
    let (chain, submitted) = chain_capturing(true).await;
    let error = chain.set_weights(&dev::alice(), NETUID, &UIDS, &WEIGHTS[..2], VERSION_KEY).await.unwrap_err();
    assert!(matches!(error, ChainError::LengthMismatch { uids: 3, values: 2 }), "{error}");
    let error = chain.reveal_weights(&dev::alice(), NETUID, &UIDS[..1], &WEIGHTS, &SALT, VERSION_KEY).await.unwrap_err();
    assert!(matches!(error, ChainError::LengthMismatch { uids: 1, values: 3 }), "{error}");
    assert!(submitted.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_call_the_node_drops_fails_naming_the_call() {
    let (chain, _) = chain_capturing(false).await;
    let error = chain.set_weights(&dev::alice(), NETUID, &UIDS, &WEIGHTS, VERSION_KEY).await.unwrap_err();
    assert!(matches!(&error, ChainError::Transaction { call, .. } if call == "SubtensorModule.set_weights"), "{error}");
}

#[test]
fn keypairs_come_from_seeds_mnemonics_and_uris() {
    assert_eq!(account(&keypair_from_seed("//Alice").unwrap()), account(&dev::alice()));
    let seed = [7u8; 32];
    let from_hex = keypair_from_seed(&format!("0x{}", hex::encode(seed))).unwrap();
    assert_eq!(account(&from_hex), account(&Keypair::from_secret_key(seed).unwrap()));
    let secret = "not a valid secret phrase";
    let error = keypair_from_seed(secret).unwrap_err();
    assert!(matches!(error, ChainError::InvalidSeed(_)) && !error.to_string().contains(secret), "{error}");
}

#[test]
fn weights_wait_out_the_rate_limit_then_follow_commit_reveal() {
    let open = Hyperparameters {
        tempo: 360,
        commit_reveal_weights_enabled: false,
        weights_set_rate_limit: 100,
        weights_version_key: 0,
        min_allowed_weights: 1,
        max_weights_limit: u16::MAX,
    };
    let commit_reveal = Hyperparameters { commit_reveal_weights_enabled: true, ..open };
    // Never set: no limit applies.
    assert_eq!(weights_action(&open, 0, 5), WeightsAction::SetNow);
    assert_eq!(weights_action(&commit_reveal, 0, 5), WeightsAction::CommitNow);
    // Set at 1000: allowed again from 1100.
    assert_eq!(weights_action(&open, 1000, 1050), WeightsAction::WaitUntil(1100));
    assert_eq!(weights_action(&commit_reveal, 1000, 1099), WeightsAction::WaitUntil(1100));
    assert_eq!(weights_action(&open, 1000, 1100), WeightsAction::SetNow);
    assert_eq!(weights_action(&commit_reveal, 1000, 1100), WeightsAction::CommitNow);
    assert_eq!(weights_action(&Hyperparameters { weights_set_rate_limit: 0, ..open }, 1000, 1000), WeightsAction::SetNow);
}
