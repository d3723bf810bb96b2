"""Runs against a real Orchestra node: the one at ``ORCHESTRA_URL``, paid for with the account
of ``ORCHESTRA_API_KEY``. Skipped unless both are set (the workspace's end-to-end test starts a
node and sets them)."""

from __future__ import annotations

import os
import re

import pytest

from orchestra import Client

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(
        not (os.environ.get("ORCHESTRA_URL") and os.environ.get("ORCHESTRA_API_KEY")),
        reason="needs a running node: set ORCHESTRA_URL and ORCHESTRA_API_KEY",
    ),
]

HEX_256 = re.compile(r"[0-9a-f]{64}")


def test_papers_on_mixture_of_experts() -> None:
    client = Client()
    objective = "Find recent arxiv papers on mixture of experts"
    schema = {"papers": [{"title": "str", "url": "str", "summary": "str"}]}

    first = client.run(objective, schema)
    second = client.run(objective, schema)

    for run in (first, second):
        assert len(run.result.papers) >= 1
        for paper in run.result.papers:
            assert isinstance(paper.title, str) and paper.title.strip()
        assert HEX_256.fullmatch(run.receipts["root"])
        assert len(run.receipts["receipts"]) == len(run.calls)
        assert run.cost.total_rao == run.cost.subnet_calls_rao + run.cost.fee_rao
    assert second.payment.balance_rao < first.payment.balance_rao


def test_gpu_pricing_recommendation() -> None:
    result = Client().execute(
        objective="Research RunPod, Vast.ai and Lambda GPU pricing and recommend a price point",
        target_schema={
            "competitors": [{"name": "str", "pricing": "dict", "strengths": "list"}],
            "recommendation": {"price_point": "float", "rationale": "str"},
        },
    )

    assert len(result.competitors) == 3
    assert isinstance(result.recommendation.price_point, float)
    assert result.recommendation.price_point > 0
