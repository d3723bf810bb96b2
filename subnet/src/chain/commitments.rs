//! Publishing through pallet `Commitments`, where validators anchor the ledger's root on chain.
//!
//! Terms:
//! - **commitment**: data a hotkey publishes for a subnet with
//!   `Commitments.set_commitment(netuid, info)`. The chain keeps the latest one per (netuid,
//!   hotkey) in `CommitmentOf`, with the block it was set at.
//! - **field**: one item of `info.fields`, a `Data` value (the runtime allows `MaxFields`, 3 on
//!   finney). `Data::RawN` carries exactly N bytes, N at most 128; this module publishes one.
//! - **ledger root commitment**: what this project publishes there,
//!   `orchestra-ledger:v{version}:{root_hex}`: the latest final ledger version and its state
//!   root, so that anyone can check a ledger replica against the chain.

use super::client::{ChainClient, ChainError};
use subxt::dynamic::Value;
use subxt::utils::H256;
use subxt_signer::sr25519::Keypair;

/// The longest `Data::RawN` variant.
pub const MAX_COMMITMENT_BYTES: usize = 128;
/// What starts every ledger root commitment.
pub const LEDGER_COMMITMENT_PREFIX: &str = "orchestra-ledger";

/// The ledger root commitment text for `version` and its state `root` (84 to 103 bytes).
pub fn ledger_root_commitment(version: u64, root: &ledger::Hash) -> String {
    format!("{LEDGER_COMMITMENT_PREFIX}:v{version}:{}", root.to_hex())
}

impl ChainClient {
    /// `Commitments.set_commitment(netuid, { fields: [Raw{len}(text)] })` signed by `signer`,
    /// replacing the hotkey's previous commitment on the subnet; waits until it succeeds in a
    /// finalized block and returns its hash. `text` must fit one field.
    pub async fn set_commitment(&self, signer: &Keypair, netuid: u16, text: &str) -> Result<H256, ChainError> {
        let info = commitment_info(text.as_bytes())?;
        let call = subxt::dynamic::tx("Commitments", "set_commitment", (netuid, info));
        self.submit(signer, &call).await
    }
}

/// `CommitmentInfo { fields: [Data::Raw{n}(bytes)] }`, the variant named by the length because
/// each `RawN` holds a fixed-size array.
fn commitment_info(bytes: &[u8]) -> Result<Value, ChainError> {
    if bytes.len() > MAX_COMMITMENT_BYTES {
        return Err(ChainError::CommitmentTooLong { len: bytes.len(), max: MAX_COMMITMENT_BYTES });
    }
    let field = Value::unnamed_variant(format!("Raw{}", bytes.len()), [Value::from_bytes(bytes)]);
    Ok(Value::named_composite([("fields", Value::unnamed_composite([field]))]))
}
