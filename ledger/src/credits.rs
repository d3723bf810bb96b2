//! Prepaid credits for API keys: the operator's accounts, beside the ledger but outside its
//! commitment (balances are private and change on every paid read).
//!
//! An **API key** is `ok_` followed by 64 hex digits of randomness, shown once when issued;
//! only its blake3 hash is stored, in the `credits` column family, next to the balance in rao.
//! A **debit** takes the price of one paid answer. Debits and credits are serialised by a lock
//! and written synchronously, so two concurrent answers can never spend the same rao and an
//! acknowledged balance survives a crash.

use std::sync::{Mutex, MutexGuard};

use rocksdb::WriteOptions;

use crate::error::{Error, Result};
use crate::hash::Hash;
use crate::schema;
use crate::store::{cf, Ledger};

const KEY_PREFIX: &str = "ok_";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CreditError {
    #[error("unknown API key")]
    UnknownKey,
    #[error("not enough credit: the answer costs {price} rao and {balance} rao are left")]
    Insufficient { price: u64, balance: u64 },
    #[error("adding {amount} rao would overflow the balance")]
    Overflow { amount: u64 },
}

/// Serialises balance changes and payment records: RocksDB writes are atomic,
/// read-modify-write is not.
#[derive(Default)]
pub(crate) struct CreditLock(Mutex<()>);

impl CreditLock {
    pub(crate) fn hold(&self) -> MutexGuard<'_, ()> {
        self.0.lock().expect("the credit lock is never poisoned")
    }
}

/// Write options that return only once the write is on disk: an acknowledged balance or
/// payment must survive a crash.
pub(crate) fn synced() -> WriteOptions {
    let mut sync = WriteOptions::default();
    sync.set_sync(true);
    sync
}

/// Whether `text` has the form of an API key (`ok_` and 64 hex digits). Only such text is
/// taken as an API key from a request, so no request can name another kind of account, such
/// as a hotkey's ([`hotkey_account`]), by sending its name as a key.
pub fn is_api_key(text: &str) -> bool {
    text.strip_prefix(KEY_PREFIX).is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|byte| byte.is_ascii_hexdigit()))
}

/// The account name under which a hotkey's prepaid credit is kept: debited like an API key, but
/// reachable only by a request the hotkey signed (it is not of an API key's form).
pub fn hotkey_account(ss58: &str) -> String {
    format!("hotkey:{ss58}")
}

fn key_hash(api_key: &str) -> Hash {
    Hash(*blake3::hash(api_key.as_bytes()).as_bytes())
}

impl Ledger {
    /// Makes a new API key holding `rao` and returns it; it cannot be shown again.
    pub fn issue_api_key(&self, rao: u64) -> Result<String> {
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret).map_err(|error| Error::NoRandomness(error.to_string()))?;
        let api_key = format!("{KEY_PREFIX}{}", hex::encode(secret));
        let _guard = self.credit_lock().hold();
        self.write_balance(&key_hash(&api_key), rao)?;
        Ok(api_key)
    }

    /// The key's balance in rao.
    pub fn balance(&self, api_key: &str) -> Result<u64> {
        self.read_balance(&key_hash(api_key))?.ok_or(CreditError::UnknownKey.into())
    }

    /// Adds `rao` to the balance of the prepaid account of a payer's hotkey (see
    /// [`hotkey_account`]), opening it when there is none; returns the new balance.
    pub fn deposit_to_hotkey(&self, ss58: &str, rao: u64) -> Result<u64> {
        let hash = key_hash(&hotkey_account(ss58));
        let _guard = self.credit_lock().hold();
        let balance = self.read_balance(&hash)?.unwrap_or(0);
        let updated = balance.checked_add(rao).ok_or(CreditError::Overflow { amount: rao })?;
        self.write_balance(&hash, updated)?;
        Ok(updated)
    }

    /// Adds `rao` to the key's balance and returns the new balance.
    pub fn add_credit(&self, api_key: &str, rao: u64) -> Result<u64> {
        self.change_balance(api_key, |balance| balance.checked_add(rao).ok_or(CreditError::Overflow { amount: rao }))
    }

    /// Takes `price` from the key's balance and returns what is left; refuses, changing
    /// nothing, when the balance is short.
    pub fn debit(&self, api_key: &str, price: u64) -> Result<u64> {
        self.debit_keeping(api_key, price, 0)
    }

    /// [`Ledger::debit`], leaving at least `kept` rao (what running work holds) untouched.
    pub fn debit_keeping(&self, api_key: &str, price: u64, kept: u64) -> Result<u64> {
        self.change_balance(api_key, |balance| match balance.checked_sub(kept).and_then(|free| free.checked_sub(price)) {
            Some(_) => Ok(balance - price),
            None => Err(CreditError::Insufficient { price, balance: balance.saturating_sub(kept) }),
        })
    }

    fn change_balance(&self, api_key: &str, change: impl FnOnce(u64) -> Result<u64, CreditError>) -> Result<u64> {
        let hash = key_hash(api_key);
        let _guard = self.credit_lock().hold();
        let balance = self.read_balance(&hash)?.ok_or(CreditError::UnknownKey)?;
        let updated = change(balance)?;
        self.write_balance(&hash, updated)?;
        Ok(updated)
    }

    fn read_balance(&self, hash: &Hash) -> Result<Option<u64>> {
        let stored = self.db().get_pinned_cf(cf(self.db(), schema::CREDITS), hash.as_bytes())?;
        stored
            .map(|bytes| schema::parse_version_key(&bytes).ok_or_else(|| Error::Corrupt("a credit balance is not a u64".into())))
            .transpose()
    }

    fn write_balance(&self, hash: &Hash, rao: u64) -> Result<()> {
        Ok(self.db().put_cf_opt(cf(self.db(), schema::CREDITS), hash.as_bytes(), rao.to_be_bytes(), &synced())?)
    }
}
