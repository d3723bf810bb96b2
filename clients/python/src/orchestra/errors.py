"""Errors the client raises: one class per error code the node can send, under one class per
HTTP status, under :class:`OrchestraError`.

Terms:
- **status**: the HTTP status of the node's answer, or ``None`` when there was no answer.
- **code**: a stable, machine-readable name for what went wrong, as the node sends it in
  ``{"error": {"code": ...}}``; the node's OpenAPI document lists every one (the ``Error``
  schema), and :data:`ERRORS` maps each to its class. The client has codes of its own for
  failures without an answer from the node: ``unreachable``, ``timeout``,
  ``malformed_response``, ``receipts_invalid``, and ``http_<status>`` for an error status
  without an Orchestra body (a proxy's page, say).
- **details**: whatever structured data the node attached: for an orchestration, what it did
  before failing (``plan``, ``calls``, ``receipts``, ``cost``), ``violations`` when no result
  validated, ``payment`` when it was paid.
- **violation**: one way a document fails its schema, ``{"path": ..., "message": ...}``, where
  ``path`` is the JSON pointer of the offending value (``/papers/0/title``).

Catch a status class (``except RateLimited``) to handle a family, a code class (``except
InsufficientCredit``) for one case, or :class:`OrchestraError` for all.
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Type


class OrchestraError(Exception):
    """A request to the node failed; see the module documentation for the terms.

    ``retry_after`` is the number of seconds the node's ``Retry-After`` header asked for, if any.
    """

    code_name: Optional[str] = None

    def __init__(self, status: Optional[int], code: str, message: str, details: Any = None, retry_after: Optional[float] = None) -> None:
        prefix = code if status is None else f"HTTP {status} {code}"
        super().__init__(f"{prefix}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.retry_after = retry_after


# The client's own failures, with no answer from the node.


class Unreachable(OrchestraError):
    """No connection to the node."""


class Timeout(OrchestraError):
    """Connected, but no complete answer within the client's timeout; the node may still run, and
    charge for, the request (retry it with the same ``idempotency_key`` to get its answer)."""


class MalformedResponse(OrchestraError):
    """An answer that is not the contract's JSON."""


class ProvenanceInvalid(OrchestraError):
    """The result's citations do not hold (docs/SPEC.md section 18); ``check`` names the check
    that failed (``unknown_format``, ``not_a_leaf``, ``uncited``, ``no_body``, ``unsupported``, or
    ``body_mismatch`` for a body that does not hash to its receipt) and ``leaf`` the value."""

    def __init__(self, check: str, leaf: Optional[str], message: str) -> None:
        super().__init__(None, "provenance_invalid", message, {"check": check, "leaf": leaf})
        self.check = check
        self.leaf = leaf


class ReceiptsInvalid(OrchestraError):
    """The answer's receipts do not verify (docs/SPEC.md section 15); ``check`` names the check
    that failed: ``unknown_format``, ``wrong_nonce``, ``index_mismatch``, ``broken_link``,
    ``root_mismatch``, ``bad_signature``, ``wrong_miner`` or ``malformed``."""

    def __init__(self, check: str, message: str) -> None:
        super().__init__(None, "receipts_invalid", message, {"check": check})
        self.check = check


class SchemaError(ValueError):
    """A target schema the client cannot turn into a model.

    ``path`` says where: a field path like ``competitors[0].pricing`` in the compact form
    (``""`` is the root), a JSON pointer fragment like ``#/properties/pricing`` in the full form.
    """

    def __init__(self, path: str, message: str) -> None:
        super().__init__(message)
        self.path = path


# One class per HTTP status the node answers errors with.


class BadRequest(OrchestraError):
    """HTTP 400: the request is malformed."""


class AuthenticationError(OrchestraError):
    """HTTP 401: the caller is not who it must be: an unknown API key, a bad or replayed signature."""


class PaymentRequired(OrchestraError):
    """HTTP 402: the request must be paid, or paid more."""


class PermissionDenied(OrchestraError):
    """HTTP 403: the caller may not do this."""


class NotFound(OrchestraError):
    """HTTP 404: no such thing."""


class Conflict(OrchestraError):
    """HTTP 409: the request conflicts with the node's state."""


class Gone(OrchestraError):
    """HTTP 410: the version has been pruned."""


class PayloadTooLarge(OrchestraError):
    """HTTP 413: the request, or what it writes, is too large."""


class UnsupportedMediaType(OrchestraError):
    """HTTP 415: the body is not sent as application/json."""


class Unprocessable(OrchestraError):
    """HTTP 422: the request is well formed but cannot be carried out."""


class RateLimited(OrchestraError):
    """HTTP 429: the node or the caller is at a limit; ``retry_after`` says when to try again."""


class InternalServerError(OrchestraError):
    """HTTP 500: the node failed."""


class BadGateway(OrchestraError):
    """HTTP 502: what the node depends on (subnets, the chain) failed."""


class ServiceUnavailable(OrchestraError):
    """HTTP 503: the node cannot serve this now."""


class GatewayTimeout(OrchestraError):
    """HTTP 504: the deadline passed."""


# One class per code, under its usual status.


class BadRequestError(BadRequest):
    """``bad_request``: the request is malformed: a field, a value or the body is not what the route takes."""

    code_name = "bad_request"


class BadJson(BadRequest):
    """``bad_json``: the body is not the JSON the route takes."""

    code_name = "bad_json"


class BadQuery(BadRequest):
    """``bad_query``: the query string does not parse."""

    code_name = "bad_query"


class BadKey(BadRequest):
    """``bad_key``: a namespace or path is not a ledger key."""

    code_name = "bad_key"


class BadRange(BadRequest):
    """``bad_range``: a version range ends before it starts."""

    code_name = "bad_range"


class BadSchema(BadRequest):
    """``bad_schema``: the target schema is refused."""

    code_name = "bad_schema"


class BadPayment(BadRequest):
    """``bad_payment``: the PAYMENT-SIGNATURE header does not decode."""

    code_name = "bad_payment"


class RangeTooLong(BadRequest):
    """``range_too_long``: a version range is longer than the node serves at once."""

    code_name = "range_too_long"


class BadSignature(AuthenticationError):
    """``bad_signature``: a signature does not verify."""

    code_name = "bad_signature"


class UnknownApiKey(AuthenticationError):
    """``unknown_api_key``: the API key is not known to this node."""

    code_name = "unknown_api_key"


class ReplayedRequest(AuthenticationError):
    """``replayed_request``: this signed request was already served."""

    code_name = "replayed_request"


class InsufficientCredit(PaymentRequired):
    """``insufficient_credit``: the account cannot cover the price, the fee or the budget."""

    code_name = "insufficient_credit"


class DailyCapReached(PaymentRequired):
    """``daily_cap_reached``: the API key has spent what its daily cap allows today; it may
    spend again after 00:00 UTC."""

    code_name = "daily_cap_reached"


class PaymentRequiredError(PaymentRequired):
    """``payment_required``: the route is paid and the request carries no payment it takes."""

    code_name = "payment_required"


class PaymentInvalid(PaymentRequired):
    """``payment_invalid``: the payment does not pay for this request (amount, recipient, network, nonce or balance)."""

    code_name = "payment_invalid"


class SettlementFailed(PaymentRequired):
    """``settlement_failed``: the payment could not be settled on chain."""

    code_name = "settlement_failed"


class BudgetExhausted(Unprocessable):
    """``budget_exhausted``: the run spent its budget before it could finish."""

    code_name = "budget_exhausted"


class NotAdmin(PermissionDenied):
    """``not_admin``: the change needs the validator set's admin."""

    code_name = "not_admin"


class UnknownProposer(PermissionDenied):
    """``unknown_proposer``: the diff's signer is not a proposer this ledger knows."""

    code_name = "unknown_proposer"


class NotAValidator(PermissionDenied):
    """``not_a_validator``: the signer is not a validator of the subnet or ledger."""

    code_name = "not_a_validator"


class FreeOrchestrationsDisabled(PermissionDenied):
    """``free_orchestrations_disabled``: the node does not orchestrate for free."""

    code_name = "free_orchestrations_disabled"


class NotFoundError(NotFound):
    """``not_found``: no such version, key, subnet or record."""

    code_name = "not_found"


class UnknownVersion(NotFound):
    """``unknown_version``: the ledger has no such version."""

    code_name = "unknown_version"


class UnknownPayment(NotFound):
    """``unknown_payment``: no payment with this extrinsic hash was accepted here."""

    code_name = "unknown_payment"


class UnknownProposal(NotFound):
    """``unknown_proposal``: no proposal with this id is waiting for approval."""

    code_name = "unknown_proposal"


class NoRoute(NotFound):
    """``no_route``: no such route."""

    code_name = "no_route"


class Pruned(Gone):
    """``pruned``: the version has been pruned."""

    code_name = "pruned"


class ConflictError(Conflict):
    """``conflict``: the diff's base no longer matches the keys it changes."""

    code_name = "conflict"


class BadBase(Conflict):
    """``bad_base``: the diff's base version is in the future or its root does not match."""

    code_name = "bad_base"


class NotProposed(Conflict):
    """``not_proposed``: an attestation names a version no proposer wrote."""

    code_name = "not_proposed"


class WrongCheckpoint(Conflict):
    """``wrong_checkpoint``: the attestation is for another checkpoint than the ledger's at that version."""

    code_name = "wrong_checkpoint"


class IdempotencyKeyInUse(Conflict):
    """``idempotency_key_in_use``: a request with this Idempotency-Key is still running."""

    code_name = "idempotency_key_in_use"


class NoAnswerKept(Conflict):
    """``no_answer_kept``: the payment was accepted, but no answer is kept for it."""

    code_name = "no_answer_kept"


class ReadOnlyReplica(Conflict):
    """``read_only_replica``: a replica does not take writes; send them to its primary."""

    code_name = "read_only_replica"


class ValueTooLarge(PayloadTooLarge):
    """``value_too_large``: a record is larger than the ledger stores."""

    code_name = "value_too_large"


class DiffTooLarge(PayloadTooLarge):
    """``diff_too_large``: a diff has too many changes or bytes."""

    code_name = "diff_too_large"


class BodyTooLarge(PayloadTooLarge):
    """``body_too_large``: the body is larger than the route takes."""

    code_name = "body_too_large"


class UnsupportedMediaTypeError(UnsupportedMediaType):
    """``unsupported_media_type``: the body is not sent as application/json."""

    code_name = "unsupported_media_type"


class EmptyChange(Unprocessable):
    """``empty_change``: the change would change nothing."""

    code_name = "empty_change"


class InvalidRecord(Unprocessable):
    """``invalid_record``: a record does not check against its path's type."""

    code_name = "invalid_record"


class IdempotencyKeyReused(Unprocessable):
    """``idempotency_key_reused``: this Idempotency-Key was sent with another request."""

    code_name = "idempotency_key_reused"


class NoPlan(Unprocessable):
    """``no_plan``: no plan can be made for the objective with the capabilities on offer."""

    code_name = "no_plan"


class ResultInvalid(Unprocessable):
    """``result_invalid``: no result validated against the target schema; ``details`` lists the violations (the client raises it too when a successful answer's result does not match the schema)."""

    code_name = "result_invalid"


class InsufficientEvidence(Unprocessable):
    """``insufficient_evidence``: the target schema requires values no evidence supports; ``details["missing"]`` lists their JSON pointers (make them optional or nullable, or ask for what the subnets can find)."""

    code_name = "insufficient_evidence"


class ProposerOverQuota(RateLimited):
    """``proposer_over_quota``: the proposer has used its quota of diffs or bytes for the hour."""

    code_name = "proposer_over_quota"


class TooManyOrchestrations(RateLimited):
    """``too_many_orchestrations``: the node runs its limit of orchestrations."""

    code_name = "too_many_orchestrations"


class TooManyOrchestrationsForKey(RateLimited):
    """``too_many_orchestrations_for_key``: this API key runs its limit of orchestrations."""

    code_name = "too_many_orchestrations_for_key"


class SettlementsBusy(RateLimited):
    """``settlements_busy``: the node is settling its limit of payments."""

    code_name = "settlements_busy"


class SnapshotsBusy(RateLimited):
    """``snapshots_busy``: the node is exporting its limit of snapshots."""

    code_name = "snapshots_busy"


class HistoricalProofsBusy(RateLimited):
    """``historical_proofs_busy``: the node is building its limit of proofs at old versions."""

    code_name = "historical_proofs_busy"


class ProposalsFull(RateLimited):
    """``proposals_full``: the node holds its limit of proposals waiting for approval, in all or from this proposer."""

    code_name = "proposals_full"


class InternalError(InternalServerError):
    """``internal``: the node failed; its log says why."""

    code_name = "internal"


class SubnetsFailed(BadGateway):
    """``subnets_failed``: every subnet able to do a required task failed."""

    code_name = "subnets_failed"


class ChainUnavailable(BadGateway):
    """``chain_unavailable``: the chain could not be reached."""

    code_name = "chain_unavailable"


class OrchestrationDisabled(ServiceUnavailable):
    """``orchestration_disabled``: this node does not orchestrate."""

    code_name = "orchestration_disabled"


class Unroutable(ServiceUnavailable):
    """``unroutable``: no subnet can serve a required task."""

    code_name = "unroutable"


class DeadlineExceeded(GatewayTimeout):
    """``deadline_exceeded``: the deadline passed before the run finished."""

    code_name = "deadline_exceeded"


ERRORS: Dict[str, Type[OrchestraError]] = {
    "bad_request": BadRequestError,
    "bad_json": BadJson,
    "bad_query": BadQuery,
    "bad_key": BadKey,
    "bad_range": BadRange,
    "bad_schema": BadSchema,
    "bad_payment": BadPayment,
    "range_too_long": RangeTooLong,
    "bad_signature": BadSignature,
    "unknown_api_key": UnknownApiKey,
    "replayed_request": ReplayedRequest,
    "insufficient_credit": InsufficientCredit,
    "daily_cap_reached": DailyCapReached,
    "payment_required": PaymentRequiredError,
    "payment_invalid": PaymentInvalid,
    "settlement_failed": SettlementFailed,
    "budget_exhausted": BudgetExhausted,
    "not_admin": NotAdmin,
    "unknown_proposer": UnknownProposer,
    "not_a_validator": NotAValidator,
    "free_orchestrations_disabled": FreeOrchestrationsDisabled,
    "not_found": NotFoundError,
    "unknown_version": UnknownVersion,
    "unknown_payment": UnknownPayment,
    "unknown_proposal": UnknownProposal,
    "no_route": NoRoute,
    "pruned": Pruned,
    "conflict": ConflictError,
    "bad_base": BadBase,
    "not_proposed": NotProposed,
    "wrong_checkpoint": WrongCheckpoint,
    "idempotency_key_in_use": IdempotencyKeyInUse,
    "no_answer_kept": NoAnswerKept,
    "read_only_replica": ReadOnlyReplica,
    "value_too_large": ValueTooLarge,
    "diff_too_large": DiffTooLarge,
    "body_too_large": BodyTooLarge,
    "unsupported_media_type": UnsupportedMediaTypeError,
    "empty_change": EmptyChange,
    "invalid_record": InvalidRecord,
    "idempotency_key_reused": IdempotencyKeyReused,
    "no_plan": NoPlan,
    "result_invalid": ResultInvalid,
    "insufficient_evidence": InsufficientEvidence,
    "proposer_over_quota": ProposerOverQuota,
    "too_many_orchestrations": TooManyOrchestrations,
    "too_many_orchestrations_for_key": TooManyOrchestrationsForKey,
    "settlements_busy": SettlementsBusy,
    "snapshots_busy": SnapshotsBusy,
    "historical_proofs_busy": HistoricalProofsBusy,
    "proposals_full": ProposalsFull,
    "internal": InternalError,
    "subnets_failed": SubnetsFailed,
    "chain_unavailable": ChainUnavailable,
    "orchestration_disabled": OrchestrationDisabled,
    "unroutable": Unroutable,
    "deadline_exceeded": DeadlineExceeded,
}
"""Every code the node sends, and its class."""

_BY_STATUS: Dict[int, Type[OrchestraError]] = {
    400: BadRequest,
    401: AuthenticationError,
    402: PaymentRequired,
    403: PermissionDenied,
    404: NotFound,
    409: Conflict,
    410: Gone,
    413: PayloadTooLarge,
    415: UnsupportedMediaType,
    422: Unprocessable,
    429: RateLimited,
    500: InternalServerError,
    502: BadGateway,
    503: ServiceUnavailable,
    504: GatewayTimeout,
}


def error_for(status: Optional[int], code: str, message: str, details: Any = None, retry_after: Optional[float] = None) -> OrchestraError:
    """The class of ``code`` if the node defines it, else that of ``status``, else
    :class:`OrchestraError` (a code newer than this client still raises by its status)."""
    error_class = ERRORS.get(code) or (_BY_STATUS.get(status) if status else None) or OrchestraError
    return error_class(status, code, message, details, retry_after)
