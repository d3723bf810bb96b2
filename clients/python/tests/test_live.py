"""Runs against real Orchestra nodes: the paid one at ``ORCHESTRA_URL``, paid for with the account
of ``ORCHESTRA_API_KEY``, and a default one (no fee) at ``ORCHESTRA_FREE_URL``. Skipped unless
they are set (the workspace's end-to-end test starts both nodes and sets them)."""

from __future__ import annotations

import asyncio
import copy
import os
import re
import uuid
from typing import Any, Dict, Set

import httpx
import pytest

from orchestra import ERRORS, AsyncClient, Client, InsufficientCredit, ProvenanceInvalid, UnknownApiKey
from orchestra import models
from orchestra.provenance import check_evidence, leaves

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(
        not (os.environ.get("ORCHESTRA_URL") and os.environ.get("ORCHESTRA_API_KEY") and os.environ.get("ORCHESTRA_FREE_URL")),
        reason="needs running nodes: set ORCHESTRA_URL, ORCHESTRA_API_KEY and ORCHESTRA_FREE_URL",
    ),
]

HEX_256 = re.compile(r"[0-9a-f]{64}")
SEED_OBJECTIVE = "Find trending AI papers and summarize key contributions"
SEED_SCHEMA = {"papers": [{"title": "str", "summary": "str"}], "synthesis": "str"}


def test_the_seed_snippet_as_written_on_a_default_node(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORCHESTRA_URL", os.environ["ORCHESTRA_FREE_URL"])
    from orchestra import Client

    result = Client(api_key="...").execute(
        objective="Find trending AI papers and summarize key contributions",
        target_schema={"papers": [{"title": "str", "summary": "str"}], "synthesis": "str"},
    )

    assert result.papers and all(paper.title.strip() for paper in result.papers)
    assert result.synthesis.strip()


def test_the_seed_snippet_on_a_paid_node_charges_the_key() -> None:
    client = Client()
    first = client.run(SEED_OBJECTIVE, SEED_SCHEMA)
    second = client.run(SEED_OBJECTIVE, SEED_SCHEMA)
    for run in (first, second):
        assert run.result.papers
        assert HEX_256.fullmatch(run.receipts["root"])
        assert len(run.receipts["receipts"]) == len(run.calls)
        assert run.cost.total_rao == run.cost.subnet_calls_rao + run.cost.fee_rao
        assert run.payment is not None and run.payment.cost_rao == run.cost.total_rao
    assert second.payment.balance_rao == first.payment.balance_rao - second.cost.total_rao


def test_a_retry_with_the_same_idempotency_key_is_charged_once() -> None:
    client = Client()
    key = str(uuid.uuid4())
    first = client.run(SEED_OBJECTIVE, SEED_SCHEMA, idempotency_key=key)
    # Another client, as another process would be: the key alone makes it the same request.
    again = Client().run(SEED_OBJECTIVE, SEED_SCHEMA, idempotency_key=key)
    assert again.replayed and not first.replayed
    assert again.raw == first.raw
    after = client.run(SEED_OBJECTIVE, SEED_SCHEMA)
    assert after.payment.balance_rao == first.payment.balance_rao - after.cost.total_rao


def test_the_gpu_pricing_recommendation() -> None:
    result = Client().execute(
        objective="Research RunPod, Vast.ai and Lambda GPU pricing and recommend a price point",
        target_schema={
            "competitors": [{"name": "str", "pricing": "dict", "strengths": "list"}],
            "recommendation": {"price_point": "float", "rationale": "str"},
        },
    )
    assert len(result.competitors) == 3
    assert result.recommendation.price_point > 0


def test_a_cited_result_is_checked_against_the_bodies_and_a_changed_value_is_refused() -> None:
    objective = "Research RunPod, Vast.ai and Lambda GPU pricing and recommend a price point"
    schema = {"competitors": [{"name": "str", "pricing": "dict"}], "recommendation": {"price_point": "float"}}
    # The client checked every body against its receipt and every citation, written by the
    # node's Rust writer, with its own checker.
    run = Client(include_evidence=True).run(objective, schema)
    answer = run.raw
    assert answer["evidence"] and set(answer["provenance"]["leaves"]) == set(leaves(answer["result"]))
    prices = [competitor["pricing"]["H100 SXM"] for competitor in answer["result"]["competitors"]]
    assert prices == [2.69, 1.87, 2.99]
    changed = copy.deepcopy(answer)
    changed["result"]["competitors"][1]["pricing"]["H100 SXM"] = 0.99
    with pytest.raises(ProvenanceInvalid) as raised:
        check_evidence(changed, objective)
    assert (raised.value.check, raised.value.leaf) == ("unsupported", "/competitors/1/pricing/H100 SXM")


def test_the_async_client_on_both_nodes() -> None:
    async def run() -> None:
        async with AsyncClient() as paid, AsyncClient(api_key="...", base_url=os.environ["ORCHESTRA_FREE_URL"]) as free:
            runs = await asyncio.gather(paid.run(SEED_OBJECTIVE, SEED_SCHEMA), free.run(SEED_OBJECTIVE, SEED_SCHEMA))
        assert runs[0].payment is not None and runs[1].payment is None

    asyncio.run(run())


def test_a_paid_node_refuses_a_key_it_does_not_know_and_a_budget_beyond_the_credit() -> None:
    with pytest.raises(UnknownApiKey):
        Client(api_key="ok_" + "0" * 64).execute(SEED_OBJECTIVE, SEED_SCHEMA)
    with pytest.raises(InsufficientCredit) as raised:
        Client().execute(SEED_OBJECTIVE, SEED_SCHEMA, budget_rao=10**18)
    assert raised.value.status == 402


def _document() -> Dict[str, Any]:
    return httpx.get(os.environ["ORCHESTRA_URL"] + "/openapi.json").json()


def test_every_error_code_of_the_node_has_its_class() -> None:
    codes = _document()["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]
    assert set(codes["enum"]) == set(ERRORS), "one class per code the node can send, and no other"
    for described in codes["x-codes"]:
        error_class = ERRORS[described["code"]]
        assert error_class.code_name == described["code"]
        assert error_class(described["status"], described["code"], "m").status == described["status"]


def _model_fields(model: Any) -> Dict[str, bool]:
    return {name: field.is_required() for name, field in model.model_fields.items() if name not in ("raw", "replayed")}


def _schema_fields(schema: Dict[str, Any]) -> Dict[str, bool]:
    required: Set[str] = set(schema.get("required", []))
    return {name: name in required for name in schema["properties"]}


def test_the_models_are_the_documents_schemas() -> None:
    answer = _document()["components"]["schemas"]["OrchestrateAnswer"]
    properties = answer["properties"]
    pairs = [
        (models.Run, answer),
        (models.Plan, properties["plan"]),
        (models.Task, properties["plan"]["properties"]["tasks"]["items"]),
        (models.Call, properties["calls"]["items"]),
        (models.Cost, properties["cost"]),
        (models.Timings, properties["timings"]),
        (models.Synthesis, properties["synthesis"]),
        (models.SkippedTask, properties["skipped_tasks"]["items"]),
        (models.Payment, properties["payment"]),
    ]
    for model, schema in pairs:
        fields = _schema_fields(schema)
        if model is models.Task:
            # Absent means "required" on the wire (a planner that says nothing); the node always sends it.
            fields["required"] = False
            fields["depends_on"] = False
        assert _model_fields(model) == fields, f"{model.__name__} differs from the document"


def test_a_streamed_run_reports_every_call_before_its_answer() -> None:
    events = list(Client().stream(SEED_OBJECTIVE, SEED_SCHEMA))
    types = [event.type for event in events]
    assert types[0] == "plan" and types[-1] == "answer"
    run = events[-1].run
    assert run is not None and run.result.papers
    assert types.count("call_finished") == len(run.calls)
    assert [event.data["call"] for event in events if event.type == "call_finished"] == [call.model_dump(exclude_none=True) for call in run.calls]
