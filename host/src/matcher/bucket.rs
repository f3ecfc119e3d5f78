//! The rules of one event type, prepared for matching: the distinct fields
//! their conditions read, and an equality index that rules out, before any
//! condition runs, the rules whose `equals` / `one of` condition cannot hold.

use super::sets::RuleSets;
use crate::conditions::{Check, Compiled, Field, Probe};
use crate::event::ItemSnapshot;
use crate::rules::validate::CheckedRule;
use rustc_hash::FxHashMap as HashMap;
use std::sync::Arc;

/// One distinct condition: the field slot it reads and its test.
pub(super) struct Step {
    pub(super) slot: usize,
    pub(super) check: Check,
}

/// Rules of one (category, event type), in firing order.
#[derive(Default)]
pub(super) struct Bucket {
    pub(super) rules: Vec<Arc<CheckedRule>>,
    /// Distinct fields read by the conditions; each is resolved at most once
    /// per item, whatever the number of rules that test it.
    pub(super) fields: Vec<Field>,
    /// Distinct conditions, each with the slot in `fields` it reads: rules
    /// that share a condition share its result for an item.
    pub(super) steps: Vec<Step>,
    /// Per distinct condition (set `c` for step `c`), the rules that use it.
    pub(super) users: RuleSets,
    /// Slots of the item fields (`Field::Item`), by name.
    by_name: HashMap<String, usize>,
    /// Rules that stop the processing of later rules when they fire (a bit set).
    stops: Vec<u64>,
    /// Rules with no indexable condition: always candidates (a bit set).
    always: Vec<u64>,
    /// Per field slot: lowercased value to the set (in `anchored`) of the
    /// rules whose anchor condition on that field can hold only for that value.
    anchors: Vec<(usize, HashMap<String, usize>)>,
    anchored: RuleSets,
}

impl Bucket {
    /// Sorts the rules and rebuilds the field slots and the index.
    pub(super) fn reindex(&mut self) {
        self.rules
            .sort_by(|a, b| (a.rule.position, &a.rule.id).cmp(&(b.rule.position, &b.rule.id)));
        self.fields.clear();
        // Distinct conditions with their slots, while building.
        let mut conditions: Vec<(usize, Compiled)> = Vec::new();
        self.anchors.clear();
        self.by_name.clear();
        self.always = vec![0; self.words()];
        self.stops = vec![0; self.words()];
        let mut seen: HashMap<String, u32> = HashMap::default();
        let mut users: Vec<Vec<u32>> = Vec::new();
        let mut anchored: Vec<Vec<u32>> = Vec::new();
        for (n, rule) in self.rules.iter().enumerate() {
            if rule.rule.stop_processing {
                self.stops[n / 64] |= 1 << (n % 64);
            }
            let mut own = Vec::with_capacity(rule.conditions.len());
            for c in &rule.conditions {
                let key = serde_json::to_string(&c.source).unwrap_or_default();
                let next = conditions.len() as u32;
                let at = *seen.entry(key).or_insert(next);
                if at == next {
                    let slot = match self.fields.iter().position(|f| *f == c.field) {
                        Some(slot) => slot,
                        None => {
                            self.fields.push(c.field.clone());
                            self.fields.len() - 1
                        }
                    };
                    if let Field::Item(name) = &c.field {
                        self.by_name.insert(name.clone(), slot);
                    }
                    conditions.push((slot, c.clone()));
                }
                own.push(at);
            }
            // The first indexable condition anchors the rule.
            let anchor = own.iter().find_map(|&at| {
                let (slot, c) = &conditions[at as usize];
                c.index_keys().map(|keys| (at, *slot, keys))
            });
            // A rule is a candidate only when its anchor's index key matched,
            // which for a case-insensitive anchor is the condition itself:
            // the rule need not test it again.
            let settled = anchor
                .as_ref()
                .filter(|(at, ..)| !conditions[*at as usize].1.source.case_sensitive)
                .map(|(at, ..)| *at);
            match anchor {
                Some((_, slot, keys)) => {
                    let at = match self.anchors.iter().position(|(s, _)| *s == slot) {
                        Some(at) => at,
                        None => {
                            self.anchors.push((slot, HashMap::default()));
                            self.anchors.len() - 1
                        }
                    };
                    for key in keys {
                        let set = *self.anchors[at].1.entry(key).or_insert_with(|| {
                            anchored.push(Vec::new());
                            anchored.len() - 1
                        });
                        let list = &mut anchored[set];
                        if list.last() != Some(&(n as u32)) {
                            list.push(n as u32);
                        }
                    }
                }
                None => self.always[n / 64] |= 1 << (n % 64),
            }
            users.resize_with(conditions.len(), Vec::new);
            for &at in own.iter().filter(|&&at| Some(at) != settled) {
                let list = &mut users[at as usize];
                if list.last() != Some(&(n as u32)) {
                    list.push(n as u32);
                }
            }
        }
        self.steps = conditions
            .iter()
            .map(|(slot, c)| Step {
                slot: *slot,
                check: c.check(),
            })
            .collect();
        let words = self.words();
        self.users = RuleSets::new(words, users.iter().map(Vec::as_slice));
        self.anchored = RuleSets::new(words, anchored.iter().map(Vec::as_slice));
    }

    /// Whether rule `n` stops the processing of later rules when it fires.
    pub(super) fn stops(&self, n: usize) -> bool {
        self.stops[n / 64] & (1 << (n % 64)) != 0
    }

    /// Words in a bit set over the rules.
    pub(super) fn words(&self) -> usize {
        self.rules.len().div_ceil(64)
    }

    /// Resolves every item field the conditions read in one pass over the
    /// item's fields (absent ones resolve to missing); the others (agent,
    /// calendar answers) stay for `probe` to resolve when first needed.
    pub(super) fn resolve_item<'a>(
        &self,
        item: &'a ItemSnapshot,
        probes: &mut [Option<Probe<'a>>],
    ) {
        for (slot, field) in self.fields.iter().enumerate() {
            if let Field::Item(_) = field {
                probes[slot] = Some(Probe::item_field(None));
            }
        }
        for (name, value) in &item.fields {
            if let Some(&slot) = self.by_name.get(name.as_str()) {
                probes[slot] = Some(Probe::item_field(Some(value)));
            }
        }
    }

    /// Marks in `out` (a bit set over the rules) the rules that may pass for
    /// one item, resolving the anchor fields into `probes` as needed.
    pub(super) fn candidates<'a>(
        &self,
        probes: &mut [Option<Probe<'a>>],
        mut probe: impl FnMut(&Field) -> Probe<'a>,
        out: &mut [u64],
    ) {
        out.copy_from_slice(&self.always);
        for (slot, index) in &self.anchors {
            let p = probes[*slot].get_or_insert_with(|| probe(&self.fields[*slot]));
            if let Some(&set) = p.with_index_key(|key| index.get(key)) {
                self.anchored.set_in(set, out);
            }
        }
    }
}
