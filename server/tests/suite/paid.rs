//! Paid proof-carrying reads over real HTTP: without payment a 402 says how to pay (x402
//! `PAYMENT-REQUIRED`); an API key with prepaid credits pays, each answer stating its cost
//! and the balance left; a short balance, an unknown key or a failed read is never charged.

use crate::common;

use std::path::Path;

use base64::Engine;
use ledger::hotkey::Hotkey;
use ledger::{Hash, Proven};
use reqwest::blocking::{Client, Response};
use reqwest::StatusCode;
use serde_json::Value;

fn orchestra(data: &Path, args: &[&str]) -> Value {
    let output = common::orchestra(data).args(args).output().unwrap();
    assert!(output.status.success(), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap()
}

fn read(base: &str, path: &str, key: Option<&str>) -> Response {
    let request = Client::new().get(format!("{base}{path}"));
    let request = match key {
        Some(key) => request.bearer_auth(key),
        None => request,
    };
    request.send().unwrap()
}

fn header(response: &Response, name: &str) -> Option<String> {
    response.headers().get(name).map(|value| value.to_str().unwrap().to_owned())
}

#[test]
fn proof_reads_are_paid_for_and_never_charged_twice_or_wrongly() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("ledger");
    orchestra(&data, &["node"]);
    let api_key = orchestra(&data, &["credits", "issue", "--rao", "2500"])["api_key"].as_str().unwrap().to_owned();
    let pay_to = Hotkey::from_seed(&[11; 32]).unwrap().ss58();
    let node = common::serve(&data, &["--price-proof-rao", "1000", "--pay-to", &pay_to]);
    let base = node.base.clone();
    let path = "/v1/entries/sn22/identity";

    let unpaid = read(&base, path, None);
    assert_eq!(unpaid.status(), StatusCode::PAYMENT_REQUIRED);
    let requirement = base64::engine::general_purpose::STANDARD.decode(header(&unpaid, "payment-required").unwrap()).unwrap();
    let requirement: Value = serde_json::from_slice(&requirement).unwrap();
    assert_eq!(requirement["x402Version"], 2);
    assert_eq!(requirement["accepts"][0]["scheme"], "exact");
    assert_eq!(requirement["accepts"][0]["amount"], "1000");
    assert_eq!(requirement["accepts"][0]["payTo"], pay_to);
    assert_eq!(requirement["resource"]["url"], path);

    let failed = read(&base, "/v1/entries/nowhere/identity", Some(&api_key));
    assert_eq!(failed.status(), StatusCode::BAD_REQUEST, "a failed read is refused before any charge");

    let paid = read(&base, path, Some(&api_key));
    assert_eq!(paid.status(), StatusCode::OK);
    assert_eq!((header(&paid, "x-orchestra-cost-rao").as_deref(), header(&paid, "x-orchestra-balance-rao").as_deref()), (Some("1000"), Some("1500")));
    let body: Value = paid.json().unwrap();
    assert_eq!(body["payment"]["balance_rao"], 1500);
    let head: Value = Client::new().get(format!("{base}/v1/head")).send().unwrap().json().unwrap();
    let proven: Proven = serde_json::from_value(body).unwrap();
    ledger::verify(&Hash::from_hex(head["root"].as_str().unwrap()).unwrap(), &proven.key, proven.value.as_deref(), &proven.proof).unwrap();

    let second = read(&base, path, Some(&api_key));
    assert_eq!(header(&second, "x-orchestra-balance-rao").as_deref(), Some("500"));
    let short = read(&base, path, Some(&api_key));
    assert_eq!(short.status(), StatusCode::PAYMENT_REQUIRED);
    let message: Value = short.json().unwrap();
    assert_eq!(message["error"]["code"], "insufficient_credit");
    assert!(message["error"]["message"].as_str().unwrap().contains("500 rao are left"), "{message}");

    let stranger = read(&base, path, Some("ok_0000"));
    assert_eq!(stranger.status(), StatusCode::UNAUTHORIZED);
    let onchain = Client::new().get(format!("{base}{path}")).header("PAYMENT-SIGNATURE", "e30=").send().unwrap();
    assert_eq!(onchain.status(), StatusCode::PAYMENT_REQUIRED);
}
