//! Tokens: an objective cut into words and the punctuation that matters for finding subjects
//! and clauses.
//!
//! Terms:
//! - **word**: a run of letters, digits and the marks that occur inside names and prices
//!   (`Vast.ai`, `GPT-4`, `AT&T`, `$2/hr`), as written; a trailing full stop or a possessive
//!   `'s` is not part of it.
//! - **quoted**: text between double quotes (straight or curly), taken whole: `"Hugging Face"`.
//! - **link**: an `http://` or `https://` URL, taken whole to the next space (without the
//!   punctuation that ends a sentence after it) as one word.
//! - **break**: what ends a phrase: a sentence's end, a colon, a bracket, a line break.

#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Token {
    Word(String),
    Quoted(String),
    Comma,
    Break,
}

/// Abbreviations whose full stop does not end a sentence.
const ABBREVIATIONS: [&str; 5] = ["vs", "etc", "inc", "e.g", "i.e"];

fn is_word_character(character: char) -> bool {
    character.is_alphanumeric() || "._-'’+&$%/#@".contains(character)
}

fn closing_quote(opening: char) -> char {
    if opening == '“' {
        '”'
    } else {
        '"'
    }
}

pub(super) fn tokens(text: &str) -> Vec<Token> {
    let characters: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut position = 0;
    while position < characters.len() {
        let character = characters[position];
        if starts_link(&characters[position..]) {
            let length = characters[position..].iter().position(|c| c.is_whitespace() || matches!(c, '"' | '“' | '”')).unwrap_or(characters.len() - position);
            let link: String = characters[position..position + length].iter().collect();
            let trimmed = link.trim_end_matches(['.', ',', ';', ':', ')', ']', '!', '?']);
            tokens.push(Token::Word(trimmed.to_owned()));
            if trimmed.len() < link.len() {
                tokens.push(Token::Break);
            }
            position += length;
            continue;
        }
        if is_word_character(character) {
            let start = position;
            while position < characters.len() && is_word_character(characters[position]) {
                position += 1;
            }
            push_word(&characters[start..position].iter().collect::<String>(), &mut tokens);
            continue;
        }
        position += 1;
        match character {
            ',' => tokens.push(Token::Comma),
            '"' | '“' => {
                let closing = closing_quote(character);
                // An unclosed quote is ignored, and the text after it read as usual.
                if let Some(length) = characters[position..].iter().position(|&c| c == closing) {
                    let quoted: String = characters[position..position + length].iter().collect();
                    if !quoted.trim().is_empty() {
                        tokens.push(Token::Quoted(quoted.trim().to_owned()));
                    }
                    position += length + 1;
                }
            }
            '.' | '!' | '?' | ';' | ':' | '(' | ')' | '[' | ']' | '{' | '}' | '\n' | '—' | '–' => tokens.push(Token::Break),
            _ => {}
        }
    }
    tokens
}

fn starts_link(characters: &[char]) -> bool {
    let starts = |prefix: &str| prefix.chars().enumerate().all(|(at, wanted)| characters.get(at).is_some_and(|c| c.eq_ignore_ascii_case(&wanted)));
    starts("https://") || starts("http://")
}

/// Pushes a raw word, without its trailing punctuation and possessive, followed by a break
/// when it ended a sentence.
fn push_word(raw: &str, tokens: &mut Vec<Token>) {
    let trimmed = raw.trim_start_matches(['\'', '’', '-', '.', '/']).trim_end_matches(['\'', '’', '-', '/']);
    let without_stop = trimmed.trim_end_matches('.');
    let ends_sentence = without_stop.len() < trimmed.len() && !ABBREVIATIONS.contains(&without_stop.to_lowercase().as_str());
    let word = without_stop.strip_suffix("'s").or_else(|| without_stop.strip_suffix("’s")).unwrap_or(without_stop);
    if !word.is_empty() {
        tokens.push(Token::Word(word.to_owned()));
    }
    if ends_sentence {
        tokens.push(Token::Break);
    }
}
