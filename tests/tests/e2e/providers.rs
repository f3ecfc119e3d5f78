//! Notify External Provider through the engine: the built-in `providers`
//! plugin hands the event to `billing-provider`, an external provider written
//! in Rust with the SDK, and the variables it answers change the items'
//! custom fields (and reroute an urgent one), emit the follow-on event and
//! reach the connector; providers that are missing, not granted or failing
//! are reported with their reason.

use serde_json::{json, Value};
use tocsin::engine::audit::{Entry, Query};
use tocsin::engine::connector::ConnectorConfig;
use tocsin::engine::EngineConfig;
use tocsin_tests::engine::*;

fn notify(id: &str, mode: &str, settings: Value) -> Value {
    rule(
        id,
        "ticket-created",
        json!([{"plugin": "providers", "action": "notify-external-provider",
                "mode": mode, "settings": settings}]),
    )
}

fn tickets(items: &[(&str, Value)]) -> tocsin::event::Event {
    let items: Vec<Value> = items
        .iter()
        .map(|(id, fields)| json!({"kind": "ticket", "id": id, "fields": fields}))
        .collect();
    serde_json::from_value(json!({
        "category": "ticket", "event_type": "ticket-created",
        "occurred_at": "2026-11-30T10:00:00Z", "items": items
    }))
    .unwrap()
}

#[tokio::test]
async fn an_sdk_provider_answers_variables_that_change_the_items() {
    let (url, seen) = webhook(false).await;
    let dir = tempfile::tempdir().unwrap();
    let config = EngineConfig {
        connector: Some(ConnectorConfig::new(url, "s3cret")),
        ..Default::default()
    };
    let rules = [notify(
        "bill",
        "digest",
        json!({"provider": "billing-provider", "prefix": "ACME", "escalate_to": "Escalations"}),
    )];
    let engine = open(dir.path(), clock(), config, &rules).await;
    for (id, email, priority) in [
        ("1", "ann@acme.test", "urgent"),
        ("2", "bob@beta.test", "normal"),
    ] {
        engine
            .ingest(tickets(&[(
                id,
                json!({"customer-email": email, "priority": priority, "department": "Sales"}),
            )]))
            .await
            .unwrap();
    }
    for _ in 0..4 {
        engine.run_due().await;
    }
    // The rule's invocations (connector deliveries are audited with no items).
    let attempts: Vec<_> = attempts(&engine, "bill")
        .into_iter()
        .filter(|(_, items, _)| !items.is_empty())
        .collect();
    assert_eq!(attempts.len(), 2, "{attempts:?}");
    for (outcome, _, message) in &attempts {
        assert_eq!(outcome, "ok", "{message}");
        assert!(message.contains("billing-provider answered"), "{message}");
    }

    let one = engine.item("ticket", "1").unwrap().unwrap();
    assert_eq!(one["fields"]["cf.billing_id"], "ACME-acme.test", "{one}");
    assert_eq!(one["fields"]["department"], "Escalations", "{one}");
    let two = engine.item("ticket", "2").unwrap().unwrap();
    assert_eq!(two["fields"]["cf.billing_id"], "ACME-beta.test", "{two}");
    assert_eq!(two["fields"]["department"], "Sales", "{two}");

    // The reroute is a transfer: it emits Ticket Transferred for ticket 1 only.
    let follow: Vec<(String, Vec<String>)> = engine
        .audit(&Query::default())
        .unwrap()
        .into_iter()
        .filter_map(|r| match r.entry {
            Entry::Event {
                event_type,
                items,
                depth,
                ..
            } if depth > 0 => Some((event_type, items)),
            _ => None,
        })
        .collect();
    assert_eq!(
        follow,
        [(
            "ticket-transferred".to_string(),
            vec!["ticket/1".to_string()]
        )]
    );

    let mut delivered: Vec<(String, String, Value)> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|(_, _, body)| {
            let body: Value = serde_json::from_slice(body).unwrap();
            (
                body["item_id"].as_str().unwrap().to_string(),
                body["name"].as_str().unwrap().to_string(),
                body["arguments"].clone(),
            )
        })
        .collect();
    delivered.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    assert_eq!(
        delivered,
        [
            (
                "1".into(),
                "set-fields".into(),
                json!({"fields": {"cf.billing_id": "ACME-acme.test"}})
            ),
            (
                "1".into(),
                "transfer".into(),
                json!({"department": "Escalations"})
            ),
            (
                "2".into(),
                "set-fields".into(),
                json!({"fields": {"cf.billing_id": "ACME-beta.test"}})
            ),
        ]
    );
}

#[tokio::test]
async fn missing_ungranted_and_failing_providers_are_dead_lettered_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let rules = [
        notify("missing", "digest", json!({"provider": "nope"})),
        notify("ungranted", "digest", json!({"provider": "echo-provider"})),
        notify("fails", "digest", json!({"provider": "billing-provider"})),
    ];
    let engine = open(dir.path(), clock(), EngineConfig::default(), &rules).await;
    engine
        .ingest(tickets(&[("3", json!({"subject": "no customer"}))]))
        .await
        .unwrap();
    engine.run_due().await;
    let expect = [
        (
            "missing",
            "no external provider `nope` is installed; installed providers: billing-provider, echo-provider",
        ),
        (
            "ungranted",
            "external provider `echo-provider` refused: plugin `providers` has no `providers` grant for it",
        ),
        (
            "fails",
            "provider `billing-provider`: ticket 3 has no customer-email to bill",
        ),
    ];
    for (rule, reason) in expect {
        let attempts = attempts(&engine, rule);
        assert_eq!(attempts.len(), 1, "{rule}: {attempts:?}");
        assert_eq!(attempts[0].0, "dead-letter", "{rule}: {attempts:?}");
        assert!(attempts[0].2.contains(reason), "{rule}: {}", attempts[0].2);
    }
    assert_eq!(engine.dead_letters().unwrap().len(), 3);
    let item = engine.item("ticket", "3").unwrap().unwrap();
    assert!(item["fields"].get("cf.billing_id").is_none(), "{item}");
    assert!(engine.commands().unwrap().is_empty());
}
