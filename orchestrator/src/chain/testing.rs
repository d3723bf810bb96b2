//! Test support (feature `test-support`): real signed extrinsics and a mock subtensor node, so
//! that payment verification and settlement can be tested against finney's real runtime
//! metadata (spec 393, [`metadata_path`]) with no network.
//!
//! The extrinsics are built and sr25519-signed by subxt's `OfflineClient` with `subxt-signer`
//! dev keys, encoded for that runtime. [`mock_node`] answers the JSON-RPC calls subxt's
//! `OnlineClient` makes, including `author_submitAndWatchExtrinsic`. What this proves is
//! encoding, decoding and signing against the real runtime; not the runtime's own checks at
//! inclusion (nonce, balance, fees), which only a live node performs.
//!
//! Everything here panics on failure: it serves tests only.

use super::{metadata_path, read_metadata_file, AccountId32, H256};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex, OnceLock};
use subxt::config::substrate::{Digest, SpecVersionForRange, SubstrateHeader};
use subxt::config::SubstrateExtrinsicParamsBuilder;
use subxt::ext::codec::Encode;
use subxt::ext::scale_encode::EncodeAsFields;
use subxt::utils::MultiAddress;
use subxt::{ArcMetadata, OfflineClient, SubstrateConfig};
use subxt_rpcs::client::MockRpcClient;
pub use subxt_signer::sr25519::{dev, Keypair};

/// Finney's genesis block hash.
pub const GENESIS: &str = "2f0555cc76fc2840a25a6ea3b9637146806f1f44b090c175ffde2a7e5ab36c03";
pub const SPEC_VERSION: u32 = 393;
pub const TX_VERSION: u32 = 1;
/// The block the test extrinsics take as their era checkpoint, and the era's length.
pub const CHECKPOINT: u64 = 1000;
pub const PERIOD: u64 = 64;
/// The mock node's current (best and finalized) block: inside the era that starts at `CHECKPOINT`.
pub const CURRENT: u64 = 1010;

pub fn genesis() -> H256 {
    H256::from_slice(&hex::decode(GENESIS).unwrap())
}

/// Stand-in hashes for blocks other than genesis: distinct and deterministic.
pub fn block_hash(number: u64) -> H256 {
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

/// Finney's runtime metadata, read once.
pub fn metadata() -> &'static ArcMetadata {
    &metadata_bytes_and_metadata().1
}

pub fn account(keypair: &Keypair) -> AccountId32 {
    keypair.public_key().into()
}

/// An offline client of the runtime at `CHECKPOINT`.
pub fn offline_client() -> OfflineClient<SubstrateConfig> {
    let config = SubstrateConfig::builder()
        .set_genesis_hash(genesis())
        .set_spec_version_for_block_ranges([SpecVersionForRange {
            block_range: 0..u64::MAX,
            spec_version: SPEC_VERSION,
            transaction_version: TX_VERSION,
        }])
        .set_metadata_for_spec_versions([(SPEC_VERSION, metadata().clone())])
        .build();
    OfflineClient::new_with_config(config)
}

/// Signs `pallet.call(args)` by `signer` with nonce 0, as a wallet would offline; `mortal`
/// gives it the era of `PERIOD` blocks from `CHECKPOINT`, else an immortal one.
pub fn sign(pallet: &str, call: &str, args: impl EncodeAsFields, signer: &Keypair, mortal: bool) -> Vec<u8> {
    sign_from(pallet, call, args, signer, mortal.then_some(CHECKPOINT))
}

/// Signs with an era of `PERIOD` blocks from `checkpoint`, or an immortal one.
fn sign_from(pallet: &str, call: &str, args: impl EncodeAsFields, signer: &Keypair, checkpoint: Option<u64>) -> Vec<u8> {
    let params = SubstrateExtrinsicParamsBuilder::<SubstrateConfig>::new().nonce(0);
    let params = match checkpoint {
        Some(checkpoint) => params.mortal_from_unchecked(PERIOD, checkpoint, block_hash(checkpoint)),
        None => params.immortal(),
    };
    let call = subxt::dynamic::tx(pallet, call, args);
    let at = offline_client().at_block(checkpoint.unwrap_or(CHECKPOINT)).unwrap();
    at.tx().create_v4_signable_offline(&call, params.build()).unwrap().sign(signer).unwrap().into_encoded()
}

/// Alice's mortal `Balances.transfer_keep_alive(dest, amount)`.
pub fn transfer(dest: AccountId32, amount: u128) -> Vec<u8> {
    sign("Balances", "transfer_keep_alive", (MultiAddress::<AccountId32, ()>::Id(dest), amount), &dev::alice(), true)
}

/// The same transfer with an immortal era, which payments refuse.
pub fn immortal_transfer(dest: AccountId32, amount: u128) -> Vec<u8> {
    sign("Balances", "transfer_keep_alive", (MultiAddress::<AccountId32, ()>::Id(dest), amount), &dev::alice(), false)
}

/// The same transfer signed one era window before the mock node's block `CURRENT`, so that
/// its era ended exactly at `CURRENT`.
pub fn expired_transfer(dest: AccountId32, amount: u128) -> Vec<u8> {
    sign_from("Balances", "transfer_keep_alive", (MultiAddress::<AccountId32, ()>::Id(dest), amount), &dev::alice(), Some(CURRENT - PERIOD))
}

/// The extrinsics submitted to a [`mock_node`], in order.
pub type Submitted = Arc<Mutex<Vec<Vec<u8>>>>;

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
/// is submitted; `submitted` receives the submitted bytes. With `finalizes` false the node
/// instead drops every submitted extrinsic as invalid.
pub fn mock_node(submitted: Submitted, finalizes: bool) -> MockRpcClient {
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
            let statuses = if finalizes {
                vec![json!("ready"), json!({ "inBlock": in_block }), json!({ "finalized": in_block })]
            } else {
                vec![json!("ready"), json!("invalid")]
            };
            async move { statuses }
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
