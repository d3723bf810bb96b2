//! Replays' agreement rule (docs/SPEC.md §18.4): drifted answers of a live subnet agree with the
//! body a miner showed, invented ones do not, and answers of another shape never do.

use orchestrator::evidence::Item;
use orchestrator::invocation::SubnetResponse;
use subnet::validator::challenge::replay::{agreement, MIN_ITEM_OVERLAP};

fn item(url: Option<&str>, title: Option<&str>, text: &str) -> Item {
    Item { url: url.map(str::to_owned), title: title.map(str::to_owned), text: text.to_owned(), source: "web".to_owned(), ..Item::default() }
}

fn links(links: &[&str]) -> SubnetResponse {
    SubnetResponse { items: links.iter().map(|link| item(Some(link), Some("A title"), "A snippet")).collect(), ..SubnetResponse::default() }
}

fn text(text: &str) -> SubnetResponse {
    SubnetResponse { text: Some(text.to_owned()), ..SubnetResponse::default() }
}

#[test]
fn items_agree_by_the_share_of_the_shorter_list_they_hold() {
    let shown = links(&["https://a.example/1", "https://a.example/2", "https://a.example/3"]);
    assert_eq!(agreement(&shown, &shown), Ok(1.0));
    // A live subnet's answer a moment later: one link dropped, two new, one reordered.
    let drifted = links(&["https://a.example/3", "https://b.example/9", "https://a.example/1", "https://b.example/8"]);
    assert_eq!(agreement(&shown, &drifted), Ok(2.0 / 3.0));
    // Exactly a third of the shorter list still agrees; less does not.
    let third = links(&["https://a.example/2", "https://c.example/1", "https://c.example/2"]);
    assert_eq!(agreement(&shown, &third), Ok(MIN_ITEM_OVERLAP));
    let invented = links(&["https://a.example/1-v2", "https://a.example/2-v2", "https://a.example/3-v2"]);
    let refused = agreement(&shown, &invented).unwrap_err();
    assert!(refused.contains("share 0%"), "{refused}");
}

#[test]
fn items_without_links_are_keyed_by_title_then_text_ignoring_case_and_spaces() {
    let shown = SubnetResponse { items: vec![item(None, Some("Mixture of Experts "), "x"), item(None, None, "A post about TAO")], ..SubnetResponse::default() };
    let replayed = SubnetResponse { items: vec![item(None, Some("mixture of experts"), "y"), item(None, None, "a post about tao")], ..SubnetResponse::default() };
    assert_eq!(agreement(&shown, &replayed), Ok(1.0));
}

#[test]
fn texts_agree_by_their_shared_words() {
    let shown = text("Bittensor subnets are specialised networks of miners and validators.");
    assert!(agreement(&shown, &text("Bittensor subnets are specialised networks of validators and miners!")).is_ok());
    let refused = agreement(&shown, &text("The capital of France is Paris, a city on the Seine.")).unwrap_err();
    assert!(refused.contains("of the words"), "{refused}");
}

#[test]
fn answers_of_another_shape_never_agree() {
    let refused = agreement(&links(&["https://a.example/1"]), &text("A summary.")).unwrap_err();
    assert!(refused.contains("the subnet answered 0 items and a text; the body shown has 1 items and no text"), "{refused}");
    assert!(agreement(&text("A summary."), &SubnetResponse::default()).is_err());
}
