//! Workers: run due jobs with a per-plugin concurrency limit; on a retryable
//! failure try again later with exponential backoff and jitter (never sooner
//! than the plugin's retry-after) until the horizon; a permanent failure or an
//! exhausted job goes to the dead-letter list, from which it can be replayed.
//! After an invocation, the help-desk commands it submitted update the item
//! mirror, are listed for pulling, are delivered to the connector (when one is
//! configured) as jobs of their own, and emit follow-on events. A
//! `send-canned-reply` command first gets its canned reply rendered for its
//! ticket; when that fails the job is dead-lettered instead. Follow-on events
//! are written with the job's end as owed (`owed/`) and ingested after it,
//! so a crash in between delays them to the next start but never loses them;
//! a follow-on event beyond the cascade depth is alerted in that same batch.

use super::audit::{self, Entry, Record};
use super::connector;
use super::outbox::{backoff_ms, Job, OwedEvent};
use super::{keys, Engine, IngestError, Inner};
use crate::dispatch::{wit_event, wit_item};
use crate::event::Event;
use crate::plugins::bindings::{Invocation, Mode, RuleRef};
use crate::plugins::InvokeError;
use crate::rules::Rule;
use crate::templates;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Instant;

/// The rule a job belongs to, as templates see it (`rule.id`, `rule.name`,
/// `rule.owner`).
pub(super) fn rule_of(job: &Job, event: &Event) -> Rule {
    Rule {
        id: job.rule.clone(),
        name: job.rule_name.clone(),
        enabled: true,
        owner: job.owner.clone(),
        folder: String::new(),
        category: event.category.clone(),
        event_type: event.event_type.clone(),
        position: 0,
        stop_processing: false,
        conditions: Vec::new(),
        actions: Vec::new(),
        business_minutes: false,
    }
}

/// How an attempt ended.
enum Ending {
    Done(String),
    Retry(String, i64),
    Dead(String),
}

impl Engine {
    /// Runs every job due now (and ends due coalescing windows first); returns
    /// when they have finished, with the time the next job is due, if any.
    pub async fn run_due(&self) -> Option<i64> {
        // Follow-on events a crash left owed (read at open) come first.
        let owed = std::mem::take(&mut *self.inner.owed.lock().expect("owed lock"));
        for record in owed {
            self.inner.ingest_owed(record).await;
        }
        if let Err(e) = self.inner.end_windows().await {
            tracing::error!("ending coalescing windows: {e:#}");
        }
        self.inner.forget_disabled();
        let now = self.inner.clock.now_ms();
        let due: Vec<u64> = {
            let mut q = self.inner.queue.lock().expect("queue lock");
            let ready: Vec<(i64, u64)> = q
                .due
                .iter()
                .take_while(|(at, _)| *at <= now)
                .filter(|(_, n)| !q.running.contains(n))
                .copied()
                .collect();
            for entry in &ready {
                q.due.remove(entry);
                q.running.insert(entry.1);
            }
            ready.into_iter().map(|(_, n)| n).collect()
        };
        // A rule's actions run in their listed order: jobs of one firing
        // (same event, rule and items) run one after the other, in job order,
        // which is action order; different firings and items run side by side.
        let mut firings: std::collections::BTreeMap<(String, String, String), Vec<u64>> =
            Default::default();
        for n in due {
            let key = match self.inner.tree.get(keys::job(n)) {
                Ok(Some(v)) => match serde_json::from_slice::<Job>(&v) {
                    Ok(job) => (
                        job.event.clone(),
                        job.rule.clone(),
                        job.item_ids().join(","),
                    ),
                    Err(_) => (format!("{n}"), String::new(), String::new()),
                },
                _ => (format!("{n}"), String::new(), String::new()),
            };
            firings.entry(key).or_default().push(n);
        }
        let mut set = tokio::task::JoinSet::new();
        for (_, mut jobs) in firings {
            jobs.sort_unstable();
            let inner = self.inner.clone();
            set.spawn(async move {
                for n in jobs {
                    if let Err(e) = inner.run_job(n).await {
                        tracing::error!("running a job: {e:#}");
                    }
                }
            });
        }
        while set.join_next().await.is_some() {}
        self.inner.forget_disabled();
        let q = self.inner.queue.lock().expect("queue lock");
        let next_job = q.due.first().map(|(at, _)| *at);
        let next_window = self
            .inner
            .coalescing
            .lock()
            .expect("coalescing lock")
            .first()
            .map(|(at, _)| *at);
        next_job.into_iter().chain(next_window).min()
    }

    /// Moves a dead-lettered job back to the outbox, due now, with a fresh
    /// retry horizon. Returns its invocation id.
    pub async fn replay(&self, job: u64) -> anyhow::Result<String> {
        let inner = &self.inner;
        let Some(v) = inner.tree.get(keys::dead(job))? else {
            anyhow::bail!("job {job:016x} is not in the dead-letter list");
        };
        let mut job: Job = serde_json::from_slice(&v)?;
        let now = inner.clock.now_ms();
        job.due_ms = now;
        job.first_due_ms = now;
        let mut batch = sled::Batch::default();
        batch.remove(keys::dead(job.n));
        batch.insert(keys::job(job.n), serde_json::to_vec(&job)?);
        inner.tree.apply_batch(batch)?;
        inner.commit.durable().await?;
        inner
            .queue
            .lock()
            .expect("queue lock")
            .due
            .insert((job.due_ms, job.n));
        inner.wake.notify_one();
        Ok(job.invocation_id())
    }
}

impl Inner {
    async fn run_job(self: &Arc<Self>, n: u64) -> anyhow::Result<()> {
        let result = self.attempt(n).await;
        self.queue.lock().expect("queue lock").running.remove(&n);
        result
    }

    async fn attempt(self: &Arc<Self>, n: u64) -> anyhow::Result<()> {
        let Some(v) = self.tree.get(keys::job(n))? else {
            return Ok(());
        };
        let mut job: Job = serde_json::from_slice(&v)?;
        let event: Event = match self.tree.get(keys::event(&job.event))? {
            Some(v) => serde_json::from_slice(&v)?,
            None => {
                // Cannot run without its event: park it where an admin sees it.
                job.last_error = Some(format!("its event {} is missing", job.event));
                let mut batch = sled::Batch::default();
                batch.remove(keys::job(n));
                batch.insert(keys::dead(n), serde_json::to_vec(&job)?);
                self.tree.apply_batch(batch)?;
                self.commit.durable().await?;
                anyhow::bail!("job {n:016x}: its event {} is missing", job.event);
            }
        };
        let permit = self.limit(&job.action.plugin).acquire_owned().await?;
        job.attempts += 1;
        let invocation_id = job.invocation_id();
        let started = Instant::now();
        let (ending, settings) = self.invoke(&job, &event, &invocation_id).await;
        drop(permit);
        let duration_ms = started.elapsed().as_millis() as u64;
        let commands = self.sink.take(&invocation_id);
        // A canned reply that cannot be rendered fails the whole job: none of
        // its commands is applied, so a replay (which runs the plugin again
        // and submits them again) does not apply any twice.
        let (ending, commands) = match self.render_canned(&job, &event, commands)? {
            Ok(commands) => (ending, commands),
            Err(why) => {
                tracing::warn!(invocation = %invocation_id, "{why}");
                (Ending::Dead(why), Vec::new())
            }
        };

        let now = self.clock.now_ms();
        let mut batch = super::writes::Writes::default();
        let (outcome, message, retry_at) = match &ending {
            Ending::Done(summary) => {
                batch.remove(keys::job(n));
                ("ok", summary.clone(), None)
            }
            Ending::Retry(why, delay) => {
                let at = now + delay;
                if at > job.first_due_ms + self.config.retry_horizon_ms {
                    let why = format!("gave up after {} attempt(s): {why}", job.attempts);
                    job.last_error = Some(why.clone());
                    batch.remove(keys::job(n));
                    batch.insert(keys::dead(n), serde_json::to_vec(&job)?);
                    ("dead-letter", why, None)
                } else {
                    job.due_ms = at;
                    job.last_error = Some(why.clone());
                    batch.insert(keys::job(n), serde_json::to_vec(&job)?);
                    (
                        "retry",
                        format!("{why}; next attempt in {delay} ms"),
                        Some(at),
                    )
                }
            }
            Ending::Dead(why) => {
                job.last_error = Some(why.clone());
                batch.remove(keys::job(n));
                batch.insert(keys::dead(n), serde_json::to_vec(&job)?);
                ("dead-letter", why.clone(), None)
            }
        };
        if let Some(observe) = self.observer.get() {
            observe(&job.action.plugin, outcome, duration_ms);
        }
        let record = Record {
            seq: self.next_id()?,
            event: job.event.clone(),
            at_ms: now,
            entry: Entry::Attempt {
                rule: job.rule.clone(),
                action_index: job.action_index,
                plugin: job.action.plugin.clone(),
                invocation: invocation_id.clone(),
                attempt: job.attempts,
                items: job
                    .items
                    .iter()
                    .map(|i| format!("{}/{}", i.kind, i.id))
                    .collect(),
                settings,
                outcome: outcome.to_string(),
                message,
                duration_ms,
            },
        };
        audit::write(&mut batch, std::slice::from_ref(&record))?;
        let mut deliveries = Vec::new();
        // Commands change the item mirror: they are applied and stored under
        // the decision lock, like ingestion's mirror writes, so that neither
        // overwrites the other's index and set changes (and so that filling
        // an index, see `scheduler::upkeep`, sees every mirror write).
        let one_at_a_time = if commands.is_empty() {
            None
        } else {
            Some(self.decide.lock().await)
        };
        let follow_ons = self.apply_commands(
            &job,
            &invocation_id,
            &commands,
            now,
            &mut batch,
            &mut deliveries,
        )?;
        // The follow-on events are owed from the moment the item changed:
        // they are durable with this batch, so a crash before their
        // ingestion leaves them for the next start.
        let depth = job.depth + 1;
        let mut owed = Vec::new();
        let mut cut = Vec::new();
        for mut event in follow_ons {
            if depth > self.config.cascade_depth {
                cut.push(event);
                continue;
            }
            let id = format!("ev-{:016x}", self.next_id()?);
            event.id = Some(id.clone());
            let record = OwedEvent { event, depth };
            batch.insert(keys::owed(&id), serde_json::to_vec(&record)?);
            owed.push(record);
        }
        // A cut cascade is alerted in the same batch as the job's end.
        for event in cut {
            self.alert(
                &mut batch,
                Some(&job.rule),
                &job.event,
                format!(
                    "cascade cut: a {} event from rule {} would be at depth {depth}, beyond the limit of {}",
                    event.event_type, job.rule, self.config.cascade_depth
                ),
            )?;
        }
        self.tree.apply_batch(batch.into_batch())?;
        drop(one_at_a_time);
        self.commit.durable().await?;
        if !deliveries.is_empty() {
            let mut q = self.queue.lock().expect("queue lock");
            for d in &deliveries {
                q.due.insert((d.due_ms, d.n));
            }
            self.wake.notify_one();
        }
        if let Some(at) = retry_at {
            self.queue.lock().expect("queue lock").due.insert((at, n));
        }
        for record in owed {
            self.ingest_owed(record).await;
        }
        Ok(())
    }

    /// Ingests an owed follow-on event; its `owed/` record is removed in the
    /// same atomic batch. A storage failure leaves the record for the next
    /// start; an event the catalog refuses is dropped with an error, since it
    /// never will be ingested.
    pub(super) async fn ingest_owed(&self, owed: OwedEvent) {
        let id = owed.event.id.clone().unwrap_or_default();
        let key = keys::owed(&id);
        let result = self
            .ingest_with(
                owed.event,
                owed.depth,
                None,
                false,
                vec![(key.clone(), None)],
            )
            .await;
        match result {
            Ok(_) => {}
            Err(IngestError::Invalid(e)) => {
                tracing::error!(event = %id, "follow-on event refused, dropped: {e}");
                if let Err(e) = self.tree.remove(&key) {
                    tracing::error!(event = %id, "forgetting a refused follow-on event: {e}");
                }
            }
            Err(e) => {
                tracing::error!(event = %id, "follow-on event not ingested, tried again at the next start: {e}");
            }
        }
    }

    /// Renders the settings and invokes the plugin; returns how it ended and
    /// the rendered settings with secrets redacted (for the audit).
    async fn invoke(&self, job: &Job, event: &Event, invocation_id: &str) -> (Ending, Value) {
        if let Some(command) = &job.delivery {
            return (
                self.deliver(job, command, invocation_id).await,
                command.clone(),
            );
        }
        let plugin = &job.action.plugin;
        let installed = self.registry.get(plugin);
        let schema = installed.as_ref().and_then(|i| {
            i.plugin
                .info
                .actions
                .iter()
                .find(|a| a.id == job.action.action)
                .and_then(|a| serde_json::from_str::<Value>(&a.settings_schema).ok())
        });
        let context = templates::context(event, &job.items, &rule_of(job, event));
        let rendered = match templates::render_settings(&job.action.settings, &context) {
            Ok(r) => r,
            Err(e) => {
                let shown = Value::Object(templates::redact(&job.action.settings, schema.as_ref()));
                return (Ending::Dead(format!("template error: {e}")), shown);
            }
        };
        let shown = Value::Object(templates::redact(&rendered, schema.as_ref()));
        let Some(installed) = installed else {
            return (
                Ending::Retry(
                    format!("plugin {plugin} is not installed"),
                    backoff_ms(
                        job.attempts,
                        self.config.backoff_base_ms,
                        self.config.backoff_cap_ms,
                        None,
                    ),
                ),
                shown,
            );
        };
        let invocation = Invocation {
            id: invocation_id.to_string(),
            attempt: job.attempts,
            rule: RuleRef {
                id: job.rule.clone(),
                name: job.rule_name.clone(),
                owner: job.owner.clone(),
            },
            action: job.action.action.clone(),
            action_index: job.action_index as u32,
            mode: Mode::from(job.action.mode),
            settings: Value::Object(rendered).to_string(),
            event: wit_event(event),
            items: job.items.iter().map(wit_item).collect(),
        };
        let result = self
            .registry
            .runtime()
            .invoke(&installed.plugin, installed.grants.clone(), invocation)
            .await;
        let ending = match result {
            Ok(outcome) => Ending::Done(outcome.summary),
            Err(e) if e.retryable() => {
                let retry_after = match &e {
                    InvokeError::Failed { failure, .. } => failure.retry_after_ms,
                    _ => None,
                };
                Ending::Retry(
                    e.to_string(),
                    backoff_ms(
                        job.attempts,
                        self.config.backoff_base_ms,
                        self.config.backoff_cap_ms,
                        retry_after,
                    ),
                )
            }
            Err(e) => Ending::Dead(e.to_string()),
        };
        (ending, shown)
    }

    /// Delivers a command to the connector.
    async fn deliver(&self, job: &Job, command: &Value, delivery: &str) -> Ending {
        let Some(config) = &self.config.connector else {
            return Ending::Dead("no connector is configured any more".into());
        };
        let body = serde_json::to_vec(command).unwrap_or_default();
        match connector::deliver(config, delivery, body).await {
            Ok(summary) => Ending::Done(summary),
            Err(e) if e.retryable => Ending::Retry(
                e.message,
                backoff_ms(
                    job.attempts,
                    self.config.backoff_base_ms,
                    self.config.backoff_cap_ms,
                    e.retry_after_ms,
                ),
            ),
            Err(e) => Ending::Dead(e.message),
        }
    }

    /// Adds an alert, and its audit record, to `batch`.
    fn alert(
        &self,
        batch: &mut super::writes::Writes,
        rule: Option<&str>,
        event: &str,
        message: String,
    ) -> anyhow::Result<()> {
        tracing::warn!("{message}");
        let now = self.clock.now_ms();
        batch.insert(
            keys::alert(self.next_id()?),
            serde_json::to_vec(
                &json!({"at_ms": now, "rule": rule, "event": event, "message": message}),
            )?,
        );
        let record = Record {
            seq: self.next_id()?,
            event: event.to_string(),
            at_ms: now,
            entry: Entry::Alert {
                rule: rule.map(str::to_string),
                message,
            },
        };
        audit::write(batch, std::slice::from_ref(&record))
    }
}
