//! Which rules an event fires. Enabled rules are indexed by category, then
//! event type, in a stable order (position, then id); an event costs only the
//! rules of its own type, and of those only the ones its `equals` / `one of`
//! values do not rule out (see [`bucket`]). Conditions were compiled when the
//! rule was saved. Per item, each distinct condition of the type is tested
//! at most once, and only while some rule using it may still pass; a failing
//! condition strikes out every rule that uses it at once. A rule fires with
//! the items for which it was never struck out.

mod bucket;
mod sets;

use crate::calendars::Calendars;
use crate::conditions::{Explained, Probe, Subject};
use crate::event::Event;
use crate::rules::validate::CheckedRule;
use bucket::Bucket;
use jiff::Timestamp;
use rustc_hash::FxHashMap as HashMap;
use serde::Serialize;
use smallvec::{smallvec, SmallVec};
use std::sync::Arc;

/// Rules indexed for matching.
#[derive(Default)]
pub struct Matcher {
    index: HashMap<String, HashMap<String, Bucket>>,
    calendars: Arc<Calendars>,
}

/// One rule that fired, with the positions of the items that passed its
/// conditions. It borrows the rule from the matcher (clone the `Arc` to keep
/// it longer), so matching never touches a rule that does not fire.
#[derive(Debug, Clone)]
pub struct Firing<'m> {
    /// The rule.
    pub rule: &'m Arc<CheckedRule>,
    /// Indexes into the event's items (inline up to two: most events have one).
    pub items: SmallVec<[usize; 2]>,
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
            index: HashMap::default(),
            calendars,
        };
        for rule in rules.into_iter().filter(|r| r.rule.enabled) {
            m.bucket_mut(&rule).rules.push(Arc::new(rule));
        }
        for bucket in m.index.values_mut().flat_map(|t| t.values_mut()) {
            bucket.reindex();
        }
        m
    }

    /// Adds or replaces a rule.
    pub fn upsert(&mut self, rule: CheckedRule) {
        self.remove(&rule.rule.id);
        if !rule.rule.enabled {
            return;
        }
        let bucket = self.bucket_mut(&rule);
        bucket.rules.push(Arc::new(rule));
        bucket.reindex();
    }

    fn bucket_mut(&mut self, rule: &CheckedRule) -> &mut Bucket {
        self.index
            .entry(rule.rule.category.clone())
            .or_default()
            .entry(rule.rule.event_type.clone())
            .or_default()
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

    /// The calendars used for business hours and local times.
    pub fn calendars(&self) -> &Arc<Calendars> {
        &self.calendars
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
    pub fn matches(&self, event: &Event, at: Timestamp) -> Vec<Firing<'_>> {
        let Some(bucket) = self.bucket(&event.category, &event.event_type) else {
            return Vec::new();
        };
        let width = bucket.fields.len();
        let words = bucket.words();
        let mut subjects: SmallVec<[Subject; 2]> = event
            .items
            .iter()
            .map(|item| Subject::new(event, item, at, &self.calendars))
            .collect();
        // Per item: its resolved fields, and the rules it may still pass.
        let mut probes: SmallVec<[Option<Probe>; 32]> = SmallVec::new();
        probes.resize_with(subjects.len() * width, || None);
        let mut alive: SmallVec<[u64; 8]> = smallvec![0; subjects.len() * words];
        let mut any: SmallVec<[u64; 8]> = smallvec![0; words];
        for (i, subject) in subjects.iter_mut().enumerate() {
            let bits = &mut alive[i * words..(i + 1) * words];
            let resolved = &mut probes[i * width..(i + 1) * width];
            bucket.resolve_item(subject.item, resolved);
            bucket.candidates(resolved, |f| subject.probe(f), bits);
            // Each distinct condition once, and only while a rule that uses
            // it may still pass; when it fails, so do all those rules.
            for (c, step) in bucket.steps.iter().enumerate() {
                if !bucket.users.meets(c, bits) {
                    continue;
                }
                let probe = resolved[step.slot]
                    .get_or_insert_with(|| subject.probe(&bucket.fields[step.slot]));
                if !step.check.test(probe) {
                    bucket.users.clear_in(c, bits);
                }
            }
            for (a, b) in any.iter_mut().zip(bits.iter()) {
                *a |= b;
            }
        }
        let fired = any.iter().map(|w| w.count_ones() as usize).sum();
        let mut firings = Vec::with_capacity(fired);
        let single = subjects.len() == 1;
        for n in set_bits(&any) {
            // One item (most events): a rule that fired, fired for it.
            let items = if single {
                smallvec![0]
            } else {
                (0..subjects.len())
                    .filter(|i| is_set(&alive[i * words..(i + 1) * words], n as u32))
                    .collect()
            };
            firings.push(Firing {
                rule: &bucket.rules[n],
                items,
            });
            if bucket.stops(n) {
                break;
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

/// Whether bit `n` is set.
fn is_set(bits: &[u64], n: u32) -> bool {
    bits[n as usize / 64] & (1 << (n % 64)) != 0
}

/// Positions of the set bits, in increasing order.
fn set_bits(words: &[u64]) -> impl Iterator<Item = usize> + '_ {
    words.iter().enumerate().flat_map(|(w, &word)| {
        let mut rest = word;
        std::iter::from_fn(move || {
            (rest != 0).then(|| {
                let bit = rest.trailing_zeros() as usize;
                rest &= rest - 1;
                w * 64 + bit
            })
        })
    })
}
