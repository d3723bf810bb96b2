//! Outbound rate limits: a record's `rate_limit` (so many requests per so many seconds) held
//! for every request this node sends to the endpoint, across all orchestrations, so that a
//! subnet that bans over-eager keys is never pushed past what it allows.
//!
//! Terms:
//! - **window**: the record's `per_seconds` up to now; the endpoint's requests sent within it
//!   are counted (a sliding window, not a fixed one, so no burst straddles a boundary).
//! - **slot**: room for one more request in the window. A request without one waits for the
//!   oldest request to leave the window, when that comes before the orchestration's deadline;
//!   otherwise the route fails at once, naming the limit, and the next route is tried.
//!
//! A job's polls are requests to the same API with the same key: they count against the
//! endpoint that submitted the job.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use ledger::record::RateLimit;

/// The requests sent within their windows, by netuid and endpoint name.
#[derive(Debug, Default)]
pub struct RateLimits {
    sent: Mutex<HashMap<(u16, String), VecDeque<Instant>>>,
}

/// A request that cannot be sent before the deadline.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("its rate limit of {requests} requests per {per_seconds} s is reached, and the next slot opens after the orchestration's deadline")]
pub struct LimitReached {
    pub requests: u32,
    pub per_seconds: u32,
}

impl RateLimits {
    /// Takes a slot for one request to subnet `netuid`'s `endpoint` under `limit`, waiting for
    /// one at most `patience`.
    pub async fn acquire(&self, netuid: u16, endpoint: &str, limit: &RateLimit, patience: Duration) -> Result<(), LimitReached> {
        let window = Duration::from_secs(u64::from(limit.per_seconds.max(1)));
        let started = Instant::now();
        loop {
            let wait = match self.try_take(netuid, endpoint, limit.requests.max(1), window) {
                None => return Ok(()),
                Some(wait) => wait,
            };
            if started.elapsed() + wait >= patience {
                return Err(LimitReached { requests: limit.requests, per_seconds: limit.per_seconds });
            }
            tokio::time::sleep(wait).await;
        }
    }

    /// Takes a slot now if the window has one; otherwise how long until it may.
    fn try_take(&self, netuid: u16, endpoint: &str, requests: u32, window: Duration) -> Option<Duration> {
        let now = Instant::now();
        let mut sent = self.sent.lock().expect("rate limits lock");
        let times = sent.entry((netuid, endpoint.to_owned())).or_default();
        while times.front().is_some_and(|oldest| now.duration_since(*oldest) >= window) {
            times.pop_front();
        }
        if times.len() < requests as usize {
            times.push_back(now);
            return None;
        }
        let oldest = *times.front().expect("a full window holds requests");
        Some(window.saturating_sub(now.duration_since(oldest)).max(Duration::from_millis(1)))
    }
}
