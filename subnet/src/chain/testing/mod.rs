//! Test support (feature `test-support`): real signed extrinsics and a mock subtensor node, so
//! that payment verification, settlement, storage reads and the validator's calls can be tested
//! against finney's real runtime metadata (spec 393, [`metadata_path`]) with no network.
//!
//! The extrinsics are built and sr25519-signed by subxt's `OfflineClient` with `subxt-signer`
//! dev keys, encoded for that runtime. [`mock_node`] answers the JSON-RPC calls subxt's
//! `OnlineClient` makes, including `author_submitAndWatchExtrinsic`; [`mock_node_with_storage`]
//! also serves storage that a test wrote under real storage keys ([`storage_key`]), built here
//! with the runtime's own hashers rather than subxt's key encoder, so that a read of the wrong
//! item, key or hasher finds nothing. [`decode_signed_call`] reads back what was submitted.
//! What this proves is encoding, decoding and signing against the real runtime; not the
//! runtime's own checks at inclusion (nonce, balance, fees, weights rules), which only a live
//! node performs.
//!
//! [`standin`] serves such a runtime over real WebSocket JSON-RPC, for whole paths that cross
//! the chain.
//!
//! Everything here panics on failure: it serves tests only.

use super::{metadata_path, read_metadata_file, AccountId32, H256};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::{Arc, Mutex, OnceLock};
use subxt::config::substrate::{Digest, SpecVersionForRange, SubstrateHeader};
use subxt::config::SubstrateExtrinsicParamsBuilder;
use subxt::ext::codec::Encode;
use subxt::ext::frame_decode::extrinsics::{decode_extrinsic, ExtrinsicType};
use subxt::ext::scale_decode::DecodeAsType;
use subxt::ext::scale_encode::EncodeAsFields;
use subxt::utils::MultiAddress;
use subxt::{ArcMetadata, OfflineClient, SubstrateConfig};
use subxt_rpcs::client::MockRpcClient;
pub use subxt_signer::sr25519::{dev, Keypair};

pub mod standin;

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

/// The runtime metadata file's bytes, as a node answers `state_getMetadata`.
pub fn metadata_bytes() -> &'static [u8] {
    &metadata_bytes_and_metadata().0
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
    transfer_by(&dev::alice(), dest, amount)
}

/// `signer`'s mortal `Balances.transfer_keep_alive(dest, amount)`.
pub fn transfer_by(signer: &Keypair, dest: AccountId32, amount: u128) -> Vec<u8> {
    sign("Balances", "transfer_keep_alive", (MultiAddress::<AccountId32, ()>::Id(dest), amount), signer, true)
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

/// Storage a mock node serves: full storage keys to SCALE-encoded values, in key order (the
/// order a node's `state_getKeysPaged` pages through).
pub type Storage = BTreeMap<Vec<u8>, Vec<u8>>;

/// The key of a storage value: `twox128(pallet) ++ twox128(item)`, then each key part as the
/// item's hasher made it ([`identity`], [`blake2_128_concat`]).
pub fn storage_key(pallet: &str, item: &str, parts: &[Vec<u8>]) -> Vec<u8> {
    let mut key = sp_crypto_hashing::twox_128(pallet.as_bytes()).to_vec();
    key.extend_from_slice(&sp_crypto_hashing::twox_128(item.as_bytes()));
    parts.iter().for_each(|part| key.extend_from_slice(part));
    key
}

/// The `System.Account` entry of `account` at `nonce` holding `free` rao, in the runtime's layout
/// (`AccountInfo<u32, AccountData<u64>>`: nonce, consumers, providers, sufficients, then free,
/// reserved, frozen and flags).
pub fn account_entry(account: &AccountId32, nonce: u32, free: u64) -> (Vec<u8>, Vec<u8>) {
    (storage_key("System", "Account", &[blake2_128_concat(account)]), (nonce, 0u32, 1u32, 0u32, free, 0u64, 0u64, 0u128).encode())
}

/// A key part under the `Identity` hasher: the encoded value itself.
pub fn identity(value: &impl Encode) -> Vec<u8> {
    value.encode()
}

/// A key part under the `Blake2_128Concat` hasher: blake2b-128 of the encoded value, then the value.
pub fn blake2_128_concat(value: &impl Encode) -> Vec<u8> {
    let encoded = value.encode();
    let mut part = sp_crypto_hashing::blake2_128(&encoded).to_vec();
    part.extend_from_slice(&encoded);
    part
}

/// Writes `value` at the `SubtensorModule` storage `item` under the key `parts`.
pub fn put_subtensor(storage: &mut Storage, item: &str, parts: &[Vec<u8>], value: impl Encode) {
    storage.insert(storage_key("SubtensorModule", item, parts), value.encode());
}

/// Subnet `netuid`'s storage: the `validator` at uid 0 with a permit and stake, and the
/// `miners` at uids 1.., each serving an axon on the loopback port beside it; weights set
/// directly, no rate limit.
pub fn subnet_storage(netuid: u16, validator: &AccountId32, miners: &[(AccountId32, u16)]) -> Storage {
    let mut storage = Storage::new();
    let neurons = miners.len() + 1;
    put_subtensor(&mut storage, "NetworksAdded", &[identity(&netuid)], true);
    put_subtensor(&mut storage, "SubnetworkN", &[identity(&netuid)], neurons as u16);
    put_subtensor(&mut storage, "Keys", &[identity(&netuid), identity(&0u16)], validator);
    for (uid, (miner, port)) in miners.iter().enumerate() {
        let uid = uid as u16 + 1;
        put_subtensor(&mut storage, "Keys", &[identity(&netuid), identity(&uid)], miner);
        let axon = (900u64, 1u32, u128::from(0x7f00_0001u32), *port, 4u8, 4u8, 0u8, 0u8);
        put_subtensor(&mut storage, "Axons", &[identity(&netuid), blake2_128_concat(miner)], axon);
    }
    put_subtensor(&mut storage, "TotalHotkeyAlpha", &[blake2_128_concat(validator), identity(&netuid)], 1_000_000_000_000u64);
    let mut permits = vec![false; neurons];
    permits[0] = true;
    put_subtensor(&mut storage, "ValidatorPermit", &[identity(&netuid)], permits);
    put_subtensor(&mut storage, "LastUpdate", &[identity(&netuid)], vec![0u64; neurons]);
    put_subtensor(&mut storage, "CommitRevealWeightsEnabled", &[identity(&netuid)], false);
    put_subtensor(&mut storage, "WeightsSetRateLimit", &[identity(&netuid)], 0u64);
    put_subtensor(&mut storage, "WeightsVersionKey", &[identity(&netuid)], 3u64);
    put_subtensor(&mut storage, "MinAllowedWeights", &[identity(&netuid)], 1u16);
    put_subtensor(&mut storage, "MaxWeightsLimit", &[identity(&netuid)], u16::MAX);
    storage
}

/// A signed extrinsic decoded against the runtime metadata: who signed it and what it calls.
pub struct SignedCall {
    pub signer: AccountId32,
    pub pallet: String,
    pub call: String,
    bytes: Vec<u8>,
    /// Each argument's name, byte range and type id.
    args: Vec<(String, Range<usize>, u32)>,
}

impl SignedCall {
    /// The argument `name`, decoded as `T` against the runtime's type for it.
    pub fn arg<T: DecodeAsType>(&self, name: &str) -> T {
        let Some((_, range, ty)) = self.args.iter().find(|(arg, ..)| arg == name) else {
            panic!("{}.{} has no `{name}`", self.pallet, self.call)
        };
        let cursor = &mut &self.bytes[range.clone()];
        let value = T::decode_as_type(cursor, *ty, metadata().types()).unwrap_or_else(|e| panic!("`{name}`: {e}"));
        assert!(cursor.is_empty(), "`{name}` has bytes left over");
        value
    }
}

/// Decodes a submitted extrinsic, which must be a signed v4 one signed by an account id.
pub fn decode_signed_call(extrinsic: &[u8]) -> SignedCall {
    let metadata: &subxt::Metadata = metadata();
    let cursor = &mut &*extrinsic;
    let info = decode_extrinsic(cursor, metadata, metadata.types()).unwrap().into_owned();
    assert!(cursor.is_empty(), "bytes left over after the extrinsic");
    assert!(matches!(info.ty(), ExtrinsicType::Signed), "not a signed extrinsic");
    let signature = info.signature_payload().unwrap();
    let address = &mut &extrinsic[signature.address_range()];
    let signer = match MultiAddress::<AccountId32, ()>::decode_as_type(address, *signature.address_type(), metadata.types()).unwrap() {
        MultiAddress::Id(account) => account,
        other => panic!("signed by {other:?}, not an account id"),
    };
    let args = info.call_data().map(|arg| (arg.name().to_owned(), arg.range(), *arg.ty())).collect();
    SignedCall { signer, pallet: info.pallet_name().to_owned(), call: info.call_name().to_owned(), bytes: extrinsic.to_vec(), args }
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
/// is submitted; `submitted` receives the submitted bytes. With `finalizes` false the node
/// instead drops every submitted extrinsic as invalid. Its storage holds nothing but an empty
/// `System.Events`.
pub fn mock_node(submitted: Submitted, finalizes: bool) -> MockRpcClient {
    mock_node_with_storage(submitted, finalizes, Storage::new())
}

/// [`mock_node`] serving `storage` (at every block) as well.
pub fn mock_node_with_storage(submitted: Submitted, finalizes: bool, mut storage: Storage) -> MockRpcClient {
    // No events at all: in particular no `System.ExtrinsicFailed`, so every extrinsic succeeds.
    storage.entry(storage_key("System", "Events", &[])).or_insert_with(|| Vec::<()>::new().encode());
    let storage = Arc::new(storage);
    let included = CURRENT + 1;
    let block_submitted = submitted.clone();
    MockRpcClient::builder()
        .method_fallback(move |method: String, params| {
            let params: Vec<Value> = params.map(|p| serde_json::from_str(p.get()).unwrap()).unwrap_or_default();
            let block_body = block_submitted.lock().unwrap().iter().map(|tx: &Vec<u8>| hex_of(tx)).collect::<Vec<_>>();
            let storage = storage.clone();
            async move {
                match method.as_str() {
                    "rpc_methods" => json!({ "methods": [
                        "chain_getBlockHash", "chain_getFinalizedHead", "chain_getHeader", "chain_getBlock",
                        "state_call", "state_getStorage", "state_getKeysPaged", "state_queryStorageAt",
                        "author_submitAndWatchExtrinsic"] }),
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
                    "state_getStorage" => json!(storage.get(&bytes_of(&params[0])).map(|value| hex_of(value))),
                    "state_getKeysPaged" => json!(keys_paged(&storage, &params)),
                    "state_queryStorageAt" => {
                        let keys: Vec<Value> = serde_json::from_value(params[0].clone()).unwrap();
                        let changes: Vec<(String, Option<String>)> = keys
                            .iter()
                            .map(|key| (key.as_str().unwrap().to_owned(), storage.get(&bytes_of(key)).map(|value| hex_of(value))))
                            .collect();
                        json!([{ "block": block_hash(CURRENT), "changes": changes }])
                    }
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

fn bytes_of(hex: &Value) -> Vec<u8> {
    hex::decode(hex.as_str().unwrap().trim_start_matches("0x")).unwrap()
}

/// `state_getKeysPaged(prefix, count, start_key)`: up to `count` keys under `prefix`, in order,
/// after `start_key` when one is given.
fn keys_paged(storage: &Storage, params: &[Value]) -> Vec<String> {
    let prefix = bytes_of(&params[0]);
    let count = params[1].as_u64().unwrap() as usize;
    let start = params.get(2).filter(|start| !start.is_null()).map(bytes_of);
    storage
        .keys()
        .filter(|key| key.starts_with(&prefix) && start.as_ref().is_none_or(|start| *key > start))
        .take(count)
        .map(|key| hex_of(key))
        .collect()
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
