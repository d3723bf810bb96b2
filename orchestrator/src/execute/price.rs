//! Prices: what a call is expected to cost before it is made and what it cost once answered,
//! from the endpoint record's public price (a price per request, per thousand tokens or per
//! item, in micro-USD).
//!
//! Terms:
//! - **expected usage**: per request, the one request; per thousand tokens, the request's input
//!   tokens (its body's bytes over [`BYTES_PER_TOKEN`], rounded up: generous for English, so
//!   that the reservation rarely falls short) plus [`OUTPUT_TOKEN_ALLOWANCE`] output tokens;
//!   per item, the count the call asks for (one when it asks for none).
//! - **usage**: per request, the one request; per thousand tokens, the tokens the answer reports
//!   (the expected usage when it reports none: a subnet that hides its usage is charged the
//!   reservation); per item, the items the answer holds.
//!
//! - **operator's price**: a price the operator sets for an endpoint whose record has none (a
//!   subnet that publishes no price still bills its key), so that budgets bind there too. The
//!   ledger's public price, where there is one, always wins.
//!
//! Costs round up to the micro-USD, so that a price never under-counts.

use std::collections::BTreeMap;

use ledger::record::{Endpoint, PriceUnit, Pricing};

use crate::invocation::{SubnetRequest, SubnetResponse};

/// Bytes of a request counted as one input token.
pub const BYTES_PER_TOKEN: u64 = 3;
/// Output tokens reserved for a call priced by the token.
pub const OUTPUT_TOKEN_ALLOWANCE: u64 = 1024;

/// The tokens `request` is expected to use, input and output.
fn expected_tokens(request: &SubnetRequest) -> u64 {
    let body = request.body.as_ref().map_or(0, Vec::len) as u64;
    body.div_ceil(BYTES_PER_TOKEN) + OUTPUT_TOKEN_ALLOWANCE
}

fn per_thousand(tokens: u64, usd_micros: u64) -> u64 {
    u64::try_from((u128::from(tokens) * u128::from(usd_micros)).div_ceil(1000)).unwrap_or(u64::MAX)
}

/// What `request`, asking for `count` results, is expected to cost at `pricing`.
pub fn expected_usd_micros(pricing: &Pricing, request: &SubnetRequest, count: u32) -> u64 {
    match pricing.unit {
        PriceUnit::Request => pricing.usd_micros,
        PriceUnit::ThousandTokens => per_thousand(expected_tokens(request), pricing.usd_micros),
        PriceUnit::Item => pricing.usd_micros.saturating_mul(u64::from(count.max(1))),
    }
}

/// What the call that sent `request` and got `response` cost at `pricing`.
pub fn charged_usd_micros(pricing: &Pricing, request: &SubnetRequest, count: u32, response: &SubnetResponse) -> u64 {
    answered_usd_micros(pricing, response).unwrap_or_else(|| expected_usd_micros(pricing, request, count))
}

/// What `response` alone says a call cost at `pricing`: `None` for a price per token whose
/// answer reports no usage (the request's expected usage is charged then). A validator holding
/// only the answer prices it this way.
pub fn answered_usd_micros(pricing: &Pricing, response: &SubnetResponse) -> Option<u64> {
    match (pricing.unit, response.tokens) {
        (PriceUnit::Request, _) => Some(pricing.usd_micros),
        (PriceUnit::ThousandTokens, Some((input, output))) => Some(per_thousand(input.saturating_add(output), pricing.usd_micros)),
        (PriceUnit::ThousandTokens, None) => None,
        (PriceUnit::Item, _) => Some(pricing.usd_micros.saturating_mul(response.items.len() as u64)),
    }
}

/// One operator's price: `sn13/on-demand-x=item:0.00005` (an endpoint, a unit of `request`,
/// `thousand_tokens` or `item`, and US dollars).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OperatorPrice {
    pub netuid: u16,
    pub endpoint: String,
    pub pricing: Pricing,
}

impl std::str::FromStr for OperatorPrice {
    type Err = String;

    fn from_str(text: &str) -> Result<OperatorPrice, String> {
        let usage = || format!("`{text}` is not a price: write sn<netuid>/<endpoint>=<request|thousand_tokens|item>:<US dollars>, e.g. sn13/on-demand-x=item:0.00005");
        let (target, price) = text.split_once('=').ok_or_else(usage)?;
        let (subnet, endpoint) = target.trim().split_once('/').ok_or_else(usage)?;
        let netuid = subnet.trim_start_matches("sn").trim_start_matches("SN").parse().map_err(|_| usage())?;
        let (unit, usd) = price.trim().split_once(':').ok_or_else(usage)?;
        let unit = match unit {
            "request" => PriceUnit::Request,
            "thousand_tokens" => PriceUnit::ThousandTokens,
            "item" => PriceUnit::Item,
            _ => return Err(usage()),
        };
        let usd: f64 = usd.parse().map_err(|_| usage())?;
        if !(usd.is_finite() && usd >= 0.0) || endpoint.is_empty() {
            return Err(usage());
        }
        Ok(OperatorPrice { netuid, endpoint: endpoint.to_owned(), pricing: Pricing { unit, usd_micros: (usd * 1e6).ceil() as u64 } })
    }
}

/// The operator's prices, by netuid and endpoint name.
#[derive(Clone, Debug, Default)]
pub struct OperatorPrices(BTreeMap<(u16, String), Pricing>);

impl OperatorPrices {
    pub fn new(prices: impl IntoIterator<Item = OperatorPrice>) -> OperatorPrices {
        OperatorPrices(prices.into_iter().map(|price| ((price.netuid, price.endpoint), price.pricing)).collect())
    }

    /// The price a call to subnet `netuid`'s `endpoint` is reserved and charged at: the
    /// record's, else the operator's; whether it is the operator's.
    pub fn of<'a>(&'a self, netuid: u16, endpoint: &'a Endpoint) -> Option<(&'a Pricing, bool)> {
        match &endpoint.pricing {
            Some(pricing) => Some((pricing, false)),
            None => self.0.get(&(netuid, endpoint.name.clone())).map(|pricing| (pricing, true)),
        }
    }
}

/// A call's price in words: `$0.005 per request`.
pub fn describe(pricing: &Pricing) -> String {
    let unit = match pricing.unit {
        PriceUnit::Request => "request",
        PriceUnit::ThousandTokens => "thousand tokens",
        PriceUnit::Item => "item",
    };
    format!("${} per {unit}", usd(pricing.usd_micros))
}

/// Micro-USD as dollars, without trailing zeros: `0.005`, `1.2`, `3`.
fn usd(micros: u64) -> String {
    let fraction = format!("{:06}", micros % 1_000_000);
    let fraction = fraction.trim_end_matches('0');
    match fraction.is_empty() {
        true => format!("{}", micros / 1_000_000),
        false => format!("{}.{fraction}", micros / 1_000_000),
    }
}

#[cfg(test)]
mod tests {
    use ledger::record::{HttpMethod, PriceUnit, Pricing};

    use super::*;

    fn request(body_bytes: usize) -> SubnetRequest {
        SubnetRequest { method: HttpMethod::Post, url: "https://api.example/x".into(), headers: Vec::new(), body: Some(vec![b'a'; body_bytes]), http2_only: false }
    }

    #[test]
    fn token_prices_reserve_the_prompt_and_an_allowance_and_charge_what_was_used() {
        let pricing = Pricing { unit: PriceUnit::ThousandTokens, usd_micros: 2_000 };
        // 3000 bytes are 1000 input tokens, plus the 1024-token allowance.
        assert_eq!(expected_usd_micros(&pricing, &request(3000), 10), 4_048);
        let used = SubnetResponse { tokens: Some((700, 300)), ..SubnetResponse::default() };
        assert_eq!(charged_usd_micros(&pricing, &request(3000), 10, &used), 2_000);
        let unreported = SubnetResponse::default();
        assert_eq!(charged_usd_micros(&pricing, &request(3000), 10, &unreported), 4_048);
    }

    #[test]
    fn item_prices_reserve_the_count_asked_and_charge_the_items_returned() {
        let pricing = Pricing { unit: PriceUnit::Item, usd_micros: 300 };
        assert_eq!(expected_usd_micros(&pricing, &request(10), 20), 6_000);
        let answered = SubnetResponse { items: vec![Default::default(); 3], ..SubnetResponse::default() };
        assert_eq!(charged_usd_micros(&pricing, &request(10), 20, &answered), 900);
        assert_eq!(describe(&pricing), "$0.0003 per item");
        assert_eq!(describe(&Pricing { unit: PriceUnit::Request, usd_micros: 5_000_000 }), "$5 per request");
    }
}
