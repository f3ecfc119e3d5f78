//! Matching throughput: 10,000 rules spread over every event type of the
//! catalog, two conditions each, and a stream of events whose items carry
//! every field their type's conditions read: events matched per second on
//! one core.
//!
//! Baseline (measured in the same run): the naive matcher that walks every
//! rule and evaluates its conditions when category and event type agree.
//! Before criterion's own report, a plain timing of both prints one table with
//! the ratio and the goal (500,000 events/s).

use criterion::{criterion_group, Criterion, Throughput};
use serde_json::json;
use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;
use tocsin::calendars::Calendars;
use tocsin::catalog::{catalog, condition_field, ValueType};
use tocsin::conditions::{Field, Subject};
use tocsin::event::Event;
use tocsin::matcher::Matcher;
use tocsin::rules::validate::{check_against_catalog, CheckedRule};
use tocsin::rules::Rule;

const RULES: usize = 10_000;
const EVENTS: usize = 2_000;
const DEPARTMENTS: [&str; 8] = [
    "IT", "Billing", "Sales", "HR", "Ops", "Legal", "Support", "Dev",
];

/// A small deterministic generator, so every run matches the same workload.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.next() as usize % xs.len()]
    }
}

fn rules() -> Vec<CheckedRule> {
    let types: Vec<(&str, &tocsin::catalog::EventType)> = catalog()
        .categories()
        .iter()
        .flat_map(|c| c.event_types.iter().map(move |t| (c.id, t)))
        .collect();
    let mut rng = Lcg(7);
    (0..RULES)
        .map(|n| {
            let (category, t) = *rng.pick(&types);
            // Two conditions per rule, of the kinds the event type offers.
            let mut conditions = Vec::new();
            let usable: Vec<_> = t.conditions.iter().filter(|c| !c.is_custom_field()).collect();
            for _ in 0..2 {
                let c = *rng.pick(&usable);
                let cond = match c.value_type {
                    ValueType::Department | ValueType::Group | ValueType::Agent | ValueType::Brand => {
                        json!({"field": c.id, "op": "equals", "value": rng.pick(&DEPARTMENTS)})
                    }
                    ValueType::Number | ValueType::Minutes => json!({"field": c.id, "op": "greater", "value": rng.next() % 100}),
                    ValueType::Text => json!({"field": c.id, "op": "contains", "value": "printer"}),
                    ValueType::Boolean | ValueType::OutsideBusinessHours | ValueType::DuringHolidays => {
                        json!({"field": c.id, "op": "is-true"})
                    }
                    ValueType::ActingAgent => json!({"field": c.id, "op": "equals", "value": "ana"}),
                    ValueType::Enum(values) => json!({"field": c.id, "op": "one-of", "value": [rng.pick(values), rng.pick(values)]}),
                    ValueType::TimeOfDay => json!({"field": c.id, "op": "between", "value": ["08:00", "18:00"]}),
                    ValueType::DayOfWeek => json!({"field": c.id, "op": "one-of", "value": ["monday", "friday"]}),
                    _ => json!({"field": c.id, "op": "is-set"}),
                };
                conditions.push(cond);
            }
            let rule: Rule = serde_json::from_value(json!({
                "id": format!("r{n:05}"), "name": "bench", "category": category, "event_type": t.id,
                "conditions": conditions,
                "actions": [{"plugin": "log-file", "action": "log-to-file", "mode": "digest"}]
            }))
            .expect("rule json");
            check_against_catalog(catalog(), &rule).expect("generated rules are valid")
        })
        .collect()
}

/// Events whose item carries every field its event type's conditions read,
/// with values drawn from the same pools as the rules' expectations.
fn events() -> Vec<Event> {
    let types: Vec<(&str, &tocsin::catalog::EventType)> = catalog()
        .categories()
        .iter()
        .flat_map(|c| c.event_types.iter().map(move |t| (c.id, t)))
        .collect();
    let texts = [
        "The printer is on fire",
        "Password reset",
        "Invoice 1234 is wrong",
    ];
    let mut rng = Lcg(11);
    (0..EVENTS)
        .map(|n| {
            let (category, t) = *rng.pick(&types);
            let mut fields = serde_json::Map::new();
            fields.insert("department".into(), json!(rng.pick(&DEPARTMENTS)));
            for c in &t.conditions {
                let Field::Item(name) = condition_field(c).0 else {
                    continue;
                };
                let value = match c.value_type {
                    ValueType::Department
                    | ValueType::Group
                    | ValueType::Agent
                    | ValueType::Brand => {
                        json!(rng.pick(&DEPARTMENTS))
                    }
                    ValueType::Number | ValueType::Minutes => json!(rng.next() % 120),
                    ValueType::Boolean => json!(rng.next().is_multiple_of(2)),
                    ValueType::Enum(values) => json!(rng.pick(values)),
                    ValueType::DateTime => json!("2026-11-30T09:00:00Z"),
                    _ => json!(rng.pick(&texts)),
                };
                fields.insert(name, value);
            }
            serde_json::from_value(json!({
                "id": format!("e{n}"), "category": category, "event_type": t.id,
                "occurred_at": "2026-11-30T10:00:00Z", "agent": "ana",
                "items": [{"kind": "ticket", "id": n.to_string(), "fields": fields}]
            }))
            .expect("event json")
        })
        .collect()
}

/// The baseline: every rule, in turn.
fn naive(rules: &[Arc<CheckedRule>], event: &Event, calendars: &Calendars) -> usize {
    let at = event.at();
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

fn indexed(matcher: &Matcher, event: &Event) -> usize {
    matcher.matches(event, event.at()).len()
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
    let checked = rules();
    let all: Vec<Arc<CheckedRule>> = checked.iter().cloned().map(Arc::new).collect();
    let matcher = Matcher::new(checked, calendars.clone());
    let events = events();

    // Same answers, or the comparison means nothing.
    let fired_indexed: usize = events.iter().map(|e| indexed(&matcher, e)).sum();
    let fired_naive: usize = events.iter().map(|e| naive(&all, e, &calendars)).sum();
    assert_eq!(
        fired_indexed, fired_naive,
        "indexed and naive matchers disagree"
    );

    let ours = time_per_second(|| events.iter().map(|e| indexed(&matcher, e)).sum());
    let base = time_per_second(|| events.iter().map(|e| naive(&all, e, &calendars)).sum());
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
    println!("| measure | figure | baseline (naive, same run) | ratio | goal |");
    println!("|---|---|---|---|---|");
    println!(
        "| events matched per second, one core | {ours:.0} | {base:.0} | {:.1}x | >= 500000 ({}) |",
        ours / base,
        if ours >= 500_000.0 { "met" } else { "NOT met" }
    );

    let mut group = c.benchmark_group("matching");
    group.throughput(Throughput::Elements(EVENTS as u64));
    group.sample_size(20);
    group.bench_function("indexed", |b| {
        b.iter(|| events.iter().map(|e| indexed(&matcher, e)).sum::<usize>())
    });
    group.bench_function("naive", |b| {
        b.iter(|| {
            events
                .iter()
                .map(|e| naive(&all, e, &calendars))
                .sum::<usize>()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
