//! One route: attempts with retries, each sent, timed, charged and given a receipt; for an
//! asynchronous endpoint, the job's polls too, each its own receipt.
//!
//! The receipt's request hash covers `METHOD SP URL LF body` (never the headers, which hold
//! the key); the response hash covers the body as received, empty when there was none.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ledger::invocation::Job;

use super::retry::retry_after;
use super::trace::{CallOutcome, CallRecord};
use super::{KeptResponse, Session, Stop, MAX_RESPONSE_BYTES};
use crate::invocation::{self, Access, CallInput, InvocationError, JobState, SubnetRequest, SubnetResponse};
use crate::outbound::{describe, excerpt, read_capped, BodyError};
use crate::progress::Event;
use crate::receipts::{body_hash, cost_evidence_hash, Call};
use crate::route::Route;
use super::price;

/// The call a route makes and the price its estimate rests on, for a budget's refusal.
fn describe_call(route: &Route<'_>, pricing: Option<(&ledger::record::Pricing, bool)>) -> String {
    let listing = &route.listing;
    match pricing {
        Some((pricing, false)) => format!("SN{} {} at {}", listing.netuid, listing.endpoint.name, price::describe(pricing)),
        Some((pricing, true)) => format!("SN{} {} at {} (the operator's price)", listing.netuid, listing.endpoint.name, price::describe(pricing)),
        None => format!("SN{} {} (no price; what it last cost here)", listing.netuid, listing.endpoint.name),
    }
}

/// Why a route gave no answer.
pub(super) enum RouteError {
    /// Nothing more may be called.
    Stop(Stop),
    /// This route is done; the next may be tried.
    Failed(String),
}

/// What came back from one attempt.
struct Exchange {
    status: u16,
    headers: http::HeaderMap,
    body: Vec<u8>,
}

/// Why an attempt has no complete response.
enum Transport {
    /// The endpoint's own timeout passed: worth retrying.
    TimedOut,
    /// The orchestration's deadline passed first.
    Deadline,
    /// Connection refused, reset, or the body could not be read.
    Failed(String),
    /// The outbound guard would not send it (see [`crate::outbound`]).
    Refused(String),
    TooLarge,
}

/// A failed exchange: whether it is worth another attempt, why, and how long the subnet asked
/// to wait.
struct Failure {
    outcome: CallOutcome,
    reason: String,
    retry_after: Option<Duration>,
}

/// What reading a 2xx answer gave: the value, and the cost the subnet reported, if any.
type Read<T> = Result<(T, Option<u64>), InvocationError>;

impl Session<'_> {
    pub(super) async fn call_route(&self, task: &str, route: &Route<'_>, input: &CallInput<'_>) -> Result<SubnetResponse, RouteError> {
        let listing = &route.listing;
        let endpoint = &listing.endpoint;
        let credentials = self.context.credentials;
        // Routing already refused endpoints whose host the key is not bound to; a key that is not
        // bound to this URL is never attached.
        let key = credentials.key_for(listing.netuid, &endpoint.url).map_err(|unbound| RouteError::Failed(unbound.to_string()))?;
        let access = Access { netuid: listing.netuid, key, model: credentials.model(listing.netuid) };
        let failed = |error: InvocationError| RouteError::Failed(error.to_string());
        let request = invocation::request(endpoint, input, &access).map_err(failed)?;
        let job = invocation::spec(endpoint).map_err(failed)?.job.as_ref();
        let policy = self.context.network.retry;
        let mut last_failure = String::new();
        for attempt in 1..=policy.attempts_per_route {
            if self.halted() {
                return Err(RouteError::Failed("not attempted: another task of the plan failed".into()));
            }
            if self.remaining().is_zero() {
                return Err(RouteError::Stop(Stop::DeadlineExceeded));
            }
            let pricing = self.context.network.prices.of(listing.netuid, endpoint);
            let estimate = self.estimate_rao(route, pricing.map(|(pricing, _)| pricing), &request, input.limit);
            self.budget.reserve(estimate, || describe_call(route, pricing)).map_err(|exhausted| RouteError::Stop(Stop::BudgetExhausted(exhausted)))?;
            let answered = match job {
                None => {
                    let read = |exchange: &Exchange| invocation::read(endpoint, &exchange.headers, &exchange.body).map(|response| {
                        let priced = pricing.map(|(pricing, _)| price::charged_usd_micros(pricing, &request, input.limit, &response));
                        let cost = response.reported_cost_usd_micros.or(priced);
                        (response, cost)
                    });
                    self.exchange(task, route, &request, attempt, estimate, read).await.map(|(response, receipt)| response.at_receipt(receipt))
                }
                Some(job) => {
                    let read = |exchange: &Exchange| invocation::job_id(endpoint, job, &exchange.body).map(|id| (id, None));
                    match self.exchange(task, route, &request, attempt, estimate, read).await {
                        Ok((job_id, _)) => {
                            let poll = invocation::poll_request(endpoint, job, &job_id, input, &access).map_err(failed)?;
                            return self.follow_job(task, route, job, &job_id, &poll, attempt).await;
                        }
                        Err(failure) => Err(failure),
                    }
                }
            };
            match answered {
                Ok(response) => return Ok(response),
                Err(Failure { outcome: CallOutcome::Retryable, reason, retry_after }) => {
                    if self.remaining().is_zero() {
                        return Err(RouteError::Stop(Stop::DeadlineExceeded));
                    }
                    last_failure = reason;
                    if attempt < policy.attempts_per_route {
                        let wait = policy.backoff(attempt, retry_after);
                        if wait >= self.remaining() {
                            return Err(RouteError::Failed(format!("{last_failure}; no time left to retry")));
                        }
                        tokio::time::sleep(wait).await;
                    }
                }
                Err(Failure { reason, .. }) => return Err(RouteError::Failed(reason)),
            }
        }
        Err(RouteError::Failed(format!("{} attempts failed, the last with {last_failure}", policy.attempts_per_route)))
    }

    /// Polls `job` until it is done, failed, out of polls or out of time. A poll that fails in
    /// transit is polled again at the next interval: the job itself goes on at the subnet.
    async fn follow_job(&self, task: &str, route: &Route<'_>, job: &Job, job_id: &str, poll: &SubnetRequest, attempt: u32) -> Result<SubnetResponse, RouteError> {
        let endpoint = &route.listing.endpoint;
        let interval = Duration::from_millis(u64::from(job.interval_ms));
        let mut last = String::from("it was never polled");
        for _ in 0..job.max_polls {
            if interval >= self.remaining() {
                return Err(RouteError::Stop(Stop::DeadlineExceeded));
            }
            tokio::time::sleep(interval).await;
            if self.halted() {
                return Err(RouteError::Failed("not polled further: another task of the plan failed".into()));
            }
            let read = |exchange: &Exchange| match invocation::job_state(endpoint, job, &exchange.body)? {
                JobState::Done => invocation::read(endpoint, &exchange.headers, &exchange.body).map(|response| {
                    let cost = response.reported_cost_usd_micros;
                    (Some(response), cost)
                }),
                JobState::Pending => Ok((None, None)),
                JobState::Failed(reason) => Err(InvocationError::Reported { endpoint: endpoint.name.clone(), reason }),
            };
            match self.exchange(task, route, poll, attempt, 0, read).await {
                Ok((Some(response), receipt)) => return Ok(response.at_receipt(receipt)),
                Ok((None, _)) => last = format!("job {job_id} was still running"),
                Err(Failure { outcome: CallOutcome::Retryable, reason, .. }) => last = reason,
                Err(Failure { reason, .. }) => return Err(RouteError::Failed(reason)),
            }
        }
        Err(RouteError::Failed(format!("job {job_id} was not done after {} polls: {last}", job.max_polls)))
    }

    /// Sends one request, reads a 2xx answer with `read`, charges it and records its receipt,
    /// whose index comes back with the value. `estimate` was reserved for it; a failed exchange
    /// is charged only what the subnet reports.
    async fn exchange<T>(&self, task: &str, route: &Route<'_>, request: &SubnetRequest, attempt: u32, estimate: u64, read: impl FnOnce(&Exchange) -> Read<T>) -> Result<(T, u64), Failure> {
        let listing = &route.listing;
        let endpoint = &listing.endpoint;
        if let Some(limit) = &endpoint.rate_limit {
            if let Err(reached) = self.context.network.limits.acquire(listing.netuid, &endpoint.name, limit, self.remaining()).await {
                // Not sent: nothing to charge, and no receipt.
                self.budget.charge(estimate, 0);
                return Err(Failure { outcome: CallOutcome::Failed, reason: reached.to_string(), retry_after: None });
            }
        }
        let remaining = self.remaining();
        let endpoint_timeout = Duration::from_millis(u64::from(endpoint.timeout_ms));
        let started_at = Instant::now();
        let started_ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |since| since.as_millis() as u64);
        self.report(Event::CallStarted { task: task.to_owned(), subnet: listing.netuid, endpoint: endpoint.name.clone(), attempt });
        let exchange = self.send(request, endpoint_timeout, remaining).await;
        let duration = started_at.elapsed();
        let sent = !matches!(exchange, Err(Transport::Refused(_)));

        let failure = |outcome, reason: String| Failure { outcome, reason, retry_after: None };
        let cost_headers = exchange.as_ref().map_or_else(|_| Vec::new(), |exchange| invocation::cost_headers(endpoint, &exchange.headers));
        let (status, response_body, result) = match exchange {
            Ok(exchange) if (200..300).contains(&exchange.status) => {
                let outcome = read(&exchange).map_err(|error| failure(CallOutcome::Failed, error.to_string()));
                (exchange.status, exchange.body, outcome)
            }
            Ok(exchange) => {
                let outcome = if invocation::is_retryable(endpoint, exchange.status) { CallOutcome::Retryable } else { CallOutcome::Failed };
                let said = invocation::error_message(endpoint, &exchange.body).unwrap_or_else(|| excerpt(&exchange.body));
                let failed = Failure { outcome, reason: format!("HTTP {}: {said}", exchange.status), retry_after: retry_after(&exchange.headers) };
                (exchange.status, exchange.body, Err(failed))
            }
            Err(Transport::Deadline) => (0, Vec::new(), Err(failure(CallOutcome::Retryable, "the orchestration's deadline passed during the call".to_owned()))),
            Err(Transport::TimedOut) => {
                (0, Vec::new(), Err(failure(CallOutcome::Retryable, format!("no answer within the endpoint's timeout of {} ms", endpoint.timeout_ms))))
            }
            Err(Transport::Failed(reason)) => (0, Vec::new(), Err(failure(CallOutcome::Retryable, reason))),
            Err(Transport::Refused(reason)) => (0, Vec::new(), Err(failure(CallOutcome::Failed, reason))),
            Err(Transport::TooLarge) => (0, Vec::new(), Err(failure(CallOutcome::Failed, format!("the answer is larger than {MAX_RESPONSE_BYTES} bytes")))),
        };
        let reported_usd = result.as_ref().ok().and_then(|(_, cost)| *cost);
        let cost_rao = match reported_usd {
            Some(usd) => self.context.tao_price.rao(usd),
            // A failed call is not charged unless the subnet says it was.
            None if result.is_ok() => estimate,
            None => 0,
        };
        self.budget.charge(estimate, cost_rao);
        if sent {
            self.context.network.ranking.observe(listing.netuid, &endpoint.name, result.is_ok(), duration);
        }
        if reported_usd.is_some() {
            self.context.learned.learn(listing.netuid, &endpoint.name, cost_rao);
        }
        let record = CallRecord {
            task: task.to_owned(),
            subnet: listing.netuid,
            endpoint: endpoint.name.clone(),
            attempt,
            status,
            outcome: match &result {
                Ok(_) => CallOutcome::Ok,
                Err(failure) => failure.outcome,
            },
            error: result.as_ref().err().map(|failure| failure.reason.clone()),
            started_ms,
            offset_ms: started_at.duration_since(self.started).as_secs_f64() * 1000.0,
            duration_ms: duration.as_secs_f64() * 1000.0,
            cost_rao,
            cost_usd_micros: reported_usd,
        };
        let preimage = request.preimage();
        let call = Call {
            subnet: listing.netuid,
            endpoint: endpoint.name.clone(),
            request_hash: body_hash(&preimage),
            response_hash: body_hash(&response_body),
            status,
            started_ms,
            duration_ms: duration.as_millis() as u64,
            cost_rao,
            cost_usd_micros: reported_usd.unwrap_or(0),
            cost_evidence_hash: cost_evidence_hash(&cost_headers),
        };
        let receipt = self.record(call, record, KeptResponse { body: response_body, cost_headers, request: preimage });
        result.map(|(value, _)| (value, receipt))
    }

    /// Adds a call's receipt, record and response to the log; its receipt index.
    fn record(&self, call: Call, record: CallRecord, response: KeptResponse) -> u64 {
        let mut log = self.log.lock().expect("session log lock");
        let receipt = log.chain.push(call).index;
        log.calls.push(record.clone());
        log.responses.push(response);
        drop(log);
        self.report(Event::CallFinished { call: record });
        receipt
    }

    /// The estimated cost in rao of sending `request`, asking for `count` results, on the route
    /// at `pricing` (see [`super::budget`]).
    fn estimate_rao(&self, route: &Route<'_>, pricing: Option<&ledger::record::Pricing>, request: &SubnetRequest, count: u32) -> u64 {
        let listing = &route.listing;
        let expected = pricing.map_or(0, |pricing| price::expected_usd_micros(pricing, request, count));
        self.context.tao_price.rao(expected).max(self.context.learned.get(listing.netuid, &listing.endpoint.name))
    }

    /// Sends `request`, waiting at most the endpoint's timeout and never past the deadline.
    async fn send(&self, request: &SubnetRequest, endpoint_timeout: Duration, remaining: Duration) -> Result<Exchange, Transport> {
        let builder = request.prepare(&self.context.network.guard).map_err(|refusal| Transport::Refused(refusal.to_string()))?;
        let (limit, limit_is_deadline) = if remaining < endpoint_timeout { (remaining, true) } else { (endpoint_timeout, false) };
        let exchange = async {
            let response = builder.send().await.map_err(|error| Transport::Failed(describe(&error)))?;
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let body = read_capped(response, MAX_RESPONSE_BYTES).await.map_err(|error| match error {
                BodyError::TooLarge(_) => Transport::TooLarge,
                BodyError::Transport(reason) => Transport::Failed(reason),
            })?;
            Ok(Exchange { status, headers, body })
        };
        match tokio::time::timeout(limit, exchange).await {
            Ok(result) => result,
            Err(_) if limit_is_deadline => Err(Transport::Deadline),
            Err(_) => Err(Transport::TimedOut),
        }
    }
}



