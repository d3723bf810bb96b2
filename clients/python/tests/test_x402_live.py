"""Paying by x402 from Python, against a real node that settles on chain (``ORCHESTRA_X402_URL``)
and the chain it settles on (``ORCHESTRA_CHAIN_URL``, a loopback stand-in of subtensor), from the
account of ``ORCHESTRA_X402_SEED`` to ``ORCHESTRA_PAY_TO``. Skipped unless they are set (the
workspace's end-to-end test starts the chain and the node and sets them).

Balances are read from the chain itself (``System.Account``), so each test sees what moved."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import uuid

import httpx
import pytest

from orchestra import AsyncClient, Client, Payer, PaymentRequiredError
from orchestra.receipts import ss58_decode

ENVIRONMENT = ("ORCHESTRA_X402_URL", "ORCHESTRA_CHAIN_URL", "ORCHESTRA_X402_SEED", "ORCHESTRA_PAY_TO")
pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(not all(os.environ.get(name) for name in ENVIRONMENT), reason="needs a node that settles on chain: set " + ", ".join(ENVIRONMENT)),
]

SEED_OBJECTIVE = "Find trending AI papers and summarize key contributions"
SEED_SCHEMA = {"papers": [{"title": "str", "summary": "str"}], "synthesis": "str"}
CAP = 100_000_000

# twox128("System") ++ twox128("Account"): the storage prefix of every account's balance.
SYSTEM_ACCOUNT = bytes.fromhex("26aa394eea5630e07c48ae0c9558cef7b99d880ec681799c0cf30e8886371da9")


@pytest.fixture(autouse=True)
def no_other_payment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The paid node's API key and any payer in the environment stay out of these runs."""
    for name in ("ORCHESTRA_API_KEY", "ORCHESTRA_PAYER_SEED"):
        monkeypatch.delenv(name, raising=False)


def chain_call(method: str, params: list) -> object:
    url = os.environ["ORCHESTRA_CHAIN_URL"].replace("ws://", "http://", 1)
    answer = httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params}, timeout=10).json()
    assert "error" not in answer, answer
    return answer["result"]


def free_balance(address: str) -> int:
    account = ss58_decode(address)
    key = SYSTEM_ACCOUNT + hashlib.blake2b(account, digest_size=16).digest() + account
    value = chain_call("state_getStorage", ["0x" + key.hex()])
    if value is None:
        return 0
    info = bytes.fromhex(str(value)[2:])
    return int.from_bytes(info[16:24], "little")  # after nonce, consumers, providers, sufficients


def payer(max_rao: int = CAP) -> Payer:
    return Payer(os.environ["ORCHESTRA_X402_SEED"], os.environ["ORCHESTRA_CHAIN_URL"], max_rao, network="bittensor:finney")


def client(**options: object) -> Client:
    return Client(api_key=None, base_url=os.environ["ORCHESTRA_X402_URL"], payer=payer(), **options)


def test_the_seed_snippet_pays_on_chain_and_moves_exactly_what_it_paid(monkeypatch: pytest.MonkeyPatch) -> None:
    # As written, with the payer and the node named by the environment, as an API key would be.
    monkeypatch.setenv("ORCHESTRA_URL", os.environ["ORCHESTRA_X402_URL"])
    monkeypatch.setenv("ORCHESTRA_PAYER_SEED", os.environ["ORCHESTRA_X402_SEED"])
    from orchestra import Client

    address, pay_to = payer().address, os.environ["ORCHESTRA_PAY_TO"]
    before, payee_before = free_balance(address), free_balance(pay_to)
    result = Client().execute(objective=SEED_OBJECTIVE, target_schema=SEED_SCHEMA)
    assert result.papers and all(paper.title.strip() for paper in result.papers)
    assert result.synthesis.strip()
    paid = before - free_balance(address)
    assert paid > 0 and free_balance(pay_to) - payee_before == paid, "what left the payer reached the payee"


def test_a_run_names_its_settled_transfer_and_the_credit_it_left() -> None:
    address = payer().address
    before = free_balance(address)
    run = client().run(SEED_OBJECTIVE, SEED_SCHEMA)
    assert run.payment is not None and run.payment.transaction and run.payment.transaction.startswith("0x")
    assert run.payment.credit_of == address
    assert run.payment.paid_rao == before - free_balance(address)
    assert run.payment.cost_rao == run.cost.total_rao <= run.payment.paid_rao


def test_a_price_over_the_cap_is_not_paid() -> None:
    address = payer().address
    before, nonce = free_balance(address), chain_call("system_accountNextIndex", [address])
    with Client(api_key=None, base_url=os.environ["ORCHESTRA_X402_URL"], payer=payer(max_rao=1)) as capped:
        with pytest.raises(PaymentRequiredError, match="cap of 1"):
            capped.run(SEED_OBJECTIVE, SEED_SCHEMA)
    assert free_balance(address) == before and chain_call("system_accountNextIndex", [address]) == nonce, "nothing was signed or sent"


def test_a_payment_offered_twice_pays_once() -> None:
    url = os.environ["ORCHESTRA_X402_URL"] + "/v1/orchestrate"
    body = {"objective": SEED_OBJECTIVE, "target_schema": SEED_SCHEMA}
    asked = httpx.post(url, json=body, timeout=30)
    assert asked.status_code == 402
    payment = payer().pay(asked.headers["payment-required"])
    address = payer().address
    before = free_balance(address)
    headers = {"PAYMENT-SIGNATURE": payment.header}
    first = httpx.post(url, json=body, headers={**headers, "Idempotency-Key": str(uuid.uuid4())}, timeout=120)
    assert first.status_code == 200, first.text
    settled = json.loads(base64.b64decode(first.headers["payment-response"]))
    assert settled["success"] is True and settled["transaction"] == payment.extrinsic_hash and settled["payer"] == address
    again = httpx.post(url, json=body, headers={**headers, "Idempotency-Key": str(uuid.uuid4())}, timeout=120)
    assert again.status_code == 402 and again.json()["error"]["code"] == "payment_invalid", again.text
    assert before - free_balance(address) == payment.amount_rao, "the transfer moved once"


def test_the_async_client_and_a_stream_pay_too() -> None:
    address = payer().address
    before = free_balance(address)

    async def paid_run() -> int:
        async with AsyncClient(api_key=None, base_url=os.environ["ORCHESTRA_X402_URL"], payer=payer()) as async_client:
            run = await async_client.run(SEED_OBJECTIVE, SEED_SCHEMA)
            assert run.payment is not None and run.payment.paid_rao
            return run.payment.paid_rao

    paid = asyncio.run(paid_run())
    events = list(client().stream(SEED_OBJECTIVE, SEED_SCHEMA))
    answer = events[-1].run
    assert answer is not None and answer.payment is not None and answer.payment.paid_rao
    assert {event.type for event in events} >= {"plan", "answer"}
    assert before - free_balance(address) == paid + answer.payment.paid_rao


def test_an_unpaid_request_is_told_how_to_pay() -> None:
    with Client(api_key=None, base_url=os.environ["ORCHESTRA_X402_URL"], payer=None) as unpaid:
        with pytest.raises(PaymentRequiredError) as refused:
            unpaid.run(SEED_OBJECTIVE, SEED_SCHEMA)
    assert refused.value.code == "payment_required"
