//! The other limits a grant sets on an invocation: a host call that is slow
//! is stopped at the deadline like guest code; fuel is a CPU budget; at most
//! `max-concurrent` invocations of one plugin run at once.

use std::sync::Arc;
use std::time::{Duration, Instant};
use tocsin::plugins::bindings::Mode;
use tocsin::plugins::{Grants, InvokeError};
use tocsin_tests::*;

fn call(action: &str, settings: serde_json::Value) -> tocsin::plugins::bindings::Invocation {
    invocation(action, Mode::Digest, settings, vec![ticket("1", "s")])
}

/// A guest waiting in a host call (a 60 s sleep through wasi clocks) cannot
/// be stopped by the epoch, which only interrupts guest code: the wall-clock
/// bound stops it at the deadline instead, and the plugin keeps serving.
#[tokio::test]
async fn a_slow_host_call_is_stopped_at_the_deadline() {
    let rt = runtime();
    let bad = load_guest(&rt, "misbehave").await.unwrap();
    let grants = Arc::new(Grants {
        deadline_ms: 300,
        ..Grants::default()
    });
    let started = Instant::now();
    let err = rt
        .invoke(
            &bad,
            grants.clone(),
            call("sleep", serde_json::json!({"ms": 60_000})),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            InvokeError::Deadline {
                deadline_ms: 300,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.retryable());
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "the sleep was not cut short: {:?}",
        started.elapsed()
    );
    let outcome = rt
        .invoke(&bad, grants, call("sleep", serde_json::json!({"ms": 10})))
        .await
        .unwrap();
    assert_eq!(outcome.summary, "slept 10 ms");
}

/// Fuel stops a busy loop by the work it does, not the time it takes; the
/// same work passes under a larger budget, and fuel is per invocation.
#[tokio::test]
async fn fuel_is_a_cpu_budget_per_invocation() {
    let rt = runtime();
    let bad = load_guest(&rt, "misbehave").await.unwrap();
    let small = Arc::new(Grants {
        fuel: Some(2_000_000),
        deadline_ms: 60_000,
        ..Grants::default()
    });
    let err = rt
        .invoke(&bad, small.clone(), call("spin", serde_json::json!({})))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            InvokeError::Fuel {
                fuel: 2_000_000,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "plugin `misbehave` used up its fuel of 2000000 units (grants.fuel) and was stopped"
    );
    assert!(!err.retryable());
    let count = || call("count", serde_json::json!({"n": 10_000_000}));
    let err = rt.invoke(&bad, small.clone(), count()).await.unwrap_err();
    assert!(matches!(err, InvokeError::Fuel { .. }), "{err}");
    let large = Arc::new(Grants {
        fuel: Some(1_000_000_000),
        ..Grants::default()
    });
    for _ in 0..2 {
        let outcome = rt.invoke(&bad, large.clone(), count()).await.unwrap();
        assert_eq!(outcome.summary, "counted to 10000000");
    }
    // Small work fits the small budget.
    let outcome = rt
        .invoke(&bad, small, call("count", serde_json::json!({"n": 1000})))
        .await
        .unwrap();
    assert_eq!(outcome.summary, "counted to 1000");
}

/// Runs `n` sleeping invocations at once under `max` slots; answers the most
/// seen running and the most seen waiting.
async fn run_concurrently(n: usize, max: u32, sleep_ms: u64) -> (usize, usize) {
    let rt = runtime();
    let plugin = Arc::new(load_guest(&rt, "misbehave").await.unwrap());
    let grants = Arc::new(Grants {
        max_concurrent: max,
        // Shorter than the whole queue: the wait for a slot is not counted.
        deadline_ms: sleep_ms * 2,
        ..Grants::default()
    });
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let (rt, plugin, grants) = (rt.clone(), plugin.clone(), grants.clone());
            tokio::spawn(async move {
                rt.invoke(
                    &plugin,
                    grants,
                    call("sleep", serde_json::json!({"ms": sleep_ms})),
                )
                .await
            })
        })
        .collect();
    let (mut running, mut waiting) = (0, 0);
    while !tasks.iter().all(|t| t.is_finished()) {
        if let Some(load) = rt.load_of("misbehave") {
            assert_eq!(load.max, max);
            running = running.max(load.running);
            waiting = waiting.max(load.waiting);
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    for task in tasks {
        let outcome = task.await.unwrap().unwrap();
        assert_eq!(outcome.summary, format!("slept {sleep_ms} ms"));
    }
    let load = rt.load_of("misbehave").unwrap();
    assert_eq!((load.running, load.waiting), (0, 0));
    (running, waiting)
}

/// With one slot, invocations of the plugin run one after another, each
/// within its own deadline although the queue is longer than it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_slot_runs_invocations_one_at_a_time() {
    let (running, waiting) = run_concurrently(4, 1, 200).await;
    assert_eq!(running, 1, "more than one invocation ran at once");
    assert!(waiting >= 1, "no invocation ever waited for the slot");
}

/// With as many slots as invocations, they run side by side.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enough_slots_let_invocations_overlap() {
    let (running, waiting) = run_concurrently(3, 3, 1000).await;
    assert_eq!(running, 3, "the invocations did not overlap");
    assert_eq!(waiting, 0);
}
