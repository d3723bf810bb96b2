//! The genesis against its subnets' documentation: every endpoint with an invocation spec is
//! called through the real engine against a strict loopback server replaying its documented
//! exchange (`orchestra genesis check`), and every other endpoint says why it is not
//! orchestrated. Each way a record can disagree with its documentation fails the check.

use std::path::{Path, PathBuf};

use orchestra_server::documented::{check, Report};
use serde_json::{json, Value};

fn snapshots() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../snapshots")
}

/// A copy of the genesis sources and exchanges to break, in `dir`.
fn copy_sources(dir: &Path) {
    for sub in ["subnets", "capabilities", "documented"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
        for entry in std::fs::read_dir(snapshots().join(sub)).unwrap() {
            let path = entry.unwrap().path();
            std::fs::copy(&path, dir.join(sub).join(path.file_name().unwrap())).unwrap();
        }
    }
}

fn edit(path: &Path, change: impl FnOnce(&mut Value)) {
    let mut json: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    change(&mut json);
    std::fs::write(path, serde_json::to_string_pretty(&json).unwrap()).unwrap();
}

async fn check_copy(dir: &Path) -> Report {
    check(dir, &dir.join("documented")).await.unwrap()
}

/// The problems the check found for `file`.
fn problems(report: &Report, file: &str) -> Vec<String> {
    report.outcomes.iter().find(|outcome| outcome.file == file).unwrap_or_else(|| panic!("{file} was not checked")).problems.clone()
}

/// Every endpoint record of the genesis sources, as JSON.
fn genesis_endpoints() -> Vec<Value> {
    let mut endpoints = Vec::new();
    for entry in std::fs::read_dir(snapshots().join("subnets")).unwrap() {
        let source: Value = serde_json::from_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap()).unwrap();
        endpoints.extend(source["endpoints"].as_object().unwrap().values().cloned());
    }
    endpoints
}

#[tokio::test(flavor = "multi_thread")]
async fn every_routable_genesis_endpoint_passes_its_documented_exchange() {
    let report = check(&snapshots(), &snapshots().join("documented")).await.unwrap();
    let failures: Vec<_> = report.outcomes.iter().filter(|outcome| !outcome.passed).collect();
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(report.unpaired.is_empty(), "{:?}", report.unpaired);
    let specced = genesis_endpoints().iter().filter(|endpoint| endpoint.get("invocation").is_some()).count();
    assert_eq!(report.passed, specced, "one passing exchange per routable endpoint");
    assert!(report.outcomes.iter().all(|outcome| outcome.requests > 0));
}

/// The withdrawn API the test kit still serves (Apex's) keeps to its documentation too, so the
/// tests that use it test a real shape.
#[tokio::test(flavor = "multi_thread")]
async fn the_withdrawn_sources_the_test_kit_serves_pass_their_documented_exchanges() {
    let withdrawn = testkit::withdrawn_dir();
    let report = check(&withdrawn, &withdrawn.join("documented")).await.unwrap();
    let failures: Vec<_> = report.outcomes.iter().filter(|outcome| !outcome.passed).collect();
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(report.unpaired.is_empty(), "{:?}", report.unpaired);
    assert_eq!(report.passed, 3, "Apex's chat completion, web retrieval and deep research");
}

#[test]
fn every_genesis_endpoint_is_routable_or_says_why_not_and_few_say_why_not() {
    let endpoints = genesis_endpoints();
    let neither: Vec<&Value> = endpoints.iter().filter(|endpoint| endpoint.get("invocation").is_none() && endpoint.get("not_orchestrable").is_none()).collect();
    assert!(neither.is_empty(), "{neither:#?}");
    let refused = endpoints.iter().filter(|endpoint| endpoint.get("not_orchestrable").is_some()).count();
    assert!(refused * 4 <= endpoints.len(), "{refused} of {} endpoints are not orchestrable: at most a quarter may be", endpoints.len());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_record_that_reads_a_field_its_documentation_does_not_answer_fails() {
    let dir = tempfile::tempdir().unwrap();
    copy_sources(dir.path());
    edit(&dir.path().join("subnets/sn022-desearch.json"), |source| {
        let items = &mut source["endpoints"]["web-search"]["invocation"]["response"]["items"][0];
        items["title"] = json!(["/headline"]);
        items["text"] = json!(["/summary"]);
        items["url"] = json!(["/href"]);
    });
    let report = check_copy(dir.path()).await;
    assert!(!report.ok());
    let problems = problems(&report, "sn022-web-search.json");
    assert!(problems.iter().any(|problem| problem.contains("no evidence")), "{problems:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_record_that_sends_what_its_documentation_does_not_name_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    copy_sources(dir.path());
    edit(&dir.path().join("subnets/sn022-desearch.json"), |source| {
        let endpoint = &mut source["endpoints"]["ai-search"];
        endpoint["invocation"]["request"]["body"]["debug_trace"] = json!(true);
        endpoint["input_schema"]["properties"]["debug_trace"] = json!({"type": "boolean"});
    });
    edit(&dir.path().join("subnets/sn064-chutes.json"), |source| {
        source["endpoints"]["chat-completions"]["auth"] = json!({"scheme": "header", "name": "X-API-Key", "prefix": null});
    });
    let report = check_copy(dir.path()).await;
    let desearch = problems(&report, "sn022-ai-search.json");
    assert!(desearch.iter().any(|problem| problem.contains("body member /debug_trace is not documented")), "{desearch:?}");
    let chutes = problems(&report, "sn064-chat-completions.json");
    assert!(chutes.iter().any(|problem| problem.contains("Authorization header is not the documented `Bearer {key}`")), "{chutes:?}");
    assert_eq!(report.failed, 2, "the rest still pass: {:#?}", report.outcomes.iter().filter(|outcome| !outcome.passed).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_routable_endpoint_without_an_exchange_and_an_exchange_without_an_endpoint_are_named() {
    let dir = tempfile::tempdir().unwrap();
    copy_sources(dir.path());
    std::fs::remove_file(dir.path().join("documented/sn022-x-search.json")).unwrap();
    edit(&dir.path().join("documented/sn022-web-search.json"), |exchange| exchange["endpoint"] = json!("web-search-v9"));
    let report = check_copy(dir.path()).await;
    assert!(!report.ok());
    let unpaired = report.unpaired.join("\n");
    assert!(unpaired.contains("SN22 x-search has an invocation spec and 0 documented exchanges"), "{unpaired}");
    assert!(unpaired.contains("SN22 web-search has an invocation spec and 0 documented exchanges"), "{unpaired}");
    assert!(unpaired.contains("sn022-web-search.json names SN22 web-search-v9"), "{unpaired}");
}
