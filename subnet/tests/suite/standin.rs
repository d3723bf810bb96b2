//! The chain stand-in (`subnet::chain::testing::standin`) as the node's chain client meets it:
//! connected over real WebSocket through the outbound guard, a transfer that subxt signed
//! against the live chain verifies as a payment, settles to finality and moves balance; the
//! same extrinsic offered again, or a forged one, is refused and moves nothing.

use orchestrator::outbound::{Guard, Policy};
use subnet::chain::testing::standin::{Options, Standin};
use subnet::chain::testing::{account, decode_signed_call, dev};
use subnet::chain::{AccountId32, ChainClient, ChainError, MemoryReplaySet, Payment, PaymentError, PaymentRequirement};
use subxt::utils::MultiAddress;
use subxt::{OnlineClient, SubstrateConfig};

const ENDOWMENT: u64 = 1_000_000_000;
const PRICE: u128 = 250_000;

fn loopback_guard() -> Guard {
    Guard::new(Policy { operator_ranges: vec!["127.0.0.1".parse().unwrap()], ..Policy::default() }).unwrap()
}

/// Alice's `transfer_keep_alive(dest, amount)`, signed by subxt against the live stand-in.
async fn signed_transfer(url: &str, dest: AccountId32, amount: u128) -> Vec<u8> {
    let api = OnlineClient::<SubstrateConfig>::from_insecure_url(url).await.unwrap();
    let call = subxt::dynamic::tx("Balances", "transfer_keep_alive", (MultiAddress::<AccountId32, ()>::Id(dest), amount));
    let mut tx = api.tx().await.unwrap();
    tx.create_signed(&call, &dev::alice(), Default::default()).await.unwrap().into_encoded()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_payment_signed_against_the_stand_in_settles_and_moves_balance_once() {
    let alice = account(&dev::alice());
    let payee = account(&dev::bob());
    let standin = Standin::start(Options { endowed: vec![(alice, ENDOWMENT)], ..Options::default() }).await;
    let chain = ChainClient::connect(&loopback_guard(), standin.url()).await.unwrap();

    let first = chain.current_block().await.unwrap();
    assert_eq!(chain.account(&alice).await.unwrap().free, u128::from(ENDOWMENT));
    let extrinsic = signed_transfer(standin.url(), payee, PRICE).await;

    let requirement = PaymentRequirement { pay_to: payee, min_amount_rao: PRICE };
    let mut replay = MemoryReplaySet::default();
    let verified = chain.verify_payment(Payment { extrinsic: &extrinsic, from: &alice }, &requirement, &mut replay).await.unwrap();
    assert_eq!((verified.payer, verified.amount, verified.nonce), (alice, PRICE, 0));
    let transaction = chain.settle(&extrinsic).await.unwrap();
    assert_eq!(transaction, verified.extrinsic_hash);

    assert!(chain.current_block().await.unwrap().number > first.number, "blocks are made");
    assert_eq!(standin.account(&alice), (1, ENDOWMENT - PRICE as u64));
    assert_eq!(standin.account(&payee), (0, PRICE as u64));
    let account = chain.account(&alice).await.unwrap();
    assert_eq!((account.nonce, account.free), (1, u128::from(ENDOWMENT) - PRICE), "the client reads what the chain holds");
    let included = standin.included();
    assert_eq!(included.len(), 1);
    let call = decode_signed_call(&included[0].extrinsic);
    assert_eq!((call.signer, call.pallet.as_str(), call.call.as_str()), (alice, "Balances", "transfer_keep_alive"));

    // The same extrinsic again: its nonce is spent, so the payment check and the chain refuse it.
    let mut fresh_replay = MemoryReplaySet::default();
    match chain.verify_payment(Payment { extrinsic: &extrinsic, from: &alice }, &requirement, &mut fresh_replay).await {
        Err(ChainError::Payment(PaymentError::StaleNonce { nonce: 0, account_nonce: 1 })) => {}
        other => panic!("a spent extrinsic verified: {other:?}"),
    }
    assert!(matches!(chain.settle(&extrinsic).await, Err(ChainError::Settlement(_))), "the pool refuses a spent nonce");

    // A forged signature: one byte of the signature flipped.
    let mut forged = signed_transfer(standin.url(), payee, PRICE).await;
    let signature_byte = forged.len() - 60;
    forged[signature_byte] ^= 1;
    assert!(chain.settle(&forged).await.is_err(), "the pool refuses a bad signature or a changed call");

    assert_eq!(standin.included().len(), 1, "nothing else was included");
    assert_eq!(standin.account(&alice), (1, ENDOWMENT - PRICE as u64), "no balance moved");
    assert_eq!(standin.account(&payee), (0, PRICE as u64));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_transfer_the_signer_cannot_cover_is_refused_by_the_pool() {
    let alice = account(&dev::alice());
    let standin = Standin::start(Options { endowed: vec![(alice, 1_000)], ..Options::default() }).await;
    let chain = ChainClient::connect(&loopback_guard(), standin.url()).await.unwrap();
    // 600 of 1000 would leave 400, under the existential deposit `transfer_keep_alive` keeps.
    let extrinsic = signed_transfer(standin.url(), account(&dev::bob()), 600).await;
    assert!(matches!(chain.settle(&extrinsic).await, Err(ChainError::Settlement(_))));
    assert!(standin.included().is_empty());
    assert_eq!(standin.account(&alice), (0, 1_000));
}
