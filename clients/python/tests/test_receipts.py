"""The receipt vectors of docs/SPEC.md (section 15), which the Rust verifier checks too: the
hashes recomputed from the layouts, the signed chain verified, and every tampering refused by
the check the spec names."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Dict

import pytest

from orchestra import ReceiptsInvalid, verify_receipts
from orchestra.receipts import challenge, cost_evidence_hash, receipt_hash, root, signed_message, ss58_decode, tree_root

SPEC = Path(__file__).resolve().parents[3] / "docs" / "SPEC.md"
TAG = "```json vector:"


def vectors() -> Dict[str, Any]:
    blocks: Dict[str, Any] = {}
    lines = iter(SPEC.read_text().splitlines())
    for line in lines:
        name = line.strip()[len(TAG):] if line.strip().startswith(TAG) else None
        if name and name.startswith("receipts_"):
            body = []
            for inner in lines:
                if inner.strip() == "```":
                    break
                body.append(inner)
            blocks[name] = json.loads("\n".join(body))
    return blocks


def test_the_chain_vector_recomputes_and_verifies() -> None:
    chain = vectors()["receipts_chain"]
    nonce = bytes.fromhex(chain["nonce"])
    bundle = chain["bundle"]
    assert challenge(nonce).hex() == chain["challenge"]
    assert bytes.fromhex(chain["challenge_preimage"]) == b"ORCH-RCPT-CHAL" + nonce
    hashes = []
    for receipt, expected in zip(bundle["receipts"], chain["receipts"]):
        assert receipt["previous"] == expected["previous"]
        assert receipt_hash(receipt).hex() == expected["hash"]
        hashes.append(receipt_hash(receipt))
    assert [receipt["call"] for receipt in bundle["receipts"]] == chain["calls"]
    for call, evidence in zip(chain["calls"], chain["cost_evidence"]):
        assert cost_evidence_hash(evidence["headers"]).hex() == evidence["hash"] == call["cost_evidence_hash"]
    assert tree_root(hashes).hex() == chain["tree_root"]
    assert root(nonce, bundle["receipts"]).hex() == chain["root"] == bundle["root"]
    assert signed_message(bytes.fromhex(chain["root"])).hex() == chain["signed_message"]
    assert bundle["miner"] == chain["miner"]
    verify_receipts(bundle, chain["nonce"])
    verify_receipts(bundle, chain["nonce"], miner=chain["miner"])


@pytest.mark.parametrize("case", vectors()["receipts_refusals"], ids=lambda case: case["name"])
def test_every_refusal_vector_is_refused_by_the_check_it_names(case: Dict[str, Any]) -> None:
    chain = vectors()["receipts_chain"]
    bundle = copy.deepcopy(chain["bundle"])
    for pointer, value in case["set"].items():
        *parents, last = [int(part) if part.isdigit() else part for part in pointer.strip("/").split("/")]
        target = bundle
        for part in parents:
            target = target[part]
        target[last] = value
    with pytest.raises(ReceiptsInvalid) as raised:
        verify_receipts(bundle, case.get("verify_with_nonce", chain["nonce"]))
    assert raised.value.check == case["refused_by"]


def test_ss58_addresses_decode_with_their_checksum() -> None:
    alice = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"
    assert ss58_decode(alice).hex() == "d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d"
    with pytest.raises(ValueError, match="checksum"):
        ss58_decode(alice[:-1] + ("Z" if alice[-1] != "Z" else "Y"))
    with pytest.raises(ValueError):
        ss58_decode("0OIl")
