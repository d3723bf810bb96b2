"""A stub Orchestra server on 127.0.0.1, and answers in the contract's shapes."""

from __future__ import annotations

import json
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, Iterator, List, Optional, Union


@dataclass
class Request:
    """One request the stub received; ``headers`` has lower-case names, ``body`` is the parsed
    JSON."""

    method: str
    path: str
    headers: Dict[str, str]
    body: Any


@dataclass
class Reply:
    """What the stub answers: ``body`` is sent as JSON unless it is bytes; ``delay`` is how long,
    in seconds, to wait before answering."""

    status: int
    body: Union[Dict[str, Any], bytes]
    delay: float = 0.0


@dataclass
class Stub:
    """A local HTTP server that records every request and answers each with the next queued
    reply (a 500 when none is left)."""

    url: str = ""
    requests: List[Request] = field(default_factory=list)
    replies: List[Reply] = field(default_factory=list)

    def reply(self, status: int, body: Union[Dict[str, Any], bytes], delay: float = 0.0) -> None:
        self.replies.append(Reply(status, body, delay))

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
            stub.requests.append(Request(self.command, self.path, headers, body))
            reply = stub.next_reply()
            time.sleep(reply.delay)
            payload = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json")
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


def answer(result: Any, nonce: Optional[str] = None) -> Dict[str, Any]:
    """A successful orchestration answer around ``result``, with two calls, their receipts, and a
    field the contract does not name (clients must ignore it)."""
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
            (0, 503, "retried", {"error": "service unavailable"}),
            (1, 200, "ok", {"cost_usd_micros": 1_500}),
        ]
    ]
    receipts = [{"index": index, "call": {"subnet": 22, "endpoint": "search", "status": call["status"]}, "previous": "ab" * 32} for index, call in enumerate(calls)]
    return {
        "result": result,
        "plan": {
            "planner": "deterministic",
            "tasks": [{"id": "search-moe", "capability": "web-search", "query": "mixture of experts arxiv"}],
            "fallback_reason": "no LLM planner configured",
        },
        "calls": calls,
        "receipts": {
            "nonce": nonce or "00" * 32,
            "receipts": receipts,
            "root": "cd" * 32,
            "miner": "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY",
            "signature": "0x" + "ef" * 64,
        },
        "cost": {"subnet_calls_rao": 2_000, "fee_rao": 500, "total_rao": 2_500},
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
        "payment": {"cost_rao": 2_500, "balance_rao": 97_500},
        "served_by": "node-1",
    }
