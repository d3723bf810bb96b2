//! The Python client's whole test suite, its live tests included, against two nodes on
//! loopback: a paid one (an API key with credits) and a default one that charges no fee, where
//! the seed's snippet runs exactly as written.


use std::path::Path;
use std::process::Command;

use crate::common::{Options, Stack};

#[tokio::test(flavor = "multi_thread")]
async fn the_python_client_passes_its_tests_against_a_running_node() {
    let stack = Stack::start(Options::default()).await;
    let free = Stack::start(Options { fee_rao: 0, ..Options::default() }).await;
    let free_url = free.url.clone();
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
            .env("ORCHESTRA_FREE_URL", free_url)
            .output()
            .expect("python3 runs (scripts/install-deps installs pytest and pydantic)")
    })
    .await
    .unwrap();
    let report = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "pytest failed:\n{report}");
    assert!(!report.contains("skipped"), "every test ran, the live ones included:\n{report}");
    assert!(report.contains(" passed"), "{report}");
    assert!(stack.desearch.request_count() >= 3, "the live tests reached the subnets through the paid node");
    assert!(free.desearch.request_count() >= 1, "the snippet reached the subnets through the default node");
}
