//! The engine end to end, with the `misbehave` test guest as the plugin and a
//! clock moved by hand: digest and per-item jobs, the frequency gate with
//! skip and coalesce, restarts, retries with backoff, dead letter and replay,
//! idempotent re-sends, and events refused by the catalog.

use serde_json::{json, Value};
use tocsin::engine::audit::{Entry, Query};
use tocsin::engine::EngineConfig;
use tocsin_tests::engine::*;

#[tokio::test]
async fn six_items_make_one_digest_invocation_and_six_per_item_ones() {
    let dir = tempfile::tempdir().unwrap();
    let rules = [
        rule("digest", "ticket-idle", json!([log("digest", json!({}))])),
        rule("each", "ticket-idle", json!([log("per-item", json!({}))])),
    ];
    let engine = open(dir.path(), clock(), EngineConfig::default(), &rules).await;
    let ids = ["1", "2", "3", "4", "5", "6"];
    let result = engine
        .ingest(event("ticket-idle", &ids, json!({})))
        .await
        .unwrap();
    assert_eq!(result.matched, ["digest", "each"]);
    assert_eq!(result.jobs.len(), 7);
    engine.run_due().await;

    let digest = attempts(&engine, "digest");
    assert_eq!(digest.len(), 1);
    assert_eq!(digest[0].0, "ok");
    assert_eq!(digest[0].1.len(), 6);
    assert_eq!(digest[0].2, "ok [1,2,3,4,5,6]");

    let each = attempts(&engine, "each");
    let mut got: Vec<String> = each.iter().map(|a| a.2.clone()).collect();
    got.sort();
    let want: Vec<String> = ids.iter().map(|i| format!("ok [{i}]")).collect();
    assert_eq!(got, want);
    assert!(engine.pending_jobs().unwrap().is_empty());
}

#[tokio::test]
async fn a_second_firing_inside_the_window_is_suppressed_audited_then_runs_after() {
    let dir = tempfile::tempdir().unwrap();
    let c = clock();
    let rules = [rule(
        "limited",
        "ticket-created",
        json!([log("per-item", json!({"max_frequency": "10m"}))]),
    )];
    let engine = open(dir.path(), c.clone(), EngineConfig::default(), &rules).await;
    let first = engine
        .ingest(event("ticket-created", &["1"], json!({})))
        .await
        .unwrap();
    assert_eq!((first.jobs.len(), first.suppressed), (1, 0));
    c.advance(5 * MINUTE);
    let second = engine
        .ingest(event("ticket-created", &["1", "2"], json!({})))
        .await
        .unwrap();
    // Item 1 is inside its window; item 2 has its own.
    assert_eq!((second.jobs.len(), second.suppressed), (1, 1));
    let gate: Vec<Value> = engine
        .audit(&Query {
            event: Some(second.event.clone()),
            ..Default::default()
        })
        .unwrap()
        .into_iter()
        .filter_map(|r| match r.entry {
            Entry::Gate {
                items, decision, ..
            } => Some(json!({"items": items, "d": decision})),
            _ => None,
        })
        .collect();
    assert_eq!(gate.len(), 2);
    assert_eq!(gate[0]["items"], json!(["ticket/1"]));
    assert_eq!(gate[0]["d"]["decision"], "suppressed");
    assert_eq!(gate[0]["d"]["until_ms"], START_MS + 10 * MINUTE);
    assert_eq!(gate[1]["d"]["decision"], "run");

    c.advance(5 * MINUTE);
    let third = engine
        .ingest(event("ticket-created", &["1"], json!({})))
        .await
        .unwrap();
    assert_eq!((third.jobs.len(), third.suppressed), (1, 0));
}

#[tokio::test]
async fn coalesced_items_arrive_in_one_invocation_when_the_window_ends() {
    let dir = tempfile::tempdir().unwrap();
    let c = clock();
    let rules = [rule(
        "batched",
        "ticket-created",
        json!([log(
            "digest",
            json!({"max_frequency": "10m", "on_suppressed": "coalesce"})
        )]),
    )];
    let engine = open(dir.path(), c.clone(), EngineConfig::default(), &rules).await;
    engine
        .ingest(event("ticket-created", &["1"], json!({})))
        .await
        .unwrap();
    engine.run_due().await;
    c.advance(MINUTE);
    for id in ["2", "3", "4"] {
        let r = engine
            .ingest(event("ticket-created", &[id], json!({})))
            .await
            .unwrap();
        assert_eq!(r.suppressed, 1);
    }
    engine.run_due().await;
    assert_eq!(
        attempts(&engine, "batched").len(),
        1,
        "nothing before the window ends"
    );
    c.advance(9 * MINUTE);
    engine.run_due().await;
    let all = attempts(&engine, "batched");
    assert_eq!(all.len(), 2);
    assert_eq!(all[1].2, "ok [2,3,4]");
}

#[tokio::test]
async fn windows_and_pending_jobs_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let c = clock();
    let rules = [rule(
        "limited",
        "ticket-created",
        json!([log("digest", json!({"max_frequency": "1h"}))]),
    )];
    let pending = {
        let engine = open(dir.path(), c.clone(), EngineConfig::default(), &rules).await;
        let r = engine
            .ingest(event("ticket-created", &["1"], json!({})))
            .await
            .unwrap();
        assert_eq!(r.jobs.len(), 1);
        engine.pending_jobs().unwrap()
    };
    assert_eq!(pending.len(), 1);
    c.advance(MINUTE);
    let engine = open(dir.path(), c.clone(), EngineConfig::default(), &rules).await;
    assert_eq!(engine.pending_jobs().unwrap(), pending);
    let again = engine
        .ingest(event("ticket-created", &["1"], json!({})))
        .await
        .unwrap();
    assert_eq!(
        (again.jobs.len(), again.suppressed),
        (0, 1),
        "the window outlived the restart"
    );
    engine.run_due().await;
    assert_eq!(attempts(&engine, "limited")[0].0, "ok");
    assert!(engine.pending_jobs().unwrap().is_empty());
}

#[tokio::test]
async fn retryable_failures_are_retried_with_backoff_then_succeed() {
    let dir = tempfile::tempdir().unwrap();
    let c = clock();
    let rules = [rule(
        "flaky",
        "ticket-created",
        json!([log(
            "digest",
            json!({"settings": {"behave": "flaky", "failures": 2, "retry_after_ms": 30000}})
        )]),
    )];
    let engine = open(dir.path(), c.clone(), EngineConfig::default(), &rules).await;
    engine
        .ingest(event("ticket-created", &["1"], json!({})))
        .await
        .unwrap();
    let next = engine.run_due().await.expect("a retry is scheduled");
    assert!(next >= START_MS + 30_000, "retry-after honoured: {next}");
    // Nothing runs before it is due.
    c.advance(29_000);
    engine.run_due().await;
    assert_eq!(attempts(&engine, "flaky").len(), 1);
    c.advance(1_000);
    let next = engine.run_due().await.expect("a second retry");
    c.advance(next - c_now(&c));
    engine.run_due().await;
    let all = attempts(&engine, "flaky");
    let outcomes: Vec<&str> = all.iter().map(|a| a.0.as_str()).collect();
    assert_eq!(outcomes, ["retry", "retry", "ok"]);
    assert_eq!(all[2].2, "attempt 3 ok [1]");
    assert!(engine.pending_jobs().unwrap().is_empty());
}

#[tokio::test]
async fn retries_stop_at_the_horizon_and_the_job_is_dead_lettered() {
    let dir = tempfile::tempdir().unwrap();
    let c = clock();
    let rules = [rule(
        "hopeless",
        "ticket-created",
        json!([log(
            "digest",
            json!({"settings": {"behave": "flaky", "failures": 1000}})
        )]),
    )];
    let config = EngineConfig {
        retry_horizon_ms: 10 * MINUTE,
        ..Default::default()
    };
    let engine = open(dir.path(), c.clone(), config, &rules).await;
    engine
        .ingest(event("ticket-created", &["1"], json!({})))
        .await
        .unwrap();
    while let Some(next) = engine.run_due().await {
        c.advance((next - c_now(&c)).max(1));
    }
    let all = attempts(&engine, "hopeless");
    assert!(all.len() >= 3, "several attempts: {all:?}");
    assert_eq!(all.last().unwrap().0, "dead-letter");
    assert!(all.last().unwrap().2.contains("gave up after"));
    assert_eq!(engine.dead_letters().unwrap().len(), 1);
}

#[tokio::test]
async fn a_permanent_failure_is_dead_lettered_and_replays() {
    let dir = tempfile::tempdir().unwrap();
    let rules = [rule(
        "once",
        "ticket-created",
        json!([log("digest", json!({"settings": {"behave": "fail-once"}}))]),
    )];
    let engine = open(dir.path(), clock(), EngineConfig::default(), &rules).await;
    engine
        .ingest(event("ticket-created", &["1"], json!({})))
        .await
        .unwrap();
    assert_eq!(
        engine.run_due().await,
        None,
        "no retry for a permanent failure"
    );
    let dead = engine.dead_letters().unwrap();
    assert_eq!(dead.len(), 1);
    assert!(dead[0]
        .last_error
        .as_deref()
        .unwrap()
        .contains("first attempt fails"));
    let id = engine.replay(dead[0].n).await.unwrap();
    assert_eq!(id, dead[0].invocation_id(), "the invocation id is stable");
    engine.run_due().await;
    let outcomes: Vec<String> = attempts(&engine, "once").into_iter().map(|a| a.0).collect();
    assert_eq!(outcomes, ["dead-letter", "ok"]);
    assert!(engine.dead_letters().unwrap().is_empty());
    assert!(
        engine.replay(dead[0].n).await.is_err(),
        "only dead jobs replay"
    );
}

/// Rule `r`: one per-item `log` action on every ticket created.
fn per_item_rule() -> [Value; 1] {
    [rule(
        "r",
        "ticket-created",
        json!([log("per-item", json!({}))]),
    )]
}

#[tokio::test]
async fn an_idempotent_re_send_creates_nothing_new() {
    let dir = tempfile::tempdir().unwrap();
    let rules = per_item_rule();
    let engine = open(dir.path(), clock(), EngineConfig::default(), &rules).await;
    let mut ev = event("ticket-created", &["1", "2"], json!({}));
    ev.idempotency_key = Some("hd-42".into());
    let first = engine.ingest(ev.clone()).await.unwrap();
    assert!(!first.duplicate);
    let audit_before = engine.audit(&Query::default()).unwrap().len();
    let second = engine.ingest(ev).await.unwrap();
    assert!(second.duplicate);
    assert_eq!((second.event, second.jobs), (first.event, first.jobs));
    assert_eq!(engine.pending_jobs().unwrap().len(), 2);
    assert_eq!(engine.audit(&Query::default()).unwrap().len(), audit_before);
}

/// Re-sends racing their first ingestion: the first stores its keys one by
/// one under the decide lock, so a re-send never meets it half stored and
/// takes it for one cut by a crash (idempotency record, no event record).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_re_sends_make_one_ingestion() {
    let dir = tempfile::tempdir().unwrap();
    let rules = per_item_rule();
    let engine = open(dir.path(), clock(), EngineConfig::default(), &rules).await;
    // Three sends of each key in a row: the decide lock hands over in
    // arrival order, so a re-send often waits on its first.
    const KEYS: usize = 150;
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..3 * KEYS {
        let engine = engine.clone();
        tasks.spawn(async move {
            // Items of its own per key: a rule firing often on one item is
            // disabled as runaway.
            let (a, b) = (format!("{}a", n / 3), format!("{}b", n / 3));
            let mut ev = event("ticket-created", &[&a, &b], json!({}));
            ev.idempotency_key = Some(format!("hd-{}", n / 3));
            engine.ingest(ev).await.unwrap()
        });
    }
    let mut results = Vec::new();
    while let Some(r) = tasks.join_next().await {
        results.push(r.unwrap());
    }
    let firsts = results.iter().filter(|r| !r.duplicate).count();
    assert_eq!(firsts, KEYS, "one ingestion per idempotency key");
    let mut events: Vec<&str> = results.iter().map(|r| r.event.as_str()).collect();
    events.sort();
    events.dedup();
    assert_eq!(events.len(), KEYS, "every re-send got its first's event");
    assert_eq!(engine.pending_jobs().unwrap().len(), 2 * KEYS);
}

/// Ingestion stores its keys one by one with the event record last, so a
/// process stopped part-way leaves a prefix of them: at worst every key but
/// the event record, which is what this test leaves by removing it. That
/// ingestion never returned success; its jobs must not run and its
/// idempotency record must not turn the help desk's re-send away.
#[tokio::test]
async fn an_ingestion_stopped_before_its_event_record_is_ingested_again() {
    let dir = tempfile::tempdir().unwrap();
    let rules = per_item_rule();
    let mut ev = event("ticket-created", &["1", "2"], json!({}));
    ev.idempotency_key = Some("hd-43".into());
    let cut = {
        let engine = open(dir.path(), clock(), EngineConfig::default(), &rules).await;
        let cut = engine.ingest(ev.clone()).await.unwrap();
        let tree = engine.store().tree(tocsin::engine::TREE).unwrap();
        let removed = tree.remove(format!("ev/{}", cut.event)).unwrap();
        assert!(removed.is_some(), "the event record is under ev/<id>");
        assert_eq!(engine.pending_jobs().unwrap().len(), 2);
        cut
    };
    let engine = open(dir.path(), clock(), EngineConfig::default(), &rules).await;
    assert!(
        engine.pending_jobs().unwrap().is_empty(),
        "the jobs of an event never stored are dropped at open"
    );
    let by_rule = Query {
        rule: Some("r".into()),
        ..Default::default()
    };
    assert!(
        engine.audit(&by_rule).unwrap().is_empty(),
        "the audit shows no chain of an event never stored"
    );
    let again = engine.ingest(ev).await.unwrap();
    assert!(!again.duplicate, "the re-send is ingested, not turned away");
    assert_ne!(again.event, cut.event);
    assert_eq!(again.jobs.len(), 2);
    assert!(engine.has_event(&again.event).unwrap());
    engine.run_due().await;
    let ran: Vec<String> = attempts(&engine, "r").into_iter().map(|a| a.0).collect();
    assert_eq!(ran, ["ok", "ok"], "each item's job ran once");
    let shown = engine.audit(&by_rule).unwrap();
    assert!(!shown.is_empty());
    assert!(shown.iter().all(|r| r.event == again.event));
}

#[tokio::test]
async fn events_outside_the_catalog_are_refused_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path(), clock(), EngineConfig::default(), &[]).await;
    let mut ev = event("ticket-created", &["1"], json!({}));
    ev.event_type = "ticket-exploded".into();
    let err = engine.ingest(ev).await.unwrap_err().to_string();
    assert!(err.starts_with("event.event_type:"), "{err}");
    assert!(err.contains("ticket-created"), "{err}");
    let mut ev = event("ticket-created", &["1"], json!({}));
    ev.category = "tickets".into();
    let err = engine.ingest(ev).await.unwrap_err().to_string();
    assert!(err.starts_with("event.category:"), "{err}");
}
