"""The compact form of a target schema and its conversion to the full form, by the same rules
as the server.

Terms:
- **Full form**: a JSON Schema document.
- **Compact form**: a shorthand such as
  ``{"competitors": [{"name": "str", "pricing": "dict"}], "recommendation": {"price_point": "float"}}``:
  - an object maps to ``{"type": "object", "properties": ..., "required": [...],
    "additionalProperties": false}``; every field is required unless its type name ends in
    ``?`` (``"str?"``), which means the field may be absent (not that it may be ``null``);
  - a one-element list ``[X]`` maps to ``{"type": "array", "items": X}``;
  - a type name maps to a JSON Schema type: ``str``/``string``, ``int``/``integer``,
    ``float``/``number``, ``bool``/``boolean``, ``dict``/``object`` (any object),
    ``list``/``array`` (any array), and ``any`` (any value).
- **Which form**: a top-level object with a ``$schema``, ``type`` or ``properties`` key is the
  full form; anything else is the compact form.
- **Field path**: where a compact-form error is, written like ``competitors[0].pricing``; ``""``
  is the root.
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Tuple

from .errors import SchemaError

FULL_FORM_KEYS = ("$schema", "type", "properties")
"""The keys that mark a top-level object as the full form."""

OPTIONAL_SUFFIX = "?"
"""The suffix marking an optional field in the compact form."""

_TYPE_NAMES: Dict[str, Dict[str, Any]] = {
    "str": {"type": "string"},
    "string": {"type": "string"},
    "int": {"type": "integer"},
    "integer": {"type": "integer"},
    "float": {"type": "number"},
    "number": {"type": "number"},
    "bool": {"type": "boolean"},
    "boolean": {"type": "boolean"},
    "dict": {"type": "object"},
    "object": {"type": "object"},
    "list": {"type": "array"},
    "array": {"type": "array"},
    "any": {},
}


def is_full_form(schema: Any) -> bool:
    """Whether ``schema`` is in the full form (see the module documentation)."""
    return isinstance(schema, dict) and any(key in schema for key in FULL_FORM_KEYS)


def to_full_form(schema: Any) -> Any:
    """``schema`` in the full form: itself when it already is, its conversion otherwise.

    Raises :class:`SchemaError` naming the field path of the first part that is not compact form.
    """
    return schema if is_full_form(schema) else _convert(schema, "")


def _convert(value: Any, path: str) -> Dict[str, Any]:
    if isinstance(value, dict):
        return _convert_object(value, path)
    if isinstance(value, list):
        return _convert_array(value, path)
    if isinstance(value, str) and value.endswith(OPTIONAL_SUFFIX):
        raise _malformed(path, f"{json.dumps(value)}: only an object's field can be optional")
    if isinstance(value, str):
        return _convert_type_name(value, path)
    raise _malformed(path, f"expected a type name, an object or a one-element array, found {_kind_of(value)}")


def _convert_object(fields: Dict[str, Any], path: str) -> Dict[str, Any]:
    properties = {}
    required = []
    for name, field in fields.items():
        field, optional = _split_optional(field)
        properties[name] = _convert(field, _field_path(path, name))
        if not optional:
            required.append(name)
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}


def _split_optional(field: Any) -> Tuple[Any, bool]:
    """Strips the optional marker from a field's type name, saying whether it was there."""
    if isinstance(field, str) and field.endswith(OPTIONAL_SUFFIX):
        return field[: -len(OPTIONAL_SUFFIX)], True
    return field, False


def _convert_array(items: List[Any], path: str) -> Dict[str, Any]:
    if len(items) != 1:
        raise _malformed(path, f"an array must hold exactly one element, the item type, not {len(items)}")
    return {"type": "array", "items": _convert(items[0], f"{path}[0]")}


def _convert_type_name(name: str, path: str) -> Dict[str, Any]:
    if name not in _TYPE_NAMES:
        raise SchemaError(
            path,
            f"unknown type name {json.dumps(name)} at {_shown(path)} (expected one of str, int, float, "
            "bool, dict, list, any, or their JSON Schema names)",
        )
    return dict(_TYPE_NAMES[name])


def _field_path(path: str, name: str) -> str:
    """The path of field ``name`` of the object at ``path``; a name that would be ambiguous in
    dotted form (empty, or with spaces, dots, brackets) is quoted: ``a["odd key"]``."""
    plain = name != "" and all(char.isalnum() or char == "_" for char in name)
    if not plain:
        return f"{path}[{json.dumps(name, ensure_ascii=False)}]"
    return f"{path}.{name}" if path else name


def _shown(path: str) -> str:
    return path or "the root"


def _malformed(path: str, reason: str) -> SchemaError:
    return SchemaError(path, f"malformed compact schema at {_shown(path)}: {reason}")


def _kind_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    return f"a {type(value).__name__}"
