"""The client against a stub server: the request it sends, the run it returns, and the error
each kind of failure raises."""

from __future__ import annotations

import socket
from typing import Any, Dict, Type

import pytest

from orchestra import (
    BudgetExhausted,
    Client,
    DeadlineExceeded,
    OrchestraError,
    PaymentRequired,
    ResultInvalid,
    Run,
    SchemaError,
)
from stub_server import Stub, answer

PAPERS_SCHEMA = {"papers": [{"title": "str", "url": "str", "summary": "str"}]}
PAPERS = {
    "papers": [
        {"title": "Switch Transformers", "url": "https://arxiv.org/abs/2101.03961", "summary": "Sparse experts at scale."},
        {"title": "Mixtral of Experts", "url": "https://arxiv.org/abs/2401.04088", "summary": "A sparse MoE language model."},
    ]
}
OBJECTIVE = "Find recent arxiv papers on mixture of experts"


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
    assert request.body == {"objective": OBJECTIVE, "target_schema": PAPERS_SCHEMA}


def test_run_sends_the_options_and_returns_every_part(stub: Stub) -> None:
    nonce = "0123456789abcdef" * 4
    sent = answer(PAPERS, nonce=nonce)
    stub.reply(200, sent)

    run = Client(api_key="key-1", base_url=stub.url + "/").run(OBJECTIVE, PAPERS_SCHEMA, budget_rao=10_000, deadline_ms=30_000, nonce=nonce)

    assert stub.requests[0].path == "/v1/orchestrate"
    assert stub.requests[0].body == {
        "objective": OBJECTIVE,
        "target_schema": PAPERS_SCHEMA,
        "budget_rao": 10_000,
        "deadline_ms": 30_000,
        "nonce": nonce,
    }
    assert isinstance(run, Run)
    assert run.result.papers[1].title == "Mixtral of Experts"
    assert run.plan.planner == "deterministic"
    assert run.plan.tasks[0].capability == "web-search"
    assert run.plan.tasks[0].depends_on == [] and run.plan.tasks[0].subject is None
    assert run.plan.fallback_reason == "no LLM planner configured"
    assert [(call.attempt, call.status, call.outcome) for call in run.calls] == [(0, 503, "retried"), (1, 200, "ok")]
    assert run.calls[0].error == "service unavailable" and run.calls[0].cost_usd_micros is None
    assert run.calls[1].cost_usd_micros == 1_500
    assert run.receipts["nonce"] == nonce
    assert len(run.receipts["receipts"]) == len(run.calls)
    assert run.cost.total_rao == run.cost.subnet_calls_rao + run.cost.fee_rao == 2_500
    assert run.timings.total_ms == 1250.5 and isinstance(run.timings.plan_ms, float)
    assert (run.synthesis.method, run.synthesis.attempts) == ("deterministic", 1)
    assert (run.payment.cost_rao, run.payment.balance_rao) == (2_500, 97_500)
    assert run.raw == sent
    assert run.result.model_dump(by_alias=True) == PAPERS


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


def test_a_missing_api_key_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ORCHESTRA_API_KEY", raising=False)
    with pytest.raises(ValueError, match="ORCHESTRA_API_KEY"):
        Client(base_url="http://127.0.0.1:9")


def test_a_bad_schema_is_refused_before_any_request(stub: Stub) -> None:
    with pytest.raises(SchemaError) as raised:
        Client(api_key="k", base_url=stub.url).execute(OBJECTIVE, {"competitors": [{"pricing": "map"}]})
    assert raised.value.path == "competitors[0].pricing"
    assert stub.requests == []


@pytest.mark.parametrize(
    "status, code, details, error_class",
    [
        (402, "payment_required", None, PaymentRequired),
        (402, "insufficient_credits", {"balance_rao": 10, "price_rao": 2_500}, PaymentRequired),
        (402, "budget_exhausted", {"budget_rao": 1_000, "spent_rao": 1_200}, BudgetExhausted),
        (400, "bad_request", None, OrchestraError),
        (400, "bad_schema", {"path": "competitors[0].pricing"}, OrchestraError),
        (422, "result_invalid", [{"path": "/papers/0/title", "message": "1 is not of type \"string\""}], ResultInvalid),
        (504, "deadline_exceeded", None, DeadlineExceeded),
        (500, "internal", None, OrchestraError),
    ],
)
def test_error_answers_raise_their_error(stub: Stub, status: int, code: str, details: Any, error_class: Type[OrchestraError]) -> None:
    error: Dict[str, Any] = {"code": code, "message": f"it failed: {code}", "hint": "ignored"}
    if details is not None:
        error["details"] = details
    stub.reply(status, {"error": error})

    with pytest.raises(OrchestraError) as raised:
        Client(api_key="k", base_url=stub.url).execute(OBJECTIVE, PAPERS_SCHEMA)

    assert type(raised.value) is error_class
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
    with pytest.raises(OrchestraError) as raised:
        Client(api_key="k", base_url=stub.url).execute(OBJECTIVE, PAPERS_SCHEMA)
    assert type(raised.value) is OrchestraError
    assert (raised.value.status, raised.value.code) == (200, "malformed_response")


def test_a_success_missing_a_part_of_the_contract(stub: Stub) -> None:
    incomplete = answer(PAPERS)
    del incomplete["cost"]
    stub.reply(200, incomplete)
    with pytest.raises(OrchestraError) as raised:
        Client(api_key="k", base_url=stub.url).run(OBJECTIVE, PAPERS_SCHEMA)
    assert raised.value.code == "malformed_response"
    assert "cost" in raised.value.message


def test_a_success_whose_result_does_not_match_the_schema(stub: Stub) -> None:
    stub.reply(200, answer({"papers": [{"title": 1, "url": "u", "summary": "s", "year": 2024}]}))
    with pytest.raises(ResultInvalid) as raised:
        Client(api_key="k", base_url=stub.url).execute(OBJECTIVE, PAPERS_SCHEMA)
    assert (raised.value.status, raised.value.code) == (200, "result_invalid")
    assert sorted(violation["path"] for violation in raised.value.details) == ["/papers/0/title", "/papers/0/year"]
    assert "/papers/0/title" in raised.value.message


def test_a_refused_connection_is_unreachable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    with pytest.raises(OrchestraError) as raised:
        Client(api_key="k", base_url=url).execute(OBJECTIVE, PAPERS_SCHEMA)
    assert (raised.value.status, raised.value.code) == (None, "unreachable")
    assert url in raised.value.message and "refused" in raised.value.message.lower()


def test_no_answer_within_the_timeout(stub: Stub) -> None:
    stub.reply(200, answer(PAPERS), delay=1.0)
    with pytest.raises(OrchestraError) as raised:
        Client(api_key="k", base_url=stub.url, timeout=0.2).execute(OBJECTIVE, PAPERS_SCHEMA)
    assert (raised.value.status, raised.value.code) == (None, "timeout")
    assert "0.2 s" in raised.value.message
