//! A process-level crash test: a child `tocsin ingest` is killed with SIGKILL
//! at a random moment, several rounds on the same data directory; every event
//! whose ingestion was acknowledged is there afterwards with its jobs, and
//! the store opens every time.

use serde_json::json;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};
use tocsin::catalog::catalog;
use tocsin::plugins::{Grants, Registry};
use tocsin::rules::{Rule, RuleRepo, Validator};
use tocsin::store::Store;
use tocsin_tests::*;

const ROUNDS: usize = 4;
const EVENTS: usize = 3_000;

/// A pseudo-random delay in [lo, hi) ms from the clock's nanoseconds.
fn random_ms(lo: u64, hi: u64) -> u64 {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as u64;
    lo + nanos % (hi - lo)
}

async fn store_rules(db: &std::path::Path) {
    let store = Store::open(db).unwrap();
    let registry = Registry::new(runtime());
    registry
        .install_file(&plugins_dir().join("log-file.wasm"), Grants::default())
        .await
        .unwrap();
    let v = Validator {
        catalog: catalog(),
        plugins: &registry,
    };
    let repo = RuleRepo::open(&store).unwrap();
    for (id, mode) in [("digest", "digest"), ("each", "per-item")] {
        let rule: Rule = serde_json::from_value(json!({
            "id": id, "name": id, "category": "ticket", "event_type": "ticket-created",
            "actions": [{"plugin": "log-file", "action": "log-to-file", "mode": mode, "settings": {"file": "x.log"}}]
        }))
        .unwrap();
        repo.create(&rule, &v).unwrap();
    }
    store.flush().unwrap();
}

#[tokio::test]
async fn acknowledged_events_and_their_jobs_survive_sigkill() {
    let data = tempfile::tempdir().unwrap();
    let db = data.path().join("db");
    store_rules(&db).await;
    let mut acked_total = 0;
    for round in 0..ROUNDS {
        let events = data.path().join(format!("events-{round}.jsonl"));
        let lines: Vec<String> = (0..EVENTS)
            .map(|n| {
                json!({
                    "id": format!("r{round}-e{n}"), "category": "ticket", "event_type": "ticket-created",
                    "occurred_at": "2026-11-30T10:00:00Z",
                    "items": [{"kind": "ticket", "id": format!("{n}"), "fields": {}},
                              {"kind": "ticket", "id": format!("{n}b"), "fields": {}}]
                })
                .to_string()
            })
            .collect();
        std::fs::write(&events, lines.join("\n")).unwrap();
        let mut child = Command::new(tocsin_bin())
            .args(["ingest", "--concurrency", "16", "--data"])
            .arg(data.path())
            .arg("--plugins")
            .arg(plugins_dir())
            .arg(&events)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let acked: Arc<Mutex<Vec<String>>> = Arc::default();
        let reader = {
            let (stdout, acked) = (child.stdout.take().unwrap(), acked.clone());
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    acked.lock().unwrap().push(line);
                }
            })
        };
        // Kill at a random moment after ingestion has started.
        let started = Instant::now();
        while acked.lock().unwrap().is_empty() && started.elapsed() < Duration::from_secs(60) {
            std::thread::sleep(Duration::from_millis(5));
        }
        std::thread::sleep(Duration::from_millis(random_ms(10, 300)));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        reader.join().unwrap();
        let acked = acked.lock().unwrap().clone();
        assert!(!acked.is_empty(), "round {round}: nothing was acknowledged");
        assert!(
            acked.len() < EVENTS,
            "round {round}: the child finished before it was killed; raise EVENTS"
        );
        eprintln!(
            "round {round}: killed after {} acknowledged events",
            acked.len()
        );

        let store = Store::open(&db)
            .unwrap_or_else(|e| panic!("round {round}: the store does not open: {e:#}"));
        let tree = store.tree("engine").unwrap();
        for line in &acked {
            // "acked <event> jobs [job-…,job-…]"
            let mut parts = line.split_whitespace();
            assert_eq!(parts.next(), Some("acked"), "{line}");
            let event = parts.next().unwrap();
            assert!(
                tree.contains_key(format!("ev/{event}")).unwrap(),
                "round {round}: {event} lost"
            );
            let jobs = parts.nth(1).unwrap().trim_matches(['[', ']']);
            let jobs: Vec<&str> = jobs.split(',').filter(|j| !j.is_empty()).collect();
            assert_eq!(jobs.len(), 3, "one digest and two per-item jobs: {line}");
            for job in jobs {
                let key = format!("job/{}", job.trim_start_matches("job-"));
                assert!(
                    tree.contains_key(key).unwrap(),
                    "round {round}: {job} of {event} lost"
                );
            }
        }
        acked_total += acked.len();
        drop(tree);
        drop(store);
    }
    assert!(acked_total >= ROUNDS, "{acked_total}");
}
