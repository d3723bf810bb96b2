//! A subnet on a chain stand-in: participants whose one key signs on chain (subxt) and off chain
//! (Epistula, receipts, diffs), the subnet's storage with a validator and two miners, and
//! loopback serving.

use ledger::hotkey::Hotkey;
use orchestrator::credentials::Credentials;
use orchestrator::orchestrate::{Config, Orchestrator};
use orchestrator::outbound::Policy;
use subnet::chain::testing::{subnet_storage, Storage};
use subnet::chain::{keypair_from_seed, AccountId32, Keypair};

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

    /// A validator's engine for this participant: its hotkey and `credentials`, calling loopback.
    pub fn engine(&self, credentials: Credentials) -> Orchestrator {
        Orchestrator::new(credentials, self.hotkey(), Config { outbound: Policy::loopback(), ..Config::default() }).unwrap()
    }
}

/// Serves `app` on a loopback port; its port.
pub async fn serve(app: axum::Router) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    port
}

/// Subnet 7: the validator at uid 0 with a permit, the honest miner at 1 and the forger at 2,
/// both serving axons on loopback; weights set directly, no rate limit.
pub fn chain_state(validator: &Participant, miners: [(&Participant, u16); 2]) -> Storage {
    subnet_storage(NETUID, &validator.account(), &miners.map(|(miner, port)| (miner.account(), port)))
}

