//! Chain reads (subnets, identities, metagraphs, hyperparameters) against finney's real runtime
//! metadata (spec 393, `$ORCHESTRA_SUBTENSOR_METADATA` or `../shared/subtensor/`), with no
//! network.
//!
//! The mock node (`subnet::chain::testing`, feature `test-support`) serves storage that
//! these tests write: values SCALE-encoded here, under storage keys built here with the
//! runtime's hashers. A read of the wrong item, key order or hasher finds nothing, and a value
//! decoded as the wrong type fails. So these tests prove encoding of keys and decoding of values
//! against the real runtime metadata; not that a live chain holds such state, which only a live
//! node can show.

use subnet::chain::testing::{
    block_hash, blake2_128_concat, dev, identity, mock_node_with_storage, storage_key, Keypair, Storage, CURRENT,
};
use subnet::chain::{AccountId32, AxonInfo, BlockId, ChainClient, Hyperparameters, Metagraph, Neuron, SubnetIdentity};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::{Arc, Mutex};
use subxt::ext::codec::Encode;

/// The subnet the tests read, and one that exists with nothing else set.
const NETUID: u16 = 7;
const BARE_NETUID: u16 = 12;

/// Finney's defaults for the hyperparameters, from the metadata.
const DEFAULT_HYPERPARAMETERS: Hyperparameters = Hyperparameters {
    tempo: 360,
    commit_reveal_weights_enabled: true,
    weights_set_rate_limit: 100,
    weights_version_key: 0,
    min_allowed_weights: 1024,
    max_weights_limit: u16::MAX,
};

fn hotkey(keypair: &Keypair) -> AccountId32 {
    keypair.public_key().into()
}

/// `AxonInfo` as the runtime stores it: block, version, ip, port, ip_type, protocol and two
/// placeholder bytes.
fn stored_axon(block: u64, ip: u128, port: u16, ip_type: u8) -> (u64, u32, u128, u16, u8, u8, u8, u8) {
    (block, 3, ip, port, ip_type, 4, 0, 0)
}

fn put(storage: &mut Storage, item: &str, parts: &[Vec<u8>], value: impl Encode) {
    storage.insert(storage_key("SubtensorModule", item, parts), value.encode());
}

/// Subnets 0, 7 and 12 exist (3 was dissolved); subnet 7 has three neurons: Alice serving on
/// IPv4, Bob on IPv6, Charlie serving nothing.
fn chain_state() -> Storage {
    let mut storage = Storage::new();
    for (netuid, added) in [(0u16, true), (3, false), (NETUID, true), (BARE_NETUID, true)] {
        put(&mut storage, "NetworksAdded", &[identity(&netuid)], added);
    }
    let [alice, bob, charlie] = [hotkey(&dev::alice()), hotkey(&dev::bob()), hotkey(&dev::charlie())];
    put(&mut storage, "SubnetworkN", &[identity(&NETUID)], 3u16);
    for (uid, hotkey) in [alice, bob, charlie].into_iter().enumerate() {
        put(&mut storage, "Keys", &[identity(&NETUID), identity(&(uid as u16))], hotkey);
    }
    put(&mut storage, "Axons", &[identity(&NETUID), blake2_128_concat(&alice)], stored_axon(900, 0xcb00_7105, 8091, 4));
    let ipv6: u128 = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1).into();
    put(&mut storage, "Axons", &[identity(&NETUID), blake2_128_concat(&bob)], stored_axon(950, ipv6, 443, 6));
    put(&mut storage, "TotalHotkeyAlpha", &[blake2_128_concat(&alice), identity(&NETUID)], 1_500_000_000_000u64);
    put(&mut storage, "TotalHotkeyAlpha", &[blake2_128_concat(&bob), identity(&NETUID)], 20_000_000u64);
    // Charlie's stake on another subnet must not count on this one.
    put(&mut storage, "TotalHotkeyAlpha", &[blake2_128_concat(&charlie), identity(&3u16)], 7u64);
    put(&mut storage, "ValidatorPermit", &[identity(&NETUID)], vec![true, false, true]);
    // One entry short: the runtime's default (never updated) applies to Charlie.
    put(&mut storage, "LastUpdate", &[identity(&NETUID)], vec![1000u64, 0]);

    put(&mut storage, "Tempo", &[identity(&NETUID)], 99u16);
    put(&mut storage, "CommitRevealWeightsEnabled", &[identity(&NETUID)], false);
    put(&mut storage, "WeightsSetRateLimit", &[identity(&NETUID)], 50u64);
    put(&mut storage, "WeightsVersionKey", &[identity(&NETUID)], 42u64);
    put(&mut storage, "MinAllowedWeights", &[identity(&NETUID)], 2u16);
    put(&mut storage, "MaxWeightsLimit", &[identity(&NETUID)], 30_000u16);

    let identity_fields: [&[u8]; 8] = [
        b"Orchestra",
        b"https://github.com/example/orchestra",
        b"ops@example.org",
        b"https://orchestra.example.org",
        b"orchestra#0001",
        b"Routes objectives across subnets \xff",
        b"https://orchestra.example.org/logo.png",
        b"",
    ];
    put(&mut storage, "SubnetIdentitiesV3", &[blake2_128_concat(&NETUID)], identity_fields.map(<[u8]>::to_vec));
    storage
}

async fn chain(storage: Storage) -> ChainClient {
    ChainClient::from_rpc_client(mock_node_with_storage(Arc::new(Mutex::new(Vec::new())), true, storage)).await.unwrap()
}

#[tokio::test]
async fn lists_the_subnets_that_exist() {
    assert_eq!(chain(chain_state()).await.subnets(None).await.unwrap(), vec![0, NETUID, BARE_NETUID]);
}

#[tokio::test]
async fn reads_a_metagraph() {
    let metagraph = chain(chain_state()).await.metagraph(NETUID, None).await.unwrap();
    let expected = Metagraph {
        netuid: NETUID,
        block: BlockId { number: CURRENT, hash: block_hash(CURRENT) },
        neurons: vec![
            Neuron {
                uid: 0,
                hotkey: hotkey(&dev::alice()),
                axon: Some(AxonInfo { block: 900, version: 3, ip: IpAddr::V4(Ipv4Addr::new(203, 0, 113, 5)), port: 8091, protocol: 4 }),
                stake_rao: 1_500_000_000_000,
                validator_permit: true,
                last_update: 1000,
            },
            Neuron {
                uid: 1,
                hotkey: hotkey(&dev::bob()),
                axon: Some(AxonInfo { block: 950, version: 3, ip: "2001:db8::1".parse().unwrap(), port: 443, protocol: 4 }),
                stake_rao: 20_000_000,
                validator_permit: false,
                last_update: 0,
            },
            Neuron { uid: 2, hotkey: hotkey(&dev::charlie()), axon: None, stake_rao: 0, validator_permit: true, last_update: 0 },
        ],
    };
    assert_eq!(metagraph, expected);
    assert_eq!(metagraph.neurons[0].hotkey_ss58(), "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY");
}

#[tokio::test]
async fn reads_at_a_given_block() {
    let earlier = block_hash(CURRENT - 5);
    let metagraph = chain(chain_state()).await.metagraph(NETUID, Some(earlier)).await.unwrap();
    assert_eq!(metagraph.block, BlockId { number: CURRENT - 5, hash: earlier });
    assert_eq!(metagraph.neurons.len(), 3);
}

#[tokio::test]
async fn a_subnet_without_neurons_has_an_empty_metagraph() {
    let metagraph = chain(chain_state()).await.metagraph(BARE_NETUID, None).await.unwrap();
    assert!(metagraph.neurons.is_empty());
}

#[tokio::test]
async fn an_axon_whose_address_cannot_be_read_is_not_served() {
    let mut storage = chain_state();
    let dave = hotkey(&dev::dave());
    put(&mut storage, "SubnetworkN", &[identity(&BARE_NETUID)], 1u16);
    put(&mut storage, "Keys", &[identity(&BARE_NETUID), identity(&0u16)], dave);
    // An address family that is neither 4 nor 6.
    put(&mut storage, "Axons", &[identity(&BARE_NETUID), blake2_128_concat(&dave)], stored_axon(900, 1, 80, 5));
    let metagraph = chain(storage).await.metagraph(BARE_NETUID, None).await.unwrap();
    assert_eq!(metagraph.neurons[0].hotkey, dave);
    assert_eq!(metagraph.neurons[0].axon, None);
}

#[tokio::test]
async fn reads_hyperparameters_and_falls_back_to_the_runtime_defaults() {
    let chain = chain(chain_state()).await;
    let expected = Hyperparameters {
        tempo: 99,
        commit_reveal_weights_enabled: false,
        weights_set_rate_limit: 50,
        weights_version_key: 42,
        min_allowed_weights: 2,
        max_weights_limit: 30_000,
    };
    assert_eq!(chain.hyperparameters(NETUID, None).await.unwrap(), expected);
    assert_eq!(chain.hyperparameters(BARE_NETUID, None).await.unwrap(), DEFAULT_HYPERPARAMETERS);
}

#[tokio::test]
async fn reads_a_subnet_identity_as_lossy_utf8() {
    let chain = chain(chain_state()).await;
    let expected = SubnetIdentity {
        subnet_name: "Orchestra".into(),
        github_repo: "https://github.com/example/orchestra".into(),
        subnet_contact: "ops@example.org".into(),
        subnet_url: "https://orchestra.example.org".into(),
        discord: "orchestra#0001".into(),
        description: "Routes objectives across subnets \u{fffd}".into(),
        logo_url: "https://orchestra.example.org/logo.png".into(),
        additional: String::new(),
    };
    assert_eq!(chain.subnet_identity(NETUID, None).await.unwrap(), Some(expected));
    assert_eq!(chain.subnet_identity(BARE_NETUID, None).await.unwrap(), None);
}

#[tokio::test]
async fn reads_the_current_block() {
    let block = chain(Storage::new()).await.current_block().await.unwrap();
    assert_eq!(block, BlockId { number: CURRENT, hash: block_hash(CURRENT) });
}
