//! The scheduler at a million items: 1,000,000 open tickets in the mirror and
//! its idle index, 100 Ticket Idle rules (idle more than 4 ... 103 minutes).
//! Most tickets were last active long ago (the shared data set, see
//! [`tickets`]): their entries lie behind the catch-up window, while the
//! 10,000 measured ones are first parked an hour ahead.
//!
//! - Tick cost with no crossing: 600 ticks while nothing comes due (goal
//!   ≤ 5 ms). Baseline, same data: a scan of every ticket's
//!   mirror, what a scheduler without ordered indexes does on each tick.
//! - Lag from due instant to firing: 10,000 of the tickets come due over ten
//!   seconds while the scheduler runs its own loop on the system clock
//!   (goal p99 ≤ 1 s).
//!
//! The mirror and index are written directly (as ingestion would write them),
//! so the setup does not time a million ingestions. Needs the built
//! `log-file` component (`cargo xtask bench` builds it).

use crate::common::tickets::{last_active, mirror, Tickets, ITEMS};
use crate::common::{durable, report};
use serde_json::json;
use std::time::{Duration, Instant};
use tocsin::engine::{Clock, Engine, SystemClock, TREE};
use tocsin::rules::Rule;
use tocsin::scheduler::{index, Scheduler, SchedulerConfig};
use tocsin::store::Store;

const RULES: usize = 100;
const CROSSING: usize = 10_000;
const MINUTE: i64 = 60_000;

async fn engine(store: &Store) -> Engine {
    let rules: Vec<Rule> = (0..RULES)
        .map(|n| {
            serde_json::from_value(json!({
                "id": format!("idle-{n}"), "name": "idle", "category": "ticket", "event_type": "ticket-idle",
                "conditions": [{"field": "idle-minutes", "op": "greater", "value": 4 + n}],
                "actions": [{"plugin": "log-file", "action": "log-to-file", "mode": "digest", "settings": {"file": "x.log"}}]
            }))
            .expect("rule")
        })
        .collect();
    durable::open_with(store, &rules).await.0
}

/// Removes what [`populate`] wrote for `ids` with the same `last`.
fn unpopulate(store: &Store, ids: std::ops::Range<usize>, last: impl Fn(usize) -> i64) {
    let tree = store.tree(TREE).expect("tree");
    let mut batch = sled::Batch::default();
    for n in ids {
        batch.remove(format!("item/ticket/{n}").into_bytes());
        for key in index::entries(&mirror(n, last(n))) {
            batch.remove(key);
        }
    }
    tree.apply_batch(batch).expect("batch");
}

fn populate(store: &Store, ids: std::ops::Range<usize>, last: impl Fn(usize) -> i64) {
    let tree = store.tree(TREE).expect("tree");
    durable::write_tickets(&tree, ids, |n| mirror(n, last(n)));
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    let i = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

pub fn run(tickets: &Tickets) {
    let rt = crate::common::runtime();
    rt.block_on(async {
        let dir = tempfile::tempdir().expect("tempdir");
        tickets.copy_to(dir.path());
        let store = Store::open(dir.path()).expect("store");
        let engine = engine(&store).await;
        // The measured tickets first far from due; once the no-crossing
        // ticks are measured (however long that takes on a busy machine),
        // they are moved to come due over ten seconds.
        let base = SystemClock.now_ms();
        let parked = |_| base + 3_600_000;
        unpopulate(&store, 0..CROSSING, last_active);
        populate(&store, 0..CROSSING, parked);
        let scheduler = Scheduler::new(engine.clone(), SchedulerConfig::default());

        // No crossing: 600 ticks before t0.
        let now = SystemClock.now_ms();
        let mut ticks = Vec::new();
        for i in 0..600 {
            let start = Instant::now();
            let report = scheduler.tick(now + i).await.expect("tick");
            ticks.push(start.elapsed().as_secs_f64() * 1e3);
            assert_eq!(report.fired, 0, "nothing crosses before t0");
        }
        ticks.sort_by(|a, b| a.total_cmp(b));
        // Baseline: read every ticket's mirror to find those that reached
        // 5 idle minutes since a tick one second earlier.
        let tree = store.tree(TREE).expect("tree");
        let start = Instant::now();
        let mut crossed = 0usize;
        let window = (now - 1_000 - 5 * MINUTE)..=(now - 5 * MINUTE);
        for kv in tree.scan_prefix("item/ticket/") {
            let (_, v) = kv.expect("scan");
            let m: serde_json::Value = serde_json::from_slice(&v).expect("mirror");
            if window.contains(&m["updated_ms"].as_i64().unwrap_or(0)) {
                crossed += 1;
            }
        }
        let scan_ms = start.elapsed().as_secs_f64() * 1e3;
        assert_eq!(crossed, 0, "nothing crosses before t0");
        // The crossing tickets reach 5 idle minutes one after another over
        // ten seconds from t0.
        let t0 = SystemClock.now_ms() + 3_000;
        unpopulate(&store, 0..CROSSING, parked);
        let due = |n| t0 - 5 * MINUTE + (n as i64 * 10_000 / CROSSING as i64);
        populate(&store, 0..CROSSING, due);
        // What the engine notes when it indexes an item, so the scheduler
        // looks again (written here behind its back).
        let mut notes = sled::Batch::default();
        for n in 0..CROSSING {
            for key in index::entries(&mirror(n, due(n))) {
                notes.insert([index::FRESH, &key].concat(), Vec::new());
            }
        }
        tree.apply_batch(notes).expect("fresh notes");

        // Lag: the scheduler's own loop on the system clock, through t0 + 11 s.
        let wait = (t0 + 11_000 - SystemClock.now_ms()).max(0) as u64;
        let handle = scheduler.start();
        tokio::time::sleep(Duration::from_millis(wait)).await;
        handle.abort();
        let lag = scheduler.lag();
        assert_eq!(lag.count as usize, CROSSING, "every crossing fired once");

        println!("\nscheduler, {ITEMS} open tickets, {RULES} idle rules, 2 worker threads");
        report::header();
        report::Row {
            measure: "time events, 1M tickets: tick with no crossing, p99 ms",
            figure: percentile(&ticks, 0.99),
            baseline: Some(scan_ms),
            baseline_name: "full scan of the tickets",
            goal: "<= 5",
            higher_is_better: false,
        }
        .record();
        println!("(tick p50: {:.3} ms)", percentile(&ticks, 0.5));
        report::Row {
            measure: "time events, 1M tickets: lag due to firing, p99 ms",
            figure: lag.p99_ms as f64,
            baseline: Some(scan_ms),
            baseline_name: "full scan of the tickets",
            goal: "<= 1000",
            higher_is_better: false,
        }
        .record();
        println!("(lag p50: {} ms over {} firings)", lag.p50_ms, lag.count);
    });
}
