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
}

impl Running {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `orchestra --data DATA`, ready for more arguments.
pub fn orchestra(data: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_orchestra"));
    command.arg("--data").arg(data);
    command
}

/// Starts a server command and waits for the address it prints (`listening on ADDR`).
pub fn start(mut command: Command) -> Running {
    let mut child = command.env("RUST_LOG", "warn").stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let address = line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("unexpected first line {line:?}"));
    Running { base: format!("http://{address}"), child }
}

/// `orchestra --data DATA serve --listen 127.0.0.1:0 EXTRA...`, started.
pub fn serve(data: &Path, extra: &[&str]) -> Running {
    let mut command = orchestra(data);
    command.args(["serve", "--listen", "127.0.0.1:0"]).args(extra);
    start(command)
}
