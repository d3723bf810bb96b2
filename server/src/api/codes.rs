//! Every error code the API answers with, in one list: the OpenAPI document's `Error` schema
//! enumerates it, so clients can have one exception per code and a test can hold them to it.
//!
//! Terms:
//! - **code**: a stable, machine-readable name for what went wrong, sent as
//!   `{"error": {"code": ...}}`; it never changes meaning once published.
//! - **status**: the HTTP status the code is usually answered with. A few codes come with
//!   another status where the route says so (`bad_signature` is 401 on a read and 403 nowhere).

/// Declares [`Code`] with its wire name, usual status and meaning.
macro_rules! codes {
    ($($variant:ident = $name:literal, $status:literal, $meaning:literal;)*) => {
        /// An error code of the API; see the module documentation.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Code {
            $($variant,)*
        }

        impl Code {
            /// Every code, in the order of the list.
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            /// The name sent on the wire.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Code::$variant => $name,)*
                }
            }

            /// The HTTP status the code is usually answered with.
            pub fn status(self) -> u16 {
                match self {
                    $(Code::$variant => $status,)*
                }
            }

            /// What the code means, for people.
            pub fn meaning(self) -> &'static str {
                match self {
                    $(Code::$variant => $meaning,)*
                }
            }
        }
    };
}

codes! {
    BadRequest = "bad_request", 400, "the request is malformed: a field, a value or the body is not what the route takes";
    BadJson = "bad_json", 400, "the body is not the JSON the route takes";
    BadQuery = "bad_query", 400, "the query string does not parse";
    BadKey = "bad_key", 400, "a namespace or path is not a ledger key";
    BadRange = "bad_range", 400, "a version range ends before it starts";
    BadSchema = "bad_schema", 400, "the target schema is refused";
    BadPayment = "bad_payment", 400, "the PAYMENT-SIGNATURE header does not decode";
    RangeTooLong = "range_too_long", 400, "a version range is longer than the node serves at once";
    BadSignature = "bad_signature", 401, "a signature does not verify";
    UnknownApiKey = "unknown_api_key", 401, "the API key is not known to this node";
    ReplayedRequest = "replayed_request", 401, "this signed request was already served";
    InsufficientCredit = "insufficient_credit", 402, "the account cannot cover the price, the fee or the budget";
    DailyCapReached = "daily_cap_reached", 402, "the API key has spent what its daily cap allows today; it may spend again after 00:00 UTC";
    PaymentRequired = "payment_required", 402, "the route is paid and the request carries no payment it takes";
    PaymentInvalid = "payment_invalid", 402, "the payment does not pay for this request (amount, recipient, network, nonce or balance)";
    SettlementFailed = "settlement_failed", 402, "the payment could not be settled on chain";
    BudgetExhausted = "budget_exhausted", 422, "the run spent its budget before it could finish";
    NotAdmin = "not_admin", 403, "the change needs the validator set's admin";
    UnknownProposer = "unknown_proposer", 403, "the diff's signer is not a proposer this ledger knows";
    NotAValidator = "not_a_validator", 403, "the signer is not a validator of the subnet or ledger";
    FreeOrchestrationsDisabled = "free_orchestrations_disabled", 403, "the node does not orchestrate for free";
    NotFound = "not_found", 404, "no such version, key, subnet or record";
    UnknownVersion = "unknown_version", 404, "the ledger has no such version";
    UnknownPayment = "unknown_payment", 404, "no payment with this extrinsic hash was accepted here";
    UnknownProposal = "unknown_proposal", 404, "no proposal with this id is waiting for approval";
    NoRoute = "no_route", 404, "no such route";
    Pruned = "pruned", 410, "the version has been pruned";
    Conflict = "conflict", 409, "the diff's base no longer matches the keys it changes";
    BadBase = "bad_base", 409, "the diff's base version is in the future or its root does not match";
    NotProposed = "not_proposed", 409, "an attestation names a version no proposer wrote";
    WrongCheckpoint = "wrong_checkpoint", 409, "the attestation is for another checkpoint than the ledger's at that version";
    IdempotencyKeyInUse = "idempotency_key_in_use", 409, "a request with this Idempotency-Key is still running";
    NoAnswerKept = "no_answer_kept", 409, "the payment was accepted, but no answer is kept for it";
    ReadOnlyReplica = "read_only_replica", 409, "a replica does not take writes; send them to its primary";
    ValueTooLarge = "value_too_large", 413, "a record is larger than the ledger stores";
    DiffTooLarge = "diff_too_large", 413, "a diff has too many changes or bytes";
    BodyTooLarge = "body_too_large", 413, "the body is larger than the route takes";
    UnsupportedMediaType = "unsupported_media_type", 415, "the body is not sent as application/json";
    EmptyChange = "empty_change", 422, "the change would change nothing";
    InvalidRecord = "invalid_record", 422, "a record does not check against its path's type";
    IdempotencyKeyReused = "idempotency_key_reused", 422, "this Idempotency-Key was sent with another request";
    NoPlan = "no_plan", 422, "no plan can be made for the objective with the capabilities on offer";
    ResultInvalid = "result_invalid", 422, "no result validated against the target schema";
    InsufficientEvidence = "insufficient_evidence", 422, "the target schema requires values no evidence supports";
    ProposerOverQuota = "proposer_over_quota", 429, "the proposer has used its quota of diffs or bytes for the hour";
    TooManyOrchestrations = "too_many_orchestrations", 429, "the node runs its limit of orchestrations";
    TooManyOrchestrationsForKey = "too_many_orchestrations_for_key", 429, "this API key runs its limit of orchestrations";
    SettlementsBusy = "settlements_busy", 429, "the node is settling its limit of payments";
    SnapshotsBusy = "snapshots_busy", 429, "the node is exporting its limit of snapshots";
    HistoricalProofsBusy = "historical_proofs_busy", 429, "the node is building its limit of proofs at old versions";
    ProposalsFull = "proposals_full", 429, "the node holds its limit of proposals waiting for approval, in all or from this proposer";
    Internal = "internal", 500, "the node failed; its log says why";
    SubnetsFailed = "subnets_failed", 502, "every subnet able to do a required task failed";
    ChainUnavailable = "chain_unavailable", 502, "the chain could not be reached";
    OrchestrationDisabled = "orchestration_disabled", 503, "this node does not orchestrate";
    Unroutable = "unroutable", 503, "no subnet can serve a required task";
    DeadlineExceeded = "deadline_exceeded", 504, "the deadline passed before the run finished";
}

impl std::fmt::Display for Code {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::Code;

    #[test]
    fn names_are_unique_snake_case() {
        let mut seen = std::collections::BTreeSet::new();
        for code in Code::ALL {
            let name = code.as_str();
            assert!(name.chars().all(|character| character.is_ascii_lowercase() || character.is_ascii_digit() || character == '_'), "{name}");
            assert!(seen.insert(name), "{name} is listed twice");
            assert!((400..600).contains(&code.status()), "{name}");
        }
    }
}
