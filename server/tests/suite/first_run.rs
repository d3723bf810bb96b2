//! A first run as the README gives it: `orchestra serve` on a fresh data directory seeds the
//! genesis ledger, and its first lines say where the explorer and the API are and which
//! subnet keys would make orchestration work, naming each variable and the subnet's site.

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use crate::common::{orchestra, KEY_VARIABLES};

/// What `orchestra serve` prints before it serves, with `keys` set; and the node's URL.
fn greeting(keys: &[(&str, &str)]) -> (Vec<String>, String) {
    let data = tempfile::tempdir().unwrap();
    let mut command = orchestra(&data.path().join("ledger"));
    command.args(["serve", "--listen", "127.0.0.1:0"]).env("RUST_LOG", "warn").stdout(Stdio::piped()).stderr(Stdio::null());
    for variable in KEY_VARIABLES {
        command.env_remove(variable);
    }
    command.envs(keys.iter().copied());
    let mut child = command.spawn().unwrap();
    let mut lines = Vec::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if line == "serving until Ctrl-C or SIGTERM" {
            break;
        }
        lines.push(line);
    }
    let address = lines.first().and_then(|line| line.strip_prefix("listening on ")).unwrap_or_else(|| panic!("the first line names the address: {lines:?}")).to_owned();
    let url = format!("http://{address}");
    let explorer = reqwest::blocking::get(format!("{url}/")).unwrap();
    assert_eq!(explorer.status(), 200, "the explorer is served where the greeting says");
    let _ = child.kill();
    let _ = child.wait();
    (lines, url)
}

#[test]
fn a_node_without_keys_says_where_it_is_and_which_variable_each_subnet_needs() {
    let (lines, url) = greeting(&[]);
    assert_eq!(lines[1], format!("explorer: {url}/"));
    assert_eq!(lines[2], format!("API: POST {url}/v1/orchestrate, described at {url}/openapi.json"));
    let subnets = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../snapshots/subnets")).unwrap().count();
    assert!(lines[3].starts_with("ledger: version ") && lines[3].ends_with(&format!("{subnets} subnets, seeded from the built-in genesis")), "{}", lines[3]);
    let general = lines.iter().position(|line| line.starts_with("orchestration: no general search is routable yet (web-search, web-retrieval, x-search")).unwrap_or_else(|| panic!("{lines:#?}"));
    let hints = &lines[general + 1..];
    for (variables, site) in [
        ("ORCHESTRA_SN22_KEY or DESEARCH_API_KEY", "SN22 Desearch, keys at https://desearch.ai"),
        ("ORCHESTRA_SN13_KEY or MACROCOSMOS_API_KEY", "keys at https://datauniverse.macrocosmos.ai/"),
        ("ORCHESTRA_SN64_KEY or CHUTES_API_KEY", "SN64 Chutes"),
    ] {
        assert!(hints.iter().any(|hint| hint.contains(&format!("set {variables} (")) && hint.contains(site)), "{variables} with {site} in {hints:#?}");
    }
    assert!(hints.iter().all(|hint| hint.starts_with("  for ")), "{hints:#?}");
}

#[test]
fn a_node_with_a_key_names_what_it_routes_and_what_more_keys_would_add() {
    let (lines, _) = greeting(&[("DESEARCH_API_KEY", "dsk-test")]);
    let routable = lines.iter().find(|line| line.starts_with("orchestration: routable capabilities: ")).unwrap_or_else(|| panic!("{lines:#?}"));
    assert!(routable.contains("web-search") && routable.contains("x-search"), "{routable}");
    assert!(!lines.iter().any(|line| line.contains("DESEARCH_API_KEY")), "a set key is not asked for: {lines:#?}");
    assert!(lines.iter().any(|line| line.contains("CHUTES_API_KEY")), "{lines:#?}");
}
