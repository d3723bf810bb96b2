//! Reads of a subnet's public state from `SubtensorModule` storage: which subnets exist, how
//! they describe themselves, and their metagraphs.
//!
//! Terms:
//! - **netuid**: a subnet's number (u16); netuid 0 is the root network.
//! - **UID**: a registration slot in one subnet, `0..SubnetworkN(netuid)`. A UID keeps its
//!   number while its occupant changes: deregistration puts a new hotkey in the same slot.
//! - **hotkey**: the account that holds a UID and signs for it (weights, axon, commitments);
//!   shown as SS58 with Bittensor's prefix 42.
//! - **axon**: the endpoint a neuron serves (`serve_axon`): IP address, port and protocol. A
//!   neuron that never served one has none.
//! - **stake**: a hotkey's total alpha on the subnet (`TotalHotkeyAlpha`), in rao of the
//!   subnet's alpha token (10^-9 alpha).
//! - **validator permit**: whether the UID may set weights on others (`ValidatorPermit`).
//! - **last update**: the block at which the UID last set or committed weights (`LastUpdate`);
//!   0 when never.
//! - **metagraph**: all of a subnet's neurons (UID, hotkey, axon, stake, permit, last update) at
//!   one block.

use super::client::{read, read_all, read_required, AtBlock, BlockId, ChainClient, ChainError};
use futures::{StreamExt, TryStreamExt};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use subxt::ext::scale_decode::DecodeAsType;
use subxt::utils::{AccountId32, H256};

/// The pallet that holds subnets, neurons and weights.
pub(super) const SUBTENSOR: &str = "SubtensorModule";

/// How many neurons' storage reads a metagraph read keeps in flight: enough to hide the node's
/// latency, few enough not to trip a public endpoint's rate limit.
const NEURON_READS_IN_FLIGHT: usize = 16;

/// How a subnet describes itself (`SubnetIdentitiesV3`). The chain stores bytes; these are
/// them as UTF-8, with invalid sequences replaced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubnetIdentity {
    pub subnet_name: String,
    pub github_repo: String,
    pub subnet_contact: String,
    pub subnet_url: String,
    pub discord: String,
    pub description: String,
    pub logo_url: String,
    pub additional: String,
}

/// A subnet's neurons at one block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metagraph {
    pub netuid: u16,
    pub block: BlockId,
    /// Ordered by UID, one per UID.
    pub neurons: Vec<Neuron>,
}

/// One UID of a subnet and what the chain records about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Neuron {
    pub uid: u16,
    pub hotkey: AccountId32,
    pub axon: Option<AxonInfo>,
    pub stake_rao: u64,
    pub validator_permit: bool,
    pub last_update: u64,
}

impl Neuron {
    /// The hotkey as an SS58 address (prefix 42), as wallets and explorers show it.
    pub fn hotkey_ss58(&self) -> String {
        self.hotkey.to_string()
    }
}

/// A served axon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AxonInfo {
    /// The block at which it was served.
    pub block: u64,
    pub version: u32,
    pub ip: IpAddr,
    pub port: u16,
    pub protocol: u8,
}

/// `AxonInfo` as the runtime stores it: the address as an integer and its family apart.
#[derive(DecodeAsType)]
#[decode_as_type(crate_path = "subxt::ext::scale_decode")]
struct StoredAxonInfo {
    block: u64,
    version: u32,
    ip: u128,
    port: u16,
    ip_type: u8,
    protocol: u8,
}

impl StoredAxonInfo {
    /// `None` when the address cannot be read (an unknown family, or an IPv4 address wider than
    /// 32 bits): nobody could connect to it, and one bad record should not fail a whole metagraph.
    fn into_axon(self) -> Option<AxonInfo> {
        let ip = match self.ip_type {
            4 => IpAddr::V4(Ipv4Addr::from(u32::try_from(self.ip).ok()?)),
            6 => IpAddr::V6(Ipv6Addr::from(self.ip)),
            _ => return None,
        };
        Some(AxonInfo { block: self.block, version: self.version, ip, port: self.port, protocol: self.protocol })
    }
}

/// `SubnetIdentityV3` as the runtime stores it.
#[derive(DecodeAsType)]
#[decode_as_type(crate_path = "subxt::ext::scale_decode")]
struct StoredSubnetIdentity {
    subnet_name: Vec<u8>,
    github_repo: Vec<u8>,
    subnet_contact: Vec<u8>,
    subnet_url: Vec<u8>,
    discord: Vec<u8>,
    description: Vec<u8>,
    logo_url: Vec<u8>,
    additional: Vec<u8>,
}

impl From<StoredSubnetIdentity> for SubnetIdentity {
    fn from(stored: StoredSubnetIdentity) -> SubnetIdentity {
        let text = |bytes: Vec<u8>| String::from_utf8_lossy(&bytes).into_owned();
        SubnetIdentity {
            subnet_name: text(stored.subnet_name),
            github_repo: text(stored.github_repo),
            subnet_contact: text(stored.subnet_contact),
            subnet_url: text(stored.subnet_url),
            discord: text(stored.discord),
            description: text(stored.description),
            logo_url: text(stored.logo_url),
            additional: text(stored.additional),
        }
    }
}

/// Every read here is at `block`, or at the latest finalized block when `block` is `None`.
impl ChainClient {
    /// The netuids of the subnets that exist (`NetworksAdded` true), ascending.
    pub async fn subnets(&self, block: Option<H256>) -> Result<Vec<u16>, ChainError> {
        let at = self.at(block).await?;
        let added: Vec<((u16,), bool)> = read_all(&at, SUBTENSOR, "NetworksAdded").await?;
        let mut netuids: Vec<u16> = added.into_iter().filter_map(|((netuid,), added)| added.then_some(netuid)).collect();
        netuids.sort_unstable();
        Ok(netuids)
    }

    /// The subnet's identity, if its owner set one.
    pub async fn subnet_identity(&self, netuid: u16, block: Option<H256>) -> Result<Option<SubnetIdentity>, ChainError> {
        let at = self.at(block).await?;
        let stored: Option<StoredSubnetIdentity> = read(&at, SUBTENSOR, "SubnetIdentitiesV3", (netuid,)).await?;
        Ok(stored.map(SubnetIdentity::from))
    }

    /// The subnet's metagraph. A subnet that does not exist has no neurons.
    pub async fn metagraph(&self, netuid: u16, block: Option<H256>) -> Result<Metagraph, ChainError> {
        let at = self.at(block).await?;
        let (size, permits, last_updates) = futures::try_join!(
            read_required::<_, u16>(&at, SUBTENSOR, "SubnetworkN", (netuid,)),
            read_required::<_, Vec<bool>>(&at, SUBTENSOR, "ValidatorPermit", (netuid,)),
            read_required::<_, Vec<u64>>(&at, SUBTENSOR, "LastUpdate", (netuid,)),
        )?;
        // The per-UID vectors are resized at registration; a UID past their end has the
        // runtime's default for it: no permit, never updated.
        let neurons = futures::stream::iter(0..size)
            .map(|uid| {
                let validator_permit = permits.get(usize::from(uid)).copied().unwrap_or(false);
                let last_update = last_updates.get(usize::from(uid)).copied().unwrap_or(0);
                neuron(&at, netuid, uid, validator_permit, last_update)
            })
            .buffered(NEURON_READS_IN_FLIGHT)
            .try_collect()
            .await?;
        Ok(Metagraph { netuid, block: BlockId { number: at.block_number(), hash: at.block_hash() }, neurons })
    }
}

/// The neuron at `uid`: its hotkey (`Keys`), then that hotkey's axon and stake.
async fn neuron(at: &AtBlock, netuid: u16, uid: u16, validator_permit: bool, last_update: u64) -> Result<Neuron, ChainError> {
    let hotkey: AccountId32 = read_required(at, SUBTENSOR, "Keys", (netuid, uid)).await?;
    let (axon, stake_rao) = futures::try_join!(
        read::<_, StoredAxonInfo>(at, SUBTENSOR, "Axons", (netuid, hotkey)),
        read_required::<_, u64>(at, SUBTENSOR, "TotalHotkeyAlpha", (hotkey, netuid)),
    )?;
    Ok(Neuron { uid, hotkey, axon: axon.and_then(StoredAxonInfo::into_axon), stake_rao, validator_permit, last_update })
}
