//! Rule JSON: one rule (`POST /v1/rules`, `tocsin rule add`) and rule import
//! documents (`{"rules": [...]}`, `tocsin rule import`), validated against the
//! catalog with their conditions compiled and their frequency windows parsed,
//! then each compiled condition evaluated against items made of the rule's
//! own condition values, and time-driven rules planned as the scheduler plans
//! them. Any bytes give checked rules or an error naming a path, never a panic.
//!
//! No plugin is installed (compiling components per input would be far too
//! slow), so the validator stops at the first action's plugin lookup; the
//! plugins' settings schemas are not fuzzed here.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::{Arc, LazyLock};
use tocsin::calendars::Calendars;
use tocsin::catalog::catalog;
use tocsin::conditions::{Compiled, Probe, Subject};
use tocsin::event::{Event, ItemSnapshot};
use tocsin::plugins::bindings::{helpdesk, mail};
use tocsin::plugins::{Outbound, Registry, Runtime, RuntimeConfig};
use tocsin::profiles::Profile;
use tocsin::rules::repo::check_set;
use tocsin::rules::validate::{check_against_catalog, parse_window, CheckedRule};
use tocsin::rules::{Rule, RuleSet, Validator};
use tocsin::scheduler::{kinds, plan, SchedulerConfig};

/// Nothing leaves the sandbox here: no plugin is ever invoked.
struct Nowhere;

impl Outbound for Nowhere {
    fn queue_mail(&self, _: &str, _: &str, _: &mail::Message) -> anyhow::Result<String> {
        anyhow::bail!("the fuzz target sends no mail")
    }
    fn submit_command(&self, _: &str, _: &str, _: &helpdesk::Command) -> anyhow::Result<String> {
        anyhow::bail!("the fuzz target submits no commands")
    }
    fn profile(&self, _: &str, _: Option<&str>) -> anyhow::Result<Option<Profile>> {
        Ok(None)
    }
}

/// An empty registry: actions are checked against the catalog, then refused
/// at the plugin lookup (no component is compiled while fuzzing).
static REGISTRY: LazyLock<Registry> = LazyLock::new(|| {
    let config = RuntimeConfig {
        max_instances: 1,
        ..RuntimeConfig::default()
    };
    let runtime = Runtime::new(config, Arc::new(Nowhere)).expect("a wasmtime engine");
    Registry::new(Arc::new(runtime))
});

static CALENDARS: LazyLock<Calendars> = LazyLock::new(Calendars::default);

fuzz_target!(|data: &[u8]| {
    let validator = Validator {
        catalog: catalog(),
        plugins: &REGISTRY,
    };
    if let Ok(rule) = tocsin::api::error::parse::<Rule>(data) {
        let _ = validator.check(&rule);
        beyond_the_registry(&rule);
    }
    if let Ok(set) = tocsin::api::error::parse::<RuleSet>(data) {
        let _ = check_set(&set, &validator);
        set.rules.iter().for_each(beyond_the_registry);
    }
});

/// What the validator reaches only once an action's plugin is installed (the
/// frequency window), and what happens to a valid rule's conditions after
/// validation (evaluation), driven directly.
fn beyond_the_registry(rule: &Rule) {
    for action in &rule.actions {
        if let Some(window) = &action.max_frequency {
            if let Ok(d) = parse_window(window) {
                assert!(!d.is_zero(), "{window:?} was accepted as an empty window");
            }
        }
    }
    if let Ok(checked) = check_against_catalog(catalog(), rule) {
        evaluate(&checked);
        // A time-driven rule is planned by the scheduler when it is loaded.
        if let Some(kind) = kinds::kind(&rule.category, &rule.event_type) {
            let _ = plan::plan(Arc::new(checked), kind, &SchedulerConfig::default());
        }
    }
}

/// Most values an item is tried with, per rule.
const MAX_VALUES: usize = 16;

/// Evaluates (and explains) every compiled condition of a rule against items
/// whose fields take, in turn, each value the rule's conditions mention (list
/// elements too), so each comparison meets values of the kind it was written
/// for, its own and its neighbours'.
fn evaluate(checked: &CheckedRule) {
    let rule = &checked.rule;
    let mut values = vec![serde_json::Value::Null];
    for condition in &rule.conditions {
        match &condition.value {
            Some(serde_json::Value::Array(items)) => values.extend(items.iter().cloned()),
            Some(value) => values.push(value.clone()),
            None => {}
        }
    }
    values.truncate(MAX_VALUES);
    for value in values {
        let fields: serde_json::Map<String, serde_json::Value> = rule
            .conditions
            .iter()
            .map(|c| (c.field.clone(), value.clone()))
            .collect();
        let event = Event {
            id: None,
            category: rule.category.clone(),
            event_type: rule.event_type.clone(),
            occurred_at: "2026-11-28T09:00:00Z".into(),
            agent: value.as_str().map(str::to_string),
            old_values: fields.clone(),
            items: vec![ItemSnapshot {
                kind: rule.category.clone(),
                id: "1".into(),
                fields,
            }],
            idempotency_key: None,
        };
        for compiled in &checked.conditions {
            whole_number_bounds(compiled);
            let subject = || Subject::new(&event, &event.items[0], event.at(), &CALENDARS);
            let holds = compiled.holds(&mut subject());
            let explained = compiled.explain(&mut subject());
            assert_eq!(explained.passed, holds, "explain agrees with holds");
            // The matcher skips a rule whose indexed key is not among the
            // keys; that is only sound if a condition that holds has its key
            // listed. And a rule whose case-insensitive anchor's key is
            // listed does not test that condition again: there, a listed key
            // must mean the condition holds.
            if let Some(keys) = compiled.index_keys() {
                let mut subject = subject();
                let probe = subject.probe(&compiled.field);
                let listed = probe.with_index_key(|key| keys.iter().any(|k| k == key));
                assert!(
                    !holds || listed,
                    "{:?} holds for {value} but its key is not in {keys:?}",
                    compiled.source,
                );
                if !compiled.source.case_sensitive {
                    assert_eq!(
                        listed, holds,
                        "{:?} for {value}: a listed key must mean the condition holds",
                        compiled.source
                    );
                }
            }
        }
    }
}

/// The scheduler asks a numeric condition for the least whole number from
/// `from` on (the greatest up to `to`) that it accepts, and fires at that
/// number; the answer must be in range and the condition must hold there.
fn whole_number_bounds(compiled: &Compiled) {
    for bound in [-1, 0, 30, 1_000_000] {
        if let Some(n) = compiled.least_integer_from(bound) {
            assert!(n >= bound, "least_integer_from({bound}) = {n}");
            let value = serde_json::Value::from(n);
            assert!(
                compiled.test(&Probe::item_field(Some(&value))),
                "{:?}: least_integer_from({bound}) = {n}, where it does not hold",
                compiled.source
            );
        }
        if let Some(n) = compiled.greatest_integer_to(bound) {
            assert!(n <= bound, "greatest_integer_to({bound}) = {n}");
            let value = serde_json::Value::from(n);
            assert!(
                compiled.test(&Probe::item_field(Some(&value))),
                "{:?}: greatest_integer_to({bound}) = {n}, where it does not hold",
                compiled.source
            );
        }
    }
}
