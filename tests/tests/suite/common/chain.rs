//! A subnet on a chain stand-in: participants whose one key signs on chain (subxt) and off chain
//! (Epistula, receipts, diffs), the subnet's storage with a validator and two miners, and
//! loopback serving.

use ledger::hotkey::Hotkey;
use subnet::chain::testing::{blake2_128_concat, identity, storage_key, Storage};
use subnet::chain::{keypair_from_seed, AccountId32, Keypair};
use subxt::ext::codec::Encode;

/// The Orchestra subnet's netuid on the stand-in chain.
pub const NETUID: u16 = 7;

/// A participant's key, the same for the chain (subxt) and off chain (Epistula, receipts).
pub struct Participant {
    pub seed: [u8; 32],
    pub chain: Keypair,
    pub hotkey: Hotkey,
}

impl Participant {
    pub fn new(byte: u8) -> Participant {
        let seed = [byte; 32];
        let chain = keypair_from_seed(&format!("0x{}", hex::encode(seed))).unwrap();
        let hotkey = Hotkey::from_seed(&seed).unwrap();
        assert_eq!(AccountId32(chain.public_key().0).to_string(), hotkey.ss58(), "one key, two libraries");
        Participant { seed, chain, hotkey }
    }

    /// Another handle on the hotkey, for a component that keeps its own.
    pub fn hotkey(&self) -> Hotkey {
        Hotkey::from_seed(&self.seed).unwrap()
    }

    pub fn account(&self) -> AccountId32 {
        AccountId32(self.chain.public_key().0)
    }
}

/// Serves `app` on a loopback port; its port.
pub async fn serve(app: axum::Router) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    port
}

pub fn put(storage: &mut Storage, item: &str, parts: &[Vec<u8>], value: impl Encode) {
    storage.insert(storage_key("SubtensorModule", item, parts), value.encode());
}

/// Subnet 7: the validator at uid 0 with a permit, the honest miner at 1 and the forger at 2,
/// both serving axons on loopback; weights set directly, no rate limit.
pub fn chain_state(validator: &Participant, miners: [(&Participant, u16); 2]) -> Storage {
    let mut storage = Storage::new();
    let account = Participant::account;
    put(&mut storage, "NetworksAdded", &[identity(&NETUID)], true);
    put(&mut storage, "SubnetworkN", &[identity(&NETUID)], 3u16);
    put(&mut storage, "Keys", &[identity(&NETUID), identity(&0u16)], account(validator));
    for (uid, (miner, port)) in miners.iter().enumerate() {
        let uid = uid as u16 + 1;
        put(&mut storage, "Keys", &[identity(&NETUID), identity(&uid)], account(miner));
        let axon = (900u64, 1u32, u128::from(0x7f00_0001u32), *port, 4u8, 4u8, 0u8, 0u8);
        put(&mut storage, "Axons", &[identity(&NETUID), blake2_128_concat(&account(miner))], axon);
    }
    put(&mut storage, "TotalHotkeyAlpha", &[blake2_128_concat(&account(validator)), identity(&NETUID)], 1_000_000_000_000u64);
    put(&mut storage, "ValidatorPermit", &[identity(&NETUID)], vec![true, false, false]);
    put(&mut storage, "LastUpdate", &[identity(&NETUID)], vec![0u64, 0, 0]);
    put(&mut storage, "CommitRevealWeightsEnabled", &[identity(&NETUID)], false);
    put(&mut storage, "WeightsSetRateLimit", &[identity(&NETUID)], 0u64);
    put(&mut storage, "WeightsVersionKey", &[identity(&NETUID)], 3u64);
    put(&mut storage, "MinAllowedWeights", &[identity(&NETUID)], 1u16);
    put(&mut storage, "MaxWeightsLimit", &[identity(&NETUID)], u16::MAX);
    storage
}

