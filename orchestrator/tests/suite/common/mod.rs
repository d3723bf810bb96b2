//! What the crate's tests share.

use orchestrator::outbound::{Guard, Policy};

/// The outbound guard of a node whose subnets are the test kit's servers on 127.0.0.1.
pub fn loopback_guard() -> Guard {
    Guard::new(Policy::loopback()).expect("an HTTP client")
}

/// The vector blocks of `docs/SPEC.md` (fenced as `json vector:NAME`) whose names start with
/// `prefix`, by name.
pub fn spec_vectors(prefix: &str) -> std::collections::BTreeMap<String, serde_json::Value> {
    const BLOCK_TAG: &str = "```json vector:";
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/SPEC.md");
    let spec = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
    let mut vectors = std::collections::BTreeMap::new();
    let mut lines = spec.lines();
    while let Some(line) = lines.next() {
        let Some(name) = line.trim().strip_prefix(BLOCK_TAG).filter(|name| name.starts_with(prefix)) else { continue };
        let body: Vec<&str> = lines.by_ref().take_while(|line| line.trim() != "```").collect();
        let block = serde_json::from_str(&body.join("\n")).unwrap_or_else(|error| panic!("vector:{name} is not JSON: {error}"));
        assert!(vectors.insert(name.to_owned(), block).is_none(), "vector:{name} appears twice");
    }
    vectors
}
