//! The deterministic planner: subjects found and fanned out, capabilities chosen by keyword,
//! queries cleaned, and every plan passing `Plan::check` whenever it can.

use std::collections::BTreeSet;

use orchestrator::plan::{Plan, PlanError, PlannerKind, Task, MAX_TASKS};
use orchestrator::planner::{deterministic, Vocabulary};
use orchestrator::schema::TargetSchema;
use proptest::prelude::*;
use serde_json::{json, Value};

const ALL_CAPABILITIES: [&str; 4] = ["web-search", "x-search", "reddit-search", "llm-chat"];

/// The genesis' capability records.
fn vocabulary_records() -> Vec<ledger::record::Capability> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../snapshots");
    let changes = ledger::genesis::read_sources(&dir).expect("the genesis sources read");
    changes
        .changes()
        .iter()
        .filter_map(|change| match ledger::record::Record::decode(&change.key, change.value.as_deref()?).ok()? {
            ledger::record::Record::Capability(capability) => Some(capability),
            _ => None,
        })
        .collect()
}

fn vocabulary() -> Vocabulary {
    Vocabulary::new(vocabulary_records())
}

/// The deterministic plan on the genesis' vocabulary.
fn plan(objective: &str, schema: &Value, offered: &BTreeSet<String>) -> Plan {
    deterministic::plan(objective, schema, &vocabulary(), offered)
}

fn offered(capabilities: &[&str]) -> BTreeSet<String> {
    capabilities.iter().map(|capability| capability.to_string()).collect()
}

/// A compact schema in full form, as the planner receives it.
fn full_form(compact: Value) -> Value {
    TargetSchema::parse(compact).unwrap().json_schema().clone()
}

fn gpu_schema() -> Value {
    full_form(json!({
        "competitors": [{"name": "str", "pricing": "dict", "strengths": "list"}],
        "recommendation": {"price_point": "float", "rationale": "str"}
    }))
}

fn capabilities(plan: &Plan) -> Vec<&str> {
    plan.tasks.iter().map(|task| task.capability.as_str()).collect()
}

fn subjects(plan: &Plan) -> Vec<&str> {
    plan.tasks.iter().filter_map(|task| task.subject.as_deref()).collect()
}

/// The only task of `plan`.
fn single(plan: &Plan) -> &Task {
    assert_eq!(plan.tasks.len(), 1, "expected one task: {plan:?}");
    &plan.tasks[0]
}

#[test]
fn gpu_pricing_fans_out_one_web_search_per_subject() {
    let offered = offered(&ALL_CAPABILITIES);
    let plan = plan("Research RunPod, Vast.ai and Lambda GPU pricing and recommend a price point", &gpu_schema(), &offered);
    assert_eq!(plan.planner, PlannerKind::Deterministic);
    assert_eq!(plan.fallback_reason, None);
    assert_eq!(subjects(&plan), ["RunPod", "Vast.ai", "Lambda"]);
    assert_eq!(capabilities(&plan), ["web-search"; 3]);
    let ids: Vec<&str> = plan.tasks.iter().map(|task| task.id.as_str()).collect();
    assert_eq!(ids, ["web-search-runpod", "web-search-vast-ai", "web-search-lambda"]);
    let queries: Vec<&str> = plan.tasks.iter().map(|task| task.query.as_str()).collect();
    assert_eq!(queries, ["RunPod GPU pricing", "Vast.ai GPU pricing", "Lambda GPU pricing"]);
    assert!(plan.tasks.iter().all(|task| task.depends_on.is_empty()));
    assert_eq!(plan.check(&offered).unwrap().len(), 3);
}

#[test]
fn subject_lists_are_read_in_their_usual_spellings() {
    let offered = offered(&["web-search"]);
    let schema = json!({});
    let cases: [(&str, &[&str]); 6] = [
        ("Compare AWS, GCP, and Azure on GPU pricing", &["AWS", "GCP", "Azure"]),
        ("compare RunPod vs. Lambda Labs", &["RunPod", "Lambda Labs"]),
        ("Which is cheaper: \"Hugging Face\" or “Replicate”?", &["Hugging Face", "Replicate"]),
        ("Together AI, Fireworks AI and Groq inference prices", &["Together AI", "Fireworks AI", "Groq"]),
        ("H100 versus A100 throughput", &["H100", "A100"]),
        ("What do Twitter and Reddit say about Cursor?", &[]),
    ];
    for (objective, expected) in cases {
        let plan = plan(objective, &schema, &offered);
        let expected: Vec<&str> = expected.to_vec();
        assert_eq!(subjects(&plan), expected, "{objective}");
        plan.check(&offered).unwrap();
    }
}

#[test]
fn the_topic_of_each_subject_drops_filler_and_instructions() {
    let offered = offered(&["web-search"]);
    let plan = plan("Please compare the pricing of Cursor and Windsurf, then suggest which to buy.", &json!({}), &offered);
    let queries: Vec<&str> = plan.tasks.iter().map(|task| task.query.as_str()).collect();
    assert_eq!(queries, ["Cursor pricing", "Windsurf pricing"]);
}

#[test]
fn tweets_call_for_x_search_without_the_medium_words() {
    let offered = offered(&ALL_CAPABILITIES);
    let plan = plan("What are people saying in tweets about the Cursor editor?", &json!({}), &offered);
    let task = single(&plan);
    assert_eq!(task.capability, "x-search");
    assert_eq!(task.id, "x-search");
    assert_eq!(task.query, "people saying Cursor editor");
    plan.check(&offered).unwrap();
}

#[test]
fn the_schema_alone_can_call_for_a_capability() {
    let offered = offered(&ALL_CAPABILITIES);
    let schema = full_form(json!({"tweets": [{"text": "str", "author": "str"}], "sentiment": "str"}));
    let plan = plan("Cursor editor", &schema, &offered);
    assert_eq!(capabilities(&plan), ["x-search"]);
}

#[test]
fn a_named_source_outweighs_another_sources_hints() {
    let offered = offered(&ALL_CAPABILITIES);
    let plan = plan("Summarise reddit posts and community discussion about Ollama", &json!({}), &offered);
    assert_eq!(capabilities(&plan), ["reddit-search"]);
    assert_eq!(plan.tasks[0].query, "Ollama");
}

#[test]
fn web_and_social_searches_combine() {
    let offered = offered(&ALL_CAPABILITIES);
    let plan = plan("Compare Cursor vs Windsurf pricing and Twitter sentiment", &json!({}), &offered);
    let pairs: Vec<(&str, &str)> = plan.tasks.iter().map(|task| (task.subject.as_deref().unwrap(), task.capability.as_str())).collect();
    assert_eq!(pairs, [("Cursor", "web-search"), ("Cursor", "x-search"), ("Windsurf", "web-search"), ("Windsurf", "x-search")]);
    let x_query = &plan.tasks[1].query;
    assert!(!x_query.to_lowercase().contains("twitter") && !x_query.contains("sentiment"), "{x_query}");
    plan.check(&offered).unwrap();
}

#[test]
fn a_papers_schema_asks_the_web_for_arxiv_papers() {
    let offered = offered(&ALL_CAPABILITIES);
    let schema = full_form(json!({"papers": [{"title": "str", "url": "str", "summary": "str"}]}));
    let plan = plan("Latest work on retrieval-augmented generation", &schema, &offered);
    let task = single(&plan);
    assert_eq!(task.capability, "web-search");
    assert_eq!(task.query, "Latest work retrieval-augmented generation arxiv papers");
}

#[test]
fn papers_already_asked_for_are_not_asked_twice() {
    let offered = offered(&["web-search"]);
    let plan = plan("Find recent papers about diffusion transformers", &json!({}), &offered);
    assert_eq!(single(&plan).query, "recent papers diffusion transformers arxiv");
}

#[test]
fn web_search_is_the_default_and_the_other_general_searches_the_last_resort() {
    let objective = "Cheap flights to Lisbon in May";
    let web = offered(&["web-search", "x-search", "llm-chat"]);
    assert_eq!(capabilities(&plan(objective, &json!({}), &web)), ["web-search"]);
    let social = offered(&["x-search", "reddit-search", "deep-research"]);
    let fallback = plan(objective, &json!({}), &social);
    assert_eq!(capabilities(&fallback), ["x-search"]);
    fallback.check(&social).unwrap();
    // A specialised capability answers only what asks for it.
    let specialised = offered(&["sports-odds", "vpn-coverage", "compute-rental"]);
    assert!(plan(objective, &json!({}), &specialised).tasks.is_empty());
    assert_eq!(capabilities(&plan("NBA moneyline odds for tonight", &json!({}), &specialised)), ["sports-odds"]);
}

#[test]
fn a_capability_not_offered_is_replaced_by_the_default() {
    let offered = offered(&["web-search"]);
    let plan = plan("Latest tweets about Bittensor", &json!({}), &offered);
    assert_eq!(capabilities(&plan), ["web-search"]);
    plan.check(&offered).unwrap();
}

#[test]
fn llm_chat_is_never_planned_and_alone_gives_an_empty_plan() {
    let offered = offered(&["llm-chat"]);
    let plan = plan("Research RunPod and Lambda pricing", &gpu_schema(), &offered);
    assert!(plan.tasks.is_empty());
    assert_eq!(plan.check(&offered), Err(PlanError::Empty));
    // Deep research, a job of minutes, is planned when asked for, never as the fallback.
    let with_research = self::offered(&["llm-chat", "deep-research"]);
    assert!(self::plan("Research RunPod and Lambda pricing", &gpu_schema(), &with_research).tasks.is_empty());
    let plan = self::plan("Write an investigation report on RunPod and Lambda pricing", &gpu_schema(), &with_research);
    assert!(plan.tasks.iter().all(|task| task.capability == "deep-research") && !plan.tasks.is_empty(), "deep research has a ledger record, so it is planned: {plan:?}");
}

#[test]
fn a_capability_the_ledger_gains_is_planned_from_its_record_alone() {
    let record = |name: &str, hints: &[&str], order: u16| ledger::record::Capability {
        name: name.into(),
        description: format!("{name} readings"),
        role: ledger::record::CapabilityRole::Evidence,
        family: name.into(),
        names: vec![],
        hints: hints.iter().map(|hint| hint.to_string()).collect(),
        hints_are_medium_words: false,
        finds_papers: false,
        fallback: false,
        order,
    };
    let mut records: Vec<_> = vocabulary_records();
    records.push(record("air-quality", &["pollution", "smog", "aqi"], 5));
    let vocabulary = Vocabulary::new(records);
    let offered = offered(&["web-search", "air-quality"]);
    let plan = deterministic::plan("How bad is the smog in Delhi and Lahore this week?", &json!({}), &vocabulary, &offered);
    let planned: BTreeSet<&str> = capabilities(&plan).into_iter().collect();
    assert!(planned.contains("air-quality"), "{plan:?}");
    assert!(plan.tasks.iter().filter(|task| task.capability == "air-quality").all(|task| task.required), "first in order and hinted: required");
    assert_eq!(subjects(&plan).into_iter().collect::<BTreeSet<_>>(), BTreeSet::from(["Delhi", "Lahore"]), "{plan:?}");
    plan.check(&offered).unwrap();
    // Without its record, the same capability is never planned.
    let plan = self::plan("How bad is the smog in Delhi and Lahore this week?", &json!({}), &offered);
    assert!(!capabilities(&plan).contains(&"air-quality"), "{plan:?}");
}

#[test]
fn an_objective_with_nothing_to_search_still_gets_a_query() {
    let offered = offered(&["web-search"]);
    assert_eq!(single(&plan("find it", &json!({}), &offered)).query, "find it");
    assert_eq!(single(&plan("   ", &json!({}), &offered)).query, "latest news");
    plan("", &json!({}), &offered).check(&offered).unwrap();
}

#[test]
fn subjects_beyond_the_task_limit_are_dropped_in_order() {
    let offered = offered(&ALL_CAPABILITIES);
    let names: Vec<String> = (1..=40).map(|number| format!("Vendor{number}")).collect();
    let objective = format!("Compare {} on twitter and the web", names.join(", "));
    let plan = plan(&objective, &json!({}), &offered);
    assert_eq!(plan.tasks.len(), MAX_TASKS);
    let expected: Vec<&str> = names[..MAX_TASKS / 2].iter().flat_map(|name| [name.as_str(), name.as_str()]).collect();
    assert_eq!(subjects(&plan), expected);
    plan.check(&offered).unwrap();
}

#[test]
fn ids_stay_unique_when_subjects_share_a_slug() {
    let offered = offered(&["web-search"]);
    let plan = plan("Compare \"Vast AI\", Vast.ai and \"東京\" and \"大阪\"", &json!({}), &offered);
    let ids: Vec<&str> = plan.tasks.iter().map(|task| task.id.as_str()).collect();
    assert_eq!(ids, ["web-search-vast-ai", "web-search-vast-ai-2", "web-search", "web-search-2"]);
    plan.check(&offered).unwrap();
}

/// Objectives built from words the planner reacts to, and arbitrary text.
fn objective() -> impl Strategy<Value = String> {
    let word = prop::sample::select(vec![
        "Research", "RunPod", "Vast.ai", "Lambda", "and", "or", "vs.", ",", "\"", "“", "recommend", "tweets", "reddit", "papers", "X",
        "GPU", "AI", "pricing", ".", "$2.69/hr", "the", "'s", "-", "東京", "community", "Find", "e.g.", "&",
    ]);
    prop_oneof![prop::collection::vec(word, 0..30).prop_map(|words| words.join(" ")), any::<String>()]
}

fn schema() -> impl Strategy<Value = Value> {
    let name = prop::sample::select(vec!["papers", "tweets", "title", "enum", "url", "subreddit", "sentiment", "name", "description"]);
    prop::collection::btree_map(name, prop::sample::select(vec!["str", "int", "list"]), 0..5)
        .prop_map(|fields| full_form(json!({"items": [fields]})))
}

fn offered_sets() -> impl Strategy<Value = BTreeSet<String>> {
    prop::collection::btree_set(prop::sample::select(vec!["web-search", "x-search", "reddit-search", "web-retrieval", "llm-chat", "deep-research"]), 0..6)
        .prop_map(|set| set.into_iter().map(str::to_owned).collect())
}

proptest! {
    #[test]
    fn every_plan_checks_when_a_capability_with_a_record_is_offered(objective in objective(), schema in schema(), offered in offered_sets()) {
        let plan = plan(&objective, &schema, &offered);
        let ruled = ["web-search", "x-search", "reddit-search", "web-retrieval"].iter().any(|capability| offered.contains(*capability));
        if ruled {
            prop_assert!(plan.check(&offered).is_ok(), "{:?}", plan.check(&offered));
        } else {
            // Without a general search, only a capability the words ask for is planned.
            prop_assert!(plan.tasks.iter().all(|task| task.capability == "deep-research"), "{:?}", plan);
            prop_assert!(plan.tasks.is_empty() || plan.check(&offered).is_ok());
        }
        for task in &plan.tasks {
            prop_assert!(task.capability != "llm-chat");
            prop_assert!(task.id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'), "{}", task.id);
            prop_assert!(task.depends_on.is_empty());
        }
        prop_assert_eq!(self::plan(&objective, &schema, &offered), plan);
    }
}


#[test]
fn the_capability_the_objective_rests_on_is_required_and_the_hinted_ones_supplementary() {
    let offered = offered(&ALL_CAPABILITIES);
    let schema = full_form(json!({ "papers": [{ "title": "str", "summary": "str" }], "synthesis": "str" }));
    // "trending" hints at X; nothing is named, so the first capability chosen (web) is required.
    let plan = plan("Find trending AI papers and summarize key contributions", &schema, &offered);
    let required: Vec<(&str, bool)> = plan.tasks.iter().map(|task| (task.capability.as_str(), task.required)).collect();
    assert_eq!(required, [("web-search", true), ("x-search", false)]);
    plan.check(&offered).unwrap();

    // A source named outright is required, and a merely hinted one is not.
    let plan = plan_for("What do tweets and web reviews say about RunPod pricing", &offered);
    assert!(plan.tasks.iter().filter(|task| task.capability == "x-search").all(|task| task.required), "{plan:?}");
    let plan = plan_for("What is the sentiment about GPU pricing", &offered);
    let required: Vec<(&str, bool)> = plan.tasks.iter().map(|task| (task.capability.as_str(), task.required)).collect();
    assert_eq!(required, [("web-search", true), ("x-search", false)]);
}

fn plan_for(objective: &str, offered: &BTreeSet<String>) -> Plan {
    plan(objective, &full_form(json!({ "summary": "str" })), offered)
}

#[test]
fn a_plan_of_supplementary_tasks_alone_is_refused() {
    let offered = offered(&ALL_CAPABILITIES);
    let task = |id: &str, required| Task { id: id.into(), capability: "web-search".into(), query: "q".into(), subject: None, depends_on: vec![], required };
    let plan = Plan { planner: PlannerKind::Llm, tasks: vec![task("a", false), task("b", false)], fallback_reason: None };
    assert_eq!(plan.check(&offered), Err(PlanError::NothingRequired));
    let plan = Plan { tasks: vec![task("a", false), task("b", true)], ..plan };
    assert!(plan.check(&offered).is_ok());
    // An LLM plan that says nothing about it is all required.
    let parsed: Task = serde_json::from_value(json!({ "id": "a", "capability": "web-search", "query": "q" })).unwrap();
    assert!(parsed.required);
}

#[test]
fn a_link_and_a_quoted_passage_reach_the_task_whole() {
    let offered = offered(&["deepfake-detection", "ai-text-detection"]);
    let plan = plan("Is the photo at https://example.com/a/photo.jpg?size=2 a deepfake?", &json!({}), &offered);
    let image = plan.tasks.iter().find(|task| task.capability == "deepfake-detection").unwrap_or_else(|| panic!("{plan:?}"));
    assert!(image.query.contains("https://example.com/a/photo.jpg?size=2"), "the URL is one term, untouched: {}", image.query);
    assert!(!image.query.contains("jpg?size=2?"), "the sentence's question mark is not part of it: {}", image.query);

    let plan = self::plan("Was \"the quick brown fox jumps over the lazy dog\" written by ChatGPT? Detect it.", &json!({}), &offered);
    let text = plan.tasks.iter().find(|task| task.capability == "ai-text-detection").unwrap_or_else(|| panic!("{plan:?}"));
    assert!(text.query.contains("\"the quick brown fox jumps over the lazy dog\""), "the passage stays quoted: {}", text.query);
}
