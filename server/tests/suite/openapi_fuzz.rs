//! Schemathesis, every check, against `/openapi.json` of a free node and of a paid one (a funded
//! API key, so requests reach the handlers rather than stopping at 402): the document states
//! every constraint a request must meet and every status a route answers. The run's settings
//! (and what JSON Schema cannot state, per operation) are in `tests/openapi/schemathesis.toml`;
//! the seed is fixed, so a run is the same run each time.

use std::path::Path;
use std::process::Command;

use crate::common::{self, orchestra, KEY_VARIABLES};

/// A node whose subnet calls can reach no host (the genesis' keyless subnets would otherwise be
/// called on the internet): orchestrations run to their routes and fail there, as with subnets
/// that are down, so the fuzzer meets every answer but a subnet's.
fn node(data: &Path, extra: &[&str]) -> common::Running {
    let mut command = orchestra(data);
    command.args(["serve", "--listen", "127.0.0.1:0", "--subnet-host", "subnets.invalid"]).args(extra);
    for variable in KEY_VARIABLES {
        command.env_remove(variable);
    }
    common::start(command)
}

async fn schemathesis(base: &str, authorization: Option<String>) {
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/openapi/schemathesis.toml");
    let mut command = Command::new("schemathesis");
    command.arg("--config-file").arg(&config).args(["run", &format!("{base}/openapi.json"), "--checks", "all", "--seed", "1", "--no-color"]);
    if let Some(authorization) = authorization {
        command.args(["-H", &format!("Authorization: {authorization}")]);
    }
    let output = tokio::task::spawn_blocking(move || command.output().expect("schemathesis runs (scripts/install-deps installs it)")).await.unwrap();
    let report = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "schemathesis found failures against {base}:\n{report}");
    assert!(report.contains(" passed") && !report.contains("failed"), "{report}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_openapi_document_holds_against_a_free_and_a_paid_node() {
    let free_data = tempfile::tempdir().unwrap();
    let free = node(&free_data.path().join("ledger"), &[]);
    schemathesis(&free.base, None).await;

    let paid_data = tempfile::tempdir().unwrap();
    let data = paid_data.path().join("ledger");
    assert!(orchestra(&data).arg("node").output().unwrap().status.success(), "the ledger is seeded");
    let issued = orchestra(&data).args(["credits", "issue", "--rao", "1000000000000"]).output().unwrap();
    assert!(issued.status.success(), "{}", String::from_utf8_lossy(&issued.stderr));
    let api_key = serde_json::from_slice::<serde_json::Value>(&issued.stdout).unwrap()["api_key"].as_str().unwrap().to_owned();
    let paid = node(&data, &["--orchestrate-fee-rao", "1000", "--price-proof-rao", "1"]);
    schemathesis(&paid.base, Some(format!("Bearer {api_key}"))).await;
    drop(paid);

    // The paid run reached the handlers: its reads were charged to the key.
    let balance = orchestra(&data).args(["credits", "balance", &api_key]).output().unwrap();
    let balance: serde_json::Value = serde_json::from_slice(&balance.stdout).unwrap();
    assert!(balance["balance_rao"].as_u64().unwrap() < 1_000_000_000_000, "{balance}");
}
