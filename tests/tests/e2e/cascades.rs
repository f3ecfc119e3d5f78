//! Help-desk commands from plugins: cascades cut at the depth limit, runaway
//! rules disabled with an alert, delivery to the connector webhook, and
//! follow-on events that survive a crash between a job's end and their
//! ingestion.

use serde_json::{json, Value};
use tocsin::engine::audit::{Entry, Query};
use tocsin::engine::{keys, Engine, EngineConfig, OwedEvent, TREE};
use tocsin_tests::engine::*;

fn ping_pong() -> [Value; 2] {
    let set = |status: &str| json!([{"plugin": "misbehave", "action": "set-ticket-status", "mode": "digest", "settings": {"status": status}}]);
    let mut a = rule("a-close", "ticket-status-changed", set("closed"));
    a["conditions"] = json!([{"field": "status", "op": "equals", "value": "active"}]);
    let mut b = rule("b-reopen", "ticket-status-changed", set("active"));
    b["conditions"] = json!([{"field": "status", "op": "equals", "value": "closed"}]);
    [a, b]
}

async fn run_until_quiet(engine: &Engine) {
    for _ in 0..50 {
        if engine.run_due().await.is_none() && engine.pending_jobs().unwrap().is_empty() {
            return;
        }
    }
    panic!("the engine never went quiet");
}

fn alerts(engine: &Engine) -> Vec<String> {
    engine
        .alerts()
        .unwrap()
        .into_iter()
        .map(|a| a["message"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn a_cascade_loop_stops_at_the_depth_limit() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path(), clock(), EngineConfig::default(), &ping_pong()).await;
    engine
        .ingest(event(
            "ticket-status-changed",
            &["7"],
            json!({"status": "active"}),
        ))
        .await
        .unwrap();
    run_until_quiet(&engine).await;
    let depths: Vec<u32> = engine
        .audit(&Query::default())
        .unwrap()
        .into_iter()
        .filter_map(|r| match r.entry {
            Entry::Event { depth, .. } => Some(depth),
            _ => None,
        })
        .collect();
    assert_eq!(depths, [0, 1, 2, 3, 4, 5]);
    let alerts = alerts(&engine);
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert!(alerts[0].contains("cascade cut"), "{alerts:?}");
    // The mirror followed the commands; the connector's pull list has them all.
    let item = engine.item("ticket", "7").unwrap().unwrap();
    assert_eq!(item["fields"]["status"], "active");
    assert_eq!(engine.commands().unwrap().len(), 6);
}

#[tokio::test]
async fn a_runaway_rule_is_disabled_with_an_alert() {
    let dir = tempfile::tempdir().unwrap();
    let config = EngineConfig {
        runaway_limit: 2,
        ..Default::default()
    };
    let engine = open(dir.path(), clock(), config, &ping_pong()).await;
    engine
        .ingest(event(
            "ticket-status-changed",
            &["7"],
            json!({"status": "active"}),
        ))
        .await
        .unwrap();
    run_until_quiet(&engine).await;
    let alerts = alerts(&engine);
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert!(
        alerts[0].contains("rule a-close fired 3 times for ticket/7"),
        "{alerts:?}"
    );
    assert!(!engine.rules().get("a-close").unwrap().enabled);
    assert!(engine.rules().get("b-reopen").unwrap().enabled);
    // Disabled: a fresh event no longer fires it.
    let r = engine
        .ingest(event(
            "ticket-status-changed",
            &["8"],
            json!({"status": "active"}),
        ))
        .await
        .unwrap();
    assert!(r.matched.is_empty());
}

#[tokio::test]
async fn commands_are_delivered_to_the_connector_signed_and_retried() {
    use tocsin::engine::connector::{signature, ConnectorConfig};
    let dir = tempfile::tempdir().unwrap();
    let c = clock();
    let (url, seen) = webhook(true).await;
    let config = EngineConfig {
        connector: Some(ConnectorConfig::new(url, "s3cret")),
        ..Default::default()
    };
    let rules = [rule(
        "close",
        "ticket-created",
        json!([{"plugin": "misbehave", "action": "set-ticket-status", "mode": "digest", "settings": {"status": "closed"}}]),
    )];
    let engine = open(dir.path(), c.clone(), config, &rules).await;
    engine
        .ingest(event("ticket-created", &["9"], json!({"status": "active"})))
        .await
        .unwrap();
    engine.run_due().await; // the plugin runs and submits the command
    let next = engine.run_due().await.expect("the delivery is retried");
    assert!(next >= START_MS + 2_000, "Retry-After honoured");
    c.advance(next - c_now(&c));
    engine.run_due().await;

    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    let (delivery, sig, body) = &seen[1];
    assert_eq!(
        delivery, &seen[0].0,
        "the delivery id is stable across retries"
    );
    assert!(delivery.starts_with("job-"), "{delivery}");
    assert_eq!(sig, &signature("s3cret", body));
    let command: Value = serde_json::from_slice(body).unwrap();
    assert_eq!(command["name"], "set-status");
    assert_eq!(command["item_id"], "9");
    assert_eq!(command["arguments"]["status"], "closed");

    let outcomes: Vec<String> = engine
        .audit(&Query {
            plugin: Some("connector".into()),
            ..Default::default()
        })
        .unwrap()
        .into_iter()
        .filter_map(|r| match r.entry {
            Entry::Attempt { outcome, .. } => Some(outcome),
            _ => None,
        })
        .collect();
    assert_eq!(outcomes, ["retry", "ok"]);
    assert!(engine.pending_jobs().unwrap().is_empty());
    assert_eq!(
        engine.commands().unwrap().len(),
        1,
        "and it is in the pull list"
    );
}

/// A rule that sets new tickets to waiting, and one on the status change.
fn status_rules() -> [Value; 2] {
    let set = json!([{"plugin": "helpdesk", "action": "set-ticket-status", "mode": "digest",
                      "settings": {"status": "waiting"}}]);
    [
        rule("set", "ticket-created", set),
        rule(
            "changed",
            "ticket-status-changed",
            json!([log("digest", json!({}))]),
        ),
    ]
}

fn owed_records(engine: &Engine) -> usize {
    engine
        .store()
        .tree(TREE)
        .unwrap()
        .scan_prefix("owed/")
        .count()
}

#[tokio::test]
async fn a_follow_on_event_is_owed_until_ingested_and_none_is_left_behind() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(
        dir.path(),
        clock(),
        EngineConfig::default(),
        &status_rules(),
    )
    .await;
    engine
        .ingest(event("ticket-created", &["7"], json!({"status": "active"})))
        .await
        .unwrap();
    run_until_quiet(&engine).await;
    let changed = attempts(&engine, "changed");
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert_eq!(changed[0].0, "ok");
    assert_eq!(changed[0].1, ["ticket/7"]);
    assert_eq!(owed_records(&engine), 0);
}

#[tokio::test]
async fn a_follow_on_event_owed_at_a_crash_is_ingested_at_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    // What a process killed after a job's end was durable, but before its
    // follow-on event was ingested, leaves in the store.
    {
        let store = tocsin::store::Store::open(dir.path()).unwrap();
        let mut follow_on = event(
            "ticket-status-changed",
            &["7"],
            json!({"status": "waiting"}),
        );
        follow_on.id = Some("ev-owed".into());
        follow_on
            .old_values
            .insert("status".into(), json!("active"));
        let owed = OwedEvent {
            event: follow_on,
            depth: 1,
        };
        store
            .tree(TREE)
            .unwrap()
            .insert(keys::owed("ev-owed"), serde_json::to_vec(&owed).unwrap())
            .unwrap();
        store.flush().unwrap();
    }
    let engine = open(
        dir.path(),
        clock(),
        EngineConfig::default(),
        &status_rules(),
    )
    .await;
    run_until_quiet(&engine).await;
    assert!(engine.has_event("ev-owed").unwrap());
    let changed = attempts(&engine, "changed");
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert_eq!(changed[0].0, "ok");
    assert_eq!(owed_records(&engine), 0);
    let depth = engine
        .audit(&Query {
            event: Some("ev-owed".into()),
            ..Default::default()
        })
        .unwrap()
        .into_iter()
        .find_map(|r| match r.entry {
            Entry::Event { depth, .. } => Some(depth),
            _ => None,
        });
    assert_eq!(depth, Some(1));
}
