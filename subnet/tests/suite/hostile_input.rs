//! Decoders of network input in the orchestrator, fed arbitrary bytes: Epistula headers and
//! bodies, and payment extrinsics checked against the real runtime metadata. Each answers with
//! an error, never a panic.

use subnet::chain::testing::{account, dev, genesis, metadata, CURRENT, SPEC_VERSION, TX_VERSION};
use subnet::chain::{check_payment, ChainState, Payment, PaymentRequirement, H256};
use subnet::epistula;
use proptest::prelude::*;

fn header_text() -> impl Strategy<Value = Option<String>> {
    proptest::option::of(prop_oneof![".{0,80}", "0x[0-9a-f]{0,140}", "[0-9]{0,20}", Just("2".to_owned())])
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_epistula_headers_are_refused_without_panic(
        version in header_text(),
        timestamp in header_text(),
        uuid in header_text(),
        signed_by in header_text(),
        signed_for in header_text(),
        signature in header_text(),
        body in proptest::collection::vec(any::<u8>(), 0..256),
    ) {
        let headers = [
            ("epistula-version", version),
            ("epistula-timestamp", timestamp),
            ("epistula-uuid", uuid),
            ("epistula-signed-by", signed_by),
            ("epistula-signed-for", signed_for),
            ("epistula-request-signature", signature),
        ];
        let lookup = |name: &str| headers.iter().find(|(header, _)| *header == name).and_then(|(_, value)| value.clone());
        prop_assert!(epistula::verify(lookup, &body, None, 1_700_000_000_000, epistula::DEFAULT_MAX_AGE_MS).is_err());
    }

    #[test]
    fn arbitrary_payment_extrinsics_are_refused_without_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let chain = ChainState { genesis_hash: genesis(), spec_version: SPEC_VERSION, transaction_version: TX_VERSION, current_block: CURRENT };
        let hashes: std::collections::HashMap<u64, H256> = std::collections::HashMap::new();
        let requirement = PaymentRequirement { pay_to: account(&dev::bob()), min_amount_rao: 1 };
        let payment = Payment { extrinsic: &bytes, from: &account(&dev::alice()) };
        prop_assert!(check_payment(payment, metadata(), &chain, &hashes, &requirement).is_err());
    }
}
