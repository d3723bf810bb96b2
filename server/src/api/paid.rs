//! Paid access to proof-carrying reads, following x402.
//!
//! A paid route answers a request that carries no payment with `402 Payment Required` and a
//! `PAYMENT-REQUIRED` header: base64 of `{x402Version, resource, accepts}`, where `accepts`
//! offers the `exact` scheme (a TAO transfer of the price to `payTo`) when the node has an
//! address to be paid at. A request pays in one of two ways:
//!
//! - **An API key** holding prepaid credits (`Authorization: Bearer ok_...` or
//!   `X-API-Key: ok_...`): the price is debited after the answer is computed and before it is
//!   sent, so a failed read costs nothing; the answer states its cost and the balance left.
//!   What orchestrations in flight hold on the key stays untouched.
//! - **A hotkey's credit**: what an `exact` payment for an orchestration did not spend is kept as
//!   the paying hotkey's prepaid credit ([`ledger::hotkey_account`]), spent like an API key by
//!   requests the hotkey signs Epistula-style with `Authorization: Hotkey`, addressed to the
//!   node's hotkey, each signature accepted once.
//! - **An `exact` payment**, when the node is connected to the chain ([`Settlement`]):
//!   `PAYMENT-SIGNATURE: base64({accepted, payload: {signedExtrinsic, extrinsicHash, from},
//!   extensions})` carrying a signed, unbroadcast `Balances.transfer_keep_alive`. It is
//!   verified offline against the runtime and against the payer's account (nonce and free
//!   balance), recorded in the ledger's persistent replay set ([`Ledger::record_payment`]),
//!   submitted and awaited until finalized; only then is the answer computed and sent, with
//!   `PAYMENT-RESPONSE: base64({success, transaction, network, payer})`. Settlement and answer
//!   run apart from the request, and the answer is kept under the extrinsic's hash, so a client
//!   whose request timed out fetches it again at `GET /v1/payments/{hash}` rather than losing
//!   what it paid. A malformed header is a 400 (`bad_payment`); a refused payment
//!   (`payment_invalid`) or a failed settlement (`settlement_failed`) is a 402 that says again
//!   how to pay.
//!
//! Either way an answer is never sent unpaid.

use std::str::FromStr;
use std::sync::{Arc, RwLock};

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine;
use ledger::Ledger;
use subnet::chain::{extrinsic_hash, AccountId32, ChainClient, ChainError, Payment, PaymentRequirement, ReplaySet, VerifiedPayment, H256};
use serde::Deserialize;
use serde_json::{json, Value};

use super::error::{ApiError, Code};
use super::AppState;
use subnet::epistula;

/// Prices and where payments go, from configuration.
#[derive(Clone, Debug, Default)]
pub struct Pricing {
    /// Price of one proof-carrying read in rao; zero makes such reads free.
    pub proof_read_rao: u64,
    /// Fee of one orchestration in rao, on top of what its subnet calls cost; zero makes
    /// orchestrations free (for a private node).
    pub orchestrate_fee_rao: u64,
    /// The subnet-call budget an orchestration that names none is quoted, on a node that
    /// charges a fee: what an on-chain payment for it carries beside the fee. What the run
    /// does not spend stays the payer's credit.
    pub orchestrate_budget_rao: u64,
    /// SS58 address that `exact` payments go to; without it only API keys are accepted.
    pub pay_to: Option<String>,
    /// The network named in payment requirements.
    pub network: String,
}

/// Headers stating what a paid answer cost and what is left.
pub const COST_HEADER: &str = "x-orchestra-cost-rao";
pub const BALANCE_HEADER: &str = "x-orchestra-balance-rao";
/// The x402 (v2) headers of an `exact` payment and of its receipt.
pub(super) const PAYMENT_SIGNATURE: &str = "payment-signature";
pub(super) const PAYMENT_RESPONSE: &str = "payment-response";

/// What settles `exact` payments: a connection to the chain and the account they must reach.
#[derive(Clone)]
pub struct Settlement {
    chain: ChainClient,
    pay_to: AccountId32,
}

/// Why a node cannot settle `exact` payments as configured.
#[derive(Debug, thiserror::Error)]
pub enum SettlementError {
    #[error("settling on-chain payments needs the address they go to (--pay-to)")]
    NoPayTo,
    #[error("--pay-to {0} is not an SS58 address")]
    BadPayTo(String),
}

impl Settlement {
    /// Settles through `chain` payments to `pricing`'s `pay_to`.
    pub fn new(chain: ChainClient, pricing: &Pricing) -> Result<Settlement, SettlementError> {
        let pay_to = pricing.pay_to.as_deref().ok_or(SettlementError::NoPayTo)?;
        let pay_to = AccountId32::from_str(pay_to).map_err(|_| SettlementError::BadPayTo(pay_to.to_owned()))?;
        Ok(Settlement { chain, pay_to })
    }
}

/// Why a `PAYMENT-SIGNATURE` header cannot be read: the client's fault, answered with 400.
#[derive(Debug, thiserror::Error)]
enum BadPayment {
    #[error("PAYMENT-SIGNATURE is not text")]
    NotText,
    #[error("PAYMENT-SIGNATURE is not base64: {0}")]
    Base64(#[from] base64::DecodeError),
    #[error("PAYMENT-SIGNATURE is not x402 JSON {{accepted, payload: {{signedExtrinsic, extrinsicHash, from}}}}: {0}")]
    Json(#[from] serde_json::Error),
    #[error("`{field}` is not hex: {source}")]
    Hex { field: &'static str, source: hex::FromHexError },
    #[error("`extrinsicHash` is {0} bytes, not 32")]
    HashLength(usize),
    #[error("`extrinsicHash` {claimed:?} is not the hash of `signedExtrinsic`, {computed:?}")]
    HashMismatch { claimed: H256, computed: H256 },
    #[error("`from` is not an SS58 address")]
    From,
}

/// The `PAYMENT-SIGNATURE` JSON; `extensions` are not used.
#[derive(Deserialize)]
struct PaymentSignature {
    accepted: Accepted,
    payload: ExactPayload,
}

/// The requirement the client says it pays: only its scheme and network are checked, the
/// rest is what the extrinsic itself proves.
#[derive(Deserialize)]
struct Accepted {
    scheme: String,
    network: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExactPayload {
    signed_extrinsic: String,
    extrinsic_hash: String,
    from: String,
}

/// An `exact` payment as decoded from its header, not yet verified.
pub(super) struct ExactPayment {
    accepted: Accepted,
    extrinsic: Vec<u8>,
    from: AccountId32,
}

fn hex_field(field: &'static str, text: &str) -> Result<Vec<u8>, BadPayment> {
    hex::decode(text.strip_prefix("0x").unwrap_or(text)).map_err(|source| BadPayment::Hex { field, source })
}

impl ExactPayment {
    /// The account the payment says it is from (checked against the extrinsic's signer when
    /// it is verified).
    pub(super) fn payer(&self) -> &AccountId32 {
        &self.from
    }

    fn decode(header: &HeaderValue) -> Result<ExactPayment, BadPayment> {
        let json = base64::engine::general_purpose::STANDARD.decode(header.to_str().map_err(|_| BadPayment::NotText)?.trim())?;
        let PaymentSignature { accepted, payload } = serde_json::from_slice(&json)?;
        let extrinsic = hex_field("signedExtrinsic", &payload.signed_extrinsic)?;
        let claimed = hex_field("extrinsicHash", &payload.extrinsic_hash)?;
        let claimed = <[u8; 32]>::try_from(claimed.as_slice()).map(H256).map_err(|_| BadPayment::HashLength(claimed.len()))?;
        let computed = extrinsic_hash(&extrinsic);
        if claimed != computed {
            return Err(BadPayment::HashMismatch { claimed, computed });
        }
        let from = AccountId32::from_str(&payload.from).map_err(|_| BadPayment::From)?;
        Ok(ExactPayment { accepted, extrinsic, from })
    }

    /// Who claims to pay: checked against the extrinsic's signer only when it is verified.
    pub(super) fn from(&self) -> &AccountId32 {
        &self.from
    }
}

/// How a request pays.
pub(super) enum Payer {
    /// An API key, or a hotkey's credit account ([`ledger::hotkey_account`]).
    ApiKey(String),
    Exact(ExactPayment),
}

/// Longest a settlement may take to reach finality before it is given up.
pub const SETTLE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

/// The scheme of `Authorization` that pays from the signing hotkey's credit.
const HOTKEY_SCHEME: &str = "Hotkey";

/// What a hotkey signs to spend its credit on `resource` (the path and query asked for) with
/// `body`: Epistula's body is `resource`, a line feed, then the request's body, so that a
/// signature buys only the request it was made for, not another read or orchestration.
pub fn hotkey_payment_body(resource: &str, body: &[u8]) -> Vec<u8> {
    [resource.as_bytes(), b"\n", body].concat()
}

/// Whether a request pays from a hotkey's credit (its Epistula signature is then a payer's, not
/// a validator's challenge).
pub fn pays_by_hotkey(headers: &HeaderMap) -> bool {
    headers.get("authorization").and_then(|value| value.to_str().ok()).is_some_and(|value| value.trim().eq_ignore_ascii_case(HOTKEY_SCHEME))
}

/// A paid resource as a 402 describes it.
pub(super) struct Paid<'a> {
    pub resource: &'a str,
    pub description: &'static str,
    /// What the client must pay at least, in rao.
    pub amount_rao: u64,
}

impl Pricing {
    /// How a request for `paid` pays, or the error that says how to pay; `None` when it is
    /// free. `exact` payments are read only when the node can settle them.
    pub(super) fn payer(&self, state: &AppState, headers: &HeaderMap, body: &[u8], paid: &Paid) -> Result<Option<Payer>, ApiError> {
        let settles = state.settlement.is_some();
        if paid.amount_rao == 0 {
            return Ok(None);
        }
        if pays_by_hotkey(headers) {
            let lookup = |name: &str| headers.get(name).and_then(|value| value.to_str().ok()).map(str::to_owned);
            let now = now_ms();
            // Addressed to this node's hotkey, so that a signature cannot be spent again at
            // another node where the same hotkey holds credit.
            let node = state.orchestration().map(|orchestration| orchestration.orchestrator().miner());
            let signed = epistula::verify(lookup, &hotkey_payment_body(paid.resource, body), node.as_deref(), now, epistula::DEFAULT_MAX_AGE_MS).map_err(|error| {
                ApiError::new(StatusCode::UNAUTHORIZED, Code::BadSignature, format!("Authorization: Hotkey needs an Epistula signature of this request (its path and query, a line feed, its body) addressed to this node: {error}"))
            })?;
            if !state.payer_replays.first_use(&signed, now) {
                return Err(ApiError::new(StatusCode::UNAUTHORIZED, Code::ReplayedRequest, format!("request {} from {} was already served", signed.uuid, signed.signed_by)));
            }
            return Ok(Some(Payer::ApiKey(ledger::hotkey_account(&signed.signed_by))));
        }
        let bearer = headers.get("authorization").and_then(|value| value.to_str().ok()).and_then(|value| value.strip_prefix("Bearer "));
        let api_key = bearer.or_else(|| headers.get("x-api-key").and_then(|value| value.to_str().ok()));
        if let Some(api_key) = api_key.map(str::trim) {
            if !ledger::is_api_key(api_key) {
                return Err(ApiError::new(StatusCode::UNAUTHORIZED, Code::UnknownApiKey, "an API key is `ok_` followed by 64 hex digits"));
            }
            return Ok(Some(Payer::ApiKey(api_key.to_owned())));
        }
        match headers.get(PAYMENT_SIGNATURE) {
            Some(header) if settles => {
                let payment = ExactPayment::decode(header).map_err(|error| ApiError::new(StatusCode::BAD_REQUEST, Code::BadPayment, error.to_string()))?;
                Ok(Some(Payer::Exact(payment)))
            }
            Some(_) => Err(self.payment_required(paid, Code::PaymentRequired, "this node does not settle on-chain payments; pay with an API key holding prepaid credits")),
            None if headers.contains_key("x-payment") => {
                Err(self.payment_required(paid, Code::PaymentRequired, "x402 v1 X-PAYMENT is not accepted; pay with PAYMENT-SIGNATURE (x402 v2) or an API key"))
            }
            None => Err(self.payment_required(
                paid,
                Code::PaymentRequired,
                "this resource is paid: send an API key with prepaid credits (Authorization: Bearer <key>) or pay as PAYMENT-REQUIRED says",
            )),
        }
    }

    /// A 402 with `code` and `message` that says, in `PAYMENT-REQUIRED`, how to pay for `paid`.
    pub(super) fn payment_required(&self, paid: &Paid, code: Code, message: impl Into<String>) -> ApiError {
        let accepts: Vec<_> = self
            .pay_to
            .iter()
            .map(|pay_to| {
                json!({
                    "scheme": "exact",
                    "network": self.network,
                    "amount": paid.amount_rao.to_string(),
                    "asset": "TAO",
                    "payTo": pay_to,
                    "maxTimeoutSeconds": 60,
                    "extra": { "unit": "rao", "call": "Balances.transfer_keep_alive" },
                })
            })
            .collect();
        let requirement = json!({
            "x402Version": 2,
            "resource": { "url": paid.resource, "description": paid.description, "mimeType": "application/json" },
            "accepts": accepts,
        });
        let encoded = base64::engine::general_purpose::STANDARD.encode(requirement.to_string());
        ApiError::new(StatusCode::PAYMENT_REQUIRED, code, message).with_header("payment-required", encoded)
    }
}

/// Answers a paid read of `resource`: `answer` computes the answer on a blocking thread, and
/// the request's payment is taken as the module documentation says.
pub async fn answer(
    state: &AppState,
    headers: &HeaderMap,
    resource: &str,
    answer: impl FnOnce(&Ledger) -> Result<Value, ApiError> + Send + 'static,
) -> Result<Response, ApiError> {
    let price = state.pricing().proof_read_rao;
    let paid = Paid { resource, description: "a ledger entry with its Merkle proof", amount_rao: price };
    match state.pricing().payer(state, headers, &[], &paid)? {
        None => Ok(Json(state.read(answer).await?).into_response()),
        Some(Payer::ApiKey(api_key)) => {
            let answer = state.read(answer).await?;
            let balance = match state.orchestration() {
                // Under the holds' lock, so that no orchestration takes a hold between the read
                // of what is held and the debit.
                Some(orchestration) => orchestration.debit_beside_holds(state, &api_key, price)?,
                None => state.debit(&api_key, price).await?,
            };
            Ok(with_payment(answer, json!({ "cost_rao": price, "balance_rao": balance }), price, (BALANCE_HEADER, HeaderValue::from(balance))))
        }
        Some(Payer::Exact(payment)) => {
            let settlement = state.settlement.clone().expect("exact payments are read only when the node settles them");
            // Taken before the payment is recorded, so a busy node refuses without spending it.
            let slot = state.settlements.take(&payment.from)?;
            let verified = verify_exact(state, &settlement, &payment, &paid).await?;
            // Settled, answered and kept apart from this request: a client that gives up (or a
            // timeout) cannot lose an answer already paid for.
            let (state, resource, description) = (state.clone(), paid.resource.to_owned(), paid.description);
            let settled = tokio::spawn(async move {
                let paid = Paid { resource: &resource, description, amount_rao: price };
                // Finality first: an answer computed for a transfer that then failed would be unpaid.
                let (transaction, header) = settle_exact(&state, &settlement, &payment, &paid).await?;
                let mut body = state.read(answer).await?;
                body["payment"] = json!({ "cost_rao": price, "transaction": transaction });
                let kept = serde_json::to_vec(&body).expect("answers serialise");
                state.read(move |ledger| Ok(ledger.keep_payment_answer(verified.extrinsic_hash.0, &kept)?)).await?;
                drop(slot);
                Ok::<_, ApiError>((body, header))
            });
            let (body, header) = settled.await.map_err(|_| ApiError::internal("settling the payment panicked"))??;
            let mut response = Json(body).into_response();
            response.headers_mut().insert(COST_HEADER, HeaderValue::from(price));
            response.headers_mut().insert(PAYMENT_RESPONSE, header);
            Ok(response)
        }
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |since| since.as_millis() as u64)
}

/// `GET /v1/payments/{hash}`: the answer a settled `exact` payment of a read paid for.
pub async fn payment_answer(axum::extract::State(state): axum::extract::State<AppState>, axum::extract::Path(hash): axum::extract::Path<String>) -> Result<Response, ApiError> {
    let bytes = hex_field("hash", &hash).map_err(|error| ApiError::bad_request(error.to_string()))?;
    let hash: [u8; 32] = bytes.try_into().map_err(|_| ApiError::bad_request("an extrinsic hash is 32 bytes"))?;
    match state.read(move |ledger| Ok(ledger.payment_answer(hash)?)).await? {
        None => Err(ApiError::new(StatusCode::NOT_FOUND, Code::UnknownPayment, "no payment with this extrinsic hash was accepted here")),
        Some(None) => Err(ApiError::new(StatusCode::CONFLICT, Code::NoAnswerKept, "the payment was accepted, but no answer is kept for it: it is settling, or it paid an orchestration (whose rest is the payer's credit)")),
        Some(Some(answer)) => Ok(([(axum::http::header::CONTENT_TYPE, "application/json")], answer).into_response()),
    }
}

/// Verifies an `exact` payment of at least `paid.amount_rao` and records it in the replay set.
pub(super) async fn verify_exact(state: &AppState, settlement: &Settlement, payment: &ExactPayment, paid: &Paid<'_>) -> Result<VerifiedPayment, ApiError> {
    let pricing = state.pricing();
    let refused = |code, message: String| pricing.payment_required(paid, code, message);
    if payment.accepted.scheme != "exact" || payment.accepted.network != pricing.network {
        let message = format!("this node takes the `exact` scheme on {}, not `{}` on {}", pricing.network, payment.accepted.scheme, payment.accepted.network);
        return Err(refused(Code::PaymentInvalid, message));
    }
    let requirement = PaymentRequirement { pay_to: settlement.pay_to, min_amount_rao: paid.amount_rao.into() };
    let mut replay = LedgerReplaySet { ledger: state.ledger.clone(), failure: None };
    let verified = settlement.chain.verify_payment(Payment { extrinsic: &payment.extrinsic, from: &payment.from }, &requirement, &mut replay).await;
    match (verified, replay.failure) {
        (_, Some(failure)) => Err(failure),
        (Ok(verified), None) => Ok(verified),
        (Err(ChainError::Payment(error)), None) => Err(refused(Code::PaymentInvalid, error.to_string())),
        (Err(error), None) => Err(ApiError::new(StatusCode::BAD_GATEWAY, Code::ChainUnavailable, error.to_string())),
    }
}

/// Submits a verified `exact` payment and waits for finality: the transaction hash and the
/// `PAYMENT-RESPONSE` header.
pub(super) async fn settle_exact(state: &AppState, settlement: &Settlement, payment: &ExactPayment, paid: &Paid<'_>) -> Result<(H256, HeaderValue), ApiError> {
    let pricing = state.pricing();
    let settled = tokio::time::timeout(SETTLE_TIMEOUT, settlement.chain.settle(&payment.extrinsic)).await;
    let transaction = match settled {
        Ok(settled) => settled.map_err(|error| pricing.payment_required(paid, Code::SettlementFailed, error.to_string()))?,
        // A transfer that does not finalise in time (a nonce gap keeps it in the pool, say) is
        // given up on: nothing was done for it, and its extrinsic is spent.
        Err(_) => return Err(pricing.payment_required(paid, Code::SettlementFailed, format!("the transfer was not final within {} s", SETTLE_TIMEOUT.as_secs()))),
    };
    let payment_response = json!({ "success": true, "transaction": transaction, "network": pricing.network, "payer": payment.from.to_string() });
    let payment_response = base64::engine::general_purpose::STANDARD.encode(payment_response.to_string());
    let header = HeaderValue::from_str(&payment_response).expect("base64 is a valid header value");
    Ok((transaction, header))
}

/// A paid answer: `payment` in its body, its cost and one more header.
pub(super) fn with_payment(mut answer: Value, payment: Value, cost: u64, header: (&'static str, HeaderValue)) -> Response {
    answer["payment"] = payment;
    let mut response = Json(answer).into_response();
    response.headers_mut().insert(COST_HEADER, HeaderValue::from(cost));
    response.headers_mut().insert(header.0, header.1);
    response
}

/// The ledger's persistent replay set ([`Ledger::record_payment`]) as the orchestrator sees
/// one. The orchestrator's trait cannot fail, so a storage failure counts as "seen before"
/// (the payment is refused, never accepted twice) and is kept in `failure` to be answered as
/// the server fault it is.
struct LedgerReplaySet {
    ledger: Arc<RwLock<Ledger>>,
    failure: Option<ApiError>,
}

impl ReplaySet for LedgerReplaySet {
    fn record(&mut self, hash: H256) -> bool {
        // A synced RocksDB write, and the ledger lock may be held by a commit: this blocks, so
        // it leaves the async worker first (the node's runtime is multi-threaded).
        let recorded = tokio::task::block_in_place(|| -> Result<bool, ApiError> {
            Ok(self.ledger.read().map_err(|_| ApiError::poisoned())?.record_payment(hash.0)?)
        });
        recorded.unwrap_or_else(|failure| {
            self.failure = Some(failure);
            false
        })
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        /// A `PAYMENT-SIGNATURE` header of any bytes, and base64 of any JSON-ish text, is
        /// refused as malformed or decoded; it never panics.
        #[test]
        fn arbitrary_payment_headers_decode_or_are_refused(bytes in proptest::collection::vec(any::<u8>(), 0..512), text in ".{0,300}") {
            if let Ok(header) = HeaderValue::from_bytes(&bytes) {
                let _ = ExactPayment::decode(&header);
            }
            let encoded = base64::engine::general_purpose::STANDARD.encode(text.as_bytes());
            let _ = ExactPayment::decode(&HeaderValue::from_str(&encoded).unwrap());
            let framed = format!(r#"{{"accepted":{{"scheme":"exact","network":"n"}},"payload":{{"signedExtrinsic":"0x{}","extrinsicHash":"{text}","from":"{text}"}}}}"#, hex::encode(&bytes));
            let encoded = base64::engine::general_purpose::STANDARD.encode(framed);
            prop_assert!(ExactPayment::decode(&HeaderValue::from_str(&encoded).unwrap()).is_err());
        }
    }
}
