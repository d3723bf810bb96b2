//! When a failed call is tried again, and how long to wait first.
//!
//! A call is **retryable** when trying again may succeed: it timed out, the connection failed,
//! or the subnet answered a status its invocation spec lists as worth retrying (by default 408,
//! 429 and the 5xx of overloaded or failing servers). Any other status is **final** for that
//! endpoint (a 401 will not pass on the next try) and the executor moves to the next route.
//! The wait before attempt `n + 1` is drawn uniformly from `[0, min(cap, base * 2^n))`
//! ("full jitter", so that many clients retrying after one outage do not arrive together),
//! and is never shorter than what a 429's `Retry-After` asks.

use std::time::Duration;

use rand::Rng;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts per route, the first included.
    pub attempts_per_route: u32,
    pub base: Duration,
    pub cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy { attempts_per_route: 3, base: Duration::from_millis(200), cap: Duration::from_secs(5) }
    }
}

impl RetryPolicy {
    /// The wait after failed attempt `attempt` (from 1), at least `retry_after`.
    pub fn backoff(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let ceiling = self.base.saturating_mul(1u32 << attempt.min(16)).min(self.cap);
        let jittered = if ceiling.is_zero() { Duration::ZERO } else { rand::thread_rng().gen_range(Duration::ZERO..ceiling) };
        jittered.max(retry_after.unwrap_or_default())
    }
}

/// A `Retry-After` header given in seconds (the HTTP-date form is not used by these APIs and is
/// ignored, which falls back to the jittered wait).
pub fn retry_after(headers: &http::HeaderMap) -> Option<Duration> {
    let seconds: u64 = headers.get(http::header::RETRY_AFTER)?.to_str().ok()?.trim().parse().ok()?;
    Some(Duration::from_secs(seconds))
}
