//! A chain stand-in: a subtensor node on loopback that a chain client reaches over real
//! WebSocket (or HTTP) JSON-RPC, for tests of whole paths that cross the chain (a client paying
//! by x402, a node settling it, a validator's calls).
//!
//! It serves the legacy JSON-RPC methods subxt and wallets call (`chain_*`, `state_*`,
//! `system_*`, `author_*` with their subscriptions) for a chain of its own: a genesis block,
//! then one block every [`Options::block_time`], each final as soon as it is made. Its runtime
//! is finney's real metadata ([`super::metadata`]), answered by `state_getMetadata` and the
//! `Metadata_*` runtime APIs, with [`super::SPEC_VERSION`] and [`super::TX_VERSION`].
//!
//! What it checks of a submitted extrinsic, as a node's transaction pool would: that it decodes
//! against the runtime, is a v4 signed one whose sr25519 signature holds for this chain (its
//! genesis, versions and era checkpoint), has not outlived its era, and carries the signer's
//! next nonce (counting those already pooled). A `Balances.transfer_keep_alive` or
//! `transfer_allow_death` must also be covered by the signer's free balance, keeping the
//! existential deposit for the former. Included extrinsics bump their signer's nonce and
//! transfers move balance in `System.Account`; every included extrinsic is kept
//! ([`Standin::included`]) for a test to decode ([`super::decode_signed_call`]).
//!
//! What it does not do, and a test must not rely on: charge fees or weigh calls, dispatch any
//! call but transfers (a `set_weights` is included, recorded and otherwise has no effect), emit
//! events (every included extrinsic succeeds, so `System.Events` stays empty), keep state per
//! block (storage reads at any block answer the latest state), fork, or refuse an extrinsic the
//! runtime's own call rules would refuse.

use super::{metadata, metadata_bytes, storage_key, blake2_128_concat, Storage, SPEC_VERSION, TX_VERSION};
use crate::chain::payment::{self, BlockHashes, ChainState, PaymentError};
use crate::chain::{AccountId32, H256};
use jsonrpsee::server::{PendingSubscriptionSink, RpcModule, Server, ServerHandle, SubscriptionMessage};
use jsonrpsee::types::{ErrorObjectOwned, Params};
use serde_json::{json, Value};
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use subxt::config::substrate::{BlakeTwo256, Digest, SubstrateHeader};
use subxt::config::Hasher;
use subxt::ext::codec::{Decode, Encode};
use subxt::utils::MultiAddress;
use tokio::sync::{broadcast, oneshot};

/// Finney's existential deposit: what `transfer_keep_alive` must leave in the sender's account.
pub const EXISTENTIAL_DEPOSIT: u64 = 500;

/// How a stand-in starts.
#[derive(Debug, Clone)]
pub struct Options {
    /// How often a block is made (and finalized).
    pub block_time: Duration,
    /// Accounts that hold a free balance (in rao) at genesis.
    pub endowed: Vec<(AccountId32, u64)>,
}

impl Default for Options {
    fn default() -> Self {
        Options { block_time: Duration::from_millis(200), endowed: Vec::new() }
    }
}

/// An extrinsic in a block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Included {
    pub block: u64,
    pub extrinsic: Vec<u8>,
}

/// A running stand-in; it stops when dropped.
pub struct Standin {
    url: String,
    chain: Arc<Mutex<Chain>>,
    server: ServerHandle,
    producer: tokio::task::JoinHandle<()>,
}

impl Standin {
    /// Starts a stand-in on a port of 127.0.0.1 the OS assigns.
    pub async fn start(options: Options) -> Standin {
        let chain = Arc::new(Mutex::new(Chain::genesis(&options.endowed)));
        let server = Server::builder().build("127.0.0.1:0").await.expect("a loopback port");
        let url = format!("ws://{}", server.local_addr().expect("the bound address"));
        let server = server.start(rpc_module(chain.clone()));
        let producer = tokio::spawn(produce_blocks(chain.clone(), options.block_time));
        Standin { url, chain, server, producer }
    }

    /// `ws://127.0.0.1:PORT`; the same port answers JSON-RPC over HTTP POST.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Every extrinsic included so far, in order.
    pub fn included(&self) -> Vec<Included> {
        self.chain.lock().unwrap().included.clone()
    }

    /// The nonce and free balance `System.Account` holds for `account` now.
    pub fn account(&self, account: &AccountId32) -> (u32, u64) {
        self.chain.lock().unwrap().account(account)
    }

    /// The number of the latest (final) block.
    pub fn best_block(&self) -> u64 {
        self.chain.lock().unwrap().best().number
    }
}

impl Drop for Standin {
    fn drop(&mut self) {
        self.producer.abort();
        let _ = self.server.stop();
    }
}

async fn produce_blocks(chain: Arc<Mutex<Chain>>, block_time: Duration) {
    let mut ticks = tokio::time::interval(block_time);
    ticks.tick().await;
    loop {
        ticks.tick().await;
        chain.lock().unwrap().produce();
    }
}

struct Block {
    header: SubstrateHeader<H256>,
    hash: H256,
    extrinsics: Vec<Vec<u8>>,
}

/// An admitted extrinsic waiting for the next block, with whoever waits for its inclusion.
struct Pooled {
    bytes: Vec<u8>,
    signed: payment::SignedExtrinsic,
    included: Vec<oneshot::Sender<H256>>,
}

struct Chain {
    blocks: Vec<Block>,
    storage: Storage,
    pool: Vec<Pooled>,
    included: Vec<Included>,
    heads: broadcast::Sender<Value>,
}

impl BlockHashes for Chain {
    fn block_hash(&self, number: u64) -> Option<H256> {
        self.blocks.get(usize::try_from(number).ok()?).map(|block| block.hash)
    }
}

impl Chain {
    fn genesis(endowed: &[(AccountId32, u64)]) -> Chain {
        let mut storage = Storage::new();
        storage.insert(storage_key("System", "Events", &[]), Vec::<()>::new().encode());
        for (account, free) in endowed {
            storage.insert(account_key(account), account_info(0, *free));
        }
        let mut chain = Chain { blocks: Vec::new(), storage, pool: Vec::new(), included: Vec::new(), heads: broadcast::channel(64).0 };
        chain.push_block(H256::zero(), 0, Vec::new());
        chain
    }

    fn best(&self) -> &SubstrateHeader<H256> {
        &self.blocks.last().expect("genesis").header
    }

    fn best_hash(&self) -> H256 {
        self.blocks.last().expect("genesis").hash
    }

    fn block_by_hash(&self, hash: &H256) -> Option<&Block> {
        self.blocks.iter().rev().find(|block| block.hash == *hash)
    }

    fn account(&self, account: &AccountId32) -> (u32, u64) {
        let Some(info) = self.storage.get(&account_key(account)) else { return (0, 0) };
        let (nonce, _consumers, _providers, _sufficients, free) = <(u32, u32, u32, u32, u64)>::decode(&mut &info[..]).expect("the stand-in's own encoding");
        (nonce, free)
    }

    fn set_account(&mut self, account: &AccountId32, nonce: u32, free: u64) {
        self.storage.insert(account_key(account), account_info(nonce, free));
    }

    /// The signer's next nonce, counting extrinsics of its already in the pool.
    fn next_nonce(&self, account: &AccountId32) -> u64 {
        let pooled = self.pool.iter().filter(|pooled| pooled.signed.signer == *account).count() as u64;
        u64::from(self.account(account).0) + pooled
    }

    /// Admits `bytes` to the pool as the module documentation says, or says why not.
    fn admit(&mut self, bytes: Vec<u8>) -> Result<&mut Pooled, String> {
        let current_block = self.best().number;
        let state = ChainState { genesis_hash: self.blocks[0].hash, spec_version: SPEC_VERSION, transaction_version: TX_VERSION, current_block };
        let signed = payment::check_signed(&bytes, metadata(), &state, self).map_err(|error| error.to_string())?;
        if signed.expires_at.is_some_and(|expires_at| expires_at <= current_block) {
            return Err(format!("its era ended at block {}", signed.expires_at.unwrap_or_default()));
        }
        if self.pool.iter().any(|pooled| pooled.signed.hash == signed.hash) {
            return Err("it is already in the pool".into());
        }
        let next = self.next_nonce(&signed.signer);
        if signed.nonce != next {
            return Err(format!("its nonce is {}, the signer's next is {next}", signed.nonce));
        }
        if let Some((_, value, keep_alive)) = transfer(&bytes, &signed).map_err(|error| error.to_string())? {
            let (_, free) = self.account(&signed.signer);
            let spent_in_pool: u128 = self.pool.iter().filter(|pooled| pooled.signed.signer == signed.signer).filter_map(|pooled| transfer(&pooled.bytes, &pooled.signed).ok().flatten()).map(|(_, value, _)| value).sum();
            let needed = value + spent_in_pool + if keep_alive { u128::from(EXISTENTIAL_DEPOSIT) } else { 0 };
            if u128::from(free) < needed {
                return Err(format!("the signer's free balance {free} rao does not cover {needed} rao"));
            }
        }
        self.pool.push(Pooled { bytes, signed, included: Vec::new() });
        Ok(self.pool.last_mut().expect("just pushed"))
    }

    /// Makes the next block from the pool and announces it.
    fn produce(&mut self) {
        let pool = std::mem::take(&mut self.pool);
        let number = self.best().number + 1;
        let mut extrinsics = Vec::new();
        let mut waiting = Vec::new();
        for pooled in pool {
            let (nonce, free) = self.account(&pooled.signed.signer);
            if let Ok(Some((dest, value, _))) = transfer(&pooled.bytes, &pooled.signed) {
                // Admission checked the balance with everything pooled before it counted.
                let value = u64::try_from(value).expect("admitted against a u64 balance");
                self.set_account(&pooled.signed.signer, nonce + 1, free - value);
                let (dest_nonce, dest_free) = self.account(&dest);
                self.set_account(&dest, dest_nonce, dest_free.saturating_add(value));
            } else {
                self.set_account(&pooled.signed.signer, nonce + 1, free);
            }
            self.included.push(Included { block: number, extrinsic: pooled.bytes.clone() });
            extrinsics.push(pooled.bytes);
            waiting.extend(pooled.included);
        }
        let parent = self.best_hash();
        let hash = self.push_block(parent, number, extrinsics);
        for waiter in waiting {
            let _ = waiter.send(hash);
        }
    }

    fn push_block(&mut self, parent_hash: H256, number: u64, extrinsics: Vec<Vec<u8>>) -> H256 {
        let header = SubstrateHeader {
            parent_hash,
            number,
            state_root: BlakeTwo256.hash(&self.storage.encode()),
            extrinsics_root: BlakeTwo256.hash(&extrinsics.encode()),
            digest: Digest::default(),
        };
        let hash = BlakeTwo256.hash(&header.encode());
        let _ = self.heads.send(serde_json::to_value(&header).expect("headers serialise"));
        self.blocks.push(Block { header, hash, extrinsics });
        hash
    }

    /// The block a request names by hash, or the latest when it names none.
    fn block_at(&self, hash: Option<H256>) -> Option<&Block> {
        match hash {
            Some(hash) => self.block_by_hash(&hash),
            None => self.blocks.last(),
        }
    }
}

fn account_key(account: &AccountId32) -> Vec<u8> {
    storage_key("System", "Account", &[blake2_128_concat(account)])
}

/// `AccountInfo<u32, AccountData<u64>>` (see [`super::account_entry`]).
fn account_info(nonce: u32, free: u64) -> Vec<u8> {
    (nonce, 0u32, 1u32, 0u32, free, 0u64, 0u64, 0u128).encode()
}

/// The destination, value and keep-alive rule of a transfer; `None` for any other call.
fn transfer(bytes: &[u8], signed: &payment::SignedExtrinsic) -> Result<Option<(AccountId32, u128, bool)>, PaymentError> {
    let keep_alive = match (signed.pallet.as_str(), signed.call.as_str()) {
        ("Balances", "transfer_keep_alive") => true,
        ("Balances", "transfer_allow_death") => false,
        _ => return Ok(None),
    };
    let info = payment::decode(bytes, metadata())?;
    match payment::transfer_args(bytes, &info, metadata())? {
        (MultiAddress::Id(dest), value) => Ok(Some((dest, value, keep_alive))),
        (other, _) => Err(PaymentError::WrongDestination(format!("{other:?}"))),
    }
}

type Shared = Arc<Mutex<Chain>>;

fn invalid_params(message: impl Into<String>) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(-32602, message.into(), None::<()>)
}

/// The error a substrate node answers for a transaction its pool refuses.
fn invalid_transaction(reason: String) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(1010, "Invalid Transaction", Some(reason))
}

fn hex_of(bytes: &[u8]) -> String {
    format!("0x{}", hex::encode(bytes))
}

fn bytes_param(value: Option<&Value>) -> Result<Vec<u8>, ErrorObjectOwned> {
    let text = value.and_then(Value::as_str).ok_or_else(|| invalid_params("expected 0x-prefixed hex"))?;
    hex::decode(text.strip_prefix("0x").unwrap_or(text)).map_err(|e| invalid_params(format!("not hex: {e}")))
}

/// An optional block hash parameter; `null` or absent means the latest block.
fn hash_param(value: Option<&Value>) -> Result<Option<H256>, ErrorObjectOwned> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(value) => serde_json::from_value(value.clone()).map(Some).map_err(|e| invalid_params(format!("not a block hash: {e}"))),
    }
}

/// A block number given as a JSON number or a hex string.
fn number_param(value: &Value) -> Result<u64, ErrorObjectOwned> {
    match value {
        Value::Number(number) => number.as_u64().ok_or_else(|| invalid_params("not a block number")),
        Value::String(text) => u64::from_str_radix(text.trim_start_matches("0x"), 16).map_err(|_| invalid_params("not a block number")),
        _ => Err(invalid_params("not a block number")),
    }
}

fn params_of(params: &Params) -> Result<Vec<Value>, ErrorObjectOwned> {
    if params.as_str().is_none_or(|text| text.trim().is_empty()) {
        return Ok(Vec::new());
    }
    params.parse::<Vec<Value>>().map_err(|e| invalid_params(e.to_string()))
}

fn runtime_version() -> Value {
    json!({
        "specName": "node-subtensor", "implName": "node-subtensor", "authoringVersion": 1,
        "specVersion": SPEC_VERSION, "implVersion": 1, "apis": [],
        "transactionVersion": TX_VERSION, "stateVersion": 1,
    })
}

/// The metadata version the runtime's metadata file holds (the byte after the `meta` magic).
fn metadata_version() -> u32 {
    u32::from(metadata_bytes()[4])
}

/// Runtime API answers, SCALE-encoded.
fn state_call(chain: &Chain, method: &str, data: &[u8]) -> Result<Vec<u8>, ErrorObjectOwned> {
    match method {
        "Core_version" => {
            let apis: Vec<([u8; 8], u32)> = Vec::new();
            Ok(("node-subtensor".to_string(), "node-subtensor".to_string(), 1u32, SPEC_VERSION, 1u32, apis, TX_VERSION, 1u8).encode())
        }
        "Metadata_metadata" => Ok(metadata_bytes().to_vec().encode()),
        "Metadata_metadata_versions" => Ok(vec![metadata_version()].encode()),
        "Metadata_metadata_at_version" => {
            let version = u32::decode(&mut &*data).map_err(|_| invalid_params("expected a u32 version"))?;
            Ok((version == metadata_version()).then(|| metadata_bytes().to_vec()).encode())
        }
        "AccountNonceApi_account_nonce" => {
            let account = AccountId32::decode(&mut &*data).map_err(|_| invalid_params("expected an account id"))?;
            Ok(chain.account(&account).0.encode())
        }
        other => Err(ErrorObjectOwned::owned(-32000, format!("the stand-in has no runtime API {other}"), None::<()>)),
    }
}

/// The legacy JSON-RPC methods the module documentation lists.
fn rpc_module(chain: Shared) -> RpcModule<Shared> {
    let mut module = RpcModule::new(chain);
    const METHODS: [&str; 26] = [
        "rpc_methods", "system_chain", "system_name", "system_version", "system_properties", "system_health", "system_accountNextIndex",
        "chain_getBlockHash", "chain_getFinalizedHead", "chain_getHeader", "chain_getBlock", "state_getRuntimeVersion", "state_getMetadata",
        "state_call", "state_getStorage", "state_getKeysPaged", "state_queryStorageAt", "author_submitExtrinsic", "author_submitAndWatchExtrinsic",
        "author_unwatchExtrinsic", "chain_subscribeNewHeads", "chain_unsubscribeNewHeads", "chain_subscribeFinalizedHeads",
        "chain_unsubscribeFinalizedHeads", "state_subscribeRuntimeVersion", "state_unsubscribeRuntimeVersion",
    ];
    let register = |module: &mut RpcModule<Shared>, name: &'static str, answer: fn(&Chain, Vec<Value>) -> Result<Value, ErrorObjectOwned>| {
        module
            .register_method(name, move |params, chain, _| -> Result<Value, ErrorObjectOwned> {
                let params = params_of(&params)?;
                answer(&chain.lock().unwrap(), params)
            })
            .expect("each method is registered once");
    };
    register(&mut module, "rpc_methods", |_, _| Ok(json!({ "version": 1, "methods": METHODS })));
    register(&mut module, "system_chain", |_, _| Ok(json!("Orchestra chain stand-in")));
    register(&mut module, "system_name", |_, _| Ok(json!("orchestra-chain-standin")));
    register(&mut module, "system_version", |_, _| Ok(json!(env!("CARGO_PKG_VERSION"))));
    register(&mut module, "system_properties", |_, _| Ok(json!({ "ss58Format": 42, "tokenDecimals": 9, "tokenSymbol": "TAO" })));
    register(&mut module, "system_health", |_, _| Ok(json!({ "peers": 0, "isSyncing": false, "shouldHavePeers": false })));
    register(&mut module, "system_accountNextIndex", |chain, params| {
        let address = params.first().and_then(Value::as_str).ok_or_else(|| invalid_params("expected an SS58 address"))?;
        let account = AccountId32::from_str(address).map_err(|e| invalid_params(format!("not an SS58 address: {e}")))?;
        Ok(json!(chain.next_nonce(&account)))
    });
    register(&mut module, "chain_getBlockHash", |chain, params| match params.first() {
        None | Some(Value::Null) => Ok(json!(chain.best_hash())),
        Some(number) => Ok(json!(usize::try_from(number_param(number)?).ok().and_then(|n| chain.blocks.get(n)).map(|block| block.hash))),
    });
    register(&mut module, "chain_getFinalizedHead", |chain, _| Ok(json!(chain.best_hash())));
    register(&mut module, "chain_getHeader", |chain, params| Ok(json!(chain.block_at(hash_param(params.first())?).map(|block| &block.header))));
    register(&mut module, "chain_getBlock", |chain, params| {
        Ok(json!(chain.block_at(hash_param(params.first())?).map(|block| {
            let extrinsics: Vec<String> = block.extrinsics.iter().map(|bytes| hex_of(bytes)).collect();
            json!({ "block": { "header": block.header, "extrinsics": extrinsics }, "justifications": null })
        })))
    });
    register(&mut module, "state_getRuntimeVersion", |_, _| Ok(runtime_version()));
    register(&mut module, "state_getMetadata", |_, _| Ok(json!(hex_of(metadata_bytes()))));
    register(&mut module, "state_call", |chain, params| {
        let method = params.first().and_then(Value::as_str).ok_or_else(|| invalid_params("expected a runtime API name"))?;
        let data = bytes_param(params.get(1))?;
        Ok(json!(hex_of(&state_call(chain, method, &data)?)))
    });
    register(&mut module, "state_getStorage", |chain, params| {
        let key = bytes_param(params.first())?;
        Ok(json!(chain.storage.get(&key).map(|value| hex_of(value))))
    });
    register(&mut module, "state_getKeysPaged", |chain, params| {
        let prefix = bytes_param(params.first())?;
        let count = params.get(1).and_then(Value::as_u64).ok_or_else(|| invalid_params("expected a count"))?.min(1000) as usize;
        let start = match params.get(2) {
            None | Some(Value::Null) => None,
            start => Some(bytes_param(start)?),
        };
        let keys: Vec<String> = chain
            .storage
            .keys()
            .filter(|key| key.starts_with(&prefix) && start.as_ref().is_none_or(|start| *key > start))
            .take(count)
            .map(|key| hex_of(key))
            .collect();
        Ok(json!(keys))
    });
    register(&mut module, "state_queryStorageAt", |chain, params| {
        let keys = params.first().and_then(Value::as_array).ok_or_else(|| invalid_params("expected a list of keys"))?;
        let changes = keys
            .iter()
            .map(|key| Ok((hex_of(&bytes_param(Some(key))?), chain.storage.get(&bytes_param(Some(key))?).map(|value| hex_of(value)))))
            .collect::<Result<Vec<_>, ErrorObjectOwned>>()?;
        Ok(json!([{ "block": chain.best_hash(), "changes": changes }]))
    });
    module
        .register_method("author_submitExtrinsic", |params, chain, _| -> Result<Value, ErrorObjectOwned> {
            let bytes = bytes_param(params_of(&params)?.first())?;
            let mut chain = chain.lock().unwrap();
            Ok(json!(chain.admit(bytes).map_err(invalid_transaction)?.signed.hash))
        })
        .expect("registered once");
    module
        .register_subscription("author_submitAndWatchExtrinsic", "author_extrinsicUpdate", "author_unwatchExtrinsic", |params, pending, chain, _| async move {
            watch_extrinsic(params, pending, (*chain).clone()).await;
        })
        .expect("registered once");
    for (subscribe, notification, unsubscribe) in [
        ("chain_subscribeNewHeads", "chain_newHead", "chain_unsubscribeNewHeads"),
        ("chain_subscribeFinalizedHeads", "chain_finalizedHead", "chain_unsubscribeFinalizedHeads"),
    ] {
        module
            .register_subscription(subscribe, notification, unsubscribe, |_, pending, chain, _| async move {
                let mut heads = chain.lock().unwrap().heads.subscribe();
                let Ok(sink) = pending.accept().await else { return };
                while let Ok(header) = heads.recv().await {
                    if sink.send(message(&header)).await.is_err() {
                        return;
                    }
                }
            })
            .expect("registered once");
    }
    module
        .register_subscription("state_subscribeRuntimeVersion", "state_runtimeVersion", "state_unsubscribeRuntimeVersion", |_, pending, _, _| async move {
            let Ok(sink) = pending.accept().await else { return };
            let _ = sink.send(message(&runtime_version())).await;
            // The runtime never changes: hold the subscription open until the client leaves.
            sink.closed().await;
        })
        .expect("registered once");
    module
}

fn message(value: &Value) -> SubscriptionMessage {
    serde_json::value::to_raw_value(value).expect("JSON serialises").into()
}

/// `author_submitAndWatchExtrinsic`: refused with the pool's reason, or `ready`, then `inBlock`
/// and `finalized` with the block that includes it.
async fn watch_extrinsic(params: Params<'static>, pending: PendingSubscriptionSink, chain: Shared) {
    let admitted = params_of(&params).and_then(|params| bytes_param(params.first())).and_then(|bytes| {
        let (sender, receiver) = oneshot::channel();
        let mut chain = chain.lock().unwrap();
        let pooled = chain.admit(bytes).map_err(invalid_transaction)?;
        pooled.included.push(sender);
        Ok(receiver)
    });
    let receiver = match admitted {
        Ok(receiver) => receiver,
        Err(error) => return pending.reject(error).await,
    };
    let Ok(sink) = pending.accept().await else { return };
    let _ = sink.send(message(&json!("ready"))).await;
    match receiver.await {
        Ok(hash) => {
            let _ = sink.send(message(&json!({ "inBlock": hash }))).await;
            let _ = sink.send(message(&json!({ "finalized": hash }))).await;
        }
        Err(_) => {
            let _ = sink.send(message(&json!("dropped"))).await;
        }
    }
}
