"""The HTTP clients of an Orchestra node's orchestration endpoint: :class:`Client` (blocking)
and :class:`AsyncClient` (asyncio), alike in every argument and answer.

Terms:
- **objective**: what to find out or do, in plain language.
- **target schema**: the shape the result must have (see :mod:`orchestra.schema`).
- **budget**: the most, in rao, the run may spend on subnet calls (``budget_rao``).
- **deadline**: the most time, in milliseconds, the run may take (``deadline_ms``).
- **nonce**: 32 bytes, as 64 hex digits, that the client sends with each request and the
  receipts must chain from (see :mod:`orchestra.receipts`): random, or, when the caller names
  the request with an ``idempotency_key``, derived from that key, so that the same request
  sent again from another process is the same request and its replayed receipts verify.
  Such a key should be unpredictable (a UUID), as the nonce is then only as fresh as it.
- **idempotency key**: a name for one request (``Idempotency-Key``): the node runs and charges
  it once, and a retry with the same key gets the first answer. The client makes one for
  every request, so its own retries are safe; pass ``idempotency_key`` to retry across
  processes.
- **retry**: the client sends a request again, with the same key and nonce, when it could not
  reach the node or the node answered that it was busy (429 with ``Retry-After``), up to
  ``max_retries`` times with exponential backoff. Nothing else is retried: every other answer
  says what the node did.
- **payer**: an :class:`~orchestra.x402.Payer`, with which a request that carries no API key
  pays on chain when the node asks (402 with ``PAYMENT-REQUIRED``): the client signs the
  transfer the payer accepts, sends the request once more with it, and checks that the answer's
  ``PAYMENT-RESPONSE`` names that transfer and that payer.
- **events**: the run's progress as the node streams it (``Accept: text/event-stream``):
  ``plan``, ``call_started``, ``call_finished``, ``task_skipped``, ``synthesis``, then ``answer``
  (whose :attr:`Event.run` is the checked :class:`~orchestra.models.Run`) or an error, raised.
  :meth:`Client.stream` yields them; ``run(..., on_event=callback)`` calls back with each.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import random
import secrets
import time
import uuid
from typing import Any, AsyncIterator, Callable, Dict, Iterator, List, Optional, Tuple, Type

import httpx
from blake3 import blake3
from pydantic import BaseModel, ValidationError

from .errors import MalformedResponse, OrchestraError, RateLimited, Timeout, Unreachable, error_for
from .x402 import Payer, PaymentRefused, SignedPayment
from .models import Run
from .provenance import check_evidence
from .receipts import verify_receipts
from .schema import model_from_schema, validate_result

DEFAULT_URL = "http://127.0.0.1:8080"
"""The node's default listen address, used when neither ``base_url`` nor ``ORCHESTRA_URL`` is set."""

ORCHESTRATE_PATH = "/v1/orchestrate"
DEFAULT_TIMEOUT = 120.0
DEFAULT_MAX_RETRIES = 2
_BACKOFF_BASE = 0.5
_BACKOFF_CAP = 8.0


class Event:
    """One step of a run as the node streamed it: ``type`` (``plan``, ``call_started``,
    ``call_finished``, ``task_skipped``, ``synthesis`` or ``answer``), ``data`` (the event's JSON
    object), and for ``answer`` the checked ``run``."""

    def __init__(self, type: str, data: Dict[str, Any], run: Optional[Run] = None) -> None:
        self.type = type
        self.data = data
        self.run = run

    def __repr__(self) -> str:
        return f"Event({self.type!r})"


class _Events:
    """Assembles server-sent events from lines and turns each into an :class:`Event`."""

    def __init__(self, prepared: "_Prepared", headers: httpx.Headers) -> None:
        self.prepared = prepared
        self.headers = headers
        self.data: List[str] = []

    def line(self, line: str) -> Optional[Event]:
        """The event a blank line completes, if any; raises the error an ``error`` event means."""
        if line.startswith("data:"):
            self.data.append(line[5:].lstrip(" "))
            return None
        if line or not self.data:
            return None  # a comment, the `event:` line (the data names the event too), or a keep-alive
        text, self.data = "\n".join(self.data), []
        try:
            data = json.loads(text)
        except ValueError:
            raise MalformedResponse(200, "malformed_response", f"an event is not JSON: {text[:200]}") from None
        kind = data.get("event") if isinstance(data, dict) else None
        if kind == "error":
            raise _error_from_answer(int(data.get("status", 500)), self.headers, json.dumps(data).encode())
        if kind == "answer":
            answer = {name: value for name, value in data.items() if name != "event"}
            replayed = answer.pop("replayed", False) is True
            headers = {"idempotent-replayed": "true"} if replayed else {}
            return Event("answer", data, _finish(self.prepared, 200, httpx.Headers(headers), json.dumps(answer).encode()))
        if not isinstance(kind, str):
            raise MalformedResponse(200, "malformed_response", f"an event without a type: {text[:200]}")
        return Event(kind, data)


class _Prepared:
    """One orchestration request, ready to send (and to send again, unchanged)."""

    def __init__(self, model: Type[BaseModel], body: Dict[str, Any], nonce: str, headers: Dict[str, str], miner: Optional[str], objective: str) -> None:
        self.model = model
        self.objective = objective
        self.body = body
        self.nonce = nonce
        self.headers = headers
        self.miner = miner
        self.payment: Optional[SignedPayment] = None


class _Base:
    def __init__(
        self,
        api_key: Optional[str],
        base_url: Optional[str],
        timeout: float,
        max_retries: int,
        node_hotkey: Optional[str],
        include_evidence: bool,
        payer: Optional[Payer],
    ) -> None:
        self.include_evidence = include_evidence
        self.payer = payer if payer is not None else Payer.from_env()
        self.api_key = api_key if api_key is not None else os.environ.get("ORCHESTRA_API_KEY")
        self.base_url = (base_url or os.environ.get("ORCHESTRA_URL") or DEFAULT_URL).rstrip("/")
        self.timeout = timeout
        self.max_retries = max_retries
        self.node_hotkey = node_hotkey

    def _prepare(
        self,
        objective: str,
        target_schema: Any,
        budget_rao: Optional[int],
        deadline_ms: Optional[int],
        idempotency_key: Optional[str],
    ) -> _Prepared:
        model = model_from_schema(target_schema)
        nonce = _nonce_of(idempotency_key) if idempotency_key else secrets.token_hex(32)
        body: Dict[str, Any] = {"objective": objective, "target_schema": target_schema, "nonce": nonce}
        optional = {"budget_rao": budget_rao, "deadline_ms": deadline_ms, "include_evidence": True if self.include_evidence else None}
        body.update({name: value for name, value in optional.items() if value is not None})
        headers = {"Content-Type": "application/json", "Accept": "application/json", "Idempotency-Key": idempotency_key or str(uuid.uuid4())}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        return _Prepared(model, body, nonce, headers, self.node_hotkey, objective)

    def _pays(self, prepared: _Prepared, status: int, headers: httpx.Headers) -> bool:
        """Whether the answer asks for a payment this client's payer should sign (once per
        request, and never for a request paid by API key)."""
        return status == 402 and self.payer is not None and prepared.payment is None and "Authorization" not in prepared.headers and "payment-required" in headers

    def _sign(self, prepared: _Prepared, status: int, headers: httpx.Headers, data: bytes) -> None:
        """Signs the payment the node asked for into ``prepared``; raises the node's 402, with
        the payer's reason, when the payer will not pay it."""
        assert self.payer is not None
        try:
            prepared.payment = self.payer.pay(headers["payment-required"])
        except PaymentRefused as reason:
            error = _error_from_answer(status, headers, data)
            raise type(error)(error.status, error.code, f"{error.message}; the payer did not pay: {reason}", error.details, error.retry_after) from None
        prepared.headers["PAYMENT-SIGNATURE"] = prepared.payment.header

    def _retry_delay(self, attempt: int, error: OrchestraError) -> Optional[float]:
        """Seconds to wait before attempt ``attempt + 1``, or ``None`` when ``error`` is final."""
        if attempt >= self.max_retries or not isinstance(error, (Unreachable, Timeout, RateLimited)):
            return None
        backoff = random.uniform(0, min(_BACKOFF_CAP, _BACKOFF_BASE * 2**attempt))
        return max(backoff, error.retry_after or 0.0)


class Client(_Base):
    """A blocking client of one Orchestra node.

    ``api_key`` defaults to ``$ORCHESTRA_API_KEY``; without one, requests go unpaid, which a
    node serving free orchestrations (the default on loopback) answers. ``base_url`` defaults
    to ``$ORCHESTRA_URL``, then :data:`DEFAULT_URL`; ``timeout`` is how long, in seconds, to
    wait for an answer; ``node_hotkey`` (SS58), when given, must be the key that signs the
    receipts; with ``include_evidence`` the node sends the response bodies a cited result's
    values point into, and the client checks every citation against them (docs/SPEC.md
    section 18), raising :class:`ProvenanceInvalid` when one does not hold; ``payer`` (default
    :meth:`Payer.from_env <orchestra.x402.Payer.from_env>`) pays on chain when the node asks and
    no API key is used. Use it as a context manager, or call :meth:`close`.
    """

    def __init__(
        self,
        api_key: Optional[str] = None,
        base_url: Optional[str] = None,
        timeout: float = DEFAULT_TIMEOUT,
        *,
        max_retries: int = DEFAULT_MAX_RETRIES,
        node_hotkey: Optional[str] = None,
        include_evidence: bool = False,
        payer: Optional[Payer] = None,
        http_client: Optional[httpx.Client] = None,
    ) -> None:
        super().__init__(api_key, base_url, timeout, max_retries, node_hotkey, include_evidence, payer)
        self._http = http_client or httpx.Client(timeout=timeout)

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def execute(
        self,
        objective: str,
        target_schema: Any,
        *,
        budget_rao: Optional[int] = None,
        deadline_ms: Optional[int] = None,
        idempotency_key: Optional[str] = None,
    ) -> BaseModel:
        """The result of :meth:`run`, alone: an instance of the target schema's model."""
        return self.run(objective, target_schema, budget_rao=budget_rao, deadline_ms=deadline_ms, idempotency_key=idempotency_key).result

    def run(
        self,
        objective: str,
        target_schema: Any,
        *,
        budget_rao: Optional[int] = None,
        deadline_ms: Optional[int] = None,
        idempotency_key: Optional[str] = None,
        on_event: Optional[Callable[[Event], None]] = None,
    ) -> Run:
        """Runs ``objective`` on the node and returns the result, validated against a model of
        ``target_schema``, with its plan, calls, verified receipts, cost, timings and payment;
        with ``on_event``, the run is streamed and each event handed to it as it arrives.

        Raises :class:`~orchestra.errors.SchemaError` before any request when the schema cannot
        be modelled, and an :class:`~orchestra.errors.OrchestraError` subclass when the run
        fails or its answer does not check.
        """
        if on_event is not None:
            for event in self.stream(objective, target_schema, budget_rao=budget_rao, deadline_ms=deadline_ms, idempotency_key=idempotency_key):
                on_event(event)
                if event.run is not None:
                    return event.run
            raise MalformedResponse(200, "malformed_response", "the stream ended without an answer")
        prepared = self._prepare(objective, target_schema, budget_rao, deadline_ms, idempotency_key)
        attempt = 0
        while True:
            try:
                answer = self._send(prepared)
                if self._pays(prepared, *answer[:2]):
                    self._sign(prepared, *answer)
                    answer = self._send(prepared)
                return _finish(prepared, *answer)
            except OrchestraError as error:
                delay = self._retry_delay(attempt, error)
                if delay is None:
                    raise
                attempt += 1
                time.sleep(delay)

    def stream(
        self,
        objective: str,
        target_schema: Any,
        *,
        budget_rao: Optional[int] = None,
        deadline_ms: Optional[int] = None,
        idempotency_key: Optional[str] = None,
    ) -> Iterator[Event]:
        """Runs ``objective`` as :meth:`run` does, yielding its events as the node sends them;
        the last is ``answer``, whose ``run`` is checked as :meth:`run` checks it. A failed run
        raises its error after the events before it."""
        prepared = self._prepare(objective, target_schema, budget_rao, deadline_ms, idempotency_key)
        url = self.base_url + ORCHESTRATE_PATH
        try:
            while True:
                headers = {**prepared.headers, "Accept": "text/event-stream"}
                with self._http.stream("POST", url, content=json.dumps(prepared.body).encode(), headers=headers, timeout=self.timeout) as response:
                    if response.status_code != 200 or not response.headers.get("content-type", "").startswith("text/event-stream"):
                        response.read()
                        if self._pays(prepared, response.status_code, response.headers):
                            self._sign(prepared, response.status_code, response.headers, response.content)
                            continue
                        _finish(prepared, response.status_code, response.headers, response.content)
                        raise MalformedResponse(response.status_code, "malformed_response", "the node answered without an event stream")
                    events = _Events(prepared, response.headers)
                    for line in response.iter_lines():
                        event = events.line(line)
                        if event is not None:
                            yield event
                            if event.run is not None:
                                return
                    break
        except httpx.TimeoutException as error:
            raise _timeout(url, self.timeout) from error
        except httpx.HTTPError as error:
            raise Unreachable(None, "unreachable", f"cannot reach {url}: {error!r}") from error
        raise MalformedResponse(200, "malformed_response", "the stream ended without an answer")

    def _send(self, prepared: _Prepared) -> Tuple[int, httpx.Headers, bytes]:
        url = self.base_url + ORCHESTRATE_PATH
        try:
            response = self._http.post(url, content=json.dumps(prepared.body).encode(), headers=prepared.headers, timeout=self.timeout)
        except httpx.TimeoutException as error:
            raise _timeout(url, self.timeout) from error
        except httpx.HTTPError as error:
            raise Unreachable(None, "unreachable", f"cannot reach {url}: {error!r}") from error
        return response.status_code, response.headers, response.content


class AsyncClient(_Base):
    """The asyncio twin of :class:`Client`: the same arguments, ``await client.run(...)``.
    Use it as an async context manager, or ``await`` :meth:`aclose`."""

    def __init__(
        self,
        api_key: Optional[str] = None,
        base_url: Optional[str] = None,
        timeout: float = DEFAULT_TIMEOUT,
        *,
        max_retries: int = DEFAULT_MAX_RETRIES,
        node_hotkey: Optional[str] = None,
        include_evidence: bool = False,
        payer: Optional[Payer] = None,
        http_client: Optional[httpx.AsyncClient] = None,
    ) -> None:
        super().__init__(api_key, base_url, timeout, max_retries, node_hotkey, include_evidence, payer)
        self._http = http_client or httpx.AsyncClient(timeout=timeout)

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def execute(
        self,
        objective: str,
        target_schema: Any,
        *,
        budget_rao: Optional[int] = None,
        deadline_ms: Optional[int] = None,
        idempotency_key: Optional[str] = None,
    ) -> BaseModel:
        """The result of :meth:`run`, alone."""
        run = await self.run(objective, target_schema, budget_rao=budget_rao, deadline_ms=deadline_ms, idempotency_key=idempotency_key)
        return run.result

    async def run(
        self,
        objective: str,
        target_schema: Any,
        *,
        budget_rao: Optional[int] = None,
        deadline_ms: Optional[int] = None,
        idempotency_key: Optional[str] = None,
        on_event: Optional[Callable[[Event], None]] = None,
    ) -> Run:
        """As :meth:`Client.run`."""
        if on_event is not None:
            async for event in self.stream(objective, target_schema, budget_rao=budget_rao, deadline_ms=deadline_ms, idempotency_key=idempotency_key):
                on_event(event)
                if event.run is not None:
                    return event.run
            raise MalformedResponse(200, "malformed_response", "the stream ended without an answer")
        prepared = self._prepare(objective, target_schema, budget_rao, deadline_ms, idempotency_key)
        attempt = 0
        while True:
            try:
                answer = await self._send(prepared)
                if self._pays(prepared, *answer[:2]):
                    # The payer asks the chain over blocking HTTP: off the event loop.
                    await asyncio.to_thread(self._sign, prepared, *answer)
                    answer = await self._send(prepared)
                return _finish(prepared, *answer)
            except OrchestraError as error:
                delay = self._retry_delay(attempt, error)
                if delay is None:
                    raise
                attempt += 1
                await asyncio.sleep(delay)

    async def stream(
        self,
        objective: str,
        target_schema: Any,
        *,
        budget_rao: Optional[int] = None,
        deadline_ms: Optional[int] = None,
        idempotency_key: Optional[str] = None,
    ) -> AsyncIterator[Event]:
        """As :meth:`Client.stream`, an async iterator."""
        prepared = self._prepare(objective, target_schema, budget_rao, deadline_ms, idempotency_key)
        url = self.base_url + ORCHESTRATE_PATH
        try:
            while True:
                headers = {**prepared.headers, "Accept": "text/event-stream"}
                async with self._http.stream("POST", url, content=json.dumps(prepared.body).encode(), headers=headers, timeout=self.timeout) as response:
                    if response.status_code != 200 or not response.headers.get("content-type", "").startswith("text/event-stream"):
                        await response.aread()
                        if self._pays(prepared, response.status_code, response.headers):
                            await asyncio.to_thread(self._sign, prepared, response.status_code, response.headers, response.content)
                            continue
                        _finish(prepared, response.status_code, response.headers, response.content)
                        raise MalformedResponse(response.status_code, "malformed_response", "the node answered without an event stream")
                    events = _Events(prepared, response.headers)
                    async for line in response.aiter_lines():
                        event = events.line(line)
                        if event is not None:
                            yield event
                            if event.run is not None:
                                return
                    break
        except httpx.TimeoutException as error:
            raise _timeout(url, self.timeout) from error
        except httpx.HTTPError as error:
            raise Unreachable(None, "unreachable", f"cannot reach {url}: {error!r}") from error
        raise MalformedResponse(200, "malformed_response", "the stream ended without an answer")

    async def _send(self, prepared: _Prepared) -> Tuple[int, httpx.Headers, bytes]:
        url = self.base_url + ORCHESTRATE_PATH
        try:
            response = await self._http.post(url, content=json.dumps(prepared.body).encode(), headers=prepared.headers, timeout=self.timeout)
        except httpx.TimeoutException as error:
            raise _timeout(url, self.timeout) from error
        except httpx.HTTPError as error:
            raise Unreachable(None, "unreachable", f"cannot reach {url}: {error!r}") from error
        return response.status_code, response.headers, response.content


def _nonce_of(idempotency_key: str) -> str:
    """The nonce of a request named by the caller's ``idempotency_key``."""
    return blake3(b"orchestra/nonce/v1:" + idempotency_key.encode()).hexdigest()


def _timeout(url: str, seconds: float) -> OrchestraError:
    return Timeout(None, "timeout", f"no complete answer from {url} within {seconds} s; the node may still run (and charge for) the request")


def _finish(prepared: _Prepared, status: int, headers: httpx.Headers, data: bytes) -> Run:
    """The run a successful answer describes, checked; or the error an unsuccessful one means."""
    if status >= 400:
        raise _error_from_answer(status, headers, data)
    answer = _json_object(status, data)
    try:
        run = Run.model_validate({**answer, "raw": answer, "replayed": headers.get("idempotent-replayed") == "true"})
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, item['loc']))}: {item['msg']}" for item in error.errors())
        raise MalformedResponse(status, "malformed_response", f"the answer does not have the contract's shape: {problems}") from None
    verify_receipts(run.receipts, prepared.nonce, prepared.miner)
    if prepared.payment is not None:
        _check_settlement(prepared.payment, headers, run, status)
    if len(run.receipts["receipts"]) != len(run.calls):
        raise MalformedResponse(status, "malformed_response", f"{len(run.calls)} calls but {len(run.receipts['receipts'])} receipts")
    if prepared.body.get("include_evidence") and answer.get("provenance") is not None and answer.get("evidence") is None:
        raise MalformedResponse(status, "malformed_response", "evidence was asked for, and the cited result came without it")
    if answer.get("evidence") is not None and answer.get("provenance") is not None:
        check_evidence(answer, prepared.objective)
    return run.model_copy(update={"result": validate_result(prepared.model, run.result, status)})


def _check_settlement(payment: SignedPayment, headers: httpx.Headers, run: Run, status: int) -> None:
    """Refuses an answer to a paid request that does not name the transfer the payer signed:
    its ``payment.transaction`` and, when sent, ``PAYMENT-RESPONSE``."""
    transaction = run.payment.transaction if run.payment is not None else None
    if transaction is None or transaction.lower() != payment.extrinsic_hash:
        raise MalformedResponse(status, "malformed_response", f"the answer names transaction {transaction}, not the payment {payment.extrinsic_hash} the payer signed")
    settled = headers.get("payment-response")
    if settled is None:
        return
    try:
        response = json.loads(base64.b64decode(settled, validate=True))
    except (ValueError, TypeError):
        raise MalformedResponse(status, "malformed_response", "PAYMENT-RESPONSE is not base64 of JSON") from None
    if not isinstance(response, dict) or response.get("success") is not True or response.get("payer") != payment.payer or str(response.get("transaction", "")).lower() != payment.extrinsic_hash:
        raise MalformedResponse(status, "malformed_response", f"PAYMENT-RESPONSE does not confirm the payment the payer signed: {settled[:200]}")


def _json_object(status: int, data: bytes) -> Dict[str, Any]:
    """The body of a successful answer, which must be a JSON object."""
    try:
        body = json.loads(data)
    except ValueError as error:
        raise MalformedResponse(status, "malformed_response", f"the answer is not JSON ({error}): {_excerpt(data)}") from None
    if not isinstance(body, dict):
        raise MalformedResponse(status, "malformed_response", f"the answer is not a JSON object: {_excerpt(data)}")
    return body


def _error_from_answer(status: int, headers: httpx.Headers, data: bytes) -> OrchestraError:
    """The error an unsuccessful answer means: from its ``{"error": {"code", "message",
    "details"}}`` body, or named ``http_<status>`` when it has none (a proxy's page, say)."""
    retry_after = _seconds(headers.get("retry-after"))
    try:
        error = json.loads(data).get("error")
    except (ValueError, AttributeError):
        error = None
    if isinstance(error, dict) and isinstance(error.get("code"), str) and isinstance(error.get("message"), str):
        return error_for(status, error["code"], error["message"], error.get("details"), retry_after)
    return error_for(status, f"http_{status}", f"HTTP {status} without an Orchestra error body: {_excerpt(data)}", None, retry_after)


def _seconds(value: Optional[str]) -> Optional[float]:
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _excerpt(data: bytes, limit: int = 200) -> str:
    text = data.decode("utf-8", errors="replace")
    return text if len(text) <= limit else text[:limit] + "..."
