//! Settings come from a TOML file, the environment and flags, each overriding the one before.

use crate::common;

use std::process::Command;

fn serve(config: &std::path::Path, env: &[(&str, &str)], flags: &[&str]) -> common::Running {
    let mut command = Command::new(env!("CARGO_BIN_EXE_orchestra"));
    command.arg("--config").arg(config).arg("serve").args(flags).env("ORCHESTRA_TAO_PRICE_URL", "none");
    for variable in ["ORCHESTRA_DATA", "ORCHESTRA_LISTEN", "ORCHESTRA_PRICE_PROOF_RAO", "ORCHESTRA_CONFIG"] {
        command.env_remove(variable);
    }
    command.envs(env.iter().copied());
    common::start(command)
}

fn status(node: &common::Running) -> u16 {
    reqwest::blocking::get(node.url("/v1/entries/sn22/identity")).unwrap().status().as_u16()
}

#[test]
fn flags_beat_the_environment_which_beats_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("orchestra.toml");
    let data = dir.path().join("ledger");
    std::fs::write(&config, format!("data = \"{}\"\nlisten = \"127.0.0.1:0\"\nprice_proof_rao = 1000\n", data.display())).unwrap();

    let from_file = serve(&config, &[], &[]);
    assert_eq!(status(&from_file), 402, "the file's price applies");
    assert!(data.exists(), "the file's data directory is used");
    drop(from_file);

    let from_env = serve(&config, &[("ORCHESTRA_PRICE_PROOF_RAO", "0")], &[]);
    assert_eq!(status(&from_env), 200, "the environment beats the file");
    drop(from_env);

    let from_flag = serve(&config, &[("ORCHESTRA_PRICE_PROOF_RAO", "0")], &["--price-proof-rao", "7"]);
    assert_eq!(status(&from_flag), 402, "a flag beats the environment");
}

#[test]
fn an_unknown_setting_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("orchestra.toml");
    std::fs::write(&config, "listen = \"127.0.0.1:0\"\nprice = 5\n").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_orchestra")).arg("--config").arg(&config).arg("node").output().unwrap();
    assert!(!output.status.success());
    let message = String::from_utf8(output.stderr).unwrap();
    assert!(message.contains("unknown setting `price`") && message.contains("price_proof_rao"), "{message}");
}
