//! How the ledger's values look in JSON, the same for the CLI and the HTTP API.

use ledger::record::Record;
use ledger::{Checkpoint, Key, Ledger, Proven};
use serde_json::{json, Value};

pub fn checkpoint(checkpoint: &Checkpoint) -> Value {
    json!({
        "version": checkpoint.version,
        "root": checkpoint.state_root,
        "checkpoint": checkpoint.hash(),
        "parent": checkpoint.parent,
        "diff_hash": checkpoint.diff_hash,
        "time_ms": checkpoint.time_ms,
    })
}

/// The head and the latest final checkpoint, as every read of the head reports them.
pub fn head(ledger: &Ledger) -> ledger::Result<Value> {
    let finality = ledger.finality()?;
    let mut head = checkpoint(&finality.latest);
    head["oldest_version"] = json!(ledger.oldest_version());
    head["final"] = finality.latest_final.as_ref().map_or(Value::Null, checkpoint);
    head["reading"] = reading(&ledger.reading()?);
    Ok(head)
}

/// Which version reads of the current ledger use, and why (see `ledger::Reading`).
pub fn reading(reading: &ledger::Reading) -> Value {
    json!({ "version": reading.version, "basis": reading.basis, "why": reading.basis.explain() })
}

/// A stored record as JSON; bytes that are not a valid record show as hex.
pub fn record(key: &Key, value: &[u8]) -> Value {
    match Record::decode(key, value) {
        Ok(record) => serde_json::to_value(record).expect("records serialise to JSON"),
        Err(_) => json!({ "raw_hex": hex::encode(value) }),
    }
}

/// A proven value: the proof as `ledger verify` reads it, plus the decoded record.
pub fn proven(proven: &Proven) -> Value {
    let mut value = serde_json::to_value(proven).expect("proofs serialise to JSON");
    value["record"] = proven.value.as_deref().map_or(Value::Null, |bytes| record(&proven.key, bytes));
    value
}
