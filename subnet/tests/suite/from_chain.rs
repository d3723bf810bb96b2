//! The chain's subnets, identities and validator permits as ledger changes, read through subxt
//! from a mock node serving finney's real runtime metadata (this proves the reads' encoding and
//! decoding against the real runtime, not that a live chain holds such state).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use ledger::record::{Record, Stake, SubnetIdentity};
use ledger::{Key, Namespace, SystemNamespace};
use subnet::chain::testing::{blake2_128_concat, dev, identity, mock_node_with_storage, storage_key, Keypair, Storage};
use subnet::chain::{AccountId32, ChainClient};
use subnet::ledger_work::chain_sync::sync_changes;
use subnet::ledger_work::from_chain::{chain_subnets, validator_set_changes};
use subxt::ext::codec::Encode;

const NETUID: u16 = 7;

fn put(storage: &mut Storage, item: &str, parts: &[Vec<u8>], value: impl Encode) {
    storage.insert(storage_key("SubtensorModule", item, parts), value.encode());
}

fn account(keypair: &Keypair) -> AccountId32 {
    keypair.public_key().into()
}

/// Subnet 7 (Orchestra, known to the ledger under another name) and subnet 99 (new); on 7,
/// Alice and Bob hold validator permits, Charlie does not.
async fn chain() -> ChainClient {
    let mut storage = Storage::new();
    for netuid in [NETUID, 99] {
        put(&mut storage, "NetworksAdded", &[identity(&netuid)], true);
    }
    let fields = |name: &[u8], url: &[u8]| -> [Vec<u8>; 8] { [name.to_vec(), b"https://github.com/x/y".to_vec(), vec![], url.to_vec(), vec![], b"Routes objectives".to_vec(), vec![], vec![]] };
    put(&mut storage, "SubnetIdentitiesV3", &[blake2_128_concat(&NETUID)], fields(b"Orchestra", b"https://orchestra.example"));
    put(&mut storage, "SubnetIdentitiesV3", &[blake2_128_concat(&99u16)], fields(b"Newcomer", b""));
    let neurons = [account(&dev::alice()), account(&dev::bob()), account(&dev::charlie())];
    put(&mut storage, "SubnetworkN", &[identity(&NETUID)], 3u16);
    for (uid, hotkey) in neurons.iter().enumerate() {
        put(&mut storage, "Keys", &[identity(&NETUID), identity(&(uid as u16))], *hotkey);
        put(&mut storage, "TotalHotkeyAlpha", &[blake2_128_concat(hotkey), identity(&NETUID)], 1_000u64 * (uid as u64 + 1));
    }
    put(&mut storage, "ValidatorPermit", &[identity(&NETUID)], vec![true, true, false]);
    ChainClient::from_rpc_client(mock_node_with_storage(Arc::new(Mutex::new(Vec::new())), true, storage)).await.unwrap()
}

#[tokio::test]
async fn new_and_renamed_subnets_become_identity_changes() {
    let chain = chain().await;
    let known = SubnetIdentity { netuid: NETUID, name: "Old name".into(), summary: "s".into(), capabilities: vec!["web-search".into()], website: None, github: None };
    let changes = sync_changes(&BTreeMap::from([(NETUID, known)]), &chain_subnets(&chain).await.unwrap());
    let written: Vec<(u16, SubnetIdentity)> = changes
        .changes()
        .iter()
        .map(|change| {
            let Namespace::Subnet(netuid) = change.key.namespace else { panic!("a subnet key") };
            let Record::Identity(identity) = Record::decode(&change.key, change.value.as_ref().unwrap()).unwrap() else { panic!("an identity") };
            (netuid, identity)
        })
        .collect();
    assert_eq!(written.len(), 2);
    assert_eq!((written[0].0, written[0].1.name.as_str()), (NETUID, "Orchestra"));
    assert_eq!(written[0].1.capabilities, ["web-search"], "what the subnet can do is the ledger's, kept");
    assert_eq!(written[0].1.website.as_deref(), Some("https://orchestra.example"));
    assert_eq!((written[1].0, written[1].1.name.as_str(), written[1].1.website.as_deref()), (99, "Newcomer", None));
}

#[tokio::test]
async fn the_validator_set_follows_the_metagraphs_permits_and_stakes() {
    let chain = chain().await;
    let metagraph = chain.metagraph(NETUID, None).await.unwrap();
    let alice = account(&dev::alice()).to_string();
    let bob = account(&dev::bob()).to_string();
    let charlie = account(&dev::charlie()).to_string();
    // The ledger has Alice at her stake, Charlie (who lost his permit) and not yet Bob.
    let current = BTreeMap::from([(alice.clone(), 1_000), (charlie.clone(), 5)]);
    let changes = validator_set_changes(&current, &metagraph);
    let key = |hotkey: &str| Key::new(Namespace::System(SystemNamespace::Validators), hotkey).unwrap();
    let by_key: BTreeMap<&Key, Option<&Vec<u8>>> = changes.changes().iter().map(|change| (&change.key, change.value.as_ref())).collect();
    assert_eq!(by_key.len(), 2, "Alice is unchanged");
    assert_eq!(by_key[&key(&bob)].map(|value| Record::decode(&key(&bob), value).unwrap()), Some(Record::Stake(Stake { rao: 2_000 })));
    assert_eq!(by_key[&key(&charlie)], None, "Charlie is removed");
}
