//! The fixed corpus the search kinds answer from, and keyword search over it.
//!
//! A query matches an item when they share words (case-insensitive, after dropping stopwords and
//! crude plural and tense endings); results rank by how many query words they share, ties in
//! corpus order, so answers are deterministic. Dates are fixed and date filters are ignored, so
//! tests do not depend on the day they run.
//!
//! The corpus holds a handful of papers, where a real search engine finds papers on any research
//! topic. So a query that asks for papers (its words include "arxiv", "paper" or "research")
//! and whose topic words no page holds is answered with the arXiv listings of that topic
//! ([`long_tail`]): three papers whose titles and abstracts name the topic, the same ones for
//! the same topic every time.

use std::collections::BTreeSet;

/// Where a page was published; each Desearch tool searches one source, `web` searches them all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Source {
    Web,
    HackerNews,
    Reddit,
    Wikipedia,
    Youtube,
    Arxiv,
}

/// A search result: a web page, a paper, a forum post or a video.
pub(crate) struct Page {
    pub source: Source,
    pub title: &'static str,
    pub snippet: &'static str,
    pub link: &'static str,
    /// Author and time of forum posts (Reddit, Hacker News).
    pub byline: Option<Byline>,
}

pub(crate) struct Byline {
    pub author: &'static str,
    pub at: &'static str,
}

impl Page {
    /// `r/<name>` for a Reddit post.
    pub fn subreddit(&self) -> Option<String> {
        let rest = self.link.split("/r/").nth(1)?;
        Some(format!("r/{}", rest.split('/').next()?))
    }
}

pub(crate) struct Author {
    pub id: &'static str,
    pub username: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub followers: u64,
    pub verified: bool,
    pub joined: &'static str,
}

pub(crate) struct Tweet {
    pub id: &'static str,
    pub author: &'static Author,
    pub text: &'static str,
    pub at: &'static str,
    pub likes: u64,
    pub retweets: u64,
    pub replies: u64,
    pub quotes: u64,
    pub bookmarks: u64,
    pub views: u64,
}

impl Tweet {
    pub fn url(&self) -> String {
        format!("https://x.com/{}/status/{}", self.author.username, self.id)
    }

    /// The hashtags in the text, lowercase, without `#`.
    pub fn hashtags(&self) -> Vec<String> {
        self.text
            .split_whitespace()
            .filter_map(|word| word.strip_prefix('#'))
            .map(|tag| tag.trim_end_matches(|c: char| !c.is_alphanumeric()).to_lowercase())
            .collect()
    }

    /// What a search matches against: the text and who wrote it.
    pub fn searchable(&self) -> String {
        format!("{} {} {}", self.text, self.author.username, self.author.name)
    }
}

/// An item that matched a query.
pub(crate) struct Hit<T: 'static> {
    pub item: &'static T,
    /// Query words the item contains.
    pub matched: usize,
    /// Query words in all.
    pub of: usize,
}

impl<T> Hit<T> {
    /// The share of the query's words the item contains, in `0..=1`.
    pub fn relevance(&self) -> f64 {
        self.matched as f64 / self.of.max(1) as f64
    }
}

/// Pages matching `query`, best first: from `source` only, or from every source when `None`;
/// while the answering server [drifts](crate::SubnetServer::set_drift), a web search that finds
/// anything also finds the week's news page about its topic, last, and a Reddit search the
/// week's threads about it.
pub(crate) fn search_pages(query: &str, source: Option<Source>, limit: usize) -> Vec<Hit<Page>> {
    let mut hits = matching_pages(query, source, limit);
    let Some(week) = week(query) else { return hits };
    match source {
        None | Some(Source::Web) if !hits.is_empty() => {
            hits.truncate(limit.saturating_sub(1).max(1));
            hits.push(Hit { item: &week.page, matched: 0, of: 0 });
        }
        Some(Source::Reddit) => {
            hits.extend(week.threads.iter().map(|item| Hit { item, matched: 0, of: 0 }));
            hits.truncate(limit);
        }
        _ => {}
    }
    hits
}

fn matching_pages(query: &str, source: Option<Source>, limit: usize) -> Vec<Hit<Page>> {
    let pages = PAGES.iter().filter(|page| source.is_none_or(|source| page.source == source));
    let searched = |page: &Page| format!("{} {}", page.title, page.snippet);
    let hits = rank(pages, query, searched, limit);
    let topic = topic_words(query);
    let asks_for_papers = words(query).iter().any(|word| PAPER_WORDS.contains(&word.as_str()));
    let topic_found = hits.iter().any(|hit| !topic.is_disjoint(&words(&searched(hit.item))));
    if !asks_for_papers || topic.is_empty() || topic_found || !source.is_none_or(|source| source == Source::Arxiv) {
        return hits;
    }
    rank(long_tail(query).iter(), query, searched, limit)
}

tokio::task_local! {
    /// The drift of the server answering the current request: 0 for the fixed corpus; otherwise
    /// the issue of the week whose news and posts its searches also find (see [`week`]), so
    /// that answers change from one drift to the next as a live subnet's do. Set per request
    /// from the server's state, so servers of one process drift apart.
    pub(crate) static DRIFT: u64;
}

/// What a drifting corpus adds for one topic in one week: the news page web searches find, the
/// posts X searches find and the threads Reddit searches find.
struct Week {
    page: Page,
    tweets: Vec<Tweet>,
    threads: Vec<Page>,
}

/// Who posts the week's news on X.
const WEEKLY_AUTHORS: [&Author; 3] = [&WEEKLY, &LAB_NOTES, &READING_LIST];

/// The week of the current drift about `query`'s topic, made once and kept; `None` while the
/// server does not drift or the query names no topic.
fn week(query: &str) -> Option<&'static Week> {
    use std::hash::{Hash, Hasher};
    static MADE: std::sync::Mutex<Vec<(u64, String, &'static Week)>> = std::sync::Mutex::new(Vec::new());
    let issue = DRIFT.try_with(|issue| *issue).unwrap_or(0);
    let topic = topic_words(query).into_iter().collect::<Vec<_>>().join(" ");
    if issue == 0 || topic.is_empty() {
        return None;
    }
    let mut made = MADE.lock().expect("drift weeks lock");
    if let Some((_, _, week)) = made.iter().find(|(made, about, _)| *made == issue && *about == topic) {
        return Some(week);
    }
    let leak = |text: String| -> &'static str { Box::leak(text.into_boxed_str()) };
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    (issue, &topic).hash(&mut hasher);
    let id = hasher.finish() >> 8;
    let slug = topic.replace(' ', "-");
    let tag = topic.replace(' ', "");
    let at = leak(format!("2026-11-{:02}T12:00:00Z", 1 + issue % 28));
    let posts = [
        format!("New this week in {topic}: a simpler method matches the state of the art (issue {issue}). #{tag}"),
        format!("Our issue {issue} notes on {topic} are out: benchmarks, code and the open questions."),
        format!("Reading list, issue {issue}: three papers on {topic} worth your time."),
    ];
    let tweets = posts
        .into_iter()
        .zip(WEEKLY_AUTHORS)
        .enumerate()
        .map(|(n, (text, author))| Tweet {
            id: leak(format!("19{:017}", (id + n as u64) % 100_000_000_000_000_000)),
            author,
            text: leak(text),
            at,
            likes: 40 + 17 * n as u64,
            retweets: 6 + 3 * n as u64,
            replies: 2 + n as u64,
            quotes: n as u64,
            bookmarks: 9 + 5 * n as u64,
            views: 4_200 + 1_300 * n as u64,
        })
        .collect();
    let threads = [
        (format!("What changed in {topic} this week? (issue {issue})"), format!("Discussion thread: readers share the week's papers and releases on {topic}.")),
        (format!("Is {topic} worth learning in 2027?"), format!("Practitioners compare notes on where {topic} helps and where it does not (issue {issue}).")),
    ]
    .into_iter()
    .enumerate()
    .map(|(n, (title, snippet))| Page {
        source: Source::Reddit,
        title: leak(title),
        snippet: leak(snippet),
        link: leak(format!("https://www.reddit.com/r/MachineLearning/comments/{:x}/{}_{issue}_{n}/", id + n as u64, slug.replace('-', "_"))),
        byline: Some(Byline { author: if n == 0 { "ml_weekly_bot" } else { "tensor_gardener" }, at }),
    })
    .collect();
    let page = Page {
        source: Source::Web,
        title: leak(format!("Decentralised AI weekly, issue {issue}: {topic}")),
        snippet: leak(format!("Issue {issue}: what changed this week in {topic}.")),
        link: leak(format!("https://weekly.example/issues/{issue}/{slug}")),
        byline: None,
    };
    let week: &'static Week = Box::leak(Box::new(Week { page, tweets, threads }));
    made.push((issue, topic, week));
    Some(week)
}

/// Stems of the words that ask for papers rather than name their topic.
const PAPER_WORDS: &[&str] = &["arxiv", "paper", "research", "study", "survey", "work", "link", "collect", "gather", "advance", "newest", "their"];

/// The query's words that name its topic.
fn topic_words(query: &str) -> BTreeSet<String> {
    words(query).into_iter().filter(|word| !PAPER_WORDS.contains(&word.as_str())).collect()
}

/// The arXiv listings a real search would find for the query's topic (see the module
/// documentation); made once per topic and kept for the process, as the corpus itself is.
fn long_tail(query: &str) -> &'static [Page] {
    use std::collections::BTreeMap;
    use std::hash::{Hash, Hasher};
    use std::sync::Mutex;
    static MADE: Mutex<BTreeMap<String, &'static [Page]>> = Mutex::new(BTreeMap::new());
    let topic: Vec<&str> = query
        .split(|c: char| !c.is_alphanumeric() && c != '-')
        .filter(|word| !word.is_empty())
        .filter(|word| topic_words(word).len() == 1)
        .collect();
    let topic = topic.join(" ");
    let mut made = MADE.lock().unwrap();
    made.entry(topic.clone()).or_insert_with(|| {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        topic.hash(&mut hasher);
        let id = hasher.finish();
        let titled: String = topic.split(' ').map(|word| word[..1].to_uppercase() + &word[1..]).collect::<Vec<_>>().join(" ");
        let leak = |text: String| -> &'static str { Box::leak(text.into_boxed_str()) };
        let pages = [
            (format!("{titled} at Scale"), format!("We study {topic} in large models and report consistent gains over strong baselines on standard benchmarks.")),
            (format!("A Survey of {titled}"), format!("This survey organises recent work on {topic}, compares the main methods and lists open problems.")),
            (format!("Rethinking {titled}"), format!("We revisit the assumptions behind {topic} and propose a simpler method that matches the state of the art.")),
        ]
        .into_iter()
        .enumerate()
        .map(|(n, (title, snippet))| Page {
            source: Source::Arxiv,
            title: leak(title),
            snippet: leak(snippet),
            link: leak(format!("https://arxiv.org/abs/26{:02}.{:05}", 1 + id % 12, (id >> 8) % 100_000 + n as u64)),
            byline: None,
        })
        .collect::<Vec<_>>();
        Box::leak(pages.into_boxed_slice())
    })
}

/// Tweets matching `query`, best first, then the drifting week's posts about its topic.
pub(crate) fn search_tweets(query: &str, limit: usize) -> Vec<Hit<Tweet>> {
    let mut hits = rank(TWEETS.iter(), query, Tweet::searchable, limit);
    hits.extend(week(query).into_iter().flat_map(|week| week.tweets.iter()).map(|item| Hit { item, matched: 0, of: 0 }));
    hits.truncate(limit);
    hits
}

/// Every tweet a search for `query` may find: the corpus', and the drifting week's about its topic.
pub(crate) fn tweets(query: &str) -> impl Iterator<Item = &'static Tweet> {
    TWEETS.iter().chain(week(query).into_iter().flat_map(|week| week.tweets.iter()))
}

/// Every page of `source` a search for `query` may find: the corpus', and for Reddit the
/// drifting week's threads about its topic.
pub(crate) fn pages(source: Source, query: &str) -> impl Iterator<Item = &'static Page> {
    let threads = week(query).filter(|_| source == Source::Reddit).into_iter().flat_map(|week| week.threads.iter());
    PAGES.iter().filter(move |page| page.source == source).chain(threads)
}

/// Whether `text` contains every word of `phrase` (false when `phrase` has no words).
pub(crate) fn contains_words(text: &str, phrase: &str) -> bool {
    let wanted = words(phrase);
    !wanted.is_empty() && wanted.is_subset(&words(text))
}

fn rank<T>(items: impl Iterator<Item = &'static T>, query: &str, text: impl Fn(&T) -> String, limit: usize) -> Vec<Hit<T>> {
    let query = words(query);
    let mut hits: Vec<Hit<T>> = items
        .map(|item| Hit { item, matched: query.intersection(&words(&text(item))).count(), of: query.len() })
        .filter(|hit| hit.matched > 0)
        .collect();
    // Stable, so equal matches keep corpus order.
    hits.sort_by_key(|hit| std::cmp::Reverse(hit.matched));
    hits.truncate(limit);
    hits
}

/// The comparable words of `text`: lowercase, stopwords and short numbers (prices, counts)
/// dropped, one common ending cut so that "pricing", "prices" and "price" meet.
fn words(text: &str) -> BTreeSet<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .map(str::to_lowercase)
        .filter(|word| !word.is_empty() && !STOPWORDS.contains(&word.as_str()))
        .filter(|word| !(word.len() < 3 && word.chars().all(|c| c.is_ascii_digit())))
        .map(|word| stem(&word))
        .collect()
}

fn stem(word: &str) -> String {
    ["ing", "ed", "es", "s", "e"]
        .iter()
        .find_map(|ending| word.strip_suffix(ending).filter(|rest| rest.chars().count() >= 3))
        .unwrap_or(word)
        .to_owned()
}

const STOPWORDS: &[&str] = &[
    "a", "about", "after", "all", "also", "an", "and", "any", "are", "as", "at", "be", "been", "best", "but", "by", "can", "compare",
    "could", "did", "do", "does", "find", "for", "from", "get", "give", "had", "has", "have", "how", "i", "if", "in", "into", "is", "it",
    "its", "latest", "list", "me", "more", "most", "much", "my", "new", "news", "now", "of", "on", "or", "our", "out", "over", "per",
    "please", "recent", "s", "search", "should", "show", "so", "some", "tell", "than", "that", "the", "their", "them", "there", "these",
    "they", "this", "to", "today", "up", "us", "versus", "vs", "was", "we", "were", "what", "when", "where", "which", "who", "why", "will",
    "with", "would", "you", "your",
];

const PAGES: &[Page] = &[
    // GPU cloud pricing.
    Page {
        source: Source::Web,
        title: "RunPod GPU Cloud Pricing",
        snippet: "On-demand GPU cloud pricing per hour: H100 SXM $2.69/hr, H100 PCIe $2.39/hr, A100 80GB $1.19/hr, L40S $0.79/hr, \
                  RTX 4090 $0.34/hr. Billed by the second on Secure Cloud and Community Cloud, no egress fees.",
        link: "https://www.runpod.io/pricing",
        byline: None,
    },
    Page {
        source: Source::Web,
        title: "Vast.ai GPU Pricing: Rent Cloud GPUs",
        snippet: "Marketplace GPU rental prices per hour, median of current offers: H100 SXM $1.87/hr, A100 80GB $0.89/hr, \
                  L40S $0.62/hr, RTX 4090 $0.29/hr. Hosts set the prices; interruptible instances cost less.",
        link: "https://vast.ai/pricing",
        byline: None,
    },
    Page {
        source: Source::Web,
        title: "Lambda GPU Cloud Pricing: On-Demand NVIDIA GPUs",
        snippet: "On-demand cloud GPU instances billed per hour: H100 SXM $2.99/hr, A100 80GB $1.79/hr, GH200 $1.49/hr, \
                  A10 24GB $0.75/hr. 1-Click Clusters of H100 and B200 GPUs with InfiniBand, no egress fees.",
        link: "https://lambda.ai/service/gpu-cloud#pricing",
        byline: None,
    },
    Page {
        source: Source::Web,
        title: "Cloud GPU Pricing Compared: RunPod vs Vast.ai vs Lambda (November 2026)",
        snippet: "Hourly prices for the same GPUs across providers. H100 SXM: Vast.ai $1.87/hr, RunPod $2.69/hr, Lambda $2.99/hr. \
                  A100 80GB: Vast.ai $0.89/hr, RunPod $1.19/hr, Lambda $1.79/hr. Vast.ai is cheapest; its hosts vary in reliability.",
        link: "https://getdeploying.com/reference/cloud-gpu",
        byline: None,
    },
    Page {
        source: Source::Web,
        title: "Cloud GPUs: Which Provider Should You Rent From?",
        snippet: "A guide to renting cloud GPUs for training and inference: Lambda for reserved clusters, RunPod for serverless \
                  endpoints and per-second billing, Vast.ai for the lowest marketplace prices such as RTX 4090 $0.29/hr.",
        link: "https://fullstackdeeplearning.com/cloud-gpus/",
        byline: None,
    },
    // Bittensor.
    Page {
        source: Source::Web,
        title: "Understanding Subnets | Bittensor Docs",
        snippet: "A Bittensor subnet is an incentive-based competition market: miners produce a digital commodity, validators \
                  score their work, and Yuma Consensus turns the scores into TAO emissions.",
        link: "https://docs.learnbittensor.org/subnets/understanding-subnets",
        byline: None,
    },
    Page {
        source: Source::Web,
        title: "Taostats: Bittensor Subnet Explorer",
        snippet: "Live data on every Bittensor subnet: emissions, registration cost, active miners and validators, and subnet \
                  token prices under dynamic TAO.",
        link: "https://taostats.io/subnets",
        byline: None,
    },
    Page {
        source: Source::Wikipedia,
        title: "Bittensor - Wikipedia",
        snippet: "Bittensor is an open-source protocol that powers a decentralized, blockchain-based machine learning network. \
                  Its token, TAO, rewards the miners and validators of subnets that produce AI services.",
        link: "https://en.wikipedia.org/wiki/Bittensor",
        byline: None,
    },
    Page {
        source: Source::Wikipedia,
        title: "Graphics processing unit - Wikipedia",
        snippet: "A graphics processing unit (GPU) is a specialized electronic circuit built for parallel computation; GPUs such \
                  as the NVIDIA H100 and A100 train and run neural networks.",
        link: "https://en.wikipedia.org/wiki/Graphics_processing_unit",
        byline: None,
    },
    Page {
        source: Source::Wikipedia,
        title: "Mixture of experts - Wikipedia",
        snippet: "Mixture of experts (MoE) is a machine learning technique where multiple expert networks divide a problem \
                  space; a gating network routes each input to a few experts, so sparse models grow in parameters without \
                  growing compute per token.",
        link: "https://en.wikipedia.org/wiki/Mixture_of_experts",
        byline: None,
    },
    // Papers.
    Page {
        source: Source::Arxiv,
        title: "Outrageously Large Neural Networks: The Sparsely-Gated Mixture-of-Experts Layer",
        snippet: "We introduce a Sparsely-Gated Mixture-of-Experts layer (MoE) of up to thousands of feed-forward sub-networks; \
                  a trainable gating network selects a sparse combination of experts for each example.",
        link: "https://arxiv.org/abs/1701.06538",
        byline: None,
    },
    Page {
        source: Source::Arxiv,
        title: "Switch Transformers: Scaling to Trillion Parameter Models with Simple and Efficient Sparsity",
        snippet: "We simplify mixture-of-experts routing to a single expert per token, reduce communication and computational \
                  costs, and train large sparse models in lower precision.",
        link: "https://arxiv.org/abs/2101.03961",
        byline: None,
    },
    Page {
        source: Source::Arxiv,
        title: "Mixtral of Experts",
        snippet: "Mixtral 8x7B is a sparse mixture of experts language model: each layer has 8 feed-forward experts and a \
                  router selects two of them for every token.",
        link: "https://arxiv.org/abs/2401.04088",
        byline: None,
    },
    Page {
        source: Source::Arxiv,
        title: "Retrieval-Augmented Generation for Knowledge-Intensive NLP Tasks",
        snippet: "We combine a pre-trained sequence-to-sequence model with a dense vector index of Wikipedia accessed by a neural \
                  retriever, and fine-tune retrieval-augmented generation models end to end.",
        link: "https://arxiv.org/abs/2005.11401",
        byline: None,
    },
    Page {
        source: Source::Arxiv,
        title: "DiLoCo: Distributed Low-Communication Training of Language Models",
        snippet: "A distributed optimization algorithm that trains language models on islands of poorly connected devices: \
                  workers take many local steps and synchronize rarely, communicating 500 times less.",
        link: "https://arxiv.org/abs/2311.08105",
        byline: None,
    },
    Page {
        source: Source::Arxiv,
        title: "Decentralized Training of Foundation Models in Heterogeneous Environments",
        snippet: "We schedule the training of large foundation models over decentralized, heterogeneous GPUs joined by slow \
                  networks, assigning pipeline and data parallel work to minimize communication cost.",
        link: "https://arxiv.org/abs/2206.01288",
        byline: None,
    },
    // Forums and videos.
    Page {
        source: Source::HackerNews,
        title: "Ask HN: Cheapest place to rent an H100 for fine-tuning?",
        snippet: "Quotes I got this week: Vast.ai around $1.90/hr for an H100 SXM, RunPod $2.69/hr, Lambda $2.99/hr. Is \
                  marketplace reliability worth the savings for a three-day fine-tuning run?",
        link: "https://news.ycombinator.com/item?id=45912345",
        byline: Some(Byline { author: "gpu_poor", at: "2026-11-18T16:42:00Z" }),
    },
    Page {
        source: Source::HackerNews,
        title: "DiLoCo-style decentralized training across datacenters with 500x less communication",
        snippet: "Workers train locally for hundreds of steps and synchronize outer gradients, which makes pretraining over \
                  ordinary internet links practical.",
        link: "https://news.ycombinator.com/item?id=45876543",
        byline: Some(Byline { author: "sparse_thoughts", at: "2026-11-16T11:05:00Z" }),
    },
    Page {
        source: Source::Reddit,
        title: "H100 rental prices keep falling: $1.87/hr on Vast.ai this week",
        snippet: "Tracked GPU rental prices for a month. H100 SXM went from $2.10/hr to $1.87/hr on Vast.ai; RunPod held at \
                  $2.69/hr and Lambda at $2.99/hr. RTX 4090s cost $0.29 to $0.34/hr everywhere.",
        link: "https://www.reddit.com/r/LocalLLaMA/comments/1p3xk2a/h100_rental_prices_keep_falling/",
        byline: Some(Byline { author: "tensor_tinkerer", at: "2026-11-21T09:12:00Z" }),
    },
    Page {
        source: Source::Reddit,
        title: "Which Bittensor subnets do you actually use?",
        snippet: "I call Chutes (SN64) for LLM inference and Desearch (SN22) for web and X search every day; Data Universe \
                  (SN13) is great for scraping X and Reddit, but its on-demand API can be slow.",
        link: "https://www.reddit.com/r/bittensor_/comments/1p2abc9/which_bittensor_subnets_do_you_actually_use/",
        byline: Some(Byline { author: "subnet_surfer", at: "2026-11-20T18:30:00Z" }),
    },
    Page {
        source: Source::Reddit,
        title: "[D] Mixture-of-experts routing collapse in small models",
        snippet: "Training an 8-expert MoE at 1B parameters, the router sends most tokens to two experts. The load-balancing \
                  loss from Switch Transformers helps, and the expert capacity factor matters too.",
        link: "https://www.reddit.com/r/MachineLearning/comments/1p1mno4/d_mixtureofexperts_routing_collapse/",
        byline: Some(Byline { author: "sparse_router", at: "2026-11-19T21:47:00Z" }),
    },
    Page {
        source: Source::Youtube,
        title: "Bittensor Explained: Subnets, Miners and Validators",
        snippet: "A 20-minute walkthrough of how Bittensor subnets work, how miners earn TAO emissions and how dynamic TAO \
                  prices subnet tokens.",
        link: "https://www.youtube.com/watch?v=q4tG0vX2eHk",
        byline: None,
    },
    Page {
        source: Source::Youtube,
        title: "Renting Cloud GPUs in 2026: RunPod vs Vast.ai vs Lambda",
        snippet: "We rent an H100 and an RTX 4090 from each provider, benchmark fine-tuning speed, and compare hourly GPU \
                  prices, startup times and reliability.",
        link: "https://www.youtube.com/watch?v=Zm8rY3kTq1c",
        byline: None,
    },
];

const RUNPOD: Author = Author {
    id: "1280598830447054848",
    username: "runpod_io",
    name: "RunPod",
    description: "The cloud built for AI: GPUs on demand, serverless endpoints.",
    followers: 61_200,
    verified: true,
    joined: "2020-07-07T19:21:00Z",
};
const VAST: Author = Author {
    id: "1006598425718853632",
    username: "vast_ai",
    name: "Vast.ai",
    description: "The GPU marketplace: rent cloud GPUs for a fraction of the price.",
    followers: 48_900,
    verified: true,
    joined: "2018-06-12T17:03:00Z",
};
const PRICE_WATCH: Author = Author {
    id: "1712345678901234567",
    username: "gpupricewatch",
    name: "GPU Price Watch",
    description: "Weekly cloud GPU rental prices across providers.",
    followers: 12_800,
    verified: false,
    joined: "2023-10-02T08:00:00Z",
};
const OPENTENSOR: Author = Author {
    id: "1365384633208246274",
    username: "opentensor",
    name: "Opentensor Foundation",
    description: "Bittensor: an open network for decentralized machine intelligence.",
    followers: 98_400,
    verified: true,
    joined: "2021-02-26T18:10:00Z",
};
const CHUTES: Author = Author {
    id: "1856281925331591168",
    username: "chutes_ai",
    name: "Chutes",
    description: "Serverless AI compute on Bittensor subnet 64.",
    followers: 27_600,
    verified: true,
    joined: "2024-11-12T10:00:00Z",
};
const DESEARCH: Author = Author {
    id: "1791467362219233280",
    username: "desearch_ai",
    name: "Desearch",
    description: "Decentralized AI search on Bittensor subnet 22.",
    followers: 15_300,
    verified: true,
    joined: "2024-05-17T12:30:00Z",
};
const SUBNET_ANALYST: Author = Author {
    id: "1623456789012345678",
    username: "subnet_analyst",
    name: "Subnet Analyst",
    description: "Charts and notes on Bittensor subnets.",
    followers: 9_400,
    verified: false,
    joined: "2023-02-09T15:45:00Z",
};
const ONCHAIN: Author = Author {
    id: "1098765432109876543",
    username: "btc_onchain",
    name: "On-chain Data",
    description: "Bitcoin network data, daily.",
    followers: 54_000,
    verified: true,
    joined: "2019-02-22T06:00:00Z",
};

const WEEKLY: Author = Author {
    id: "1700000000000000001",
    username: "DecentralAIWeekly",
    name: "Decentralised AI weekly",
    description: "What changed this week in machine learning research and decentralised AI.",
    followers: 18_400,
    verified: false,
    joined: "2023-09-14T09:00:00Z",
};

const LAB_NOTES: Author = Author {
    id: "1700000000000000002",
    username: "open_lab_notes",
    name: "Open Lab Notes",
    description: "Benchmarks and code from an open research lab.",
    followers: 7_900,
    verified: false,
    joined: "2024-02-03T16:30:00Z",
};

const READING_LIST: Author = Author {
    id: "1700000000000000003",
    username: "ml_reading_list",
    name: "ML reading list",
    description: "Three papers worth your time, every week.",
    followers: 12_100,
    verified: false,
    joined: "2022-11-28T08:15:00Z",
};

const TWEETS: &[Tweet] = &[
    Tweet {
        id: "1992604118734028800",
        author: &RUNPOD,
        text: "Price drop on Secure Cloud: H100 SXM now $2.69/hr and A100 80GB $1.19/hr, billed by the second. #GPU #AI",
        at: "2026-11-22T15:00:00Z",
        likes: 842,
        retweets: 131,
        replies: 57,
        quotes: 12,
        bookmarks: 203,
        views: 96_500,
    },
    Tweet {
        id: "1992891534211457024",
        author: &VAST,
        text: "RTX 4090 from $0.29/hr and H100 SXM from $1.87/hr on the Vast.ai marketplace this week. Rent cloud GPUs at the \
               lowest prices. #GPU",
        at: "2026-11-23T10:20:00Z",
        likes: 611,
        retweets: 98,
        replies: 41,
        quotes: 7,
        bookmarks: 154,
        views: 71_200,
    },
    Tweet {
        id: "1992860227094593536",
        author: &PRICE_WATCH,
        text: "Weekly GPU rental prices, H100 SXM per hour: Vast.ai $1.87, RunPod $2.69, Lambda $2.99. A100 80GB: $0.89 / \
               $1.19 / $1.79. #GPU #cloud",
        at: "2026-11-23T08:00:00Z",
        likes: 1_204,
        retweets: 388,
        replies: 96,
        quotes: 44,
        bookmarks: 712,
        views: 183_000,
    },
    Tweet {
        id: "1992637960527290368",
        author: &OPENTENSOR,
        text: "128 subnets now live on Bittensor. Every subnet is a market for one digital commodity, paid in TAO emissions. \
               #bittensor #TAO",
        at: "2026-11-22T17:45:00Z",
        likes: 2_310,
        retweets: 540,
        replies: 187,
        quotes: 63,
        bookmarks: 401,
        views: 264_000,
    },
    Tweet {
        id: "1992899088436387840",
        author: &CHUTES,
        text: "Chutes (Bittensor subnet 64) served over 100 billion tokens this week on decentralized GPUs. OpenAI-compatible \
               API, pay per token. #bittensor",
        at: "2026-11-23T12:10:00Z",
        likes: 1_055,
        retweets: 249,
        replies: 88,
        quotes: 31,
        bookmarks: 176,
        views: 122_000,
    },
    Tweet {
        id: "1992224893717598208",
        author: &DESEARCH,
        text: "Desearch on Bittensor subnet 22: AI search across the web, X, Reddit, arXiv and YouTube in a single API call. \
               #bittensor #search",
        at: "2026-11-21T14:30:00Z",
        likes: 478,
        retweets: 102,
        replies: 35,
        quotes: 9,
        bookmarks: 88,
        views: 54_300,
    },
    Tweet {
        id: "1992963531082285056",
        author: &SUBNET_ANALYST,
        text: "Subnet token prices under dynamic TAO: Chutes (SN64) and Desearch (SN22) lead Bittensor emissions this month. \
               #bittensor",
        at: "2026-11-23T16:26:00Z",
        likes: 356,
        retweets: 74,
        replies: 29,
        quotes: 11,
        bookmarks: 95,
        views: 41_800,
    },
    Tweet {
        id: "1992974852113825792",
        author: &ONCHAIN,
        text: "Bitcoin hashrate hit a new all-time high today while fees stayed low. #bitcoin",
        at: "2026-11-23T19:05:00Z",
        likes: 2_870,
        retweets: 612,
        replies: 143,
        quotes: 58,
        bookmarks: 230,
        views: 310_000,
    },
];
