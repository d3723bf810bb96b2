//! Relevance: every call an answer cites must have asked about the challenge.
//!
//! A body a subnet really returned grounds a value only for the question it was asked: an
//! answer cached from an earlier challenge cites real bodies, its receipts re-sealed for the new
//! nonce and its replays agreeing, yet none of its calls asked about what this challenge asks.
//! Terms:
//! - **request words**: the words of a call's request as its evidence shows it (docs/SPEC.md
//!   §18.4): the URL's path and decoded query, and the body, lowercased and split at every
//!   character that is not a letter or a digit.
//! - **telling word** of a subject: a word of its name of three letters or more that no other
//!   subject the validator may ask about names (`diffusion` in "diffusion models", not `models`,
//!   which "state space models" shares). Planners drop words from queries ("semantic search"
//!   is searched as "semantic arxiv papers"), so one telling word is enough.
//! - **about a subject**: a request is about a subject when its words hold one of the subject's
//!   telling words, or, for a subject without one, every word of its name but the
//!   [`CONNECTIVES`].
//! - **off-subject call**: a cited call whose request is about none of the challenge's
//!   subjects, or whose request is not shown. One makes the answer's groundedness 0.
//!
//! Words are all it reads: a call naming its subject by an acronym only ("RLHF") or fetching a
//! link is off-subject, and a request may carry a subject's word that its subnet ignores.

use std::collections::{BTreeMap, BTreeSet};

use orchestrator::orchestrate::EvidenceBody;

/// Words a subject's name may lose in a query (search engines and planners drop them).
const CONNECTIVES: [&str; 12] = ["a", "an", "the", "of", "in", "on", "for", "to", "and", "or", "by", "with"];

/// The cited calls of `cited` (receipt indexes) whose requests are about none of `subjects`, in
/// words; nothing when `subjects` is empty (a challenge about nothing in particular). `shared`
/// holds the words that more than one subject the validator may ask about names.
pub fn off_subject(cited: &BTreeSet<u64>, evidence: &[EvidenceBody], subjects: &[String], shared: &BTreeSet<String>) -> Vec<String> {
    if subjects.is_empty() {
        return Vec::new();
    }
    let shown: BTreeMap<u64, &EvidenceBody> = evidence.iter().map(|given| (given.receipt, given)).collect();
    let about: Vec<About> = subjects.iter().map(|subject| About::new(subject, shared)).collect();
    cited
        .iter()
        .filter_map(|receipt| {
            let request = shown.get(receipt).and_then(|given| given.request_preimage()).filter(|request| !request.is_empty());
            let Some(request) = request else { return Some(format!("receipt {receipt} is cited but its request is not shown")) };
            let asked = request_words(&request);
            (!about.iter().any(|subject| subject.in_words(&asked))).then(|| format!("the request of receipt {receipt} asks about none of the challenge's subjects ({})", subjects.join(", ")))
        })
        .collect()
}

/// What words must hold to be about one subject (see the module terms).
#[derive(Clone, Debug)]
pub struct About {
    name: BTreeSet<String>,
    telling: BTreeSet<String>,
}

impl About {
    /// The subject `subject`, whose telling words are those `shared` (the words other subjects
    /// name too) does not hold.
    pub fn new(subject: &str, shared: &BTreeSet<String>) -> About {
        let name = name_words(subject);
        let telling = name.iter().filter(|word| word.chars().count() >= 3 && !shared.contains(*word)).cloned().collect();
        About { name, telling }
    }

    /// Whether `words` are about the subject.
    pub fn in_words(&self, words: &BTreeSet<String>) -> bool {
        match self.telling.is_empty() {
            true => self.name.is_subset(words),
            false => !self.telling.is_disjoint(words),
        }
    }
}

/// The words of a subject's name but the [`CONNECTIVES`], lowercased.
pub fn name_words(subject: &str) -> BTreeSet<String> {
    words(subject).into_iter().filter(|word| !CONNECTIVES.contains(&word.as_str())).collect()
}

/// The words more than one of `subjects` names.
pub fn shared_words<'a>(subjects: impl IntoIterator<Item = &'a str>) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut shared = BTreeSet::new();
    for subject in subjects {
        for word in words(subject) {
            if !seen.insert(word.clone()) {
                shared.insert(word);
            }
        }
    }
    shared
}

/// The request words of a request preimage (`METHOD URL\n` and the body).
fn request_words(preimage: &[u8]) -> BTreeSet<String> {
    let text = String::from_utf8_lossy(preimage);
    let (line, body) = text.split_once('\n').unwrap_or((&text, ""));
    let url = line.split_once(' ').map_or(line, |(_, url)| url);
    let mut asked = words(body);
    match reqwest::Url::parse(url) {
        Ok(url) => {
            asked.extend(words(url.path()));
            for (name, value) in url.query_pairs() {
                asked.extend(words(&name));
                asked.extend(words(&value));
            }
        }
        Err(_) => asked.extend(words(url)),
    }
    asked
}

/// The words of `text`, lowercased (see the module terms).
pub fn words(text: &str) -> BTreeSet<String> {
    text.split(|character: char| !character.is_alphanumeric()).filter(|word| !word.is_empty()).map(str::to_lowercase).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;

    fn shown(receipt: u64, request: &str) -> EvidenceBody {
        EvidenceBody { receipt, base64: String::new(), cost_headers: Vec::new(), request: base64::engine::general_purpose::STANDARD.encode(request) }
    }

    fn shared() -> BTreeSet<String> {
        shared_words(["mixture of experts", "diffusion models", "state space models", "semantic search", "neural architecture search", "RunPod", "Vast.ai"])
    }

    #[test]
    fn a_request_is_about_a_subject_when_it_holds_a_telling_word_however_encoded() {
        let subjects = vec!["mixture of experts".to_owned()];
        let evidence = [
            shown(0, "GET http://127.0.0.1:9/web?query=mixture+experts+arxiv+papers\n"),
            shown(1, "POST http://127.0.0.1:9/desearch/ai/search\n{\"prompt\":\"Mixture experts arxiv papers\"}"),
            shown(2, "GET http://127.0.0.1:9/web?query=mixture%20of%20experts\n"),
            shown(3, "GET http://127.0.0.1:9/web?query=experts%20routing\n"),
        ];
        assert_eq!(off_subject(&BTreeSet::from([0, 1, 2, 3]), &evidence, &subjects, &shared()), Vec::<String>::new());
        let semantic = vec!["semantic search".to_owned()];
        assert!(off_subject(&BTreeSet::from([0]), &[shown(0, "GET http://h/web?query=semantic+arxiv+papers\n")], &semantic, &shared()).is_empty(), "a planner may drop words");
        let providers = vec!["RunPod".to_owned(), "Vast.ai".to_owned()];
        assert!(off_subject(&BTreeSet::from([0]), &[shown(0, "GET http://h/web?query=Vast.ai+GPU+pricing\n")], &providers, &shared()).is_empty());
    }

    #[test]
    fn a_request_about_another_subject_or_not_shown_is_off_subject() {
        let diffusion = vec!["diffusion models".to_owned()];
        let evidence = [shown(0, "GET http://127.0.0.1:9/web?query=state+space+models+arxiv+papers\n"), shown(1, "GET http://127.0.0.1:9/web?query=neural+search\n")];
        let problems = off_subject(&BTreeSet::from([0, 2]), &evidence, &diffusion, &shared());
        assert_eq!(problems.len(), 2, "a word another subject shares tells nothing: {problems:?}");
        assert!(problems[1].contains("not shown"), "{problems:?}");
        let semantic = vec!["semantic search".to_owned()];
        assert_eq!(off_subject(&BTreeSet::from([1]), &evidence, &semantic, &shared()).len(), 1, "`search` is shared with another subject");
        assert!(off_subject(&BTreeSet::from([0]), &evidence, &[], &shared()).is_empty(), "a challenge without subjects asks about nothing in particular");
    }
}
