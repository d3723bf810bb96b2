"""The x402 payer offline: the runtime facts it reads from the real metadata, the era it signs,
and every refusal made before anything is signed or the chain is asked."""

from __future__ import annotations

import base64
import json
import os
import pathlib
import socket

import pytest

from orchestra.receipts import ss58_decode, ss58_encode
from orchestra.scale import Reader, ScaleError, compact, read_metadata
from orchestra.x402 import Payer, PaymentRefused, _era

# The runtime metadata file the Rust crates read, at the same place or where the same variable says.
FINNEY = pathlib.Path(os.environ.get("ORCHESTRA_SUBTENSOR_METADATA", pathlib.Path(__file__).resolve().parents[3] / ".." / "shared" / "subtensor" / "finney-spec393.scale"))
SEED = "0x" + "11" * 32
PAY_TO = "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty"


def closed_port_url() -> str:
    """A chain URL nothing answers at: a payer that refuses before asking the chain never notices."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"ws://127.0.0.1:{port}"


def requirement(**offer: object) -> str:
    accepted = {"scheme": "exact", "network": "bittensor:finney", "amount": "1000", "asset": "TAO", "payTo": PAY_TO, **offer}
    body = {"x402Version": 2, "resource": {"url": "/v1/orchestrate"}, "accepts": [accepted]}
    return base64.b64encode(json.dumps(body).encode()).decode()


@pytest.mark.skipif(not FINNEY.exists(), reason=f"needs the runtime metadata at {FINNEY}")
def test_the_real_runtime_names_the_transfer_and_its_extensions() -> None:
    runtime = read_metadata(FINNEY.read_bytes())
    pallet, call = runtime.call("Balances", "transfer_keep_alive")
    # Subtensor's Balances pallet and pallet_balances' call, as every block explorer shows them.
    assert (pallet, call.index) == (5, 3)
    assert [field.name for field in call.fields] == ["dest", "value"]
    names = [extension.identifier for extension in runtime.extensions]
    for known in ("CheckSpecVersion", "CheckTxVersion", "CheckGenesis", "CheckMortality", "CheckNonce", "ChargeTransactionPayment", "CheckMetadataHash"):
        assert known in names
    assert names.index("CheckMortality") < names.index("CheckNonce"), "the runtime's order is kept"
    with pytest.raises(ScaleError, match="no call"):
        runtime.call("Balances", "transfer_everything_to_me")


@pytest.mark.skipif(not FINNEY.exists(), reason=f"needs the runtime metadata at {FINNEY}")
def test_truncated_or_foreign_metadata_is_refused() -> None:
    data = FINNEY.read_bytes()
    with pytest.raises(ScaleError):
        read_metadata(data[: len(data) // 2])
    with pytest.raises(ScaleError, match="magic"):
        read_metadata(b"nope" + data[4:])
    with pytest.raises(ScaleError, match="version 13"):
        read_metadata(b"meta\x0d" + data[5:])


def test_compact_integers_round_trip_at_every_width() -> None:
    for value in (0, 1, 63, 64, 16383, 16384, 2**30 - 1, 2**30, 2**64 - 1, 2**128 - 1):
        assert Reader(compact(value)).compact() == value
    assert compact(1) == b"\x04" and compact(64) == b"\x01\x01"


def test_a_hostile_length_is_refused_not_allocated() -> None:
    with pytest.raises(ScaleError, match="length"):
        Reader(compact(2**40) + b"abc").bytes()


def test_the_era_is_framed_as_frame_encodes_it() -> None:
    # Era::mortal(64, 42): period 2^6 (low bits 5), phase 42.
    assert _era(42) == (5 | 42 << 4).to_bytes(2, "little")
    assert _era(1010) == (5 | (1010 % 64) << 4).to_bytes(2, "little")


def test_ss58_addresses_round_trip() -> None:
    assert ss58_encode(ss58_decode(PAY_TO)) == PAY_TO


@pytest.mark.parametrize(
    "offer, reason",
    [
        ({"amount": "1000001"}, "cap"),
        ({"scheme": "upto"}, "scheme"),
        ({"network": "bittensor:testnet"}, "network"),
        ({"payTo": "not-an-address"}, "payTo"),
        ({"amount": "-5"}, "whole number"),
    ],
)
def test_an_offer_the_payer_does_not_take_is_refused_before_signing(offer: dict, reason: str) -> None:
    payer = Payer(SEED, closed_port_url(), max_rao=1_000_000, network="bittensor:finney")
    with pytest.raises(PaymentRefused, match=reason):
        payer.pay(requirement(**offer))


def test_a_malformed_requirement_is_refused() -> None:
    payer = Payer(SEED, closed_port_url(), max_rao=1_000_000)
    for header in ("%%%", base64.b64encode(b"[1]").decode(), base64.b64encode(json.dumps({"x402Version": 1, "accepts": []}).encode()).decode()):
        with pytest.raises(PaymentRefused):
            payer.pay(header)


def test_an_unreachable_chain_is_named() -> None:
    url = closed_port_url()
    payer = Payer(SEED, url, max_rao=1_000_000)
    with pytest.raises(PaymentRefused, match="cannot reach the chain"):
        payer.pay(requirement())


def test_a_payer_takes_only_a_32_byte_seed_and_a_chain_url() -> None:
    with pytest.raises(ValueError):
        Payer("0x1234", closed_port_url(), max_rao=1)
    with pytest.raises(ValueError):
        Payer(SEED, "ftp://chain.example", max_rao=1)
    with pytest.raises(ValueError):
        Payer(SEED, closed_port_url(), max_rao=0)


def test_a_wallet_file_readable_by_others_is_refused(tmp_path: pathlib.Path) -> None:
    hotkeys = tmp_path / "owner" / "hotkeys"
    hotkeys.mkdir(parents=True)
    key = hotkeys / "default"
    key.write_text(json.dumps({"secretSeed": SEED}))
    key.chmod(0o644)
    with pytest.raises(PermissionError, match="chmod 600"):
        Payer.from_wallet("owner", "default", closed_port_url(), 1, wallet_path=str(tmp_path))
    key.chmod(0o600)
    payer = Payer.from_wallet("owner", "default", closed_port_url(), 1, wallet_path=str(tmp_path))
    assert payer.address == Payer(SEED, closed_port_url(), 1).address
