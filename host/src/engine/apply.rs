//! What a job's help-desk commands do once its invocation ends: a
//! `send-canned-reply` gets its canned reply rendered for its ticket, and
//! each command updates the item mirror and yields its follow-on event.

use super::connector::CONNECTOR;
use super::outbox::Job;
use super::worker::rule_of;
use super::{commands, keys, Inner};
use crate::canned::{self, CannedError};
use crate::event::{Event, ItemSnapshot};
use crate::plugins::bindings::helpdesk;
use crate::templates;
use serde_json::{json, Map, Value};
use std::collections::HashMap;

impl Inner {
    /// Renders the canned reply of each `send-canned-reply` command for the
    /// ticket it goes to (same context as the action's settings, with that
    /// ticket as `item`) and puts the text in the command's arguments,
    /// `subject`, `body` and `html` next to `canned-reply`, so the help desk
    /// receives what to send. The inner error is why the job fails: the
    /// canned reply was deleted since the command was submitted, or one of
    /// its templates fails to render.
    pub(super) fn render_canned(
        &self,
        job: &Job,
        event: &Event,
        commands: Vec<helpdesk::Command>,
    ) -> anyhow::Result<Result<Vec<helpdesk::Command>, String>> {
        let mut out = Vec::with_capacity(commands.len());
        for mut c in commands {
            let Ok(mut args) = serde_json::from_str::<Map<String, Value>>(&c.arguments) else {
                out.push(c);
                continue;
            };
            let fail = |e: &dyn std::fmt::Display| {
                format!(
                    "canned reply not sent: help-desk command `{}` for {} {}: {e}",
                    c.name, c.item_kind, c.item_id
                )
            };
            let Some(id) = canned::requested(&c.name, &args) else {
                out.push(c);
                continue;
            };
            let reply = match self.sink.canned().get(id) {
                Ok(reply) => reply,
                Err(e @ CannedError::NotFound { .. }) => {
                    return Ok(Err(fail(&format!(
                        "{e} (it was deleted after the command was submitted)"
                    ))))
                }
                Err(e) => return Err(e.into()),
            };
            // The ticket as the rule saw it, or else as the mirror has it (a
            // plugin may send to another ticket than the event's).
            let item = match job
                .items
                .iter()
                .find(|i| i.kind == c.item_kind && i.id == c.item_id)
            {
                Some(item) => item.clone(),
                None => {
                    let fields = match self.tree.get(keys::item(&c.item_kind, &c.item_id))? {
                        Some(v) => serde_json::from_slice::<Value>(&v)?["fields"]
                            .as_object()
                            .cloned()
                            .unwrap_or_default(),
                        None => Map::new(),
                    };
                    ItemSnapshot {
                        kind: c.item_kind.clone(),
                        id: c.item_id.clone(),
                        fields,
                    }
                }
            };
            let context =
                templates::context(event, std::slice::from_ref(&item), &rule_of(job, event));
            let rendered = match reply.render(&context) {
                Ok(r) => r,
                Err(e) => return Ok(Err(fail(&e))),
            };
            for (key, text) in [
                ("subject", rendered.subject),
                ("body", Some(rendered.body)),
                ("html", rendered.html),
            ] {
                match text {
                    Some(text) => args.insert(key.to_string(), Value::String(text)),
                    None => args.remove(key),
                };
            }
            c.arguments = Value::Object(args).to_string();
            out.push(c);
        }
        Ok(Ok(out))
    }

    /// Applies an invocation's commands to the item mirror, lists them for
    /// the connector, and returns the follow-on events they cause. Called
    /// under the decision lock, which is held until the batch is stored.
    pub(super) fn apply_commands(
        &self,
        job: &Job,
        invocation: &str,
        commands: &[helpdesk::Command],
        now: i64,
        batch: &mut super::writes::Writes,
        deliveries: &mut Vec<Job>,
    ) -> anyhow::Result<Vec<Event>> {
        let mut follow_ons = Vec::new();
        // Mirrors changed by earlier commands of this invocation (the batch
        // is not applied yet): a second command on an item builds on the first.
        let mut touched: HashMap<Vec<u8>, Value> = HashMap::new();
        let kept = self.kept();
        for c in commands {
            let arguments: Value = serde_json::from_str(&c.arguments).unwrap_or(Value::Null);
            let Some(args) = arguments.as_object() else {
                continue;
            };
            let key = keys::item(&c.item_kind, &c.item_id);
            let mirror: Option<Value> = match touched.get(&key) {
                Some(m) => Some(m.clone()),
                None => match self.tree.get(&key)? {
                    Some(v) => Some(serde_json::from_slice(&v)?),
                    None => None,
                },
            };
            let current = mirror
                .as_ref()
                .and_then(|m| m["fields"].as_object())
                .cloned();
            // Checked when submitted; the item may have changed since. A
            // command that no longer applies is neither recorded nor delivered.
            let applied =
                match commands::check(&c.item_kind, &c.item_id, &c.name, args, current.as_ref()) {
                    Ok(applied) => applied,
                    Err(e) => {
                        tracing::warn!(invocation, "command not applied: {e}");
                        continue;
                    }
                };
            let seq = self.next_id()?;
            let command = json!({
                "id": format!("cmd-{seq:016x}"),
                "invocation": invocation, "plugin": job.action.plugin, "rule": job.rule,
                "item_kind": c.item_kind, "item_id": c.item_id,
                "name": c.name, "arguments": arguments, "at_ms": now,
            });
            batch.insert(keys::command(seq), serde_json::to_vec(&command)?);
            if self.config.connector.is_some() {
                let delivery = Job {
                    n: self.next_id()?,
                    event: job.event.clone(),
                    rule: job.rule.clone(),
                    rule_name: job.rule_name.clone(),
                    owner: job.owner.clone(),
                    action_index: job.action_index,
                    action: crate::rules::RuleAction {
                        plugin: CONNECTOR.to_string(),
                        action: c.name.clone(),
                        mode: crate::rules::RuleMode::Digest,
                        max_frequency: None,
                        on_suppressed: Default::default(),
                        settings: Default::default(),
                    },
                    items: Vec::new(),
                    attempts: 0,
                    first_due_ms: now,
                    due_ms: now,
                    depth: job.depth,
                    coalesced: false,
                    delivery: Some(command.clone()),
                    last_error: None,
                };
                batch.insert(keys::job(delivery.n), serde_json::to_vec(&delivery)?);
                deliveries.push(delivery);
            }
            let (kind, id, mut fields) = match applied.creates {
                Some(kind) => (
                    kind.to_string(),
                    format!("{kind}-{seq:x}"),
                    serde_json::Map::new(),
                ),
                None => (
                    c.item_kind.clone(),
                    c.item_id.clone(),
                    current.unwrap_or_default(),
                ),
            };
            let mut old_values = serde_json::Map::new();
            for (field, value) in &applied.changes {
                old_values.insert(
                    field.clone(),
                    fields.get(field).cloned().unwrap_or(Value::Null),
                );
                fields.insert(field.clone(), value.clone());
            }
            if !applied.changes.is_empty() {
                let mut mirror = match (applied.creates, mirror) {
                    (None, Some(m)) => m,
                    _ => json!({"kind": kind, "id": id}),
                };
                mirror["fields"] = Value::Object(fields.clone());
                mirror["updated_ms"] = json!(now);
                let key = keys::item(&kind, &id);
                let old = match touched.get(&key) {
                    Some(m) => Some(m.clone()),
                    None => match self.tree.get(&key)? {
                        Some(v) => serde_json::from_slice(&v).ok(),
                        None => None,
                    },
                };
                crate::scheduler::reindex(batch, old.as_ref(), &mirror, &kept);
                batch.insert(key.clone(), serde_json::to_vec(&mirror)?);
                touched.insert(key, mirror);
            }
            let Some(follow_on) = applied.follow_on else {
                continue;
            };
            if applied.creates.is_some() {
                old_values.clear();
            }
            follow_ons.push(Event {
                id: None,
                category: follow_on.category.to_string(),
                event_type: follow_on.event_type.to_string(),
                occurred_at: jiff::Timestamp::from_millisecond(now)
                    .unwrap_or_else(|_| jiff::Timestamp::now())
                    .to_string(),
                agent: None,
                old_values,
                items: vec![ItemSnapshot { kind, id, fields }],
                idempotency_key: None,
            });
        }
        // A follow-on event is ingested after the whole invocation, and its
        // snapshot replaces the mirror: it carries the item as the last
        // command left it (its old values say what its own command changed).
        for event in &mut follow_ons {
            for item in &mut event.items {
                if let Some(fields) = touched
                    .get(&keys::item(&item.kind, &item.id))
                    .and_then(|m| m["fields"].as_object())
                {
                    item.fields = fields.clone();
                }
            }
        }
        Ok(follow_ons)
    }
}
