//! [`ChainClient`]: one connection to a subtensor node, through subxt's `OnlineClient` and the
//! raw JSON-RPC client beneath it (for the few plain calls subxt keeps internal).
//!
//! Besides payments, this holds the primitives the chain's reads and writes share: reading
//! storage at a block ([`read`], [`read_required`], [`read_all`]) and signing, submitting and
//! following a call to finality ([`ChainClient::submit`]).

use super::payment::{self, ChainState, Payment, PaymentError, PaymentRequirement, VerifiedPayment};
use super::replay::ReplaySet;
use std::collections::HashMap;
use subxt::client::{OnlineClientAtBlock, OnlineClientAtBlockImpl};
use subxt::config::substrate::SubstrateHeader;
use subxt::ext::frame_decode::storage::{IntoDecodableValues, IntoEncodableValues};
use subxt::ext::scale_decode::DecodeAsType;
use subxt::rpcs::{rpc_params, RpcClient};
use subxt::storage::PrefixOf;
use subxt::transactions::{Payload, SubmittableTransaction};
use subxt::utils::{AccountId32, H256};
use subxt::{ArcMetadata, OnlineClient, SubstrateConfig};
use subxt_signer::sr25519::Keypair;
use subxt_signer::SecretUri;

use orchestrator::outbound::{Guard, Origin, Refusal};

#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    #[error("cannot connect to the node at {url}: {source}")]
    Connect { url: String, source: Box<subxt::Error> },
    #[error("the node at {url} is not called: {refusal}")]
    Refused { url: String, refusal: Refusal },
    #[error("the node did not answer as expected: {0}")]
    Node(Box<subxt::Error>),
    #[error("the node returned no best block header")]
    NoBestBlock,
    #[error("payment refused: {0}")]
    Payment(#[from] PaymentError),
    #[error("settlement failed: {0}")]
    Settlement(Box<subxt::Error>),
    #[error("cannot read {item} from the chain: {source}")]
    Storage { item: String, source: Box<subxt::Error> },
    #[error("{item} has no value and no default at this block")]
    NoValue { item: String },
    #[error("{call} did not succeed in a finalized block: {source}")]
    Transaction { call: String, source: Box<subxt::Error> },
    #[error("not a secret seed, mnemonic or secret URI: {0}")]
    InvalidSeed(String),
    #[error("{uids} UIDs but {values} values: they must pair up")]
    LengthMismatch { uids: usize, values: usize },
    #[error("a commitment holds at most {max} bytes; this one has {len}")]
    CommitmentTooLong { len: usize, max: usize },
}

fn node(error: impl Into<subxt::Error>) -> ChainError {
    ChainError::Node(Box::new(error.into()))
}

fn settlement(error: impl Into<subxt::Error>) -> ChainError {
    ChainError::Settlement(Box::new(error.into()))
}

/// The client at one block, for storage reads and transactions.
pub(super) type AtBlock = OnlineClientAtBlock<SubstrateConfig>;
/// A signed transaction ready to submit.
type Transaction = SubmittableTransaction<SubstrateConfig, OnlineClientAtBlockImpl<SubstrateConfig>>;

/// A block by number and hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockId {
    pub number: u64,
    pub hash: H256,
}

/// The runtime's versions, which every signer payload includes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuntimeVersions {
    pub spec_version: u32,
    pub transaction_version: u32,
}

/// A connection to a subtensor node.
#[derive(Clone)]
pub struct ChainClient {
    api: OnlineClient<SubstrateConfig>,
    rpc: RpcClient,
}

impl ChainClient {
    /// Connects to a node's WebSocket JSON-RPC endpoint (`ws://` or `wss://`) through `guard`
    /// as an operator's URL: every address its host resolves to must be public or in a range
    /// the operator allowed (a node on localhost needs 127.0.0.1 allowed), and the connection
    /// goes to a checked address itself (see [`super::pinned`]). Plain `ws://` is accepted
    /// because validators usually run their own node beside them.
    pub async fn connect(guard: &Guard, url: &str) -> Result<ChainClient, ChainError> {
        let connect_error = |source: Box<subxt::Error>| ChainError::Connect { url: url.to_owned(), source };
        let (checked, addresses) = guard.resolve(url, Origin::Operator).await.map_err(|refusal| ChainError::Refused { url: url.to_owned(), refusal })?;
        let client = super::pinned::client(&checked, &addresses).await.map_err(|reason| connect_error(Box::new(subxt::rpcs::Error::Client(reason.into()).into())))?;
        let rpc = RpcClient::new(client);
        ChainClient::from_rpc_client(rpc).await.map_err(|e| match e {
            ChainError::Node(source) => connect_error(source),
            other => other,
        })
    }

    /// Wraps any JSON-RPC client: a node connection, or in tests subxt's `MockRpcClient`.
    pub async fn from_rpc_client(rpc: impl Into<RpcClient>) -> Result<ChainClient, ChainError> {
        let rpc = rpc.into();
        let api = OnlineClient::from_rpc_client(rpc.clone()).await.map_err(node)?;
        Ok(ChainClient { api, rpc })
    }

    pub fn genesis_hash(&self) -> H256 {
        self.api.genesis_hash()
    }

    /// The latest finalized block.
    pub async fn current_block(&self) -> Result<BlockId, ChainError> {
        let at = self.api.at_current_block().await.map_err(node)?;
        Ok(BlockId { number: at.block_number(), hash: at.block_hash() })
    }

    /// The runtime versions at the latest finalized block.
    pub async fn runtime_versions(&self) -> Result<RuntimeVersions, ChainError> {
        let at = self.api.at_current_block().await.map_err(node)?;
        Ok(RuntimeVersions { spec_version: at.spec_version(), transaction_version: at.transaction_version() })
    }

    /// The runtime metadata at the latest finalized block.
    pub async fn metadata(&self) -> Result<ArcMetadata, ChainError> {
        let at = self.api.at_current_block().await.map_err(node)?;
        Ok(at.metadata())
    }

    /// The hash of block `number` on the node's best chain, if it has one.
    pub async fn block_hash(&self, number: u64) -> Result<Option<H256>, ChainError> {
        self.rpc.request("chain_getBlockHash", rpc_params![number]).await.map_err(node)
    }

    /// Verifies a payment (see [`payment::verify_payment`]) against the chain's state now.
    ///
    /// The era is judged at the node's best block, not the finalized one: wallets take their
    /// checkpoint from the best block, whose era window may not have begun at the finalized one.
    pub async fn verify_payment(
        &self,
        payment: Payment<'_>,
        requirement: &PaymentRequirement,
        replay: &mut impl ReplaySet,
    ) -> Result<VerifiedPayment, ChainError> {
        let at = self.api.at_current_block().await.map_err(node)?;
        let current_block = self.best_block_number().await?;
        let chain = ChainState {
            genesis_hash: self.genesis_hash(),
            spec_version: at.spec_version(),
            transaction_version: at.transaction_version(),
            current_block,
        };
        let mut hashes = HashMap::new();
        for number in payment::checkpoint_blocks(payment.extrinsic, at.metadata_ref(), current_block) {
            if let Some(hash) = self.block_hash(number).await? {
                hashes.insert(number, hash);
            }
        }
        let verified = payment::check_payment(payment, at.metadata_ref(), &chain, &hashes, requirement)?;
        let account = self.account(&verified.payer).await?;
        if let Some(problem) = payment::funding_problem(&verified, &account) {
            return Err(problem.into());
        }
        Ok(payment::record(verified, replay)?)
    }

    /// The nonce and free balance of `account` at the latest finalized block (`System.Account`;
    /// an account the chain does not hold has nonce 0 and nothing).
    pub async fn account(&self, account: &AccountId32) -> Result<payment::Account, ChainError> {
        #[derive(DecodeAsType)]
        #[decode_as_type(crate_path = "subxt::ext::scale_decode")]
        struct AccountData {
            free: u128,
        }
        #[derive(DecodeAsType)]
        #[decode_as_type(crate_path = "subxt::ext::scale_decode")]
        struct AccountInfo {
            nonce: u64,
            data: AccountData,
        }
        let at = self.at(None).await?;
        let info: Option<AccountInfo> = read(&at, "System", "Account", (*account,)).await?;
        Ok(info.map_or(payment::Account { nonce: 0, free: 0 }, |info| payment::Account { nonce: info.nonce, free: info.data.free }))
    }

    /// Submits a (verified) extrinsic with `author_submitAndWatchExtrinsic` and waits until it
    /// is in a finalized block and dispatched without error; returns its hash.
    pub async fn settle(&self, extrinsic: &[u8]) -> Result<H256, ChainError> {
        let tx = self.api.tx().await.map_err(settlement)?;
        until_finalized(tx.from_bytes(extrinsic.to_vec())).await.map_err(settlement)
    }

    /// The client at `block`, or at the latest finalized block when none is given.
    pub(super) async fn at(&self, block: Option<H256>) -> Result<AtBlock, ChainError> {
        match block {
            Some(hash) => self.api.at_block(hash).await,
            None => self.api.at_current_block().await,
        }
        .map_err(node)
    }

    /// Signs `call` by `signer` at the latest finalized block (its nonce, a mortal era from
    /// there), submits it and waits as [`Self::settle`] does; returns the extrinsic hash.
    /// Calls by one signer must not overlap: each takes its nonce from the finalized state,
    /// which a call still pending has not changed.
    pub(super) async fn submit(&self, signer: &Keypair, call: &impl Payload) -> Result<H256, ChainError> {
        let failed = |source: subxt::Error| ChainError::Transaction {
            call: format!("{}.{}", call.pallet_name(), call.call_name()),
            source: Box::new(source),
        };
        let mut tx = self.api.tx().await.map_err(|e| failed(e.into()))?;
        let signed = tx.create_signed(call, signer, Default::default()).await.map_err(|e| failed(e.into()))?;
        until_finalized(signed).await.map_err(failed)
    }

    async fn best_block_number(&self) -> Result<u64, ChainError> {
        let header: Option<SubstrateHeader<H256>> = self.rpc.request("chain_getHeader", rpc_params![]).await.map_err(node)?;
        header.map(|header| header.number).ok_or(ChainError::NoBestBlock)
    }
}

/// The sr25519 keypair a secret names, as wallets and `subkey` accept it: a `0x`-prefixed
/// 32-byte hex seed (a Bittensor keyfile's `secretSeed`), a BIP-39 mnemonic, or either followed
/// by derivation junctions (`//Alice`). The error never repeats the secret.
pub fn keypair_from_seed(seed: &str) -> Result<Keypair, ChainError> {
    let uri: SecretUri = seed.parse().map_err(|e: subxt_signer::SecretUriError| ChainError::InvalidSeed(e.to_string()))?;
    Keypair::from_uri(&uri).map_err(|e| ChainError::InvalidSeed(e.to_string()))
}

/// Submits `tx` and waits until it is in a finalized block and dispatched without error.
async fn until_finalized(tx: Transaction) -> Result<H256, subxt::Error> {
    let progress = tx.submit_and_watch().await?;
    let events = progress.wait_for_finalized_success().await?;
    Ok(events.extrinsic_hash())
}

/// Reads storage item `pallet.item` at `keys` (`()` for a plain value), decoded as `V` against
/// the runtime's type for it: the stored value, else the item's declared default, else `None`.
pub(super) async fn read<K, V>(at: &AtBlock, pallet: &str, item: &str, keys: K) -> Result<Option<V>, ChainError>
where
    K: IntoEncodableValues + IntoDecodableValues,
    V: DecodeAsType,
{
    let failed = |source: subxt::Error| storage_error(pallet, item, source);
    let address = subxt::dynamic::storage::<K, V>(pallet, item);
    let Some(value) = at.storage().try_fetch(address, keys).await.map_err(|e| failed(e.into()))? else {
        return Ok(None);
    };
    value.decode().map(Some).map_err(|e| failed(e.into()))
}

/// [`read`] for an item that always has a value: those declared with a default.
pub(super) async fn read_required<K, V>(at: &AtBlock, pallet: &str, item: &str, keys: K) -> Result<V, ChainError>
where
    K: IntoEncodableValues + IntoDecodableValues,
    V: DecodeAsType,
{
    read(at, pallet, item, keys).await?.ok_or_else(|| ChainError::NoValue { item: format!("{pallet}.{item}") })
}

/// Every stored entry of map `pallet.item`, as its keys `K` (a tuple, one element per key) and
/// value `V`. Keys hashed without their value concatenated (plain `Blake2_128`, `Twox128`) cannot
/// be decoded; every map read this way uses `Identity` or a `Concat` hasher.
pub(super) async fn read_all<K, V>(at: &AtBlock, pallet: &str, item: &str) -> Result<Vec<(K, V)>, ChainError>
where
    K: IntoEncodableValues + IntoDecodableValues,
    (): PrefixOf<K>,
    V: DecodeAsType,
{
    let failed = |source: subxt::Error| storage_error(pallet, item, source);
    let address = subxt::dynamic::storage::<K, V>(pallet, item);
    let mut entries = at.storage().iter(address, ()).await.map_err(|e| failed(e.into()))?;
    let mut all = Vec::new();
    while let Some(entry) = entries.next().await {
        let entry = entry.map_err(|e| failed(e.into()))?;
        let keys = entry.key().and_then(|key| key.decode()).map_err(|e| failed(e.into()))?;
        all.push((keys, entry.value().decode().map_err(|e| failed(e.into()))?));
    }
    Ok(all)
}

fn storage_error(pallet: &str, item: &str, source: subxt::Error) -> ChainError {
    ChainError::Storage { item: format!("{pallet}.{item}"), source: Box::new(source) }
}
