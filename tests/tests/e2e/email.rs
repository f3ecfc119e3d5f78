//! Send Email through the engine, the mail outbox and a real SMTP server on
//! loopback: six idle tickets give one message as a digest, six per item.

use serde_json::json;
use tocsin::engine::EngineConfig;
use tocsin::mail::{Outbox, Pass};
use tocsin::store::Store;
use tocsin_tests::engine::*;
use tocsin_tests::smtp::Server;

fn email(mode: &str, subject: &str, text: &str) -> serde_json::Value {
    json!({"plugin": "email", "action": "send-email", "mode": mode,
           "settings": {"to": ["desk@example.com"], "subject": subject, "text": text}})
}

#[tokio::test]
async fn six_idle_tickets_make_one_digest_email_and_six_per_item_ones() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let rules = [
        rule(
            "digest",
            "ticket-idle",
            json!([email(
                "digest",
                "{{ items | length }} idle tickets",
                "{% for i in items %}#{{ i.id }} {{ i.subject }}\n{% endfor %}"
            )]),
        ),
        rule(
            "each",
            "ticket-idle",
            json!([email(
                "per-item",
                "Idle: {{ item.subject }}",
                "Ticket #{{ item.id }} waits"
            )]),
        ),
    ];
    let engine = open(dir.path(), clock(), EngineConfig::default(), &rules).await;
    let ids = ["1", "2", "3", "4", "5", "6"];
    engine
        .ingest(event("ticket-idle", &ids, json!({"subject": "Printer"})))
        .await
        .unwrap();
    engine.run_due().await;
    for rule in ["digest", "each"] {
        for (outcome, _, message) in attempts(&engine, rule) {
            assert_eq!(outcome, "ok", "{rule}: {message}");
        }
    }
    let store: Store = engine.store().clone();
    let pass = Outbox::new(store, server.config())
        .unwrap()
        .deliver_due(0)
        .await
        .unwrap();
    assert_eq!(
        pass,
        Pass {
            sent: 7,
            ..Pass::default()
        }
    );

    let received = server.received();
    let digests: Vec<&String> = received
        .iter()
        .filter(|m| m.contains("Subject: 6 idle tickets"))
        .collect();
    assert_eq!(digests.len(), 1, "{received:#?}");
    for id in ids {
        assert!(
            digests[0].contains(&format!("#{id} Printer")),
            "{}",
            digests[0]
        );
    }
    let each: Vec<&String> = received
        .iter()
        .filter(|m| m.contains("Subject: Idle: Printer"))
        .collect();
    assert_eq!(each.len(), 6, "{received:#?}");
    for id in ids {
        assert_eq!(
            each.iter()
                .filter(|m| m.contains(&format!("Ticket #{id} waits")))
                .count(),
            1,
            "ticket {id}"
        );
    }
}

#[tokio::test]
async fn a_rendered_address_that_does_not_parse_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let rules = [rule(
        "bad-to",
        "ticket-created",
        json!([{"plugin": "email", "action": "send-email", "mode": "per-item",
                "settings": {"to": ["{{ item.owner }}"], "subject": "New", "text": "x"}}]),
    )];
    let engine = open(dir.path(), clock(), EngineConfig::default(), &rules).await;
    engine
        .ingest(event(
            "ticket-created",
            &["1"],
            json!({"owner": "ana at example"}),
        ))
        .await
        .unwrap();
    engine.run_due().await;
    let attempts = attempts(&engine, "bad-to");
    assert_eq!(attempts[0].0, "dead-letter", "{attempts:?}");
    assert!(
        attempts[0]
            .2
            .contains("message.to[0]: \"ana at example\" is not an address"),
        "{attempts:?}"
    );
    assert!(engine.store().queued_mail().unwrap().is_empty());
}
