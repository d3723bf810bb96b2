"""Errors the client raises.

Terms:
- **status**: the HTTP status of the server's answer, or ``None`` when there was no answer.
- **code**: a stable, machine-readable name for what went wrong, as the server sends it in
  ``{"error": {"code": ...}}`` (``insufficient_credit``, ``bad_schema``, ``result_invalid``,
  ...), or one of the client's own codes:
  ``unreachable`` (no connection to the server), ``timeout`` (connected, but no complete answer
  within the client's timeout; the server may still have run, and charged for, the request),
  ``malformed_response`` (an answer that is not the contract's JSON) and ``http_<status>``
  (an error status without an Orchestra error body, e.g. from a proxy).
- **details**: whatever structured data the server attached to the error; for
  :class:`ResultInvalid` a list of violations.
- **violation**: one way a document fails its schema, ``{"path": ..., "message": ...}``, where
  ``path`` is the JSON pointer of the offending value (``/papers/0/title``; ``""`` is the whole
  document).
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Type


class OrchestraError(Exception):
    """A request to the Orchestra server failed; see the module documentation for the terms."""

    def __init__(self, status: Optional[int], code: str, message: str, details: Any = None) -> None:
        prefix = code if status is None else f"HTTP {status} {code}"
        super().__init__(f"{prefix}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details


class PaymentRequired(OrchestraError):
    """HTTP 402: the account's credit does not cover the price of the request."""


class ResultInvalid(OrchestraError):
    """The result does not match the target schema: the server said so (HTTP 422), or the
    client's own check of a successful answer found it. ``details`` lists the violations."""


class DeadlineExceeded(OrchestraError):
    """HTTP 504: the run did not finish within its deadline (``deadline_ms``)."""


class BudgetExhausted(OrchestraError):
    """Code ``budget_exhausted``: the run spent its own budget (``budget_rao``) before it could
    finish. Unlike :class:`PaymentRequired`, topping up credit does not help; a larger budget
    does. ``details`` carries what the server reports about the spending."""


class SchemaError(ValueError):
    """A target schema the client cannot turn into a model.

    ``path`` says where: a field path like ``competitors[0].pricing`` in the compact form
    (``""`` is the root), a JSON pointer fragment like ``#/properties/pricing`` in the full form.
    """

    def __init__(self, path: str, message: str) -> None:
        super().__init__(message)
        self.path = path


_BY_STATUS: Dict[int, Type[OrchestraError]] = {
    402: PaymentRequired,
    422: ResultInvalid,
    504: DeadlineExceeded,
}


def error_for(status: Optional[int], code: str, message: str, details: Any = None) -> OrchestraError:
    """The most specific error class for an answer: by code for ``budget_exhausted``, which is a
    402 but not a lack of credit, otherwise by status."""
    if code == "budget_exhausted":
        return BudgetExhausted(status, code, message, details)
    error_class = _BY_STATUS.get(status, OrchestraError) if status else OrchestraError
    return error_class(status, code, message, details)
