//! Places for `exact` payments being settled.
//!
//! A settlement holds its place until its transfer is final or [`SETTLE_TIMEOUT`] passes. A
//! payer whose transfers fail late (its nonce spent by another extrinsic first, at the cost of
//! one fee) would otherwise hold every place for that long and keep everyone else's payments
//! out. So the node settles at most [`SETTLEMENTS_IN_FLIGHT`] payments at once and at most
//! [`SETTLEMENTS_PER_PAYER`] from one paying account; each account must hold the amount it
//! pays (checked before the place is used), so filling the node takes that many funded
//! accounts. A place is taken before the payment is recorded, so a refusal spends nothing.
//!
//! [`SETTLE_TIMEOUT`]: super::paid::SETTLE_TIMEOUT

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use subnet::chain::AccountId32;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::error::{ApiError, Code};

/// `exact` payments settled at once.
pub const SETTLEMENTS_IN_FLIGHT: usize = 16;
/// `exact` payments from one account settled at once.
pub const SETTLEMENTS_PER_PAYER: usize = 2;

#[derive(Clone)]
pub struct SettlementPlaces {
    all: Arc<Semaphore>,
    by_payer: Arc<Mutex<HashMap<[u8; 32], usize>>>,
}

impl Default for SettlementPlaces {
    fn default() -> SettlementPlaces {
        SettlementPlaces { all: Arc::new(Semaphore::new(SETTLEMENTS_IN_FLIGHT)), by_payer: Arc::default() }
    }
}

/// A settlement's place, given back when dropped.
pub struct SettlementPlace {
    _permit: OwnedSemaphorePermit,
    payer: [u8; 32],
    by_payer: Arc<Mutex<HashMap<[u8; 32], usize>>>,
}

impl SettlementPlaces {
    /// A place for a payment by `payer`, or a 429 `settlements_busy` saying which limit is met.
    pub fn take(&self, payer: &AccountId32) -> Result<SettlementPlace, ApiError> {
        let busy = |message: String| ApiError::new(StatusCode::TOO_MANY_REQUESTS, Code::SettlementsBusy, message).with_header("retry-after", "5".into());
        let mut by_payer = self.by_payer.lock().expect("the settlement counts are never left poisoned");
        if by_payer.get(&payer.0).is_some_and(|settling| *settling >= SETTLEMENTS_PER_PAYER) {
            return Err(busy(format!("{SETTLEMENTS_PER_PAYER} payments from {payer} are being settled; retry when one is final (the payment was not used)")));
        }
        // Only a payer given a place is counted, so refusals leave nothing behind.
        let permit = self.all.clone().try_acquire_owned().map_err(|_| busy(format!("{SETTLEMENTS_IN_FLIGHT} payments are being settled; retry shortly (the payment was not used)")))?;
        *by_payer.entry(payer.0).or_default() += 1;
        Ok(SettlementPlace { _permit: permit, payer: payer.0, by_payer: self.by_payer.clone() })
    }
}

impl Drop for SettlementPlace {
    fn drop(&mut self) {
        let mut by_payer = self.by_payer.lock().expect("the settlement counts are never left poisoned");
        if let Some(settling) = by_payer.get_mut(&self.payer) {
            *settling -= 1;
            if *settling == 0 {
                by_payer.remove(&self.payer);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(byte: u8) -> AccountId32 {
        AccountId32([byte; 32])
    }

    #[test]
    fn one_payer_holds_at_most_its_share_and_everyone_at_most_the_whole() {
        let places = SettlementPlaces::default();
        let first: Vec<SettlementPlace> = (0..SETTLEMENTS_PER_PAYER).map(|_| places.take(&account(1)).unwrap()).collect();
        let refused = places.take(&account(1)).err().expect("a payer past its share is refused");
        assert_eq!((refused.status, refused.code), (StatusCode::TOO_MANY_REQUESTS, Code::SettlementsBusy));
        assert!(refused.message.contains(&account(1).to_string()), "{}", refused.message);

        // Others still settle, up to the node's whole limit.
        let others: Vec<SettlementPlace> = (0..SETTLEMENTS_IN_FLIGHT - SETTLEMENTS_PER_PAYER).map(|index| places.take(&account(2 + (index / SETTLEMENTS_PER_PAYER) as u8)).unwrap()).collect();
        let full = places.take(&account(200)).err().expect("the node's limit holds");
        assert!(full.message.contains(&format!("{SETTLEMENTS_IN_FLIGHT} payments")), "{}", full.message);

        // A place given back is free again, for the payer whose settlement ended.
        drop(first);
        places.take(&account(1)).expect("a payer's places come back when its settlements end");
        drop(others);
        assert!(places.by_payer.lock().unwrap().is_empty(), "counts of payers with nothing settling are dropped");
    }
}
