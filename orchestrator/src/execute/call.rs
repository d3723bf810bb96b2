//! One route: attempts with retries, each sent, timed, charged and given a receipt.
//!
//! The receipt's request hash covers `METHOD SP URL LF body` (never the headers, which hold
//! the key); the response hash covers the body as received, empty when there was none.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ledger::record::HttpMethod;

use super::retry::{is_retryable_status, retry_after};
use super::trace::{CallOutcome, CallRecord};
use super::{Session, Stop, MAX_RESPONSE_BYTES};
use crate::adapters::{Access, CallInput, SubnetRequest, SubnetResponse};
use crate::outbound::{describe, excerpt, read_capped, BodyError, Origin};
use crate::progress::Event;
use crate::receipts::{body_hash, Call};
use crate::route::{request_price_usd_micros, Route};

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

impl Session<'_> {
    pub(super) async fn call_route(&self, task: &str, route: &Route<'_>, input: &CallInput<'_>) -> Result<SubnetResponse, RouteError> {
        let listing = &route.listing;
        let credentials = self.context.credentials;
        // Routing already refused endpoints whose host the key is not bound to; a key that is not
        // bound to this URL is never attached.
        let key = credentials.key_for(listing.netuid, &listing.endpoint.url).map_err(|unbound| RouteError::Failed(unbound.to_string()))?;
        let access = Access { netuid: listing.netuid, key, model: credentials.model(listing.netuid) };
        let request = route.protocol.build(&listing.endpoint, input, &access).map_err(|error| RouteError::Failed(error.to_string()))?;
        let request_hash = body_hash(&request_preimage(&request));
        let policy = self.context.network.retry;
        let mut last_failure = String::new();
        for attempt in 1..=policy.attempts_per_route {
            if self.halted() {
                return Err(RouteError::Failed("not attempted: another task of the plan failed".into()));
            }
            let remaining = self.remaining();
            if remaining.is_zero() {
                return Err(RouteError::Stop(Stop::DeadlineExceeded));
            }
            let estimate = self.estimate_rao(route);
            self.budget.reserve(estimate).map_err(|exhausted| RouteError::Stop(Stop::BudgetExhausted(exhausted)))?;
            let endpoint_timeout = Duration::from_millis(u64::from(listing.endpoint.timeout_ms));
            let started_at = Instant::now();
            let started_ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |since| since.as_millis() as u64);
            self.report(Event::CallStarted { task: task.to_owned(), subnet: listing.netuid, endpoint: listing.endpoint.name.clone(), attempt });
            let exchange = self.send(&request, endpoint_timeout, remaining).await;
            let duration = started_at.elapsed();

            let (status, response_body, retry_wait, result) = match exchange {
                Ok(exchange) if (200..300).contains(&exchange.status) => {
                    let parsed = route.protocol.parse(&exchange.headers, &exchange.body);
                    (exchange.status, exchange.body, None, parsed.map_err(|error| (CallOutcome::Failed, error.to_string())))
                }
                Ok(exchange) => {
                    let outcome = if is_retryable_status(exchange.status) { CallOutcome::Retryable } else { CallOutcome::Failed };
                    let reason = format!("HTTP {}: {}", exchange.status, excerpt(&exchange.body));
                    (exchange.status, exchange.body, retry_after(&exchange.headers), Err((outcome, reason)))
                }
                Err(Transport::Deadline) => (0, Vec::new(), None, Err((CallOutcome::Retryable, "the orchestration's deadline passed during the call".to_owned()))),
                Err(Transport::TimedOut) => {
                    (0, Vec::new(), None, Err((CallOutcome::Retryable, format!("no answer within the endpoint's timeout of {} ms", listing.endpoint.timeout_ms))))
                }
                Err(Transport::Failed(reason)) => (0, Vec::new(), None, Err((CallOutcome::Retryable, reason))),
                Err(Transport::Refused(reason)) => (0, Vec::new(), None, Err((CallOutcome::Failed, reason))),
                Err(Transport::TooLarge) => (0, Vec::new(), None, Err((CallOutcome::Failed, format!("the answer is larger than {MAX_RESPONSE_BYTES} bytes")))),
            };
            let reported_usd = result.as_ref().ok().and_then(|response| response.reported_cost_usd_micros);
            let cost_rao = match reported_usd {
                Some(usd) => self.context.tao_price.rao(usd),
                // A failed call is not charged unless the subnet says it was.
                None if result.is_ok() => estimate,
                None => 0,
            };
            self.budget.charge(estimate, cost_rao);
            if reported_usd.is_some() {
                self.context.learned.learn(listing.netuid, &listing.endpoint.name, cost_rao);
            }
            let record = CallRecord {
                task: task.to_owned(),
                subnet: listing.netuid,
                endpoint: listing.endpoint.name.clone(),
                attempt,
                status,
                outcome: match &result {
                    Ok(_) => CallOutcome::Ok,
                    Err((outcome, _)) => *outcome,
                },
                error: result.as_ref().err().map(|(_, reason)| reason.clone()),
                started_ms,
                offset_ms: started_at.duration_since(self.started).as_secs_f64() * 1000.0,
                duration_ms: duration.as_secs_f64() * 1000.0,
                cost_rao,
                cost_usd_micros: reported_usd,
            };
            let call = Call {
                subnet: listing.netuid,
                endpoint: listing.endpoint.name.clone(),
                request_hash,
                response_hash: body_hash(&response_body),
                status,
                started_ms,
                duration_ms: duration.as_millis() as u64,
                cost_rao,
            };
            self.record(call, record);

            match result {
                Ok(response) => return Ok(response),
                Err((CallOutcome::Retryable, reason)) => {
                    if self.remaining().is_zero() {
                        return Err(RouteError::Stop(Stop::DeadlineExceeded));
                    }
                    last_failure = reason;
                    if attempt < policy.attempts_per_route {
                        let wait = policy.backoff(attempt, retry_wait);
                        if wait >= self.remaining() {
                            return Err(RouteError::Failed(format!("{last_failure}; no time left to retry")));
                        }
                        tokio::time::sleep(wait).await;
                    }
                }
                Err((_, reason)) => return Err(RouteError::Failed(reason)),
            }
        }
        Err(RouteError::Failed(format!("{} attempts failed, the last with {last_failure}", policy.attempts_per_route)))
    }

    fn record(&self, call: Call, record: CallRecord) {
        let mut log = self.log.lock().expect("session log lock");
        log.chain.push(call);
        log.calls.push(record.clone());
        drop(log);
        self.report(Event::CallFinished { call: record });
    }

    /// The route's estimated cost in rao (see [`super::budget`]).
    fn estimate_rao(&self, route: &Route<'_>) -> u64 {
        let listing = &route.listing;
        let priced = self.context.tao_price.rao(request_price_usd_micros(&listing.endpoint));
        priced.max(self.context.learned.get(listing.netuid, &listing.endpoint.name))
    }

    /// Sends `request`, waiting at most the endpoint's timeout and never past the deadline.
    async fn send(&self, request: &SubnetRequest, endpoint_timeout: Duration, remaining: Duration) -> Result<Exchange, Transport> {
        let method = match request.method {
            HttpMethod::Get => reqwest::Method::GET,
            HttpMethod::Post => reqwest::Method::POST,
        };
        let mut builder = self
            .context
            .network
            .guard
            .request_over(method, &request.url, Origin::Record, request.http2_only)
            .map_err(|refusal| Transport::Refused(refusal.to_string()))?;
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        if let Some(body) = &request.body {
            builder = builder.body(body.clone());
        }
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

/// The bytes a receipt's request hash covers.
fn request_preimage(request: &SubnetRequest) -> Vec<u8> {
    let method = match request.method {
        HttpMethod::Get => "GET",
        HttpMethod::Post => "POST",
    };
    let mut preimage = format!("{method} {}\n", request.url).into_bytes();
    preimage.extend_from_slice(request.body.as_deref().unwrap_or_default());
    preimage
}


