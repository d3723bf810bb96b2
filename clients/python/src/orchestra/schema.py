"""Pydantic models built from target schemas, and the check of a result against them.

Terms:
- **Target schema**: the shape a result must have, in the full form (JSON Schema) or the compact
  form (see :mod:`orchestra.compact`, which converts the compact form to the full form by the
  server's rules).
- **Result model**: the Pydantic v2 model class :func:`model_from_schema` builds from a target
  schema. Objects with properties become nested models (attribute access), arrays become lists,
  ``$ref`` targets become models named after them (and may be recursive). A schema whose root is
  not such an object becomes a ``RootModel`` holding the value in ``.root``.
- **JSON semantics**: validation follows JSON Schema, not Python's coercions: a string is never
  a number, a boolean is never an integer, ``2.5`` is not an integer (``2.0`` is, and becomes
  ``2``), an integer is a number (and becomes a float), ``enum``/``const`` compare by JSON
  equality (``true`` is not ``1``).
- **Optional field**: an object property not listed in ``required``. It may be absent, in which
  case the model holds ``None``, but it may be ``null`` only when its own schema allows
  ``null``. Absent fields stay absent in ``model_dump()``, so that
  ``model_dump(by_alias=True)`` gives back the document.
- **Alias**: a property whose name is not a usable Python attribute (not an identifier, a
  keyword, starting with ``_``, or the name of a ``BaseModel`` attribute such as ``schema``,
  ``json``, ``copy`` or ``model_config``) gets an attribute name derived from it (``schema_``,
  ``class_``, ``field_2nd``, ``price_usd`` for ``"price-usd"``) and keeps its own name as the
  alias. Models accept either name.

What shapes the model: ``type`` (one or a list), ``properties``, ``required``,
``additionalProperties: false`` (unknown fields refused; otherwise they are kept),
``additionalProperties`` as a schema on objects without properties (dict values), ``items``,
``enum``, ``const``, ``$ref`` (local: ``#``, ``#/$defs/...``, ``#/definitions/...``),
``anyOf``/``oneOf`` (a union) and a one-schema ``allOf``. A schema needing any other shaping
(``items`` as a list, ``allOf`` of several schemas, a remote ``$ref``) is refused with a
:class:`SchemaError`. Constraints enforced: ``minLength``, ``maxLength``, ``pattern``,
``minimum``, ``maximum``, ``exclusiveMinimum``, ``exclusiveMaximum``, ``minItems``,
``maxItems``. Other keywords only narrow what the server already checked and are not
re-checked here (``oneOf``'s "exactly one", ``multipleOf``, ``format``, ``uniqueItems``, ...).
"""

from __future__ import annotations

import keyword
import math
import re
from typing import Annotated, Any, Callable, Dict, Iterable, List, Literal, Optional, Sequence, Set, Type, Union

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    RootModel,
    SerializationInfo,
    ValidationError,
    WrapSerializer,
    conint,
    confloat,
    conlist,
    constr,
    create_model,
    model_serializer,
)

from .compact import to_full_form
from .errors import ResultInvalid, SchemaError

_JSON_CONFIG = ConfigDict(strict=True, regex_engine="python-re")
"""Validation by JSON semantics: no coercion between types; ``pattern`` in Python's regex
dialect, closer to JSON Schema's ECMA-262 than Rust's (it has lookaround)."""


class ResultObject(BaseModel):
    """Base of every object model :func:`model_from_schema` builds."""

    model_config = ConfigDict(**_JSON_CONFIG, populate_by_name=True, protected_namespaces=(), extra="allow")

    @model_serializer(mode="wrap")
    def _omit_absent(self, handler: Callable[[Any], Dict[str, Any]], info: SerializationInfo) -> Dict[str, Any]:
        """Leaves out optional fields the document did not have, rather than writing ``null``."""
        data = handler(self)
        for name, field in type(self).model_fields.items():
            if name not in self.model_fields_set:
                data.pop(field.alias if info.by_alias and field.alias else name, None)
        return data


class ClosedResultObject(ResultObject):
    """Base of object models whose schema says ``additionalProperties: false``."""

    model_config = ConfigDict(extra="forbid")


def _serialize_unless_none(value: Any, handler: Callable[[Any], Any]) -> Any:
    return None if value is None else handler(value)


_ABSENT_AS_NONE = WrapSerializer(_serialize_unless_none)
"""An absent optional field holds ``None``, which its type may not allow: ``None`` is written
as is, not by the type's serializer (and then left out, see :class:`ResultObject`)."""

_RESERVED_NAMES = frozenset(dir(ClosedResultObject))
_JSON_TYPES = ("string", "integer", "number", "boolean", "null", "object", "array")
_TARGET_KEYWORDS = ("$ref", "const", "enum", "allOf", "anyOf", "oneOf")
"""Keywords that decide a schema's model by themselves, in the order they are looked for."""


def model_from_schema(schema: Union[Dict[str, Any], List[Any], str], name: str = "Result") -> Type[BaseModel]:
    """The result model of a target schema in either form (see the module documentation).

    ``name`` names the root model; nested models are named after their path (``ResultPapersItem``)
    or their ``$ref`` target. Raises :class:`SchemaError` for a schema it cannot model.
    """
    return _Builder(to_full_form(schema)).build_root(name)


def validate_result(model: Type[BaseModel], document: Any, status: Optional[int] = None) -> BaseModel:
    """``document`` as an instance of ``model``; raises :class:`ResultInvalid` listing every
    violation when it does not match. ``status`` is the HTTP status of the answer that carried
    the document, if any, and becomes the error's."""
    try:
        return model.model_validate(document)
    except ValidationError as error:
        violations = [{"path": _pointer(document, item["loc"]), "message": item["msg"]} for item in error.errors()]
        listed = "; ".join(f"at {item['path'] or 'the root'}: {item['message']}" for item in violations)
        raise ResultInvalid(status, "result_invalid", f"the result does not match the target schema: {listed}", violations) from None


def _pointer(document: Any, location: Sequence[Union[int, str]]) -> str:
    """The JSON pointer in ``document`` of a Pydantic error location. The location's parts are
    the document's keys and indexes (field aliases are the keys), except for the names Pydantic
    gives the options of a union (``constrained-str``, a model's name), which are skipped."""
    parts = []
    node = document
    for part in location:
        in_dict = isinstance(node, dict) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if in_dict or in_list:
            node = node[part]
        elif not (isinstance(node, dict) and part == location[-1]):
            continue  # a union option's name; a dict's last part is a missing field's name
        parts.append("/" + _escape(str(part)))
    return "".join(parts)


class _Builder:
    """Builds the models of one full-form schema.

    A ``$ref`` target is built once and shared. While a target is being built, a reference back
    to it (recursion) is the target model's name as a forward reference, resolved when the whole
    schema is built.
    """

    def __init__(self, root: Any) -> None:
        self.root = root
        self.taken_names: Set[str] = set()
        self.reserved_names: Set[str] = set()
        self.built_refs: Dict[str, Any] = {}
        self.building_refs: Dict[str, str] = {}
        self.recursive_refs: Set[str] = set()
        self.models: List[Type[BaseModel]] = []

    def build_root(self, name: str) -> Type[BaseModel]:
        annotation = self.reference("#", "#", name)
        if not _is_model(annotation):
            annotation = type(self.model_name(name), (RootModel[annotation],), {"model_config": _JSON_CONFIG})
            self.models.append(annotation)
        if self.recursive_refs:
            namespace = {model.__name__: model for model in self.models}
            for model in self.models:
                model.model_rebuild(force=True, _types_namespace=namespace)
        return annotation

    def model_name(self, wanted: str) -> str:
        """The name for a new model: ``wanted`` itself when a ``$ref`` reserved it, otherwise a
        distinct name derived from it."""
        if wanted in self.reserved_names:
            self.reserved_names.remove(wanted)
            return wanted
        return self.unique_name(wanted)

    def unique_name(self, wanted: str) -> str:
        name = _camel(wanted) or "Model"
        candidate, number = name, 2
        while candidate in self.taken_names:
            candidate, number = f"{name}{number}", number + 1
        self.taken_names.add(candidate)
        return candidate

    def annotation(self, node: Any, pointer: str, name: str) -> Any:
        """The type of values matching ``node``, the schema found at ``pointer``."""
        if node is True:
            return Any
        if not isinstance(node, dict):
            raise SchemaError(pointer, f"expected a schema (an object or true) at {pointer}, found {node!r}")
        target = next((key for key in _TARGET_KEYWORDS if key in node), None)
        if target == "$ref":
            return self.reference(node["$ref"], pointer, _last_segment(node["$ref"]))
        if target in ("const", "enum"):
            values = [node["const"]] if target == "const" else _list_at(node, "enum", pointer)
            return _one_of_values(values)
        if target == "allOf":
            schemas = _list_at(node, "allOf", pointer)
            if len(schemas) != 1:
                raise SchemaError(pointer, f"allOf with {len(schemas)} schemas at {pointer} is not supported")
            return self.annotation(schemas[0], f"{pointer}/allOf/0", name)
        if target in ("anyOf", "oneOf"):
            options = _list_at(node, target, pointer)
            return _union(self.annotation(option, f"{pointer}/{target}/{index}", f"{name}Option{index + 1}") for index, option in enumerate(options))
        return _union(self.typed(json_type, node, pointer, name) for json_type in _types_of(node, pointer))

    def typed(self, json_type: str, node: Dict[str, Any], pointer: str, name: str) -> Any:
        """The type of values of ``json_type`` matching ``node``."""
        if json_type == "string":
            return constr(**_string_constraints(node, pointer))
        if json_type == "integer":
            return Annotated[conint(**_integer_constraints(node)), BeforeValidator(_whole_float_to_int)]
        if json_type == "number":
            return confloat(**_number_constraints(node))
        if json_type == "boolean":
            return bool
        if json_type == "null":
            return None
        if json_type == "array":
            return conlist(self.items(node, pointer, name), **_array_constraints(node))
        if "properties" in node or "required" in node or node.get("additionalProperties") is False:
            return self.object_model(node, pointer, name)
        value_type = self.annotation(node.get("additionalProperties", True), f"{pointer}/additionalProperties", f"{name}Value")
        return Dict[str, value_type]

    def items(self, node: Dict[str, Any], pointer: str, name: str) -> Any:
        items = node.get("items", True)
        if isinstance(items, list):
            raise SchemaError(pointer, f"items as a list (a tuple) at {pointer} is not supported")
        return self.annotation(items, f"{pointer}/items", f"{name}Item")

    def object_model(self, node: Dict[str, Any], pointer: str, name: str) -> Type[BaseModel]:
        properties = node.get("properties", {})
        required = _list_at(node, "required", pointer) if "required" in node else []
        if not isinstance(properties, dict) or not all(isinstance(key, str) for key in required):
            raise SchemaError(pointer, f"properties must be an object and required a list of names at {pointer}")
        keys = list(dict.fromkeys([*properties, *required]))
        fields = {}
        for key, attribute in _attribute_names(keys).items():
            field_pointer = f"{pointer}/properties/{_escape(key)}"
            annotation = self.annotation(properties.get(key, True), field_pointer, f"{name}_{key}")
            alias = None if attribute == key else key
            if key in required:
                fields[attribute] = (annotation, Field(alias=alias))
            else:
                fields[attribute] = (Annotated[annotation, _ABSENT_AS_NONE], Field(None, alias=alias))
        base = ClosedResultObject if node.get("additionalProperties") is False else ResultObject
        model = create_model(self.model_name(name), __base__=base, **fields)
        self.models.append(model)
        return model

    def reference(self, ref: Any, pointer: str, name: str) -> Any:
        """The type a local ``$ref`` points to (``#`` is the whole schema)."""
        if not isinstance(ref, str) or not (ref == "#" or ref.startswith("#/")):
            raise SchemaError(pointer, f"only local JSON pointer references (#, #/...) are supported, not {ref!r} at {pointer}")
        if ref in self.built_refs:
            return self.built_refs[ref]
        if ref in self.building_refs:
            self.recursive_refs.add(ref)
            return self.building_refs[ref]
        model_name = self.unique_name(name)
        self.reserved_names.add(model_name)
        self.building_refs[ref] = model_name
        annotation = self.annotation(_resolve(self.root, ref, pointer), ref, model_name)
        del self.building_refs[ref]
        if ref in self.recursive_refs and not (_is_model(annotation) and annotation.__name__ == model_name):
            raise SchemaError(ref, f"the recursive reference {ref} must point to an object schema with properties")
        self.built_refs[ref] = annotation
        return annotation


def _escape(key: str) -> str:
    """``key`` as a JSON pointer segment."""
    return key.replace("~", "~0").replace("/", "~1")


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _types_of(node: Dict[str, Any], pointer: str) -> List[str]:
    """The JSON types ``node`` allows; without ``type``, inferred from its object or array
    keywords, and none (any value) when it has neither."""
    if "type" not in node:
        if any(key in node for key in ("properties", "required", "additionalProperties")):
            return ["object"]
        return ["array"] if "items" in node else []
    types = node["type"] if isinstance(node["type"], list) else [node["type"]]
    for json_type in types:
        if json_type not in _JSON_TYPES:
            raise SchemaError(pointer, f"unknown type {json_type!r} at {pointer} (expected one of {', '.join(_JSON_TYPES)})")
    return types


def _union(options: Iterable[Any]) -> Any:
    """The union of ``options``; ``Any`` for none (a schema without restrictions)."""
    distinct = list(dict.fromkeys(options))
    if not distinct or Any in distinct:
        return Any
    return Union[tuple(distinct)] if len(distinct) > 1 else distinct[0]


def _string_constraints(node: Dict[str, Any], pointer: str) -> Dict[str, Any]:
    constraints = _mapped(node, {"minLength": "min_length", "maxLength": "max_length"})
    pattern = node.get("pattern")
    if isinstance(pattern, str):
        try:
            re.compile(pattern)
        except re.error as error:
            raise SchemaError(pointer, f"pattern {pattern!r} at {pointer} is not a valid regular expression: {error}") from None
        constraints["pattern"] = pattern
    return constraints


def _number_constraints(node: Dict[str, Any]) -> Dict[str, Any]:
    return _mapped(node, {"minimum": "ge", "maximum": "le", "exclusiveMinimum": "gt", "exclusiveMaximum": "lt"})


_INTEGER_BOUNDS = {"ge": math.ceil, "gt": math.floor, "le": math.floor, "lt": math.ceil}
"""How each bound becomes an integer without changing which integers it allows (an integer
is >= 0.5 when it is >= 1, and > 2.5 when it is > 2)."""


def _integer_constraints(node: Dict[str, Any]) -> Dict[str, Any]:
    return {argument: _INTEGER_BOUNDS[argument](bound) for argument, bound in _number_constraints(node).items()}


def _array_constraints(node: Dict[str, Any]) -> Dict[str, Any]:
    return _mapped(node, {"minItems": "min_length", "maxItems": "max_length"})


def _mapped(node: Dict[str, Any], names: Dict[str, str]) -> Dict[str, Any]:
    """The numeric JSON Schema keywords of ``node`` named in ``names``, as arguments of
    Pydantic's constrained types (``constr``, ``conint``, ...). A non-numeric value (draft 4's boolean ``exclusiveMinimum``) is not one."""
    return {
        argument: node[keyword_name]
        for keyword_name, argument in names.items()
        if isinstance(node.get(keyword_name), (int, float)) and not isinstance(node[keyword_name], bool)
    }


def _whole_float_to_int(value: Any) -> Any:
    """JSON Schema counts a number with a zero fractional part (``2.0``) as an integer."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _one_of_values(values: List[Any]) -> Any:
    """The type of values JSON-equal to one of ``values`` (``enum``/``const``): a ``Literal``
    when they are scalars, checked by JSON equality rather than ``Literal``'s own check (which
    takes ``True`` for ``1``)."""

    def check(value: Any) -> Any:
        if not any(_json_equal(value, allowed) for allowed in values):
            raise ValueError(f"expected one of {', '.join(map(repr, values))}")
        return value

    hashable = all(value is None or isinstance(value, (str, int, float, bool)) for value in values)
    return Annotated[Literal[tuple(values)] if hashable and values else Any, PlainValidator(check)]


def _json_equal(left: Any, right: Any) -> bool:
    """Equality as JSON Schema defines it: booleans are not numbers, ``1 == 1.0``."""
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    if isinstance(left, (int, float)) and isinstance(right, (int, float)):
        return left == right
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(map(_json_equal, left, right))
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(_json_equal(left[key], right[key]) for key in left)
    return type(left) is type(right) and left == right


def _list_at(node: Dict[str, Any], key: str, pointer: str) -> List[Any]:
    value = node[key]
    if not isinstance(value, list):
        raise SchemaError(pointer, f"{key} at {pointer} must be a list, found {value!r}")
    return value


def _resolve(root: Any, ref: str, pointer: str) -> Any:
    """The part of ``root`` at the JSON pointer fragment ``ref``."""
    node = root
    for segment in ref.split("/")[1:]:
        segment = segment.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and segment in node:
            node = node[segment]
        elif isinstance(node, list) and segment.isdigit() and int(segment) < len(node):
            node = node[int(segment)]
        else:
            raise SchemaError(pointer, f"the reference {ref} at {pointer} points to nothing")
    return node


def _last_segment(ref: Any) -> str:
    return str(ref).rsplit("/", 1)[-1]


def _camel(name: str) -> str:
    """``name`` as a CamelCase identifier: ``price_point`` gives ``PricePoint``."""
    words = re.findall(r"[^\W_]+", name)
    joined = "".join(word[:1].upper() + word[1:] for word in words)
    return f"M{joined}" if joined[:1].isdigit() else joined


def _attribute_names(keys: List[str]) -> Dict[str, str]:
    """The attribute name of each property key (see *Alias* in the module documentation).
    Keys usable as they are keep their names; the others get distinct derived ones."""
    usable = {key for key in keys if _is_usable(key)}
    taken = set(usable)
    names = {}
    for key in keys:
        if key in usable:
            names[key] = key
            continue
        derived = re.sub(r"\W", "_", key).strip("_")
        if not derived or derived[0].isdigit():
            derived = f"field_{derived}"
        while not _is_usable(derived) or derived in taken:
            derived += "_"
        taken.add(derived)
        names[key] = derived
    return names


def _is_usable(name: str) -> bool:
    return name.isidentifier() and not keyword.iskeyword(name) and not name.startswith("_") and name not in _RESERVED_NAMES
