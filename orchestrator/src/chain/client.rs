//! [`ChainClient`]: one connection to a subtensor node, through subxt's `OnlineClient` and the
//! raw JSON-RPC client beneath it (for the few plain calls subxt keeps internal).

use super::payment::{self, ChainState, Payment, PaymentError, PaymentRequirement, VerifiedPayment};
use super::replay::ReplaySet;
use std::collections::HashMap;
use subxt::config::substrate::SubstrateHeader;
use subxt::rpcs::{rpc_params, RpcClient};
use subxt::utils::H256;
use subxt::{ArcMetadata, OnlineClient, SubstrateConfig};

#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    #[error("cannot connect to the node at {url}: {source}")]
    Connect { url: String, source: Box<subxt::Error> },
    #[error("the node did not answer as expected: {0}")]
    Node(Box<subxt::Error>),
    #[error("the node returned no best block header")]
    NoBestBlock,
    #[error("payment refused: {0}")]
    Payment(#[from] PaymentError),
    #[error("settlement failed: {0}")]
    Settlement(Box<subxt::Error>),
}

fn node(error: impl Into<subxt::Error>) -> ChainError {
    ChainError::Node(Box::new(error.into()))
}

fn settlement(error: impl Into<subxt::Error>) -> ChainError {
    ChainError::Settlement(Box::new(error.into()))
}

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
    /// Connects to a node's WebSocket or HTTP JSON-RPC endpoint. Plain `ws://` is accepted
    /// because validators usually run their own node on localhost.
    pub async fn connect(url: &str) -> Result<ChainClient, ChainError> {
        let connect_error = |source: Box<subxt::Error>| ChainError::Connect { url: url.to_owned(), source };
        let rpc = RpcClient::from_insecure_url(url).await.map_err(|e| connect_error(Box::new(e.into())))?;
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
        Ok(payment::verify_payment(payment, at.metadata_ref(), &chain, &hashes, requirement, replay)?)
    }

    /// Submits a (verified) extrinsic with `author_submitAndWatchExtrinsic` and waits until it
    /// is in a finalized block and dispatched without error; returns its hash.
    pub async fn settle(&self, extrinsic: &[u8]) -> Result<H256, ChainError> {
        let tx = self.api.tx().await.map_err(settlement)?;
        let progress = tx.from_bytes(extrinsic.to_vec()).submit_and_watch().await.map_err(settlement)?;
        let events = progress.wait_for_finalized_success().await.map_err(settlement)?;
        Ok(events.extrinsic_hash())
    }

    async fn best_block_number(&self) -> Result<u64, ChainError> {
        let header: Option<SubstrateHeader<H256>> = self.rpc.request("chain_getHeader", rpc_params![]).await.map_err(node)?;
        header.map(|header| header.number).ok_or(ChainError::NoBestBlock)
    }
}
