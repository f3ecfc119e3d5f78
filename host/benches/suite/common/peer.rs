//! The matching workload written out for a peer engine (`json-rules-engine`,
//! run by `cargo xtask bench` with node): the same rules, and each event as
//! the facts its conditions read, resolved by tocsin's own condition code so
//! both engines judge the same values.

use serde_json::{json, Value};
use tocsin::calendars::Calendars;
use tocsin::catalog::{catalog, condition_field};
use tocsin::conditions::Subject;
use tocsin::event::Event;
use tocsin::rules::validate::CheckedRule;

/// Writes `matching-workload.json` into `dir`; `firings` are the rules
/// tocsin fired per event, for the peer to compare with.
pub fn write_workload(
    dir: &std::path::Path,
    rules: &[CheckedRule],
    events: &[Event],
    calendars: &Calendars,
    ours_per_second: f64,
    firings: &[usize],
) {
    let rules: Vec<Value> = rules
        .iter()
        .map(|r| {
            let rule = serde_json::to_value(&r.rule).expect("rule as JSON");
            json!({
                "category": r.rule.category,
                "event_type": r.rule.event_type,
                "conditions": rule["conditions"],
            })
        })
        .collect();
    let events: Vec<Value> = events
        .iter()
        .map(|event| {
            let t = catalog()
                .categories()
                .iter()
                .filter(|c| c.id == event.category)
                .flat_map(|c| c.event_types.iter())
                .find(|t| t.id == event.event_type)
                .expect("the event's type is in the catalog");
            let items: Vec<Value> = event
                .items
                .iter()
                .map(|item| {
                    let mut subject = Subject::new(event, item, event.at(), calendars);
                    let mut facts = serde_json::Map::new();
                    facts.insert("category".into(), json!(event.category));
                    facts.insert("event_type".into(), json!(event.event_type));
                    for c in &t.conditions {
                        let field = condition_field(c).0;
                        facts.insert(c.id.clone(), subject.probe(&field).to_json(&field));
                    }
                    Value::Object(facts)
                })
                .collect();
            json!(items)
        })
        .collect();
    std::fs::create_dir_all(dir).expect("bench dir");
    let doc = json!({
        "rules": rules,
        "events": events,
        "firings": firings,
        "ours_per_second": ours_per_second,
    });
    std::fs::write(
        dir.join("matching-workload.json"),
        serde_json::to_vec(&doc).expect("workload JSON"),
    )
    .expect("writing the matching workload");
}
