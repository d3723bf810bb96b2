//! Queries: the key terms of an objective, as a search engine should receive them.
//!
//! Terms:
//! - **filler word**: a word that asks rather than describes ("research", "find", "please",
//!   "the"); it is never a key term nor part of a subject's name.
//! - **instruction clause**: from a word such as "recommend" or "suggest" to the end of its
//!   phrase: what to do with the findings, which no search can find ("and recommend a price
//!   point").
//! - **key terms**: the words left once filler, instruction clauses and the capability's medium
//!   words are gone, in their order, each once. An objective that is all instruction ("Suggest
//!   cheap GPU clouds") keeps its clause, which is then all there is to search for. A quoted
//!   text stays quoted: it is a phrase to match, or a passage a task must carry whole.
//! - **paper words**: words showing papers are wanted; a search that can find papers then asks
//!   for "arxiv papers".

use std::collections::BTreeSet;

use super::capabilities::Rule;
use super::tokens::Token;
use super::words::is_keyword;

const FILLER_WORDS: &[&str] = &[
    "research", "researching", "find", "search", "look", "lookup", "up", "please", "pls", "kindly", "the", "a", "an", "of", "in", "on",
    "into", "at", "for", "about", "to", "from", "by", "with", "between", "and", "or", "vs", "versus", "&", "then", "also", "me",
    "us", "i", "we", "you", "my", "our", "your", "their", "its", "it", "they", "them", "this", "that", "these", "those", "can",
    "could", "would", "should", "will", "shall", "may", "might", "must", "do", "does", "did", "is", "are", "was", "were", "be",
    "been", "give", "get", "show", "tell", "list", "compare", "comparing", "analyze", "analyse", "investigate", "summarize",
    "summarise", "explore", "gather", "collect", "identify", "check", "what", "which", "who", "whom", "how", "why", "when",
    "where", "some", "any", "all", "want", "need", "like", "help", "e.g", "i.e", "etc",
];

/// Words that start an instruction clause.
const INSTRUCTION_WORDS: [&str; 6] = ["recommend", "suggest", "propose", "advise", "decide", "conclude"];

const PAPER_WORDS: [&str; 4] = ["paper", "arxiv", "preprint", "publication"];

/// What a search for papers adds to its query, when missing.
const PAPER_QUERY_WORDS: [&str; 2] = ["arxiv", "papers"];

/// Whether `word` (lowercase) is a filler word.
pub(super) fn is_filler(word: &str) -> bool {
    FILLER_WORDS.contains(&word)
}

/// Whether any of `words` (lowercase) shows that papers are wanted.
pub(super) fn asks_for_papers(words: &BTreeSet<String>) -> bool {
    words.iter().any(|word| PAPER_WORDS.iter().any(|paper_word| is_keyword(word, paper_word)))
}

/// The key terms of `tokens` for searches of `rule`'s capability.
pub(super) fn key_terms(tokens: &[Token], rule: &Rule<'_>) -> Vec<String> {
    let terms = terms_outside_instructions(tokens, rule, true);
    if terms.is_empty() {
        terms_outside_instructions(tokens, rule, false)
    } else {
        terms
    }
}

fn terms_outside_instructions(tokens: &[Token], rule: &Rule<'_>, drop_instructions: bool) -> Vec<String> {
    let mut terms = Vec::new();
    let mut in_instruction = false;
    for token in tokens {
        let term = match token {
            Token::Break => {
                in_instruction = false;
                continue;
            }
            Token::Comma => continue,
            Token::Quoted(text) => format!("\"{text}\""),
            Token::Word(word) => {
                let lower = word.to_lowercase();
                if drop_instructions && INSTRUCTION_WORDS.iter().any(|instruction| is_keyword(&lower, instruction)) {
                    in_instruction = true;
                }
                if is_filler(&lower) || rule.is_medium_word(&lower) {
                    continue;
                }
                word.clone()
            }
        };
        if !in_instruction {
            push_once(&mut terms, &term);
        }
    }
    terms
}

/// Adds the paper query words missing from `terms`.
pub(super) fn ask_for_papers(terms: &mut Vec<String>) {
    for word in PAPER_QUERY_WORDS {
        let present = terms.iter().map(|term| term.to_lowercase()).any(|term| is_keyword(&term, word) || is_keyword(word, &term));
        if !present {
            terms.push(word.to_owned());
        }
    }
}

fn push_once(terms: &mut Vec<String>, term: &str) {
    if !terms.iter().any(|known| known.eq_ignore_ascii_case(term)) {
        terms.push(term.to_owned());
    }
}
