//! Prepaid credits for API keys: the operator's accounts, beside the ledger but outside its
//! commitment (balances are private and change on every paid read).
//!
//! An **API key** is `ok_` followed by 64 hex digits of randomness, shown once when issued;
//! only its blake3 hash is stored, in the `credits` column family, next to the balance in rao.
//! A **debit** takes the price of one paid answer. Debits and credits are serialised by a lock
//! and written synchronously, so two concurrent answers can never spend the same rao and an
//! acknowledged balance survives a crash.
//!
//! A key may carry a **daily cap**: the most it may spend in one UTC day, whatever its balance.
//! The day's **spend** is kept beside the balance and written in the same batch as each debit;
//! it starts again at zero when the day changes. A key's **spendable** rao is the smaller of its
//! balance and what its cap leaves of the day.

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
    #[error("the key's daily cap of {cap} rao is reached: {spent} rao spent today, and the answer costs {price} rao")]
    DailyCap { cap: u64, spent: u64, price: u64 },
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

/// Where a key's daily cap is stored: beside its balance, under a prefix no 32-byte hash has.
fn cap_key(hash: &Hash) -> Vec<u8> {
    [b"cap/".as_slice(), hash.as_bytes()].concat()
}

/// Where a key's spend of the day is stored: the day (u32) and the rao spent (u64).
fn spend_key(hash: &Hash) -> Vec<u8> {
    [b"day/".as_slice(), hash.as_bytes()].concat()
}

/// Days since 1970-01-01, in UTC.
fn today() -> u32 {
    let seconds = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |since| since.as_secs());
    (seconds / 86_400) as u32
}

/// A key's daily cap and what it spent on `day`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DailySpend {
    pub cap: Option<u64>,
    pub spent_today: u64,
}

impl DailySpend {
    /// What the cap leaves of the day (all of `u64` without a cap).
    pub fn left(&self) -> u64 {
        self.cap.map_or(u64::MAX, |cap| cap.saturating_sub(self.spent_today))
    }
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

    /// [`Ledger::debit`], leaving at least `kept` rao (what running work holds) untouched, of the
    /// balance and of the day's cap.
    pub fn debit_keeping(&self, api_key: &str, price: u64, kept: u64) -> Result<u64> {
        self.debit_on(api_key, price, kept, today())
    }

    fn debit_on(&self, api_key: &str, price: u64, kept: u64, day: u32) -> Result<u64> {
        let hash = key_hash(api_key);
        let _guard = self.credit_lock().hold();
        let balance = self.read_balance(&hash)?.ok_or(CreditError::UnknownKey)?;
        let daily = self.read_daily(&hash, day)?;
        if balance.checked_sub(kept).and_then(|free| free.checked_sub(price)).is_none() {
            return Err(CreditError::Insufficient { price, balance: balance.saturating_sub(kept) }.into());
        }
        if let Some(cap) = daily.cap {
            if daily.spent_today.saturating_add(kept).saturating_add(price) > cap {
                return Err(CreditError::DailyCap { cap, spent: daily.spent_today, price }.into());
            }
        }
        let mut batch = rocksdb::WriteBatch::default();
        let family = cf(self.db(), schema::CREDITS);
        batch.put_cf(family, hash.as_bytes(), (balance - price).to_be_bytes());
        batch.put_cf(family, spend_key(&hash), [day.to_be_bytes().as_slice(), &daily.spent_today.saturating_add(price).to_be_bytes()].concat());
        self.db().write_opt(batch, &synced())?;
        Ok(balance - price)
    }

    /// Sets the most the key may spend in one UTC day (`None` lifts the cap).
    pub fn set_daily_cap(&self, api_key: &str, cap: Option<u64>) -> Result<()> {
        let hash = key_hash(api_key);
        let _guard = self.credit_lock().hold();
        self.read_balance(&hash)?.ok_or(CreditError::UnknownKey)?;
        let family = cf(self.db(), schema::CREDITS);
        match cap {
            Some(cap) => self.db().put_cf_opt(family, cap_key(&hash), cap.to_be_bytes(), &synced())?,
            None => self.db().delete_cf_opt(family, cap_key(&hash), &synced())?,
        }
        Ok(())
    }

    /// The key's daily cap and what it spent today.
    pub fn daily_spend(&self, api_key: &str) -> Result<DailySpend> {
        let hash = key_hash(api_key);
        self.read_balance(&hash)?.ok_or(CreditError::UnknownKey)?;
        self.read_daily(&hash, today())
    }

    /// What the key may spend now: the smaller of its balance and what its cap leaves of today.
    pub fn spendable(&self, api_key: &str) -> Result<u64> {
        let hash = key_hash(api_key);
        let _guard = self.credit_lock().hold();
        let balance = self.read_balance(&hash)?.ok_or(CreditError::UnknownKey)?;
        Ok(balance.min(self.read_daily(&hash, today())?.left()))
    }

    fn read_daily(&self, hash: &Hash, day: u32) -> Result<DailySpend> {
        let family = cf(self.db(), schema::CREDITS);
        let corrupt = || Error::Corrupt("a daily cap or spend is malformed".into());
        let cap = match self.db().get_pinned_cf(family, cap_key(hash))? {
            Some(bytes) => Some(u64::from_be_bytes(bytes.as_ref().try_into().map_err(|_| corrupt())?)),
            None => None,
        };
        let spent_today = match self.db().get_pinned_cf(family, spend_key(hash))? {
            Some(bytes) if bytes.len() == 12 => {
                let stored_day = u32::from_be_bytes(bytes[..4].try_into().map_err(|_| corrupt())?);
                if stored_day == day { u64::from_be_bytes(bytes[4..].try_into().map_err(|_| corrupt())?) } else { 0 }
            }
            Some(_) => return Err(corrupt()),
            None => 0,
        };
        Ok(DailySpend { cap, spent_today })
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

#[cfg(test)]
mod tests {
    use crate::{Ledger, Options};

    use super::CreditError;
    use crate::error::Error;

    #[test]
    fn a_daily_cap_bounds_each_day_and_starts_again_the_next() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::create(dir.path(), Options::default()).unwrap();
        let key = ledger.issue_api_key(1_000).unwrap();
        ledger.set_daily_cap(&key, Some(300)).unwrap();
        assert_eq!(ledger.debit_on(&key, 200, 0, 20_000).unwrap(), 800);
        let refused = ledger.debit_on(&key, 150, 0, 20_000).unwrap_err();
        assert!(matches!(refused, Error::Credit(CreditError::DailyCap { cap: 300, spent: 200, price: 150 })), "{refused}");
        assert_eq!(ledger.balance(&key).unwrap(), 800, "a refused debit takes nothing");
        assert!(matches!(ledger.debit_on(&key, 50, 60, 20_000).unwrap_err(), Error::Credit(CreditError::DailyCap { .. })), "held rao count against the cap");
        assert_eq!(ledger.debit_on(&key, 150, 0, 20_001).unwrap(), 650, "a new day, a new cap");
        ledger.set_daily_cap(&key, None).unwrap();
        assert_eq!(ledger.debit_on(&key, 600, 0, 20_001).unwrap(), 50);
    }
}
