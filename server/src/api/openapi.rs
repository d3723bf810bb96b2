//! The OpenAPI 3.1 document of the API, served at `/openapi.json`. A test walks every path in
//! it against a running server, so a route cannot be listed without existing.

use axum::Json;
use serde_json::{json, Value};

use super::codes::Code;
use super::idempotency;

fn error_responses(codes: &[(&str, &str)]) -> Value {
    let mut responses = serde_json::Map::new();
    for (status, description) in codes {
        responses.insert((*status).to_owned(), json!({ "description": description, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } }));
    }
    Value::Object(responses)
}

fn operation(summary: &str, parameters: Value, ok: &str, errors: &[(&str, &str)]) -> Value {
    let mut responses = error_responses(errors);
    responses["200"] = json!({ "description": ok, "content": { "application/json": { "schema": { "type": "object" } } } });
    json!({ "summary": summary, "parameters": parameters, "responses": responses })
}

fn query(name: &str, required: bool, description: &str) -> Value {
    json!({ "name": name, "in": "query", "required": required, "schema": { "type": "integer", "minimum": 0, "maximum": u64::MAX }, "description": description })
}

/// The x402 payment header a paid read may carry instead of an API key.
fn payment_signature() -> Value {
    json!({ "name": "PAYMENT-SIGNATURE", "in": "header", "required": false, "schema": { "type": "string" }, "description": "x402 `exact` payment: base64 of {accepted, payload: {signedExtrinsic, extrinsicHash, from}, extensions}, the payload a signed, unbroadcast Balances.transfer_keep_alive of the price to payTo; settled only by a node started with --chain-url" })
}

fn path(name: &str, schema: Value, description: &str) -> Value {
    json!({ "name": name, "in": "path", "required": true, "schema": schema, "description": description })
}

/// An SS58 address's shape (its checksum is checked by the node).
const SS58_PATTERN: &str = "^[1-9A-HJ-NP-Za-km-z]{46,48}$";

/// A netuid, 0 to 65535, with or without `sn`.
const NETUID_PATTERN: &str = "(sn)?(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4})";

/// A namespace as the routes take it: a netuid or a system namespace's name.
fn namespace_param() -> Value {
    let pattern = format!("^({NETUID_PATTERN}|validators|pricing|proposers)$");
    path("namespace", json!({ "type": "string", "pattern": pattern }), "`sn22`, `22`, `validators`, `pricing` or `proposers`")
}

/// A path in a namespace: 1 to 255 bytes of UTF-8 without a control character (docs/SPEC.md
/// §2.2). The schema bounds characters; the node counts bytes, so a path of characters beyond
/// ASCII is refused sooner (`bad_key`).
fn key_path_param() -> Value {
    path("path", json!({ "type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[^\\u0000-\\u001f\\u007f-\\u009f]+$" }), "path inside the namespace, e.g. `endpoint/search`: no control character, at most 255 bytes of UTF-8")
}

/// Every route with a JSON body refuses another media type and a body that does not parse
/// into its type.
fn body(summary: &str, schema: &str, ok: &str, errors: &[(&str, &str)]) -> Value {
    let mut operation = operation(summary, json!([]), ok, errors);
    let refusals = error_responses(&[("415", "the body is not sent as application/json (unsupported_media_type)")]);
    for (status, response) in refusals.as_object().expect("responses are an object") {
        operation["responses"][status] = response.clone();
    }
    if operation["responses"].get("422").is_none() {
        operation["responses"]["422"] = json!({ "description": "the body does not parse into the request's type (bad_json)", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } });
    }
    operation["requestBody"] = json!({ "required": true, "content": { "application/json": { "schema": { "$ref": format!("#/components/schemas/{schema}") } } } });
    operation
}

/// The `Idempotency-Key` header of `POST /v1/orchestrate`.
fn idempotency_key() -> Value {
    json!({ "name": "Idempotency-Key", "in": "header", "required": false, "schema": { "type": "string", "minLength": 1, "maxLength": idempotency::MAX_KEY_BYTES, "pattern": "^[!-~]+$" }, "description": "makes a retry safe: the same request sent again with the same key (by the same payer) is run and charged once and gets the first answer, marked `Idempotent-Replayed: true`; answers are kept 24 hours in memory" })
}

/// `POST /v1/orchestrate`.
fn orchestrate() -> Value {
    let mut operation = body(
        "Run an objective across the subnets into a target schema",
        "OrchestrateRequest",
        "`result` (valid against the target schema), `plan`, `calls` (one per subnet call, with status, timing and cost), `receipts` (hash-chained from the nonce, with their Merkle root and the node's sr25519 signature), `cost` (subnet_calls_rao, fee_rao, total_rao), `timings` (total, in calls, overhead, critical path), `synthesis`, `provenance` (every value's citation, docs/SPEC.md §18), `evidence` (the response bodies, when asked), `ledger_version`; paid answers add `payment`",
        &[
            ("400", "malformed request or target schema (bad_request, bad_schema)"),
            ("401", "unknown API key"),
            ("402", "payment required (PAYMENT-REQUIRED header, x402), refused or not settled; or too little credit for the fee and budget (insufficient_credit)"),
            ("403", "the node charges no fee and listens beyond loopback, so it does not orchestrate for free (free_orchestrations_disabled)"),
            ("409", "a request with this Idempotency-Key is still running (idempotency_key_in_use)"),
            ("422", "no plan for the objective (no_plan), the budget ran out (budget_exhausted), no result validated (result_invalid, with `details.violations`), or the target schema requires values no evidence supports (insufficient_evidence, with `details.missing`, their JSON pointers); `details` holds the calls made and their receipts; or the Idempotency-Key was sent with another request (idempotency_key_reused)"),
            ("429", "the node, or this API key, runs its limit of orchestrations (too_many_orchestrations, too_many_orchestrations_for_key); Retry-After says when to try again"),
            ("502", "every subnet able to do a task failed (subnets_failed)"),
            ("503", "no subnet can serve a task: missing API key, or all reported down (unroutable)"),
            ("504", "the deadline passed (deadline_exceeded)"),
        ],
    );
    operation["parameters"] = json!([payment_signature(), hotkey_authorization(), idempotency_key()]);
    operation["responses"]["200"]["content"]["application/json"]["schema"] = json!({ "$ref": "#/components/schemas/OrchestrateAnswer" });
    operation
}

/// The error codes, each with its usual status and meaning (`x-codes`), for clients to map.
fn error_schema() -> Value {
    let names: Vec<&str> = Code::ALL.iter().map(|code| code.as_str()).collect();
    let described: Vec<Value> = Code::ALL.iter().map(|code| json!({ "code": code.as_str(), "status": code.status(), "meaning": code.meaning() })).collect();
    json!({ "type": "object", "required": ["error"], "properties": { "error": { "type": "object", "required": ["code", "message"], "properties": {
        "code": { "type": "string", "enum": names, "x-codes": described },
        "message": { "type": "string" },
        "details": { "description": "structured facts about the error: for an orchestration, what it did before it failed (`plan`, `calls`, `receipts`, `cost`), `violations` when no result validated, `missing` when no evidence supports values the schema requires, and `payment` when it was paid" } } } } })
}

/// What `POST /v1/orchestrate` answers on success.
fn orchestrate_answer() -> Value {
    let hash = json!({ "type": "string", "pattern": "^[0-9a-f]{64}$" });
    let count = json!({ "type": "integer", "minimum": 0 });
    let millis = json!({ "type": "number", "minimum": 0 });
    json!({
        "type": "object",
        "required": ["result", "plan", "calls", "receipts", "cost", "timings", "synthesis", "skipped_tasks", "ledger_version", "ledger_basis"],
        "properties": {
            "result": { "description": "the document, valid against the target schema" },
            "plan": { "type": "object", "required": ["planner", "tasks"], "properties": {
                "planner": { "enum": ["llm", "deterministic"] },
                "tasks": { "type": "array", "items": { "type": "object", "required": ["id", "capability", "query", "required"], "properties": {
                    "id": { "type": "string" }, "capability": { "type": "string" }, "query": { "type": "string" }, "subject": { "type": "string" },
                    "depends_on": { "type": "array", "items": { "type": "string" } },
                    "required": { "type": "boolean", "description": "whether the orchestration fails when this task does; a failed supplementary task is listed in `skipped_tasks`" } } } },
                "fallback_reason": { "type": "string" } } },
            "calls": { "type": "array", "items": { "type": "object", "required": ["task", "subnet", "endpoint", "attempt", "status", "outcome", "started_ms", "offset_ms", "duration_ms", "cost_rao"], "properties": {
                "task": { "type": "string" }, "subnet": count, "endpoint": { "type": "string" }, "attempt": { "type": "integer", "minimum": 1 },
                "status": { "type": "integer", "minimum": 0, "maximum": 999, "description": "the subnet's HTTP status; 0 when no response came" },
                "outcome": { "enum": ["ok", "retryable", "failed"] }, "error": { "type": "string" },
                "started_ms": count, "offset_ms": millis, "duration_ms": millis, "cost_rao": count, "cost_usd_micros": count } } },
            "receipts": { "type": "object", "description": "docs/SPEC.md §15", "required": ["format", "nonce", "receipts", "root", "miner", "signature"], "properties": {
                "format": { "const": orchestrator::receipts::FORMAT }, "nonce": hash, "root": hash, "miner": { "type": "string" },
                "signature": { "type": "string", "pattern": "^0x[0-9a-f]{128}$" },
                "receipts": { "type": "array", "items": { "type": "object", "required": ["index", "call", "previous"], "properties": {
                    "index": count, "previous": hash,
                    "call": { "type": "object", "required": ["subnet", "endpoint", "request_hash", "response_hash", "status", "started_ms", "duration_ms", "cost_rao", "cost_usd_micros", "cost_evidence_hash"], "properties": {
                        "subnet": count, "endpoint": { "type": "string" }, "request_hash": hash, "response_hash": hash, "status": count, "started_ms": count, "duration_ms": count, "cost_rao": count,
                        "cost_usd_micros": count, "cost_evidence_hash": hash } } } } } } },
            "cost": { "type": "object", "required": ["subnet_calls_rao", "fee_rao", "total_rao", "tao_price"], "properties": { "subnet_calls_rao": count, "fee_rao": count, "total_rao": count, "budget_rao": count,
                "tao_price": { "type": "object", "description": "the TAO price dollar prices were converted at, and its source: a feed and when it was read, or the static price and why", "required": ["usd", "source"], "properties": { "usd": { "type": "number" }, "source": { "type": "string" } } } } },
            "timings": { "type": "object", "required": ["total_ms", "plan_ms", "execute_ms", "synthesis_ms", "in_calls_ms", "overhead_ms", "critical_path_ms"], "properties": {
                "total_ms": millis, "plan_ms": millis, "execute_ms": millis, "synthesis_ms": millis, "in_calls_ms": millis, "overhead_ms": millis, "critical_path_ms": millis } },
            "synthesis": { "type": "object", "required": ["method", "attempts"], "properties": { "method": { "enum": ["llm", "deterministic"] }, "attempts": count, "fallback_reason": { "type": "string" } } },
            "provenance": { "type": "object", "description": "docs/SPEC.md §18: each leaf's citation, by JSON pointer", "required": ["format", "leaves"], "properties": {
                "format": { "const": orchestrator::provenance::FORMAT },
                "leaves": { "type": "object", "additionalProperties": { "type": "object", "minProperties": 1, "maxProperties": 1, "properties": {
                    "extract": { "type": "object", "required": ["receipt", "at"], "properties": { "receipt": count, "at": { "type": "string" } } },
                    "quote": { "type": "object", "required": ["receipt", "at", "text"], "properties": { "receipt": count, "at": { "type": "string" }, "text": { "type": "string" } } },
                    "objective": { "type": "object", "required": ["text"], "properties": { "text": { "type": "string" } } },
                    "derived": { "type": "object", "required": ["rule", "from"], "properties": { "rule": { "enum": ["median", "min", "max", "count"] }, "from": { "type": "array", "items": { "type": "string" } } } } } } } } },
            "evidence": { "type": "array", "description": "the responses of the calls that got one, by receipt: the body, the headers its cost was read from (hashing to the receipt's cost_evidence_hash), and the request (hashing to its request_hash)", "items": { "type": "object", "required": ["receipt", "base64", "cost_headers", "request"], "properties": { "receipt": count, "base64": { "type": "string" }, "request": { "type": "string", "description": "the request as the receipt's request_hash covers it (METHOD URL, a newline, the body), base64" },
                "cost_headers": { "type": "array", "items": { "type": "array", "prefixItems": [{ "type": "string" }, { "type": "string" }], "minItems": 2, "maxItems": 2 } } } } },
            "skipped_tasks": { "type": "array", "items": { "type": "object", "required": ["task", "capability", "reason"], "properties": { "task": { "type": "string" }, "capability": { "type": "string" }, "reason": { "type": "string" } } } },
            "ledger_version": count,
            "ledger_basis": { "enum": ["head", "final"] },
            "payment": { "type": "object", "description": "present when the run was paid", "required": ["cost_rao", "balance_rao"], "properties": {
                "cost_rao": count, "balance_rao": count, "transaction": { "type": "string" }, "paid_rao": count, "credit_of": { "type": "string" } } }
        }
    })
}

/// Paying from a hotkey's credit: `Authorization: Hotkey` with the Epistula headers.
fn hotkey_authorization() -> Value {
    json!({ "name": "Authorization", "in": "header", "required": false, "schema": { "type": "string" }, "description": "`Bearer <API key>`, or `Hotkey` with Epistula v2 headers (Epistula-Version, -Timestamp, -Uuid, -Signed-By, -Request-Signature) and Epistula-Signed-For the node's hotkey, signed by a hotkey whose exact payment left it credit; each signature is accepted once" })
}

/// `POST /v1/diffs`: applied (200) or, on a ledger with validators, waiting for them (202).
fn proposal_body(errors: &[(&str, &str)]) -> Value {
    let mut operation = body("Propose a signed diff", "SignedDiff", "applied: the checkpoint it made (a ledger without validators, or the admin's diff)", errors);
    operation["responses"]["202"] = json!({ "description": "waiting in the pool until validators holding two thirds of the stake approve it: its id (`proposal`)", "content": { "application/json": { "schema": { "type": "object", "required": ["proposal", "status"], "properties": { "proposal": { "type": "string" }, "status": { "const": "pending" } } } } } });
    operation
}

pub fn spec() -> Value {
    let bad = ("400", "malformed request");
    let missing = ("404", "unknown version, key or subnet");
    let pruned = ("410", "the version has been pruned");
    let key_params = json!([namespace_param(), key_path_param()]);
    json!({
        "openapi": "3.1.0",
        "info": { "title": "Orchestra ledger node", "version": env!("CARGO_PKG_VERSION"), "description": "The Subnet Ledger: what every Bittensor subnet accepts and returns, Merkle-committed and versioned. Proofs verify against a state root as docs/SPEC.md describes." },
        "paths": {
            "/v1/health": { "get": operation("Liveness and the head version", json!([]), "the node is up", &[]) },
            "/v1/head": { "get": operation("The latest checkpoint and the latest final one", json!([]), "head and finality", &[]) },
            "/v1/checkpoints": { "get": operation("Checkpoints from..=to (the latest hundred by default)", json!([query("from", false, "first version"), query("to", false, "last version")]), "checkpoints oldest first", &[bad, missing, pruned]) },
            "/v1/subnets": { "get": operation("Every subnet with its identity", json!([]), "subnets", &[]) },
            "/v1/subnets/{netuid}": { "get": operation("One subnet's records", json!([path("netuid", json!({ "type": "string", "pattern": format!("^{NETUID_PATTERN}$") }), "subnet number, e.g. `22` or `sn22`")]), "the subnet's records by path", &[bad, missing]) },
            "/v1/entries/{namespace}/{path}": { "get": operation("An entry's value or absence, with a proof", { let mut p = key_params.clone(); p.as_array_mut().unwrap().extend([query("version", false, "version to read; by default the version reads of the current ledger use (`reading`: the head, or the latest final checkpoint on a ledger with validators)"), payment_signature(), hotkey_authorization()]); p }, "value, record and proof, and without `version` the `reading` it was read at and why; a paid answer adds `payment`: its cost (also in x-orchestra-cost-rao) and, paid by API key or hotkey credit, the balance left (x-orchestra-balance-rao) or, paid on-chain, the settled transaction (PAYMENT-RESPONSE header, x402; the answer is kept at /v1/payments/{hash})", &[("400", "malformed request, or a malformed PAYMENT-SIGNATURE (bad_payment)"), ("401", "unknown API key, or a hotkey signature that does not verify or was used before (bad_signature, replayed_request)"), ("402", "payment required, refused (payment_invalid: wrong payee or amount, expired, used, stale nonce, unfunded) or not settled (settlement_failed), with the PAYMENT-REQUIRED header (x402); or credit short of the price plus what orchestrations hold (insufficient_credit)"), missing, pruned, ("429", "too many proofs at older versions are being built (historical_proofs_busy)"), ("502", "the chain node did not answer while verifying a payment (chain_unavailable)")]) },
            "/v1/history/{namespace}/{path}": { "get": operation("The latest kept versions of a key (at most 1000; `truncated` says when there were more)", key_params.clone(), "versions oldest first", &[bad]) },
            "/v1/diff": { "get": operation("The changes from one version to another (at most 1000 versions apart)", json!([query("from", true, "older version"), query("to", false, "newer version; the head by default")]), "changed keys with their new records", &[("400", "malformed request, or a range longer than 1000 versions (range_too_long)"), missing, pruned]) },
            "/v1/diffs": { "post": proposal_body(&[bad, ("401", "bad signature"), ("403", "the proposer is not known (unknown_proposer: neither registered on the subnet nor in the proposer set), or only the admin changes the validator and proposer sets (not_admin)"), ("409", "conflict or stale base"), ("413", "too large"), ("422", "invalid record or empty diff"), ("429", "the proposer has used its quota of diffs or bytes (proposer_over_quota; Retry-After says when it may again), or the pool holds its limit of waiting proposals (proposals_full)")]) },
            "/v1/proposals": { "get": operation("The proposals waiting for the validators' approval (at most 1024): id, proposer, base, size, when taken, who approved", json!([]), "the waiting proposals", &[]) },
            "/v1/proposals/{id}": { "get": operation("One waiting proposal with its signed diff and approvals", json!([path("id", json!({ "type": "string", "pattern": "^(0x)?[0-9a-fA-F]{64}$" }), "the proposal's id, 64 hex digits")]), "the proposal", &[("400", "not a 32-byte hex id"), ("404", "no such proposal is waiting (unknown_proposal)")]) },
            "/v1/approvals": { "post": body("Approve a waiting proposal (a validator of the head's set); the proposal is applied once validators holding two thirds of the stake approved it", "Approval", "whether it was recorded, and the proposal's status: pending, applied (with the checkpoint) or dropped (with why: it no longer applies)", &[bad, ("401", "bad signature"), ("403", "not a validator of the head's set (not_a_validator)"), ("404", "no such proposal is waiting (unknown_proposal)")]) },
            "/v1/attestations": { "post": body("Attest a checkpoint", "Attestation", "whether it was recorded and the checkpoint is final", &[bad, ("401", "bad signature"), ("403", "not a validator of that version"), missing, ("409", "another checkpoint")]) },
            "/v1/changes": { "get": operation("Versions after `since`, with their changes and attestations, for replicas", json!([query("since", true, "last version the replica holds"), query("limit", false, "most versions to return; 100 by default, taken as 1 to 500")]), "versions in order", &[bad, pruned]) },
            "/v1/snapshot": { "get": { "summary": "A snapshot of a kept version, streamed", "parameters": [query("version", false, "version; the head by default")], "responses": { "200": { "description": "the snapshot file", "content": { "application/octet-stream": { "schema": { "type": "string", "format": "binary" } } } }, "400": { "description": "a version that is not a number (bad_query)" }, "404": { "description": "unknown version" }, "410": { "description": "pruned" } } } },
            "/v1/orchestrate": { "post": orchestrate() },
            "/v1/served": { "post": body("On a miner: which of these subnet answers (blake3 of their response_hash) its node received for customers since a time (docs/SPEC.md §18.5); Epistula-signed by a validator of the subnet, answered signed for it", "ServedQuery", "`held`: the response_hashes of the answers asked about that the node's served log holds", &[("400", "malformed query, or more than 1024 bodies (bad_request)"), ("401", "no Epistula signature, a bad one, or one used before (bad_signature, replayed_request)"), ("403", "the signer holds no validator permit on the subnet (not_a_validator)"), ("404", "the node is not a miner of the subnet: it keeps no served log (not_found)")]) },
            "/v1/payments/{hash}": { "get": operation("What a settled exact payment of a read paid for, fetched again by its extrinsic hash", json!([path("hash", json!({ "type": "string", "pattern": "^(0x)?[0-9a-fA-F]{64}$" }), "the extrinsic hash, 64 hex digits, `0x` or not")]), "the answer as it was first sent", &[("400", "not a 32-byte hex hash"), ("404", "no such payment was accepted (unknown_payment)"), ("409", "accepted, but no answer is kept: settling, or it paid an orchestration (no_answer_kept)")]) },
            "/openapi.json": { "get": operation("This document", json!([]), "OpenAPI 3.1", &[]) },
            "/metrics": { "get": { "summary": "Prometheus metrics: requests by route and status, the ledger's head, final version and size", "responses": { "200": { "description": "text exposition format", "content": { "text/plain": { "schema": { "type": "string" } } } } } } },
            "/": { "get": { "summary": "The explorer page", "responses": { "200": { "description": "an HTML page that reads this API", "content": { "text/html": { "schema": { "type": "string" } } } } } } }
        },
        "components": { "schemas": {
            "Error": error_schema(),
            "OrchestrateAnswer": orchestrate_answer(),
            "SignedDiff": { "type": "object", "required": ["proposal", "signature"], "properties": {
                "proposal": { "type": "object", "required": ["base_version", "base_root", "changes", "proposer"], "properties": {
                    "base_version": { "type": "integer", "minimum": 0 }, "base_root": { "type": "string", "pattern": "^[0-9a-f]{64}$" }, "proposer": { "type": "string", "pattern": SS58_PATTERN, "description": "SS58 hotkey" },
                    "changes": { "type": "array", "minItems": 1, "items": { "type": "object", "required": ["key", "value"], "properties": {
                        "key": { "type": "object", "required": ["namespace", "path"], "properties": { "namespace": { "type": "integer", "minimum": 0 }, "path": { "type": "string", "minLength": 1, "maxLength": 255 } } },
                        "value": { "type": ["string", "null"], "pattern": "^([0-9a-f]{2})*$", "description": "hex of the canonical record; null deletes" } } } } } },
                "signature": { "type": "string", "pattern": "^0x[0-9a-fA-F]{128}$", "description": "0x-prefixed sr25519 signature over DIFF_DOMAIN || canonical(proposal)" } } },
            "OrchestrateRequest": { "type": "object", "required": ["objective", "target_schema"], "additionalProperties": false, "properties": {
                "objective": { "type": "string", "minLength": 1, "maxLength": 4000, "pattern": "\\S", "description": "what to find out or do, in plain words (at most 4000 bytes)" },
                "target_schema": { "type": "object", "description": "the result's shape: full JSON Schema, or the compact form such as {\"papers\": [{\"title\": \"str\"}]}" },
                "budget_rao": { "type": "integer", "minimum": 0, "description": "most the subnet calls may cost; with an API key, the whole balance when absent" },
                "deadline_ms": { "type": "integer", "minimum": 1, "description": "time allowed; the node's default (60 s) when absent" },
                "nonce": { "type": "string", "pattern": "^[0-9a-f]{64}$", "description": "the caller's challenge, which the receipts chain from" },
                "include_evidence": { "type": "boolean", "description": "whether the answer carries the response bodies the result's citations point into (`evidence`)" } } },
            "ServedQuery": { "type": "object", "required": ["since_ms", "keys"], "additionalProperties": false, "properties": {
                "since_ms": { "type": "integer", "minimum": 0, "maximum": u64::MAX, "description": "Unix milliseconds; orchestrations that ended earlier are not searched" },
                "keys": { "type": "array", "maxItems": subnet::served::MAX_QUERY_KEYS, "items": { "type": "string", "pattern": "^[0-9a-f]{64}$" }, "description": "the answers asked about, each as blake3 of its response_hash, hex" } } },
            "Approval": { "type": "object", "required": ["proposal", "validator", "signature"], "properties": {
                "proposal": { "type": "string", "pattern": "^(0x)?[0-9a-fA-F]{64}$", "description": "the proposal's id" },
                "validator": { "type": "string", "pattern": SS58_PATTERN, "description": "the validator's SS58 hotkey" },
                "signature": { "type": "string", "pattern": "^0x[0-9a-fA-F]{128}$", "description": "0x-prefixed sr25519 signature over APPROVAL_DOMAIN || id" } } },
            "Attestation": { "type": "object", "required": ["version", "checkpoint", "validator", "signature"], "properties": {
                "version": { "type": "integer", "minimum": 0 }, "checkpoint": { "type": "string", "pattern": "^(0x)?[0-9a-fA-F]{64}$" },
                "validator": { "type": "string", "pattern": SS58_PATTERN, "description": "the validator's SS58 hotkey" },
                "signature": { "type": "string", "pattern": "^0x[0-9a-fA-F]{128}$" } } }
        } }
    })
}

pub async fn document() -> Json<Value> {
    Json(spec())
}
