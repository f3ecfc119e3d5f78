//! The scheduler: fires time-driven event types (Ticket Idle, Ticket
//! Follow-up Due, Task Due, ...) from the item mirror, through the same
//! ingestion as pushed events, so the gate, outbox and audit apply.
//!
//! - [`kinds`]: the time-driven event types, their anchor instant and minute fields.
//! - [`index`]: ordered indexes by anchor, written with the mirror in one batch.
//! - [`plan`]: a rule's threshold, from its conditions.
//! - [`counts`]: count thresholds per agent, group and department, edge-triggered.
//! - [`lag`]: the lag metric, due instant to firing.
//!
//! Each rule has a cursor in its index. A tick sweeps, per rule, the entries
//! between the cursor and `now - offset` (what came due since the last tick)
//! and moves the cursor past them in the same batch as the firing, so a tick
//! costs what crosses a threshold, and a restart neither loses nor repeats a
//! firing. New activity moves an item's entry ahead of the cursor: that is a
//! new episode, which fires again once it comes due.

pub mod counts;
pub mod error;
pub mod index;
pub mod kinds;
pub mod lag;
pub mod plan;

pub use error::SchedulerError;
pub use lag::LagSummary;

use crate::engine::{keys, Engine};
use crate::event::{Event, ItemSnapshot};
use kinds::{TimeKind, KINDS};
use plan::Plan;
use serde_json::Value;
use std::collections::HashSet;
use std::ops::Bound;
use std::sync::{Arc, Mutex};

/// Adds to `batch` the time index and count set changes of an item mirror
/// going from `old` to `new`; the engine calls it for every mirror write.
pub fn reindex(batch: &mut sled::Batch, old: Option<&Value>, new: &Value) {
    index::reindex(batch, old, new);
    counts::reindex(batch, old, new);
}

/// Scheduler settings.
#[derive(Debug, Clone)]
pub struct SchedulerConfig {
    /// An item that came due longer ago than this is not fired (after a long
    /// downtime, or for a new rule, only the last spell is caught up; this is
    /// also "stop idle events after N days"). Default 7 days.
    pub stop_after_ms: i64,
    /// Items per firing event (a digest rule sees them in one invocation). Default 500.
    pub chunk: usize,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        SchedulerConfig {
            stop_after_ms: 7 * 24 * 3600 * 1000,
            chunk: 500,
        }
    }
}

/// What one tick did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TickReport {
    /// Events ingested.
    pub events: usize,
    /// Items fired (over all events).
    pub fired: usize,
    /// Items that came due but failed the rule's other conditions.
    pub skipped: usize,
    /// Count rules that crossed upward (each fired one event).
    pub crossed: usize,
    /// Index entries dropped because the mirror had moved on.
    pub stale: usize,
}

/// The scheduler. Cheap to clone; clones share everything.
#[derive(Clone)]
pub struct Scheduler {
    shared: Arc<Shared>,
}

struct Shared {
    engine: Engine,
    config: SchedulerConfig,
    lag: Mutex<lag::Lag>,
    /// Rules already warned about (a bad threshold is logged once).
    warned: Mutex<HashSet<String>>,
    /// One tick at a time.
    ticking: tokio::sync::Mutex<()>,
}

impl Scheduler {
    /// A scheduler over the engine's mirror and rules.
    pub fn new(engine: Engine, config: SchedulerConfig) -> Scheduler {
        Scheduler {
            shared: Arc::new(Shared {
                engine,
                config,
                lag: Mutex::default(),
                warned: Mutex::default(),
                ticking: tokio::sync::Mutex::new(()),
            }),
        }
    }

    /// Fires everything due at `now_ms`. Tests call this with a manual clock's now.
    pub async fn tick(&self, now_ms: i64) -> Result<TickReport, SchedulerError> {
        let _one = self.shared.ticking.lock().await;
        let mut report = TickReport::default();
        for plan in self.plans() {
            self.sweep(&plan, now_ms, &mut report).await?;
        }
        self.counts(now_ms, &mut report).await?;
        Ok(report)
    }

    /// The earliest instant something may come due, if anything is indexed
    /// for an enabled time rule.
    pub fn next_due(&self) -> Result<Option<i64>, SchedulerError> {
        let tree = self.shared.engine.tree();
        let mut next: Option<i64> = None;
        for plan in self.plans() {
            let prefix = index::prefix(plan.kind.index, plan.kind.item_kind);
            let start = match self.cursor(&plan, &prefix)? {
                Some(c) => Bound::Excluded(c),
                None => Bound::Included(prefix.clone()),
            };
            let first = tree
                .range::<Vec<u8>, _>((start, Bound::Unbounded))
                .keys()
                .next()
                .transpose()?;
            if let Some((anchor, _)) = first.and_then(|k| index::parse(&prefix, &k)) {
                let due = anchor + plan.offset_ms;
                next = Some(next.map_or(due, |n| n.min(due)));
            }
        }
        Ok(next)
    }

    /// Lag from due instant to firing, over the recent firings.
    pub fn lag(&self) -> LagSummary {
        self.shared.lag.lock().expect("lag lock").summary()
    }

    /// Spawns the loop: ticks at each due instant (at least once a second, so
    /// items indexed meanwhile are picked up), until the handle is aborted.
    pub fn start(&self) -> tokio::task::JoinHandle<()> {
        let scheduler = self.clone();
        tokio::spawn(async move {
            let clock = scheduler.shared.engine.clock();
            loop {
                if let Err(e) = scheduler.tick(clock.now_ms()).await {
                    tracing::error!("scheduler tick: {e}");
                }
                let now = clock.now_ms();
                let wait = match scheduler.next_due() {
                    Ok(Some(at)) => (at - now).clamp(1, 1_000),
                    _ => 1_000,
                };
                tokio::time::sleep(std::time::Duration::from_millis(wait as u64)).await;
            }
        })
    }

    /// The plans of every enabled time rule; rules that cannot be planned
    /// are left out with a warning (once).
    fn plans(&self) -> Vec<Plan> {
        let mut plans = Vec::new();
        for kind in KINDS {
            for rule in self
                .shared
                .engine
                .enabled_rules(kind.category, kind.event_type)
            {
                match plan::plan(rule, kind) {
                    Ok(p) => plans.push(p),
                    Err(e) => {
                        let id = match &e {
                            plan::PlanError::NoThreshold { rule, .. }
                            | plan::PlanError::Unsatisfiable { rule, .. } => rule.clone(),
                        };
                        if self.shared.warned.lock().expect("warned lock").insert(id) {
                            tracing::warn!("not scheduled: {e}");
                        }
                    }
                }
            }
        }
        plans
    }

    /// The rule's stored cursor, when it is in this index.
    fn cursor(&self, plan: &Plan, prefix: &[u8]) -> Result<Option<Vec<u8>>, SchedulerError> {
        let stored = self
            .shared
            .engine
            .tree()
            .get(index::cursor(&plan.rule.rule.id))?;
        Ok(stored.filter(|c| c.starts_with(prefix)).map(|c| c.to_vec()))
    }

    /// Fires one rule's items that came due since its cursor.
    async fn sweep(
        &self,
        plan: &Plan,
        now: i64,
        report: &mut TickReport,
    ) -> Result<(), SchedulerError> {
        let tree = self.shared.engine.tree();
        let prefix = index::prefix(plan.kind.index, plan.kind.item_kind);
        let bound = now - plan.offset_ms;
        let floor = index::at(&prefix, bound - self.shared.config.stop_after_ms);
        let start = match self.cursor(plan, &prefix)? {
            Some(c) if c >= floor => Bound::Excluded(c),
            _ => Bound::Included(floor),
        };
        let end = Bound::Excluded(index::after(&prefix, bound));
        let mut chunk: Vec<(ItemSnapshot, i64)> = Vec::new();
        let mut last: Option<Vec<u8>> = None;
        for kv in tree.range::<Vec<u8>, _>((start, end)) {
            let (key, _) = kv?;
            let Some((anchor, id)) = index::parse(&prefix, &key) else {
                continue;
            };
            last = Some(key.to_vec());
            match self.snapshot(plan.kind, anchor, &id, anchor + plan.offset_ms)? {
                Some(item) => chunk.push((item, anchor + plan.offset_ms)),
                None => {
                    tree.remove(&key)?;
                    report.stale += 1;
                }
            }
            if chunk.len() >= self.shared.config.chunk.max(1) {
                let cursor = last.take().expect("a key was read");
                self.fire(plan, std::mem::take(&mut chunk), cursor, report)
                    .await?;
            }
        }
        if let Some(cursor) = last {
            self.fire(plan, chunk, cursor, report).await?;
        }
        Ok(())
    }

    /// The item as the mirror has it, with the minute fields at `due_ms`;
    /// `None` when the mirror no longer has this anchor (a stale entry).
    fn snapshot(
        &self,
        kind: &TimeKind,
        anchor: i64,
        id: &str,
        due_ms: i64,
    ) -> Result<Option<ItemSnapshot>, SchedulerError> {
        let key = keys::item(kind.item_kind, id);
        let Some(bytes) = self.shared.engine.tree().get(&key)? else {
            return Ok(None);
        };
        let mirror: Value =
            serde_json::from_slice(&bytes).map_err(|source| SchedulerError::Mirror {
                key: String::from_utf8_lossy(&key).into_owned(),
                source,
            })?;
        if kind.anchor_ms(&mirror) != Some(anchor) {
            return Ok(None);
        }
        let mut fields = mirror["fields"].as_object().cloned().unwrap_or_default();
        for (field, minutes) in kind.minutes_at(anchor, due_ms) {
            fields.insert(field.to_string(), minutes.into());
        }
        Ok(Some(ItemSnapshot {
            kind: kind.item_kind.to_string(),
            id: id.to_string(),
            fields,
        }))
    }

    /// Ingests the items of `chunk` that pass the rule, moving its cursor to
    /// `cursor` in the same batch (or alone when none passes).
    async fn fire(
        &self,
        plan: &Plan,
        chunk: Vec<(ItemSnapshot, i64)>,
        cursor: Vec<u8>,
        report: &mut TickReport,
    ) -> Result<(), SchedulerError> {
        let rule = &plan.rule.rule.id;
        let cursor_write = (index::cursor(rule), cursor);
        let latest = chunk.iter().map(|(_, due)| *due).max();
        let (Some(latest), false) = (latest, chunk.is_empty()) else {
            self.shared
                .engine
                .tree()
                .insert(cursor_write.0, cursor_write.1)?;
            return Ok(());
        };
        let (items, dues): (Vec<ItemSnapshot>, Vec<i64>) = chunk.into_iter().unzip();
        let mut event = Event {
            id: None,
            category: plan.kind.category.to_string(),
            event_type: plan.kind.event_type.to_string(),
            occurred_at: timestamp(latest),
            agent: None,
            old_values: Default::default(),
            items,
            idempotency_key: None,
        };
        let passing = self.shared.engine.passing(&event, rule);
        report.skipped += event.items.len() - passing.len();
        if passing.is_empty() {
            self.shared
                .engine
                .tree()
                .insert(cursor_write.0, cursor_write.1)?;
            return Ok(());
        }
        let dues: Vec<i64> = passing.iter().map(|&i| dues[i]).collect();
        let mut items: Vec<Option<ItemSnapshot>> = std::mem::take(&mut event.items)
            .into_iter()
            .map(Some)
            .collect();
        event.items = passing.iter().filter_map(|&i| items[i].take()).collect();
        let n = event.items.len();
        let engine = &self.shared.engine;
        engine
            .ingest_scheduled(event, rule, vec![cursor_write])
            .await
            .map_err(|source| SchedulerError::Ingest {
                rule: rule.clone(),
                source,
            })?;
        let now = engine.clock().now_ms();
        let mut lag = self.shared.lag.lock().expect("lag lock");
        for due in dues {
            lag.record(now - due);
        }
        report.events += 1;
        report.fired += n;
        Ok(())
    }

    /// Recounts every set marked dirty and fires the count rules that now
    /// hold and did not at the last count.
    async fn counts(&self, now: i64, report: &mut TickReport) -> Result<(), SchedulerError> {
        let engine = &self.shared.engine;
        let tree = engine.tree();
        let rules: Vec<_> = counts::COUNTS
            .iter()
            .flat_map(|c| {
                engine
                    .enabled_rules(c.category, c.event_type)
                    .into_iter()
                    .map(move |r| (c, r))
            })
            .collect();
        for kv in tree.scan_prefix(counts::DIRTY) {
            let (key, changed_by) = kv?;
            let Some((kind, dimension, value)) = counts::parse_dirty(&key) else {
                tree.remove(&key)?;
                continue;
            };
            let count = tree
                .scan_prefix(counts::members(&kind, &dimension, &value))
                .keys()
                .count();
            let id = String::from_utf8_lossy(&changed_by).into_owned();
            for (c, rule) in rules
                .iter()
                .filter(|(c, _)| c.item_kind == kind && c.dimension == dimension)
            {
                let mut fields = self.mirror_fields(&kind, &id)?;
                fields.insert(dimension.clone(), value.clone().into());
                fields.insert(counts::FIELD.to_string(), count.into());
                let event = Event {
                    id: None,
                    category: c.category.to_string(),
                    event_type: c.event_type.to_string(),
                    occurred_at: timestamp(now),
                    agent: None,
                    old_values: Default::default(),
                    items: vec![ItemSnapshot {
                        kind: kind.clone(),
                        id: id.clone(),
                        fields,
                    }],
                    idempotency_key: None,
                };
                let rule_id = &rule.rule.id;
                let holds = !engine.passing(&event, rule_id).is_empty();
                let edge = counts::edge(rule_id, &value);
                let held = tree.contains_key(&edge)?;
                if holds && !held {
                    engine
                        .ingest_scheduled(event, rule_id, vec![(edge, b"1".to_vec())])
                        .await
                        .map_err(|source| SchedulerError::Ingest {
                            rule: rule_id.clone(),
                            source,
                        })?;
                    report.crossed += 1;
                } else if !holds && held {
                    tree.remove(edge)?;
                }
            }
            // A write that marked the set again meanwhile leaves it marked.
            let _ = tree.compare_and_swap(&key, Some(changed_by), None::<&[u8]>)?;
        }
        Ok(())
    }

    /// The mirrored fields of an item (empty when the mirror has none).
    fn mirror_fields(
        &self,
        kind: &str,
        id: &str,
    ) -> Result<serde_json::Map<String, Value>, SchedulerError> {
        let key = keys::item(kind, id);
        let Some(bytes) = self.shared.engine.tree().get(&key)? else {
            return Ok(Default::default());
        };
        let mirror: Value =
            serde_json::from_slice(&bytes).map_err(|source| SchedulerError::Mirror {
                key: String::from_utf8_lossy(&key).into_owned(),
                source,
            })?;
        Ok(mirror["fields"].as_object().cloned().unwrap_or_default())
    }
}

/// RFC 3339 text of an instant in ms.
fn timestamp(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .to_string()
}
