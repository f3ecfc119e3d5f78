//! Ingestion throughput with durable group commit: events acknowledged per
//! second (each with its item update, audit records and three jobs durable
//! in sled), on a 2-worker tokio runtime.
//!
//! Baseline (same run, same data): one event at a time, so every event waits
//! for a flush of its own. The figure: 256 events in flight sharing flushes.
//! Needs the built `log-file` component (`cargo xtask bench` builds it).

use serde_json::json;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;
use tocsin::calendars::Calendars;
use tocsin::catalog::catalog;
use tocsin::engine::{Engine, EngineConfig, Sink, SystemClock};
use tocsin::event::Event;
use tocsin::plugins::{Grants, Registry, Runtime, RuntimeConfig};
use tocsin::rules::{Rule, RuleRepo, Validator};
use tocsin::store::Store;

const EVENTS: usize = 20_000;
const BASELINE_EVENTS: usize = 500;
const IN_FLIGHT: usize = 256;

async fn engine(dir: &std::path::Path) -> Engine {
    let plugins = std::env::var_os("TOCSIN_PLUGINS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/plugins"));
    let store = Store::open(dir).expect("store");
    let sink = Arc::new(Sink::new(store.clone()).unwrap());
    let runtime = Arc::new(Runtime::new(RuntimeConfig::default(), sink.clone()).expect("runtime"));
    let registry = Arc::new(Registry::new(runtime));
    registry
        .install_file(&plugins.join("log-file.wasm"), Grants::default())
        .await
        .expect("the log-file component (run `cargo xtask plugins`)");
    let v = Validator {
        catalog: catalog(),
        plugins: &registry,
    };
    let repo = RuleRepo::open(&store).expect("repo");
    for (id, mode) in [("digest", "digest"), ("each", "per-item")] {
        let rule: Rule = serde_json::from_value(json!({
            "id": id, "name": id, "category": "ticket", "event_type": "ticket-created",
            "conditions": [{"field": "priority", "op": "one-of", "value": ["high", "urgent"]}],
            "actions": [{"plugin": "log-file", "action": "log-to-file", "mode": mode, "settings": {"file": "x.log"}}]
        }))
        .expect("rule");
        repo.create(&rule, &v).expect("create rule");
    }
    Engine::open(
        &store,
        registry,
        sink,
        Arc::new(Calendars::default()),
        Arc::new(SystemClock),
        EngineConfig::default(),
    )
    .expect("engine")
}

fn event(n: usize) -> Event {
    serde_json::from_value(json!({
        "category": "ticket", "event_type": "ticket-created",
        "occurred_at": "2026-11-30T10:00:00Z", "agent": "ana",
        "items": [
            {"kind": "ticket", "id": format!("{n}"), "fields": {"priority": "high", "subject": "Printer on fire", "department": "IT"}},
            {"kind": "ticket", "id": format!("{n}b"), "fields": {"priority": "urgent", "subject": "Still on fire", "department": "IT"}}
        ]
    }))
    .expect("event")
}

async fn one_at_a_time(engine: &Engine, n: usize) -> f64 {
    let start = Instant::now();
    for i in 0..n {
        let r = engine.ingest(event(i)).await.expect("ingest");
        assert_eq!(r.jobs.len(), 3);
    }
    n as f64 / start.elapsed().as_secs_f64()
}

async fn in_flight(engine: &Engine, n: usize, width: usize) -> f64 {
    let start = Instant::now();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..width {
        let (engine, next) = (engine.clone(), next.clone());
        tasks.spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= n {
                    return;
                }
                let r = engine.ingest(event(1_000_000 + i)).await.expect("ingest");
                assert_eq!(r.jobs.len(), 3);
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("task");
    }
    n as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    // `cargo test --benches` runs this with --bench absent: do nothing then.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let engine = engine(dir.path()).await;
        let base = one_at_a_time(&engine, BASELINE_EVENTS).await;
        let ours = in_flight(&engine, EVENTS, IN_FLIGHT).await;
        let jobs = engine.pending_jobs().expect("jobs").len();
        assert_eq!(jobs, 3 * (EVENTS + BASELINE_EVENTS), "every job is in the outbox");
        println!(
            "\ningestion, durable group commit, 2 worker threads, {EVENTS} events of 2 items, 3 jobs each"
        );
        println!("| measure | figure | baseline (one at a time, same run) | ratio | goal |");
        println!("|---|---|---|---|---|");
        println!(
            "| events ingested per second | {ours:.0} | {base:.0} | {:.1}x | >= 20000 ({}) |",
            ours / base,
            if ours >= 20_000.0 { "met" } else { "NOT met" }
        );
    });
}
