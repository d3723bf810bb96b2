"""The client against a stub server: the request it sends, the run it returns, the receipts it
checks, its retries, and the error each kind of failure raises."""

from __future__ import annotations

import asyncio
import re
import socket
from typing import Any, Dict, Type

import pytest

from orchestra import (
    AsyncClient,
    Event,
    BudgetExhausted,
    Client,
    DeadlineExceeded,
    InsufficientCredit,
    MalformedResponse,
    OrchestraError,
    PaymentRequired,
    PaymentRequiredError,
    RateLimited,
    ReceiptsInvalid,
    ResultInvalid,
    Run,
    SchemaError,
    SubnetsFailed,
    Timeout,
    TooManyOrchestrations,
    Unprocessable,
    Unreachable,
)
from stub_server import NODE_HOTKEY, Stub, answer, event_stream

PAPERS_SCHEMA = {"papers": [{"title": "str", "url": "str", "summary": "str"}]}
PAPERS = {
    "papers": [
        {"title": "Switch Transformers", "url": "https://arxiv.org/abs/2101.03961", "summary": "Sparse experts at scale."},
        {"title": "Mixtral of Experts", "url": "https://arxiv.org/abs/2401.04088", "summary": "A sparse MoE language model."},
    ]
}
OBJECTIVE = "Find recent arxiv papers on mixture of experts"
HEX_256 = re.compile(r"[0-9a-f]{64}")


def test_readme_example(stub: Stub) -> None:
    stub.reply(200, answer(PAPERS))
    from orchestra import Client

    result = Client(api_key="key-1", base_url=stub.url).execute(objective=OBJECTIVE, target_schema=PAPERS_SCHEMA)
    print(result.papers[0].title)

    assert result.papers[0].title == "Switch Transformers"
    assert result.papers[1].url == "https://arxiv.org/abs/2401.04088"
    [request] = stub.requests
    assert request.method == "POST"
    assert request.path == "/v1/orchestrate"
    assert request.headers["authorization"] == "Bearer key-1"
    assert request.headers["content-type"] == "application/json"
    nonce = request.body.pop("nonce")
    assert HEX_256.fullmatch(nonce), "a fresh 32-byte nonce goes with every request"
    assert request.body == {"objective": OBJECTIVE, "target_schema": PAPERS_SCHEMA}
    assert request.headers["idempotency-key"], "every request carries an idempotency key"


def test_run_sends_the_options_and_returns_every_part(stub: Stub) -> None:
    stub.reply(200, answer(PAPERS))

    run = Client(api_key="key-1", base_url=stub.url + "/").run(OBJECTIVE, PAPERS_SCHEMA, budget_rao=10_000, deadline_ms=30_000, idempotency_key="order-7")

    [request] = stub.requests
    assert request.path == "/v1/orchestrate"
    assert request.headers["idempotency-key"] == "order-7"
    assert request.body["nonce"] == Client(base_url=stub.url)._prepare(OBJECTIVE, PAPERS_SCHEMA, None, None, "order-7").nonce, "a named request has the nonce of its key"
    assert {name: request.body[name] for name in ("budget_rao", "deadline_ms")} == {"budget_rao": 10_000, "deadline_ms": 30_000}
    assert isinstance(run, Run)
    assert run.result.papers[1].title == "Mixtral of Experts"
    assert run.plan.planner == "deterministic"
    assert [(task.capability, task.required) for task in run.plan.tasks] == [("web-search", True), ("x-search", False)]
    assert run.plan.tasks[0].depends_on == [] and run.plan.tasks[0].subject is None
    assert run.plan.fallback_reason == "no LLM planner configured"
    assert [(call.attempt, call.status, call.outcome) for call in run.calls] == [(1, 503, "retryable"), (2, 200, "ok")]
    assert run.calls[0].error == "service unavailable" and run.calls[0].cost_usd_micros is None
    assert run.calls[1].cost_usd_micros == 1_500
    assert run.receipts["nonce"] == request.body["nonce"]
    assert run.receipts["miner"] == NODE_HOTKEY
    assert [skipped.task for skipped in run.skipped_tasks] == ["x-search"]
    assert run.cost.total_rao == run.cost.subnet_calls_rao + run.cost.fee_rao == 2_500
    assert run.timings.total_ms == 1250.5 and isinstance(run.timings.plan_ms, float)
    assert (run.synthesis.method, run.synthesis.attempts) == ("deterministic", 1)
    assert run.payment is not None and (run.payment.cost_rao, run.payment.balance_rao) == (2_500, 97_500)
    assert (run.ledger_version, run.ledger_basis, run.replayed) == (1, "head", False)
    assert run.raw["served_by"] == "node-1"
    assert run.result.model_dump(by_alias=True) == PAPERS


def test_an_unpaid_answer_has_no_payment_and_the_key_is_optional(stub: Stub, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ORCHESTRA_API_KEY", raising=False)

    def unpaid(built: Dict[str, Any]) -> None:
        del built["payment"]
        built["cost"]["fee_rao"] = 0
        built["cost"]["total_rao"] = 2_000

    stub.reply(200, answer(PAPERS, tamper=unpaid))
    run = Client(base_url=stub.url).run(OBJECTIVE, PAPERS_SCHEMA)
    assert run.payment is None
    assert "authorization" not in stub.requests[0].headers


def test_full_form_schema_and_aliases_round_trip(stub: Stub) -> None:
    schema = {
        "type": "object",
        "properties": {"schema": {"type": "string"}, "price-usd": {"type": "number"}, "tags": {"type": "array", "items": {"enum": ["a", "b"]}}},
        "required": ["schema"],
    }
    document = {"schema": "v1", "price-usd": 3, "tags": ["b"]}
    stub.reply(200, answer(document))

    result = Client(api_key="k", base_url=stub.url).execute("anything", schema)

    assert (result.schema_, result.price_usd, result.tags) == ("v1", 3.0, ["b"])
    assert result.model_dump(by_alias=True) == {"schema": "v1", "price-usd": 3.0, "tags": ["b"]}
    assert stub.requests[0].body["target_schema"] == schema


def test_settings_come_from_the_environment(stub: Stub, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORCHESTRA_URL", stub.url)
    monkeypatch.setenv("ORCHESTRA_API_KEY", "from-env")
    stub.reply(200, answer(PAPERS))

    client = Client()

    assert (client.base_url, client.api_key, client.timeout) == (stub.url, "from-env", 120.0)
    client.execute(OBJECTIVE, PAPERS_SCHEMA)
    assert stub.requests[0].headers["authorization"] == "Bearer from-env"


def test_a_bad_schema_is_refused_before_any_request(stub: Stub) -> None:
    with pytest.raises(SchemaError) as raised:
        Client(api_key="k", base_url=stub.url).execute(OBJECTIVE, {"competitors": [{"pricing": "map"}]})
    assert raised.value.path == "competitors[0].pricing"
    assert stub.requests == []


@pytest.mark.parametrize(
    "status, code, details, error_class, family",
    [
        (402, "payment_required", None, PaymentRequiredError, PaymentRequired),
        (402, "insufficient_credit", {"balance_rao": 10, "price_rao": 2_500}, InsufficientCredit, PaymentRequired),
        (422, "budget_exhausted", {"budget_rao": 1_000, "spent_rao": 1_200}, BudgetExhausted, Unprocessable),
        (422, "result_invalid", [{"path": "/papers/0/title", "message": "1 is not of type \"string\""}], ResultInvalid, Unprocessable),
        (502, "subnets_failed", {"calls": []}, SubnetsFailed, OrchestraError),
        (504, "deadline_exceeded", None, DeadlineExceeded, OrchestraError),
        # A code newer than the client raises by its status.
        (402, "a_code_from_the_future", None, PaymentRequired, PaymentRequired),
    ],
)
def test_error_answers_raise_their_error(stub: Stub, status: int, code: str, details: Any, error_class: Type[OrchestraError], family: Type[OrchestraError]) -> None:
    error: Dict[str, Any] = {"code": code, "message": f"it failed: {code}", "hint": "ignored"}
    if details is not None:
        error["details"] = details
    stub.reply(status, {"error": error})

    with pytest.raises(OrchestraError) as raised:
        Client(api_key="k", base_url=stub.url, max_retries=0).execute(OBJECTIVE, PAPERS_SCHEMA)

    assert type(raised.value) is error_class
    assert isinstance(raised.value, family)
    assert (raised.value.status, raised.value.code, raised.value.message, raised.value.details) == (status, code, f"it failed: {code}", details)
    assert code in str(raised.value) and str(status) in str(raised.value)


def test_an_error_status_without_an_error_body(stub: Stub) -> None:
    stub.reply(502, b"<html>Bad Gateway</html>")
    with pytest.raises(OrchestraError) as raised:
        Client(api_key="k", base_url=stub.url).execute(OBJECTIVE, PAPERS_SCHEMA)
    assert (raised.value.status, raised.value.code) == (502, "http_502")
    assert "Bad Gateway" in raised.value.message


@pytest.mark.parametrize("body", [b"{not json", b"", b"[1, 2]"])
def test_a_malformed_success_body(stub: Stub, body: bytes) -> None:
    stub.reply(200, body)
    with pytest.raises(MalformedResponse) as raised:
        Client(api_key="k", base_url=stub.url).execute(OBJECTIVE, PAPERS_SCHEMA)
    assert (raised.value.status, raised.value.code) == (200, "malformed_response")


def test_a_success_missing_a_part_of_the_contract(stub: Stub) -> None:
    stub.reply(200, answer(PAPERS, tamper=lambda built: built.pop("cost")))
    with pytest.raises(MalformedResponse) as raised:
        Client(api_key="k", base_url=stub.url).run(OBJECTIVE, PAPERS_SCHEMA)
    assert "cost" in raised.value.message


def test_a_success_whose_result_does_not_match_the_schema(stub: Stub) -> None:
    stub.reply(200, answer({"papers": [{"title": 1, "url": "u", "summary": "s", "year": 2024}]}))
    with pytest.raises(ResultInvalid) as raised:
        Client(api_key="k", base_url=stub.url).execute(OBJECTIVE, PAPERS_SCHEMA)
    assert (raised.value.status, raised.value.code) == (200, "result_invalid")
    assert sorted(violation["path"] for violation in raised.value.details) == ["/papers/0/title", "/papers/0/year"]
    assert "/papers/0/title" in raised.value.message


def _other_nonce(built: Dict[str, Any]) -> None:
    built["receipts"]["nonce"] = "43" * 32


def _cheaper_call(built: Dict[str, Any]) -> None:
    built["receipts"]["receipts"][-1]["call"]["cost_rao"] = 0


def _reordered(built: Dict[str, Any]) -> None:
    built["receipts"]["receipts"].reverse()


def _resigned_by_a_stranger(built: Dict[str, Any]) -> None:
    built["receipts"]["miner"] = "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty"


def _a_receipt_dropped(built: Dict[str, Any]) -> None:
    built["receipts"]["receipts"].pop()


@pytest.mark.parametrize(
    "tamper, check",
    [
        (_other_nonce, "wrong_nonce"),
        (_cheaper_call, "root_mismatch"),
        (_reordered, "index_mismatch"),
        (_resigned_by_a_stranger, "bad_signature"),
        (_a_receipt_dropped, "root_mismatch"),
        (lambda built: built["receipts"].update(format=1), "unknown_format"),
        (lambda built: built["receipts"].update(root="zz"), "malformed"),
    ],
)
def test_receipts_that_do_not_verify_are_refused(stub: Stub, tamper: Any, check: str) -> None:
    stub.reply(200, answer(PAPERS, tamper=tamper))
    with pytest.raises(ReceiptsInvalid) as raised:
        Client(api_key="k", base_url=stub.url).run(OBJECTIVE, PAPERS_SCHEMA)
    assert (raised.value.code, raised.value.check) == ("receipts_invalid", check)


def test_receipts_signed_by_another_key_than_the_nodes_are_refused(stub: Stub) -> None:
    stub.reply(200, answer(PAPERS))
    stub.reply(200, answer(PAPERS))
    assert Client(api_key="k", base_url=stub.url, node_hotkey=NODE_HOTKEY).run(OBJECTIVE, PAPERS_SCHEMA).receipts["miner"] == NODE_HOTKEY
    with pytest.raises(ReceiptsInvalid) as raised:
        Client(api_key="k", base_url=stub.url, node_hotkey="5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty").run(OBJECTIVE, PAPERS_SCHEMA)
    assert raised.value.check == "wrong_miner"


def test_a_busy_node_is_retried_with_the_same_key_and_nonce(stub: Stub) -> None:
    busy = {"error": {"code": "too_many_orchestrations", "message": "the node is running its limit"}}
    stub.reply(429, busy, headers={"Retry-After": "0"})
    stub.reply(200, answer(PAPERS))

    run = Client(api_key="k", base_url=stub.url).run(OBJECTIVE, PAPERS_SCHEMA)

    assert run.result.papers[0].title == "Switch Transformers"
    first, second = stub.requests
    assert first.headers["idempotency-key"] == second.headers["idempotency-key"]
    assert first.body == second.body, "the retry is the same request, nonce included"


def test_retries_stop_at_max_retries_and_other_errors_are_not_retried(stub: Stub) -> None:
    busy = {"error": {"code": "too_many_orchestrations", "message": "busy"}}
    for _ in range(3):
        stub.reply(429, busy, headers={"Retry-After": "0"})
    with pytest.raises(TooManyOrchestrations) as raised:
        Client(api_key="k", base_url=stub.url, max_retries=2).run(OBJECTIVE, PAPERS_SCHEMA)
    assert isinstance(raised.value, RateLimited) and raised.value.retry_after == 0.0
    assert len(stub.requests) == 3

    stub.requests.clear()
    stub.reply(502, {"error": {"code": "subnets_failed", "message": "every subnet failed"}})
    with pytest.raises(SubnetsFailed):
        Client(api_key="k", base_url=stub.url).run(OBJECTIVE, PAPERS_SCHEMA)
    assert len(stub.requests) == 1, "a failure the node ran (and may have charged for) is never retried"


def test_a_replayed_answer_is_marked(stub: Stub) -> None:
    stub.reply(200, answer(PAPERS), headers={"Idempotent-Replayed": "true"})
    assert Client(api_key="k", base_url=stub.url).run(OBJECTIVE, PAPERS_SCHEMA).replayed


def test_a_refused_connection_is_unreachable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    with pytest.raises(Unreachable) as raised:
        Client(api_key="k", base_url=url, max_retries=0).execute(OBJECTIVE, PAPERS_SCHEMA)
    assert (raised.value.status, raised.value.code) == (None, "unreachable")
    assert url in raised.value.message


def test_no_answer_within_the_timeout(stub: Stub) -> None:
    stub.reply(200, answer(PAPERS), delay=1.0)
    with pytest.raises(Timeout) as raised:
        Client(api_key="k", base_url=stub.url, timeout=0.2, max_retries=0).execute(OBJECTIVE, PAPERS_SCHEMA)
    assert (raised.value.status, raised.value.code) == (None, "timeout")
    assert "0.2 s" in raised.value.message


def test_the_async_client_runs_and_checks_alike(stub: Stub) -> None:
    stub.reply(200, answer(PAPERS))
    stub.reply(200, answer(PAPERS, tamper=_cheaper_call))

    async def both() -> None:
        async with AsyncClient(api_key="k", base_url=stub.url) as client:
            result = await client.execute(OBJECTIVE, PAPERS_SCHEMA)
            assert result.papers[0].title == "Switch Transformers"
            with pytest.raises(ReceiptsInvalid):
                await client.run(OBJECTIVE, PAPERS_SCHEMA)

    asyncio.run(both())
    assert len(stub.requests) == 2
    assert stub.requests[0].body["nonce"] != stub.requests[1].body["nonce"]


SSE = {"Content-Type": "text/event-stream"}


def test_a_streamed_run_yields_its_events_and_ends_with_the_checked_run(stub: Stub) -> None:
    stub.reply(200, event_stream(PAPERS), headers=SSE)

    events = list(Client(api_key="k", base_url=stub.url).stream(OBJECTIVE, PAPERS_SCHEMA))

    assert [event.type for event in events] == ["plan", "call_started", "call_finished", "call_started", "call_finished", "synthesis", "answer"]
    assert stub.requests[0].headers["accept"] == "text/event-stream"
    assert events[0].data["plan"]["tasks"][0]["id"] == "search-moe"
    assert events[2].data["call"]["status"] == 503
    final = events[-1].run
    assert final is not None and final.result.papers[0].title == "Switch Transformers"
    assert all(event.run is None for event in events[:-1])


def test_run_with_a_callback_streams_and_returns_the_run(stub: Stub) -> None:
    stub.reply(200, event_stream(PAPERS), headers=SSE)
    seen: list = []
    run = Client(api_key="k", base_url=stub.url).run(OBJECTIVE, PAPERS_SCHEMA, on_event=seen.append)
    assert run.result.papers[1].title == "Mixtral of Experts"
    assert [event.type for event in seen][0] == "plan" and seen[-1].type == "answer"


def test_a_stream_ending_in_an_error_raises_it_after_the_events_before(stub: Stub) -> None:
    failed = {"event": "error", "status": 502, "error": {"code": "subnets_failed", "message": "every subnet failed"}}
    stub.reply(200, event_stream(PAPERS, final=failed), headers=SSE)
    seen: list = []
    with pytest.raises(SubnetsFailed) as raised:
        for event in Client(api_key="k", base_url=stub.url).stream(OBJECTIVE, PAPERS_SCHEMA):
            seen.append(event.type)
    assert raised.value.status == 502
    assert seen[0] == "plan" and "answer" not in seen


def test_a_streamed_answer_is_checked_like_any_other(stub: Stub) -> None:
    stub.reply(200, event_stream(PAPERS, tamper=_cheaper_call), headers=SSE)
    with pytest.raises(ReceiptsInvalid):
        list(Client(api_key="k", base_url=stub.url).stream(OBJECTIVE, PAPERS_SCHEMA))
    stub.reply(402, {"error": {"code": "insufficient_credit", "message": "no credit"}})
    with pytest.raises(InsufficientCredit):
        list(Client(api_key="k", base_url=stub.url).stream(OBJECTIVE, PAPERS_SCHEMA))


def test_the_async_client_streams_alike(stub: Stub) -> None:
    stub.reply(200, event_stream(PAPERS), headers=SSE)

    async def collect() -> list:
        async with AsyncClient(api_key="k", base_url=stub.url) as client:
            return [event async for event in client.stream(OBJECTIVE, PAPERS_SCHEMA)]

    events = asyncio.run(collect())
    assert events[0].type == "plan" and isinstance(events[-1], Event) and events[-1].run is not None
