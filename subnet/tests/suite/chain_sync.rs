//! Chain sync: on-chain subnet identities against the ledger's identity records.

use std::collections::BTreeMap;

use ledger::record::{Record, SubnetIdentity};
use ledger::{ChangeSet, Key, Namespace};
use subnet::ledger_work::chain_sync::{sync_changes, ChainSubnet, OnChainIdentity, MAX_SUMMARY_CHARS};
use testkit::test_ledger;

const DESEARCH: u16 = 22;
const NEW_SUBNET: u16 = 99;

/// The identity records of the test ledger (subnets 1, 13, 22 and 64), by netuid.
fn ledger_identities() -> BTreeMap<u16, SubnetIdentity> {
    let test = test_ledger(&[]);
    [1, 13, DESEARCH, 64]
        .into_iter()
        .map(|netuid| {
            let key = identity_key(netuid);
            let bytes = test.ledger.get(&key).expect("read the test ledger").unwrap_or_else(|| panic!("the test ledger has {key}"));
            match Record::decode(&key, &bytes).expect("the record decodes") {
                Record::Identity(identity) => (netuid, identity),
                other => panic!("{key} holds {other:?}"),
            }
        })
        .collect()
}

fn identity_key(netuid: u16) -> Key {
    Key::new(Namespace::Subnet(netuid), "identity").expect("a valid path")
}

/// The on-chain identity stating exactly what the ledger's `identity` says.
fn stated_as_in_ledger(identity: &SubnetIdentity) -> OnChainIdentity {
    OnChainIdentity {
        subnet_name: identity.name.clone(),
        description: identity.summary.clone(),
        subnet_url: identity.website.clone().unwrap_or_default(),
        github_repo: identity.github.clone().unwrap_or_default(),
        ..OnChainIdentity::default()
    }
}

/// The identity records `changes` writes, decoded as the ledger decodes them.
fn written(changes: &ChangeSet) -> Vec<SubnetIdentity> {
    changes
        .changes()
        .iter()
        .map(|change| {
            let value = change.value.as_deref().expect("sync changes are puts, never deletions");
            match Record::decode(&change.key, value).expect("a valid record") {
                Record::Identity(identity) => {
                    assert_eq!(change.key, identity_key(identity.netuid));
                    identity
                }
                other => panic!("{} holds {other:?}", change.key),
            }
        })
        .collect()
}

#[test]
fn a_newly_registered_subnet_gets_an_identity_from_its_on_chain_one() {
    let chain = [ChainSubnet {
        netuid: NEW_SUBNET,
        identity: Some(OnChainIdentity {
            subnet_name: "  Nova ".into(),
            description: "Forecasts\n  the weather,\tdecentralised.".into(),
            subnet_url: "https://nova.example".into(),
            github_repo: "".into(),
            discord: "nova#1234".into(),
            ..OnChainIdentity::default()
        }),
    }];

    let written = written(&sync_changes(&ledger_identities(), &chain));

    assert_eq!(
        written,
        [SubnetIdentity {
            netuid: NEW_SUBNET,
            name: "Nova".into(),
            summary: "Forecasts the weather, decentralised.".into(),
            capabilities: vec![],
            website: Some("https://nova.example".into()),
            github: None,
        }]
    );
}

#[test]
fn a_new_subnet_without_an_on_chain_identity_is_named_by_its_netuid() {
    let chain = [ChainSubnet { netuid: NEW_SUBNET, identity: None }];

    let written = written(&sync_changes(&BTreeMap::new(), &chain));

    assert_eq!(
        written,
        [SubnetIdentity { netuid: NEW_SUBNET, name: "SN99".into(), summary: "".into(), capabilities: vec![], website: None, github: None }]
    );
}

#[test]
fn a_changed_name_updates_the_identity_keeping_the_ledgers_capabilities() {
    let identities = ledger_identities();
    let desearch = &identities[&DESEARCH];
    assert!(!desearch.capabilities.is_empty(), "the test ledger classifies Desearch");
    let chain = [ChainSubnet {
        netuid: DESEARCH,
        identity: Some(OnChainIdentity { subnet_name: "Desearch AI".into(), ..stated_as_in_ledger(desearch) }),
    }];

    let written = written(&sync_changes(&identities, &chain));

    assert_eq!(written, [SubnetIdentity { name: "Desearch AI".into(), ..desearch.clone() }]);
}

#[test]
fn a_changed_website_and_repository_update_the_identity() {
    let identities = ledger_identities();
    let desearch = &identities[&DESEARCH];
    let chain = [ChainSubnet {
        netuid: DESEARCH,
        identity: Some(OnChainIdentity {
            subnet_url: "https://desearch.example".into(),
            github_repo: "https://github.com/example/desearch".into(),
            ..stated_as_in_ledger(desearch)
        }),
    }];

    let written = written(&sync_changes(&identities, &chain));

    assert_eq!(
        written,
        [SubnetIdentity {
            website: Some("https://desearch.example".into()),
            github: Some("https://github.com/example/desearch".into()),
            ..desearch.clone()
        }]
    );
}

#[test]
fn an_unchanged_identity_changes_nothing() {
    let identities = ledger_identities();
    let chain: Vec<ChainSubnet> =
        identities.values().map(|identity| ChainSubnet { netuid: identity.netuid, identity: Some(stated_as_in_ledger(identity)) }).collect();

    assert!(sync_changes(&identities, &chain).is_empty());
}

#[test]
fn empty_on_chain_fields_and_missing_identities_erase_nothing() {
    let identities = ledger_identities();
    let desearch = &identities[&DESEARCH];
    let chain = [
        ChainSubnet { netuid: DESEARCH, identity: Some(OnChainIdentity { subnet_name: desearch.name.clone(), ..OnChainIdentity::default() }) },
        ChainSubnet { netuid: 64, identity: None },
    ];

    assert!(sync_changes(&identities, &chain).is_empty());
}

#[test]
fn subnets_absent_on_chain_are_left_alone() {
    let identities = ledger_identities();

    assert!(sync_changes(&identities, &[]).is_empty());
}

#[test]
fn a_long_description_is_cut_at_a_word_boundary() {
    let description: String = (0..200).map(|word| format!("word{word} ")).collect();
    let chain = [ChainSubnet { netuid: NEW_SUBNET, identity: Some(OnChainIdentity { subnet_name: "Nova".into(), description: description.clone(), ..OnChainIdentity::default() }) }];

    let summary = written(&sync_changes(&BTreeMap::new(), &chain)).remove(0).summary;

    assert!(summary.chars().count() <= MAX_SUMMARY_CHARS, "{} characters", summary.chars().count());
    let kept = summary.strip_suffix('…').expect("an ellipsis marks the cut");
    assert!(description.starts_with(&format!("{kept} ")), "whole words only: {summary}");
    assert!(kept.chars().count() > MAX_SUMMARY_CHARS - "word199 ".len(), "no more than one word is dropped: {summary}");
}
