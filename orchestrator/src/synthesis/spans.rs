//! Spans: the pieces of an evidence text a citation can quote, with their byte ranges, so that
//! every quote is a slice of the text as the subnet wrote it.
//!
//! Terms:
//! - **sentence**: a piece of a text between sentence ends (`.`, `!`, `?` or `;` before a space
//!   or the end, or a line break), without its surrounding spaces, with two words or more.
//! - **amount**: a dollar amount: `$` (or `US$`) and digits with thousands commas and at most
//!   one decimal point, then, if written, a unit (`/hr`, `/mo`, `per hour`, `an hour`): the
//!   quoted span runs from the `$` to the end of the unit.
//! - **product**: the name of what a price buys: a word mixing letters and digits (`H100`,
//!   `A100`, `4090` after an all-capitals word such as `RTX`), with up to two following words
//!   that are capitals or hold digits (`SXM`, `80GB`, `PCIe`).
//! - **mention** of a name: its occurrence as whole words, ignoring case.

use std::ops::Range;

/// A dollar amount in a text.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Amount {
    pub(crate) value: f64,
    /// The unit, normalised (`hr`, `mo`), if one is written.
    pub(crate) unit: Option<&'static str>,
    pub(crate) span: Range<usize>,
}

/// Units and their spellings after `/`, `per `, `a ` or `an `.
const UNITS: &[(&str, &[&str])] = &[
    ("hr", &["hr", "hrs", "hour", "h", "gpu-hour", "gpu-hr", "gpuhr"]),
    ("mo", &["mo", "month", "mth"]),
    ("yr", &["yr", "year"]),
    ("min", &["min", "minute"]),
    ("s", &["s", "sec", "second"]),
    ("day", &["day"]),
    ("1m tokens", &["1m tokens", "million tokens"]),
];

/// The sentences of `text`, as byte ranges.
pub(crate) fn sentences(text: &str) -> Vec<Range<usize>> {
    let mut found = Vec::new();
    let mut start = 0;
    let mut characters = text.char_indices().peekable();
    while let Some((position, character)) = characters.next() {
        let before_space = characters.peek().is_none_or(|(_, next)| next.is_whitespace());
        if character == '\n' || (".!?;".contains(character) && before_space) {
            found.push(start..position);
            start = position + character.len_utf8();
        }
    }
    found.push(start..text.len());
    found.into_iter().map(|range| trimmed(text, range)).filter(|range| text[range.clone()].split_whitespace().count() >= 2).collect()
}

fn trimmed(text: &str, range: Range<usize>) -> Range<usize> {
    let piece = &text[range.clone()];
    let start = range.start + (piece.len() - piece.trim_start().len());
    let end = range.end - (piece.len() - piece.trim_end().len());
    start..end.max(start)
}

/// Every dollar amount in `text`, in order.
pub(crate) fn amounts(text: &str) -> Vec<Amount> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut position = 0;
    while let Some(offset) = text[position..].find('$') {
        let dollar = position + offset;
        let start = if text[..dollar].ends_with("US") { dollar - 2 } else { dollar };
        let mut end = dollar + 1;
        while end < bytes.len() && (bytes[end].is_ascii_digit() || (bytes[end] == b',' && bytes.get(end + 1).is_some_and(u8::is_ascii_digit)) || (bytes[end] == b'.' && bytes.get(end + 1).is_some_and(u8::is_ascii_digit))) {
            end += 1;
        }
        position = end.max(dollar + 1);
        let digits: String = text[dollar + 1..end].chars().filter(|&character| character != ',').collect();
        let Ok(value) = digits.parse::<f64>() else { continue };
        if !value.is_finite() || digits.matches('.').count() > 1 {
            continue;
        }
        let (unit, unit_end) = unit_after(text, end);
        found.push(Amount { value, unit, span: start..unit_end });
        position = unit_end;
    }
    found
}

/// The unit written at `at`, if any, and where it ends.
fn unit_after(text: &str, at: usize) -> (Option<&'static str>, usize) {
    let rest = &text[at..];
    let lower = rest.to_lowercase();
    let introduced = ["/", " / ", " per ", " an ", " a ", "/ "].iter().find(|lead| lower.starts_with(**lead)).map(|lead| lead.len());
    let Some(lead) = introduced else { return (None, at) };
    for (unit, spellings) in UNITS {
        for spelling in *spellings {
            let candidate = &lower[lead..];
            if let Some(after) = candidate.strip_prefix(spelling) {
                let plural = usize::from(after.starts_with('s') && !after[1..].starts_with(char::is_alphanumeric));
                let end = lead + spelling.len() + plural;
                if !lower[end..].starts_with(char::is_alphanumeric) {
                    return (Some(*unit), at + end);
                }
            }
        }
    }
    (None, at)
}

/// Every product named in `text`, as byte ranges.
pub(crate) fn products(text: &str) -> Vec<Range<usize>> {
    let words = words_with_ranges(text);
    let mut found = Vec::new();
    let mut index = 0;
    while index < words.len() {
        let (word, range) = &words[index];
        let has_digit = word.contains(|character: char| character.is_ascii_digit());
        let has_letter = word.contains(char::is_alphabetic);
        let after_capitals = index > 0 && is_capitals(words[index - 1].0) && words[index - 1].1.end + 1 == range.start;
        let (starts, first) = match (has_digit, has_letter) {
            (true, true) => (true, index),
            (true, false) if after_capitals => (true, index - 1),
            _ => (false, index),
        };
        if !starts {
            index += 1;
            continue;
        }
        let mut last = index;
        while last + 1 < words.len() && last + 1 - index <= 2 && words[last + 1].1.start == words[last].1.end + 1 && is_product_word(words[last + 1].0) {
            last += 1;
        }
        found.push(words[first].1.start..words[last].1.end);
        index = last + 1;
    }
    found
}

fn is_capitals(word: &str) -> bool {
    word.len() >= 2 && word.chars().all(|character| character.is_ascii_uppercase())
}

fn is_product_word(word: &str) -> bool {
    is_capitals(word) || (word.contains(|character: char| character.is_ascii_digit()) && word.contains(char::is_alphabetic)) || word == "PCIe"
}

/// The words of `text` (runs of letters and digits), with their ranges.
fn words_with_ranges(text: &str) -> Vec<(&str, Range<usize>)> {
    let mut words = Vec::new();
    let mut start = None;
    for (position, character) in text.char_indices() {
        match (character.is_alphanumeric(), start) {
            (true, None) => start = Some(position),
            (false, Some(from)) => {
                words.push((&text[from..position], from..position));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(from) = start {
        words.push((&text[from..], from..text.len()));
    }
    words
}

/// Where `name` is mentioned in `text`, as byte ranges (see the module documentation).
pub(crate) fn mentions(text: &str, name: &str) -> Vec<Range<usize>> {
    let name = name.trim();
    if name.is_empty() {
        return Vec::new();
    }
    let lower_text = text.to_lowercase();
    let lower_name = name.to_lowercase();
    // Lowercasing may change lengths outside ASCII; such texts are matched exactly only.
    let (haystack, needle) = if lower_text.len() == text.len() && lower_name.len() == name.len() { (lower_text.as_str(), lower_name.as_str()) } else { (text, name) };
    let is_word = |character: Option<char>| character.is_some_and(char::is_alphanumeric);
    haystack
        .match_indices(needle)
        .filter(|(start, _)| !is_word(haystack[..*start].chars().next_back()) && !is_word(haystack[start + needle.len()..].chars().next()))
        .map(|(start, _)| start..start + needle.len())
        .collect()
}
