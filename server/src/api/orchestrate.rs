//! `POST /v1/orchestrate`: one objective and target schema in, one validated result out, paid
//! like every paid resource of the node (see [`super::paid`]).
//!
//! What a caller pays is the node's **fee** plus what the subnet calls cost, and never more
//! than it allowed:
//! - **API key**: the fee plus the request's budget (or, without one, the whole balance) is
//!   **held** while the orchestration runs, so concurrent requests on one key cannot together
//!   spend more than it holds. The charge, the fee plus the calls' cost capped at the hold, is
//!   debited when the answer is ready; holds live in memory, so a node that stops mid-request
//!   charges nothing. A failed orchestration charges only the calls it made.
//! - **`exact` payment**: the signed transfer must cover the fee plus the budget; the budget
//!   is what it carries beyond the fee. It is verified (with the payer's nonce and balance)
//!   and settled to finality before any subnet call starts, so the node never works unpaid; the
//!   whole amount becomes the paying hotkey's prepaid credit, and the orchestration runs on that
//!   credit as on an API key: what it does not spend (a failure, a cheaper run) stays the
//!   payer's, spent later by requests its hotkey signs (see [`super::paid`]).
//!
//! On a miner, a request signed by a validator of the subnet is a challenge: served free and
//! answered signed ([`super::miner`]); the bodies any other request's calls received go into the
//! miner's served log ([`subnet::served`]).
//!
//! Routing reads a [`Catalog`] of the ledger, rebuilt when the ledger's head moves.
//!
//! **Progress.** With `Accept: text/event-stream` the answer is a stream of the run's events
//! ending with the same answer (see [`super::stream`]).
//!
//! **Retries.** A request with an `Idempotency-Key` header is run once per key and caller; the
//! same request sent again gets the first answer, with `Idempotent-Replayed: true` (see
//! [`super::idempotency`]).
//!
//! **Bounds.** At most [`Limits::overall`] orchestrations run at once on the node and
//! [`Limits::per_key`] per API key; past them a request is refused at once (429), before any
//! payment is taken or call made. A node that charges no fee and listens beyond loopback serves
//! orchestrations only when its operator said so (`--free-orchestrations`): otherwise anyone
//! on the internet could spend its subnet keys.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use orchestrator::orchestrate::{Failure, OrchestrateError, Orchestrator, Outcome, Request};
use orchestrator::execute::trace::CallRecord;
use subnet::ledger_work::health::health_changes;
use subnet::ledger_work::{propose, remote};
use orchestrator::progress::Watcher;
use orchestrator::route::Catalog;
use ledger::Hash;
use serde_json::{json, Value};

use super::error::{ApiError, Code};
use super::idempotency::{self, Begun, Idempotency};
use super::stream;
use super::miner::{is_challenge, MinerAccess};
use super::paid::{pays_by_hotkey, settle_exact, verify_exact, with_payment, Paid, Payer, BALANCE_HEADER, COST_HEADER, PAYMENT_RESPONSE};
use super::AppState;

const RESOURCE: &str = "/v1/orchestrate";
const DESCRIPTION: &str = "one orchestration: the node's fee plus the budget allowed for subnet calls";

/// How many orchestrations may run at once, and whether unpaid ones are served.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub overall: usize,
    pub per_key: usize,
    /// Serve orchestrations without payment when the node charges no fee.
    pub free: bool,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits { overall: 64, per_key: 4, free: true }
    }
}

/// The orchestrator of a node, with what its requests share.
pub struct Orchestration {
    orchestrator: Orchestrator,
    limits: Limits,
    /// The catalog and the checkpoint hash of the head it was read at.
    catalog: Mutex<Option<(Hash, Arc<Catalog>)>>,
    /// Rao held per API key by orchestrations in flight.
    holds: Mutex<HashMap<String, u64>>,
    running: Arc<tokio::sync::Semaphore>,
    /// Orchestrations in flight per API key.
    running_per_key: Mutex<HashMap<String, usize>>,
    /// Answers kept by `Idempotency-Key`.
    idempotency: Arc<Idempotency>,
}

impl Orchestration {
    pub fn new(orchestrator: Orchestrator, limits: Limits) -> Orchestration {
        Orchestration {
            orchestrator,
            limits,
            catalog: Mutex::default(),
            holds: Mutex::default(),
            running: Arc::new(tokio::sync::Semaphore::new(limits.overall)),
            running_per_key: Mutex::default(),
            idempotency: Arc::default(),
        }
    }

    /// Debits `price` from `api_key` leaving what orchestrations in flight hold, under the
    /// holds' lock (as [`Orchestration::hold`] reads the balance under it); the balance left.
    pub(super) fn debit_beside_holds(&self, state: &AppState, api_key: &str, price: u64) -> Result<u64, ApiError> {
        let holds = self.holds.lock().map_err(|_| ApiError::poisoned())?;
        let held = holds.get(api_key).copied().unwrap_or(0);
        tokio::task::block_in_place(|| Ok(state.ledger.read().map_err(|_| ApiError::poisoned())?.debit_keeping(api_key, price, held)?))
    }

    /// A place among the running orchestrations, for `api_key` when it pays by key.
    fn admit(self: &Arc<Self>, api_key: Option<&str>) -> Result<Slot, ApiError> {
        let busy = |code, message: String| ApiError::new(StatusCode::TOO_MANY_REQUESTS, code, message).with_header("retry-after", "1".into());
        let permit = self
            .running
            .clone()
            .try_acquire_owned()
            .map_err(|_| busy(Code::TooManyOrchestrations, format!("the node is running its limit of {} orchestrations; retry shortly", self.limits.overall)))?;
        if let Some(api_key) = api_key {
            let mut running = self.running_per_key.lock().map_err(|_| ApiError::poisoned())?;
            let count = running.entry(api_key.to_owned()).or_default();
            if *count >= self.limits.per_key {
                return Err(busy(Code::TooManyOrchestrationsForKey, format!("this API key already runs its limit of {} orchestrations", self.limits.per_key)));
            }
            *count += 1;
        }
        Ok(Slot { orchestration: self.clone(), api_key: api_key.map(str::to_owned), _permit: permit })
    }

    pub fn orchestrator(&self) -> &Orchestrator {
        &self.orchestrator
    }

    /// The catalog at the version routing reads (see [`ledger::Reading`]), read again only when
    /// that version has moved.
    async fn catalog(&self, state: &AppState) -> Result<Arc<Catalog>, ApiError> {
        let reading = |ledger: &ledger::Ledger| Ok::<_, ApiError>(ledger.checkpoint(ledger.reading()?.version)?.hash());
        let current = state.read(reading).await?;
        if let Some((read_at, catalog)) = &*self.catalog.lock().map_err(|_| ApiError::poisoned())? {
            if *read_at == current {
                return Ok(catalog.clone());
            }
        }
        let (read_at, catalog) = state.read(move |ledger| Ok((reading(ledger)?, Arc::new(Catalog::read(ledger)?)))).await?;
        *self.catalog.lock().map_err(|_| ApiError::poisoned())? = Some((read_at, catalog.clone()));
        Ok(catalog)
    }

    /// Holds the fee and budget on `api_key`, setting the request's budget to what the hold
    /// leaves for subnet calls.
    fn hold<'a>(&'a self, state: &AppState, api_key: &str, fee: u64, request: &mut Request) -> Result<Hold<'a>, ApiError> {
        let mut holds = self.holds.lock().map_err(|_| ApiError::poisoned())?;
        // Read under the lock, so that a debit cannot land between the read and the hold.
        let (balance, spendable) = tokio::task::block_in_place(|| Ok::<_, ApiError>((state.balance(api_key)?, state.spendable(api_key)?)))?;
        let held = holds.get(api_key).copied().unwrap_or(0);
        let available = spendable.saturating_sub(held);
        let wanted = match request.budget_rao {
            Some(budget) => fee.saturating_add(budget),
            None => available.max(fee),
        };
        if wanted > available {
            let needs = format!("this orchestration needs {wanted} rao (fee {fee} plus budget {})", wanted - fee);
            // The cap binds when it leaves less than the balance does.
            let (code, message) = if spendable < balance {
                (Code::DailyCapReached, format!("{needs} and the key's daily cap leaves {available} rao today ({held} held by orchestrations in flight)"))
            } else {
                (Code::InsufficientCredit, format!("{needs} and the key has {available} rao available ({held} held by orchestrations in flight)"))
            };
            return Err(ApiError::new(StatusCode::PAYMENT_REQUIRED, code, message));
        }
        request.budget_rao = Some(wanted - fee);
        *holds.entry(api_key.to_owned()).or_default() += wanted;
        Ok(Hold { orchestration: self, api_key: api_key.to_owned(), rao: wanted })
    }
}

/// A running orchestration's place; given back when dropped.
struct Slot {
    orchestration: Arc<Orchestration>,
    api_key: Option<String>,
    _permit: tokio::sync::OwnedSemaphorePermit,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let Some(api_key) = &self.api_key else { return };
        if let Ok(mut running) = self.orchestration.running_per_key.lock() {
            if let Some(count) = running.get_mut(api_key) {
                *count -= 1;
                if *count == 0 {
                    running.remove(api_key);
                }
            }
        }
    }
}

/// Rao held on an API key; released when dropped, after the charge is debited.
struct Hold<'a> {
    orchestration: &'a Orchestration,
    api_key: String,
    rao: u64,
}

impl Drop for Hold<'_> {
    fn drop(&mut self) {
        if let Ok(mut holds) = self.orchestration.holds.lock() {
            if let Some(held) = holds.get_mut(&self.api_key) {
                *held = held.saturating_sub(self.rao);
                if *held == 0 {
                    holds.remove(&self.api_key);
                }
            }
        }
    }
}

pub async fn orchestrate(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Result<Response, ApiError> {
    let orchestration = state.orchestration().ok_or_else(|| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, Code::OrchestrationDisabled, "this node does not orchestrate"))?;
    if let (Some(miner), true) = (state.miner(), is_challenge(&headers) && !pays_by_hotkey(&headers)) {
        return Ok(challenge(&state, &orchestration, &miner, &headers, &body).await);
    }
    let Json(mut request) = Json::<Request>::from_bytes(&body)?;
    // A request the node would refuse anyway is refused before it is paid for.
    orchestration.orchestrator().check(&request).map_err(failure_response)?;
    let miner = state.miner();
    let idempotency_key = idempotency::key_of(&headers)?;
    let fee = state.pricing().orchestrate_fee_rao;
    let quoted_budget = request.budget_rao.unwrap_or(if fee > 0 { state.pricing().orchestrate_budget_rao } else { 0 });
    let paid = Paid { resource: RESOURCE, description: DESCRIPTION, amount_rao: fee.saturating_add(quoted_budget) };
    let payer = state.pricing().payer(&state, &headers, &body, &paid)?;
    let paid_rao = paid.amount_rao;
    let api_key = match &payer {
        Some(Payer::ApiKey(api_key)) => Some(api_key.as_str()),
        _ => None,
    };
    let streaming = stream::wants_events(&headers);
    let ticket = match idempotency_key {
        None => None,
        Some(key) => match orchestration.idempotency.begin(&idempotency_scope(payer.as_ref()), key, idempotency::fingerprint(&body, &headers))? {
            Begun::Replay(answer) if streaming => return Ok(stream::replay(answer)),
            Begun::Replay(answer) => return Ok(answer),
            Begun::Run(ticket) => Some(ticket),
        },
    };
    let (watcher, events) = stream::channel(streaming);
    let slot = orchestration.admit(api_key)?;
    if payer.is_none() && !orchestration.limits.free {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            Code::FreeOrchestrationsDisabled,
            "this node listens beyond loopback and charges no fee, so it does not orchestrate for free; its operator sets --orchestrate-fee-rao, or --free-orchestrations to serve anyone",
        ));
    }
    let catalog = orchestration.catalog(&state).await?;
    // Paid work runs apart from the request, holding its place: a client that goes away (or a
    // timeout) cannot cancel a settlement, a credit or a charge half done.
    let run = async move {
        let _slot = slot;
        match payer {
            None => {
                let outcome = orchestration.orchestrator().run_watched(&catalog, request, watcher).await.map_err(failure_response)?;
                Ok::<_, ApiError>(Json(answer(served(miner.as_deref(), outcome), 0)).into_response())
            }
            Some(Payer::ApiKey(api_key)) => {
                let (outcome, payment) = on_credit(&state, &orchestration, &catalog, &api_key, fee, request, json!({}), watcher).await?;
                let charge = payment["cost_rao"].as_u64().unwrap_or(0);
                let balance = payment["balance_rao"].as_u64().unwrap_or(0);
                Ok(with_payment(answer(served(miner.as_deref(), outcome), fee), payment, charge, (BALANCE_HEADER, HeaderValue::from(balance))))
            }
            Some(Payer::Exact(payment)) => {
                let settlement = state.settlement.as_ref().expect("exact payments are read only when the node settles them");
                let paid = Paid { resource: RESOURCE, description: DESCRIPTION, amount_rao: paid_rao };
                let settling = state.settlements.take(payment.payer())?;
                let verified = verify_exact(&state, settlement, &payment, &paid).await?;
                let carried = u64::try_from(verified.amount).unwrap_or(u64::MAX);
                let (transaction, header) = settle_exact(&state, settlement, &payment, &paid).await?;
                drop(settling);
                // Paid for: from here on the payer's money is its credit, spent as an API key's.
                let payer = verified.payer.to_string();
                let account = ledger::hotkey_account(&payer);
                let deposited = payer.clone();
                state.read(move |ledger| Ok(ledger.deposit_to_hotkey(&deposited, carried)?)).await?;
                request.budget_rao = Some(carried.saturating_sub(fee));
                let settled = json!({ "transaction": transaction, "paid_rao": carried, "credit_of": payer });
                let (outcome, payment) = on_credit(&state, &orchestration, &catalog, &account, fee, request, settled, watcher).await?;
                let charge = payment["cost_rao"].as_u64().unwrap_or(0);
                Ok(with_payment(answer(served(miner.as_deref(), outcome), fee), payment, charge, (PAYMENT_RESPONSE, header)))
            }
        }
    };
    // The answer is kept for the key inside the detached task, so that it is kept even when
    // the client is gone before it is ready.
    let run = async move {
        let response = run.await.unwrap_or_else(IntoResponse::into_response);
        match ticket {
            Some(ticket) => ticket.finish(response).await,
            None => response,
        }
    };
    let run = tokio::spawn(run);
    match events {
        Some(events) => Ok(stream::respond(events, run)),
        None => run.await.map_err(|_| ApiError::internal("an orchestration panicked")),
    }
}

/// Whose `Idempotency-Key`s a request's are (see [`idempotency`]).
fn idempotency_scope(payer: Option<&Payer>) -> String {
    match payer {
        None => "unpaid".into(),
        Some(Payer::ApiKey(account)) => format!("account:{account}"),
        Some(Payer::Exact(payment)) => format!("payer:{}", payment.from()),
    }
}

/// Runs `request` on the credit of `account` (an API key or a hotkey's account): the fee and
/// budget are held, the fee and what the calls cost are charged, and the answer's `payment`
/// (`extra` with the cost and the balance left) says so, failures included.
#[allow(clippy::too_many_arguments)]
async fn on_credit(
    state: &AppState,
    orchestration: &Orchestration,
    catalog: &Catalog,
    account: &str,
    fee: u64,
    mut request: Request,
    extra: Value,
    watcher: Watcher,
) -> Result<(Outcome, Value), ApiError> {
    let hold = orchestration.hold(state, account, fee, &mut request)?;
    let result = orchestration.orchestrator().run_watched(catalog, request, watcher).await;
    let spent = match &result {
        Ok(outcome) => fee.saturating_add(outcome.cost.subnet_calls_rao),
        Err(error) => error.trace.as_ref().map_or(0, |trace| trace.cost.subnet_calls_rao),
    };
    let charge = spent.min(hold.rao);
    let balance = state.debit(account, charge).await?;
    drop(hold);
    let mut payment = extra;
    payment["cost_rao"] = json!(charge);
    payment["balance_rao"] = json!(balance);
    match result {
        Ok(outcome) => Ok((outcome, payment)),
        Err(error) => Err(failure_response(error)
            .with_header(BALANCE_HEADER, balance.to_string())
            .with_header(COST_HEADER, charge.to_string())
            .with_payment(payment)),
    }
}

/// A validator's challenge, served free and answered signed, errors included.
async fn challenge(state: &AppState, orchestration: &Arc<Orchestration>, miner: &MinerAccess, headers: &HeaderMap, body: &[u8]) -> Response {
    let validator = match miner.challenger(headers, body) {
        Ok(validator) => validator,
        Err(refused) => return refused.into_response(),
    };
    let _slot = match orchestration.admit(None) {
        Ok(slot) => slot,
        Err(busy) => return miner.sign(busy.into_response(), &validator).await,
    };
    let answer = async {
        let Json(request) = Json::<Request>::from_bytes(body)?;
        let catalog = orchestration.catalog(state).await?;
        let result = orchestration.orchestrator().run(&catalog, request).await;
        let calls = match &result {
            Ok(outcome) => outcome.calls.as_slice(),
            Err(error) => error.trace.as_ref().map_or(&[][..], |trace| trace.calls.as_slice()),
        };
        propose_health(state, miner, &catalog, calls);
        let outcome = result.map_err(failure_response)?;
        Ok::<_, ApiError>(Json(answer(outcome, 0)).into_response())
    };
    let response = answer.await.unwrap_or_else(IntoResponse::into_response);
    miner.sign(response, &validator).await
}

/// What the calls showed of the subnets' health, proposed as a diff signed by the miner (see
/// [`super::miner`]), in the background so the answer does not wait for the write.
fn propose_health(state: &AppState, miner: &MinerAccess, catalog: &Catalog, calls: &[CallRecord]) {
    let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |since| since.as_millis() as u64);
    let changes = health_changes(calls, |netuid, endpoint| catalog.health(netuid, endpoint), now_ms);
    if changes.is_empty() {
        return;
    }
    let hotkey = miner.hotkey().clone();
    let primary = miner.propose_to().map(str::to_owned);
    // Only a node that orchestrates answers challenges, so the guard is there.
    let Some(guard) = state.orchestration().map(|orchestration| orchestration.orchestrator().guard().clone()) else { return };
    let state = state.clone();
    tokio::spawn(async move {
        let recorded = match primary {
            Some(primary) => remote::propose_to(&guard, &primary, changes, &hotkey).await.map(|_| ()).map_err(|error| error.to_string()),
            None => state
                .write(move |ledger| {
                    let diff = propose(changes, ledger.head().into(), &hotkey).expect("the change set is not empty");
                    // The miner's own ledger: its own hotkey is the operator writing. On a ledger
                    // with validators the diff waits for their approval like anyone's.
                    let own = hotkey.ss58();
                    Ok(ledger.propose(&diff, &|proposer| proposer == own)?)
                })
                .await
                .map(|_| ())
                .map_err(|error| error.message),
        };
        match recorded {
            Ok(()) => tracing::info!("proposed the subnets' health as observed"),
            Err(error) => tracing::warn!(%error, "could not propose the subnets' health"),
        }
    });
}

/// A customer's outcome on a miner: the bodies its calls received go into the served log (see
/// [`subnet::served`]).
fn served(miner: Option<&MinerAccess>, outcome: Outcome) -> Outcome {
    if let Some(miner) = miner {
        let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |since| since.as_millis() as u64);
        let received = outcome.receipts.receipts.iter().filter(|receipt| receipt.call.status != 0).map(|receipt| receipt.call.response_hash);
        miner.served().record(now_ms, received);
    }
    outcome
}

/// The answer's body: the outcome, with the fee and total beside the calls' cost.
fn answer(outcome: Outcome, fee: u64) -> Value {
    let mut body = serde_json::to_value(&outcome).expect("outcomes serialise");
    body["cost"]["fee_rao"] = json!(fee);
    body["cost"]["total_rao"] = json!(fee.saturating_add(outcome.cost.subnet_calls_rao));
    body
}

/// The API error of a failed orchestration, with what it did in `details`.
fn failure_response(error: OrchestrateError) -> ApiError {
    use orchestrator::execute::Stop;
    use orchestrator::synthesis::Failure as SynthesisFailure;
    let (status, code) = match &error.failure {
        Failure::BadRequest(_) => (StatusCode::BAD_REQUEST, Code::BadRequest),
        Failure::Schema(_) => (StatusCode::BAD_REQUEST, Code::BadSchema),
        Failure::Plan { .. } => (StatusCode::UNPROCESSABLE_ENTITY, Code::NoPlan),
        Failure::Synthesis(SynthesisFailure::Invalid { .. }) => (StatusCode::UNPROCESSABLE_ENTITY, Code::ResultInvalid),
        Failure::Synthesis(SynthesisFailure::Insufficient { .. }) => (StatusCode::UNPROCESSABLE_ENTITY, Code::InsufficientEvidence),
        Failure::Synthesis(SynthesisFailure::Uncited(_)) => (StatusCode::INTERNAL_SERVER_ERROR, Code::Internal),
        Failure::Stopped { stop: Stop::BudgetExhausted(_), .. } => (StatusCode::UNPROCESSABLE_ENTITY, Code::BudgetExhausted),
        Failure::Stopped { stop: Stop::DeadlineExceeded, .. } => (StatusCode::GATEWAY_TIMEOUT, Code::DeadlineExceeded),
        Failure::NoRoute { .. } => (StatusCode::SERVICE_UNAVAILABLE, Code::Unroutable),
        Failure::TaskFailed { .. } => (StatusCode::BAD_GATEWAY, Code::SubnetsFailed),
    };
    debug_assert_eq!(code.as_str(), error.failure.code());
    let api_error = ApiError::new(status, code, error.failure.to_string());
    let mut details = match &error.trace {
        Some(trace) => serde_json::to_value(trace).expect("traces serialise"),
        None => json!({}),
    };
    let violations = error.failure.violations();
    if !violations.is_empty() {
        details["violations"] = violations.iter().map(|violation| json!({ "path": violation.path, "message": violation.message })).collect();
    }
    if !error.failure.missing().is_empty() {
        details["missing"] = json!(error.failure.missing());
    }
    if details.as_object().is_some_and(|object| object.is_empty()) {
        api_error
    } else {
        api_error.with_details(details)
    }
}
