//! Which capabilities an objective calls for, decided by keywords in the objective and in the
//! target schema.
//!
//! Terms:
//! - **name**: a word naming a capability's source outright (`twitter`, `reddit`); it decides.
//! - **hint**: a word suggesting a capability (`sentiment`, `pricing`); it counts unless another
//!   capability of the same family is named, so that "reddit posts" is no request for X.
//! - **family**: capabilities answering the same kind of question from different sources: the
//!   social searches form one, web search another.
//! - **medium word**: a word saying where to look rather than what to look for ("tweets" on X);
//!   it is dropped from the queries of its family, where it would only narrow the search.
//!
//! - **required**: a chosen capability whose tasks the orchestration cannot do without: every
//!   capability named outright, or, when none is named, the first one chosen (in table order,
//!   web search before the social searches). The others are supplementary.
//!
//! A keyword also matches its plural in `s`. Capabilities without a rule here (`llm-chat`,
//! which synthesises rather than gathers, or any the table does not know) are never planned.

use std::collections::BTreeSet;

use super::words::is_keyword;

/// The capability planned when nothing in the objective or schema calls for another.
const DEFAULT_CAPABILITY: &str = "web-search";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Family {
    Web,
    Social,
}

/// When one capability is planned.
pub(super) struct Rule {
    pub(super) capability: &'static str,
    family: Family,
    names: &'static [&'static str],
    hints: &'static [&'static str],
    /// Whether the hints describe the medium (posts, threads) rather than the subject matter,
    /// making them medium words like the names.
    hints_are_medium_words: bool,
    /// Whether its search can be pointed at papers by asking for them ("arxiv papers").
    pub(super) finds_papers: bool,
}

/// Every capability the planner knows, in the order their tasks are planned.
const RULES: [Rule; 3] = [
    Rule {
        capability: "web-search",
        family: Family::Web,
        names: &["web", "google", "internet", "online", "website", "site"],
        hints: &[
            "research", "price", "pricing", "cost", "paper", "arxiv", "preprint", "news", "compare", "comparison", "find", "search",
            "article", "review", "benchmark", "documentation", "docs", "blog", "report", "study", "market", "competitor",
            "alternative", "vendor", "provider", "company", "product", "source", "url", "link", "latest", "overview",
        ],
        hints_are_medium_words: false,
        finds_papers: true,
    },
    Rule {
        capability: "x-search",
        family: Family::Social,
        names: &["x", "twitter", "tweet", "retweet"],
        hints: &["sentiment", "mention", "post", "hashtag", "influencer", "trending"],
        hints_are_medium_words: true,
        finds_papers: false,
    },
    Rule {
        capability: "reddit-search",
        family: Family::Social,
        names: &["reddit", "subreddit", "redditor"],
        hints: &["community", "communities", "discussion", "thread", "forum", "upvote"],
        hints_are_medium_words: true,
        finds_papers: false,
    },
];

impl Rule {
    fn named_by(&self, word: &str) -> bool {
        self.names.iter().any(|name| is_keyword(word, name))
    }

    fn hinted_by(&self, word: &str) -> bool {
        self.hints.iter().any(|hint| is_keyword(word, hint))
    }

    fn describes_medium(&self, word: &str) -> bool {
        self.named_by(word) || (self.hints_are_medium_words && self.hinted_by(word))
    }

    /// Whether `word` (lowercase) should be left out of this capability's queries: a medium
    /// word of its family ("posts" says nothing on Reddit either).
    pub(super) fn is_medium_word(&self, word: &str) -> bool {
        RULES.iter().filter(|rule| rule.family == self.family).any(|rule| rule.describes_medium(word))
    }
}

/// Whether `word` (any case) names a source, such as `Twitter`: never a subject to compare.
pub(super) fn is_source_name(word: &str) -> bool {
    let word = word.to_lowercase();
    RULES.iter().any(|rule| rule.family == Family::Social && rule.named_by(&word))
}

/// A capability chosen for a plan.
pub(super) struct Chosen {
    pub(super) rule: &'static Rule,
    /// Whether its tasks are required (see the module documentation).
    pub(super) required: bool,
}

/// The offered capabilities that `words` (lowercase) call for, in table order. When none is
/// called for: the default capability if offered, else the first offered capability with a
/// rule, so that a plan exists whenever one can; empty only when no offered capability has a
/// rule. At least one chosen capability is required whenever one is chosen.
pub(super) fn select(words: &BTreeSet<String>, offered: &BTreeSet<String>) -> Vec<Chosen> {
    let named: Vec<bool> = RULES.iter().map(|rule| words.iter().any(|word| rule.named_by(word))).collect();
    let hinted: Vec<bool> = RULES.iter().map(|rule| words.iter().any(|word| rule.hinted_by(word))).collect();
    let kin_named = |position: usize| {
        RULES.iter().enumerate().any(|(other, rule)| other != position && rule.family == RULES[position].family && named[other])
    };
    let offered_rules: Vec<(usize, &'static Rule)> = RULES.iter().enumerate().filter(|(_, rule)| offered.contains(rule.capability)).collect();
    let called: Vec<(usize, &'static Rule)> =
        offered_rules.iter().copied().filter(|&(position, _)| named[position] || (hinted[position] && !kin_named(position))).collect();
    if called.is_empty() {
        let fallback = offered_rules.iter().find(|(_, rule)| rule.capability == DEFAULT_CAPABILITY).or(offered_rules.first());
        return fallback.map(|&(_, rule)| Chosen { rule, required: true }).into_iter().collect();
    }
    let any_named = called.iter().any(|&(position, _)| named[position]);
    called
        .iter()
        .enumerate()
        .map(|(rank, &(position, rule))| Chosen { rule, required: if any_named { named[position] } else { rank == 0 } })
        .collect()
}
