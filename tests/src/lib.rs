//! Test kit: local stand-ins for the subnet APIs Orchestra calls, and test ledgers pointing at them.
//!
//! The real subnet hosts cannot be reached from the build machines, so the orchestrator's and
//! the server's tests and benchmarks call servers on loopback that answer like the real APIs.
//!
//! # Terms
//!
//! - **Kind** ([`SubnetKind`]): one real subnet API the kit imitates: Desearch (SN22), Data
//!   Universe (SN13), Chutes (SN64) or Apex (SN1).
//! - **Subnet server** ([`SubnetServer`]): an HTTP server on `127.0.0.1` answering one kind's
//!   routes in that API's exact shapes: paths, auth header form, request validation, response
//!   bodies and headers, error bodies.
//! - **Behaviour**: the trouble a test makes a server show: **latency** added before every
//!   answer, and **failures**, answers with a chosen status and the API's own error body, for the
//!   next few requests or until the server **recovers**.
//! - **Recorded request** ([`RecordedRequest`]): what a server received, kept in arrival order so
//!   tests can check what a client sent.
//! - **Corpus**: the fixed pages, papers, posts and tweets the search kinds answer from. A result
//!   matches when it shares words with the query, so relevant queries find relevant results and
//!   unrelated ones find none.
//! - **Responder**: the function that writes an LLM kind's (Chutes, Apex) answer from the request
//!   body ([`SubnetServer::set_llm`]).
//! - **Test ledger** ([`TestLedger`]): a fresh ledger holding the real records of the four
//!   subnets (from `snapshots/subnets`) with their endpoint URLs pointing at subnet servers.

mod apex;
mod auth;
mod chutes;
mod corpus;
mod data_universe;
mod desearch;
mod errors;
mod fastapi;
pub mod cited;
mod llm;
mod registry;
mod server;

pub use registry::{register_mirror, register_subnets, repointed, set_health, sources_dir, test_ledger, withdrawn_dir, TestLedger};
pub use server::{RecordedRequest, SubnetServer};

/// A subnet API the kit can serve.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SubnetKind {
    /// SN22: web, X and AI search.
    Desearch,
    /// SN13: scraped X and Reddit posts, on demand; HTTP/2 only.
    DataUniverse,
    /// SN64: OpenAI-compatible chat completions.
    Chutes,
    /// SN1: chat completions, web retrieval and deep research over Macrocosmos' Connect API.
    Apex,
}

impl SubnetKind {
    pub const ALL: [SubnetKind; 4] = [SubnetKind::Desearch, SubnetKind::DataUniverse, SubnetKind::Chutes, SubnetKind::Apex];

    /// The subnet whose API this kind imitates.
    pub fn netuid(self) -> u16 {
        match self {
            SubnetKind::Desearch => 22,
            SubnetKind::DataUniverse => 13,
            SubnetKind::Chutes => 64,
            SubnetKind::Apex => 1,
        }
    }

    /// The `Authorization` header value the server accepts: the bare key for Desearch, a bearer
    /// token for the others.
    pub fn authorization(self) -> String {
        match self {
            SubnetKind::Desearch => expected_key(self).to_owned(),
            SubnetKind::DataUniverse | SubnetKind::Chutes | SubnetKind::Apex => format!("Bearer {}", expected_key(self)),
        }
    }
}

/// The API key each kind expects (the server answers 401 in the real shape without it).
pub fn expected_key(kind: SubnetKind) -> &'static str {
    match kind {
        SubnetKind::Desearch => "desearch-test-key",
        // Data Universe and Apex are both served by Macrocosmos' Constellation API, one key for both.
        SubnetKind::DataUniverse | SubnetKind::Apex => "macrocosmos-test-key",
        SubnetKind::Chutes => "cpk_test",
    }
}
