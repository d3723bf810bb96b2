//! Running `orchestra` processes for the tests: a server started on loopback and killed when
//! dropped.

#![allow(dead_code)] // each test crate uses its own part

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// A running `orchestra` server and the base URL it listens on.
pub struct Running {
    pub child: Child,
    pub base: String,
    /// What the process wrote on stderr, kept for the failure message of a test that needs it.
    pub stderr: tempfile::NamedTempFile,
}

impl Running {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// What the server has written to stderr so far.
    pub fn stderr_text(&self) -> String {
        std::fs::read_to_string(self.stderr.path()).unwrap_or_default()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Every variable that holds a genesis subnet's key: tests that need a node without keys remove
/// them from its environment.
pub const KEY_VARIABLES: [&str; 7] = ["DESEARCH_API_KEY", "MACROCOSMOS_API_KEY", "CHUTES_API_KEY", "ORCHESTRA_SN22_KEY", "ORCHESTRA_SN13_KEY", "ORCHESTRA_SN1_KEY", "ORCHESTRA_SN64_KEY"];

/// `orchestra --data DATA`, ready for more arguments.
/// The `orchestra` binary on `data`, reading no TAO price feed: tests call nothing off the
/// machine.
pub fn orchestra(data: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_orchestra"));
    command.arg("--data").arg(data).env("ORCHESTRA_TAO_PRICE_URL", "none");
    command
}

/// Starts a server command and waits for the address it prints (`listening on ADDR`).
pub fn start(mut command: Command) -> Running {
    let stderr = tempfile::NamedTempFile::new().unwrap();
    let mut child = command.env("RUST_LOG", "warn").stdout(Stdio::piped()).stderr(stderr.reopen().unwrap()).spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let Some(address) = line.trim().strip_prefix("listening on ") else {
        let _ = child.wait();
        panic!("the server did not start (first line {line:?}); it said:\n{}", std::fs::read_to_string(stderr.path()).unwrap_or_default());
    };
    Running { base: format!("http://{address}"), child, stderr }
}

/// `orchestra --data DATA serve --listen 127.0.0.1:0 EXTRA...`, started.
pub fn serve(data: &Path, extra: &[&str]) -> Running {
    let mut command = orchestra(data);
    command.args(["serve", "--listen", "127.0.0.1:0"]).args(extra);
    start(command)
}

/// Seeds `data` from the genesis, as a node's first start does, and lists `proposer` in the
/// ledger's proposer set (an operator's local write), so the node admits its diffs.
pub fn seed_with_proposer(data: &Path, proposer: &ledger::hotkey::Hotkey) {
    for args in [vec!["node".to_owned()], vec!["ledger".into(), "put".into(), "proposers".into(), proposer.ss58(), r#"{"label":"a test miner"}"#.into()]] {
        let output = orchestra(data).args(&args).output().unwrap();
        assert!(output.status.success(), "orchestra {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    }
}
