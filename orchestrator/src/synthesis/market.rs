//! Market price: one price for a product, comparable across subjects, and the sentence that
//! explains it.
//!
//! Terms:
//! - **group**: the prices of one subject or, when the evidence has no subjects, of one
//!   snippet; named by its subject when it has one.
//! - **product**: what makes two labels the same thing to buy: the label's first word mixing
//!   letters and digits (`H100` in `H100 SXM`, and in `H100s`: a plural `s` after digits is
//!   dropped), else its first word with a digit (`4090` in `RTX 4090`), else the whole label;
//!   compared lowercased, shown as first written.
//! - **offer**: a group's price for a product in one unit: its lowest, the one a buyer compares.
//! - **reference product**: the product and unit most groups have an offer for, the first met
//!   on a tie.
//! - **market price**: the median of the reference product's offers (the mean of the middle
//!   two for an even count), rounded as [`round_price`] does.

use super::prices::{dollars, round_price, Price};

/// The prices of one group.
pub(crate) struct Group<'a> {
    pub(crate) name: Option<&'a str>,
    pub(crate) prices: Vec<Price>,
}

/// A product and unit, as compared.
#[derive(Clone, PartialEq)]
struct Product {
    key: String,
    unit: Option<String>,
}

/// The market price of the reference product and the offers it comes from.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct MarketPrice {
    /// The product as first written, e.g. `H100`.
    product: String,
    unit: Option<String>,
    /// Each group's offer, in group order.
    offers: Vec<(Option<String>, f64)>,
    median: f64,
}

impl MarketPrice {
    /// The market price of `groups`, if any of them has a price.
    pub(crate) fn of(groups: &[Group]) -> Option<MarketPrice> {
        let mut tallies: Vec<(Product, String, usize)> = Vec::new();
        for group in groups {
            let mut seen: Vec<Product> = Vec::new();
            for price in &group.prices {
                let (shown, product) = product_of(price);
                if seen.contains(&product) {
                    continue;
                }
                match tallies.iter_mut().find(|(known, _, _)| *known == product) {
                    Some((_, _, count)) => *count += 1,
                    None => tallies.push((product.clone(), shown, 1)),
                }
                seen.push(product);
            }
        }
        // `max_by_key` keeps the last of equals; reversing makes it the first met.
        let (reference, shown, _) = tallies.into_iter().rev().max_by_key(|(_, _, count)| *count)?;
        let offers: Vec<(Option<String>, f64)> = groups
            .iter()
            .filter_map(|group| {
                let amounts = group.prices.iter().filter(|price| product_of(price).1 == reference).map(|price| price.amount);
                let lowest = amounts.reduce(f64::min)?;
                Some((group.name.map(str::to_owned), lowest))
            })
            .collect();
        let mut amounts: Vec<f64> = offers.iter().map(|(_, amount)| *amount).collect();
        amounts.sort_by(f64::total_cmp);
        let middle = amounts.len() / 2;
        let median = if amounts.len() % 2 == 1 { amounts[middle] } else { (amounts[middle - 1] + amounts[middle]) / 2.0 };
        Some(MarketPrice { product: shown, unit: reference.unit, offers, median: round_price(median) })
    }

    pub(crate) fn median(&self) -> f64 {
        self.median
    }

    pub(crate) fn unit(&self) -> Option<&str> {
        self.unit.as_deref()
    }

    /// The offer of the group named `name`, if it made one.
    pub(crate) fn offer_of(&self, name: &str) -> Option<f64> {
        self.offers.iter().find(|(group, _)| group.as_deref() == Some(name)).map(|(_, amount)| *amount)
    }

    /// The named group with the lowest offer, the first on a tie: the best buy.
    pub(crate) fn cheapest(&self) -> Option<&str> {
        let mut named = self.offers.iter().filter_map(|(name, amount)| Some((name.as_deref()?, *amount)));
        let first = named.next()?;
        Some(named.fold(first, |best, offer| if offer.1 < best.1 { offer } else { best }).0)
    }

    /// Why the market price is what it is, with the numbers it comes from.
    pub(crate) fn rationale(&self) -> String {
        let median = dollars(self.median, self.unit());
        if let [(name, _)] = self.offers.as_slice() {
            let from = name.as_ref().map(|name| format!(" (from {name})")).unwrap_or_default();
            return format!("The only {} price found{from} is {median}; pricing at {median} matches it.", self.product);
        }
        let low = self.offers.iter().map(|(_, amount)| *amount).fold(f64::INFINITY, f64::min);
        let high = self.offers.iter().map(|(_, amount)| *amount).fold(f64::NEG_INFINITY, f64::max);
        let names: Option<Vec<&str>> = self.offers.iter().map(|(name, _)| name.as_deref()).collect();
        let across = names.map_or_else(|| format!("{} sources", self.offers.len()), |names| enumerate(&names));
        let undercut = self.offers.iter().filter(|(_, amount)| *amount >= self.median).count();
        format!(
            "Median {} price across {across} is {median} (range {}-{}); pricing at {median} matches or undercuts {undercut} of the {} offers.",
            self.product,
            dollars(low, None),
            dollars(high, self.unit()),
            self.offers.len(),
        )
    }
}

/// How a price's product is shown and compared.
fn product_of(price: &Price) -> (String, Product) {
    let words: Vec<&str> = price.label.split_whitespace().collect();
    let has_digit = |word: &str| word.chars().any(|c| c.is_ascii_digit());
    let model = words.iter().find(|word| has_digit(word) && word.chars().any(char::is_alphabetic)).or_else(|| words.iter().find(|word| has_digit(word)));
    let shown = match model {
        Some(word) => strip_plural(word).to_owned(),
        None => price.label.clone(),
    };
    let key = shown.to_lowercase();
    (shown, Product { key, unit: price.unit.clone() })
}

/// `H100s` gives `H100`: a plural `s` written after digits.
fn strip_plural(word: &str) -> &str {
    match word.strip_suffix('s') {
        Some(stem) if stem.ends_with(|c: char| c.is_ascii_digit()) => stem,
        _ => word,
    }
}

/// `A`, `A and B`, `A, B and C`.
fn enumerate(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [only] => (*only).to_owned(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}
