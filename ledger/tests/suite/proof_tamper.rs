//! Changing any part of a valid proof, or of the claim it is checked against, makes [`verify`]
//! refuse it.
//!
//! Random ledgers are built in memory with [`State::from_sorted`] (the trees a `Ledger` keeps
//! for its head) and a random key, present or not, is proven. The claim, in the JSON form a
//! client receives ([`Proven`]), then has exactly one thing changed: a bit of the trusted root,
//! of the value or of any hash in the proof; a bit of any index, count, gap or namespace number;
//! a character of any path; a sibling dropped or repeated; an absent value turned into a
//! present one. Every such change must be refused, by `verify` or already by deserialisation.
//!
//! A changed key is different: one exclusion proof covers every key in its gap, so a proof may
//! rightly hold for the changed key. There the property is soundness: `verify` accepts only
//! claims that are true of the ledger the root commits to.

use std::collections::BTreeMap;

use ledger::hash;
use ledger::{verify, EntryMeta, Key, Namespace, Proven, State};
use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::Value;

/// Something in a claim's JSON that can be changed.
#[derive(Debug)]
enum Site {
    /// A hash, or the hex of a value.
    Hex,
    /// A path.
    Text,
    /// An index, count, gap or namespace number.
    Number,
    /// A list of siblings.
    List,
    /// An absent value or neighbour.
    Null,
}

/// Every changeable site of a claim, as JSON pointers. The version is informational and the
/// proof's `kind` only selects a shape, so neither is part of what is proven.
fn sites(value: &Value, pointer: String, found: &mut Vec<(String, Site)>) {
    let site = match value {
        Value::Object(fields) => {
            for (name, field) in fields.iter().filter(|(name, _)| !matches!(name.as_str(), "version" | "kind")) {
                sites(field, format!("{pointer}/{name}"), found);
            }
            return;
        }
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                sites(item, format!("{pointer}/{index}"), found);
            }
            if items.is_empty() {
                return;
            }
            Site::List
        }
        Value::String(_) if pointer.ends_with("/path") => Site::Text,
        Value::String(_) => Site::Hex,
        Value::Number(_) => Site::Number,
        Value::Null => Site::Null,
        Value::Bool(_) => unreachable!("claims hold no booleans"),
    };
    found.push((pointer, site));
}

/// Changes `target` at one place chosen by `at` and `flip`; the result always differs.
fn change(target: &mut Value, site: &Site, at: Index, flip: u8) {
    match site {
        Site::Hex => {
            let text = target.as_str().expect("hex");
            let mut digits: Vec<char> = text.chars().collect();
            if digits.is_empty() {
                digits.extend(['0', '0']);
            } else {
                let i = at.index(digits.len());
                let digit = digits[i].to_digit(16).expect("a hex digit") ^ (1 << (flip % 4));
                digits[i] = char::from_digit(digit, 16).expect("a hex digit");
            }
            *target = Value::String(digits.into_iter().collect());
        }
        Site::Text => {
            let mut chars: Vec<char> = target.as_str().expect("a path").chars().collect();
            let i = at.index(chars.len());
            // Another printable ASCII character, so that a changed key is still a valid key.
            let offset = (u32::from(chars[i]).wrapping_sub(0x20) % 95 + 1 + u32::from(flip) % 94) % 95;
            chars[i] = char::from_u32(0x20 + offset).expect("ASCII");
            *target = Value::String(chars.into_iter().collect());
        }
        Site::Number => *target = Value::from(target.as_u64().expect("an unsigned number") ^ (1 << (flip % 64))),
        Site::List => {
            let items = target.as_array_mut().expect("a list");
            let i = at.index(items.len());
            if flip & 1 == 0 {
                items.remove(i);
            } else {
                items.insert(i, items[i].clone());
            }
        }
        Site::Null => *target = Value::String("00".into()),
    }
}

fn ledger_entries() -> impl Strategy<Value = BTreeMap<Key, Vec<u8>>> {
    prop::collection::btree_map(any_key(4), prop::collection::vec(any::<u8>(), 0..4), 0..12)
}

/// Keys in subnets `0..netuids` with short paths, so that random keys often hit or neighbour
/// the ledger's entries.
fn any_key(netuids: u16) -> impl Strategy<Value = Key> {
    (0..netuids, "[a-c]{1,3}").prop_map(|(netuid, path)| Key::new(Namespace::Subnet(netuid), path).expect("a valid path"))
}

/// Whether `verify` accepting `claim` would be right: the key holds exactly the claimed value.
fn is_true(claim: &Proven, entries: &BTreeMap<Key, Vec<u8>>) -> bool {
    entries.get(&claim.key) == claim.value.as_ref()
}

fn accepts(claim: &Proven) -> bool {
    verify(&claim.state_root, &claim.key, claim.value.as_deref(), &claim.proof).is_ok()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    #[test]
    fn every_change_to_a_claim_is_refused_unless_true(
        entries in ledger_entries(),
        key in any_key(5),
        site in any::<Index>(),
        at in any::<Index>(),
        flip in any::<u8>(),
    ) {
        let state = State::from_sorted(entries.iter().map(|(key, value)| {
            (key.clone(), EntryMeta { value_hash: hash::value_hash(value), version: 1 })
        }));
        let claim = Proven { version: 1, state_root: state.root(), key: key.clone(), value: entries.get(&key).cloned(), proof: state.prove(&key) };
        prop_assert!(accepts(&claim), "the untouched proof verifies");

        let mut json = serde_json::to_value(&claim).expect("JSON");
        let mut found = Vec::new();
        sites(&json, String::new(), &mut found);
        let (pointer, kind) = site.get(&found);
        change(json.pointer_mut(pointer).expect("the site exists"), kind, at, flip);
        let Ok(changed) = serde_json::from_value::<Proven>(json) else {
            return Ok(()); // Refused before it could be verified.
        };
        if pointer.starts_with("/key/") {
            prop_assert!(!accepts(&changed) || is_true(&changed, &entries), "a false claim verifies after changing {pointer}: {changed:?}");
        } else {
            prop_assert!(!accepts(&changed), "the claim still verifies after changing {pointer}: {changed:?}");
        }
    }
}
