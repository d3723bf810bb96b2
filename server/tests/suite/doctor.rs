//! `orchestra doctor`: what it finds and the fix it names, on a fresh machine without keys and
//! on a node whose subnets answer or do not, without writing anything.

use std::process::Output;

use testkit::{expected_key, SubnetKind, SubnetServer, TestLedger};

use crate::common::{orchestra, KEY_VARIABLES};

async fn doctor(data: &std::path::Path, args: &[&str], env: &[(&str, String)]) -> (bool, String) {
    let mut command = orchestra(data);
    command.arg("doctor").args(args).env("RUST_LOG", "warn").env_remove("ORCHESTRA_HOTKEY_SEED");
    for variable in KEY_VARIABLES {
        command.env_remove(variable);
    }
    command.envs(env.iter().map(|(name, value)| (*name, value.as_str())));
    let Output { status, stdout, stderr } = tokio::task::spawn_blocking(move || command.output().unwrap()).await.unwrap();
    (status.success(), format!("{}{}", String::from_utf8_lossy(&stdout), String::from_utf8_lossy(&stderr)))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fresh_machine_without_keys_is_told_which_variables_to_set_and_nothing_is_written() {
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("orchestra-data");
    let (passed, report) = doctor(&data, &["--offline"], &[]).await;

    assert!(!passed, "no routable general search is a failure: {report}");
    assert!(report.contains("ok    ledger: no ledger yet at"), "{report}");
    assert!(report.contains("FAIL  keys: no general search is routable (web-search, web-retrieval, x-search"), "{report}");
    assert!(report.contains("fix: for web-search, x-search set ORCHESTRA_SN22_KEY or DESEARCH_API_KEY (SN22 Desearch, keys at https://desearch.ai)"), "{report}");
    assert!(report.contains("CHUTES_API_KEY"), "{report}");
    assert!(report.contains("ok    hotkey: none yet"), "{report}");
    assert!(report.contains("warn  settings: the TAO price is the default"), "{report}");
    assert_eq!(std::fs::read_dir(home.path()).unwrap().count(), 0, "doctor seeds no ledger and makes no hotkey");
}

#[tokio::test(flavor = "multi_thread")]
async fn endpoints_that_answer_pass_and_one_that_does_not_fails_with_its_subnet_named() {
    let desearch = SubnetServer::start(SubnetKind::Desearch).await;
    let TestLedger { mut ledger, dir } = testkit::test_ledger(&[&desearch]);
    // Chutes' endpoints point at a port nobody listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    ledger.commit(testkit::repointed(64, &format!("http://{closed}"))).unwrap();
    drop(ledger);
    let env = [
        ("ORCHESTRA_SN22_KEY", expected_key(SubnetKind::Desearch).to_owned()),
        ("ORCHESTRA_SN22_KEY_HOSTS", "127.0.0.1".to_owned()),
        ("CHUTES_API_KEY", "cpk_test".to_owned()),
        ("ORCHESTRA_SN64_KEY_HOSTS", "127.0.0.1".to_owned()),
        ("ORCHESTRA_ALLOW_ADDRESSES", "127.0.0.1".to_owned()),
        ("ORCHESTRA_ALLOW_HTTP_HOSTS", "127.0.0.1".to_owned()),
        ("ORCHESTRA_TAO_USD", "412.5".to_owned()),
    ];
    let before = desearch.request_count();
    let (passed, report) = doctor(dir.path(), &[], &env).await;

    assert!(!passed, "{report}");
    assert!(report.contains("ok    ledger: ") && report.contains("opens and checks: version"), "{report}");
    assert!(report.contains("ok    keys: routable capabilities: ") && report.contains("llm-chat") && report.contains("web-search"), "{report}");
    assert!(report.contains(&format!("ok    endpoints: SN22 {} answers (HTTP", desearch.base_url())), "{report}");
    assert!(report.contains(&format!("FAIL  endpoints: SN64 http://{closed} cannot be reached")), "{report}");
    assert!(!report.contains("TAO price is the default"), "{report}");
    let probes = &desearch.requests()[before..];
    assert!(!probes.is_empty(), "the endpoint's host was reached");
    assert!(probes.iter().all(|request| request.header("authorization").is_none() && request.header("x-api-key").is_none()), "no key goes with a reachability check: {probes:?}");
}
