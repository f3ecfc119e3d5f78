//! The generated workload the benches share: rules over every event type of
//! the catalog and events whose items carry the fields those rules read.

use serde_json::json;
use tocsin::catalog::{catalog, condition_field, ValueType};
use tocsin::conditions::Field;
use tocsin::event::Event;
use tocsin::rules::Rule;

const DEPARTMENTS: [&str; 8] = [
    "IT", "Billing", "Sales", "HR", "Ops", "Legal", "Support", "Dev",
];

/// A small deterministic generator, so every run matches the same workload.
pub struct Lcg(pub u64);
impl Lcg {
    pub fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    pub fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.next() as usize % xs.len()]
    }
}

/// `count` rules spread over every event type of the catalog, two
/// conditions each.
pub fn rules(count: usize) -> Vec<Rule> {
    let types: Vec<(&str, &tocsin::catalog::EventType)> = catalog()
        .categories()
        .iter()
        .flat_map(|c| c.event_types.iter().map(move |t| (c.id, t)))
        .collect();
    let mut rng = Lcg(7);
    (0..count)
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
            serde_json::from_value(json!({
                "id": format!("r{n:05}"), "name": "bench", "category": category, "event_type": t.id,
                "conditions": conditions,
                "actions": [{"plugin": "log-file", "action": "log-to-file", "mode": "digest", "settings": {"file": "bench.log"}}]
            }))
            .expect("rule json")
        })
        .collect()
}

/// Events whose item carries every field its event type's conditions read,
/// with values drawn from the same pools as the rules' expectations.
pub fn events(count: usize) -> Vec<Event> {
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
    (0..count)
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
