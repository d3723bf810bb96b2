//! Hash-locked receipts of subnet calls: what a miner hands a validator to prove which calls it
//! made for one challenge, in which order, with what result and at what cost.
//!
//! Terms:
//! - **nonce**: 32 bytes the validator picks for one request (the challenge).
//! - **call**: the facts of one subnet call ([`Call`]): subnet, endpoint, request and response
//!   hashes, HTTP status, start time, duration, cost (in rao and in micro-USD) and the hash of
//!   its **cost evidence**: the response headers the endpoint's invocation spec reads the cost
//!   from ([`cost_evidence_hash`]), so that a holder of the response can check the cost claimed.
//! - **receipt**: a call with its position (`index`) and `previous`, the hash of the receipt
//!   before it or, for receipt 0, the hash of the challenge. Every receipt therefore depends on
//!   the nonce and on all receipts before it: none can be made before the nonce is known,
//!   reordered, dropped or carried over to another nonce without breaking a link.
//! - **chain**: the receipts of one nonce, built with [`ReceiptChain`].
//! - **root**: the commitment to the whole chain: a Merkle root over the receipt hashes bound to
//!   the receipt count and the nonce.
//! - **bundle**: the format, nonce, receipts, root, the miner's SS58 address and its sr25519
//!   signature over the root ([`ReceiptBundle`]); a validator checks it with [`verify`].
//! - **format**: the version of the layout below, [`FORMAT`]. A later format uses new tags, so
//!   a bundle relabelled with another format cannot verify under it; verifiers refuse formats
//!   they do not know. `docs/SPEC.md` (section 15) specifies format 2 with test vectors.
//!
//! Hashes are blake3 over byte layouts defined here, never over a serde encoding, so a JSON
//! round trip or a field reordering in a struct cannot change them. Integers are big-endian,
//! strings are `u32be(len) || utf8`, hashes are their 32 bytes. Every preimage starts with a
//! 14-byte ASCII tag naming its kind; the tags all have the same length, so none is a prefix of
//! another and no preimage of one kind can be read as another.
//!
//! | kind      | preimage |
//! |-----------|----------|
//! | challenge | `"ORCH-RCPT-CHAL" \|\| nonce` |
//! | receipt   | `"ORCH-RCPT-CAL2" \|\| u64be(index) \|\| u16be(subnet) \|\| str(endpoint) \|\| request_hash \|\| response_hash \|\| u16be(status) \|\| u64be(started_ms) \|\| u64be(duration_ms) \|\| u64be(cost_rao) \|\| u64be(cost_usd_micros) \|\| cost_evidence_hash \|\| previous` |
//! | cost      | `"ORCH-RCPT-COST" \|\| u32be(count) \|\| (str(name) \|\| str(value))*` (the cost headers, names lowercase, sorted) |
//! | body      | `"ORCH-RCPT-BODY" \|\| bytes` (a request or response body, see [`body_hash`]) |
//! | root      | `"ORCH-RCPT-ROOT" \|\| nonce \|\| u64be(count) \|\| tree_root` |
//! | signed    | `"ORCH-RCPT-SIGN" \|\| root` (the message the miner signs) |
//!
//! `tree_root` is the ledger's merkle_light tree ([`ledger::Tree`]) over the receipt hashes in
//! order: zero for no receipts, the receipt hash itself for one. Binding the count closes
//! merkle_light's odd-level duplication (`tree([a, b, c]) == tree([a, b, c, c])`); binding the
//! nonce makes even an empty chain's root specific to its challenge.
//!
//! [`verify`] proves that the bundle is internally consistent and signed by `bundle.miner`; the
//! validator must still check that `miner` is the hotkey it asked.

use ledger::hash::Hash;
use ledger::hotkey::{verify_signature, Hotkey, HotkeyError};
use ledger::Tree;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

const TAG_CHALLENGE: &[u8; 14] = b"ORCH-RCPT-CHAL";
const TAG_RECEIPT: &[u8; 14] = b"ORCH-RCPT-CAL2";
const TAG_COST: &[u8; 14] = b"ORCH-RCPT-COST";
const TAG_BODY: &[u8; 14] = b"ORCH-RCPT-BODY";
const TAG_ROOT: &[u8; 14] = b"ORCH-RCPT-ROOT";
const TAG_SIGNED: &[u8; 14] = b"ORCH-RCPT-SIGN";

/// The format of the receipts this code makes and verifies.
pub const FORMAT: u32 = 2;

/// The validator's challenge. Serialised as 64 hex digits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Nonce(pub [u8; 32]);

/// The facts of one subnet call, as the executor observed them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Call {
    /// The subnet's netuid.
    pub subnet: u16,
    /// The endpoint's name in the ledger.
    pub endpoint: String,
    pub request_hash: Hash,
    pub response_hash: Hash,
    /// The HTTP status of the response.
    pub status: u16,
    /// Unix time in milliseconds when the request was sent.
    pub started_ms: u64,
    pub duration_ms: u64,
    pub cost_rao: u64,
    /// What the call cost in micro-USD, as the subnet reported it or the endpoint's price
    /// gives it; 0 when neither says.
    pub cost_usd_micros: u64,
    /// [`cost_evidence_hash`] of the response headers the cost was read from.
    pub cost_evidence_hash: Hash,
}

/// One call's receipt, linked to the receipt before it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    /// Position in the chain, from 0.
    pub index: u64,
    pub call: Call,
    /// The previous receipt's hash, or the challenge's for receipt 0.
    pub previous: Hash,
}

/// A signed, committed chain of receipts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiptBundle {
    /// [`FORMAT`] for every bundle this code makes.
    pub format: u32,
    pub nonce: Nonce,
    pub receipts: Vec<Receipt>,
    pub root: Hash,
    /// The miner's hotkey as an SS58 address.
    pub miner: String,
    /// sr25519 signature over [`signed_message`]`(root)`, as `0x`-prefixed hex.
    #[serde(with = "signature_hex")]
    pub signature: [u8; 64],
}

/// Why a bundle does not verify, at the first check that fails.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReceiptError {
    #[error("the bundle is in receipt format {0}; this verifier knows format {FORMAT}")]
    UnknownFormat(u32),
    #[error("the bundle answers nonce {found}, not the challenge {expected}")]
    WrongNonce { expected: String, found: String },
    #[error("receipt at position {position} claims index {index}")]
    IndexMismatch { position: usize, index: u64 },
    #[error("receipt {index} does not link to the one before it (or, for 0, to the challenge)")]
    BrokenLink { index: u64 },
    #[error("the bundle's root {claimed} is not the root {computed} of its receipts")]
    RootMismatch { claimed: Hash, computed: Hash },
    #[error(transparent)]
    Signature(#[from] HotkeyError),
}

/// Builds the receipt chain of one nonce, one call at a time.
pub struct ReceiptChain {
    nonce: Nonce,
    receipts: Vec<Receipt>,
    /// What the next receipt's `previous` must be: kept so a push hashes one receipt, not two.
    head: Hash,
}

impl ReceiptChain {
    pub fn new(nonce: Nonce) -> ReceiptChain {
        ReceiptChain { nonce, receipts: Vec::new(), head: challenge(&nonce) }
    }

    /// Appends the receipt of `call`, linked to the chain's head.
    pub fn push(&mut self, call: Call) -> &Receipt {
        let receipt = Receipt { index: self.receipts.len() as u64, call, previous: self.head };
        self.head = receipt.hash();
        self.receipts.push(receipt);
        self.receipts.last().expect("just pushed")
    }

    /// Commits the chain and signs its root with the miner's hotkey.
    pub fn seal(self, miner: &Hotkey) -> ReceiptBundle {
        let root = root(&self.nonce, &self.receipts);
        ReceiptBundle {
            format: FORMAT,
            nonce: self.nonce,
            receipts: self.receipts,
            root,
            miner: miner.ss58(),
            signature: miner.sign(&signed_message(&root)),
        }
    }
}

impl Receipt {
    /// The receipt's hash over the layout in the module doc: every field, `previous` included.
    pub fn hash(&self) -> Hash {
        tagged_hash(
            TAG_RECEIPT,
            &[
                &self.index.to_be_bytes(),
                &self.call.subnet.to_be_bytes(),
                &(self.call.endpoint.len() as u32).to_be_bytes(),
                self.call.endpoint.as_bytes(),
                self.call.request_hash.as_bytes(),
                self.call.response_hash.as_bytes(),
                &self.call.status.to_be_bytes(),
                &self.call.started_ms.to_be_bytes(),
                &self.call.duration_ms.to_be_bytes(),
                &self.call.cost_rao.to_be_bytes(),
                &self.call.cost_usd_micros.to_be_bytes(),
                self.call.cost_evidence_hash.as_bytes(),
                self.previous.as_bytes(),
            ],
        )
    }
}

/// The `previous` of receipt 0.
pub fn challenge(nonce: &Nonce) -> Hash {
    tagged_hash(TAG_CHALLENGE, &[&nonce.0])
}

/// The hash of a request or response body, for [`Call::request_hash`] and [`Call::response_hash`].
pub fn body_hash(body: &[u8]) -> Hash {
    tagged_hash(TAG_BODY, &[body])
}

/// The hash of a call's cost evidence: the response headers `(name, value)` its endpoint's spec
/// reads the cost from, as the layout in the module doc says (names lowercased, then sorted; an
/// empty list for a call whose cost no header carries).
pub fn cost_evidence_hash(headers: &[(String, String)]) -> Hash {
    let mut sorted: Vec<(String, &str)> = headers.iter().map(|(name, value)| (name.to_ascii_lowercase(), value.as_str())).collect();
    sorted.sort();
    let mut parts: Vec<Vec<u8>> = vec![(sorted.len() as u32).to_be_bytes().to_vec()];
    for (name, value) in &sorted {
        for text in [name.as_str(), value] {
            parts.push((text.len() as u32).to_be_bytes().to_vec());
            parts.push(text.as_bytes().to_vec());
        }
    }
    tagged_hash(TAG_COST, &parts.iter().map(Vec::as_slice).collect::<Vec<_>>())
}

/// The root committing to `receipts` under `nonce`.
pub fn root(nonce: &Nonce, receipts: &[Receipt]) -> Hash {
    let tree = Tree::build(receipts.iter().map(Receipt::hash));
    let count = (receipts.len() as u64).to_be_bytes();
    tagged_hash(TAG_ROOT, &[&nonce.0, &count, tree.root().as_bytes()])
}

/// What the miner signs: the root under its own tag, so the signature cannot be replayed as a
/// signature over anything else the hotkey signs.
pub fn signed_message(root: &Hash) -> Vec<u8> {
    [TAG_SIGNED.as_slice(), root.as_bytes()].concat()
}

/// Checks a bundle against the challenge the validator sent: the format, the nonce, every
/// receipt's index and link, the root and the miner's signature, in that order.
pub fn verify(bundle: &ReceiptBundle, expected_nonce: &Nonce) -> Result<(), ReceiptError> {
    if bundle.format != FORMAT {
        return Err(ReceiptError::UnknownFormat(bundle.format));
    }
    if bundle.nonce != *expected_nonce {
        return Err(ReceiptError::WrongNonce { expected: expected_nonce.to_hex(), found: bundle.nonce.to_hex() });
    }
    verify_links(&bundle.nonce, &bundle.receipts)?;
    let computed = root(&bundle.nonce, &bundle.receipts);
    if computed != bundle.root {
        return Err(ReceiptError::RootMismatch { claimed: bundle.root, computed });
    }
    verify_signature(&bundle.miner, &signed_message(&bundle.root), &bundle.signature)?;
    Ok(())
}

/// Checks that receipt `i` has index `i` and links to receipt `i - 1` (or to the challenge).
fn verify_links(nonce: &Nonce, receipts: &[Receipt]) -> Result<(), ReceiptError> {
    let mut expected_previous = challenge(nonce);
    for (position, receipt) in receipts.iter().enumerate() {
        if receipt.index != position as u64 {
            return Err(ReceiptError::IndexMismatch { position, index: receipt.index });
        }
        if receipt.previous != expected_previous {
            return Err(ReceiptError::BrokenLink { index: receipt.index });
        }
        expected_previous = receipt.hash();
    }
    Ok(())
}

fn tagged_hash(tag: &[u8; 14], parts: &[&[u8]]) -> Hash {
    let mut hasher = blake3::Hasher::new();
    hasher.update(tag);
    for part in parts {
        hasher.update(part);
    }
    Hash(*hasher.finalize().as_bytes())
}

impl Nonce {
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl Serialize for Nonce {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Nonce {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Nonce, D::Error> {
        let text = String::deserialize(deserializer)?;
        Ok(Nonce(decode_hex(&text)?))
    }
}

/// Parses fixed-length hex, with or without `0x`.
fn decode_hex<const N: usize, E: serde::de::Error>(text: &str) -> Result<[u8; N], E> {
    let mut bytes = [0u8; N];
    hex::decode_to_slice(text.strip_prefix("0x").unwrap_or(text), &mut bytes)
        .map_err(|_| E::custom(format!("`{text}` is not {N} bytes of hex")))?;
    Ok(bytes)
}

/// Signatures as `0x`-prefixed hex, as Substrate tools write them.
mod signature_hex {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(signature: &[u8; 64], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&format!("0x{}", hex::encode(signature)))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<[u8; 64], D::Error> {
        let text = String::deserialize(deserializer)?;
        super::decode_hex(&text)
    }
}
