//! Ingestion throughput with durable group commit: events acknowledged per
//! second (each with its item update, audit records and three jobs durable
//! in sled), on a 2-worker tokio runtime.
//!
//! Baseline (same run, same data): one event at a time, so every event waits
//! for a flush of its own. The figure: 256 events in flight sharing flushes.
//! Then the same with a time rule and a count rule enabled, so that each
//! event also writes its tickets' idle index entries and department set
//! memberships (7 keys more), against none.
//! Needs the built `log-file` component (`cargo xtask bench` builds it).
//!
//! More rows: what sled alone takes for the writes of one such event (see
//! [`floor`]): as one batch with no flush, against the same bytes as one
//! record; then made durable through the same group commit, 256 in flight,
//! written key by key as ingestion stores them, against one batch per event
//! and against one record per event.

use crate::common::{durable, floor, report};
use durable::{engine, event};

use std::sync::Arc;
use std::time::Instant;
use tocsin::engine::Engine;

const EVENTS: usize = 20_000;
const BASELINE_EVENTS: usize = 500;
const IN_FLIGHT: usize = 256;
/// Events whose writes sled alone takes, for the second row.
const FLOOR_EVENTS: usize = 10_000;

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

pub fn run() {
    let rt = crate::common::runtime();
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
        report::header();
        report::Row {
            measure: "events ingested per second, in process (durable, 3 jobs each)",
            figure: ours,
            baseline: Some(base),
            baseline_name: "one event at a time",
            goal: ">= 20000",
            higher_is_better: true,
        }
        .record();
        let dir = tempfile::tempdir().expect("tempdir");
        let keeping = durable::engine_keeping_indexes(dir.path()).await;
        let kept = in_flight(&keeping, EVENTS, IN_FLIGHT).await;
        report::Row {
            measure: "events ingested per second, in process, with a time rule and a count rule enabled (their index and sets written too)",
            figure: kept,
            baseline: Some(ours),
            baseline_name: "no time or count rule",
            goal: "-",
            higher_is_better: true,
        }
        .record();
        let writes = floor::one_event_writes().await;
        let bytes: usize = writes.iter().map(|(k, v)| k.len() + v.len()).sum();
        let (batched, records) = floor::sled_alone(&writes, FLOOR_EVENTS);
        let measure = format!(
            "sled alone: one event's {} writes ({bytes} bytes) as one batch, back to back, one thread, no flush, events per second",
            writes.len()
        );
        report::Row {
            measure: &measure,
            figure: batched,
            baseline: Some(records),
            baseline_name: "the same bytes as one record per event",
            goal: "-",
            higher_is_better: true,
        }
        .record();
        let durable = |layout| floor::sled_durable(&writes, EVENTS, IN_FLIGHT, layout);
        let key_by_key = durable(floor::Layout::KeyByKey).await;
        let batched = durable(floor::Layout::Batch).await;
        let one_record = durable(floor::Layout::OneRecord).await;
        let n = writes.len();
        let measure = format!(
            "sled alone, durable: those {n} writes key by key (as ingestion stores them), {IN_FLIGHT} in flight sharing flushes, events per second"
        );
        report::Row {
            measure: &measure,
            figure: key_by_key,
            baseline: Some(batched),
            baseline_name: "the same writes as one atomic batch per event",
            goal: "-",
            higher_is_better: true,
        }
        .record();
        let measure = format!(
            "sled alone, durable: those {n} writes key by key, against their bytes as one record per event, events per second"
        );
        report::Row {
            measure: &measure,
            figure: key_by_key,
            baseline: Some(one_record),
            baseline_name: "the same bytes as one record per event, written with insert",
            goal: "-",
            higher_is_better: true,
        }
        .record();
    });
}
