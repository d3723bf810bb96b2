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

/// A hotkey btcli made, named by wallet and hotkey as operators name them, signs the node's
/// receipts; one other users can read, or another key's file, is refused with the fix.
#[tokio::test(flavor = "multi_thread")]
async fn a_btcli_wallets_hotkey_signs_and_a_readable_or_altered_one_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("orchestra-data");
    let hotkeys = home.path().join(".bittensor/wallets/miner/hotkeys");
    std::fs::create_dir_all(&hotkeys).unwrap();
    let seed = [42u8; 32];
    let hotkey = ledger::hotkey::Hotkey::from_seed(&seed).unwrap();
    let public = format!("0x{}", hex::encode(hotkey.public()));
    let keyfile = serde_json::json!({
        "accountId": public, "publicKey": public, "privateKey": format!("0x{}", "11".repeat(64)),
        "secretPhrase": null, "secretSeed": format!("0x{}", hex::encode(seed)), "ss58Address": hotkey.ss58(),
    });
    let path = hotkeys.join("default");
    std::fs::write(&path, keyfile.to_string()).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let home_env = [("HOME", home.path().display().to_string())];
    let wallet = ["--offline", "--wallet", "miner", "--hotkey", "default"];

    let (_, report) = doctor(&data, &wallet, &home_env).await;
    assert!(report.contains(&format!("ok    hotkey: receipts are signed by {}", hotkey.ss58())), "{report}");
    assert!(!data.exists() && !identity_kept(&data).exists(), "a configured hotkey makes none: {report}");

    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (passed, report) = doctor(&data, &wallet, &home_env).await;
    assert!(!passed, "{report}");
    assert!(report.contains(&format!("FAIL  hotkey: the hotkey file {} can be read or written by other users (mode 644); run `chmod 600 {}`", path.display(), path.display())), "{report}");

    let mut altered = keyfile.clone();
    altered["ss58Address"] = ledger::hotkey::Hotkey::from_seed(&[43; 32]).unwrap().ss58().into();
    std::fs::write(&path, altered.to_string()).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let (passed, report) = doctor(&data, &wallet, &home_env).await;
    assert!(!passed && report.contains("but its secretSeed is the key of"), "{report}");

    let (_, report) = doctor(&data, &["--offline", "--wallet", "miner"], &home_env).await;
    assert!(report.contains("--hotkey"), "a wallet needs its hotkey named: {report}");
}

/// Where a node keeps the hotkey it made for `data`.
fn identity_kept(data: &std::path::Path) -> std::path::PathBuf {
    orchestra_server::identity::kept_hotkey_path(data)
}
