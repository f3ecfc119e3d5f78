//! The engine end to end, with the `misbehave` test guest as the plugin and a
//! clock moved by hand: digest and per-item jobs, the frequency gate with
//! skip and coalesce, restarts, retries with backoff, dead letter and replay,
//! idempotent re-sends, and cascades cut by depth and by the runaway limit.

use serde_json::{json, Value};
use std::path::Path;
use std::sync::Arc;
use tocsin::calendars::Calendars;
use tocsin::catalog::catalog;
use tocsin::engine::audit::{Entry, Query};
use tocsin::engine::{Engine, EngineConfig, ManualClock, Sink};
use tocsin::event::Event;
use tocsin::plugins::{Grants, Registry, Runtime, RuntimeConfig};
use tocsin::rules::{Rule, RuleRepo, Validator};
use tocsin::store::Store;
use tocsin_tests::guests_dir;

const START_MS: i64 = 1_800_000_000_000;
const MINUTE: i64 = 60_000;

/// Opens an engine on `dir` with the misbehave guest installed (allowed to
/// submit set-status commands) and `rules` stored (when not already there).
async fn open(
    dir: &Path,
    clock: Arc<ManualClock>,
    config: EngineConfig,
    rules: &[Value],
) -> Engine {
    // A just-dropped engine may hold the directory's lock for a moment.
    let mut tries = 0;
    let store = loop {
        match Store::open(dir) {
            Ok(s) => break s,
            Err(e) if tries < 50 => {
                tries += 1;
                let _ = e;
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            Err(e) => panic!("{e:#}"),
        }
    };
    let sink = Arc::new(Sink::new(store.clone()));
    let runtime = Arc::new(Runtime::new(RuntimeConfig::default(), sink.clone()).unwrap());
    let registry = Arc::new(Registry::new(runtime));
    let grants = Grants {
        helpdesk: vec!["set-status".into()],
        ..Default::default()
    };
    registry
        .install_file(&guests_dir().join("misbehave.wasm"), grants)
        .await
        .unwrap();
    let repo = RuleRepo::open(&store).unwrap();
    let validator = Validator {
        catalog: catalog(),
        plugins: &registry,
    };
    for r in rules {
        let rule: Rule = serde_json::from_value(r.clone()).unwrap();
        if repo.get(&rule.id).is_err() {
            repo.create(&rule, &validator).unwrap();
        }
    }
    Engine::open(
        &store,
        registry,
        sink,
        Arc::new(Calendars::default()),
        clock,
        config,
    )
    .unwrap()
}

fn rule(id: &str, event_type: &str, actions: Value) -> Value {
    json!({"id": id, "name": format!("Rule {id}"), "category": "ticket", "event_type": event_type, "actions": actions})
}

fn log(mode: &str, extra: Value) -> Value {
    let mut a = json!({"plugin": "misbehave", "action": "log-to-file", "mode": mode});
    for (k, v) in extra.as_object().unwrap() {
        a[k] = v.clone();
    }
    a
}

fn event(event_type: &str, ids: &[&str], fields: Value) -> Event {
    let items: Vec<Value> = ids
        .iter()
        .map(|id| json!({"kind": "ticket", "id": id, "fields": fields}))
        .collect();
    serde_json::from_value(json!({
        "category": "ticket", "event_type": event_type,
        "occurred_at": "2026-11-30T10:00:00Z", "items": items
    }))
    .unwrap()
}

/// Every attempt recorded for a rule: (outcome, items, message).
fn attempts(engine: &Engine, rule: &str) -> Vec<(String, Vec<String>, String)> {
    engine
        .audit(&Query {
            rule: Some(rule.into()),
            ..Default::default()
        })
        .unwrap()
        .into_iter()
        .filter_map(|r| match r.entry {
            Entry::Attempt {
                outcome,
                items,
                message,
                ..
            } => Some((outcome, items, message)),
            _ => None,
        })
        .collect()
}

fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(START_MS))
}

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

fn c_now(c: &ManualClock) -> i64 {
    use tocsin::engine::Clock;
    c.now_ms()
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

#[tokio::test]
async fn an_idempotent_re_send_creates_nothing_new() {
    let dir = tempfile::tempdir().unwrap();
    let rules = [rule(
        "r",
        "ticket-created",
        json!([log("per-item", json!({}))]),
    )];
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

/// Requests a webhook received: (delivery id, signature, body).
type Seen = Arc<std::sync::Mutex<Vec<(String, String, Vec<u8>)>>>;

/// A webhook that answers 503 with Retry-After: 2 once, then 200, and keeps
/// every request's delivery id, signature and body.
async fn webhook() -> (
    String,
    Arc<std::sync::Mutex<Vec<(String, String, Vec<u8>)>>>,
) {
    use http_body_util::BodyExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let seen: Seen = Arc::default();
    let log = seen.clone();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let log = log.clone();
            let service =
                hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let log = log.clone();
                    async move {
                        let header = |n: &str| {
                            req.headers()
                                .get(n)
                                .map(|v| v.to_str().unwrap().to_string())
                                .unwrap_or_default()
                        };
                        let (delivery, signature) =
                            (header("x-tocsin-delivery"), header("x-tocsin-signature"));
                        let body = req.into_body().collect().await.unwrap().to_bytes().to_vec();
                        let first = {
                            let mut log = log.lock().unwrap();
                            log.push((delivery, signature, body));
                            log.len() == 1
                        };
                        let response = if first {
                            hyper::Response::builder()
                                .status(503)
                                .header("retry-after", "2")
                        } else {
                            hyper::Response::builder().status(200)
                        };
                        Ok::<_, std::convert::Infallible>(
                            response
                                .body(http_body_util::Full::new(bytes::Bytes::from_static(b"ok")))
                                .unwrap(),
                        )
                    }
                });
            tokio::spawn(async move {
                let io = wasmtime_wasi_http::io::TokioIo::new(stream);
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(io, service)
                    .await;
            });
        }
    });
    (url, seen)
}

#[tokio::test]
async fn commands_are_delivered_to_the_connector_signed_and_retried() {
    use tocsin::engine::connector::{signature, ConnectorConfig};
    let dir = tempfile::tempdir().unwrap();
    let c = clock();
    let (url, seen) = webhook().await;
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
