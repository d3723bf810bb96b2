"""The HTTP client of an Orchestra node's orchestration endpoint.

Terms:
- **objective**: what to find out or do, in plain language.
- **target schema**: the shape the result must have (see :mod:`orchestra.schema`).
- **budget**: the most, in rao, the run may spend on subnet calls (``budget_rao``).
- **deadline**: the most time, in milliseconds, the run may take (``deadline_ms``).
- **nonce**: 32 bytes as 64 hex digits that the receipts are bound to; the server picks one when
  it is not given.
"""

from __future__ import annotations

import json
import os
import socket
import urllib.error
import urllib.request
from http.client import HTTPException
from typing import Any, Dict, Optional, Tuple, Type

from pydantic import BaseModel, ValidationError

from .errors import OrchestraError, error_for
from .models import Run
from .schema import model_from_schema, validate_result

DEFAULT_URL = "http://127.0.0.1:8080"
"""The node's default listen address, used when neither ``base_url`` nor ``ORCHESTRA_URL`` is set."""

ORCHESTRATE_PATH = "/v1/orchestrate"

_TIMEOUTS = (socket.timeout, TimeoutError)


class Client:
    """A client of one Orchestra node.

    ``api_key`` defaults to the environment variable ``ORCHESTRA_API_KEY``, ``base_url`` to
    ``ORCHESTRA_URL`` (then to :data:`DEFAULT_URL`); ``timeout`` is how long, in seconds, to wait
    for an answer.
    """

    def __init__(self, api_key: Optional[str] = None, base_url: Optional[str] = None, timeout: float = 120.0) -> None:
        key = api_key or os.environ.get("ORCHESTRA_API_KEY")
        if not key:
            raise ValueError("no API key: pass api_key= or set ORCHESTRA_API_KEY")
        self.api_key = key
        self.base_url = (base_url or os.environ.get("ORCHESTRA_URL") or DEFAULT_URL).rstrip("/")
        self.timeout = timeout

    def execute(
        self,
        objective: str,
        target_schema: Any,
        *,
        budget_rao: Optional[int] = None,
        deadline_ms: Optional[int] = None,
        nonce: Optional[str] = None,
    ) -> BaseModel:
        """The result of :meth:`run`, alone."""
        return self.run(objective, target_schema, budget_rao=budget_rao, deadline_ms=deadline_ms, nonce=nonce).result

    def run(
        self,
        objective: str,
        target_schema: Any,
        *,
        budget_rao: Optional[int] = None,
        deadline_ms: Optional[int] = None,
        nonce: Optional[str] = None,
    ) -> Run:
        """Runs ``objective`` on the node and returns the result, validated against a model of
        ``target_schema``, with its plan, calls, receipts, cost, timings and payment.

        Raises :class:`~orchestra.errors.SchemaError` before any request when the schema cannot
        be modelled, and :class:`~orchestra.errors.OrchestraError` (or a subclass) when the run
        fails.
        """
        model = model_from_schema(target_schema)
        request: Dict[str, Any] = {"objective": objective, "target_schema": target_schema}
        optional = {"budget_rao": budget_rao, "deadline_ms": deadline_ms, "nonce": nonce}
        request.update({name: value for name, value in optional.items() if value is not None})
        status, answer = self._post(ORCHESTRATE_PATH, request)
        return _run_from_answer(status, answer, model)

    def _post(self, path: str, body: Dict[str, Any]) -> Tuple[int, Dict[str, Any]]:
        """Sends ``body`` to ``path``; returns a successful answer's status and JSON object, or
        raises the error an unsuccessful one (or none) means."""
        url = self.base_url + path
        request = urllib.request.Request(
            url,
            data=json.dumps(body).encode(),
            method="POST",
            headers={
                "Authorization": f"Bearer {self.api_key}",
                "Content-Type": "application/json",
                "Accept": "application/json",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                status, data = response.status, response.read()
        except urllib.error.HTTPError as error:
            raise _error_from_answer(error.code, error.read()) from None
        except _TIMEOUTS as error:
            raise _timeout(url, self.timeout) from error
        except urllib.error.URLError as error:
            if isinstance(error.reason, _TIMEOUTS):
                raise _timeout(url, self.timeout) from error
            raise OrchestraError(None, "unreachable", f"cannot reach {url}: {error.reason}") from error
        except (HTTPException, OSError) as error:
            raise OrchestraError(None, "unreachable", f"the connection to {url} failed: {error!r}") from error
        return status, _json_object(status, data)


def _timeout(url: str, seconds: float) -> OrchestraError:
    return OrchestraError(
        None, "timeout", f"no complete answer from {url} within {seconds} s; the server may still run (and charge for) the request"
    )


def _json_object(status: int, data: bytes) -> Dict[str, Any]:
    """The body of a successful answer, which must be a JSON object."""
    try:
        body = json.loads(data)
    except ValueError as error:
        raise OrchestraError(status, "malformed_response", f"the answer is not JSON ({error}): {_excerpt(data)}") from None
    if not isinstance(body, dict):
        raise OrchestraError(status, "malformed_response", f"the answer is not a JSON object: {_excerpt(data)}")
    return body


def _error_from_answer(status: int, data: bytes) -> OrchestraError:
    """The error an unsuccessful answer means: from its ``{"error": {"code", "message",
    "details"}}`` body, or named ``http_<status>`` when it has none (a proxy's page, say)."""
    try:
        error = json.loads(data).get("error")
    except (ValueError, AttributeError):
        error = None
    if isinstance(error, dict) and isinstance(error.get("code"), str) and isinstance(error.get("message"), str):
        return error_for(status, error["code"], error["message"], error.get("details"))
    return error_for(status, f"http_{status}", f"HTTP {status} without an Orchestra error body: {_excerpt(data)}")


def _run_from_answer(status: int, answer: Dict[str, Any], model: Type[BaseModel]) -> Run:
    """The run a successful answer describes, its result validated against ``model``."""
    try:
        run = Run.model_validate({**answer, "raw": answer})
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, item['loc']))}: {item['msg']}" for item in error.errors())
        raise OrchestraError(status, "malformed_response", f"the answer does not have the contract's shape: {problems}") from None
    return run.model_copy(update={"result": validate_result(model, run.result, status)})


def _excerpt(data: bytes, limit: int = 200) -> str:
    text = data.decode("utf-8", errors="replace")
    return text if len(text) <= limit else text[:limit] + "..."
