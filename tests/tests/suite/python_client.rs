//! The Python client's whole test suite, its live tests included, against three nodes on
//! loopback: a paid one (an API key with credits), a default one that charges no fee, where
//! the seed's snippet runs exactly as written, and one paid on chain (x402) that settles on a
//! chain stand-in, where the Python payer signs the transfers.


use std::path::Path;
use std::process::Command;

use subnet::chain::testing::standin::{Options as ChainOptions, Standin};
use subnet::chain::testing::{account, decode_signed_call, dev};
use subnet::chain::{keypair_from_seed, metadata_path, AccountId32};
use subxt::utils::MultiAddress;

use crate::common::{Options, Stack};

/// The payer's balance on the chain stand-in: 10 TAO.
const ENDOWMENT: u64 = 10_000_000_000;

#[tokio::test(flavor = "multi_thread")]
async fn the_python_client_passes_its_tests_against_a_running_node() {
    let stack = Stack::start(Options::default()).await;
    let free = Stack::start(Options { fee_rao: 0, ..Options::default() }).await;
    let free_url = free.url.clone();
    let seed = format!("0x{}", hex::encode(rand_seed()));
    let payer = account(&keypair_from_seed(&seed).unwrap());
    let payee = account(&dev::bob());
    let chain = Standin::start(ChainOptions { endowed: vec![(payer, ENDOWMENT)], ..ChainOptions::default() }).await;
    let on_chain = Stack::start_on_chain(Options::default(), chain.url(), &payee.to_string()).await;
    let (x402_url, chain_url, pay_to) = (on_chain.url.clone(), chain.url().to_owned(), payee.to_string());
    let package = Path::new(env!("CARGO_MANIFEST_DIR")).join("../clients/python");
    let url = stack.url.clone();
    let api_key = stack.api_key.clone();
    // pytest blocks; the node keeps serving on the runtime's other threads.
    let output = tokio::task::spawn_blocking(move || {
        Command::new("python3")
            .args(["-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider"])
            .current_dir(package)
            .env("ORCHESTRA_URL", url)
            .env("ORCHESTRA_API_KEY", api_key)
            .env("ORCHESTRA_FREE_URL", free_url)
            .env("ORCHESTRA_X402_URL", x402_url)
            .env("ORCHESTRA_CHAIN_URL", chain_url)
            .env("ORCHESTRA_X402_SEED", seed)
            .env("ORCHESTRA_PAY_TO", pay_to)
            .env("ORCHESTRA_SUBTENSOR_METADATA", metadata_path())
            .output()
            .expect("python3 runs (scripts/install-deps installs pytest and pydantic)")
    })
    .await
    .unwrap();
    let report = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "pytest failed:\n{report}");
    assert!(!report.contains("skipped"), "every test ran, the live ones included:\n{report}");
    assert!(report.contains(" passed"), "{report}");
    assert!(stack.desearch.request_count() >= 3, "the live tests reached the subnets through the paid node");
    assert!(free.desearch.request_count() >= 1, "the snippet reached the subnets through the default node");
    assert!(on_chain.desearch.request_count() >= 1, "paid runs reached the subnets through the node paid on chain");

    // What reached the chain: transfers the payer signed to the payee, and nothing else; no
    // more left the payer than reached the payee.
    let included = chain.included();
    assert!(included.len() >= 5, "each paid Python run settled one transfer: {}", included.len());
    let mut paid = 0u128;
    for transfer in &included {
        let call = decode_signed_call(&transfer.extrinsic);
        assert_eq!((call.signer, call.pallet.as_str(), call.call.as_str()), (payer, "Balances", "transfer_keep_alive"));
        assert_eq!(call.arg::<MultiAddress<AccountId32, ()>>("dest"), MultiAddress::Id(payee));
        paid += call.arg::<u128>("value");
    }
    assert_eq!(chain.account(&payee), (0, paid as u64));
    assert_eq!(chain.account(&payer), (included.len() as u32, ENDOWMENT - paid as u64));
}

fn rand_seed() -> [u8; 32] {
    std::array::from_fn(|_| rand::random::<u8>())
}
