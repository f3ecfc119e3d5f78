//! The audit trail's queries, and template errors as permanent failures.

use serde_json::json;
use tocsin::engine::audit::Query;
use tocsin::engine::EngineConfig;
use tocsin_tests::engine::*;

#[tokio::test]
async fn the_audit_answers_by_event_rule_item_plugin_and_time() {
    let dir = tempfile::tempdir().unwrap();
    let c = clock();
    let rules = [
        rule("a", "ticket-created", json!([log("per-item", json!({}))])),
        rule("b", "ticket-deleted", json!([log("digest", json!({}))])),
    ];
    let engine = open(dir.path(), c.clone(), EngineConfig::default(), &rules).await;
    let first = engine
        .ingest(event("ticket-created", &["1", "2"], json!({})))
        .await
        .unwrap();
    engine.run_due().await;
    c.advance(MINUTE);
    let second = engine
        .ingest(event("ticket-deleted", &["2"], json!({})))
        .await
        .unwrap();
    engine.run_due().await;

    let kinds = |q: Query| -> Vec<(String, String)> {
        engine
            .audit(&q)
            .unwrap()
            .into_iter()
            .map(|r| {
                let kind = serde_json::to_value(&r.entry).unwrap()["kind"]
                    .as_str()
                    .unwrap()
                    .to_string();
                (r.event, kind)
            })
            .collect()
    };
    let by_event = kinds(Query {
        event: Some(first.event.clone()),
        ..Default::default()
    });
    assert_eq!(by_event.first().unwrap().1, "event");
    assert!(by_event.iter().all(|(e, _)| *e == first.event));
    // event, matched, 2 gates, 2 attempts
    assert_eq!(by_event.len(), 6, "{by_event:?}");

    let by_rule = kinds(Query {
        rule: Some("b".into()),
        ..Default::default()
    });
    assert!(
        by_rule.iter().all(|(e, _)| *e == second.event),
        "{by_rule:?}"
    );
    assert_eq!(by_rule.len(), 3, "matched, gate, attempt: {by_rule:?}");

    // Item 1 only appears in the first event; item 2 in both.
    let item1 = kinds(Query {
        item: Some("ticket/1".into()),
        ..Default::default()
    });
    assert!(item1.iter().all(|(e, _)| *e == first.event), "{item1:?}");
    let item2 = kinds(Query {
        item: Some("ticket/2".into()),
        ..Default::default()
    });
    assert!(
        item2.iter().any(|(e, _)| *e == second.event)
            && item2.iter().any(|(e, _)| *e == first.event)
    );

    let by_plugin = kinds(Query {
        plugin: Some("misbehave".into()),
        ..Default::default()
    });
    assert_eq!(
        by_plugin.iter().filter(|(_, k)| k == "attempt").count(),
        3,
        "{by_plugin:?}"
    );
    assert!(kinds(Query {
        plugin: Some("nobody".into()),
        ..Default::default()
    })
    .is_empty());

    let later = kinds(Query {
        since_ms: Some(START_MS + MINUTE),
        ..Default::default()
    });
    assert!(
        !later.is_empty() && later.iter().all(|(e, _)| *e == second.event),
        "{later:?}"
    );
    let earlier = kinds(Query {
        until_ms: Some(START_MS + MINUTE),
        ..Default::default()
    });
    assert!(
        !earlier.is_empty() && earlier.iter().all(|(e, _)| *e == first.event),
        "{earlier:?}"
    );
    let limited = kinds(Query {
        limit: Some(2),
        ..Default::default()
    });
    assert_eq!(limited.len(), 2);
}

#[tokio::test]
async fn a_template_error_is_a_permanent_failure_naming_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let rules = [rule(
        "broken",
        "ticket-created",
        json!([log(
            "digest",
            json!({"settings": {"behave": "ok", "note": "{{ item.subject "}})
        )]),
    )];
    let engine = open(dir.path(), clock(), EngineConfig::default(), &rules).await;
    engine
        .ingest(event("ticket-created", &["1"], json!({})))
        .await
        .unwrap();
    assert_eq!(engine.run_due().await, None, "not retried");
    let all = attempts(&engine, "broken");
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].0, "dead-letter");
    assert!(all[0].2.contains("settings.note"), "{}", all[0].2);
    assert_eq!(engine.dead_letters().unwrap().len(), 1);
}
