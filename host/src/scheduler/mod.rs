//! The scheduler: fires time-driven event types (Ticket Idle, Ticket
//! Follow-up Due, Task Due, ...) from the item mirror, through the same
//! ingestion as pushed events, so the gate, outbox and audit apply.
//!
//! - [`kinds`]: the time-driven event types, their anchor instant and minute fields.
//! - [`index`]: ordered indexes by anchor, written with the mirror in one batch.
//! - [`plan`]: a rule's threshold, from its conditions.
//! - [`counts`]: count thresholds per agent, group and department, edge-triggered.
//! - [`lag`]: the lag metric, due instant to firing.
//! - [`upkeep`]: which indexes and sets are kept (those enabled rules need).
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
mod late;
pub mod plan;
pub mod upkeep;

pub use error::SchedulerError;
pub use lag::LagSummary;

use crate::calendars::{Calendars, CompiledCalendar};
use crate::engine::{keys, Engine};
use crate::event::{Event, ItemSnapshot};
use kinds::KINDS;
use plan::Plan;
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::ops::Bound;
use std::sync::{Arc, Mutex};

/// Adds to `batch` the changes, in the `kept` time indexes and count sets,
/// of an item mirror going from `old` to `new`; the engine calls it for
/// every mirror write.
pub fn reindex(
    batch: &mut crate::engine::writes::Writes,
    old: Option<&Value>,
    new: &Value,
    kept: &upkeep::Kept,
) {
    index::reindex(batch, old, new, kept);
    counts::reindex(batch, old, new, kept);
}

/// Scheduler settings (`[scheduler]` in the server's configuration file).
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SchedulerConfig {
    /// An item that came due longer ago than this is not fired (after a long
    /// downtime, or for a new rule, only the last spell is caught up; this is
    /// also "stop idle events after N days"). Default 7 days.
    pub stop_after_ms: i64,
    /// Items per firing event (a digest rule sees them in one invocation). Default 500.
    pub chunk: usize,
    /// KB Article Stale fires this long after an article last changed
    /// (default 180 days).
    pub kb_stale_after_ms: i64,
    /// Agent Auto-Inactive fires this long after an agent's last activity
    /// (default 30 minutes).
    pub agent_inactive_after_ms: i64,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        SchedulerConfig {
            stop_after_ms: 7 * 24 * 3600 * 1000,
            chunk: 500,
            kb_stale_after_ms: 180 * 24 * 3600 * 1000,
            agent_inactive_after_ms: 30 * 60 * 1000,
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
    /// Items fired because they were indexed after their rule's sweep had
    /// passed their due instant (counted in `fired` too).
    pub late: usize,
}

/// What a sweep writes with a firing: where the rule's cursor moved, the
/// items fired past an item not yet due (business minutes), and the marks
/// the cursor has now passed.
#[derive(Debug, Default)]
struct Progress {
    cursor: Option<Vec<u8>>,
    marks: Vec<Vec<u8>>,
    unmarks: Vec<Vec<u8>>,
}

impl Progress {
    /// An entry that needs no firing: the cursor passes it unless blocked,
    /// and its mark goes once the cursor has passed it.
    fn pass(&mut self, blocked: bool, key: Vec<u8>, mark: Option<Vec<u8>>) {
        if blocked {
            return;
        }
        self.cursor = Some(key);
        self.unmarks.extend(mark);
    }

    fn is_empty(&self) -> bool {
        self.cursor.is_none() && self.marks.is_empty() && self.unmarks.is_empty()
    }

    /// The writes (`None`: remove) for `rule`.
    fn writes(self, rule: &str) -> Vec<(Vec<u8>, Option<Vec<u8>>)> {
        let mut writes: Vec<(Vec<u8>, Option<Vec<u8>>)> = Vec::new();
        if let Some(c) = self.cursor {
            writes.push((index::cursor(rule), Some(c)));
        }
        writes.extend(self.marks.into_iter().map(|m| (m, Some(Vec::new()))));
        writes.extend(self.unmarks.into_iter().map(|m| (m, None)));
        writes
    }
}

/// A swept plan's (index, offset) and the due instant of its next entry.
type Ahead = ((&'static str, i64), i64);

/// The scheduler. Cheap to clone; clones share everything.
#[derive(Clone)]
pub struct Scheduler {
    shared: Arc<Shared>,
}

struct Shared {
    engine: Engine,
    config: SchedulerConfig,
    lag: Mutex<lag::Lag>,
    /// Per business-minutes rule, the earliest due instant of an item its
    /// last sweep found not yet due.
    pending: Mutex<HashMap<String, i64>>,
    /// Per wall-clock rule: the (index, offset) it was last swept with and
    /// when its next entry comes due, so a tick with nothing newly indexed
    /// skips it until then.
    ahead: Mutex<HashMap<String, Ahead>>,
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
                pending: Mutex::default(),
                ahead: Mutex::default(),
                warned: Mutex::default(),
                ticking: tokio::sync::Mutex::new(()),
            }),
        }
    }

    /// Fires everything due at `now_ms`. Tests call this with a manual clock's now.
    pub async fn tick(&self, now_ms: i64) -> Result<TickReport, SchedulerError> {
        let _one = self.shared.ticking.lock().await;
        let mut report = TickReport::default();
        // An index a rule has just started to need is filled first; what it
        // was filled with was never noted fresh, so every rule sweeps.
        let filled = self.shared.engine.keep_needed().await?;
        let plans = self.plans();
        // Entries indexed behind a cursor first: a sweep moves cursors past
        // entries it fires itself.
        let fresh = self.late(&plans, now_ms, &mut report).await? || filled;
        for plan in &plans {
            let rule = &plan.rule.rule.id;
            // Nothing was indexed since the last tick: a wall-clock rule
            // whose next entry is not due yet has nothing to sweep.
            let known = (plan.index, plan.offset_ms);
            let ahead = self
                .shared
                .ahead
                .lock()
                .expect("ahead lock")
                .get(rule)
                .copied();
            if !fresh && !plan.business {
                if let Some((swept, next)) = ahead {
                    if swept == known && next > now_ms {
                        continue;
                    }
                }
            }
            self.sweep(plan, now_ms, &mut report).await?;
            if !plan.business {
                let next = self.first_due_after(plan, now_ms)?.unwrap_or(i64::MAX);
                let mut ahead = self.shared.ahead.lock().expect("ahead lock");
                ahead.insert(rule.clone(), (known, next));
            }
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
            let prefix = index::prefix(plan.index, plan.kind.item_kind);
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
                let mut due = anchor + plan.offset_ms;
                if plan.business {
                    // Business time is never shorter than wall time; what the
                    // last sweep found waiting says when it is due.
                    let pending = self.shared.pending.lock().expect("pending lock");
                    if let Some(&at) = pending.get(&plan.rule.rule.id) {
                        due = due.max(at);
                    }
                }
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

    /// The plans of every enabled time rule whose index is filled; rules
    /// that cannot be planned are left out with a warning (once).
    fn plans(&self) -> Vec<Plan> {
        let filled = self.shared.engine.filled();
        let mut plans = Vec::new();
        for kind in KINDS {
            for rule in self
                .shared
                .engine
                .enabled_rules(kind.category, kind.event_type)
            {
                match plan::plan(rule, kind, &self.shared.config) {
                    Ok(p) if filled.index(p.index, p.kind.item_kind) => plans.push(p),
                    // Filled at the next tick (a rule enabled since this one began).
                    Ok(_) => {}
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

    /// When the first entry past what a sweep at `now` covered comes due
    /// for a wall-clock plan.
    fn first_due_after(&self, plan: &Plan, now: i64) -> Result<Option<i64>, SchedulerError> {
        let prefix = index::prefix(plan.index, plan.kind.item_kind);
        let start = index::after(&prefix, now - plan.offset_ms);
        let first = self
            .shared
            .engine
            .tree()
            .range::<Vec<u8>, _>((Bound::Excluded(start), Bound::Unbounded))
            .keys()
            .next()
            .transpose()?;
        Ok(first
            .and_then(|k| index::parse(&prefix, &k))
            .map(|(anchor, _)| anchor + plan.offset_ms))
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
    ///
    /// A wall-clock rule's items come due in index order, so the cursor
    /// follows the sweep. A business-minutes rule's items may not (each item
    /// has its calendar): the cursor stops before the first item not yet due,
    /// and items fired past it are marked (`t/f/<rule>/<entry>`) until the
    /// cursor passes them.
    async fn sweep(
        &self,
        plan: &Plan,
        now: i64,
        report: &mut TickReport,
    ) -> Result<(), SchedulerError> {
        let tree = self.shared.engine.tree();
        let rule = &plan.rule.rule.id;
        let prefix = index::prefix(plan.index, plan.kind.item_kind);
        let bound = now - plan.offset_ms;
        let floor = index::at(&prefix, bound - self.shared.config.stop_after_ms);
        let start = match self.cursor(plan, &prefix)? {
            Some(c) if c >= floor => Bound::Excluded(c),
            _ => Bound::Included(floor),
        };
        let end = Bound::Excluded(index::after(&prefix, bound));
        let calendars = plan.business.then(|| self.shared.engine.calendars());
        let mut chunk: Vec<(ItemSnapshot, i64)> = Vec::new();
        let mut progress = Progress::default();
        let mut pending: Option<i64> = None;
        for kv in tree.range::<Vec<u8>, _>((start, end)) {
            let (key, _) = kv?;
            let Some((anchor, id)) = index::parse(&prefix, &key) else {
                continue;
            };
            let blocked = pending.is_some();
            let mark = index::mark(rule, &key);
            let marked = plan.business && tree.contains_key(&mark)?;
            let Some(mirror) = self.mirror_settled(plan, anchor, &id).await? else {
                tree.remove(&key)?;
                report.stale += 1;
                progress.pass(blocked, key.to_vec(), marked.then_some(mark));
                continue;
            };
            let calendar = calendars.as_deref().map(|c| calendar_of(c, &mirror));
            let due = due_of(plan, calendar, anchor);
            match due {
                Some(due) if due <= now => {
                    if marked {
                        // Fired earlier, past an item that was not due yet.
                        progress.pass(blocked, key.to_vec(), Some(mark));
                        continue;
                    }
                    let item = ItemSnapshot {
                        kind: plan.kind.item_kind.to_string(),
                        id,
                        fields: fields_at(plan, calendar, &mirror, anchor, due),
                    };
                    chunk.push((item, due));
                    if blocked {
                        progress.marks.push(mark);
                    } else {
                        progress.cursor = Some(key.to_vec());
                    }
                }
                later => {
                    let later = later.unwrap_or(i64::MAX);
                    pending = Some(pending.map_or(later, |p| p.min(later)));
                }
            }
            if chunk.len() >= self.shared.config.chunk.max(1) {
                let progress = std::mem::take(&mut progress);
                self.fire(plan, std::mem::take(&mut chunk), progress, report)
                    .await?;
            }
        }
        if !chunk.is_empty() || !progress.is_empty() {
            self.fire(plan, chunk, progress, report).await?;
        }
        let mut waiting = self.shared.pending.lock().expect("pending lock");
        match pending {
            Some(at) => waiting.insert(rule.clone(), at),
            None => waiting.remove(rule),
        };
        Ok(())
    }

    /// The mirrored item; `None` when the mirror no longer has this anchor
    /// for the plan (a stale entry).
    fn mirror_at(
        &self,
        plan: &Plan,
        anchor: i64,
        id: &str,
    ) -> Result<Option<Value>, SchedulerError> {
        let key = keys::item(plan.kind.item_kind, id);
        let Some(bytes) = self.shared.engine.tree().get(&key)? else {
            return Ok(None);
        };
        let mirror: Value =
            serde_json::from_slice(&bytes).map_err(|source| SchedulerError::Mirror {
                key: String::from_utf8_lossy(&key).into_owned(),
                source,
            })?;
        Ok((plan.anchor.ms(&mirror) == Some(anchor)).then_some(mirror))
    }

    /// [`Self::mirror_at`], except that an entry that looks stale is looked
    /// at again once no ingestion is part-way through its writes: the entry
    /// may be one whose mirror write had not landed yet.
    async fn mirror_settled(
        &self,
        plan: &Plan,
        anchor: i64,
        id: &str,
    ) -> Result<Option<Value>, SchedulerError> {
        if let Some(mirror) = self.mirror_at(plan, anchor, id)? {
            return Ok(Some(mirror));
        }
        self.shared.engine.settled().await;
        self.mirror_at(plan, anchor, id)
    }

    /// Ingests the items of `chunk` that pass the rule, with the sweep's
    /// progress in the same batch (or alone when none passes).
    async fn fire(
        &self,
        plan: &Plan,
        chunk: Vec<(ItemSnapshot, i64)>,
        progress: Progress,
        report: &mut TickReport,
    ) -> Result<(), SchedulerError> {
        let rule = &plan.rule.rule.id;
        let writes = progress.writes(rule);
        let engine = &self.shared.engine;
        let latest = chunk.iter().map(|(_, due)| *due).max().unwrap_or_default();
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
        let passing = if event.items.is_empty() {
            Vec::new()
        } else {
            engine.passing(&event, rule)
        };
        report.skipped += event.items.len() - passing.len();
        if passing.is_empty() {
            let mut batch = sled::Batch::default();
            for (k, v) in writes {
                match v {
                    Some(v) => batch.insert(k, v),
                    None => batch.remove(k),
                }
            }
            engine.tree().apply_batch(batch)?;
            return Ok(());
        }
        let dues: Vec<i64> = passing.iter().map(|&i| dues[i]).collect();
        let mut items: Vec<Option<ItemSnapshot>> = std::mem::take(&mut event.items)
            .into_iter()
            .map(Some)
            .collect();
        event.items = passing.iter().filter_map(|&i| items[i].take()).collect();
        let n = event.items.len();
        engine
            .ingest_scheduled(event, rule, writes)
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
        let filled = engine.filled();
        let rules: Vec<_> = counts::COUNTS
            .iter()
            .filter(|c| filled.counts(c.item_kind, c.dimension))
            .flat_map(|c| {
                engine
                    .enabled_rules(c.category, c.event_type)
                    .into_iter()
                    .map(move |r| (c, r))
            })
            .collect();
        let dirty: Vec<(sled::IVec, sled::IVec)> =
            tree.scan_prefix(counts::DIRTY).collect::<Result<_, _>>()?;
        if !dirty.is_empty() {
            // The ingestion that marked a set may not have written the
            // changed item's mirror yet (it writes the mirror after).
            engine.settled().await;
        }
        for (key, changed_by) in dirty {
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
                        .ingest_scheduled(event, rule_id, vec![(edge, Some(b"1".to_vec()))])
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

/// The business calendar of a mirrored item, from its department and brand.
fn calendar_of<'c>(calendars: &'c Calendars, mirror: &Value) -> &'c CompiledCalendar {
    let text = |name: &str| mirror["fields"][name].as_str();
    calendars.for_item(text("department"), text("brand"))
}

/// When an item anchored at `anchor` comes due for `plan` (`calendar` for a
/// business-minutes plan); `None` when its calendar never gets there.
fn due_of(plan: &Plan, calendar: Option<&CompiledCalendar>, anchor: i64) -> Option<i64> {
    match calendar {
        None => Some(anchor + plan.offset_ms),
        Some(cal) => jiff::Timestamp::from_millisecond(anchor)
            .ok()
            .and_then(|a| cal.after_business_minutes(a, plan.offset_ms / kinds::MINUTE))
            .map(|t| t.as_millisecond()),
    }
}

/// The item's fields with its event type's minute fields as they are at
/// `at_ms` (business minutes for a business-minutes plan's own measure).
fn fields_at(
    plan: &Plan,
    calendar: Option<&CompiledCalendar>,
    mirror: &Value,
    anchor: i64,
    at_ms: i64,
) -> serde_json::Map<String, Value> {
    let mut fields = mirror["fields"].as_object().cloned().unwrap_or_default();
    for (field, minutes) in plan.kind.minutes_at(mirror, at_ms) {
        fields.insert(field.to_string(), minutes.into());
    }
    let instant = |ms| jiff::Timestamp::from_millisecond(ms).ok();
    if let (Some(cal), Some(a), Some(b)) = (calendar, instant(anchor), instant(at_ms)) {
        let minutes = cal.business_minutes_between(a, b);
        for m in plan.kind.measures {
            if m.direction == kinds::Direction::Since && m.anchor == plan.anchor {
                fields.insert(m.field.to_string(), minutes.into());
            }
        }
    }
    fields
}

/// RFC 3339 text of an instant in ms.
fn timestamp(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .to_string()
}
