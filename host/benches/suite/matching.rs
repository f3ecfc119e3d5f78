//! Matching throughput: 10,000 rules spread over every event type of the
//! catalog, two conditions each, and a stream of events whose items carry
//! every field their type's conditions read: events matched per second on
//! one core.
//!
//! Baseline (measured in the same run): the naive matcher that walks every
//! rule and evaluates its conditions when category and event type agree.
//! Before criterion's own report, a plain timing of both prints one table with
//! the ratio and the goal (500,000 events/s).

use crate::common::{peer, report, workload};
use criterion::{criterion_group, Criterion, Throughput};
use jiff::Timestamp;
use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;
use tocsin::calendars::Calendars;
use tocsin::catalog::catalog;
use tocsin::conditions::Subject;
use tocsin::event::Event;
use tocsin::matcher::Matcher;
use tocsin::rules::validate::{check_against_catalog, CheckedRule};

const RULES: usize = 10_000;
const EVENTS: usize = 2_000;
/// The baseline: every rule, in turn.
fn naive(rules: &[Arc<CheckedRule>], event: &Event, at: Timestamp, calendars: &Calendars) -> usize {
    rules
        .iter()
        .filter(|r| r.rule.category == event.category && r.rule.event_type == event.event_type)
        .filter(|r| {
            event.items.iter().any(|item| {
                let mut subject = Subject::new(event, item, at, calendars);
                r.conditions.iter().all(|c| c.holds(&mut subject))
            })
        })
        .count()
}

fn indexed(matcher: &Matcher, event: &Event, at: Timestamp) -> usize {
    matcher.matches(event, at).len()
}

fn time_per_second(mut f: impl FnMut() -> usize) -> f64 {
    let mut rounds = 0u32;
    let start = Instant::now();
    while start.elapsed().as_secs_f64() < 2.0 {
        black_box(f());
        rounds += 1;
    }
    (rounds as f64 * EVENTS as f64) / start.elapsed().as_secs_f64()
}

fn bench(c: &mut Criterion) {
    let calendars = Arc::new(Calendars::default());
    let checked: Vec<CheckedRule> = workload::rules(RULES)
        .iter()
        .map(|rule| check_against_catalog(catalog(), rule).expect("generated rules are valid"))
        .collect();
    let generated = checked.clone();
    let all: Vec<Arc<CheckedRule>> = checked.iter().cloned().map(Arc::new).collect();
    let matcher = Matcher::new(checked, calendars.clone());
    let events = workload::events(EVENTS);
    // Each event's instant, parsed once as ingestion does, outside the timing.
    let timed: Vec<(&Event, Timestamp)> = events.iter().map(|e| (e, e.at())).collect();

    // Same answers, or the comparison means nothing.
    let fired_indexed: usize = timed.iter().map(|&(e, at)| indexed(&matcher, e, at)).sum();
    let fired_naive: usize = timed
        .iter()
        .map(|&(e, at)| naive(&all, e, at, &calendars))
        .sum();
    assert_eq!(
        fired_indexed, fired_naive,
        "indexed and naive matchers disagree"
    );

    let ours = time_per_second(|| timed.iter().map(|&(e, at)| indexed(&matcher, e, at)).sum());
    let base = time_per_second(|| {
        timed
            .iter()
            .map(|&(e, at)| naive(&all, e, at, &calendars))
            .sum()
    });
    println!(
        "\nmatching, {RULES} rules over {} event types, {EVENTS} events ({fired_indexed} firings)",
        {
            catalog()
                .categories()
                .iter()
                .map(|c| c.event_types.len())
                .sum::<usize>()
        }
    );
    report::header();
    report::Row {
        measure: "events matched per second, 10k rules, one core",
        figure: ours,
        baseline: Some(base),
        baseline_name: "naive: every rule in turn",
        goal: ">= 500000",
        higher_is_better: true,
    }
    .record();
    if let Some(dir) = std::env::var_os("TOCSIN_BENCH_DIR") {
        peer::write_workload(
            std::path::Path::new(&dir),
            &generated,
            &events,
            &calendars,
            ours,
            &timed
                .iter()
                .map(|&(e, at)| indexed(&matcher, e, at))
                .collect::<Vec<_>>(),
        );
    }
    // `cargo xtask bench` wants the table only; criterion's own runs follow
    // for `cargo bench`.
    if std::env::var_os("TOCSIN_BENCH_OUT").is_some() {
        return;
    }

    let mut group = c.benchmark_group("matching");
    group.throughput(Throughput::Elements(EVENTS as u64));
    group.sample_size(20);
    group.bench_function("indexed", |b| {
        b.iter(|| {
            timed
                .iter()
                .map(|&(e, at)| indexed(&matcher, e, at))
                .sum::<usize>()
        })
    });
    group.bench_function("naive", |b| {
        b.iter(|| {
            timed
                .iter()
                .map(|&(e, at)| naive(&all, e, at, &calendars))
                .sum::<usize>()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);

pub fn run() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
