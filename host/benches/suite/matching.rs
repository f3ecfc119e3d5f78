//! Matching throughput: 10,000 rules spread over every event type of the
//! catalog, two conditions each, and a stream of events whose items carry
//! every field their type's conditions read: events matched per second on
//! one core.
//!
//! Baseline (measured in the same run): the naive matcher that walks every
//! rule and evaluates its conditions when category and event type agree.
//!
//! Two figures, each beside the baseline measured the same way:
//! - **as ingestion hands events over** (the goal's figure): each event is
//!   deserialized from its JSON just before it is matched, as ingestion does
//!   with a request body, and only the matching is timed. The event is then
//!   in cache; the rules need not be (an event of another type comes next).
//! - **a cold stream**: 2,000 events deserialized beforehand and matched
//!   back to back. Each event's fields (about 2 KB scattered over the heap)
//!   have left the cache by the time it comes round again, so reading them
//!   costs cache misses that no ingestion pays.
//!
//! Before criterion's own report, a plain timing prints one table with the
//! ratios and the goal (500,000 events/s).

use crate::common::{peer, report, workload};
use criterion::{criterion_group, Criterion, Throughput};
use jiff::Timestamp;
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tocsin::calendars::Calendars;
use tocsin::catalog::catalog;
use tocsin::conditions::Subject;
use tocsin::event::Event;
use tocsin::matcher::Matcher;
use tocsin::rules::validate::{check_against_catalog, CheckedRule};

const RULES: usize = 10_000;
const EVENTS: usize = 2_000;
/// How long each figure is measured.
const MEASURE: Duration = Duration::from_secs(2);

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

/// Events per second of `f` over the pre-parsed stream, back to back.
fn cold_per_second(mut f: impl FnMut() -> usize) -> f64 {
    let mut rounds = 0u32;
    let start = Instant::now();
    while start.elapsed() < MEASURE {
        black_box(f());
        rounds += 1;
    }
    (rounds as f64 * EVENTS as f64) / start.elapsed().as_secs_f64()
}

/// Events per second of `f`, each event deserialized from its JSON just
/// before the call and only the call timed (the clock reads count against
/// the figure). Whole passes over the events, for at least [`MEASURE`].
fn fresh_per_second(json: &[Vec<u8>], mut f: impl FnMut(&Event, Timestamp) -> usize) -> f64 {
    let (mut spent, mut matched) = (Duration::ZERO, 0u64);
    let start = Instant::now();
    while start.elapsed() < MEASURE {
        for bytes in json {
            let event: Event = serde_json::from_slice(bytes).expect("event JSON");
            let at = event.at();
            let began = Instant::now();
            black_box(f(&event, at));
            spent += began.elapsed();
            matched += 1;
        }
    }
    matched as f64 / spent.as_secs_f64()
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

    let json: Vec<Vec<u8>> = events
        .iter()
        .map(|e| serde_json::to_vec(e).expect("event as JSON"))
        .collect();
    let ours = fresh_per_second(&json, |e, at| indexed(&matcher, e, at));
    let base = fresh_per_second(&json, |e, at| naive(&all, e, at, &calendars));
    let ours_cold = cold_per_second(|| timed.iter().map(|&(e, at)| indexed(&matcher, e, at)).sum());
    let base_cold = cold_per_second(|| {
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
        measure: "events matched per second, 10k rules, one core (each event just deserialized, as ingestion hands it over)",
        figure: ours,
        baseline: Some(base),
        baseline_name: "naive: every rule in turn",
        goal: ">= 500000",
        higher_is_better: true,
    }
    .record();
    report::Row {
        measure: "events matched per second, 10k rules, one core (a cold stream of 2,000 pre-parsed events)",
        figure: ours_cold,
        baseline: Some(base_cold),
        baseline_name: "naive: every rule in turn",
        goal: "-",
        higher_is_better: true,
    }
    .record();
    if let Some(dir) = std::env::var_os("TOCSIN_BENCH_DIR") {
        peer::write_workload(
            std::path::Path::new(&dir),
            &generated,
            &events,
            &calendars,
            ours_cold,
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
