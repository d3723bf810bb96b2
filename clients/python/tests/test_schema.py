"""Result models from target schemas in both forms: shapes, strictness by JSON semantics,
aliases, references, and errors that say where they are."""

from __future__ import annotations

import typing
from typing import Any, Dict

import pytest
from pydantic import BaseModel, RootModel, ValidationError

from orchestra import ResultInvalid, SchemaError, model_from_schema, validate_result
from orchestra.compact import to_full_form

GPU_SCHEMA = {
    "competitors": [{"name": "str", "pricing": "dict", "strengths": "list"}],
    "recommendation": {"price_point": "float", "rationale": "str"},
}


def gpu_document() -> Dict[str, Any]:
    return {
        "competitors": [{"name": "Acme", "pricing": {"pro": 20}, "strengths": ["fast"]}],
        "recommendation": {"price_point": 19.5, "rationale": "undercuts Acme"},
    }


def refuses(model: type, document: Any) -> None:
    with pytest.raises(ValidationError):
        model.model_validate(document)


# The compact form.


def test_compact_form_converts_like_the_server() -> None:
    assert to_full_form(GPU_SCHEMA) == {
        "type": "object",
        "properties": {
            "competitors": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"name": {"type": "string"}, "pricing": {"type": "object"}, "strengths": {"type": "array"}},
                    "required": ["name", "pricing", "strengths"],
                    "additionalProperties": False,
                },
            },
            "recommendation": {
                "type": "object",
                "properties": {"price_point": {"type": "number"}, "rationale": {"type": "string"}},
                "required": ["price_point", "rationale"],
                "additionalProperties": False,
            },
        },
        "required": ["competitors", "recommendation"],
        "additionalProperties": False,
    }


@pytest.mark.parametrize(
    "full",
    [
        {"$schema": "https://json-schema.org/draft/2020-12/schema"},
        {"properties": {"a": {"type": "string"}}},
        {"type": "string"},
    ],
)
def test_any_marker_key_selects_the_full_form(full: Dict[str, Any]) -> None:
    assert to_full_form(full) is full


def test_compact_model_gives_nested_attribute_access() -> None:
    result = model_from_schema(GPU_SCHEMA).model_validate(gpu_document())
    assert result.competitors[0].name == "Acme"
    assert result.competitors[0].pricing == {"pro": 20}
    assert result.competitors[0].strengths == ["fast"]
    assert result.recommendation.price_point == 19.5
    assert isinstance(result.recommendation, BaseModel)


def test_compact_fields_are_required_and_extras_refused() -> None:
    model = model_from_schema(GPU_SCHEMA)
    missing = gpu_document()
    del missing["recommendation"]["rationale"]
    refuses(model, missing)
    extra = gpu_document()
    extra["competitors"][0]["founded"] = 1999
    refuses(model, extra)


def test_optional_field_may_be_absent_but_not_null() -> None:
    model = model_from_schema({"name": "str", "nickname": "str?"})
    absent = model.model_validate({"name": "a"})
    assert absent.nickname is None
    assert absent.model_dump(by_alias=True) == {"name": "a"}
    assert model.model_validate({"name": "a", "nickname": "b"}).nickname == "b"
    refuses(model, {"name": "a", "nickname": None})
    refuses(model, {"name": "a", "nickname": 1})


def test_type_name_aliases_and_any() -> None:
    model = model_from_schema(
        {"a": "string", "b": "int", "c": "integer", "d": "number", "e": "bool", "f": "boolean", "g": "object", "h": "array", "i": "any"}
    )
    document = {"a": "", "b": 1, "c": 2, "d": 1.5, "e": True, "f": False, "g": {}, "h": [], "i": None}
    assert model.model_validate(document).model_dump() == document
    refuses(model, {**document, "b": 1.5})


def test_unknown_type_name_names_its_field_path() -> None:
    with pytest.raises(SchemaError) as raised:
        model_from_schema({"competitors": [{"name": "str", "pricing": "map"}]})
    assert raised.value.path == "competitors[0].pricing"
    assert "competitors[0].pricing" in str(raised.value)
    assert '"map"' in str(raised.value)


@pytest.mark.parametrize(
    "compact, path",
    [
        ({"tags": ["str", "int"]}, "tags"),
        ({"a": {"tags": []}}, "a.tags"),
        ({"a": [{"n": 3}]}, "a[0].n"),
        ({"a": None}, "a"),
        ({"list": ["str?"]}, "list[0]"),
        ({"odd key": {"x": True}}, '["odd key"].x'),
    ],
)
def test_malformed_compact_shapes_name_their_path(compact: Any, path: str) -> None:
    with pytest.raises(SchemaError) as raised:
        model_from_schema(compact)
    assert raised.value.path == path
    assert f"at {path}:" in str(raised.value)


def test_error_at_the_root_says_so() -> None:
    with pytest.raises(SchemaError, match="the root"):
        model_from_schema(42)  # type: ignore[arg-type]


# Strictness: JSON semantics, not Python's coercions.


@pytest.mark.parametrize(
    "type_name, accepted, refused",
    [
        ("int", [(2, 2), (2.0, 2), (-7, -7)], [2.5, True, "2", None]),
        ("float", [(2, 2.0), (2.5, 2.5)], [True, "2.5", None]),
        ("bool", [(True, True), (False, False)], [1, 0, "true", None]),
        ("str", [("x", "x"), ("", "")], [1, True, None, b"x"]),
        ("dict", [({"a": 1}, {"a": 1})], [[], "x", 1]),
        ("list", [([1, "a"], [1, "a"])], [{}, "x", 1]),
    ],
)
def test_scalar_types_are_strict(type_name: str, accepted: list, refused: list) -> None:
    model = model_from_schema({"v": type_name})
    for given, expected in accepted:
        value = model.model_validate({"v": given}).v
        assert value == expected and type(value) is type(expected), (given, value)
    for given in refused:
        refuses(model, {"v": given})


def test_full_form_constraints() -> None:
    model = model_from_schema(
        {
            "type": "object",
            "properties": {
                "tags": {"type": "array", "items": {"type": "string", "minLength": 2, "maxLength": 3}, "minItems": 1, "maxItems": 2},
                "score": {"type": "number", "minimum": 0, "maximum": 1},
                "rank": {"type": "integer", "exclusiveMinimum": 0, "exclusiveMaximum": 10},
                "code": {"type": "string", "pattern": "[0-9]{3}"},
                "half": {"type": "integer", "minimum": 0.5, "exclusiveMaximum": 2.5},
            },
        }
    )
    assert model.model_validate({"tags": ["ab"], "score": 1, "rank": 9, "code": "x123y", "half": 2}).score == 1.0
    for bad in [
        {"tags": []},
        {"tags": ["ab", "cd", "ef"]},
        {"tags": ["a"]},
        {"tags": ["abcd"]},
        {"score": -0.1},
        {"score": 1.5},
        {"rank": 0},
        {"rank": 10},
        {"code": "12"},
        {"half": 0},
        {"half": 3},
    ]:
        refuses(model, bad)


def test_full_form_optional_fields_default_to_none_and_extras_are_kept() -> None:
    model = model_from_schema(
        {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": ["integer", "null"]}}, "required": ["a"]}
    )
    result = model.model_validate({"a": "x", "b": None, "extra": [1]})
    assert result.b is None
    assert result.model_dump(by_alias=True) == {"a": "x", "b": None, "extra": [1]}
    assert model.model_validate({"a": "x"}).b is None
    refuses(model, {"b": 1})
    refuses(model, {"a": "x", "b": "1"})


def test_additional_properties_false_refuses_extras() -> None:
    model = model_from_schema({"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": False})
    refuses(model, {"a": "x", "b": 1})


def test_object_without_properties_is_a_dict_of_its_value_schema() -> None:
    model = model_from_schema({"type": "object", "properties": {"m": {"type": "object", "additionalProperties": {"type": "integer"}}}})
    assert model.model_validate({"m": {"a": 1}}).m == {"a": 1}
    refuses(model, {"m": {"a": "1"}})


def test_enum_is_a_literal_compared_by_json_equality() -> None:
    model = model_from_schema({"type": "object", "properties": {"level": {"enum": ["low", "high", 1, None]}, "kind": {"const": True}}})
    annotation = model.model_fields["level"].annotation
    assert typing.get_origin(annotation) is typing.Literal
    assert typing.get_args(annotation) == ("low", "high", 1, None)
    assert model.model_validate({"level": "high", "kind": True}).level == "high"
    assert model.model_validate({"level": 1.0}).level == 1
    assert model.model_validate({"level": None}).level is None
    for bad in [{"level": "medium"}, {"level": True}, {"kind": 1}, {"kind": False}]:
        refuses(model, bad)


def test_nested_objects_become_nested_models() -> None:
    model = model_from_schema(
        {
            "type": "object",
            "properties": {
                "papers": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {"title": {"type": "string"}, "authors": {"type": "array", "items": {"type": "object", "properties": {"name": {"type": "string"}}}}},
                        "required": ["title"],
                    },
                }
            },
        },
        name="Library",
    )
    result = model.model_validate({"papers": [{"title": "Switch Transformers", "authors": [{"name": "Fedus"}]}]})
    assert model.__name__ == "Library"
    assert result.papers[0].authors[0].name == "Fedus"
    assert type(result.papers[0]).__name__ == "LibraryPapersItem"


def test_refs_to_defs_and_definitions_share_one_model() -> None:
    person = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
    for defs in ["$defs", "definitions"]:
        model = model_from_schema(
            {
                "type": "object",
                "properties": {"author": {"$ref": f"#/{defs}/Person"}, "reviewers": {"type": "array", "items": {"$ref": f"#/{defs}/Person"}}},
                defs: {"Person": person},
            }
        )
        result = model.model_validate({"author": {"name": "a"}, "reviewers": [{"name": "b"}]})
        assert type(result.author) is type(result.reviewers[0])
        assert type(result.author).__name__ == "Person"
        refuses(model, {"author": {}})


def test_recursive_refs() -> None:
    model = model_from_schema(
        {
            "type": "object",
            "properties": {"root": {"$ref": "#/$defs/Node"}},
            "$defs": {
                "Node": {
                    "type": "object",
                    "properties": {"label": {"type": "string"}, "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}}},
                    "required": ["label"],
                }
            },
        }
    )
    document = {"root": {"label": "a", "children": [{"label": "b", "children": [{"label": "c"}]}]}}
    result = model.model_validate(document)
    assert result.root.children[0].children[0].label == "c"
    assert result.model_dump(by_alias=True) == document
    refuses(model, {"root": {"label": "a", "children": [{"label": 1}]}})


def test_any_of_and_one_of_are_unions() -> None:
    for keyword in ["anyOf", "oneOf"]:
        model = model_from_schema(
            {
                "type": "object",
                "properties": {
                    "price": {keyword: [{"type": "number"}, {"type": "string", "pattern": "^free$"}]},
                    "seller": {keyword: [{"$ref": "#/$defs/Shop"}, {"type": "null"}]},
                },
                "$defs": {"Shop": {"type": "object", "properties": {"url": {"type": "string"}}, "required": ["url"], "additionalProperties": False}},
            }
        )
        assert model.model_validate({"price": 3}).price == 3.0
        assert model.model_validate({"price": "free"}).price == "free"
        assert model.model_validate({"seller": {"url": "u"}}).seller.url == "u"
        assert model.model_validate({"seller": None}).seller is None
        for bad in [{"price": "cheap"}, {"price": True}, {"seller": {"name": "x"}}]:
            refuses(model, bad)


def test_single_all_of_is_its_schema() -> None:
    model = model_from_schema({"type": "object", "properties": {"n": {"allOf": [{"type": "integer"}]}}})
    assert model.model_validate({"n": 1}).n == 1
    refuses(model, {"n": "1"})


def test_non_object_root_is_a_root_model() -> None:
    model = model_from_schema({"type": "array", "items": {"type": "string"}, "minItems": 1})
    assert issubclass(model, RootModel)
    assert model.model_validate(["a"]).root == ["a"]
    refuses(model, [])
    refuses(model, [1])


@pytest.mark.parametrize(
    "schema, path, words",
    [
        ({"type": "strnig"}, "#", "unknown type 'strnig'"),
        ({"type": "object", "properties": {"a": {"type": ["string", "text"]}}}, "#/properties/a", "unknown type 'text'"),
        ({"type": "object", "properties": {"a": {"$ref": "https://example.com/s.json"}}}, "#/properties/a", "only local"),
        ({"type": "object", "properties": {"a": {"$ref": "#/$defs/Missing"}}}, "#/properties/a", "points to nothing"),
        ({"type": "object", "properties": {"a": {"type": "string", "pattern": "("}}}, "#/properties/a", "regular expression"),
        ({"type": "object", "properties": {"a": {"allOf": [{"type": "string"}, {"minLength": 1}]}}}, "#/properties/a", "allOf with 2"),
        ({"type": "object", "properties": {"a": {"type": "array", "items": [{"type": "string"}]}}}, "#/properties/a", "items as a list"),
        ({"type": "object", "properties": {"a": {"enum": "x"}}}, "#/properties/a", "must be a list"),
        ({"type": "object", "properties": {"a": 3}}, "#/properties/a", "expected a schema"),
        (
            {"type": "object", "properties": {"a": {"$ref": "#/$defs/L"}}, "$defs": {"L": {"type": "array", "items": {"$ref": "#/$defs/L"}}}},
            "#/$defs/L",
            "recursive reference",
        ),
    ],
)
def test_full_form_errors_name_their_place(schema: Dict[str, Any], path: str, words: str) -> None:
    with pytest.raises(SchemaError) as raised:
        model_from_schema(schema)
    assert raised.value.path == path
    assert words in str(raised.value) and path in str(raised.value)


# Aliases.


def test_unusable_field_names_get_aliases() -> None:
    document = {
        "schema": "s",
        "json": 1,
        "copy": True,
        "model_config": {},
        "_id": "i",
        "id": "j",
        "class": "c",
        "price-usd": 2.5,
        "2nd": "second",
        "odd key": [],
    }
    model = model_from_schema({key: "any" for key in document})
    result = model.model_validate(document)
    assert (result.schema_, result.json_, result.copy_, result.model_config_) == ("s", 1, True, {})
    assert (result.id_, result.id, result.class_, result.price_usd, result.field_2nd, result.odd_key) == ("i", "j", "c", 2.5, "second", [])
    assert result.model_dump(by_alias=True) == document
    assert result.model_dump_json(by_alias=True).startswith('{"schema":"s","json":1,')
    by_name = model(schema_="t", json_=2, copy_=False, model_config_={}, id_="x", id="y", class_="d", price_usd=1.0, field_2nd="2", odd_key=[])
    assert by_name.model_dump(by_alias=True)["schema"] == "t"


# Checking a result.


def test_validate_result_lists_every_violation_by_json_pointer() -> None:
    document = gpu_document()
    document["competitors"][0]["name"] = 7
    document["recommendation"]["price_point"] = "high"
    del document["recommendation"]["rationale"]
    with pytest.raises(ResultInvalid) as raised:
        validate_result(model_from_schema(GPU_SCHEMA), document)
    paths = sorted(violation["path"] for violation in raised.value.details)
    assert paths == ["/competitors/0/name", "/recommendation/price_point", "/recommendation/rationale"]
    assert raised.value.code == "result_invalid"
    assert "/competitors/0/name" in raised.value.message


def test_violations_inside_unions_point_into_the_document() -> None:
    model = model_from_schema({"type": "object", "properties": {"v": {"anyOf": [{"type": "integer"}, {"type": "string"}]}}})
    with pytest.raises(ResultInvalid) as raised:
        validate_result(model, {"v": 2.5})
    assert {violation["path"] for violation in raised.value.details} == {"/v"}
