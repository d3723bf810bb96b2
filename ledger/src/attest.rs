//! Attestations: validators vouching for checkpoints, and the finality they give.
//!
//! The **validator set** of a version is the `validators` namespace at that version: SS58
//! hotkeys with their stake, and the admin whose signature any diff that changes the set needs.
//! An [`Attestation`] is a validator's sr25519 signature over
//! `ATTESTATION_DOMAIN || checkpoint_hash`. A checkpoint is **final** once validators holding
//! at least two thirds of the stake of its version's set have attested it. Since checkpoint
//! hashes chain, a final checkpoint vouches for the whole history before it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::checkpoint::Checkpoint;
use crate::codec;
use crate::error::{Error, Result};
use crate::hash::Hash;
use crate::hotkey::{self, Hotkey, HotkeyError};
use crate::key::{Namespace, SystemNamespace};
use crate::record::{Record, ADMIN_PATH};
use crate::schema;
use crate::store::{cf, Ledger};
use rocksdb::IteratorMode;

/// Prefix of the signed bytes, so an attestation signature can never be taken for another message.
pub const ATTESTATION_DOMAIN: &[u8] = b"orchestra/ledger/attest/v1:";

pub(crate) const VALIDATORS: Namespace = Namespace::System(SystemNamespace::Validators);

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attestation {
    pub version: u64,
    /// The attested checkpoint's hash.
    pub checkpoint: Hash,
    /// SS58 hotkey of the validator.
    pub validator: String,
    #[serde(with = "crate::hotkey::signature_bytes")]
    pub signature: [u8; 64],
}

impl Attestation {
    pub fn signing_bytes(checkpoint: &Hash) -> Vec<u8> {
        [ATTESTATION_DOMAIN, checkpoint.as_bytes()].concat()
    }

    /// A validator's attestation of `checkpoint`.
    pub fn sign(checkpoint: &Checkpoint, hotkey: &Hotkey) -> Attestation {
        let hash = checkpoint.hash();
        Attestation { version: checkpoint.version, checkpoint: hash, validator: hotkey.ss58(), signature: hotkey.sign(&Attestation::signing_bytes(&hash)) }
    }

    pub fn verify_signature(&self) -> Result<(), HotkeyError> {
        hotkey::verify_signature(&self.validator, &Attestation::signing_bytes(&self.checkpoint), &self.signature)
    }
}

/// The validators of one version with their stake, and the set's admin.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ValidatorSet {
    pub admin: Option<String>,
    pub stakes: BTreeMap<String, u64>,
}

impl ValidatorSet {
    pub fn total_stake(&self) -> u128 {
        self.stakes.values().map(|stake| u128::from(*stake)).sum()
    }

    /// Stake held by the distinct members among `signers`: a validator named twice counts once.
    pub fn stake_of<'a>(&self, signers: impl IntoIterator<Item = &'a str>) -> u128 {
        let distinct: std::collections::BTreeSet<&str> = signers.into_iter().collect();
        distinct.into_iter().filter_map(|signer| self.stakes.get(signer)).map(|stake| u128::from(*stake)).sum()
    }

    /// Whether `signers` hold at least two thirds of a non-zero total stake.
    pub fn is_quorum<'a>(&self, signers: impl IntoIterator<Item = &'a str>) -> bool {
        let total = self.total_stake();
        total > 0 && 3 * self.stake_of(signers) >= 2 * total
    }

    /// Reads a set from the `validators` namespace's entries.
    pub(crate) fn from_entries(entries: impl IntoIterator<Item = (String, Vec<u8>)>) -> Result<ValidatorSet> {
        let mut set = ValidatorSet::default();
        for (path, value) in entries {
            let key = crate::key::Key::new(VALIDATORS, path.clone())?;
            match Record::decode(&key, &value)? {
                Record::Admin(admin) if path == ADMIN_PATH => set.admin = Some(admin.hotkey),
                Record::Stake(stake) => {
                    set.stakes.insert(path, stake.rao);
                }
                _ => return Err(Error::Corrupt(format!("{key} holds a record of the wrong type"))),
            }
        }
        Ok(set)
    }
}

/// The latest checkpoint and the latest final one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finality {
    pub latest: Checkpoint,
    pub latest_final: Option<Checkpoint>,
}

#[derive(Debug, thiserror::Error)]
pub enum AttestError {
    #[error("{validator} is not in the validator set of version {version}")]
    NotAMember { validator: String, version: u64 },
    #[error("version {version} has checkpoint {actual}, not {claimed}")]
    WrongCheckpoint { version: u64, claimed: Hash, actual: Hash },
    #[error(transparent)]
    Signature(#[from] HotkeyError),
}

/// What an attestation did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Attested {
    /// False when the same validator had already attested the checkpoint.
    pub recorded: bool,
    /// Whether the checkpoint is final now.
    pub is_final: bool,
}

impl Ledger {
    /// The validator set of `version`.
    pub fn validator_set(&self, version: u64) -> Result<ValidatorSet> {
        ValidatorSet::from_entries(self.namespace_at(VALIDATORS, version)?)
    }

    /// Records a validator's attestation after checking that the checkpoint exists, that the
    /// validator is in that version's set and that the signature holds. Attesting twice is
    /// harmless.
    pub fn attest(&mut self, attestation: &Attestation) -> Result<Attested> {
        let checkpoint = self.checkpoint(attestation.version)?;
        if checkpoint.hash() != attestation.checkpoint {
            return Err(AttestError::WrongCheckpoint { version: checkpoint.version, claimed: attestation.checkpoint, actual: checkpoint.hash() }.into());
        }
        let set = self.validator_set(attestation.version)?;
        if !set.stakes.contains_key(&attestation.validator) {
            return Err(AttestError::NotAMember { validator: attestation.validator.clone(), version: attestation.version }.into());
        }
        attestation.verify_signature().map_err(AttestError::from)?;
        let family = cf(self.db(), schema::ATTESTATIONS);
        let key = schema::attestation_key(attestation.version, &attestation.validator);
        let recorded = self.db().get_pinned_cf(family, &key)?.is_none();
        if recorded {
            self.db().put_cf_opt(family, &key, codec::encode(attestation), &self.write_options())?;
        }
        let is_final = set.is_quorum(self.attestations(attestation.version)?.iter().map(|a| a.validator.as_str()));
        if is_final && self.latest_final.is_none_or(|latest| latest < attestation.version) {
            self.latest_final = Some(attestation.version);
        }
        Ok(Attested { recorded, is_final })
    }

    /// The attestations recorded for `version`, by validator.
    pub fn attestations(&self, version: u64) -> Result<Vec<Attestation>> {
        read_attestations(self.db(), version)
    }

    /// The latest checkpoint and the latest final one.
    pub fn finality(&self) -> Result<Finality> {
        let latest_final = self.latest_final.map(|version| self.checkpoint(version)).transpose()?;
        Ok(Finality { latest: *self.head(), latest_final })
    }

    /// Finds the latest final version among the attested ones, newest first.
    pub(crate) fn find_latest_final(&self) -> Result<Option<u64>> {
        let family = cf(self.db(), schema::ATTESTATIONS);
        let mut versions: Vec<u64> = Vec::new();
        for item in self.db().iterator_cf(family, IteratorMode::End) {
            let (key, _) = item?;
            let version = schema::parse_version_prefix(&key).ok_or_else(|| Error::Corrupt("malformed attestation key".into()))?;
            if versions.last() != Some(&version) {
                versions.push(version);
            }
        }
        for version in versions {
            let signers = self.attestations(version)?;
            if self.validator_set(version)?.is_quorum(signers.iter().map(|a| a.validator.as_str())) {
                return Ok(Some(version));
            }
        }
        Ok(None)
    }
}

pub(crate) fn read_attestations(db: &rocksdb::DB, version: u64) -> Result<Vec<Attestation>> {
    let prefix = schema::version_key(version);
    let mut attestations = Vec::new();
    for item in db.prefix_iterator_cf(cf(db, schema::ATTESTATIONS), prefix) {
        let (key, value) = item?;
        if !key.starts_with(&prefix) {
            break;
        }
        attestations.push(codec::decode(&value, "attestation")?);
    }
    Ok(attestations)
}
