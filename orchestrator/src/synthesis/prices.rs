//! Prices: amounts in US dollars found in free text, with what they are for.
//!
//! Terms:
//! - **amount**: digits, with thousands commas and a decimal point allowed, marked as dollars by
//!   `$` or `US$` before it, or `USD`, `dollar` or `dollars` after it, or `USD` before it:
//!   `$2.69`, `2.69 USD`, `USD 2.69`.
//! - **unit**: what the amount buys, after `/`, `per`, `a`, `an` or `each`: `/hr`, `per hour`
//!   and `an hour` all give `hr` (see [`UNITS`]); a unit beginning with a digit takes the next
//!   word too (`per 1M tokens` gives `1m tokens`); others are kept lowercased.
//! - **label**: the product a price is for: up to [`MAX_LABEL_WORDS`] words just before the
//!   amount, as written, after skipping linking words and marks right before it; it stops at
//!   punctuation, at a linking word, at the previous price, and after a model number (a word
//!   starting with a letter and holding a digit), which begins a product's name. "The H100 SXM
//!   costs $2.69/hr", "Secure Cloud H100 SXM: $2.69 per hour" both give `H100 SXM`; "RTX 4090
//!   $0.34/hr" gives `RTX 4090`. A price with no such words is labelled `price`.

/// A price found in text.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Price {
    pub(crate) label: String,
    pub(crate) amount: f64,
    pub(crate) unit: Option<String>,
}

const MAX_LABEL_WORDS: usize = 3;

/// The label of a price with no words before it.
const UNLABELLED: &str = "price";

/// Words that link a label to its price, or sit between products, rather than name one.
const LINKING_WORDS: &[&str] = &[
    "is", "are", "was", "were", "be", "costs", "cost", "costing", "priced", "price", "prices", "pricing", "at", "for", "from",
    "starting", "starts", "start", "only", "just", "about", "around", "approximately", "approx", "roughly", "under", "over",
    "below", "above", "as", "low", "to", "of", "the", "a", "an", "and", "or", "with", "on", "in", "by", "per", "now",
    "currently", "runs", "run", "rent", "rents", "renting", "offers", "offer", "charges", "charge", "billed", "pay", "pays",
    "its", "their", "that", "which", "while", "but", "vs", "than", "can", "will", "less", "more", "cheaper", "costlier", "rate",
];

const CURRENCY_WORDS_AFTER: [&str; 3] = ["usd", "dollar", "dollars"];

/// Words introducing a unit, besides `/`.
const UNIT_WORDS_BEFORE: [&str; 4] = ["per", "a", "an", "each"];

/// Spellings of common units and the unit they give.
const UNITS: &[(&[&str], &str)] = &[
    (&["hr", "hrs", "hour", "hours", "h", "gpu-hour", "gpu-hr", "gpuhr"], "hr"),
    (&["mo", "mos", "month", "months", "mth"], "mo"),
    (&["yr", "yrs", "year", "years", "annum"], "yr"),
    (&["min", "mins", "minute", "minutes"], "min"),
    (&["s", "sec", "secs", "second", "seconds"], "s"),
    (&["day", "days"], "day"),
    (&["wk", "week", "weeks"], "wk"),
];

/// A piece of text: a run of letters and digits (with the dots, commas and hyphens between
/// them), or one other visible character.
#[derive(Debug)]
enum Piece {
    Run(String),
    Mark(char),
}

impl Piece {
    fn run_lowercase(&self) -> Option<String> {
        match self {
            Piece::Run(run) => Some(run.to_lowercase()),
            Piece::Mark(_) => None,
        }
    }

    fn is_run(&self, words: &[&str]) -> bool {
        self.run_lowercase().is_some_and(|run| words.contains(&run.as_str()))
    }
}

/// Every price in `text`, in order.
pub(crate) fn prices(text: &str) -> Vec<Price> {
    let pieces = pieces(text);
    let mut found = Vec::new();
    // Where the text not yet taken by a price starts, so labels never reach into the previous one.
    let mut free_from = 0;
    let mut position = 0;
    while position < pieces.len() {
        let Some((amount, start, after_amount)) = amount_at(&pieces, position) else {
            position += 1;
            continue;
        };
        let (unit, end) = unit_at(&pieces, after_amount);
        let label = label_before(&pieces[free_from..start]);
        found.push(Price { label, amount, unit });
        free_from = end;
        position = end;
    }
    found
}

fn pieces(text: &str) -> Vec<Piece> {
    let characters: Vec<char> = text.chars().collect();
    let mut pieces = Vec::new();
    let mut run = String::new();
    for (position, &character) in characters.iter().enumerate() {
        let between_alphanumerics = position > 0
            && characters[position - 1].is_alphanumeric()
            && characters.get(position + 1).is_some_and(|next| next.is_alphanumeric());
        if character.is_alphanumeric() || (".,-".contains(character) && between_alphanumerics && !run.is_empty()) {
            run.push(character);
            continue;
        }
        if !run.is_empty() {
            pieces.push(Piece::Run(std::mem::take(&mut run)));
        }
        if !character.is_whitespace() {
            pieces.push(Piece::Mark(character));
        }
    }
    if !run.is_empty() {
        pieces.push(Piece::Run(run));
    }
    pieces
}

/// The amount at `position`: its value, where the price starts (its currency mark if first),
/// and the position after it.
fn amount_at(pieces: &[Piece], position: usize) -> Option<(f64, usize, usize)> {
    let number_at = |at: usize| match pieces.get(at) {
        Some(Piece::Run(run)) => parse_amount(run),
        _ => None,
    };
    match &pieces[position] {
        Piece::Mark('$') => {
            let value = number_at(position + 1)?;
            let us_prefix = position > 0 && pieces[position - 1].is_run(&["us"]);
            Some((value, if us_prefix { position - 1 } else { position }, position + 2))
        }
        piece if piece.is_run(&["usd"]) => Some((number_at(position + 1)?, position, position + 2)),
        Piece::Run(_) => {
            let value = number_at(position)?;
            pieces.get(position + 1).filter(|next| next.is_run(&CURRENCY_WORDS_AFTER))?;
            Some((value, position, position + 2))
        }
        Piece::Mark(_) => None,
    }
}

/// A run's value, if it is an amount: digits, thousands commas and at most one decimal point.
fn parse_amount(run: &str) -> Option<f64> {
    let digits: String = run.chars().filter(|&c| c != ',').collect();
    let well_formed = digits.chars().all(|c| c.is_ascii_digit() || c == '.') && digits.chars().filter(|&c| c == '.').count() <= 1;
    let value: f64 = if well_formed && digits.chars().any(|c| c.is_ascii_digit()) { digits.parse().ok()? } else { return None };
    value.is_finite().then_some(value)
}

/// The unit at `position`, if one is written there, and the position after the price.
fn unit_at(pieces: &[Piece], position: usize) -> (Option<String>, usize) {
    let introduced = match pieces.get(position) {
        Some(Piece::Mark('/')) => true,
        Some(piece) => piece.is_run(&UNIT_WORDS_BEFORE),
        None => false,
    };
    let Some(word) = pieces.get(position + 1).and_then(Piece::run_lowercase).filter(|_| introduced) else {
        return (None, position);
    };
    if let Some((_, unit)) = UNITS.iter().find(|(spellings, _)| spellings.contains(&word.as_str())) {
        return (Some((*unit).to_owned()), position + 2);
    }
    let starts_with_digit = word.chars().next().is_some_and(|c| c.is_ascii_digit());
    match pieces.get(position + 2).and_then(Piece::run_lowercase) {
        Some(next) if starts_with_digit => (Some(format!("{word} {next}")), position + 3),
        _ => (Some(word), position + 2),
    }
}

fn is_linking(piece: &Piece) -> bool {
    piece.is_run(LINKING_WORDS)
}

fn is_model_number(word: &str) -> bool {
    word.starts_with(char::is_alphabetic) && word.contains(|c: char| c.is_ascii_digit())
}

/// The label written at the end of `before`.
fn label_before(before: &[Piece]) -> String {
    let mut end = before.len();
    // Linking words and marks such as `:` or `-` between the label and the price.
    while end > 0 && (is_linking(&before[end - 1]) || matches!(before[end - 1], Piece::Mark(':' | '-' | '–' | '—' | '=' | '~' | '('))) {
        end -= 1;
    }
    let mut words = Vec::new();
    for piece in before[..end].iter().rev() {
        match piece {
            Piece::Run(run) if words.len() < MAX_LABEL_WORDS && !is_linking(piece) => {
                words.push(run.as_str());
                if is_model_number(run) {
                    break;
                }
            }
            _ => break,
        }
    }
    if words.is_empty() {
        return UNLABELLED.to_owned();
    }
    words.reverse();
    words.join(" ")
}

/// `amount` rounded to cents, or to a millionth of a dollar under one cent, where cents would
/// round a real price to nothing.
pub(crate) fn round_price(amount: f64) -> f64 {
    let scale = if amount.abs() >= 0.01 { 100.0 } else { 1_000_000.0 };
    (amount * scale).round() / scale
}

/// `amount` written as dollars with its unit: `$2.39/hr`, `$20`.
pub(crate) fn dollars(amount: f64, unit: Option<&str>) -> String {
    let rounded = round_price(amount);
    let number = if rounded.abs() >= 0.01 { format!("{rounded:.2}") } else { format!("{rounded}") };
    match unit {
        Some(unit) => format!("${number}/{unit}"),
        None => format!("${number}"),
    }
}
