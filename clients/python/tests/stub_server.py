"""A stub Orchestra server on 127.0.0.1, and answers in the contract's shapes."""

from __future__ import annotations

import json
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, Iterator, List, Optional, Union

import sr25519

from orchestra.receipts import challenge, cost_evidence_hash, receipt_hash, root, signed_message


@dataclass
class Request:
    """One request the stub received; ``headers`` has lower-case names, ``body`` is the parsed
    JSON."""

    method: str
    path: str
    headers: Dict[str, str]
    body: Any


Body = Union[Dict[str, Any], bytes, Callable[[Request], Dict[str, Any]]]


@dataclass
class Reply:
    """What the stub answers: ``body`` is sent as JSON unless it is bytes, and when it is a
    function, what it returns for the request; ``delay`` is how long, in seconds, to wait
    before answering; ``headers`` are sent besides ``Content-Type``."""

    status: int
    body: Body
    delay: float = 0.0
    headers: Dict[str, str] = field(default_factory=dict)


@dataclass
class Stub:
    """A local HTTP server that records every request and answers each with the next queued
    reply (a 500 when none is left)."""

    url: str = ""
    requests: List[Request] = field(default_factory=list)
    replies: List[Reply] = field(default_factory=list)

    def reply(self, status: int, body: Body, delay: float = 0.0, headers: Optional[Dict[str, str]] = None) -> None:
        self.replies.append(Reply(status, body, delay, headers or {}))

    def next_reply(self) -> Reply:
        return self.replies.pop(0) if self.replies else Reply(500, {"error": {"code": "internal", "message": "no reply queued"}})


def _handler_for(stub: Stub) -> type:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.record_and_answer()

        def do_GET(self) -> None:
            self.record_and_answer()

        def record_and_answer(self) -> None:
            data = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            body = json.loads(data) if data else None
            headers = {name.lower(): value for name, value in self.headers.items()}
            request = Request(self.command, self.path, headers, body)
            stub.requests.append(request)
            reply = stub.next_reply()
            time.sleep(reply.delay)
            content = reply.body(request) if callable(reply.body) else reply.body
            payload = content if isinstance(content, bytes) else json.dumps(content).encode()
            self.send_response(reply.status)
            headers = {"Content-Type": "application/json", **reply.headers}
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            """Keeps the test output quiet."""

    return Handler


@contextmanager
def serving() -> Iterator[Stub]:
    """A running stub, shut down on exit."""
    stub = Stub()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(stub))
    stub.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()
    try:
        yield stub
    finally:
        server.shutdown()
        server.server_close()


NODE_SEED = bytes([7]) * 32
"""The stub node's hotkey seed: its receipts are really signed, so the client's checks run."""


def node_keypair() -> Any:
    return sr25519.pair_from_seed(NODE_SEED)


def ss58(public: bytes) -> str:
    import hashlib

    raw = bytes([42]) + public
    raw += hashlib.blake2b(b"SS58PRE" + raw, digest_size=64).digest()[:2]
    alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
    number, text = int.from_bytes(raw, "big"), ""
    while number:
        number, digit = divmod(number, 58)
        text = alphabet[digit] + text
    return "1" * (len(raw) - len(raw.lstrip(b"\0"))) + text


NODE_HOTKEY = ss58(node_keypair()[0])


def signed_receipts(nonce: str, calls: List[Dict[str, Any]]) -> Dict[str, Any]:
    """The bundle a node signs for ``calls`` under ``nonce`` (docs/SPEC.md section 15)."""
    nonce_bytes = bytes.fromhex(nonce)
    previous = challenge(nonce_bytes)
    receipts = []
    for index, call in enumerate(calls):
        receipt = {
            "index": index,
            "call": {
                "subnet": call["subnet"],
                "endpoint": call["endpoint"],
                "request_hash": f"{index + 1:02x}" * 32,
                "response_hash": f"{index + 0x41:02x}" * 32,
                "status": call["status"],
                "started_ms": call["started_ms"],
                "duration_ms": int(call["duration_ms"]),
                "cost_rao": call["cost_rao"],
                "cost_usd_micros": call.get("cost_usd_micros") or 0,
                "cost_evidence_hash": cost_evidence_hash([]).hex(),
            },
            "previous": previous.hex(),
        }
        previous = receipt_hash(receipt)
        receipts.append(receipt)
    committed = root(nonce_bytes, receipts)
    signature = sr25519.sign(node_keypair(), signed_message(committed))
    return {"format": 2, "nonce": nonce, "receipts": receipts, "root": committed.hex(), "miner": NODE_HOTKEY, "signature": "0x" + signature.hex()}


def answer(result: Any, tamper: Optional[Callable[[Dict[str, Any]], None]] = None) -> Callable[[Request], Dict[str, Any]]:
    """A successful orchestration answer around ``result`` for the request it answers, with two
    calls, their receipts signed for the request's nonce, and a field the contract does not name
    (clients must ignore it); ``tamper`` may change the answer before it is sent."""

    def build(request: Request) -> Dict[str, Any]:
        calls = [
            {
                "task": "search-moe",
                "subnet": 22,
                "endpoint": "search",
                "attempt": attempt,
                "status": status,
                "outcome": outcome,
                "started_ms": 1_700_000_000_000 + attempt,
                "offset_ms": 1.5,
                "duration_ms": 420.25,
                "cost_rao": 1_000,
                **extra,
            }
            for attempt, status, outcome, extra in [
                (1, 503, "retryable", {"error": "service unavailable"}),
                (2, 200, "ok", {"cost_usd_micros": 1_500}),
            ]
        ]
        built = {
            "result": result,
            "plan": {
                "planner": "deterministic",
                "tasks": [
                    {"id": "search-moe", "capability": "web-search", "query": "mixture of experts arxiv", "required": True},
                    {"id": "x-search", "capability": "x-search", "query": "mixture of experts", "required": False},
                ],
                "fallback_reason": "no LLM planner configured",
            },
            "calls": calls,
            "receipts": signed_receipts(request.body["nonce"], calls),
            "cost": {"subnet_calls_rao": 2_000, "fee_rao": 500, "total_rao": 2_500, "tao_price": {"usd": 300.0, "source": "the static price (--tao-usd): no feed is configured"}},
            "timings": {
                "total_ms": 1250.5,
                "plan_ms": 3,
                "execute_ms": 900,
                "synthesis_ms": 300,
                "in_calls_ms": 840,
                "overhead_ms": 47.5,
                "critical_path_ms": 840,
            },
            "synthesis": {"method": "deterministic", "attempts": 1},
            "skipped_tasks": [{"task": "x-search", "capability": "x-search", "reason": "every subnet offering x-search failed"}],
            "ledger_version": 1,
            "ledger_basis": "head",
            "payment": {"cost_rao": 2_500, "balance_rao": 97_500},
            "served_by": "node-1",
        }
        if tamper:
            tamper(built)
        return built

    return build


def event_stream(result: Any, final: Optional[Dict[str, Any]] = None, tamper: Optional[Callable[[Dict[str, Any]], None]] = None) -> Callable[[Request], bytes]:
    """The node's server-sent events for a run of :func:`answer`: the plan, each call started and
    finished, the synthesis, a keep-alive comment, and the answer (or ``final`` instead)."""

    def build(request: Request) -> bytes:
        built = answer(result, tamper)(request)
        events: List[Dict[str, Any]] = [{"event": "plan", "plan": built["plan"]}]
        for call in built["calls"]:
            events.append({"event": "call_started", "task": call["task"], "subnet": call["subnet"], "endpoint": call["endpoint"], "attempt": call["attempt"]})
            events.append({"event": "call_finished", "call": call})
        events.append({"event": "synthesis", "attempt": 1, "method": "deterministic", "violations": []})
        events.append(final if final is not None else {"event": "answer", **built})
        blocks = [f"event: {event['event']}\ndata: {json.dumps(event)}\n\n" for event in events]
        blocks.insert(2, ": keep-alive\n\n")
        return "".join(blocks).encode()

    return build
