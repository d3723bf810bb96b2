//! The TAO price: the rate at which subnets' dollar prices become rao.
//!
//! Terms:
//! - **feed**: an operator-named URL answering JSON that holds the US dollar price of one TAO at
//!   a pointer. Chutes publishes one without auth, `GET https://api.chutes.ai/fmv` answering
//!   `{"tao": 412.5}`: the default feed.
//! - **reading**: the feed's price at one time. A reading must be a finite number above zero
//!   and below [`MAX_PLAUSIBLE_USD`]; anything else is refused, and the last good reading
//!   stands.
//! - **quote**: the price in force and where it came from: the feed's last reading while it is
//!   at most [`MAX_READING_AGE`] old, else the operator's static price, the **fallback**, with
//!   the reason. Every orchestration's answer names its quote's source.
//!
//! A feed is read through the outbound guard as an operator-named URL, carries no secret, and
//! its answer is read up to [`MAX_FEED_BYTES`].

use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::execute::budget::TaoPrice;
use crate::outbound::{describe, read_capped, Guard, Origin};

/// The feed a node reads when its operator names no other.
pub const DEFAULT_FEED_URL: &str = "https://api.chutes.ai/fmv";
/// Where the default feed's answer holds the price.
pub const DEFAULT_FEED_POINTER: &str = "/tao";
/// Oldest reading still in force.
pub const MAX_READING_AGE: Duration = Duration::from_secs(2 * 3600);
/// A price above this is no TAO price but a broken or hostile feed.
pub const MAX_PLAUSIBLE_USD: f64 = 1_000_000.0;
/// Longest feed answer read.
pub const MAX_FEED_BYTES: usize = 64 << 10;
/// How long one reading may take.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Where the price is read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Feed {
    pub url: String,
    /// RFC 6901 pointer to the price in the answer.
    pub pointer: String,
}

impl Default for Feed {
    fn default() -> Feed {
        Feed { url: DEFAULT_FEED_URL.into(), pointer: DEFAULT_FEED_POINTER.into() }
    }
}

/// The price in force and where it came from.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Quote {
    #[serde(skip)]
    pub price: TaoPrice,
    /// US dollars per TAO.
    pub usd: f64,
    /// `https://api.chutes.ai/fmv at 2026-12-03T10:00:00Z`, or `the static price (--tao-usd):
    /// <why the feed is not used>`.
    pub source: String,
}

#[derive(Clone, Copy, Debug)]
struct Reading {
    price: TaoPrice,
    at: Instant,
    at_ms: u64,
}

/// The node's TAO price: a feed's readings over a static fallback.
#[derive(Debug)]
pub struct TaoPrices {
    fallback: TaoPrice,
    feed: Option<Feed>,
    last: Mutex<Option<Reading>>,
    /// Why the last reading failed, when it did.
    trouble: Mutex<Option<String>>,
}

impl TaoPrices {
    /// Prices from `feed` when given, else always `fallback`.
    pub fn new(fallback: TaoPrice, feed: Option<Feed>) -> TaoPrices {
        TaoPrices { fallback, feed, last: Mutex::new(None), trouble: Mutex::new(None) }
    }

    /// The feed, if the node reads one.
    pub fn feed(&self) -> Option<&Feed> {
        self.feed.as_ref()
    }

    /// The price in force now (see the module documentation).
    pub fn quote(&self) -> Quote {
        let last = *self.last.lock().expect("tao price lock");
        match (&self.feed, last) {
            (Some(feed), Some(reading)) if reading.at.elapsed() <= MAX_READING_AGE => {
                Quote { price: reading.price, usd: usd(reading.price), source: format!("{} at {}", feed.url, crate::invocation::datetime(reading.at_ms)) }
            }
            (Some(feed), stale) => {
                let why = match (stale, self.trouble.lock().expect("tao price lock").clone()) {
                    (_, Some(trouble)) => trouble,
                    (Some(_), None) => format!("its last reading is older than {} h", MAX_READING_AGE.as_secs() / 3600),
                    (None, None) => "it has not been read yet".into(),
                };
                self.fallback_quote(&format!("{} is not used: {why}", feed.url))
            }
            (None, _) => self.fallback_quote("no feed is configured"),
        }
    }

    fn fallback_quote(&self, why: &str) -> Quote {
        Quote { price: self.fallback, usd: usd(self.fallback), source: format!("the static price (--tao-usd): {why}") }
    }

    /// Reads the feed once; the reading stands until a newer one or until it is too old.
    pub async fn refresh(&self, guard: &Guard) -> Result<TaoPrice, String> {
        let Some(feed) = &self.feed else { return Ok(self.fallback) };
        let result = read(guard, feed).await;
        match &result {
            Ok(price) => {
                let at_ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |since| since.as_millis() as u64);
                *self.last.lock().expect("tao price lock") = Some(Reading { price: *price, at: Instant::now(), at_ms });
                *self.trouble.lock().expect("tao price lock") = None;
            }
            Err(reason) => {
                tracing::warn!(feed = %feed.url, %reason, "the TAO price feed could not be read");
                *self.trouble.lock().expect("tao price lock") = Some(reason.clone());
            }
        }
        result
    }
}

fn usd(price: TaoPrice) -> f64 {
    price.usd_micros_per_tao as f64 / 1e6
}

async fn read(guard: &Guard, feed: &Feed) -> Result<TaoPrice, String> {
    let request = guard.get(&feed.url, Origin::Operator).map_err(|refusal| refusal.to_string())?;
    let exchange = async {
        let response = request.send().await.map_err(|error| describe(&error))?;
        let status = response.status();
        let body = read_capped(response, MAX_FEED_BYTES).await.map_err(|error| error.to_string())?;
        Ok::<_, String>((status, body))
    };
    let (status, body) = tokio::time::timeout(READ_TIMEOUT, exchange).await.map_err(|_| format!("no answer within {} s", READ_TIMEOUT.as_secs()))??;
    if !status.is_success() {
        return Err(format!("it answered HTTP {}", status.as_u16()));
    }
    let answer: serde_json::Value = serde_json::from_slice(&body).map_err(|error| format!("its answer is not JSON: {error}"))?;
    let price = answer.pointer(&feed.pointer).and_then(serde_json::Value::as_f64).ok_or_else(|| format!("its answer has no number at {}", feed.pointer))?;
    if !(price.is_finite() && price > 0.0 && price < MAX_PLAUSIBLE_USD) {
        return Err(format!("{price} is not a plausible TAO price"));
    }
    Ok(TaoPrice { usd_micros_per_tao: (price * 1e6).round() as u64 })
}
