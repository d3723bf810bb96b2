use orchestrator::chain::testing::metadata;
#[test]
fn dump() {
    let md = metadata();
    let p = md.pallet_by_name("SubtensorModule").unwrap();
    for v in p.call_variants().unwrap() {
        if ["commit_weights","reveal_weights","commit_timelocked_weights","commit_crv3_weights","set_weights"].contains(&v.name.as_str()) { println!("{} docs: {}", v.name, v.docs.join("\n")); }
    }
    for e in p.storage().unwrap().entries() { if e.name().contains("Commit") || e.name().contains("Reveal") { println!("storage {}", e.name()); } }
}
