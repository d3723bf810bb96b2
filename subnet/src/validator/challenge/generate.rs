//! Challenges generated from the nonce, so that no miner can prepare for them.
//!
//! Terms:
//! - **family**: a kind of objective with the schemas its answers take, and the capability the
//!   ledger must route for a miner to answer it ([`FAMILIES`]).
//! - **subjects**: what a challenge is about (its research topic, or the providers it names):
//!   every call an answer cites must have asked about one of them, so an answer to another
//!   challenge cannot be passed off for this one.
//! - **draw**: the objective, schema and subjects a nonce picks. The nonce seeds a blake3 stream (key
//!   derived from [`CONTEXT`]); its first word picks the family among those routable, its second
//!   one of the family's challenges. The same nonce and routable capabilities always draw the
//!   same challenge, so anyone holding the nonce can check what was asked.
//!
//! The families span thousands of distinct objective and schema pairs ([`distinct_challenges`]):
//! a miner that caches answers to past challenges meets a new one nearly every time, and the
//! receipts chain from the nonce anyway, so no cached call can be shown for it.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use serde_json::{json, Map, Value};

use orchestrator::receipts::Nonce;

/// The blake3 key-derivation context of the draw.
pub const CONTEXT: &str = "orchestra/validator/challenge/v1";

/// A kind of challenge.
pub struct Family {
    pub name: &'static str,
    /// The capability a miner needs routable to answer it.
    pub capability: &'static str,
    /// Every challenge of the family (built once).
    pub challenges: fn() -> &'static [Drawn],
}

/// One challenge of a family.
#[derive(Clone, Debug, PartialEq)]
pub struct Drawn {
    /// The name of its family.
    pub family: &'static str,
    pub objective: String,
    pub target_schema: Value,
    pub subjects: Vec<String>,
}

/// The families; the draw picks among those whose capability the validator's ledger routes.
pub const FAMILIES: [Family; 4] = [
    Family {
        name: "papers",
        capability: "web-search",
        challenges: papers,
    },
    Family {
        name: "gpu-prices",
        capability: "web-search",
        challenges: prices,
    },
    Family {
        name: "x-posts",
        capability: "x-search",
        challenges: x_posts,
    },
    Family {
        name: "reddit-threads",
        capability: "reddit-search",
        challenges: reddit_threads,
    },
];

/// Research topics a paper search is asked about.
const TOPICS: [&str; 128] = [
    "mixture of experts",
    "decentralized training",
    "speculative decoding",
    "retrieval augmented generation",
    "state space models",
    "federated learning",
    "diffusion models",
    "model quantization",
    "knowledge distillation",
    "reinforcement learning from human feedback",
    "sparse attention",
    "long context language models",
    "vision transformers",
    "graph neural networks",
    "neural architecture search",
    "contrastive learning",
    "multimodal models",
    "tokenizer design",
    "instruction tuning",
    "parameter efficient fine tuning",
    "low rank adaptation",
    "model merging",
    "continual learning",
    "in-context learning",
    "chain of thought reasoning",
    "tool use by language models",
    "code generation models",
    "protein structure prediction",
    "weather forecasting models",
    "time series forecasting",
    "anomaly detection",
    "recommender systems",
    "causal inference",
    "uncertainty estimation",
    "adversarial robustness",
    "differential privacy",
    "machine unlearning",
    "data curation for pretraining",
    "synthetic data generation",
    "scaling laws",
    "pipeline parallelism",
    "gradient compression",
    "asynchronous optimization",
    "zero knowledge machine learning",
    "proof of learning",
    "incentive mechanisms for machine learning",
    "verifiable inference",
    "model watermarking",
    "hallucination detection",
    "evaluation of language models",
    "speech recognition",
    "text to speech",
    "video generation",
    "3d generation",
    "robot learning",
    "world models",
    "autonomous agents",
    "multi-agent systems",
    "mechanistic interpretability",
    "sparse autoencoders",
    "energy efficient inference",
    "on-device learning",
    "compiler optimization for deep learning",
    "kernel fusion",
    "flash attention",
    "key value cache compression",
    "mixture of depths",
    "early exit networks",
    "dynamic sparsity",
    "pruning of large language models",
    "binary neural networks",
    "neural radiance fields",
    "gaussian splatting",
    "image segmentation",
    "object detection",
    "optical character recognition",
    "document understanding",
    "table question answering",
    "semantic search",
    "dense retrieval",
    "reranking models",
    "embedding models",
    "cross-lingual transfer",
    "machine translation",
    "low resource languages",
    "summarization",
    "question answering",
    "dialogue systems",
    "reward modeling",
    "preference optimization",
    "constitutional training",
    "red teaming of language models",
    "jailbreak attacks",
    "prompt injection",
    "membership inference",
    "secure aggregation",
    "homomorphic encryption for machine learning",
    "trusted execution for inference",
    "blockchain oracles",
    "decentralized compute markets",
    "proof of stake consensus",
    "byzantine fault tolerant training",
    "gossip learning",
    "peer to peer networks",
    "edge inference",
    "model serving systems",
    "batch scheduling for inference",
    "cluster scheduling",
    "carbon aware computing",
    "mixed precision training",
    "optimizer design",
    "learning rate schedules",
    "curriculum learning",
    "self-supervised learning",
    "masked autoencoders",
    "representation learning",
    "meta learning",
    "few-shot learning",
    "zero-shot classification",
    "open vocabulary detection",
    "visual question answering",
    "video understanding",
    "audio generation",
    "music generation",
    "drug discovery",
    "materials discovery",
    "genomics models",
    "medical imaging",
];

const PAPER_OBJECTIVES: [&str; 6] = [
    "Find recent arxiv papers on {topic}",
    "List research papers about {topic}",
    "What are the newest arxiv papers on {topic}?",
    "Collect recent papers on {topic} with their links",
    "Which arxiv papers advance {topic}?",
    "Gather the latest research papers on {topic}",
];

/// Optional fields of a paper beside its required title.
const PAPER_FIELDS: [&str; 2] = ["url", "summary"];

/// What X posts about a topic are asked for with.
const X_OBJECTIVES: [&str; 4] = [
    "What are people on X saying about {topic}?",
    "Find recent tweets about {topic}",
    "Collect X posts discussing {topic} with their authors",
    "Which tweets mention {topic}?",
];

/// Optional fields of a tweet beside its required text.
const TWEET_FIELDS: [&str; 2] = ["author", "url"];

/// What Reddit threads about a topic are asked for with.
const REDDIT_OBJECTIVES: [&str; 4] = [
    "What is Reddit saying about {topic}?",
    "Find Reddit threads discussing {topic}",
    "Collect recent Reddit posts about {topic} with their links",
    "Which subreddit discussions cover {topic}?",
];

/// Optional fields of a thread beside its required text (Reddit data gives a post's text, its
/// link and its author, not always a title).
const THREAD_FIELDS: [&str; 2] = ["url", "author"];

const PROVIDERS: [&str; 3] = ["RunPod", "Vast.ai", "Lambda"];

const PRICE_OBJECTIVES: [&str; 3] = [
    "Research {providers} GPU pricing and recommend a price point",
    "Compare {providers} GPU prices",
    "What do {providers} charge for cloud GPUs? Recommend a price point",
];

/// The words of a nonce's stream, read in order.
struct Draw {
    stream: blake3::OutputReader,
}

impl Draw {
    fn new(nonce: &Nonce) -> Draw {
        let mut hasher = blake3::Hasher::new_derive_key(CONTEXT);
        hasher.update(&nonce.0);
        Draw { stream: hasher.finalize_xof() }
    }

    /// A number in `0..count`. A 64-bit word reduced modulo a count this small is uniform to
    /// within 2^-56.
    fn below(&mut self, count: usize) -> usize {
        let mut word = [0u8; 8];
        self.stream.fill(&mut word);
        (u64::from_le_bytes(word) % count as u64) as usize
    }
}

/// The challenge `nonce` draws among the families whose capability is in `routable`, or `None`
/// when none is: a family, then one of its challenges, each uniformly.
pub fn draw(nonce: &Nonce, routable: &BTreeSet<String>) -> Option<Drawn> {
    let families: Vec<&Family> = FAMILIES.iter().filter(|family| routable.contains(family.capability)).collect();
    if families.is_empty() {
        return None;
    }
    let mut draw = Draw::new(nonce);
    let challenges = (families[draw.below(families.len())].challenges)();
    Some(challenges[draw.below(challenges.len())].clone())
}

/// The words more than one subject of the families names: they tell nothing of which subject a
/// request asked about (see [`super::relevance`]).
pub fn shared_subject_words() -> &'static BTreeSet<String> {
    static SHARED: OnceLock<BTreeSet<String>> = OnceLock::new();
    SHARED.get_or_init(|| {
        let subjects: BTreeSet<&str> = FAMILIES.iter().flat_map(|family| (family.challenges)().iter()).flat_map(|drawn| drawn.subjects.iter().map(String::as_str)).collect();
        super::relevance::shared_words(subjects)
    })
}

/// How many distinct challenges the families whose capability is in `routable` hold together.
pub fn distinct_challenges(routable: &BTreeSet<String>) -> usize {
    FAMILIES
        .iter()
        .filter(|family| routable.contains(family.capability))
        .map(|family| (family.challenges)().len())
        .sum()
}

/// Every topic in every phrasing, asking for a list of items (`papers`, `tweets`, ...) each with
/// its `required` field and any subset of its `optional` ones.
fn topical(family: &'static str, list: &str, phrasings: &[&str], required: &str, optional: &[&str]) -> Vec<Drawn> {
    let mut all = Vec::new();
    for topic in TOPICS {
        for phrasing in phrasings {
            for fields in 0..1usize << optional.len() {
                let mut item = Map::from_iter([(required.to_owned(), json!("str"))]);
                for (bit, field) in optional.iter().enumerate() {
                    if fields & (1 << bit) != 0 {
                        item.insert((*field).to_owned(), json!("str"));
                    }
                }
                let schema = Map::from_iter([(list.to_owned(), json!([item]))]);
                all.push(Drawn { family, objective: phrasing.replace("{topic}", topic), target_schema: Value::Object(schema), subjects: vec![topic.to_owned()] });
            }
        }
    }
    all
}

fn papers() -> &'static [Drawn] {
    static ALL: OnceLock<Vec<Drawn>> = OnceLock::new();
    ALL.get_or_init(|| topical("papers", "papers", &PAPER_OBJECTIVES, "title", &PAPER_FIELDS))
}

fn x_posts() -> &'static [Drawn] {
    static ALL: OnceLock<Vec<Drawn>> = OnceLock::new();
    ALL.get_or_init(|| topical("x-posts", "tweets", &X_OBJECTIVES, "text", &TWEET_FIELDS))
}

fn reddit_threads() -> &'static [Drawn] {
    static ALL: OnceLock<Vec<Drawn>> = OnceLock::new();
    ALL.get_or_init(|| topical("reddit-threads", "threads", &REDDIT_OBJECTIVES, "text", &THREAD_FIELDS))
}

/// Every set of two or more providers in every phrasing, with or without strengths and a
/// recommendation.
fn prices() -> &'static [Drawn] {
    static ALL: OnceLock<Vec<Drawn>> = OnceLock::new();
    ALL.get_or_init(|| {
        let mut all = Vec::new();
        for set in (0..1usize << PROVIDERS.len()).filter(|set| set.count_ones() >= 2) {
            let providers: Vec<&str> = PROVIDERS
                .iter()
                .enumerate()
                .filter(|(bit, _)| set & (1 << bit) != 0)
                .map(|(_, name)| *name)
                .collect();
            let (last, rest) = providers.split_last().expect("two or more");
            let named = format!("{} and {last}", rest.join(", "));
            for phrasing in PRICE_OBJECTIVES {
                for (strengths, recommendation) in [(false, false), (false, true), (true, false), (true, true)] {
                    let mut competitor = Map::from_iter([("name".to_owned(), json!("str")), ("pricing".to_owned(), json!("dict"))]);
                    if strengths {
                        competitor.insert("strengths".to_owned(), json!("list"));
                    }
                    let mut schema = Map::from_iter([("competitors".to_owned(), json!([competitor]))]);
                    if recommendation {
                        schema.insert("recommendation".to_owned(), json!({ "price_point": "float", "rationale": "str" }));
                    }
                    let subjects = providers.iter().map(|provider| (*provider).to_owned()).collect();
                    all.push(Drawn { family: "gpu-prices", objective: phrasing.replace("{providers}", &named), target_schema: Value::Object(schema), subjects });
                }
            }
        }
        all
    })
}
