//! Epistula v2 signing: signed requests verify, every tampering is refused with the error that
//! names it, and the message and signature agree with a Python Bittensor wallet's.

use std::collections::HashMap;

use ledger::hotkey::{Hotkey, HotkeyError};
use subnet::epistula::{sign, signing_message, verify, EpistulaError, ReplayCache, Verified, DEFAULT_MAX_AGE_MS};

const BODY: &[u8] = br#"{"query":"abc"}"#;
const NOW_MS: u64 = 1_700_000_000_000;
/// Alice's well-known development address, as the receiver.
const ALICE: &str = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";

fn sender() -> Hotkey {
    Hotkey::from_seed(&[1; 32]).unwrap()
}

/// Headers as a receiver sees them: looked up by lowercase name.
type Headers = HashMap<String, String>;

fn signed(body: &[u8], signed_for: Option<&str>) -> Headers {
    sign(&sender(), body, signed_for, NOW_MS)
        .into_iter()
        .map(|(name, value)| (name.to_ascii_lowercase(), value))
        .collect()
}

fn check(
    headers: &Headers,
    body: &[u8],
    expected_signed_for: Option<&str>,
    now_ms: u64,
) -> Result<Verified, EpistulaError> {
    verify(|name| headers.get(name).cloned(), body, expected_signed_for, now_ms, DEFAULT_MAX_AGE_MS)
}

fn bad_signature() -> EpistulaError {
    EpistulaError::BadSignature(HotkeyError::BadSignature(sender().ss58()))
}

#[test]
fn a_signed_request_verifies() {
    let headers = signed(BODY, Some(ALICE));
    let verified = check(&headers, BODY, Some(ALICE), NOW_MS + 1_000).unwrap();
    assert_eq!(
        verified,
        Verified { signed_by: sender().ss58(), uuid: headers["epistula-uuid"].clone(), timestamp_ms: NOW_MS }
    );
    assert_eq!(headers["epistula-version"], "2");
    assert_eq!(headers["epistula-signed-for"], ALICE);

    // Without a receiver the header is absent and the message ends in an empty field.
    let headers = signed(BODY, None);
    assert!(!headers.contains_key("epistula-signed-for"));
    check(&headers, BODY, None, NOW_MS).unwrap();
}

/// A request accepted once is a replay when it comes again inside its window, whoever sends it;
/// another request of the same signer, or the same uuid from another signer, is not.
#[test]
fn a_replay_inside_the_window_is_refused() {
    let replays = ReplayCache::new(DEFAULT_MAX_AGE_MS);
    let headers = signed(BODY, Some(ALICE));
    let verified = check(&headers, BODY, Some(ALICE), NOW_MS).unwrap();
    assert!(replays.first_use(&verified, NOW_MS));
    let again = check(&headers, BODY, Some(ALICE), NOW_MS + DEFAULT_MAX_AGE_MS).unwrap();
    assert!(!replays.first_use(&again, NOW_MS + DEFAULT_MAX_AGE_MS), "the same request again is a replay");

    let other = check(&signed(BODY, Some(ALICE)), BODY, Some(ALICE), NOW_MS).unwrap();
    assert!(replays.first_use(&other, NOW_MS), "a new uuid is a new request");
    let elsewhere = Verified { signed_by: Hotkey::from_seed(&[2; 32]).unwrap().ss58(), ..verified.clone() };
    assert!(replays.first_use(&elsewhere, NOW_MS), "uuids are per signer");

    // A uuid that is not one (a long one would fill the cache) is refused before anything.
    let mut long_uuid = headers.clone();
    long_uuid.insert("epistula-uuid".into(), "a".repeat(5000));
    assert!(matches!(check(&long_uuid, BODY, Some(ALICE), NOW_MS), Err(EpistulaError::BadUuid(_))));

    // Past the window the entry is forgotten, and verification refuses the old timestamp itself.
    let late = NOW_MS + DEFAULT_MAX_AGE_MS + 1;
    assert!(matches!(check(&headers, BODY, Some(ALICE), late), Err(EpistulaError::Stale { .. })));
    assert!(replays.first_use(&verified, late), "forgotten once it can no longer verify");
}

#[test]
fn uuids_are_random_version_4() {
    let first = signed(BODY, None)["epistula-uuid"].clone();
    let second = signed(BODY, None)["epistula-uuid"].clone();
    assert_ne!(first, second);
    let groups: Vec<&str> = first.split('-').collect();
    assert_eq!(groups.iter().map(|group| group.len()).collect::<Vec<_>>(), vec![8, 4, 4, 4, 12]);
    assert!(groups[2].starts_with('4'), "version nibble: {first}");
    assert!(matches!(groups[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b'), "variant bits: {first}");
}

#[test]
fn tampering_breaks_the_signature() {
    let headers = signed(BODY, None);
    assert_eq!(check(&headers, br#"{"query":"abd"}"#, None, NOW_MS), Err(bad_signature()));

    let mut other_uuid = headers.clone();
    other_uuid.insert("epistula-uuid".into(), "00000000-0000-4000-8000-000000000000".into());
    assert_eq!(check(&other_uuid, BODY, None, NOW_MS), Err(bad_signature()));

    let mut other_time = headers.clone();
    other_time.insert("epistula-timestamp".into(), (NOW_MS + 1).to_string());
    assert_eq!(check(&other_time, BODY, None, NOW_MS), Err(bad_signature()));

    // Claiming another signer: the signature is checked against that signer's key.
    let mut other_signer = headers.clone();
    other_signer.insert("epistula-signed-by".into(), ALICE.into());
    assert_eq!(
        check(&other_signer, BODY, None, NOW_MS),
        Err(EpistulaError::BadSignature(HotkeyError::BadSignature(ALICE.into())))
    );
}

#[test]
fn a_request_signed_for_another_receiver_is_refused() {
    let headers = signed(BODY, Some(ALICE));
    let bob = Hotkey::from_seed(&[2; 32]).unwrap().ss58();
    assert_eq!(
        check(&headers, BODY, Some(&bob), NOW_MS),
        Err(EpistulaError::SignedForMismatch { expected: Some(bob.clone()), found: Some(ALICE.into()) })
    );
    // Nor may a request made for one receiver be passed off as one for no one, or the reverse.
    assert_eq!(
        check(&headers, BODY, None, NOW_MS),
        Err(EpistulaError::SignedForMismatch { expected: None, found: Some(ALICE.into()) })
    );
    let unaddressed = signed(BODY, None);
    assert_eq!(
        check(&unaddressed, BODY, Some(ALICE), NOW_MS),
        Err(EpistulaError::SignedForMismatch { expected: Some(ALICE.into()), found: None })
    );
    // Rewriting the header to match the receiver breaks the signature instead.
    let mut readdressed = headers.clone();
    readdressed.insert("epistula-signed-for".into(), bob.clone());
    assert_eq!(check(&readdressed, BODY, Some(&bob), NOW_MS), Err(bad_signature()));
}

#[test]
fn stale_and_future_requests_are_refused() {
    let headers = signed(BODY, None);
    // Exactly max_age old still passes; one millisecond more does not.
    check(&headers, BODY, None, NOW_MS + DEFAULT_MAX_AGE_MS).unwrap();
    assert_eq!(
        check(&headers, BODY, None, NOW_MS + DEFAULT_MAX_AGE_MS + 1),
        Err(EpistulaError::Stale {
            timestamp_ms: NOW_MS,
            now_ms: NOW_MS + DEFAULT_MAX_AGE_MS + 1,
            max_age_ms: DEFAULT_MAX_AGE_MS
        })
    );
    check(&headers, BODY, None, NOW_MS - DEFAULT_MAX_AGE_MS).unwrap();
    assert_eq!(
        check(&headers, BODY, None, NOW_MS - DEFAULT_MAX_AGE_MS - 1),
        Err(EpistulaError::FromTheFuture {
            timestamp_ms: NOW_MS,
            now_ms: NOW_MS - DEFAULT_MAX_AGE_MS - 1,
            max_age_ms: DEFAULT_MAX_AGE_MS
        })
    );
}

#[test]
fn malformed_headers_are_named() {
    let headers = signed(BODY, None);
    for (name, canonical) in [
        ("epistula-version", "Epistula-Version"),
        ("epistula-timestamp", "Epistula-Timestamp"),
        ("epistula-uuid", "Epistula-Uuid"),
        ("epistula-signed-by", "Epistula-Signed-By"),
        ("epistula-request-signature", "Epistula-Request-Signature"),
    ] {
        let mut missing = headers.clone();
        missing.remove(name);
        assert_eq!(check(&missing, BODY, None, NOW_MS), Err(EpistulaError::MissingHeader(canonical)));
    }

    let mut version_1 = headers.clone();
    version_1.insert("epistula-version".into(), "1".into());
    assert_eq!(check(&version_1, BODY, None, NOW_MS), Err(EpistulaError::WrongVersion("1".into())));

    let mut bad_time = headers.clone();
    bad_time.insert("epistula-timestamp".into(), "soon".into());
    assert_eq!(check(&bad_time, BODY, None, NOW_MS), Err(EpistulaError::BadTimestamp("soon".into())));

    let mut not_hex = headers.clone();
    not_hex.insert("epistula-request-signature".into(), "0xnot-hex".into());
    assert_eq!(check(&not_hex, BODY, None, NOW_MS), Err(EpistulaError::BadHex));

    let mut short = headers.clone();
    short.insert("epistula-request-signature".into(), "0xabcd".into());
    assert_eq!(check(&short, BODY, None, NOW_MS), Err(EpistulaError::BadSignature(HotkeyError::MalformedSignature)));

    let mut not_an_address = headers;
    not_an_address.insert("epistula-signed-by".into(), "nobody".into());
    assert!(matches!(
        check(&not_an_address, BODY, None, NOW_MS),
        Err(EpistulaError::BadSignature(HotkeyError::BadAddress(..)))
    ));
}

/// The message and a signature made by a Python Bittensor wallet (`bittensor_wallet.Keypair`
/// from the seed `0x0101…01`, signing the same string): the format matches byte for byte, and
/// a signature from the other implementation verifies here.
#[test]
fn agrees_with_a_python_wallet() {
    assert_eq!(sender().ss58(), "5CcyqxXnJucaCnQQvvUg5EPzj1uoNAxACZvzArHw5aVDvgNH");
    let uuid = "6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b";
    // sha256 of the body, uuid, timestamp and receiver, joined by dots.
    assert_eq!(
        signing_message(BODY, uuid, NOW_MS, Some(ALICE)),
        "5584f93d76b1acf0e0b0385ad01b68fa4533e01d342e264df00814f3385e0041.6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b.1700000000000.5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"
    );
    // Without a receiver the last field is empty: sha256("") and a trailing dot.
    assert_eq!(
        signing_message(b"", uuid, 7, None),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855.6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b.7."
    );

    let headers: Headers = [
        ("epistula-version", "2"),
        ("epistula-timestamp", "1700000000000"),
        ("epistula-uuid", uuid),
        ("epistula-signed-by", "5CcyqxXnJucaCnQQvvUg5EPzj1uoNAxACZvzArHw5aVDvgNH"),
        ("epistula-signed-for", ALICE),
        (
            "epistula-request-signature",
            "0x8a555f5954078849cc69b45516310db7954553e00dea132a35552f91e70fda7017c251dc8452e02265fe753c3efedefb4d5065a44db9152b4e1b08868044778e",
        ),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value.to_owned()))
    .collect();
    let verified = check(&headers, BODY, Some(ALICE), NOW_MS).unwrap();
    assert_eq!(verified.signed_by, sender().ss58());
}
