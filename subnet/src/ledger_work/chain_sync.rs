//! Chain sync: a subnet newly registered, or whose on-chain identity changed, shows up as a
//! proposed change to its ledger identity.
//!
//! Terms:
//! - **on-chain identity** ([`OnChainIdentity`]): what a subnet's owner registered on chain,
//!   all free text, each field empty when unset.
//! - **chain listing**: the subnets on chain ([`ChainSubnet`]), each with its on-chain identity
//!   if it has one.
//! - **derived identity**: the ledger identity the chain implies for a subnet:
//!   - name: the on-chain name, or `SN<netuid>` for a subnet new to the ledger that states
//!     none (a record needs a name);
//!   - summary: the on-chain description on one line, cut at a word boundary to at most
//!     [`MAX_SUMMARY_CHARS`] characters, an ellipsis marking the cut;
//!   - website and github: the on-chain URL and repository;
//!   - capabilities: the ledger's, since the chain says nothing of what a subnet can do; none
//!     for a subnet new to the ledger (the ledger allows an empty list, and classifying a
//!     subnet is a diff of its own).
//!
//!   An empty on-chain field states nothing: for a subnet the ledger knows, the ledger's value
//!   stays rather than being erased (ledger identities are researched from public sources, and
//!   many owners leave fields unset).
//! - **sync change**: the derived identity, written when the ledger has no identity for the
//!   subnet or a different one. Nothing is ever deleted: a subnet missing from the chain listing
//!   is left alone, since deregistration is a separate decision.

use std::collections::BTreeMap;

use ledger::record::{Record, SubnetIdentity};
use ledger::{Change, ChangeSet, Key, Namespace};

/// Longest summary taken from an on-chain description, in characters.
pub const MAX_SUMMARY_CHARS: usize = 280;

/// Marks a summary cut short.
const ELLIPSIS: char = '…';

/// A subnet's identity as registered on chain: the chain client's record, named apart from
/// the ledger's [`SubnetIdentity`].
pub use crate::chain::SubnetIdentity as OnChainIdentity;

/// One subnet of the chain listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainSubnet {
    pub netuid: u16,
    /// `None` when the owner registered no identity.
    pub identity: Option<OnChainIdentity>,
}

/// The identity records to write so that the ledger says what the chain says (see the module
/// documentation). `ledger_identities` holds the ledger's identity records by netuid.
pub fn sync_changes(ledger_identities: &BTreeMap<u16, SubnetIdentity>, chain: &[ChainSubnet]) -> ChangeSet {
    let changes = chain.iter().filter_map(|subnet| {
        let known = ledger_identities.get(&subnet.netuid);
        let derived = derived_identity(subnet, known);
        if known == Some(&derived) {
            return None;
        }
        let key = Key::new(Namespace::Subnet(subnet.netuid), "identity").expect("`identity` is a valid path");
        Some(Change { key, value: Some(Record::Identity(derived).encode()) })
    });
    ChangeSet::new(changes)
}

/// The identity the chain implies for `subnet`, given the ledger's (see the module documentation).
fn derived_identity(subnet: &ChainSubnet, known: Option<&SubnetIdentity>) -> SubnetIdentity {
    let stated = |field: fn(&OnChainIdentity) -> &String| {
        subnet.identity.as_ref().map(|identity| field(identity).trim()).filter(|text| !text.is_empty())
    };
    let name = stated(|identity| &identity.subnet_name)
        .map(str::to_owned)
        .or_else(|| known.map(|known| known.name.clone()))
        .unwrap_or_else(|| format!("SN{}", subnet.netuid));
    let summary = stated(|identity| &identity.description)
        .map(summarise)
        .or_else(|| known.map(|known| known.summary.clone()))
        .unwrap_or_default();
    let website = stated(|identity| &identity.subnet_url).map(str::to_owned).or_else(|| known.and_then(|known| known.website.clone()));
    let github = stated(|identity| &identity.github_repo).map(str::to_owned).or_else(|| known.and_then(|known| known.github.clone()));
    let capabilities = known.map(|known| known.capabilities.clone()).unwrap_or_default();
    SubnetIdentity { netuid: subnet.netuid, name, summary, capabilities, website, github }
}

/// `description` on one line, cut to [`MAX_SUMMARY_CHARS`] at a word boundary.
fn summarise(description: &str) -> String {
    let line = description.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() <= MAX_SUMMARY_CHARS {
        return line;
    }
    // One character more than fits with the ellipsis, so that a space right after the last
    // whole word is seen and the word kept.
    let head: String = line.chars().take(MAX_SUMMARY_CHARS).collect();
    let kept = match head.rfind(' ') {
        Some(space) => &head[..space],
        // A single word longer than a summary: cut inside it.
        None => head.char_indices().last().map_or(head.as_str(), |(last, _)| &head[..last]),
    };
    format!("{kept}{ELLIPSIS}")
}
