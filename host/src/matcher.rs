//! Which rules an event fires. Enabled rules are indexed by category, then
//! event type, in a stable order (position, then id); an event costs only the
//! rules of its own type. Conditions were compiled when the rule was saved;
//! each is evaluated per item, and a rule fires with the items that pass all.

use crate::calendars::Calendars;
use crate::conditions::{Explained, Field, Probe, Subject};
use crate::event::Event;
use crate::rules::validate::CheckedRule;
use jiff::Timestamp;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Arc;

/// Rules indexed for matching.
#[derive(Default)]
pub struct Matcher {
    index: HashMap<String, HashMap<String, Bucket>>,
    calendars: Arc<Calendars>,
}

/// The rules of one event type, and the distinct fields their conditions
/// read: each field is resolved at most once per item, whatever the number of
/// rules that test it.
#[derive(Default)]
struct Bucket {
    rules: Vec<Arc<CheckedRule>>,
    fields: Vec<Field>,
    /// For each rule, the slot in `fields` of each of its conditions.
    slots: Vec<Vec<usize>>,
}

impl Bucket {
    fn reindex(&mut self) {
        self.rules
            .sort_by(|a, b| (a.rule.position, &a.rule.id).cmp(&(b.rule.position, &b.rule.id)));
        self.fields.clear();
        self.slots = self
            .rules
            .iter()
            .map(|r| {
                r.conditions
                    .iter()
                    .map(|c| match self.fields.iter().position(|f| *f == c.field) {
                        Some(slot) => slot,
                        None => {
                            self.fields.push(c.field.clone());
                            self.fields.len() - 1
                        }
                    })
                    .collect()
            })
            .collect();
    }
}

/// One rule that fired, with the positions of the items that passed its conditions.
#[derive(Debug, Clone)]
pub struct Firing {
    /// The rule.
    pub rule: Arc<CheckedRule>,
    /// Indexes into the event's items.
    pub items: Vec<usize>,
}

/// Why a rule did or did not fire for an event.
#[derive(Debug, Clone, Serialize)]
pub struct RuleExplain {
    /// Rule id.
    pub rule: String,
    /// Whether it fires.
    pub fires: bool,
    /// When it cannot fire regardless of conditions (disabled, other event type).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Per item: its id and each condition's result.
    pub items: Vec<ItemExplain>,
}

/// Conditions for one item.
#[derive(Debug, Clone, Serialize)]
pub struct ItemExplain {
    /// Item id.
    pub item: String,
    /// Whether every condition held.
    pub passed: bool,
    /// Each condition, in order.
    pub conditions: Vec<Explained>,
}

impl Matcher {
    /// Indexes the rules (disabled ones are left out).
    pub fn new(rules: impl IntoIterator<Item = CheckedRule>, calendars: Arc<Calendars>) -> Matcher {
        let mut m = Matcher {
            index: HashMap::new(),
            calendars,
        };
        for rule in rules {
            m.upsert(rule);
        }
        m
    }

    /// Adds or replaces a rule.
    pub fn upsert(&mut self, rule: CheckedRule) {
        self.remove(&rule.rule.id);
        if !rule.rule.enabled {
            return;
        }
        let bucket = self
            .index
            .entry(rule.rule.category.clone())
            .or_default()
            .entry(rule.rule.event_type.clone())
            .or_default();
        bucket.rules.push(Arc::new(rule));
        bucket.reindex();
    }

    /// Removes a rule, if indexed.
    pub fn remove(&mut self, id: &str) {
        for types in self.index.values_mut() {
            for bucket in types.values_mut() {
                let before = bucket.rules.len();
                bucket.rules.retain(|r| r.rule.id != id);
                if bucket.rules.len() != before {
                    bucket.reindex();
                }
            }
        }
    }

    fn bucket(&self, category: &str, event_type: &str) -> Option<&Bucket> {
        self.index.get(category).and_then(|t| t.get(event_type))
    }

    /// Replaces the calendars used for business hours and local times.
    pub fn set_calendars(&mut self, calendars: Arc<Calendars>) {
        self.calendars = calendars;
    }

    /// The enabled rules of an event type, in order.
    pub fn rules_for(&self, category: &str, event_type: &str) -> &[Arc<CheckedRule>] {
        self.bucket(category, event_type)
            .map(|b| b.rules.as_slice())
            .unwrap_or(&[])
    }

    /// The rules the event fires, in order, each with its passing items.
    pub fn matches(&self, event: &Event, at: Timestamp) -> Vec<Firing> {
        let mut firings = Vec::new();
        let Some(bucket) = self.bucket(&event.category, &event.event_type) else {
            return firings;
        };
        let mut subjects: Vec<Subject> = event
            .items
            .iter()
            .map(|item| Subject::new(event, item, at, &self.calendars))
            .collect();
        let mut probes: Vec<Vec<Option<Probe>>> = event
            .items
            .iter()
            .map(|_| bucket.fields.iter().map(|_| None).collect())
            .collect();
        for (rule, slots) in bucket.rules.iter().zip(&bucket.slots) {
            let mut items = Vec::new();
            for (i, subject) in subjects.iter_mut().enumerate() {
                let resolved = &mut probes[i];
                let pass = rule.conditions.iter().zip(slots).all(|(cond, &slot)| {
                    let probe =
                        resolved[slot].get_or_insert_with(|| subject.probe(&bucket.fields[slot]));
                    cond.test(probe)
                });
                if pass {
                    items.push(i);
                }
            }
            if !items.is_empty() {
                let stop = rule.rule.stop_processing;
                firings.push(Firing {
                    rule: rule.clone(),
                    items,
                });
                if stop {
                    break;
                }
            }
        }
        firings
    }

    /// Explains every enabled rule of the event's type.
    pub fn explain(&self, event: &Event, at: Timestamp) -> Vec<RuleExplain> {
        self.rules_for(&event.category, &event.event_type)
            .iter()
            .map(|r| self.explain_rule(r, event, at))
            .collect()
    }

    /// Explains one rule (enabled or not) for the event.
    pub fn explain_rule(&self, rule: &CheckedRule, event: &Event, at: Timestamp) -> RuleExplain {
        let r = &rule.rule;
        let reason = if (r.category.as_str(), r.event_type.as_str())
            != (event.category.as_str(), event.event_type.as_str())
        {
            Some(format!(
                "the rule is for {}/{}, the event is {}/{}",
                r.category, r.event_type, event.category, event.event_type
            ))
        } else if !r.enabled {
            Some("the rule is disabled".to_string())
        } else {
            None
        };
        let items: Vec<ItemExplain> = event
            .items
            .iter()
            .map(|item| {
                let mut subject = Subject::new(event, item, at, &self.calendars);
                let conditions: Vec<Explained> = rule
                    .conditions
                    .iter()
                    .map(|c| c.explain(&mut subject))
                    .collect();
                ItemExplain {
                    item: item.id.clone(),
                    passed: conditions.iter().all(|c| c.passed),
                    conditions,
                }
            })
            .collect();
        RuleExplain {
            rule: r.id.clone(),
            fires: reason.is_none() && items.iter().any(|i| i.passed),
            reason,
            items,
        }
    }
}
