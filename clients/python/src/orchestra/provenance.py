"""Checking a result's provenance, as ``docs/SPEC.md`` section 18 specifies it.

Terms:
- **leaf**: a string, number or boolean of the result, named by its JSON pointer; ``null``
  needs no citation.
- **body**: a subnet's response body as received, by the index of the receipt whose
  ``response_hash`` covers it (the answer's ``evidence`` when the request asked for it).
- **citation**: ``extract`` (the value at a pointer into a body), ``quote`` (a text a body's
  string contains), ``format`` (a format filled from a value in a body), ``objective`` (a text of the request's objective) or ``derived`` (``median``,
  ``min``, ``max`` or ``count`` over other leaves).

:func:`check_provenance` runs the spec's checks in order and raises
:class:`~orchestra.errors.ProvenanceInvalid` naming the first that fails (``unknown_format``,
``not_a_leaf``, ``uncited``, ``no_body``, ``unsupported``) and its leaf.
:func:`check_evidence` first checks each body against its receipt.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any, Dict, List, Optional

from blake3 import blake3

from .errors import ProvenanceInvalid
from .receipts import cost_evidence_hash

FORMAT = 1
"""The provenance format this client checks."""

_PREFIXES = {"is", "has", "have", "supports", "offers", "can"}
_MISSING = object()


def leaves(document: Any, pointer: str = "") -> Dict[str, Any]:
    """Every leaf of ``document`` by JSON pointer."""
    found: Dict[str, Any] = {}
    if isinstance(document, dict):
        for name, member in document.items():
            found.update(leaves(member, f"{pointer}/{_escape(name)}"))
    elif isinstance(document, list):
        for index, element in enumerate(document):
            found.update(leaves(element, f"{pointer}/{index}"))
    elif document is not None:
        found[pointer] = document
    return found


def _escape(name: str) -> str:
    return name.replace("~", "~0").replace("/", "~1")


def _resolve(document: Any, pointer: str) -> Any:
    if pointer == "":
        return document
    if not pointer.startswith("/"):
        return _MISSING
    current = document
    for token in pointer[1:].split("/"):
        token = token.replace("~1", "/").replace("~0", "~")
        if isinstance(current, dict) and token in current:
            current = current[token]
        elif isinstance(current, list) and token.isdigit() and (token == "0" or not token.startswith("0")) and int(token) < len(current):
            current = current[int(token)]
        else:
            return _MISSING
    return current


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-9 * max(abs(a), abs(b), 1.0)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _same(leaf: Any, found: Any) -> bool:
    if _is_number(leaf) and isinstance(found, str):
        try:
            return _close(float(found.strip()), float(leaf))
        except ValueError:
            return False
    if _is_number(leaf) and _is_number(found):
        return _close(float(leaf), float(found))
    return type(leaf) is type(found) and leaf == found


def _words(text: str) -> List[str]:
    return [word.lower() for word in re.split(r"[^\w]|_", text) if word]


def _identifier_words(name: str) -> List[str]:
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", name)
    return _words(spaced)


def _is_keyword(word: str, keyword: str) -> bool:
    return word == keyword or (word.endswith("s") and word[:-1] == keyword)


def _names_field(quote: str, field: str) -> bool:
    words = _identifier_words(field)
    if len(words) > 1 and words[0] in _PREFIXES:
        words = words[1:]
    quoted = _words(quote)
    return bool(words) and all(any(_is_keyword(found, word) for found in quoted) for word in words)


def _field_of(pointer: str) -> str:
    for token in reversed(pointer.split("/")):
        if token and not token.isdigit():
            return token.replace("~1", "/").replace("~0", "~")
    return ""


def _writes_number(quote: str, number: float) -> bool:
    plain = quote.replace(",", "")
    for numeral in re.findall(r"\d+(?:\.\d+)?", plain):
        if _close(float(numeral), number):
            return True
    return False


def _quote_supports(pointer: str, value: Any, text: str) -> Optional[str]:
    if isinstance(value, bool):
        if value and _names_field(text, _field_of(pointer)):
            return None
        return "only `true` can be quoted, with its field's words"
    if isinstance(value, str):
        return None if value == text else "a quoted string leaf must be the quote"
    if _is_number(value):
        return None if _writes_number(text, float(value)) else f"the quote does not write {value}"
    return "not a leaf"


def _text(value: Any) -> Optional[str]:
    if isinstance(value, str):
        return value if value.strip() else None
    if _is_number(value):
        return json.dumps(value)
    return None


def fill(template: str, value: Any) -> Optional[str]:
    """``template`` with each ``{pointer}`` replaced by the text at that pointer in ``value``;
    ``None`` when one has no text."""
    filled = []
    rest = template
    while "{" in rest:
        open_at = rest.index("{")
        close_at = rest.find("}", open_at)
        if close_at < 0:
            return None
        filled.append(rest[:open_at])
        found = _resolve(value, rest[open_at + 1 : close_at])
        text = None if found is _MISSING else _text(found)
        if text is None:
            return None
        filled.append(text)
        rest = rest[close_at + 1 :]
    filled.append(rest)
    return "".join(filled)


def _derive(rule: str, names: List[str], document: Any, found: Dict[str, Any]) -> float:
    if rule == "count":
        if len(names) != 1 or not isinstance(_resolve(document, names[0]), list):
            raise ValueError("count names one array")
        return float(len(_resolve(document, names[0])))
    values = []
    for name in names:
        leaf = found.get(name, _MISSING)
        if not _is_number(leaf):
            raise ValueError(f"`{name}` is not a number leaf")
        values.append(float(leaf))
    if not values or rule not in ("median", "min", "max"):
        raise ValueError(f"cannot derive {rule!r} from {names}")
    values.sort()
    if rule == "min":
        return values[0]
    if rule == "max":
        return values[-1]
    middle = len(values) // 2
    return values[middle] if len(values) % 2 else (values[middle - 1] + values[middle]) / 2


def check_provenance(document: Any, provenance: Dict[str, Any], bodies: Dict[int, bytes], objective: str) -> None:
    """Raises :class:`ProvenanceInvalid` unless every leaf of ``document`` has a citation that
    holds against ``bodies`` (by receipt index) and ``objective``."""
    if provenance.get("format") != FORMAT:
        raise ProvenanceInvalid("unknown_format", None, f"provenance format {provenance.get('format')} is not {FORMAT}")
    found = leaves(document)
    cited: Dict[str, Any] = provenance.get("leaves", {})
    for pointer in cited:
        if pointer not in found:
            raise ProvenanceInvalid("not_a_leaf", pointer, f"`{pointer}` is cited but is not a leaf of the result")
    parsed: Dict[int, Any] = {}
    for pointer in sorted(found, key=lambda name: name.encode()):
        value = found[pointer]
        citation = cited.get(pointer)
        if not isinstance(citation, dict) or len(citation) != 1:
            raise ProvenanceInvalid("uncited", pointer, f"`{pointer}` has no citation")
        (kind, fields), = citation.items()

        def unsupported(reason: str) -> ProvenanceInvalid:
            return ProvenanceInvalid("unsupported", pointer, f"`{pointer}` does not hold: {reason}")

        if kind in ("extract", "quote", "format"):
            receipt = fields.get("receipt")
            if receipt not in bodies:
                raise ProvenanceInvalid("no_body", pointer, f"`{pointer}` cites receipt {receipt}, whose body is not given")
            if receipt not in parsed:
                try:
                    parsed[receipt] = json.loads(bodies[receipt])
                except ValueError:
                    parsed[receipt] = _MISSING
            at = _resolve(parsed[receipt], fields.get("at", ""))
            if at is _MISSING:
                raise unsupported(f"receipt {receipt}'s body has nothing at `{fields.get('at')}`")
            if kind == "extract":
                if not _same(value, at):
                    raise unsupported(f"receipt {receipt} holds {at!r}, not {value!r}")
            elif kind == "format":
                filled = fill(fields.get("format", ""), at)
                if filled is None or value != filled:
                    raise unsupported(f"the format fills as {filled!r}, not {value!r}")
            else:
                text = fields.get("text", "")
                if not isinstance(at, str) or text not in at:
                    raise unsupported(f"the quote is not in receipt {receipt}'s `{fields.get('at')}`")
                reason = _quote_supports(pointer, value, text)
                if reason:
                    raise unsupported(reason)
        elif kind == "objective":
            text = fields.get("text", "")
            if text not in objective or value != text:
                raise unsupported(f"{value!r} is not the objective's {text!r}")
        elif kind == "derived":
            try:
                derived = _derive(fields.get("rule", ""), list(fields.get("from", [])), document, found)
            except ValueError as error:
                raise unsupported(str(error)) from None
            if not _is_number(value) or not _close(float(value), derived):
                raise unsupported(f"{fields.get('rule')} is {derived}, not {value}")
        else:
            raise unsupported(f"unknown citation {kind!r}")


def check_evidence(answer: Dict[str, Any], objective: str) -> None:
    """Checks an answer that carries ``evidence``: each body hashes to its receipt's
    ``response_hash``, its cost headers to the receipt's ``cost_evidence_hash`` and its request
    to the receipt's ``request_hash`` (section 15), then the result's provenance holds against
    the bodies."""
    receipts = {receipt["index"]: receipt for receipt in answer["receipts"]["receipts"]}
    bodies: Dict[int, bytes] = {}
    for entry in answer.get("evidence") or []:
        body = base64.b64decode(entry["base64"], validate=True)
        receipt = receipts.get(entry["receipt"])
        expected = receipt["call"]["response_hash"] if receipt else None
        actual = blake3(b"ORCH-RCPT-BODY" + body).hexdigest()
        if expected != actual:
            raise ProvenanceInvalid("body_mismatch", None, f"the body given for receipt {entry['receipt']} does not hash to its response_hash")
        if cost_evidence_hash(entry.get("cost_headers") or []).hex() != receipt["call"]["cost_evidence_hash"]:
            raise ProvenanceInvalid("body_mismatch", None, f"the cost headers given for receipt {entry['receipt']} do not hash to its cost_evidence_hash")
        request = base64.b64decode(entry.get("request") or "", validate=True)
        if blake3(b"ORCH-RCPT-BODY" + request).hexdigest() != receipt["call"]["request_hash"]:
            raise ProvenanceInvalid("body_mismatch", None, f"the request given for receipt {entry['receipt']} does not hash to its request_hash")
        bodies[entry["receipt"]] = body
    check_provenance(answer["result"], answer["provenance"], bodies, objective)
