//! The deterministic mapper: documents that validate against the target schema, filled from the
//! evidence the way a reader of the result expects (subjects named, prices extracted, a market
//! price with its rationale), and never a panic whatever the schema and the evidence.

use orchestrator::evidence::{Item, TaskOutput};
use orchestrator::schema::TargetSchema;
use orchestrator::synthesis::mapper::map;
use proptest::prelude::*;
use serde_json::{json, Value};

const GPU_OBJECTIVE: &str = "Research RunPod, Vast.ai and Lambda GPU pricing and recommend a price point";

fn gpu_schema() -> TargetSchema {
    TargetSchema::parse(json!({
        "competitors": [{"name": "str", "pricing": "dict", "strengths": "list"}],
        "recommendation": {"price_point": "float", "rationale": "str"}
    }))
    .unwrap()
}

fn item(title: &str, url: &str, text: &str, source: &str) -> Item {
    Item { title: Some(title.to_owned()), text: text.to_owned(), url: Some(url.to_owned()), source: source.to_owned(), published: None, author: None, ..Item::default() }
}

fn search(task: &str, subject: Option<&str>, items: Vec<Item>) -> TaskOutput {
    TaskOutput { task: task.to_owned(), capability: "web-search".to_owned(), subject: subject.map(str::to_owned), items, text: None }
}

/// What three web searches, one per GPU cloud, return.
fn gpu_outputs() -> Vec<TaskOutput> {
    vec![
        search(
            "web-search-runpod",
            Some("RunPod"),
            vec![
                item(
                    "GPU Cloud Pricing | RunPod",
                    "https://www.runpod.io/pricing",
                    "Secure Cloud H100 SXM $2.69/hr, A100 80GB $1.19/hr. Per-second billing with zero fees for ingress and egress. Serverless endpoints scale to zero when idle.",
                    "web",
                ),
                item("RunPod review", "https://example.com/runpod-review", "Community Cloud H100 PCIe costs $2.39/hr on spot capacity.", "web"),
            ],
        ),
        search(
            "web-search-vast-ai",
            Some("Vast.ai"),
            vec![item(
                "Vast.ai | Rent GPUs",
                "https://vast.ai/pricing",
                "Vast.ai marketplace: H100 SXM from $1.87/hr; RTX 4090 at $0.35/hr. Interruptible instances cut costs by half. Thousands of community hosts worldwide.",
                "web",
            )],
        ),
        search(
            "web-search-lambda",
            Some("Lambda"),
            vec![item(
                "Lambda GPU Cloud pricing",
                "https://lambdalabs.com/service/gpu-cloud",
                "Lambda On-Demand Cloud: H100 SXM $2.49 per hour, A100 40GB 1.29 USD/hr. One-click Jupyter with a preinstalled ML stack.",
                "web",
            )],
        ),
    ]
}

/// Maps and insists on a valid document.
fn mapped(objective: &str, schema: &TargetSchema, outputs: &[TaskOutput]) -> Value {
    let document = map(objective, schema.json_schema(), outputs);
    if let Err(violations) = schema.validate(&document) {
        panic!("{document:#} does not validate: {violations:?}");
    }
    document
}

#[test]
fn the_gpu_example_names_the_subjects_prices_them_and_recommends_the_median() {
    let document = mapped(GPU_OBJECTIVE, &gpu_schema(), &gpu_outputs());
    let competitors = document["competitors"].as_array().unwrap();
    let names: Vec<&str> = competitors.iter().map(|competitor| competitor["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["RunPod", "Vast.ai", "Lambda"]);
    assert_eq!(competitors[0]["pricing"], json!({"H100 SXM": 2.69, "A100 80GB": 1.19, "H100 PCIe": 2.39}));
    assert_eq!(competitors[1]["pricing"], json!({"H100 SXM": 1.87, "RTX 4090": 0.35}));
    assert_eq!(competitors[2]["pricing"], json!({"H100 SXM": 2.49, "A100 40GB": 1.29}));
    for competitor in competitors {
        let strengths = competitor["strengths"].as_array().unwrap();
        assert!(!strengths.is_empty() && strengths.len() <= 3, "{strengths:?}");
    }
    // Sentences without prices come first: prices have their own field.
    assert_eq!(competitors[0]["strengths"][0], "Per-second billing with zero fees for ingress and egress");
    assert_eq!(competitors[2]["strengths"][0], "One-click Jupyter with a preinstalled ML stack");

    // H100 is the product all three price. A subject's offer is its lowest H100 price: RunPod
    // $2.39 (PCIe under SXM), Vast.ai $1.87, Lambda $2.49; the median of the three is $2.39.
    let recommendation = &document["recommendation"];
    assert_eq!(recommendation["price_point"], json!(2.39));
    let rationale = recommendation["rationale"].as_str().unwrap();
    assert_eq!(
        rationale,
        "Median H100 price across RunPod, Vast.ai and Lambda is $2.39/hr (range $1.87-$2.49/hr); pricing at $2.39/hr matches or undercuts 2 of the 3 offers."
    );
}

#[test]
fn an_even_number_of_offers_takes_the_mean_of_the_middle_two() {
    let mut outputs = gpu_outputs();
    outputs.push(search(
        "web-search-coreweave",
        Some("CoreWeave"),
        vec![item("CoreWeave pricing", "https://coreweave.com/pricing", "HGX H100 at $4.76/hr per GPU.", "web")],
    ));
    let document = mapped(GPU_OBJECTIVE, &gpu_schema(), &outputs);
    // Offers 1.87, 2.39, 2.49, 4.76: (2.39 + 2.49) / 2 = 2.44.
    assert_eq!(document["recommendation"]["price_point"], json!(2.44));
    assert_eq!(document["competitors"].as_array().unwrap().len(), 4);
}

#[test]
fn a_recommended_provider_is_the_one_with_the_lowest_offer() {
    let schema = TargetSchema::parse(json!({"recommendation": {"provider": "str", "price": "float", "reason": "str"}})).unwrap();
    let document = mapped(GPU_OBJECTIVE, &schema, &gpu_outputs());
    assert_eq!(document["recommendation"]["provider"], "Vast.ai");
    assert_eq!(document["recommendation"]["price"], json!(2.39));
    assert!(document["recommendation"]["reason"].as_str().unwrap().starts_with("Median H100 price"));
}

#[test]
fn price_spellings_are_all_read() {
    let schema = TargetSchema::parse(json!({"pricing": "dict"})).unwrap();
    let text = "Plans: Starter $9 per month, Pro plan US$29/mo, Team 1,299 USD per year; Enterprise - USD 2.5 a seat. H100s for $2.10 an hour.";
    let outputs = [search("web-search", None, vec![item("Pricing", "https://example.com", text, "web")])];
    let document = mapped("pricing", &schema, &outputs);
    assert_eq!(document["pricing"], json!({"Starter": 9.0, "Pro plan": 29.0, "Team": 1299.0, "Enterprise": 2.5, "H100s": 2.1}));
}

#[test]
fn papers_are_filled_from_arxiv_items_first() {
    let schema = TargetSchema::parse(json!({"papers": [{"title": "str", "url": "str", "summary": "str"}]})).unwrap();
    let outputs = [search(
        "web-search",
        None,
        vec![
            item("A blog post about RAG", "https://blog.example.com/rag", "Our take on retrieval.", "web"),
            item("Retrieval-Augmented Generation for Knowledge-Intensive NLP Tasks", "https://arxiv.org/abs/2005.11401", "We explore a general-purpose fine-tuning recipe.", "arxiv"),
            item("Self-RAG: Learning to Retrieve, Generate, and Critique", "https://arxiv.org/abs/2310.11511", "We introduce Self-Reflective RAG.", "arxiv"),
            item("Self-RAG: Learning to Retrieve, Generate, and Critique", "https://arxiv.org/abs/2310.11511", "A repeat of the same paper.", "arxiv"),
        ],
    )];
    let document = mapped("Latest work on retrieval-augmented generation", &schema, &outputs);
    let papers = document["papers"].as_array().unwrap();
    assert_eq!(papers.len(), 3);
    assert_eq!(papers[0]["title"], "Retrieval-Augmented Generation for Knowledge-Intensive NLP Tasks");
    assert_eq!(papers[0]["url"], "https://arxiv.org/abs/2005.11401");
    assert_eq!(papers[0]["summary"], "We explore a general-purpose fine-tuning recipe.");
    assert_eq!(papers[1]["url"], "https://arxiv.org/abs/2310.11511");
    assert_eq!(papers[2]["url"], "https://blog.example.com/rag");
}

/// `count` items, each with a distinct URL.
fn many_items(count: usize) -> Vec<TaskOutput> {
    let items = (0..count).map(|n| item(&format!("Result {n}"), &format!("https://example.com/{n}"), &format!("Finding number {n} here."), "web")).collect();
    vec![search("web-search", None, items)]
}

#[test]
fn arrays_keep_within_their_item_bounds() {
    let schema = TargetSchema::parse(json!({
        "type": "object",
        "properties": {
            "capped": {"type": "array", "maxItems": 2, "items": {"type": "string"}},
            "padded": {"type": "array", "minItems": 3, "items": {"type": "object", "properties": {"url": {"type": "string"}}, "required": ["url"]}},
            "unbounded": {"type": "array", "items": {"type": "object", "properties": {"title": {"type": "string"}}, "required": ["title"]}}
        },
        "required": ["capped", "padded", "unbounded"]
    }))
    .unwrap();
    let document = mapped("results", &schema, &many_items(15));
    assert_eq!(document["capped"].as_array().unwrap().len(), 2);
    assert_eq!(document["unbounded"].as_array().unwrap().len(), 10);
    let few = mapped("results", &schema, &many_items(1));
    let padded = few["padded"].as_array().unwrap();
    assert_eq!(padded.len(), 3);
    assert_eq!(padded[0]["url"], "https://example.com/0");
}

#[test]
fn enums_take_the_value_the_evidence_mentions_or_the_first() {
    let schema = TargetSchema::parse(json!({
        "type": "object",
        "properties": {
            "sentiment": {"enum": ["positive", "neutral", "negative"]},
            "tier": {"type": "string", "enum": [1, "free", "pro"]},
            "status": {"const": "done"}
        },
        "required": ["sentiment", "tier", "status"],
        "additionalProperties": false
    }))
    .unwrap();
    let outputs = [search("x-search", None, vec![item("post", "https://x.com/1", "Mostly negative takes; the free tier is gone, negative again.", "x")])];
    let document = mapped("sentiment", &schema, &outputs);
    assert_eq!(document, json!({"sentiment": "negative", "tier": "free", "status": "done"}));
    assert_eq!(mapped("sentiment", &schema, &[]), json!({"sentiment": "positive", "tier": "free", "status": "done"}));
}

#[test]
fn numbers_are_kept_within_their_bounds() {
    let schema = TargetSchema::parse(json!({
        "type": "object",
        "properties": {
            "price_point": {"type": "number", "minimum": 3},
            "cost": {"type": "number", "maximum": 1, "multipleOf": 0.25},
            "result_count": {"type": "integer", "maximum": 2},
            "score": {"type": "integer", "exclusiveMinimum": 0, "exclusiveMaximum": 10},
            "ratio": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1}
        },
        "required": ["price_point", "cost", "result_count", "score", "ratio"]
    }))
    .unwrap();
    let document = mapped(GPU_OBJECTIVE, &schema, &gpu_outputs());
    assert_eq!(document, json!({"price_point": 3.0, "cost": 1.0, "result_count": 2, "score": 1, "ratio": 0.5}));
}

#[test]
fn references_combinations_and_closed_objects_are_honoured() {
    let schema = TargetSchema::parse(json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "$defs": {
            "Offer": {
                "type": "object",
                "properties": {"provider": {"type": "string", "minLength": 3}, "price": {"anyOf": [{"type": "null"}, {"type": "number"}]}},
                "required": ["provider", "price"],
                "additionalProperties": false
            }
        },
        "definitions": {"Link": {"type": ["string", "null"], "maxLength": 30}},
        "properties": {
            "offers": {"type": "array", "items": {"$ref": "#/$defs/Offer"}},
            "source": {"$ref": "#/definitions/Link"},
            "verdict": {"oneOf": [{"type": "integer"}, {"type": "string"}], "allOf": [{"minLength": 2}]},
            "notes": {"type": "string"}
        },
        "required": ["offers", "source", "verdict"],
        "additionalProperties": false
    }))
    .unwrap();
    let document = mapped(GPU_OBJECTIVE, &schema, &gpu_outputs());
    let offers = document["offers"].as_array().unwrap();
    let providers: Vec<&str> = offers.iter().map(|offer| offer["provider"].as_str().unwrap()).collect();
    assert_eq!(providers, ["RunPod", "Vast.ai", "Lambda"]);
    assert_eq!(offers[2], json!({"provider": "Lambda", "price": 2.49}));
    assert_eq!(document["source"], "https://www.runpod.io/pricing");
    assert!(document["verdict"].is_string());
    let keys: Vec<&String> = document.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["notes", "offers", "source", "verdict"]);
}

#[test]
fn items_from_the_source_an_array_names_come_first() {
    let schema = TargetSchema::parse(json!({"tweets": [{"url": "str"}]})).unwrap();
    let outputs = [search(
        "web-search",
        None,
        vec![
            item("a page", "https://example.com/x", "An example page.", "web"),
            item("a tweet", "https://mobile.twitter.com/a/status/1", "A tweet found by a web search.", "web"),
            item("a post", "https://x.com/b/status/2", "A post from X search.", "x"),
        ],
    )];
    let urls: Vec<Value> = mapped("tweets", &schema, &outputs)["tweets"].as_array().unwrap().iter().map(|tweet| tweet["url"].clone()).collect();
    assert_eq!(urls, [json!("https://mobile.twitter.com/a/status/1"), json!("https://x.com/b/status/2"), json!("https://example.com/x")]);
}

#[test]
fn optional_fields_appear_only_with_evidence() {
    let schema = TargetSchema::parse(json!({"posts": [{"text": "str", "author": "str?", "published": "str?"}]})).unwrap();
    let mut with_author = item("post", "https://x.com/a/1", "Bittensor subnets are live.", "x");
    with_author.author = Some("@alice".to_owned());
    let without = item("post", "https://x.com/b/2", "Another post.", "x");
    let outputs = [search("x-search", None, vec![with_author, without])];
    let document = mapped("Bittensor tweets", &schema, &outputs);
    assert_eq!(document["posts"], json!([{"text": "Bittensor subnets are live.", "author": "@alice"}, {"text": "Another post."}]));
}

#[test]
fn a_summary_uses_the_tasks_text_and_no_evidence_still_validates() {
    let schema = TargetSchema::parse(json!({"title": "str", "summary": "str", "sources": ["str"], "count": "int", "has_free_tier": "bool"})).unwrap();
    let output = TaskOutput { text: Some("Desearch summary: a free tier exists.".to_owned()), ..many_items(2).remove(0) };
    let document = mapped("Is there a free tier?", &schema, &[output]);
    assert_eq!(document["title"], "Is there a free tier?");
    assert_eq!(document["summary"], "Desearch summary: a free tier exists.");
    assert_eq!(document["sources"], json!(["https://example.com/0", "https://example.com/1"]));
    assert_eq!(document["count"], 2);
    assert_eq!(document["has_free_tier"], true);
    let empty = mapped("", &schema, &[]);
    assert_eq!(empty["summary"], "No evidence was found.");
    assert_eq!(empty["has_free_tier"], false);
}

#[test]
fn recursive_and_branching_references_end() {
    let schema = TargetSchema::parse(json!({
        "$defs": {
            "Tree": {
                "type": "object",
                "properties": {"name": {"type": "string"}, "left": {"$ref": "#/$defs/Tree"}, "right": {"$ref": "#/$defs/Tree"}, "children": {"type": "array", "items": {"$ref": "#"}}},
                "required": ["name"]
            },
            "Knot": {"anyOf": [{"$ref": "#/$defs/Knot"}, {"$ref": "#/$defs/Knot"}, {"$ref": "#/$defs/Knot"}, {"type": "string"}]}
        },
        "type": "object",
        "properties": {"tree": {"$ref": "#/$defs/Tree"}, "knot": {"$ref": "#/$defs/Knot"}, "more": {"$ref": "#"}},
        "required": ["tree", "knot"]
    }))
    .unwrap();
    let document = mapped(GPU_OBJECTIVE, &schema, &gpu_outputs());
    assert_eq!(document["tree"], json!({"name": GPU_OBJECTIVE}));
    assert!(document["knot"].is_string());
}

/// Full-form schemas made of the keywords the mapper reads, with references that may point
/// nowhere or at themselves, and bounds that may contradict each other.
fn full_form_schema() -> impl Strategy<Value = Value> {
    let reference = prop::sample::select(vec!["#", "#/$defs/a", "#/$defs/b", "#/definitions/a", "#/nowhere", "https://example.com/schema", "#/properties/x", "a"]);
    let scalar = prop_oneof![Just(Value::Null), any::<bool>().prop_map(Value::from), any::<i64>().prop_map(Value::from), any::<f64>().prop_map(|f| json!(f)), "[a-z ]{0,6}".prop_map(Value::from)];
    let type_name = prop::sample::select(vec!["string", "number", "integer", "boolean", "object", "array", "null", "nonsense"]);
    let count = prop_oneof![0u64..5, Just(u64::MAX)];
    let keyword = prop_oneof![
        type_name.clone().prop_map(|name| ("type", json!(name))),
        prop::collection::vec(type_name, 0..3).prop_map(|names| ("type", json!(names))),
        reference.prop_map(|reference| ("$ref", json!(reference))),
        prop::collection::vec(scalar.clone(), 0..4).prop_map(|values| ("enum", Value::Array(values))),
        scalar.clone().prop_map(|value| ("const", value)),
        prop::sample::select(vec!["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"]).prop_flat_map(move |name| {
            prop_oneof![any::<f64>().prop_map(|f| json!(f)), (-3i64..4).prop_map(Value::from), any::<bool>().prop_map(Value::from)].prop_map(move |bound| (name, bound))
        }),
        (prop::sample::select(vec!["minLength", "maxLength", "minItems", "maxItems", "maxProperties"]), count).prop_map(|(name, count)| (name, json!(count))),
        any::<bool>().prop_map(|flag| ("uniqueItems", json!(flag))),
        prop::collection::vec(prop::sample::select(vec!["name", "url", "price", "x", "pricing"]), 0..3).prop_map(|names| ("required", json!(names))),
    ];
    let leaf = prop_oneof![
        any::<bool>().prop_map(Value::from),
        prop::collection::vec(keyword, 0..4).prop_map(|keywords| Value::Object(keywords.into_iter().map(|(name, value)| (name.to_owned(), value)).collect())),
    ];
    let tree = leaf.prop_recursive(4, 48, 5, |inner| {
        let name = prop::sample::select(vec!["name", "url", "price", "x", "pricing", "strengths", "count"]);
        let applicator = prop::sample::select(vec!["items", "additionalProperties", "allOf", "anyOf", "oneOf", "prefixItems", "properties"]);
        (inner.clone(), applicator, prop::collection::vec(inner.clone(), 0..3), prop::collection::btree_map(name, inner, 0..4)).prop_map(|(base, applicator, list, named)| {
            let mut base = match base {
                Value::Object(keywords) => keywords,
                _ => serde_json::Map::new(),
            };
            let value = match applicator {
                "properties" => Value::Object(named.into_iter().map(|(name, schema)| (name.to_owned(), schema)).collect()),
                "items" | "additionalProperties" => list.into_iter().next().unwrap_or(Value::Bool(true)),
                _ => Value::Array(list),
            };
            base.insert(applicator.to_owned(), value);
            Value::Object(base)
        })
    });
    (tree.clone(), tree.clone(), tree).prop_map(|(root, a, b)| {
        let mut root = match root {
            Value::Object(keywords) => keywords,
            other => serde_json::Map::from_iter([("allOf".to_owned(), json!([other]))]),
        };
        root.insert("$defs".to_owned(), json!({"a": a, "b": b}));
        root.insert("definitions".to_owned(), json!({"a": {"$ref": "#/$defs/b"}}));
        Value::Object(root)
    })
}

/// Compact schemas: objects of fields named like real ones, arrays, and every type name,
/// optional or not.
fn compact_schema() -> impl Strategy<Value = Value> {
    let type_name = prop::sample::select(vec!["str", "int", "float", "bool", "dict", "list", "any", "string", "integer", "number", "boolean", "object", "array"]);
    let leaf = type_name.prop_map(Value::from);
    let field = prop::sample::select(vec![
        "name", "title", "url", "summary", "rationale", "pricing", "price_point", "strengths", "count", "published", "author", "papers",
        "competitors", "recommendation", "tweets", "sentiment", "has_free_tier", "cost", "sources", "notes", "enum", "items",
    ]);
    let tree = leaf.prop_recursive(4, 32, 6, move |inner| {
        prop_oneof![
            inner.clone().prop_map(|element| json!([element])),
            prop::collection::btree_map(field.clone(), (inner, any::<bool>()), 0..6).prop_map(|fields| {
                Value::Object(fields.into_iter().map(|(name, (schema, optional))| (name.to_owned(), optional_if(schema, optional))).collect())
            }),
        ]
    });
    // The top level is an object, as a target schema is, without the full form's marker keys.
    prop::collection::btree_map("[a-z]{1,8}".prop_filter("not a full-form key", |name| name != "type" && name != "properties"), tree, 0..5)
        .prop_map(|fields| Value::Object(fields.into_iter().collect()))
}

/// Marks a type name optional (`"str?"`) when asked; only type names can be.
fn optional_if(schema: Value, optional: bool) -> Value {
    match schema {
        Value::String(name) if optional => Value::String(format!("{name}?")),
        other => other,
    }
}

fn text() -> impl Strategy<Value = String> {
    let fragment = prop::sample::select(vec![
        "H100 SXM $2.69/hr", "A100 80GB 1.19 USD/hr", "$", "$.", "USD 3", "per", "/", ".", "; ", "\n", "free tier", "RTX 4090 at $0.35 per hour",
        "costs $1,299.50 a month", "9999999999999999999999 USD", "positive", "é", "Vast.ai", "-", ":", " ",
    ]);
    prop_oneof![prop::collection::vec(fragment, 0..12).prop_map(|parts| parts.join(" ")), any::<String>()]
}

fn outputs() -> impl Strategy<Value = Vec<TaskOutput>> {
    let subject = prop::option::of(prop::sample::select(vec!["RunPod", "Vast.ai", "Lambda", " ", ""]));
    let item = (prop::option::of(text()), text(), prop::option::of(prop::sample::select(vec!["https://a", "https://b", "", "https://arxiv.org/abs/1"])), prop::option::of(text()))
        .prop_map(|(title, text, url, author)| Item { title, text, url: url.map(str::to_owned), source: "web".to_owned(), published: None, author, ..Item::default() });
    let output = (subject, prop::collection::vec(item, 0..5), prop::option::of(text())).prop_map(|(subject, items, text)| TaskOutput {
        task: "task".to_owned(),
        capability: "web-search".to_owned(),
        subject: subject.map(str::to_owned),
        items,
        text,
    });
    prop::collection::vec(output, 0..5)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn every_compact_schema_gets_a_valid_document(compact in compact_schema(), outputs in outputs(), objective in text()) {
        let schema = TargetSchema::parse(compact).unwrap();
        let document = map(&objective, schema.json_schema(), &outputs);
        prop_assert!(schema.validate(&document).is_ok(), "{:#} does not validate against {:#}: {:?}", document, schema.json_schema(), schema.validate(&document));
    }

    #[test]
    fn no_full_form_schema_makes_the_mapper_panic(schema in full_form_schema(), outputs in outputs(), objective in text()) {
        map(&objective, &schema, &outputs);
    }
}

