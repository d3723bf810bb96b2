"""Verification of an orchestration's receipts, as ``docs/SPEC.md`` section 15 specifies them.

Terms:
- **bundle**: the answer's ``receipts``: ``format``, ``nonce``, ``receipts`` (each ``index``,
  ``call`` and ``previous``), ``root``, ``miner`` (an SS58 address) and ``signature``.
- **nonce**: the 32 bytes, as 64 hex digits, the client sent with its request; the receipts
  chain from it, so none can have been made before the client asked.

:func:`verify_receipts` runs the spec's checks in order and raises
:class:`~orchestra.errors.ReceiptsInvalid` naming the first that fails (``unknown_format``,
``wrong_nonce``, ``index_mismatch``, ``broken_link``, ``root_mismatch``, ``bad_signature``).
"""

from __future__ import annotations

import hashlib
import struct
from typing import Any, Dict, List, Optional

import sr25519
from blake3 import blake3

from .errors import ReceiptsInvalid

FORMAT = 2
"""The receipt format this client verifies."""

_ZERO = bytes(32)
_SS58_PREFIX = 42
_BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def _tagged(tag: bytes, *parts: bytes) -> bytes:
    assert len(tag) == 14
    hasher = blake3(tag)
    for part in parts:
        hasher.update(part)
    return hasher.digest()


def challenge(nonce: bytes) -> bytes:
    """The ``previous`` of receipt 0."""
    return _tagged(b"ORCH-RCPT-CHAL", nonce)


def receipt_hash(receipt: Dict[str, Any]) -> bytes:
    """The hash of one receipt over the layout of the spec (every field, ``previous`` included)."""
    call = receipt["call"]
    endpoint = call["endpoint"].encode()
    return _tagged(
        b"ORCH-RCPT-CAL2",
        struct.pack(">Q", receipt["index"]),
        struct.pack(">H", call["subnet"]),
        struct.pack(">I", len(endpoint)),
        endpoint,
        _hash(call["request_hash"], "request_hash"),
        _hash(call["response_hash"], "response_hash"),
        struct.pack(">H", call["status"]),
        struct.pack(">Q", call["started_ms"]),
        struct.pack(">Q", call["duration_ms"]),
        struct.pack(">Q", call["cost_rao"]),
        struct.pack(">Q", call["cost_usd_micros"]),
        _hash(call["cost_evidence_hash"], "cost_evidence_hash"),
        _hash(receipt["previous"], "previous"),
    )


def cost_evidence_hash(headers: List[List[str]]) -> bytes:
    """The hash of a call's cost evidence: the ``[name, value]`` response headers its cost was
    read from, names lowercased, sorted."""
    pairs = sorted((name.lower().encode(), value.encode()) for name, value in headers)
    parts = [struct.pack(">I", len(pairs))]
    for name, value in pairs:
        parts += [struct.pack(">I", len(name)), name, struct.pack(">I", len(value)), value]
    return _tagged(b"ORCH-RCPT-COST", *parts)


def _node(left: bytes, right: bytes) -> bytes:
    return blake3(b"\x01" + left + right).digest()


def tree_root(leaves: List[bytes]) -> bytes:
    """The tree of the spec's section 4: odd levels pair their last node with itself."""
    level = list(leaves)
    if not level:
        return _ZERO
    while len(level) > 1:
        level = [_node(level[i], level[min(i + 1, len(level) - 1)]) for i in range(0, len(level), 2)]
    return level[0]


def root(nonce: bytes, receipts: List[Dict[str, Any]]) -> bytes:
    """The root committing to ``receipts`` under ``nonce``."""
    tree = tree_root([receipt_hash(receipt) for receipt in receipts])
    return _tagged(b"ORCH-RCPT-ROOT", nonce, struct.pack(">Q", len(receipts)), tree)


def signed_message(root_hash: bytes) -> bytes:
    """What the node signs."""
    return b"ORCH-RCPT-SIGN" + root_hash


def ss58_decode(address: str) -> bytes:
    """The 32-byte public key of an SS58 address with Bittensor's prefix (42)."""
    number = 0
    for character in address:
        digit = _BASE58.find(character)
        if digit < 0:
            raise ValueError(f"{address!r} is not base58")
        number = number * 58 + digit
    raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
    raw = b"\x00" * (len(address) - len(address.lstrip("1"))) + raw
    if len(raw) != 35 or raw[0] != _SS58_PREFIX:
        raise ValueError(f"{address!r} is not an SS58 address with prefix {_SS58_PREFIX}")
    checksum = hashlib.blake2b(b"SS58PRE" + raw[:33], digest_size=64).digest()[:2]
    if raw[33:] != checksum:
        raise ValueError(f"{address!r} has a wrong checksum")
    return raw[1:33]


def ss58_encode(public: bytes) -> str:
    """The SS58 address, with Bittensor's prefix (42), of a 32-byte public key."""
    if len(public) != 32:
        raise ValueError("a public key is 32 bytes")
    raw = bytes([_SS58_PREFIX]) + public
    raw += hashlib.blake2b(b"SS58PRE" + raw, digest_size=64).digest()[:2]
    number = int.from_bytes(raw, "big")
    digits = ""
    while number:
        number, digit = divmod(number, 58)
        digits = _BASE58[digit] + digits
    return "1" * (len(raw) - len(raw.lstrip(b"\x00"))) + digits


def verify_receipts(bundle: Dict[str, Any], nonce: str, miner: Optional[str] = None) -> None:
    """Checks ``bundle`` against the ``nonce`` (64 hex digits) the client sent, and against the
    node's hotkey ``miner`` when the caller knows it; raises
    :class:`~orchestra.errors.ReceiptsInvalid` at the first check that fails."""
    try:
        _verify(bundle, nonce, miner)
    except ReceiptsInvalid:
        raise
    except (KeyError, TypeError, ValueError, struct.error) as error:
        raise ReceiptsInvalid("malformed", f"the receipts are not in the format of docs/SPEC.md section 15: {error!r}") from None


def _verify(bundle: Dict[str, Any], nonce: str, miner: Optional[str]) -> None:
    if bundle.get("format") != FORMAT:
        raise ReceiptsInvalid("unknown_format", f"the receipts are in format {bundle.get('format')!r}; this client verifies format {FORMAT}")
    sent = _hash(nonce, "nonce")
    claimed_nonce = _hash(bundle["nonce"], "nonce")
    if claimed_nonce != sent:
        raise ReceiptsInvalid("wrong_nonce", f"the receipts answer nonce {bundle['nonce']}, not the {nonce} sent")
    receipts = bundle["receipts"]
    expected_previous = challenge(sent)
    for position, receipt in enumerate(receipts):
        if receipt["index"] != position:
            raise ReceiptsInvalid("index_mismatch", f"the receipt at position {position} claims index {receipt['index']}")
        if _hash(receipt["previous"], "previous") != expected_previous:
            raise ReceiptsInvalid("broken_link", f"receipt {position} does not link to the one before it (or, for 0, to the nonce)")
        expected_previous = receipt_hash(receipt)
    computed = root(sent, receipts)
    if _hash(bundle["root"], "root") != computed:
        raise ReceiptsInvalid("root_mismatch", f"the receipts' root {bundle['root']} is not the root {computed.hex()} of the receipts")
    signature = bytes.fromhex(_strip(bundle["signature"]))
    try:
        public = ss58_decode(bundle["miner"])
        valid = len(signature) == 64 and sr25519.verify(signature, signed_message(computed), public)
    except (ValueError, TypeError):
        valid = False
    if not valid:
        raise ReceiptsInvalid("bad_signature", f"the signature does not verify under {bundle['miner']}")
    if miner is not None and bundle["miner"] != miner:
        raise ReceiptsInvalid("wrong_miner", f"the receipts are signed by {bundle['miner']}, not by the node's hotkey {miner}")


def _strip(text: str) -> str:
    return text[2:] if text.startswith("0x") else text


def _hash(text: str, field: str) -> bytes:
    raw = bytes.fromhex(_strip(text))
    if len(raw) != 32:
        raise ValueError(f"{field} is {len(raw)} bytes, not 32")
    return raw
