"""The provenance vectors of docs/SPEC.md (section 18), which the Rust checker checks too: the
cited result holds, and every change of a value or a citation is refused by the check and at
the leaf the spec names."""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path
from typing import Any, Dict

import pytest
from blake3 import blake3

from orchestra import ProvenanceInvalid, check_provenance
from orchestra.receipts import cost_evidence_hash
from orchestra.provenance import check_evidence

SPEC = Path(__file__).resolve().parents[3] / "docs" / "SPEC.md"
TAG = "```json vector:provenance_check"


def vector() -> Dict[str, Any]:
    lines = iter(SPEC.read_text().splitlines())
    for line in lines:
        if line.strip() == TAG:
            body = []
            for inner in lines:
                if inner.strip() == "```":
                    break
                body.append(inner)
            return json.loads("\n".join(body))
    raise AssertionError("no provenance vector in the spec")


def bodies(case: Dict[str, Any]) -> Dict[int, bytes]:
    return {int(receipt): body.encode() for receipt, body in case["bodies"].items()}


def set_member(document: Any, pointer: str, value: Any) -> None:
    parent_pointer, name = pointer.rsplit("/", 1)
    parent = document
    for token in [token for token in parent_pointer.split("/") if token]:
        parent = parent[int(token)] if isinstance(parent, list) else parent[token.replace("~1", "/").replace("~0", "~")]
    if isinstance(parent, list):
        parent[int(name)] = value
    else:
        parent[name.replace("~1", "/").replace("~0", "~")] = value


def test_the_cited_result_holds() -> None:
    case = vector()
    check_provenance(case["document"], case["provenance"], bodies(case), case["objective"])


@pytest.mark.parametrize("refusal", vector()["refused"], ids=lambda refusal: refusal["why"])
def test_each_change_is_refused_where_the_spec_says(refusal: Dict[str, Any]) -> None:
    case = vector()
    document = copy.deepcopy(case["document"])
    provenance = copy.deepcopy(case["provenance"])
    for pointer, value in refusal.get("set", {}).items():
        set_member(document, pointer, value)
    for pointer, citation in refusal.get("cite", {}).items():
        provenance["leaves"][pointer] = citation
    with pytest.raises(ProvenanceInvalid) as raised:
        check_provenance(document, provenance, bodies(case), case["objective"])
    assert (raised.value.check, raised.value.leaf) == (refusal["error"], refusal["leaf"])


def test_evidence_must_hash_to_its_receipt() -> None:
    case = vector()
    cost_headers = [["x-desearch-cost-usd", "0.002500"]]
    request = b'POST https://api.desearch.ai/desearch/ai/search\n{"prompt": "GPU prices"}'
    hashed = lambda data: blake3(b"ORCH-RCPT-BODY" + data).hexdigest()  # noqa: E731
    receipts = [
        {"index": int(receipt), "call": {"response_hash": hashed(body.encode()), "request_hash": hashed(request), "cost_evidence_hash": cost_evidence_hash(cost_headers).hex()}}
        for receipt, body in case["bodies"].items()
    ]
    evidence = [
        {"receipt": int(receipt), "base64": base64.b64encode(body.encode()).decode(), "cost_headers": cost_headers, "request": base64.b64encode(request).decode()}
        for receipt, body in case["bodies"].items()
    ]
    answer = {"result": case["document"], "provenance": case["provenance"], "receipts": {"receipts": receipts}, "evidence": evidence}
    check_evidence(answer, case["objective"])
    # A body changed after the call (a cheaper price written in) no longer hashes to its receipt.
    forged = copy.deepcopy(answer)
    forged["evidence"][1]["base64"] = base64.b64encode(case["bodies"]["1"].replace("$1.87", "$1.07").encode()).decode()
    with pytest.raises(ProvenanceInvalid) as raised:
        check_evidence(forged, case["objective"])
    assert raised.value.check == "body_mismatch"
    # A cost header changed (a lower cost claimed than the subnet reported) no longer hashes either.
    cheaper = copy.deepcopy(answer)
    cheaper["evidence"][0]["cost_headers"] = [["x-desearch-cost-usd", "0.000100"]]
    with pytest.raises(ProvenanceInvalid, match="cost_evidence_hash"):
        check_evidence(cheaper, case["objective"])
    # A request other than the one sent (another query shown to a replaying validator) does not
    # hash to the receipt's request_hash.
    other = copy.deepcopy(answer)
    other["evidence"][0]["request"] = base64.b64encode(request.replace(b"GPU", b"TPU")).decode()
    with pytest.raises(ProvenanceInvalid, match="request_hash"):
        check_evidence(other, case["objective"])
