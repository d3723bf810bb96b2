//! The Python client's whole test suite, its live tests included, against a node on loopback:
//! `Client(api_key=..., base_url=...).execute(...)` as a Python user runs it.


use std::path::Path;
use std::process::Command;

use crate::common::{Options, Stack};

#[tokio::test(flavor = "multi_thread")]
async fn the_python_client_passes_its_tests_against_a_running_node() {
    let stack = Stack::start(Options::default()).await;
    let package = Path::new(env!("CARGO_MANIFEST_DIR")).join("../clients/python");
    let url = stack.url.clone();
    let api_key = stack.api_key.clone();
    // pytest blocks; the node keeps serving on the runtime's other threads.
    let output = tokio::task::spawn_blocking(move || {
        Command::new("python3")
            .args(["-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider"])
            .current_dir(package)
            .env("ORCHESTRA_URL", url)
            .env("ORCHESTRA_API_KEY", api_key)
            .output()
            .expect("python3 runs (scripts/install-deps installs pytest and pydantic)")
    })
    .await
    .unwrap();
    let report = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "pytest failed:\n{report}");
    assert!(!report.contains("skipped"), "every test ran, the live ones included:\n{report}");
    assert!(report.contains(" passed"), "{report}");
    assert!(stack.desearch.request_count() >= 3, "the live tests reached the subnets through the node");
}
