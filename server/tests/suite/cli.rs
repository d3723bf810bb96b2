//! The `orchestra ledger` commands as a user runs them: a real binary on a real data
//! directory, checked through what it prints and its exit status.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::{json, Value};

struct Cli {
    data: tempfile::TempDir,
}

impl Cli {
    fn new() -> Cli {
        Cli { data: tempfile::tempdir().unwrap() }
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_orchestra"))
            .arg("--data")
            .arg(self.data.path().join("ledger"))
            .args(["ledger"])
            .args(args)
            .output()
            .unwrap()
    }

    /// Runs a command that must succeed and returns its JSON.
    fn ok(&self, args: &[&str]) -> Value {
        let output = self.run(args);
        assert!(output.status.success(), "{args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
        serde_json::from_slice(&output.stdout).unwrap()
    }

    /// Runs a command that must fail and returns its error message.
    fn fails(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert!(!output.status.success(), "{args:?} should have failed");
        String::from_utf8(output.stderr).unwrap()
    }

    fn head(&self) -> Value {
        self.ok(&["head"])
    }

    fn path(&self, name: &str) -> String {
        self.data.path().join(name).to_str().unwrap().to_owned()
    }
}

fn identity(netuid: u16, name: &str) -> String {
    json!({
        "netuid": netuid,
        "name": name,
        "summary": "web and X search",
        "capabilities": ["web-search", "x-search"],
        "website": "https://desearch.ai",
        "github": null
    })
    .to_string()
}

fn write(path: &str, contents: &[u8]) {
    std::fs::write(Path::new(path), contents).unwrap();
}

#[test]
fn put_get_prove_verify_history_and_diff() {
    let cli = Cli::new();
    let genesis = cli.ok(&["init"]);
    assert_eq!(genesis["version"], 0);

    let first = cli.ok(&["put", "sn22", "identity", &identity(22, "Desearch")]);
    assert_eq!(first["version"], 1);
    assert_ne!(first["root"], genesis["root"]);
    let second = cli.ok(&["put", "22", "identity", &identity(22, "Desearch v2")]);
    assert_eq!(cli.head()["root"], second["root"]);

    let record = cli.ok(&["get", "sn22", "identity"]);
    assert_eq!(record["record"]["name"], "Desearch v2");
    assert_eq!(cli.ok(&["get", "sn22", "identity", "--at", "1"])["record"]["name"], "Desearch");

    let proof_file = cli.path("proof.json");
    write(&proof_file, &cli.run(&["prove", "sn22", "identity"]).stdout);
    let root = second["root"].as_str().unwrap();
    assert_eq!(cli.ok(&["verify", "--root", root, &proof_file])["ok"], true);
    let old_root = first["root"].as_str().unwrap();
    assert!(cli.fails(&["verify", "--root", old_root, &proof_file]).contains("differs from the trusted root"));

    let mut tampered: Value = serde_json::from_str(&std::fs::read_to_string(&proof_file).unwrap()).unwrap();
    tampered["value"] = Value::String(hex_flip(tampered["value"].as_str().unwrap()));
    write(&proof_file, tampered.to_string().as_bytes());
    assert!(cli.fails(&["verify", "--root", root, &proof_file]).contains("does not hold"));

    write(&proof_file, &cli.run(&["prove", "sn22", "endpoint/missing"]).stdout);
    assert_eq!(cli.ok(&["verify", "--root", root, &proof_file])["claim"], "is absent");
    write(&proof_file, &cli.run(&["prove", "sn22", "identity", "--at", "0"]).stdout);
    assert_eq!(cli.ok(&["verify", "--root", genesis["root"].as_str().unwrap(), &proof_file])["claim"], "is absent");

    let deleted = cli.ok(&["delete", "sn22", "identity"]);
    assert_eq!(deleted["version"], 3);
    let history = cli.ok(&["history", "sn22", "identity"]);
    let versions: Vec<u64> = history["history"].as_array().unwrap().iter().map(|entry| entry["version"].as_u64().unwrap()).collect();
    assert_eq!(versions, [1, 2, 3]);
    assert_eq!(history["history"][2]["record"], Value::Null);

    let diff = cli.ok(&["diff", "1", "2"]);
    assert_eq!(diff["changes"][0]["key"], "sn22/identity");
    assert_eq!(diff["changes"][0]["record"]["name"], "Desearch v2");
}

#[test]
fn bad_input_is_refused_with_a_reason_and_changes_nothing() {
    let cli = Cli::new();
    assert!(cli.fails(&["head"]).contains("no ledger at"));
    cli.ok(&["init"]);
    assert!(cli.fails(&["init"]).contains("already exists"));
    let before = cli.head();

    let cases: [(&[&str], &str); 7] = [
        (&["put", "sn22", "identity", "{not json"], "not valid JSON"),
        (&["put", "sn22", "identity", &identity(23, "Desearch")], "netuid 23 in namespace sn22"),
        (&["put", "sn22", "colour", "{}"], "no record type lives at this path"),
        (&["put", "nowhere", "identity", "{}"], "unknown namespace `nowhere`"),
        (&["put", "sn22", "endpoint/search", r#"{"name": "search"}"#], "missing field"),
        (&["delete", "sn22", "identity"], "sn22/identity does not exist"),
        (&["get", "sn22", "identity", "--at", "5"], "version 5 does not exist yet"),
    ];
    for (args, reason) in cases {
        let message = cli.fails(args);
        assert!(message.contains(reason), "{args:?}: expected `{reason}` in `{message}`");
    }
    assert_eq!(cli.head(), before, "refused commands leave the ledger as it was");

    assert!(cli.fails(&["verify", "--root", "abc", "-"]).contains("not a 32-byte hash"));
}

fn hex_flip(hex: &str) -> String {
    let mut bytes = hex.as_bytes().to_vec();
    bytes[0] = if bytes[0] == b'0' { b'1' } else { b'0' };
    String::from_utf8(bytes).unwrap()
}
