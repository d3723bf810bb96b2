//! Verification of an x402 `exact` payment: a signed but unbroadcast
//! `Balances.transfer_keep_alive(dest, value)` extrinsic, checked offline against the runtime
//! metadata and what the chain client knows (genesis hash, runtime versions, block hashes).
//!
//! The checks run in the order of [`PaymentError`]'s variants, and the first failure is the
//! answer. The offline checks come first; then the chain client checks, against the payer's
//! account, what the runtime will check at inclusion: that the nonce is the account's next one
//! (not already used) and that the free balance covers the transfer ([`funding_problem`]); only
//! then is the payment recorded as used. Fees are the runtime's to take: settlement
//! ([`super::ChainClient::settle`]) happens before any paid work starts, so a payment that
//! cannot pay them costs the node nothing.

use super::replay::ReplaySet;
use schnorrkel::{PublicKey, Signature};
use std::collections::HashMap;
use subxt::config::substrate::BlakeTwo256;
use subxt::config::Hasher;
use subxt::ext::codec::{Decode, Encode};
use subxt::ext::frame_decode::extrinsics::{decode_extrinsic, ExtrinsicOwned, ExtrinsicType};
use subxt::ext::scale_decode::visitor::{decode_with_visitor, IgnoreVisitor};
use subxt::ext::scale_decode::DecodeAsType;
use subxt::utils::{AccountId32, Era, MultiAddress, MultiSignature, H256};
use subxt::Metadata;

/// The signing context of Substrate (and Bittensor) sr25519 signatures.
const SIGNING_CONTEXT: &[u8] = b"substrate";
/// Signer payloads longer than this are signed as their blake2b-256 hash (a FRAME rule).
const MAX_UNHASHED_PAYLOAD: usize = 256;
/// The transaction extension that carries the era; its implicit value is the checkpoint hash.
const MORTALITY_EXTENSION: &str = "CheckMortality";
/// The transaction extension that carries the account nonce.
const NONCE_EXTENSION: &str = "CheckNonce";

/// Why a payment extrinsic is refused, in the order the checks run.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PaymentError {
    #[error("not an extrinsic of this runtime: {0}")]
    Undecodable(String),
    #[error("the extrinsic is not signed (it is {0})")]
    NotSigned(&'static str),
    #[error("the call is {pallet}.{call}, not Balances.transfer_keep_alive")]
    WrongCall { pallet: String, call: String },
    #[error("the signer is not given as an account id (MultiAddress::Id)")]
    SignerNotAccountId,
    #[error("the transaction extension {0} needs signed data this verifier cannot supply")]
    UnsupportedExtension(String),
    #[error("the hash of block {0}, the era's checkpoint, is unknown to the chain client")]
    UnknownCheckpoint(u64),
    #[error("the signature is not valid: {0}")]
    BadSignature(&'static str),
    #[error("the extrinsic is signed by {signer}, not by the claimed payer {claimed}")]
    SignerMismatch { signer: AccountId32, claimed: AccountId32 },
    #[error("the transfer goes to {0}, not to the payee")]
    WrongDestination(String),
    #[error("the transfer is {paid} rao, less than the {required} rao required")]
    InsufficientAmount { paid: u128, required: u128 },
    #[error("the era is immortal; a payment must expire")]
    ImmortalEra,
    #[error("the era ended at block {expired_at}; the current block is {current_block}")]
    ExpiredEra { expired_at: u64, current_block: u64 },
    #[error("the extrinsic's nonce {nonce} is already used: the payer's account is at nonce {account_nonce}")]
    StaleNonce { nonce: u64, account_nonce: u64 },
    #[error("the extrinsic's nonce {nonce} is too far ahead of the payer's account nonce {account_nonce} to be included soon")]
    FutureNonce { nonce: u64, account_nonce: u64 },
    #[error("the payer's free balance is {free} rao, less than the {amount} rao it transfers")]
    Unfunded { free: u128, amount: u128 },
    #[error("the extrinsic {0:?} was already used as a payment")]
    Replayed(H256),
}

/// How far past the account's nonce a payment's nonce may be: a wallet may have a few transfers
/// in flight, not more.
pub const MAX_NONCE_AHEAD: u64 = 8;

/// The payer's account as the chain holds it (`System.Account`), of which these fields are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Account {
    pub nonce: u64,
    pub free: u128,
}

/// Why `payment` cannot be included from `account`, or `None` when it can.
pub fn funding_problem(payment: &VerifiedPayment, account: &Account) -> Option<PaymentError> {
    if payment.nonce < account.nonce {
        return Some(PaymentError::StaleNonce { nonce: payment.nonce, account_nonce: account.nonce });
    }
    if payment.nonce > account.nonce + MAX_NONCE_AHEAD {
        return Some(PaymentError::FutureNonce { nonce: payment.nonce, account_nonce: account.nonce });
    }
    (account.free < payment.amount).then_some(PaymentError::Unfunded { free: account.free, amount: payment.amount })
}

/// The payment a client offers: the x402 payload's `signedExtrinsic` and `from`.
#[derive(Debug, Clone, Copy)]
pub struct Payment<'a> {
    pub extrinsic: &'a [u8],
    pub from: &'a AccountId32,
}

/// What the server asks to be paid.
#[derive(Debug, Clone)]
pub struct PaymentRequirement {
    pub pay_to: AccountId32,
    pub min_amount_rao: u128,
}

/// What the chain client knows at verification time; the signer payload's implicit values.
#[derive(Debug, Clone, Copy)]
pub struct ChainState {
    pub genesis_hash: H256,
    pub spec_version: u32,
    pub transaction_version: u32,
    pub current_block: u64,
}

/// Block hashes by number, as the chain client fetched them (see [`checkpoint_blocks`]).
pub trait BlockHashes {
    fn block_hash(&self, number: u64) -> Option<H256>;
}

impl BlockHashes for HashMap<u64, H256> {
    fn block_hash(&self, number: u64) -> Option<H256> {
        self.get(&number).copied()
    }
}

/// An accepted payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedPayment {
    pub payer: AccountId32,
    pub amount: u128,
    pub extrinsic_hash: H256,
    /// The first block at which the extrinsic is no longer valid.
    pub era_expires_at: u64,
    /// The account nonce the extrinsic uses.
    pub nonce: u64,
}

/// The blocks whose hashes [`verify_payment`] may ask for: the birth of the era's window that
/// contains `current_block` and, to tell an expired extrinsic from a forged one, the window
/// before it. Empty when the extrinsic has no mortal era (verification then says why).
pub fn checkpoint_blocks(extrinsic: &[u8], metadata: &Metadata, current_block: u64) -> Vec<u64> {
    let era = decode(extrinsic, metadata).ok().and_then(|info| era_of(extrinsic, &info).ok());
    match era {
        Some(Era::Mortal { period, phase }) => {
            let birth = birth(period, phase, current_block);
            std::iter::once(birth).chain(birth.checked_sub(period)).collect()
        }
        _ => Vec::new(),
    }
}

/// Checks `payment` and, when every check passes, records its hash in `replay` so that it can
/// never pay twice (recorded here rather than at settlement so that two concurrent requests
/// carrying one extrinsic cannot both be served).
pub fn verify_payment(
    payment: Payment<'_>,
    metadata: &Metadata,
    chain: &ChainState,
    block_hashes: &impl BlockHashes,
    requirement: &PaymentRequirement,
    replay: &mut impl ReplaySet,
) -> Result<VerifiedPayment, PaymentError> {
    let verified = check_payment(payment, metadata, chain, block_hashes, requirement)?;
    record(verified, replay)
}

/// Records a checked payment in `replay`, refusing one recorded before.
pub fn record(verified: VerifiedPayment, replay: &mut impl ReplaySet) -> Result<VerifiedPayment, PaymentError> {
    if !replay.record(verified.extrinsic_hash) {
        return Err(PaymentError::Replayed(verified.extrinsic_hash));
    }
    Ok(verified)
}

/// The offline checks of [`verify_payment`], recording nothing.
pub fn check_payment(
    payment: Payment<'_>,
    metadata: &Metadata,
    chain: &ChainState,
    block_hashes: &impl BlockHashes,
    requirement: &PaymentRequirement,
) -> Result<VerifiedPayment, PaymentError> {
    let bytes = payment.extrinsic;
    let info = decode(bytes, metadata)?;
    signed_part(&info)?;
    if (info.pallet_name(), info.call_name()) != ("Balances", "transfer_keep_alive") {
        return Err(PaymentError::WrongCall { pallet: info.pallet_name().into(), call: info.call_name().into() });
    }
    let (signer, era, birth_block) = check_signer(bytes, &info, metadata, chain, block_hashes)?;
    if &signer != payment.from {
        return Err(PaymentError::SignerMismatch { signer, claimed: *payment.from });
    }

    let (dest, value) = transfer_args(bytes, &info, metadata)?;
    match dest {
        MultiAddress::Id(account) if account == requirement.pay_to => {}
        MultiAddress::Id(account) => return Err(PaymentError::WrongDestination(account.to_string())),
        other => return Err(PaymentError::WrongDestination(format!("{other:?}"))),
    }
    if value < requirement.min_amount_rao {
        return Err(PaymentError::InsufficientAmount { paid: value, required: requirement.min_amount_rao });
    }

    let era_expires_at = match (era, birth_block) {
        (Era::Mortal { period, .. }, Some(birth)) => birth + period,
        _ => return Err(PaymentError::ImmortalEra),
    };
    if era_expires_at <= chain.current_block {
        return Err(PaymentError::ExpiredEra { expired_at: era_expires_at, current_block: chain.current_block });
    }

    let nonce = nonce_of(bytes, &info)?;
    Ok(VerifiedPayment { payer: signer, amount: value, extrinsic_hash: extrinsic_hash(bytes), era_expires_at, nonce })
}

/// A signed extrinsic whose signature holds at the chain's current block, as a transaction
/// pool admits one; the runtime's other checks (nonce, balance, the call's own rules) are the
/// caller's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedExtrinsic {
    pub signer: AccountId32,
    pub pallet: String,
    pub call: String,
    pub nonce: u64,
    /// The first block at which the extrinsic is no longer valid; `None` for an immortal one.
    pub expires_at: Option<u64>,
    pub hash: H256,
}

/// Decodes `extrinsic` and checks its signature, for any call (see [`SignedExtrinsic`]).
pub fn check_signed(extrinsic: &[u8], metadata: &Metadata, chain: &ChainState, block_hashes: &impl BlockHashes) -> Result<SignedExtrinsic, PaymentError> {
    let info = decode(extrinsic, metadata)?;
    signed_part(&info)?;
    let (signer, era, birth_block) = check_signer(extrinsic, &info, metadata, chain, block_hashes)?;
    let expires_at = match (era, birth_block) {
        (Era::Mortal { period, .. }, Some(birth)) => Some(birth + period),
        _ => None,
    };
    Ok(SignedExtrinsic {
        signer,
        pallet: info.pallet_name().into(),
        call: info.call_name().into(),
        nonce: nonce_of(extrinsic, &info)?,
        expires_at,
        hash: extrinsic_hash(extrinsic),
    })
}

/// Refuses an extrinsic that is not a v4 signed one.
fn signed_part(info: &ExtrinsicOwned<u32>) -> Result<(), PaymentError> {
    match info.ty() {
        ExtrinsicType::Signed => Ok(()),
        // A v5 "general" extrinsic would carry its signature in an extension; subtensor's
        // runtime has none that signs, so only v4 signed extrinsics are taken.
        ExtrinsicType::General => Err(PaymentError::NotSigned("a v5 general extrinsic")),
        ExtrinsicType::Bare => Err(PaymentError::NotSigned("bare")),
    }
}

/// The signer (an account id), the era and its birth block of a signed extrinsic whose
/// signature holds.
fn check_signer(
    bytes: &[u8],
    info: &ExtrinsicOwned<u32>,
    metadata: &Metadata,
    chain: &ChainState,
    block_hashes: &impl BlockHashes,
) -> Result<(AccountId32, Era, Option<u64>), PaymentError> {
    let signature = info.signature_payload().expect("checked signed");
    let signer = match decode_as::<MultiAddress<AccountId32, ()>>(&bytes[signature.address_range()], *signature.address_type(), metadata)? {
        MultiAddress::Id(account) => account,
        _ => return Err(PaymentError::SignerNotAccountId),
    };
    let era = era_of(bytes, info)?;
    let birth_block = verify_signature(bytes, info, metadata, chain, block_hashes, &signer, era)?;
    Ok((signer, era, birth_block))
}

/// The hash a node knows an extrinsic by: blake2b-256 of its encoding.
pub fn extrinsic_hash(extrinsic: &[u8]) -> H256 {
    BlakeTwo256.hash(extrinsic)
}

/// Decodes the whole of `bytes` as one extrinsic of this runtime.
pub(crate) fn decode(bytes: &[u8], metadata: &Metadata) -> Result<ExtrinsicOwned<u32>, PaymentError> {
    let cursor = &mut &*bytes;
    let info = decode_extrinsic(cursor, metadata, metadata.types())
        .map_err(|e| PaymentError::Undecodable(e.to_string()))?
        .into_owned();
    if !cursor.is_empty() {
        return Err(PaymentError::Undecodable(format!("{} bytes left over", cursor.len())));
    }
    Ok(info)
}

fn decode_as<T: DecodeAsType>(bytes: &[u8], type_id: u32, metadata: &Metadata) -> Result<T, PaymentError> {
    T::decode_as_type(&mut &*bytes, type_id, metadata.types()).map_err(|e| PaymentError::Undecodable(e.to_string()))
}

/// The era in the extrinsic's `CheckMortality` extension; a runtime without one has only
/// immortal extrinsics.
fn era_of(bytes: &[u8], info: &ExtrinsicOwned<u32>) -> Result<Era, PaymentError> {
    let extensions = info.transaction_extension_payload();
    let Some(ext) = extensions.and_then(|exts| exts.iter().find(|ext| ext.name() == MORTALITY_EXTENSION)) else {
        return Ok(Era::Immortal);
    };
    Era::decode(&mut &bytes[ext.range()]).map_err(|e| PaymentError::Undecodable(format!("era: {e}")))
}

/// The account nonce the extrinsic's `CheckNonce` extension carries (compact-encoded).
fn nonce_of(bytes: &[u8], info: &ExtrinsicOwned<u32>) -> Result<u64, PaymentError> {
    let extensions = info.transaction_extension_payload();
    let ext = extensions.and_then(|exts| exts.iter().find(|ext| ext.name() == NONCE_EXTENSION)).ok_or_else(|| PaymentError::Undecodable("the extrinsic carries no nonce".into()))?;
    subxt::ext::codec::Compact::<u64>::decode(&mut &bytes[ext.range()]).map(|nonce| nonce.0).map_err(|e| PaymentError::Undecodable(format!("nonce: {e}")))
}

/// The first block of the era's window that contains `current`, as FRAME's `Era::birth`.
fn birth(period: u64, phase: u64, current: u64) -> u64 {
    (current.max(phase) - phase) / period * period + phase
}

/// Verifies the signature and returns the era's birth block (`None` for an immortal era).
///
/// The runtime takes the checkpoint at the birth of the window containing the current block;
/// an extrinsic signed in an earlier window then fails. To name that failure precisely, the
/// previous window's checkpoint is tried too: if the signature holds there, the extrinsic is
/// genuine but expired, which the era check reports.
fn verify_signature(
    bytes: &[u8],
    info: &ExtrinsicOwned<u32>,
    metadata: &Metadata,
    chain: &ChainState,
    block_hashes: &impl BlockHashes,
    signer: &AccountId32,
    era: Era,
) -> Result<Option<u64>, PaymentError> {
    let signature_range = info.signature_payload().expect("checked signed").signature_range();
    let signature = match MultiSignature::decode(&mut &bytes[signature_range]) {
        Ok(MultiSignature::Sr25519(signature)) => signature,
        Ok(_) => return Err(PaymentError::BadSignature("not an sr25519 signature")),
        Err(_) => return Err(PaymentError::BadSignature("not a MultiSignature")),
    };
    let signature = Signature::from_bytes(&signature).map_err(|_| PaymentError::BadSignature("malformed sr25519 signature"))?;
    let public = PublicKey::from_bytes(&signer.0).map_err(|_| PaymentError::BadSignature("the signer is not an sr25519 public key"))?;
    let verifies = |checkpoint: H256| -> Result<bool, PaymentError> {
        let payload = signer_payload(bytes, info, metadata, chain, checkpoint)?;
        Ok(public.verify_simple(SIGNING_CONTEXT, &payload, &signature).is_ok())
    };

    let Era::Mortal { period, phase } = era else {
        // An immortal extrinsic's checkpoint is the genesis block; the era check refuses it.
        return if verifies(chain.genesis_hash)? { Ok(None) } else { Err(PaymentError::BadSignature("it does not verify")) };
    };
    let birth = birth(period, phase, chain.current_block);
    let current_hash = block_hashes.block_hash(birth).ok_or(PaymentError::UnknownCheckpoint(birth))?;
    if verifies(current_hash)? {
        return Ok(Some(birth));
    }
    let previous = birth.checked_sub(period).and_then(|block| Some((block, block_hashes.block_hash(block)?)));
    match previous {
        Some((block, hash)) if verifies(hash)? => Ok(Some(block)),
        _ => Err(PaymentError::BadSignature("it does not verify")),
    }
}

/// Call data, the extensions' explicit values as they appear in the extrinsic, then their
/// implicit values as the runtime computes them, in the metadata's extension order.
fn signer_payload(
    bytes: &[u8],
    info: &ExtrinsicOwned<u32>,
    metadata: &Metadata,
    chain: &ChainState,
    checkpoint: H256,
) -> Result<Vec<u8>, PaymentError> {
    let explicit = info.transaction_extension_payload().expect("a signed extrinsic has extensions");
    let mut payload = bytes[info.call_data_range()].to_vec();
    payload.extend_from_slice(&bytes[explicit.range()]);
    for ext in explicit.iter() {
        match ext.name() {
            "CheckSpecVersion" => chain.spec_version.encode_to(&mut payload),
            "CheckTxVersion" => chain.transaction_version.encode_to(&mut payload),
            "CheckGenesis" => payload.extend_from_slice(chain.genesis_hash.as_bytes()),
            MORTALITY_EXTENSION => payload.extend_from_slice(checkpoint.as_bytes()),
            // The implicit value is `Some(metadata digest)` when the explicit mode byte enables
            // the check, `None` otherwise; computing the digest is not supported.
            "CheckMetadataHash" if bytes[ext.range()] == [0] => None::<[u8; 32]>.encode_to(&mut payload),
            name => {
                let implicit_ty = implicit_type(metadata, name).ok_or_else(|| PaymentError::UnsupportedExtension(name.into()))?;
                // Every other extension must have an empty implicit value: a type that
                // decodes from no bytes at all.
                if decode_with_visitor(&mut &[][..], implicit_ty, metadata.types(), IgnoreVisitor::new()).is_err() {
                    return Err(PaymentError::UnsupportedExtension(name.into()));
                }
            }
        }
    }
    Ok(if payload.len() > MAX_UNHASHED_PAYLOAD { BlakeTwo256.hash(&payload).as_bytes().to_vec() } else { payload })
}

/// The type of the named extension's implicit value, among the extensions of a v4 extrinsic
/// (transaction extension version 0).
fn implicit_type(metadata: &Metadata, name: &str) -> Option<u32> {
    metadata
        .extrinsic()
        .transaction_extensions_by_version(0)?
        .find(|ext| ext.identifier() == name)
        .map(|ext| ext.additional_ty())
}

/// The `dest` and `value` arguments of `transfer_keep_alive`.
pub(crate) fn transfer_args(bytes: &[u8], info: &ExtrinsicOwned<u32>, metadata: &Metadata) -> Result<(MultiAddress<AccountId32, ()>, u128), PaymentError> {
    let arg = |name: &str| {
        info.call_data()
            .find(|arg| arg.name() == name)
            .ok_or_else(|| PaymentError::Undecodable(format!("transfer_keep_alive has no `{name}` argument")))
    };
    let dest = arg("dest")?;
    let value = arg("value")?;
    Ok((decode_as(&bytes[dest.range()], *dest.ty(), metadata)?, decode_as(&bytes[value.range()], *value.ty(), metadata)?))
}
