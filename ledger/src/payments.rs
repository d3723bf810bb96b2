//! On-chain payments already accepted: the extrinsic hashes of x402 `exact` payments, so that
//! one signed transfer pays for one answer, across restarts. Like credits, they lie beside the
//! ledger but outside its commitment.
//!
//! Check and insert are one step under the credit lock, and the insert is written
//! synchronously: two concurrent requests carrying one extrinsic cannot both pass, and an
//! accepted payment is still known after a crash. Once the payment is settled, the answer it
//! paid for is kept beside it, so that it can be fetched again by the extrinsic's hash.

use crate::credits::synced;
use crate::error::Result;
use crate::schema;
use crate::store::{cf, Ledger};

impl Ledger {
    /// Records the hash of an extrinsic accepted as payment; returns `false`, recording
    /// nothing, when it was recorded before.
    pub fn record_payment(&self, extrinsic_hash: [u8; 32]) -> Result<bool> {
        let payments = cf(self.db(), schema::PAYMENTS);
        let _guard = self.credit_lock().hold();
        if self.db().get_pinned_cf(payments, extrinsic_hash)?.is_some() {
            return Ok(false);
        }
        self.db().put_cf_opt(payments, extrinsic_hash, b"", &synced())?;
        Ok(true)
    }

    /// Keeps `answer` as what the recorded payment `extrinsic_hash` paid for.
    pub fn keep_payment_answer(&self, extrinsic_hash: [u8; 32], answer: &[u8]) -> Result<()> {
        Ok(self.db().put_cf_opt(cf(self.db(), schema::PAYMENTS), extrinsic_hash, answer, &synced())?)
    }

    /// What a payment paid for: `None` when the payment is unknown, `Some(None)` while it is
    /// recorded but its answer is not kept (not settled yet, or it paid an orchestration).
    pub fn payment_answer(&self, extrinsic_hash: [u8; 32]) -> Result<Option<Option<Vec<u8>>>> {
        let stored = self.db().get_cf(cf(self.db(), schema::PAYMENTS), extrinsic_hash)?;
        Ok(stored.map(|answer| (!answer.is_empty()).then_some(answer)))
    }
}

#[cfg(test)]
mod tests {
    use crate::{Ledger, Options};

    #[test]
    fn a_payment_is_recorded_once_and_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::create(dir.path(), Options::default()).unwrap();
        let root = ledger.head().state_root;
        assert!(ledger.record_payment([7; 32]).unwrap());
        assert!(!ledger.record_payment([7; 32]).unwrap());
        assert!(ledger.record_payment([8; 32]).unwrap());
        assert_eq!(ledger.head().state_root, root, "payments are outside the commitment");
        drop(ledger);
        let reopened = Ledger::open(dir.path(), Options::default()).unwrap();
        assert!(!reopened.record_payment([7; 32]).unwrap());
    }
}
