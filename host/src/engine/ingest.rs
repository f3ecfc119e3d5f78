//! Ingestion: validate, update the item mirror, match, gate each action,
//! enqueue jobs, audit; acknowledged after a shared flush. A help desk's
//! event is stored key by key with its event record last (see
//! [`super::writes`]); a scheduler's or follow-on event, which carries a write
//! of its own (a cursor, an owed record), or one that writes a frequency
//! window, in one atomic batch. Also ends coalescing windows (their waiting
//! items become one job).

use super::audit::{self, Entry, Record};
use super::gate::{self, Decision, Window};
use super::outbox::Job;
use super::writes::Writes;
use super::{keys, Engine, Inner};
use crate::catalog::catalog;
use crate::event::{Event, EventError, ItemSnapshot};
use crate::rules::{OnSuppressed, RuleMode};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::HashMap;

/// What ingesting an event did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IngestResult {
    /// The event's id (assigned when it had none).
    pub event: String,
    /// Rules that matched, in order.
    pub matched: Vec<String>,
    /// Jobs enqueued (invocation ids).
    pub jobs: Vec<String>,
    /// Gate decisions that suppressed an invocation.
    pub suppressed: usize,
    /// True when the idempotency key was seen before: nothing new was done
    /// and this is the first ingestion's result.
    #[serde(default)]
    pub duplicate: bool,
}

/// Why an event was refused.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The event is malformed or not in the catalog.
    #[error(transparent)]
    Invalid(#[from] EventError),
    /// Storage failed; nothing was acknowledged.
    #[error("storing the event failed: {0:#}")]
    Storage(#[from] anyhow::Error),
}

fn item_key(item: &ItemSnapshot) -> String {
    format!("{}/{}", item.kind, item.id)
}

/// Checks an event as ingestion does: its own checks ([`Event::validate`]),
/// then its category and event type against the catalog. Needs no engine, so
/// the API can refuse a batch before storing any of it.
pub fn check(event: &Event) -> Result<(), EventError> {
    event.validate()?;
    let err = |field: &str, problem: String| EventError {
        field: field.into(),
        problem,
    };
    let Some(category) = catalog().category(&event.category) else {
        let ids: Vec<&str> = catalog().categories().iter().map(|c| c.id).collect();
        return Err(err(
            "category",
            format!(
                "{:?} is not a category; use one of: {}",
                event.category,
                ids.join(", ")
            ),
        ));
    };
    if category.event_type(&event.event_type).is_none() {
        let ids: Vec<&str> = category.event_types.iter().map(|t| t.id.as_str()).collect();
        return Err(err(
            "event_type",
            format!(
                "{:?} is not an event type of {}; use one of: {}",
                event.event_type,
                category.id,
                ids.join(", ")
            ),
        ));
    }
    Ok(())
}

/// A finished batch, the jobs it enqueues and the windows now coalescing.
type Finished = (Writes, Vec<Job>, Vec<(i64, Vec<u8>)>);

/// What ingestion computes before taking the lock.
struct Prepared {
    /// The event's write.
    writes: Vec<(Vec<u8>, Vec<u8>)>,
    /// The item-mirror writes (the time indexes follow them under the lock).
    items: Vec<(Vec<u8>, serde_json::Value)>,
    /// The rules that fire, in order.
    firings: Vec<Planned>,
}

/// One rule that fires, with its items and the explain of its conditions.
struct Planned {
    rule: std::sync::Arc<crate::rules::validate::CheckedRule>,
    items: Vec<usize>,
    explain: serde_json::Value,
}

/// A batch being built, with the audit records' sequence numbers.
struct Pending<'a> {
    inner: &'a Inner,
    batch: Writes,
    now: i64,
    jobs: Vec<Job>,
    coalescing: Vec<(i64, Vec<u8>)>,
    records: Vec<Record>,
}

impl<'a> Pending<'a> {
    fn new(inner: &'a Inner, now: i64) -> Self {
        Pending {
            inner,
            batch: Writes::default(),
            now,
            jobs: Vec::new(),
            coalescing: Vec::new(),
            records: Vec::new(),
        }
    }

    fn audit(&mut self, event: &str, entry: Entry) -> anyhow::Result<()> {
        self.records.push(Record {
            seq: self.inner.next_id()?,
            event: event.to_string(),
            at_ms: self.now,
            entry,
        });
        Ok(())
    }

    /// The batch with the audit records added.
    fn finish(mut self) -> anyhow::Result<Finished> {
        audit::write(&mut self.batch, &self.records)?;
        Ok((self.batch, self.jobs, self.coalescing))
    }

    fn job(&mut self, mut job: Job) -> anyhow::Result<String> {
        job.n = self.inner.next_id()?;
        self.batch
            .insert(keys::job(job.n), serde_json::to_vec(&job)?);
        let id = job.invocation_id();
        self.jobs.push(job);
        Ok(id)
    }
}

impl Engine {
    /// Ingests an event from the help desk (cascade depth 0).
    pub async fn ingest(&self, event: Event) -> Result<IngestResult, IngestError> {
        self.inner.ingest(event, 0, None).await
    }

    /// Ends every coalescing window that is due: its waiting items become one
    /// job. Returns how many jobs were made. The worker loop calls this.
    pub async fn end_windows(&self) -> anyhow::Result<usize> {
        self.inner.end_windows().await
    }
}

impl Inner {
    /// Ingests an event; with `only`, the one rule it may fire (a manual run).
    pub(super) async fn ingest(
        &self,
        event: Event,
        depth: u32,
        only: Option<&str>,
    ) -> Result<IngestResult, IngestError> {
        self.ingest_with(event, depth, only, depth == 0, Vec::new())
            .await
    }

    /// Ingests an event. `only`: the one rule it may fire; `mirror`: whether
    /// its snapshots replace the item mirror (see [`Inner::prepare`]);
    /// `writes` (`None`: remove the key) must be stored with the event, all
    /// or nothing (the scheduler's cursor, from [`Engine::ingest_scheduled`];
    /// an owed record): with any, or when a frequency window is written,
    /// everything goes in one atomic batch; otherwise key by key with the
    /// event record last.
    pub(super) async fn ingest_with(
        &self,
        mut event: Event,
        depth: u32,
        only: Option<&str>,
        mirror: bool,
        writes: Vec<(Vec<u8>, Option<Vec<u8>>)>,
    ) -> Result<IngestResult, IngestError> {
        check(&event)?;
        // A flush due while this event is decided waits for it (briefly).
        let arrival = self.commit.begin();
        // A write of the caller's must be all or nothing with the event.
        let atomic = !writes.is_empty();
        // Everything that needs no lock happens first, so concurrent events
        // overlap: the id, serialization, matching and explain.
        if event.id.is_none() {
            event.id = Some(format!("ev-{:016x}", self.next_id()?));
        }
        let now = self.clock.now_ms();
        let prepared = self.prepare(&event, now, only, mirror)?;
        let (result, pending) = {
            let _one_at_a_time = self.decide.lock().await;
            if let Some(key) = &event.idempotency_key {
                if let Some(mut result) = self.first_result(key)? {
                    result.duplicate = true;
                    drop(_one_at_a_time);
                    // The first ingestion may still be waiting for its flush.
                    arrival.durable().await?;
                    return Ok(result);
                }
            }
            let mut p = Pending::new(self, now);
            let result = self.decide_event(&event, depth, prepared, &mut p)?;
            for (k, v) in writes {
                match v {
                    Some(v) => p.batch.insert(k, v),
                    None => p.batch.remove(k),
                }
            }
            let (batch, jobs, coalescing) = p.finish()?;
            // A frequency window must not outlive a cut ingestion (see
            // `writes`): an event that writes one goes in one batch.
            let stored = if atomic || batch.touches(b"win/") {
                self.tree.apply_batch(batch.into_batch())
            } else {
                batch.apply_ordered(&self.tree, &keys::event(&result.event))
            };
            stored.map_err(anyhow::Error::from)?;
            (result, (jobs, coalescing))
        };
        arrival.durable().await?;
        self.enqueue(pending.0, pending.1);
        Ok(result)
    }

    /// The result of the first ingestion with idempotency key `key`, when
    /// that ingestion finished storing its event. An idempotency record
    /// whose event record is missing was left by an ingestion the process
    /// stopped in (it wrote its keys one by one, the event record last, and
    /// never returned success): the event is ingested anew.
    fn first_result(&self, key: &str) -> anyhow::Result<Option<IngestResult>> {
        let Some(first) = self.tree.get(keys::idempotency(key))? else {
            return Ok(None);
        };
        let result: IngestResult = serde_json::from_slice(&first)?;
        if !self.tree.contains_key(keys::event(&result.event))? {
            tracing::warn!(
                idempotency_key = key,
                event = %result.event,
                "an earlier ingestion with this idempotency key stopped before storing its event; ingesting again"
            );
            return Ok(None);
        }
        Ok(Some(result))
    }

    fn enqueue(&self, jobs: Vec<Job>, coalescing: Vec<(i64, Vec<u8>)>) {
        if !jobs.is_empty() {
            let mut q = self.queue.lock().expect("queue lock");
            for job in &jobs {
                q.due.insert((job.due_ms, job.n));
            }
        }
        if !coalescing.is_empty() {
            self.coalescing
                .lock()
                .expect("coalescing lock")
                .extend(coalescing);
        }
        self.wake.notify_one();
    }

    /// The parts of ingestion that need no lock. With `only`, just that
    /// rule may fire.
    /// `mirror`: whether the event's item snapshots replace the item mirror.
    /// A help desk's event does; a follow-on event does not, since the
    /// command that caused it already changed the mirror, and a later
    /// command of the same run may have changed it again since; nor does a
    /// scheduler's, whose snapshot came from the mirror.
    fn prepare(
        &self,
        event: &Event,
        now: i64,
        only: Option<&str>,
        mirror: bool,
    ) -> anyhow::Result<Prepared> {
        let id = event.id.clone().unwrap_or_default();
        let writes = vec![(keys::event(&id), serde_json::to_vec(event)?)];
        let mut items = Vec::new();
        for item in event.items.iter().filter(|_| mirror) {
            items.push((
                keys::item(&item.kind, &item.id),
                json!({
                    "kind": item.kind, "id": item.id, "fields": item.fields,
                    "event": id, "updated_ms": now,
                }),
            ));
        }
        let matcher = self.matcher.read().expect("matcher lock");
        let at = event.at();
        let mut firings = Vec::new();
        for firing in matcher.matches(event, at) {
            if only.is_some_and(|id| id != firing.rule.rule.id) {
                continue;
            }
            let explain = matcher.explain_rule(firing.rule, event, at);
            firings.push(Planned {
                rule: firing.rule.clone(),
                items: firing.items.to_vec(),
                explain: serde_json::to_value(&explain.items)?,
            });
        }
        Ok(Prepared {
            writes,
            items,
            firings,
        })
    }

    /// Everything ingestion decides, written into `p`'s batch.
    fn decide_event(
        &self,
        event: &Event,
        depth: u32,
        prepared: Prepared,
        p: &mut Pending<'_>,
    ) -> anyhow::Result<IngestResult> {
        let id = event.id.clone().unwrap_or_default();
        for (k, v) in prepared.writes {
            p.batch.insert(k, v);
        }
        let kept = self.kept();
        for (k, mirror) in prepared.items {
            let old: Option<serde_json::Value> = match self.tree.get(&k)? {
                Some(v) => serde_json::from_slice(&v).ok(),
                None => None,
            };
            crate::scheduler::reindex(&mut p.batch, old.as_ref(), &mirror, &kept);
            p.batch.insert(k, serde_json::to_vec(&mirror)?);
        }
        p.audit(
            &id,
            Entry::Event {
                category: event.category.clone(),
                event_type: event.event_type.clone(),
                items: event.items.iter().map(item_key).collect(),
                depth,
            },
        )?;
        let mut result = IngestResult {
            event: id.clone(),
            matched: Vec::new(),
            jobs: Vec::new(),
            suppressed: 0,
            duplicate: false,
        };
        // Windows changed earlier in this same event.
        let mut windows: HashMap<Vec<u8>, Option<Window>> = HashMap::new();
        for firing in prepared.firings {
            let checked = &firing.rule;
            let rule = &checked.rule;
            let matched: Vec<&ItemSnapshot> =
                firing.items.iter().map(|&i| &event.items[i]).collect();
            if let Some(alert) = self.runaway(&rule.id, &matched, p.now) {
                self.disable_runaway(&rule.id, &alert, &id, p)?;
                continue;
            }
            result.matched.push(rule.id.clone());
            p.audit(
                &id,
                Entry::Matched {
                    rule: rule.id.clone(),
                    items: matched.iter().map(|i| item_key(i)).collect(),
                    explain: firing.explain,
                },
            )?;
            for (index, action) in rule.actions.iter().enumerate() {
                let groups: Vec<(String, Vec<ItemSnapshot>)> = match action.mode {
                    RuleMode::Digest => vec![(
                        "*".to_string(),
                        matched.iter().map(|i| (*i).clone()).collect(),
                    )],
                    RuleMode::PerItem => matched
                        .iter()
                        .map(|i| (item_key(i), vec![(*i).clone()]))
                        .collect(),
                };
                for (scope, items) in groups {
                    let decision = match checked.windows.get(index).copied().flatten() {
                        None => Decision::Run { until_ms: None },
                        Some(window) => {
                            let key = keys::window(&rule.id, index, &scope);
                            let state = match windows.get(&key) {
                                Some(s) => s.clone(),
                                None => match self.tree.get(&key)? {
                                    Some(v) => Some(serde_json::from_slice(&v)?),
                                    None => None,
                                },
                            };
                            let coalesce = action.on_suppressed == OnSuppressed::Coalesce;
                            let (decision, new_state) = gate::decide(
                                state,
                                p.now,
                                window.as_millis() as i64,
                                coalesce,
                                &items,
                                &id,
                            );
                            if let Some(w) = new_state {
                                p.batch.insert(key.clone(), serde_json::to_vec(&w)?);
                                if !w.pending.is_empty() {
                                    p.coalescing.push((w.until_ms, key.clone()));
                                }
                                windows.insert(key, Some(w));
                            }
                            decision
                        }
                    };
                    let job = match decision {
                        Decision::Run { .. } => Some(p.job(Job {
                            n: 0,
                            event: id.clone(),
                            rule: rule.id.clone(),
                            rule_name: rule.name.clone(),
                            owner: rule.owner.clone(),
                            action_index: index,
                            action: action.clone(),
                            items: items.clone(),
                            attempts: 0,
                            first_due_ms: p.now,
                            due_ms: p.now,
                            depth,
                            coalesced: false,
                            delivery: None,
                            last_error: None,
                        })?),
                        Decision::Suppressed { .. } => {
                            result.suppressed += 1;
                            None
                        }
                    };
                    if let Some(j) = &job {
                        result.jobs.push(j.clone());
                    }
                    p.audit(
                        &id,
                        Entry::Gate {
                            rule: rule.id.clone(),
                            action_index: index,
                            plugin: action.plugin.clone(),
                            items: items.iter().map(item_key).collect(),
                            decision,
                            job,
                        },
                    )?;
                }
            }
        }
        if let Some(key) = &event.idempotency_key {
            p.batch
                .insert(keys::idempotency(key), serde_json::to_vec(&result)?);
        }
        Ok(result)
    }

    /// Counts a firing for each item; returns an alert when the rule fired
    /// more than the limit for one item within the window.
    fn runaway(&self, rule: &str, items: &[&ItemSnapshot], now: i64) -> Option<String> {
        let mut recent = self.recent.lock().expect("recent lock");
        let (limit, window) = (self.config.runaway_limit, self.config.runaway_window_ms);
        for item in items {
            let times = recent
                .entry((rule.to_string(), item_key(item)))
                .or_default();
            while times.front().is_some_and(|&t| t <= now - window) {
                times.pop_front();
            }
            times.push_back(now);
            if times.len() > limit {
                return Some(format!(
                    "rule {rule} fired {} times for {} within {} s (limit {limit}); it was disabled",
                    times.len(),
                    item_key(item),
                    window / 1000
                ));
            }
        }
        None
    }

    fn disable_runaway(
        &self,
        rule: &str,
        message: &str,
        event: &str,
        p: &mut Pending<'_>,
    ) -> anyhow::Result<()> {
        tracing::warn!("{message}");
        self.repo.set_enabled(rule, false)?;
        // The matcher is read-locked by the caller; the rule leaves it once
        // this event is done (see `forget_disabled`).
        p.batch.insert(
            keys::alert(self.next_id()?),
            serde_json::to_vec(
                &json!({"at_ms": p.now, "rule": rule, "event": event, "message": message}),
            )?,
        );
        p.audit(
            event,
            Entry::Alert {
                rule: Some(rule.to_string()),
                message: message.to_string(),
            },
        )?;
        self.disabled
            .lock()
            .expect("disabled lock")
            .push(rule.to_string());
        Ok(())
    }

    /// Removes rules disabled as runaway from the matcher.
    pub(super) fn forget_disabled(&self) {
        let gone: Vec<String> = std::mem::take(&mut *self.disabled.lock().expect("disabled lock"));
        if !gone.is_empty() {
            let mut m = self.matcher.write().expect("matcher lock");
            for id in gone {
                m.remove(&id);
            }
        }
    }

    pub(super) async fn end_windows(&self) -> anyhow::Result<usize> {
        let now = self.clock.now_ms();
        let due: Vec<(i64, Vec<u8>)> = {
            let mut c = self.coalescing.lock().expect("coalescing lock");
            let later = c.split_off(&(now + 1, Vec::new()));
            std::mem::replace(&mut *c, later).into_iter().collect()
        };
        if due.is_empty() {
            return Ok(0);
        }
        let (jobs, coalescing) = {
            let _one_at_a_time = self.decide.lock().await;
            let mut p = Pending::new(self, now);
            for (_, key) in due {
                let Some(v) = self.tree.get(&key)? else {
                    continue;
                };
                let w: Window = serde_json::from_slice(&v)?;
                if w.pending.is_empty() || w.until_ms > now {
                    if !w.pending.is_empty() {
                        p.coalescing.push((w.until_ms, key));
                    }
                    continue;
                }
                let text = String::from_utf8_lossy(&key).to_string();
                let mut parts = text.trim_start_matches("win/").splitn(3, '/');
                let (Some(rule_id), Some(index)) = (parts.next(), parts.next()) else {
                    continue;
                };
                let index: usize = index.parse().unwrap_or(usize::MAX);
                let event = w.pending_event.clone().unwrap_or_default();
                let Ok(rule) = self.repo.get(rule_id) else {
                    // The rule is gone: its waiting items have nowhere to go.
                    p.batch.remove(key);
                    continue;
                };
                let Some(action) = rule.actions.get(index) else {
                    p.batch.remove(key);
                    continue;
                };
                let job_id = p.job(Job {
                    n: 0,
                    event: event.clone(),
                    rule: rule.id.clone(),
                    rule_name: rule.name.clone(),
                    owner: rule.owner.clone(),
                    action_index: index,
                    action: action.clone(),
                    items: w.pending.clone(),
                    attempts: 0,
                    first_due_ms: now,
                    due_ms: now,
                    depth: 0,
                    coalesced: true,
                    delivery: None,
                    last_error: None,
                })?;
                // Delivering counts as the window's invocation: a new window opens.
                let span = crate::rules::validate::parse_window(
                    action.max_frequency.as_deref().unwrap_or("1s"),
                )
                .map(|d| d.as_millis() as i64)
                .unwrap_or(1_000);
                let reopened = Window {
                    until_ms: now + span,
                    pending: Vec::new(),
                    pending_event: None,
                };
                p.batch.insert(key, serde_json::to_vec(&reopened)?);
                p.audit(
                    &event,
                    Entry::Gate {
                        rule: rule.id.clone(),
                        action_index: index,
                        plugin: action.plugin.clone(),
                        items: w.pending.iter().map(item_key).collect(),
                        decision: Decision::Run {
                            until_ms: Some(now + span),
                        },
                        job: Some(job_id),
                    },
                )?;
            }
            let (batch, jobs, coalescing) = p.finish()?;
            self.tree.apply_batch(batch.into_batch())?;
            (jobs, coalescing)
        };
        self.commit.durable().await?;
        let n = jobs.len();
        self.enqueue(jobs, coalescing);
        Ok(n)
    }
}
