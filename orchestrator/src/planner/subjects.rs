//! Subjects: the things an objective names to compare, such as `RunPod`, `Vast.ai` and `Lambda`
//! in "Research RunPod, Vast.ai and Lambda GPU pricing".
//!
//! Terms:
//! - **name**: a quoted text, or a run of words the first of which is capitalised, has an inner
//!   dot (`vast.ai`) or mixes letters and digits (`h100`), and the others capitalised
//!   (`Lambda Labs`). An all-capital word (`AI`, `GPU`) continues a name only before a
//!   separator or a break, so that "Together AI, Groq" keeps `Together AI` while "Lambda GPU
//!   pricing" stops at `Lambda`. Filler words (`Research`, `Compare`) and source names
//!   (`Twitter`) are never names.
//! - **separator**: a comma, `and`, `or`, `vs`, `versus` or `&`.
//! - **list**: two or more names with separators between them; the subjects are the longest
//!   list's names (the first such list on a tie), without repeats.
//! - **rest**: the objective without its list, from which the topic of every subject's query is
//!   taken.

use super::capabilities::Vocabulary;
use super::query::is_filler;
use super::tokens::Token;

const SEPARATOR_WORDS: [&str; 5] = ["and", "or", "vs", "versus", "&"];

/// Marks that may occur inside a name's word, beside letters and digits.
const NAME_MARKS: &str = ".-&+_'’";

/// The subjects of an objective and the rest of its tokens.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Subjects {
    pub(super) names: Vec<String>,
    pub(super) rest: Vec<Token>,
}

pub(super) fn find(tokens: &[Token], vocabulary: &Vocabulary) -> Subjects {
    let mut best: Option<List> = None;
    let mut position = 0;
    while position < tokens.len() {
        match list_at(tokens, position, vocabulary) {
            Some(list) => {
                position = list.end;
                if best.as_ref().is_none_or(|best| list.names.len() > best.names.len()) {
                    best = Some(list);
                }
            }
            None => position = name_at(tokens, position, vocabulary).map_or(position + 1, |(_, end)| end),
        }
    }
    match best {
        Some(list) => {
            let mut rest = tokens[..list.start].to_vec();
            rest.push(Token::Break);
            rest.extend_from_slice(&tokens[list.end..]);
            Subjects { names: list.names, rest }
        }
        None => Subjects { names: Vec::new(), rest: tokens.to_vec() },
    }
}

/// Names with separators between them, at `tokens[start..end]`.
struct List {
    start: usize,
    end: usize,
    names: Vec<String>,
}

/// The list starting at `start`, if two or more names start there.
fn list_at(tokens: &[Token], start: usize, vocabulary: &Vocabulary) -> Option<List> {
    let (first, mut end) = name_at(tokens, start, vocabulary)?;
    let mut names = vec![first];
    loop {
        let after_separators = end + tokens[end..].iter().take_while(|token| is_separator(token)).count();
        match name_at(tokens, after_separators, vocabulary) {
            Some((name, name_end)) if after_separators > end => {
                if !names.iter().any(|known: &String| known.eq_ignore_ascii_case(&name)) {
                    names.push(name);
                }
                end = name_end;
            }
            _ => break,
        }
    }
    (names.len() >= 2).then_some(List { start, end, names })
}

/// The name starting at `start` and the position after it.
fn name_at(tokens: &[Token], start: usize, vocabulary: &Vocabulary) -> Option<(String, usize)> {
    match tokens.get(start)? {
        Token::Quoted(text) => Some((text.clone(), start + 1)),
        Token::Word(word) if starts_name(word, vocabulary) => {
            let mut parts = vec![word.as_str()];
            let mut end = start + 1;
            while let Some(Token::Word(next)) = tokens.get(end) {
                let before_separator = tokens.get(end + 1).is_none_or(|after| is_separator(after) || *after == Token::Break);
                if !(continues_name(next, vocabulary) || (is_acronym(next) && before_separator && may_be_in_name(next, vocabulary))) {
                    break;
                }
                parts.push(next);
                end += 1;
            }
            Some((parts.join(" "), end))
        }
        _ => None,
    }
}

fn is_separator(token: &Token) -> bool {
    match token {
        Token::Comma => true,
        Token::Word(word) => SEPARATOR_WORDS.contains(&word.to_lowercase().as_str()),
        _ => false,
    }
}

/// Whether `word` can be part of a name at all.
fn may_be_in_name(word: &str, vocabulary: &Vocabulary) -> bool {
    let lower = word.to_lowercase();
    word.chars().all(|c| c.is_alphanumeric() || NAME_MARKS.contains(c))
        && word.chars().any(char::is_alphanumeric)
        && !is_filler(&lower)
        && !SEPARATOR_WORDS.contains(&lower.as_str())
        && !vocabulary.is_source_name(word)
}

fn starts_name(word: &str, vocabulary: &Vocabulary) -> bool {
    let capitalised = word.chars().next().is_some_and(char::is_uppercase);
    let dotted = word.trim_matches('.').contains('.');
    let model_number = word.chars().any(char::is_alphabetic) && word.chars().any(|c| c.is_ascii_digit());
    may_be_in_name(word, vocabulary) && (capitalised || dotted || model_number)
}

fn continues_name(word: &str, vocabulary: &Vocabulary) -> bool {
    word.chars().next().is_some_and(char::is_uppercase) && word.chars().any(char::is_lowercase) && may_be_in_name(word, vocabulary)
}

fn is_acronym(word: &str) -> bool {
    word.chars().any(char::is_uppercase) && !word.chars().any(char::is_lowercase)
}
