//! Storage: one sled database in one data directory (default `./tocsin-data`).
//!
//! Trees: `rules` (see [`crate::rules::repo`]), `events` (id → event JSON), `mail`
//! (queued messages from plugins), `commands` (queued help-desk commands) and
//! `profiles` (see [`crate::profiles`]); modules keep their own through
//! [`Store::tree`] (`engine`, `canned`).
//! Queue keys are sled's monotonic ids, big-endian, so they sort in order.

use crate::event::Event;
use crate::plugins::bindings::{helpdesk, mail};
use crate::plugins::Outbound;
use anyhow::Context as _;
use serde_json::json;
use std::path::Path;

/// The data directory's database.
#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    events: sled::Tree,
    mail: sled::Tree,
    commands: sled::Tree,
}

impl Store {
    /// Opens (or creates) the store in `dir`.
    pub fn open(dir: &Path) -> anyhow::Result<Store> {
        let db = sled::Config::new()
            .path(dir)
            .mode(sled::Mode::HighThroughput)
            .cache_capacity(256 * 1024 * 1024)
            .open()
            .with_context(|| format!("opening the data directory {}", dir.display()))?;
        Ok(Store {
            events: db.open_tree("events")?,
            mail: db.open_tree("mail")?,
            commands: db.open_tree("commands")?,
            db,
        })
    }

    /// The database itself (for group commit).
    pub fn db(&self) -> &sled::Db {
        &self.db
    }

    /// A named tree of the database, for the modules that own their data.
    pub fn tree(&self, name: &str) -> anyhow::Result<sled::Tree> {
        Ok(self.db.open_tree(name)?)
    }

    /// Makes everything written so far durable.
    pub fn flush(&self) -> anyhow::Result<()> {
        self.db.flush()?;
        Ok(())
    }

    /// Stores an event, assigning an id when it has none; returns the id.
    pub fn record_event(&self, event: &mut Event) -> anyhow::Result<String> {
        let id = match &event.id {
            Some(id) => id.clone(),
            None => format!("ev-{}", self.db.generate_id()?),
        };
        event.id = Some(id.clone());
        self.events
            .insert(id.as_bytes(), serde_json::to_vec(event)?)?;
        self.db.flush()?;
        Ok(id)
    }

    /// Number of stored events.
    pub fn event_count(&self) -> usize {
        self.events.len()
    }

    /// Queued mail, oldest first, as JSON.
    pub fn queued_mail(&self) -> anyhow::Result<Vec<serde_json::Value>> {
        read_queue(&self.mail)
    }

    /// The `mail` tree itself, for the mail outbox that delivers it.
    pub fn mail_queue(&self) -> &sled::Tree {
        &self.mail
    }

    /// Queued help-desk commands, oldest first, as JSON.
    pub fn queued_commands(&self) -> anyhow::Result<Vec<serde_json::Value>> {
        read_queue(&self.commands)
    }

    fn enqueue(
        &self,
        tree: &sled::Tree,
        prefix: &str,
        value: serde_json::Value,
    ) -> anyhow::Result<String> {
        let n = self.db.generate_id()?;
        let id = format!("{prefix}-{n}");
        let mut value = value;
        value["id"] = json!(id);
        tree.insert(n.to_be_bytes(), serde_json::to_vec(&value)?)?;
        self.db.flush()?;
        Ok(id)
    }
}

fn read_queue(tree: &sled::Tree) -> anyhow::Result<Vec<serde_json::Value>> {
    tree.iter()
        .values()
        .map(|v| Ok(serde_json::from_slice(&v?)?))
        .collect()
}

impl Outbound for Store {
    fn queue_mail(
        &self,
        plugin: &str,
        invocation: &str,
        m: &mail::Message,
    ) -> anyhow::Result<String> {
        self.enqueue(
            &self.mail,
            "mail",
            json!({
                "plugin": plugin, "invocation": invocation,
                "to": m.to, "cc": m.cc, "bcc": m.bcc, "reply_to": m.reply_to,
                "subject": m.subject, "text": m.text, "html": m.html,
                "status": "queued", "attempts": 0, "due_ms": 0,
            }),
        )
    }

    fn submit_command(
        &self,
        plugin: &str,
        invocation: &str,
        c: &helpdesk::Command,
    ) -> anyhow::Result<String> {
        let arguments: serde_json::Value = serde_json::from_str(&c.arguments)?;
        self.enqueue(
            &self.commands,
            "cmd",
            json!({
                "plugin": plugin, "invocation": invocation,
                "item_kind": c.item_kind, "item_id": c.item_id,
                "name": c.name, "arguments": arguments,
            }),
        )
    }

    fn profile(
        &self,
        agent: &str,
        name: Option<&str>,
    ) -> anyhow::Result<Option<crate::profiles::Profile>> {
        let profiles = crate::profiles::Profiles::open(self)?;
        Ok(match name {
            Some(name) => profiles.get(agent, name)?,
            None => profiles.default_for(agent)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queues_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path()).unwrap();
            let cmd = helpdesk::Command {
                item_kind: "ticket".into(),
                item_id: "7".into(),
                name: "set-status".into(),
                arguments: r#"{"status":"closed"}"#.into(),
            };
            let a = store.submit_command("p", "inv-1", &cmd).unwrap();
            let b = store.submit_command("p", "inv-2", &cmd).unwrap();
            assert_ne!(a, b);
        }
        let store = Store::open(dir.path()).unwrap();
        let cmds = store.queued_commands().unwrap();
        assert_eq!(cmds.len(), 2);
        assert_eq!(cmds[0]["invocation"], "inv-1");
        assert_eq!(cmds[1]["arguments"]["status"], "closed");
    }
}
