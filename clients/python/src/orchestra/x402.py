"""Paying a node on chain, by x402's ``exact`` scheme on Bittensor: the payer signs, without
broadcasting, ``Balances.transfer_keep_alive(payTo, amount)`` and sends it in the
``PAYMENT-SIGNATURE`` header; the node verifies it, submits it, waits until it is final and
only then does the paid work (its answer carries ``PAYMENT-RESPONSE``).

Terms:
- **payer**: a sr25519 key (a hotkey or coldkey seed, as btcli's wallet files hold it) and the
  URL of a subtensor node the payer trusts (``ws://``, ``wss://``, ``http://`` or ``https://``;
  a WebSocket URL is called over HTTP on the same port, as substrate nodes answer both).
- **requirement**: what the node asks in ``PAYMENT-REQUIRED``: ``{x402Version, resource,
  accepts: [{scheme, network, amount, asset, payTo, ...}]}``.
- **cap**: the most, in rao, the payer signs for one request (``max_rao``): a node that asks
  more is refused before anything is signed.

What is signed comes from the payer's chain, never from the node: the runtime's metadata gives
the call's indices and the transaction extensions, the chain gives its genesis hash, runtime
versions, current block (the era's checkpoint, valid for 64 blocks) and the payer's next nonce.
The node gives only whom to pay and how much, both checked against the cap.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass
from typing import Any, Dict, List, Optional
from urllib.parse import urlsplit, urlunsplit

import httpx
import sr25519

from .receipts import ss58_decode, ss58_encode
from .scale import METADATA_VERSIONS, Reader, Runtime, ScaleError, account_address_variant, compact, ensure_unsigned_compact, read_metadata

ERA_PERIOD = 64
"""Blocks a payment stays valid for, counted from the block it was signed at."""

DEFAULT_MAX_RAO = 100_000_000
"""The cap of a payer configured from the environment without one: 0.1 TAO per request."""

MAX_CHAIN_ANSWER = 16 * 1024 * 1024
"""The largest answer read from the chain (metadata is about 300 KB)."""

_SIGNED_V4 = 0x84
_SR25519 = 1  # the MultiSignature variant
_MAX_UNHASHED_PAYLOAD = 256


class PaymentRefused(Exception):
    """The payer will not pay what was asked, or cannot build the payment; says why."""


@dataclass(frozen=True)
class SignedPayment:
    """A signed, unbroadcast transfer and the header that carries it."""

    extrinsic: bytes
    extrinsic_hash: str
    payer: str
    pay_to: str
    amount_rao: int
    header: str


class Payer:
    """Pays x402 ``exact`` requirements from the account of ``seed`` (32 bytes as hex, a
    wallet's ``secretSeed``) through the subtensor node at ``chain_url``, at most ``max_rao``
    per request; ``network``, when given, must be the network the node names."""

    def __init__(self, seed: str, chain_url: str, max_rao: int, *, network: Optional[str] = None, timeout: float = 30.0) -> None:
        try:
            seed_bytes = bytes.fromhex(seed[2:] if seed.startswith("0x") else seed)
        except ValueError:
            raise ValueError("a payer's seed is 32 bytes as hex") from None
        if len(seed_bytes) != 32:
            raise ValueError("a payer's seed is 32 bytes as hex")
        if max_rao <= 0:
            raise ValueError("max_rao must be positive")
        self._keypair = sr25519.pair_from_seed(seed_bytes)
        self.address = ss58_encode(bytes(self._keypair[0]))
        self.max_rao = max_rao
        self.network = network
        self._chain = _Chain(chain_url, timeout)
        self._runtime: Optional[Runtime] = None
        self._runtime_spec: Optional[int] = None

    @classmethod
    def from_env(cls) -> Optional["Payer"]:
        """The payer ``$ORCHESTRA_PAYER_SEED`` and ``$ORCHESTRA_CHAIN_URL`` name, capped at
        ``$ORCHESTRA_PAYER_MAX_RAO`` (default :data:`DEFAULT_MAX_RAO`); ``None`` unless both
        are set."""
        seed, chain_url = os.environ.get("ORCHESTRA_PAYER_SEED"), os.environ.get("ORCHESTRA_CHAIN_URL")
        if not seed or not chain_url:
            return None
        return cls(seed, chain_url, int(os.environ.get("ORCHESTRA_PAYER_MAX_RAO", DEFAULT_MAX_RAO)), network=os.environ.get("ORCHESTRA_NETWORK"))

    @classmethod
    def from_wallet(cls, wallet: str, hotkey: str, chain_url: str, max_rao: int, *, wallet_path: Optional[str] = None, **options: Any) -> "Payer":
        """The payer of a btcli wallet's hotkey (``<wallet_path>/<wallet>/hotkeys/<hotkey>``,
        ``wallet_path`` defaulting to ``~/.bittensor/wallets``), as btcli writes it unencrypted."""
        root = os.path.expanduser(wallet_path or "~/.bittensor/wallets")
        path = os.path.join(root, wallet, "hotkeys", hotkey)
        if os.stat(path).st_mode & 0o077:
            raise PermissionError(f"{path} is readable by others; chmod 600 it")
        with open(path, encoding="utf-8") as file:
            seed = json.load(file).get("secretSeed")
        if not isinstance(seed, str):
            raise ValueError(f"{path} holds no secretSeed (an encrypted key is not read)")
        return cls(seed, chain_url, max_rao, **options)

    def close(self) -> None:
        self._chain.close()

    def pay(self, required_header: str) -> SignedPayment:
        """Signs the payment a ``PAYMENT-REQUIRED`` header asks for, or raises
        :class:`PaymentRefused` saying why it will not."""
        requirement = _decode_requirement(required_header)
        offer = self._choose(requirement)
        pay_to = offer["payTo"]
        amount = int(offer["amount"])
        extrinsic = self._sign_transfer(ss58_decode(pay_to), amount)
        extrinsic_hash = "0x" + hashlib.blake2b(extrinsic, digest_size=32).hexdigest()
        signature = {
            "x402Version": 2,
            "resource": requirement.get("resource"),
            "accepted": offer,
            "payload": {"signedExtrinsic": "0x" + extrinsic.hex(), "extrinsicHash": extrinsic_hash, "from": self.address},
        }
        header = base64.b64encode(json.dumps(signature, separators=(",", ":")).encode()).decode()
        return SignedPayment(extrinsic, extrinsic_hash, self.address, pay_to, amount, header)

    def _choose(self, requirement: Dict[str, Any]) -> Dict[str, Any]:
        accepts = requirement.get("accepts")
        if not isinstance(accepts, list) or not accepts:
            raise PaymentRefused("the node offers no way to pay on chain (no `accepts`)")
        reasons = []
        for offer in accepts:
            if not isinstance(offer, dict) or offer.get("scheme") != "exact":
                reasons.append("an offer of another scheme than `exact`")
                continue
            if self.network is not None and offer.get("network") != self.network:
                reasons.append(f"network {offer.get('network')!r}, not {self.network!r}")
                continue
            amount = offer.get("amount")
            if not isinstance(amount, str) or not amount.isdigit():
                reasons.append("an amount that is not a whole number of rao")
                continue
            if int(amount) > self.max_rao:
                reasons.append(f"{amount} rao, more than this payer's cap of {self.max_rao}")
                continue
            try:
                ss58_decode(str(offer.get("payTo")))
            except ValueError:
                reasons.append("a payTo that is not an SS58 address")
                continue
            return offer
        raise PaymentRefused("no offer this payer takes: " + "; ".join(reasons))

    def _sign_transfer(self, dest: bytes, amount: int) -> bytes:
        chain = self._chain
        try:
            version = chain.call("state_getRuntimeVersion", [])
            spec_version, tx_version = int(version["specVersion"]), int(version["transactionVersion"])
            runtime = self._runtime_at(spec_version)
            genesis = _hash(chain.call("chain_getBlockHash", [0]))
            header = chain.call("chain_getHeader", [])
            checkpoint_number = int(header["number"], 16) if isinstance(header["number"], str) else int(header["number"])
            checkpoint = _hash(chain.call("chain_getBlockHash", [checkpoint_number]))
            nonce = int(chain.call("system_accountNextIndex", [self.address]))
        except (KeyError, TypeError, ValueError) as error:
            raise PaymentRefused(f"the chain at {chain.url} answered unexpectedly: {error!r}") from None

        try:
            pallet_index, call = runtime.call("Balances", "transfer_keep_alive")
            if [field.name for field in call.fields] != ["dest", "value"]:
                raise ScaleError("Balances.transfer_keep_alive does not take (dest, value)")
            id_variant = account_address_variant(runtime, call.fields[0].type_id, "dest")
            ensure_unsigned_compact(runtime, call.fields[1].type_id, "value")
            call_data = bytes([pallet_index, call.index, id_variant]) + dest + compact(amount)
            explicit, implicit = _extension_values(runtime, _era(checkpoint_number), nonce, spec_version, tx_version, genesis, checkpoint)
        except ScaleError as error:
            raise PaymentRefused(f"cannot sign a transfer for this runtime: {error}") from None

        payload = call_data + explicit + implicit
        if len(payload) > _MAX_UNHASHED_PAYLOAD:
            payload = hashlib.blake2b(payload, digest_size=32).digest()
        signature = bytes(sr25519.sign(self._keypair, payload))
        public = bytes(self._keypair[0])
        body = bytes([_SIGNED_V4, id_variant]) + public + bytes([_SR25519]) + signature + explicit + call_data
        return compact(len(body)) + body

    def _runtime_at(self, spec_version: int) -> Runtime:
        if self._runtime is None or self._runtime_spec != spec_version:
            versions_scale = _bytes(self._chain.call("state_call", ["Metadata_metadata_versions", "0x"]))
            reader = Reader(versions_scale)
            offered = [reader.u32() for _ in range(reader.length())]
            version = next((v for v in METADATA_VERSIONS if v in offered), None)
            if version is None:
                raise PaymentRefused(f"the chain offers metadata versions {offered}; this client reads {list(METADATA_VERSIONS)}")
            answer = Reader(_bytes(self._chain.call("state_call", ["Metadata_metadata_at_version", "0x" + version.to_bytes(4, "little").hex()])))
            if not answer.option():
                raise PaymentRefused(f"the chain has no metadata of version {version}")
            try:
                self._runtime = read_metadata(answer.bytes())
            except ScaleError as error:
                raise PaymentRefused(f"the chain's metadata does not read: {error}") from None
            self._runtime_spec = spec_version
        return self._runtime


def _extension_values(runtime: Runtime, era: bytes, nonce: int, spec_version: int, tx_version: int, genesis: bytes, checkpoint: bytes):
    """Each extension's explicit value (in the extrinsic) and implicit value (only signed), in
    the runtime's order; an extension not known here must have empty values."""
    explicit, implicit = b"", b""
    for extension in runtime.extensions:
        name = extension.identifier
        if name == "CheckSpecVersion":
            implicit += spec_version.to_bytes(4, "little")
        elif name == "CheckTxVersion":
            implicit += tx_version.to_bytes(4, "little")
        elif name == "CheckGenesis":
            implicit += genesis
        elif name in ("CheckMortality", "CheckEra"):
            explicit += era
            implicit += checkpoint
        elif name == "CheckNonce":
            explicit += compact(nonce)
        elif name == "ChargeTransactionPayment":
            explicit += compact(0)  # no tip
        elif name == "CheckMetadataHash":
            explicit += b"\x00"  # the check disabled, so the implicit digest is None
            implicit += b"\x00"
        elif not (runtime.is_empty(extension.explicit) and runtime.is_empty(extension.implicit)):
            raise ScaleError(f"the transaction extension {name} carries values this client does not know")
    return explicit, implicit


def _era(current: int, period: int = ERA_PERIOD) -> bytes:
    """A mortal era of ``period`` blocks born at block ``current``, encoded as FRAME does."""
    phase = current % period
    quantize = max(period >> 12, 1)
    low = min(max((period & -period).bit_length() - 2, 1), 15)
    return (low | ((phase // quantize) << 4)).to_bytes(2, "little")


def _decode_requirement(header: str) -> Dict[str, Any]:
    try:
        requirement = json.loads(base64.b64decode(header.strip(), validate=True))
    except (ValueError, TypeError):
        raise PaymentRefused("PAYMENT-REQUIRED is not base64 of JSON") from None
    if not isinstance(requirement, dict) or requirement.get("x402Version") != 2:
        raise PaymentRefused("PAYMENT-REQUIRED is not an x402 version 2 requirement")
    return requirement


def _hash(value: Any) -> bytes:
    data = _bytes(value)
    if len(data) != 32:
        raise ValueError(f"a block hash is 32 bytes, not {len(data)}")
    return data


def _bytes(value: Any) -> bytes:
    if not isinstance(value, str) or not value.startswith("0x"):
        raise ValueError(f"expected 0x-prefixed hex, got {value!r:.80}")
    return bytes.fromhex(value[2:])


class _Chain:
    """JSON-RPC calls to a subtensor node over HTTP POST."""

    def __init__(self, url: str, timeout: float) -> None:
        parts = urlsplit(url)
        scheme = {"ws": "http", "wss": "https", "http": "http", "https": "https"}.get(parts.scheme)
        if scheme is None or not parts.hostname:
            raise ValueError(f"a chain URL is ws://, wss://, http:// or https://, not {url!r}")
        self.url = urlunsplit((scheme, parts.netloc, parts.path or "/", parts.query, ""))
        self._http = httpx.Client(timeout=timeout, follow_redirects=False)
        self._id = 0

    def close(self) -> None:
        self._http.close()

    def call(self, method: str, params: List[Any]) -> Any:
        self._id += 1
        try:
            with self._http.stream("POST", self.url, json={"jsonrpc": "2.0", "id": self._id, "method": method, "params": params}) as response:
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > MAX_CHAIN_ANSWER:
                        raise PaymentRefused(f"the chain's answer to {method} is over {MAX_CHAIN_ANSWER} bytes")
        except httpx.HTTPError as error:
            raise PaymentRefused(f"cannot reach the chain at {self.url}: {error!r}") from None
        if response.status_code != 200:
            raise PaymentRefused(f"the chain at {self.url} answered {method} with HTTP {response.status_code}")
        try:
            answer = json.loads(bytes(body))
        except ValueError:
            raise PaymentRefused(f"the chain's answer to {method} is not JSON") from None
        if not isinstance(answer, dict):
            raise PaymentRefused(f"the chain's answer to {method} is not a JSON-RPC response")
        if "error" in answer:
            raise PaymentRefused(f"the chain refused {method}: {answer['error']}")
        return answer.get("result")
