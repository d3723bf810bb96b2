//! The grounded writer: every value it writes is cited and its citations hold against the
//! bodies the evidence came from; what no evidence supports is never written; and the seed's
//! comparison gives each competitor its own prices, whatever the names, prices and layouts.

use std::collections::BTreeMap;

use orchestrator::evidence::{Item, Located, Spot, TaskOutput};
use orchestrator::provenance::{self, Citation, ProvenanceError, Rule};
use orchestrator::schema::TargetSchema;
use orchestrator::synthesis::writer::{write, Insufficient, Written};
use proptest::prelude::*;
use serde_json::{json, Value};

/// One search's page, as a subnet answers it.
struct Page<'a> {
    title: &'a str,
    url: &'a str,
    text: &'a str,
}

/// Task outputs whose items are located in bodies shaped as a search answers
/// (`{"results": [{"title", "snippet", "link"}]}`), one body per task, and those bodies by
/// receipt.
fn searches(tasks: &[(Option<&str>, Vec<Page>)]) -> (Vec<TaskOutput>, BTreeMap<u64, Vec<u8>>) {
    let mut outputs = Vec::new();
    let mut bodies = BTreeMap::new();
    for (receipt, (subject, pages)) in tasks.iter().enumerate() {
        let receipt = receipt as u64;
        let results: Vec<Value> = pages.iter().map(|page| json!({"title": page.title, "snippet": page.text, "link": page.url})).collect();
        bodies.insert(receipt, serde_json::to_vec(&json!({ "results": results })).unwrap());
        let items = pages
            .iter()
            .enumerate()
            .map(|(index, page)| Item {
                title: Some(page.title.to_owned()),
                text: page.text.to_owned(),
                url: Some(page.url.to_owned()),
                source: "web".to_owned(),
                located: Located {
                    receipt: Some(receipt),
                    title: Some(Spot::At(format!("/results/{index}/title"))),
                    text: Some(Spot::At(format!("/results/{index}/snippet"))),
                    url: Some(Spot::At(format!("/results/{index}/link"))),
                    ..Located::default()
                },
                ..Item::default()
            })
            .collect();
        outputs.push(TaskOutput { task: format!("search-{receipt}"), capability: "web-search".into(), subject: subject.map(str::to_owned), items, ..TaskOutput::default() });
    }
    (outputs, bodies)
}

/// Writes `schema` (compact or full) and checks the result against the schema and its
/// citations against the bodies.
#[track_caller]
fn written(objective: &str, schema: Value, outputs: &[TaskOutput], bodies: &BTreeMap<u64, Vec<u8>>) -> Result<Written, Insufficient> {
    let schema = TargetSchema::parse(schema).unwrap();
    let written = write(objective, schema.json_schema(), outputs)?;
    schema.validate(&written.document).unwrap_or_else(|violations| panic!("{violations:?}: {}", written.document));
    provenance::check(&written.document, &written.provenance, bodies, objective).unwrap_or_else(|error| panic!("{error}: {}", written.document));
    Ok(written)
}

const GPU_OBJECTIVE: &str = "Research RunPod, Vast.ai and Lambda GPU pricing and recommend a price point";

fn gpu_schema() -> Value {
    json!({"competitors": [{"name": "str", "pricing": "dict", "strengths": "list"}], "recommendation": {"price_point": "float", "rationale": "str"}})
}

/// What three searches, one per GPU cloud, return: each provider's own page, and a comparison
/// page that every search finds.
fn gpu_searches() -> (Vec<TaskOutput>, BTreeMap<u64, Vec<u8>>) {
    let comparison = Page {
        title: "Cloud GPU Pricing Compared",
        url: "https://example.com/compare",
        text: "Hourly prices for the same GPUs across providers. H100 SXM: Vast.ai $1.87/hr, RunPod $2.69/hr, Lambda $2.99/hr. Vast.ai is cheapest; its hosts vary in reliability.",
    };
    let comparison = || Page { ..comparison };
    searches(&[
        (Some("RunPod"), vec![Page { title: "GPU Cloud Pricing | RunPod", url: "https://www.runpod.io/pricing", text: "Secure Cloud H100 SXM $2.79/hr, A100 80GB $1.19/hr. Per-second billing with zero fees for ingress and egress." }, comparison()]),
        (Some("Vast.ai"), vec![Page { title: "Vast.ai | Rent GPUs", url: "https://vast.ai/pricing", text: "Interruptible instances cut costs by half. Thousands of community hosts worldwide rent out their GPUs." }, comparison()]),
        (Some("Lambda"), vec![Page { title: "Lambda GPU Cloud", url: "https://lambdalabs.com/service/gpu-cloud", text: "Lambda charges $2.49 per hour for the A100 80GB. Reserved clusters come with InfiniBand." }, comparison()]),
    ])
}

#[test]
fn the_seeds_comparison_gives_each_competitor_its_own_prices_and_cites_every_value() {
    let (outputs, bodies) = gpu_searches();
    let Written { document, provenance } = written(GPU_OBJECTIVE, gpu_schema(), &outputs, &bodies).unwrap();
    let competitors = document["competitors"].as_array().unwrap();
    let names: Vec<&str> = competitors.iter().map(|competitor| competitor["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["RunPod", "Vast.ai", "Lambda"]);
    // Each provider's lowest H100 SXM price, wherever it is written, and nobody else's.
    assert_eq!(competitors[0]["pricing"], json!({"H100 SXM": 2.69, "A100 80GB": 1.19}));
    assert_eq!(competitors[1]["pricing"], json!({"H100 SXM": 1.87}));
    assert_eq!(competitors[2]["pricing"], json!({"H100 SXM": 2.99, "A100 80GB": 2.49}));
    // Strengths are about their competitor: none names another.
    for (index, competitor) in competitors.iter().enumerate() {
        let strengths = competitor["strengths"].as_array().unwrap();
        assert!(!strengths.is_empty());
        for strength in strengths {
            let others = names.iter().enumerate().filter(|(other, _)| *other != index);
            assert!(others.clone().all(|(_, other)| !strength.as_str().unwrap().contains(other)), "{}'s strength {strength}", names[index]);
        }
    }
    // The market price is the median of the H100 SXM offers, derived from their leaves.
    assert_eq!(document["recommendation"]["price_point"], json!(2.69));
    assert_eq!(
        provenance.leaves["/recommendation/price_point"],
        Citation::Derived { rule: Rule::Median, from: vec!["/competitors/0/pricing/H100 SXM".into(), "/competitors/1/pricing/H100 SXM".into(), "/competitors/2/pricing/H100 SXM".into()] }
    );
    assert_eq!(provenance.leaves["/competitors/1/name"], Citation::Objective { text: "Vast.ai".into() });
    assert!(matches!(&provenance.leaves["/competitors/1/pricing/H100 SXM"], Citation::Quote { text, .. } if text == "$1.87/hr"));
}

#[test]
fn a_required_value_no_evidence_supports_fails_with_its_pointer_and_nothing_is_a_placeholder() {
    let (outputs, bodies) = gpu_searches();
    // Nothing says how many employees a provider has, or whether it is listed on an exchange.
    let schema = json!({"competitors": [{"name": "str", "employees": "int"}]});
    let refused = written(GPU_OBJECTIVE, schema, &outputs, &bodies).unwrap_err();
    assert_eq!(refused.fields, ["/competitors/0/employees"]);

    let full = json!({"type": "object", "required": ["summary", "listed", "rating"], "properties": {
        "summary": {"type": "string"},
        "listed": {"type": "boolean"},
        "rating": {"type": ["number", "null"]},
        "founded": {"type": "integer"}
    }});
    let refused = written(GPU_OBJECTIVE, full.clone(), &outputs, &bodies).unwrap_err();
    assert_eq!(refused.fields, ["/listed"], "a false is never written: absence proves nothing");

    let mut nullable = full;
    nullable["properties"]["listed"]["type"] = json!(["boolean", "null"]);
    let Written { document, provenance } = written(GPU_OBJECTIVE, nullable, &outputs, &bodies).unwrap();
    assert_eq!(document["listed"], Value::Null);
    assert_eq!(document["rating"], Value::Null);
    assert!(document.get("founded").is_none(), "an optional value without evidence is left out");
    assert!(provenance.leaves.contains_key("/summary"));
}

#[test]
fn constraints_are_met_from_the_evidence_or_the_value_is_not_written() {
    let (outputs, bodies) = gpu_searches();
    // No price is moved into bounds, and no text is padded to a length.
    let bounded = json!({"type": "object", "required": ["competitors"], "properties": {"competitors": {"type": "array", "items": {
        "type": "object", "required": ["name", "price"], "properties": {"name": {"type": "string"}, "price": {"type": "number", "minimum": 2.5}}}}}});
    let Written { document, .. } = written(GPU_OBJECTIVE, bounded, &outputs, &bodies).unwrap();
    let names: Vec<&str> = document["competitors"].as_array().unwrap().iter().map(|competitor| competitor["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["RunPod", "Lambda"], "Vast.ai's $1.87 is below the minimum and is not raised to it");
    let padded = json!({"type": "object", "required": ["name"], "properties": {"name": {"type": "string", "minLength": 500}}});
    assert!(written(GPU_OBJECTIVE, padded, &outputs, &bodies).is_err());
    // A text longer than allowed is cut at a word and quoted.
    let short = json!({"type": "object", "required": ["summary"], "properties": {"summary": {"type": "string", "maxLength": 30}}});
    let Written { document, provenance } = written(GPU_OBJECTIVE, short, &outputs, &bodies).unwrap();
    let summary = document["summary"].as_str().unwrap();
    assert!(summary.chars().count() <= 30 && !summary.ends_with(' '));
    assert!(matches!(&provenance.leaves["/summary"], Citation::Quote { text, .. } if text == summary));
}

#[test]
fn without_located_evidence_nothing_is_written() {
    let (mut outputs, _) = gpu_searches();
    for output in &mut outputs {
        for item in &mut output.items {
            item.located = Located::default();
        }
    }
    let refused = written(GPU_OBJECTIVE, gpu_schema(), &outputs, &BTreeMap::new()).unwrap_err();
    assert!(!refused.fields.is_empty());
}

#[test]
fn citations_that_do_not_hold_are_refused() {
    let (outputs, bodies) = gpu_searches();
    let Written { document, provenance } = written(GPU_OBJECTIVE, gpu_schema(), &outputs, &bodies).unwrap();
    let check = |document: &Value, provenance: &provenance::Provenance| provenance::check(document, provenance, &bodies, GPU_OBJECTIVE);

    let mut cheaper = document.clone();
    cheaper["competitors"][0]["pricing"]["H100 SXM"] = json!(1.5);
    assert!(matches!(check(&cheaper, &provenance), Err(ProvenanceError::Unsupported { leaf, .. }) if leaf == "/competitors/0/pricing/H100 SXM"));

    let mut renamed = document.clone();
    renamed["competitors"][1]["name"] = json!("CoreWeave");
    assert!(matches!(check(&renamed, &provenance), Err(ProvenanceError::Unsupported { .. })));

    let mut added = document.clone();
    added["recommendation"]["provider"] = json!("RunPod");
    assert_eq!(check(&added, &provenance), Err(ProvenanceError::Uncited("/recommendation/provider".into())));

    let mut forged = provenance.clone();
    let Citation::Quote { text, .. } = forged.leaves.get_mut("/competitors/1/pricing/H100 SXM").unwrap() else { panic!("a quote") };
    *text = "$1.87/hr, with a free tier".into();
    assert!(matches!(check(&document, &forged), Err(ProvenanceError::Unsupported { .. })));

    let mut wrong_median = document.clone();
    wrong_median["recommendation"]["price_point"] = json!(2.5);
    assert!(matches!(check(&wrong_median, &provenance), Err(ProvenanceError::Unsupported { leaf, .. }) if leaf == "/recommendation/price_point"));

    assert!(matches!(provenance::check(&document, &provenance, &BTreeMap::new(), GPU_OBJECTIVE), Err(ProvenanceError::NoBody { .. })));
}

/// The words of `text`, lowercased.
fn words_of(text: &str) -> Vec<String> {
    text.split(|character: char| !character.is_alphanumeric()).filter(|word| !word.is_empty()).map(str::to_lowercase).collect()
}

/// Provider names and products no rule could know: capitalised nonsense words and model numbers.
fn provider_name() -> impl Strategy<Value = String> {
    "[A-Z][a-z]{3,8}(\\.io)?"
}

/// A page layout: how a provider's own page writes its price for a product. The last names
/// the provider only in the page's title and address.
fn layout(layout: usize, provider: &str, product: &str, price: &str) -> String {
    match layout % 5 {
        0 => format!("{provider} lists the {product} at ${price}/hr with per-second billing."),
        1 => format!("Rent a {product} for ${price} per hour on {provider}."),
        2 => format!("{product} pricing: {provider} ${price}/hr."),
        3 => format!("On {provider}, the {product} costs ${price}/hr; spot capacity varies."),
        _ => format!("On-demand {product} ${price}/hr, billed by the second."),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The seed's objective with other competitors, prices and page layouts: each competitor
    /// gets the prices written for it, and the recommendation is their median.
    #[test]
    fn randomised_competitors_prices_and_layouts_get_their_own_prices(
        providers in proptest::collection::btree_set(provider_name(), 3..=4),
        model in 10u32..999,
        cents in proptest::collection::vec(50u32..999, 4),
        layouts in proptest::collection::vec(0usize..5, 4),
        shared_page in any::<bool>(),
    ) {
        let providers: Vec<String> = providers.into_iter().collect();
        prop_assume!(providers.iter().all(|a| providers.iter().all(|b| a == b || !a.to_lowercase().contains(&b.to_lowercase()))));
        // A name that is also a word of the pages (a provider called "Pricing") names no one.
        let page_words = words_of(&format!("{} {} {}", (0..5).map(|index| layout(index, "", "", "")).collect::<Vec<_>>().join(" "), "Compared GPU pricing", "Research and recommend a price point"));
        prop_assume!(providers.iter().all(|provider| !page_words.contains(&provider.to_lowercase())));
        let product = format!("X{model}");
        let prices: Vec<String> = providers.iter().enumerate().map(|(index, _)| format!("{}.{:02}", cents[index] / 100, cents[index] % 100)).collect();
        let own: Vec<String> = providers.iter().enumerate().map(|(index, provider)| layout(layouts[index], provider, &product, &prices[index])).collect();
        // With a shared page, every price is also in one comparison that every search finds.
        let comparison = format!("{product}: {}.", providers.iter().zip(&prices).map(|(provider, price)| format!("{provider} ${price}/hr")).collect::<Vec<_>>().join(", "));
        let objective = format!("Research {} GPU pricing and recommend a price point", providers.join(", "));
        let titles: Vec<String> = providers.iter().map(|provider| format!("{provider} | GPU pricing")).collect();
        let urls: Vec<String> = providers.iter().map(|provider| format!("https://www.{}.example/pricing", provider.to_lowercase())).collect();
        // Every search finds every provider's page (and the comparison), its own first.
        let tasks: Vec<(Option<&str>, Vec<Page>)> = (0..providers.len())
            .map(|searched| {
                let mut pages: Vec<Page> = (0..providers.len()).map(|index| (searched + index) % providers.len()).map(|page| Page { title: &titles[page], url: &urls[page], text: &own[page] }).collect();
                if shared_page {
                    pages.push(Page { title: "Compared", url: "https://compare.example/gpus", text: &comparison });
                }
                (Some(providers[searched].as_str()), pages)
            })
            .collect();
        let (outputs, bodies) = searches(&tasks);
        let Written { document, .. } = written(&objective, gpu_schema(), &outputs, &bodies).unwrap();
        let competitors = document["competitors"].as_array().unwrap();
        prop_assert_eq!(competitors.len(), providers.len());
        let mut offers = Vec::new();
        for (index, competitor) in competitors.iter().enumerate() {
            prop_assert_eq!(competitor["name"].as_str(), Some(providers[index].as_str()));
            let expected: f64 = prices[index].parse().unwrap();
            prop_assert_eq!(competitor["pricing"][&product].as_f64(), Some(expected), "{}", document);
            offers.push(expected);
        }
        offers.sort_by(f64::total_cmp);
        let middle = offers.len() / 2;
        let median = if offers.len() % 2 == 1 { offers[middle] } else { (offers[middle - 1] + offers[middle]) / 2.0 };
        prop_assert!((document["recommendation"]["price_point"].as_f64().unwrap() - median).abs() < 1e-9);
    }

    /// Whatever the schema, the writer ends, and what it writes is cited and holds.
    #[test]
    fn any_schema_ends_and_what_is_written_holds(schema in schema_strategy()) {
        let (outputs, bodies) = gpu_searches();
        let Ok(schema) = TargetSchema::parse(schema) else { return Ok(()) };
        if let Ok(Written { document, provenance }) = write(GPU_OBJECTIVE, schema.json_schema(), &outputs) {
            prop_assert_eq!(provenance::check(&document, &provenance, &bodies, GPU_OBJECTIVE), Ok(()));
        }
    }
}

/// Compact schemas of fields with names of every role, nested.
fn schema_strategy() -> impl Strategy<Value = Value> {
    let field = prop_oneof![Just("name"), Just("title"), Just("url"), Just("summary"), Just("price"), Just("pricing"), Just("count"), Just("strengths"), Just("date"), Just("has_free_tier"), Just("notes")];
    let leaf = prop_oneof![Just(json!("str")), Just(json!("int")), Just(json!("float")), Just(json!("bool")), Just(json!("dict")), Just(json!("list"))];
    leaf.prop_recursive(3, 24, 4, move |inner| {
        prop_oneof![proptest::collection::btree_map(field.clone().prop_map(str::to_owned), inner.clone(), 1..4).prop_map(|map| json!(map)), inner.prop_map(|element| json!([element]))]
    })
}
