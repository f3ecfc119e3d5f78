//! What plugins send back through host imports during an invocation, and the
//! notification profiles they may read: mail is queued in the store; help-desk commands are kept per invocation so the
//! engine, once the invocation is over, applies them to the item mirror,
//! emits the follow-on events and lists them for the connector. A
//! `send-canned-reply` command must name a canned reply the host keeps.

use super::commands::CommandError;
use crate::canned::{self, CannedError, CannedReplies};
use crate::plugins::bindings::{helpdesk, mail};
use crate::plugins::Outbound;
use crate::profiles::{Profile, Profiles};
use crate::store::Store;
use std::collections::HashMap;
use std::sync::Mutex;

/// The [`Outbound`] the runtime of an engine is built with.
pub struct Sink {
    store: Store,
    mirror: sled::Tree,
    profiles: Profiles,
    canned: CannedReplies,
    commands: Mutex<HashMap<String, Vec<helpdesk::Command>>>,
}

impl Sink {
    /// A sink that queues mail in `store` and checks commands against the
    /// item mirror the engine keeps there.
    pub fn new(store: Store) -> anyhow::Result<Sink> {
        Ok(Sink {
            mirror: store.tree(super::TREE)?,
            profiles: Profiles::open(&store)?,
            canned: CannedReplies::open(&store)?,
            store,
            commands: Mutex::new(HashMap::new()),
        })
    }

    /// The store mail is queued in.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The canned replies `send-canned-reply` commands name.
    pub fn canned(&self) -> &CannedReplies {
        &self.canned
    }

    /// Takes the commands an invocation submitted, in order.
    pub fn take(&self, invocation: &str) -> Vec<helpdesk::Command> {
        self.commands
            .lock()
            .expect("sink lock")
            .remove(invocation)
            .unwrap_or_default()
    }
}

impl Outbound for Sink {
    fn queue_mail(
        &self,
        plugin: &str,
        invocation: &str,
        m: &mail::Message,
    ) -> anyhow::Result<String> {
        self.store.queue_mail(plugin, invocation, m)
    }

    fn submit_command(
        &self,
        _plugin: &str,
        invocation: &str,
        c: &helpdesk::Command,
    ) -> anyhow::Result<String> {
        let args: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&c.arguments)
                .map_err(|e| anyhow::anyhow!("command arguments are not a JSON object: {e}"))?;
        let fields = match self
            .mirror
            .get(super::keys::item(&c.item_kind, &c.item_id))?
        {
            Some(v) => serde_json::from_slice::<serde_json::Value>(&v)?
                .get("fields")
                .and_then(serde_json::Value::as_object)
                .cloned(),
            None => None,
        };
        super::commands::check(&c.item_kind, &c.item_id, &c.name, &args, fields.as_ref())?;
        if let Some(id) = canned::requested(&c.name, &args) {
            match self.canned.get(id) {
                Ok(_) => {}
                Err(CannedError::NotFound { id, known }) => {
                    return Err(CommandError::Argument {
                        name: c.name.clone(),
                        argument: canned::ARGUMENT.to_string(),
                        message: format!(
                        "no canned reply `{id}` is kept by the host; known canned replies: {known}"
                    ),
                    }
                    .into())
                }
                Err(e) => return Err(e.into()),
            }
        }
        let mut all = self.commands.lock().expect("sink lock");
        let list = all.entry(invocation.to_string()).or_default();
        list.push(c.clone());
        Ok(format!("{invocation}/cmd-{}", list.len()))
    }

    fn profile(&self, agent: &str, name: Option<&str>) -> anyhow::Result<Option<Profile>> {
        Ok(match name {
            Some(name) => self.profiles.get(agent, name)?,
            None => self.profiles.default_for(agent)?,
        })
    }
}
