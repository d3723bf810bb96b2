//! Paid access to proof-carrying reads, following x402.
//!
//! A paid route answers a request that carries no payment with `402 Payment Required` and a
//! `PAYMENT-REQUIRED` header: base64 of `{x402Version, resource, accepts}`, where `accepts`
//! offers the `exact` scheme (a TAO transfer of the price to `payTo`) when the node has an
//! address to be paid at. A request pays with an API key holding prepaid credits
//! (`Authorization: Bearer ok_...` or `X-API-Key: ok_...`): the price is debited after the
//! answer is computed and before it is sent, so a failed read costs nothing and an answer is
//! never sent unpaid; every paid answer states its cost and the balance left.

use axum::http::{HeaderMap, StatusCode};
use base64::Engine;
use serde_json::json;

use super::error::ApiError;

/// Prices and where payments go, from configuration.
#[derive(Clone, Debug, Default)]
pub struct Pricing {
    /// Price of one proof-carrying read in rao; zero makes such reads free.
    pub proof_read_rao: u64,
    /// SS58 address that `exact` payments go to; without it only API keys are accepted.
    pub pay_to: Option<String>,
    /// The network named in payment requirements.
    pub network: String,
}

/// Headers stating what a paid answer cost and what is left.
pub const COST_HEADER: &str = "x-orchestra-cost-rao";
pub const BALANCE_HEADER: &str = "x-orchestra-balance-rao";

impl Pricing {
    /// The API key paying for a request to `resource`, or the 402 that says how to pay.
    /// `None` when the resource is free.
    pub fn payer(&self, headers: &HeaderMap, resource: &str) -> Result<Option<String>, ApiError> {
        if self.proof_read_rao == 0 {
            return Ok(None);
        }
        let bearer = headers.get("authorization").and_then(|value| value.to_str().ok()).and_then(|value| value.strip_prefix("Bearer "));
        let api_key = bearer.or_else(|| headers.get("x-api-key").and_then(|value| value.to_str().ok()));
        if let Some(api_key) = api_key {
            return Ok(Some(api_key.trim().to_owned()));
        }
        if headers.contains_key("payment-signature") || headers.contains_key("x-payment") {
            return Err(self.payment_required(resource, "this node does not settle on-chain payments yet; pay with an API key holding prepaid credits"));
        }
        Err(self.payment_required(resource, "this read is paid: send an API key with prepaid credits (Authorization: Bearer <key>) or pay as PAYMENT-REQUIRED says"))
    }

    fn payment_required(&self, resource: &str, message: &str) -> ApiError {
        let accepts: Vec<_> = self
            .pay_to
            .iter()
            .map(|pay_to| {
                json!({
                    "scheme": "exact",
                    "network": self.network,
                    "amount": self.proof_read_rao.to_string(),
                    "asset": "TAO",
                    "payTo": pay_to,
                    "maxTimeoutSeconds": 60,
                    "extra": { "unit": "rao", "call": "Balances.transfer_keep_alive" },
                })
            })
            .collect();
        let requirement = json!({
            "x402Version": 2,
            "resource": { "url": resource, "description": "a ledger entry with its Merkle proof", "mimeType": "application/json" },
            "accepts": accepts,
        });
        let encoded = base64::engine::general_purpose::STANDARD.encode(requirement.to_string());
        ApiError::new(StatusCode::PAYMENT_REQUIRED, "payment_required", message).with_header("payment-required", encoded)
    }
}
