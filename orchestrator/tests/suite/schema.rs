//! Target schemas: compact-form conversion, full-form pass-through, and validation that names
//! every violation by its path.

use orchestrator::schema::{SchemaError, TargetSchema, Violation};
use serde_json::{json, Value};

/// The compact example from DESIGN.md.
fn example() -> TargetSchema {
    TargetSchema::parse(json!({
        "competitors": [{"name": "str", "pricing": "dict", "strengths": "list"}],
        "recommendation": {"price_point": "float", "rationale": "str"}
    }))
    .unwrap()
}

fn matching_document() -> Value {
    json!({
        "competitors": [{"name": "Acme", "pricing": {"pro": 20}, "strengths": ["fast"]}],
        "recommendation": {"price_point": 19.5, "rationale": "undercuts Acme"}
    })
}

/// The violations of `document`, which must be invalid.
fn violations(schema: &TargetSchema, document: &Value) -> Vec<Violation> {
    schema.validate(document).expect_err("the document should be invalid")
}

fn paths(violations: &[Violation]) -> Vec<&str> {
    violations.iter().map(|violation| violation.path.as_str()).collect()
}

fn parse_error(value: Value) -> SchemaError {
    TargetSchema::parse(value).expect_err("the schema should be refused")
}

#[test]
fn compact_example_converts_to_full_form() {
    let expected = json!({
        "type": "object",
        "properties": {
            "competitors": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string"},
                        "pricing": {"type": "object"},
                        "strengths": {"type": "array"}
                    },
                    "required": ["name", "pricing", "strengths"],
                    "additionalProperties": false
                }
            },
            "recommendation": {
                "type": "object",
                "properties": {"price_point": {"type": "number"}, "rationale": {"type": "string"}},
                "required": ["price_point", "rationale"],
                "additionalProperties": false
            }
        },
        "required": ["competitors", "recommendation"],
        "additionalProperties": false
    });
    assert_eq!(example().json_schema(), &expected);
}

#[test]
fn matching_document_validates() {
    assert_eq!(example().validate(&matching_document()), Ok(()));
}

#[test]
fn missing_field_is_named_at_its_object() {
    let mut document = matching_document();
    document["recommendation"].as_object_mut().unwrap().remove("rationale");
    let found = violations(&example(), &document);
    assert_eq!(paths(&found), ["/recommendation"]);
    assert!(found[0].message.contains("rationale"), "{}", found[0]);
}

#[test]
fn wrong_type_is_named_at_the_value() {
    let mut document = matching_document();
    document["recommendation"]["price_point"] = json!("19.5");
    assert_eq!(paths(&violations(&example(), &document)), ["/recommendation/price_point"]);
}

#[test]
fn extra_field_is_refused() {
    let mut document = matching_document();
    document["competitors"][0]["founded"] = json!(1999);
    let found = violations(&example(), &document);
    assert_eq!(paths(&found), ["/competitors/0"]);
    assert!(found[0].message.contains("founded"), "{}", found[0]);
}

#[test]
fn wrong_array_item_is_named_by_index() {
    let mut document = matching_document();
    document["competitors"].as_array_mut().unwrap().push(json!("Globex"));
    assert_eq!(paths(&violations(&example(), &document)), ["/competitors/1"]);
}

#[test]
fn every_violation_is_listed() {
    let document = json!({
        "competitors": [{"name": 7, "pricing": {}, "strengths": []}],
        "recommendation": {"price_point": "high", "rationale": "cheap"}
    });
    let mut found = paths(&violations(&example(), &document)).into_iter().map(str::to_owned).collect::<Vec<_>>();
    found.sort();
    assert_eq!(found, ["/competitors/0/name", "/recommendation/price_point"]);
}

#[test]
fn full_json_schema_passes_through() {
    let full = json!({"type": "object", "properties": {"n": {"type": "integer", "minimum": 1}}});
    let schema = TargetSchema::parse(full.clone()).unwrap();
    assert_eq!(schema.json_schema(), &full);
    assert_eq!(schema.validate(&json!({"n": 3})), Ok(()));
    assert_eq!(paths(&violations(&schema, &json!({"n": 0}))), ["/n"]);
}

#[test]
fn any_marker_key_selects_the_full_form() {
    for full in [
        json!({"$schema": "https://json-schema.org/draft/2020-12/schema"}),
        json!({"properties": {"a": {"type": "string"}}}),
        json!({"type": "string"}),
    ] {
        assert_eq!(TargetSchema::parse(full.clone()).unwrap().json_schema(), &full);
    }
}

#[test]
fn optional_fields_may_be_absent_but_must_have_their_type() {
    let schema = TargetSchema::parse(json!({"name": "str", "nickname": "str?"})).unwrap();
    assert_eq!(schema.json_schema()["required"], json!(["name"]));
    assert_eq!(schema.json_schema()["properties"]["nickname"], json!({"type": "string"}));
    assert_eq!(schema.validate(&json!({"name": "a"})), Ok(()));
    assert_eq!(schema.validate(&json!({"name": "a", "nickname": "b"})), Ok(()));
    assert_eq!(paths(&violations(&schema, &json!({"name": "a", "nickname": 1}))), ["/nickname"]);
}

#[test]
fn type_name_aliases_and_any() {
    let schema = TargetSchema::parse(json!({
        "a": "string", "b": "int", "c": "integer", "d": "number", "e": "bool", "f": "boolean",
        "g": "object", "h": "array", "i": "any"
    }))
    .unwrap();
    let properties = &schema.json_schema()["properties"];
    assert_eq!(properties["b"], json!({"type": "integer"}));
    assert_eq!(properties["e"], json!({"type": "boolean"}));
    assert_eq!(properties["i"], json!({}));
    let document = json!({"a": "", "b": 1, "c": 2, "d": 1.5, "e": true, "f": false, "g": {}, "h": [], "i": null});
    assert_eq!(schema.validate(&document), Ok(()));
    assert_eq!(paths(&violations(&schema, &json!({"b": 1.5, "c": 2, "a": "", "d": 1, "e": true, "f": false, "g": {}, "h": [], "i": 0}))), ["/b"]);
}

#[test]
fn unknown_type_name_names_its_path() {
    let error = parse_error(json!({"competitors": [{"name": "str", "pricing": "map"}]}));
    match &error {
        SchemaError::UnknownType { path, name } => {
            assert_eq!(path.as_str(), "competitors[0].pricing");
            assert_eq!(name, "map");
        }
        other => panic!("unexpected error: {other}"),
    }
    assert!(error.to_string().contains("competitors[0].pricing"), "{error}");
}

#[test]
fn malformed_shapes_name_their_path() {
    let cases = [
        (json!({"tags": ["str", "int"]}), "tags"),
        (json!({"a": {"tags": []}}), "a.tags"),
        (json!({"a": [{"n": 3}]}), "a[0].n"),
        (json!({"a": null}), "a"),
        (json!({"list": ["str?"]}), "list[0]"),
        (json!({"odd key": {"x": true}}), "[\"odd key\"].x"),
    ];
    for (compact, expected_path) in cases {
        match parse_error(compact.clone()) {
            SchemaError::Malformed { path, .. } => assert_eq!(path.as_str(), expected_path, "{compact}"),
            other => panic!("{compact}: unexpected error: {other}"),
        }
    }
}

#[test]
fn error_at_the_root_says_so() {
    let error = parse_error(json!(42));
    assert!(error.to_string().contains("the root"), "{error}");
}

#[test]
fn invalid_full_schema_is_refused() {
    let error = parse_error(json!({"type": "strnig"}));
    assert!(matches!(error, SchemaError::InvalidJsonSchema(_)), "{error}");
    let error = parse_error(json!({"type": "object", "properties": {"a": {"minimum": "five"}}}));
    assert!(matches!(error, SchemaError::InvalidJsonSchema(_)), "{error}");
}

#[test]
fn external_references_are_not_fetched() {
    let error = parse_error(json!({"$ref": "https://example.com/schema.json", "type": "object"}));
    assert!(matches!(error, SchemaError::InvalidJsonSchema(_)), "{error}");
}
