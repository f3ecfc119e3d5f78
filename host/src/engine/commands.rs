//! The help-desk commands the host accepts from plugins: for each item kind
//! and command name, the arguments it needs, what it changes on the item
//! mirror and the follow-on event it causes.
//!
//! A command is checked twice against this table: when the plugin submits it
//! (so the plugin gets a clear error naming the bad argument), and when the
//! engine applies it after the invocation.

use crate::catalog::{PRIORITIES, TASK_STATUSES, TICKET_STATUSES};
use serde_json::{Map, Value};

/// What a command does once accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    /// Fields set on the item (`status` = `closed`).
    pub changes: Vec<(String, Value)>,
    /// The event the change causes, if the catalog has one.
    pub follow_on: Option<FollowOn>,
    /// Whether the command creates a new item of this kind rather than
    /// changing the one it names (`create-task`).
    pub creates: Option<&'static str>,
}

/// A follow-on event: category and event type of the catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FollowOn {
    /// Catalog category id (`call-logs`).
    pub category: &'static str,
    /// Event type id (`call-log-modified`).
    pub event_type: &'static str,
}

/// A command the table refuses.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CommandError {
    /// No such command for the item kind.
    #[error(
        "help-desk command `{name}` does not apply to a {kind}; commands for a {kind}: {known}"
    )]
    Unknown {
        /// Item kind.
        kind: String,
        /// Command name.
        name: String,
        /// The commands the kind has, comma-separated.
        known: String,
    },
    /// An argument is missing or wrong.
    #[error("help-desk command `{name}`: arguments.{argument}: {message}")]
    Argument {
        /// Command name.
        name: String,
        /// The argument.
        argument: String,
        /// What is wrong.
        message: String,
    },
    /// The item is not in a state the command allows.
    #[error("help-desk command `{name}` refused for {kind} {id}: {message}")]
    State {
        /// Command name.
        name: String,
        /// Item kind.
        kind: String,
        /// Item id.
        id: String,
        /// Why.
        message: String,
    },
}

/// Commands each item kind accepts (`create-task` is accepted on every kind).
pub const COMMANDS: &[(&str, &[&str])] = &[
    (
        "ticket",
        &[
            "set-status",
            "set-priority",
            "transfer",
            "pin",
            "unpin",
            "send-reply",
            "send-canned-reply",
            "offer-survey",
            "send-form",
        ],
    ),
    ("task", &["set-status", "set-priority", "transfer"]),
    ("call-log", &["transfer"]),
    ("live-chat", &["transfer", "end", "add-system-message"]),
    ("kb-article", &["alter-properties"]),
    ("visitor", &["purge", "remove", "send-invitation"]),
    ("community-thread", &["subscribe"]),
];

/// The command every item kind accepts: a new task.
pub const CREATE_TASK: &str = "create-task";

/// The other command every item kind accepts: set custom fields
/// (`{"fields": {"cf.billing_id": "123"}}`). Built-in fields have their own
/// commands (set-status, transfer, ...), which check their values.
pub const SET_FIELDS: &str = "set-fields";

const fn on(category: &'static str, event_type: &'static str) -> Option<FollowOn> {
    Some(FollowOn {
        category,
        event_type,
    })
}

/// Checks a command against the table and, when the item mirror is known,
/// against the item's state; returns what applying it does.
pub fn check(
    kind: &str,
    id: &str,
    name: &str,
    args: &Map<String, Value>,
    fields: Option<&Map<String, Value>>,
) -> Result<Applied, CommandError> {
    let a = Args { name, args };
    let set = |changes: Vec<(String, Value)>, follow_on| Applied {
        changes,
        follow_on,
        creates: None,
    };
    Ok(match (kind, name) {
        (_, CREATE_TASK) => {
            let mut changes = vec![("subject".to_string(), a.text("subject")?)];
            changes.push(("status".into(), Value::from(TASK_STATUSES[0])));
            if let Some(p) = a.optional_one_of("priority", PRIORITIES)? {
                changes.push(("priority".into(), p));
            }
            for key in ["agent", "description", "due"] {
                if let Some(v) = a.optional_text(key)? {
                    changes.push((key.into(), v));
                }
            }
            changes.push(("source-kind".into(), Value::from(kind)));
            changes.push(("source-id".into(), Value::from(id)));
            Applied {
                changes,
                follow_on: on("task", "task-created"),
                creates: Some("task"),
            }
        }
        (_, SET_FIELDS) => {
            let follow_on = match kind {
                "task" => on("task", "task-modified"),
                "call-log" => on("call-logs", "call-log-modified"),
                "kb-article" => on("knowledge-base", "kb-article-modified"),
                _ => None,
            };
            set(a.custom_fields("fields")?, follow_on)
        }
        ("ticket", "set-status") => set(
            vec![("status".into(), a.one_of("status", TICKET_STATUSES)?)],
            on("ticket", "ticket-status-changed"),
        ),
        ("ticket", "set-priority") => set(
            vec![("priority".into(), a.one_of("priority", PRIORITIES)?)],
            on("ticket", "ticket-priority-changed"),
        ),
        ("ticket", "transfer") => set(
            a.some_of(&["department", "group", "agent"])?,
            on("ticket", "ticket-transferred"),
        ),
        ("ticket", "pin") => set(vec![("pinned-agent".into(), a.text("agent")?)], None),
        ("ticket", "unpin") => set(vec![("pinned-agent".into(), Value::Null)], None),
        ("ticket", "send-reply") => {
            a.text("body")?;
            set(Vec::new(), None)
        }
        ("ticket", "send-canned-reply") => {
            a.text("canned-reply")?;
            set(Vec::new(), None)
        }
        ("ticket", "offer-survey") => {
            a.text("survey")?;
            if let Some(fields) = fields {
                let status = fields.get("status").and_then(Value::as_str).unwrap_or("");
                let received = fields
                    .get("messages-received")
                    .and_then(Value::as_f64)
                    .unwrap_or(0.0);
                if !status.starts_with("closed") || received < 1.0 {
                    return Err(CommandError::State {
                        name: name.into(),
                        kind: kind.into(),
                        id: id.into(),
                        message: format!(
                            "a survey is offered only on a closed ticket with at least one incoming message (status {status:?}, messages-received {received})"
                        ),
                    });
                }
            }
            set(Vec::new(), None)
        }
        ("ticket", "send-form") => {
            a.text("form")?;
            set(Vec::new(), on("ticket", "ticket-form-sent"))
        }
        ("task", "set-status") => set(
            vec![("status".into(), a.one_of("status", TASK_STATUSES)?)],
            on("task", "task-modified"),
        ),
        ("task", "set-priority") => set(
            vec![("priority".into(), a.one_of("priority", PRIORITIES)?)],
            on("task", "task-modified"),
        ),
        ("task", "transfer") => set(
            vec![("agent".into(), a.text("agent")?)],
            on("task", "task-modified"),
        ),
        ("call-log", "transfer") => set(
            a.some_of(&["department", "agent"])?,
            on("call-logs", "call-log-modified"),
        ),
        ("live-chat", "transfer") => set(
            a.some_of(&["department", "agent"])?,
            on("live-chat", "live-chat-transferred"),
        ),
        ("live-chat", "end") => set(
            vec![("status".into(), Value::from("ended"))],
            on("live-chat", "live-chat-ended"),
        ),
        ("live-chat", "add-system-message") => {
            a.text("message")?;
            set(Vec::new(), None)
        }
        ("kb-article", "alter-properties") => set(
            a.some_flags(&["draft", "private", "needs-review"])?,
            on("knowledge-base", "kb-article-modified"),
        ),
        ("visitor", "purge") => set(
            vec![("listed".into(), Value::Bool(false))],
            on("whos-on", "online-visitor-purged"),
        ),
        ("visitor", "remove") => set(
            vec![("listed".into(), Value::Bool(false))],
            on("whos-on", "online-visitor-removed"),
        ),
        ("visitor", "send-invitation") => {
            a.optional_text("message")?;
            set(
                vec![("invited".into(), Value::Bool(true))],
                on("whos-on", "live-chat-invited"),
            )
        }
        ("community-thread", "subscribe") => {
            a.text("agent")?;
            set(Vec::new(), None)
        }
        _ => {
            let known = COMMANDS
                .iter()
                .find(|(k, _)| *k == kind)
                .map(|(_, names)| names.join(", "))
                .map(|list| format!("{list}, {CREATE_TASK}, {SET_FIELDS}"))
                .unwrap_or_else(|| format!("{CREATE_TASK}, {SET_FIELDS}"));
            return Err(CommandError::Unknown {
                kind: kind.into(),
                name: name.into(),
                known,
            });
        }
    })
}

/// A command's arguments, read with errors naming the argument.
struct Args<'a> {
    name: &'a str,
    args: &'a Map<String, Value>,
}

impl Args<'_> {
    fn bad(&self, argument: &str, message: impl Into<String>) -> CommandError {
        CommandError::Argument {
            name: self.name.into(),
            argument: argument.into(),
            message: message.into(),
        }
    }

    fn optional_text(&self, key: &str) -> Result<Option<Value>, CommandError> {
        match self.args.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if !s.trim().is_empty() => Ok(Some(Value::from(s.as_str()))),
            Some(Value::String(_)) => Err(self.bad(key, "is empty")),
            Some(other) => Err(self.bad(key, format!("must be a string, not {other}"))),
        }
    }

    fn text(&self, key: &str) -> Result<Value, CommandError> {
        self.optional_text(key)?
            .ok_or_else(|| self.bad(key, "is required"))
    }

    fn optional_one_of(&self, key: &str, allowed: &[&str]) -> Result<Option<Value>, CommandError> {
        let Some(v) = self.optional_text(key)? else {
            return Ok(None);
        };
        let s = v.as_str().unwrap_or_default();
        if allowed.contains(&s) {
            Ok(Some(v))
        } else {
            Err(self.bad(key, format!("{s:?} is not one of {}", allowed.join(", "))))
        }
    }

    fn one_of(&self, key: &str, allowed: &[&str]) -> Result<Value, CommandError> {
        self.optional_one_of(key, allowed)?
            .ok_or_else(|| self.bad(key, format!("is required (one of {})", allowed.join(", "))))
    }

    /// At least one of `keys`, each a non-empty string.
    fn some_of(&self, keys: &[&str]) -> Result<Vec<(String, Value)>, CommandError> {
        let mut out = Vec::new();
        for key in keys {
            if let Some(v) = self.optional_text(key)? {
                out.push((key.to_string(), v));
            }
        }
        if out.is_empty() {
            return Err(self.bad(keys[0], format!("one of {} is required", keys.join(", "))));
        }
        Ok(out)
    }

    /// A non-empty object of custom fields (`cf.<name>`) to text, number or
    /// boolean values (null clears the field).
    fn custom_fields(&self, key: &str) -> Result<Vec<(String, Value)>, CommandError> {
        let Some(Value::Object(map)) = self.args.get(key) else {
            return Err(self.bad(
                key,
                "is required: an object of custom fields such as {\"cf.billing_id\": \"123\"}",
            ));
        };
        if map.is_empty() {
            return Err(self.bad(key, "is empty"));
        }
        let mut out = Vec::new();
        for (field, value) in map {
            let path = format!("{key}.{field}");
            let name = field.strip_prefix("cf.").unwrap_or_default();
            let valid_name = !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            if !valid_name {
                return Err(self.bad(
                    &path,
                    "only custom fields (cf.<name>: letters, digits, _ and -) can be set; built-in fields have their own commands (set-status, set-priority, transfer)",
                ));
            }
            match value {
                Value::String(_) | Value::Number(_) | Value::Bool(_) | Value::Null => {
                    out.push((field.clone(), value.clone()))
                }
                other => {
                    return Err(self.bad(
                        &path,
                        format!("must be text, a number, true/false or null, not {other}"),
                    ))
                }
            }
        }
        Ok(out)
    }

    /// At least one of `keys`, each a boolean.
    fn some_flags(&self, keys: &[&str]) -> Result<Vec<(String, Value)>, CommandError> {
        let mut out = Vec::new();
        for key in keys {
            match self.args.get(*key) {
                None | Some(Value::Null) => {}
                Some(Value::Bool(b)) => out.push((key.to_string(), Value::Bool(*b))),
                Some(other) => {
                    return Err(self.bad(key, format!("must be true or false, not {other}")))
                }
            }
        }
        if out.is_empty() {
            return Err(self.bad(keys[0], format!("one of {} is required", keys.join(", "))));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(kind: &str, name: &str, args: Value) -> Result<Applied, CommandError> {
        check(kind, "7", name, args.as_object().unwrap(), None)
    }

    #[test]
    fn every_follow_on_event_type_is_in_the_catalog() {
        let args = json!({
            "status": "closed", "priority": "high", "department": "IT", "agent": "ana",
            "body": "b", "canned-reply": "c", "survey": "s", "form": "f", "message": "m",
            "draft": true, "subject": "s", "fields": {"cf.billing": "b-1"}
        });
        for (kind, names) in COMMANDS {
            for name in names.iter().chain([&CREATE_TASK, &SET_FIELDS]) {
                let mut args = args.clone();
                if *kind == "task" {
                    args["status"] = json!("completed");
                }
                let applied =
                    run(kind, name, args).unwrap_or_else(|e| panic!("{kind} {name}: {e}"));
                if let Some(f) = applied.follow_on {
                    assert!(
                        crate::catalog::catalog()
                            .event_type(f.category, f.event_type)
                            .is_some(),
                        "{kind} {name}: {}/{}",
                        f.category,
                        f.event_type
                    );
                }
            }
        }
    }

    #[test]
    fn statuses_are_checked_per_kind() {
        let err = run("ticket", "set-status", json!({"status": "done"})).unwrap_err();
        assert_eq!(
            err.to_string(),
            "help-desk command `set-status`: arguments.status: \"done\" is not one of active, waiting, closed, closed-and-locked"
        );
        assert!(run("task", "set-status", json!({"status": "on-hold"})).is_ok());
        assert!(run("task", "set-status", json!({"status": "waiting"})).is_err());
        let err = run("ticket", "set-status", json!({})).unwrap_err();
        assert!(
            err.to_string().contains("arguments.status: is required"),
            "{err}"
        );
    }

    #[test]
    fn unknown_commands_name_what_the_kind_accepts() {
        let err = run("live-chat", "pin", json!({"agent": "ana"})).unwrap_err();
        assert_eq!(
            err.to_string(),
            "help-desk command `pin` does not apply to a live-chat; commands for a live-chat: transfer, end, add-system-message, create-task, set-fields"
        );
    }

    #[test]
    fn set_fields_sets_custom_fields_only() {
        let applied = run(
            "ticket",
            "set-fields",
            json!({"fields": {"cf.billing_id": "123", "cf.vip": true}}),
        )
        .unwrap();
        assert_eq!(
            applied.changes,
            vec![
                ("cf.billing_id".to_string(), json!("123")),
                ("cf.vip".to_string(), json!(true))
            ]
        );
        assert_eq!(applied.follow_on, None);
        let task = run("task", "set-fields", json!({"fields": {"cf.x": 1}})).unwrap();
        assert_eq!(task.follow_on, on("task", "task-modified"));
        let err = run(
            "ticket",
            "set-fields",
            json!({"fields": {"status": "closed"}}),
        )
        .unwrap_err();
        assert!(
            err.to_string().starts_with(
                "help-desk command `set-fields`: arguments.fields.status: only custom fields"
            ),
            "{err}"
        );
        let err = run("ticket", "set-fields", json!({"fields": {"cf.x": [1]}})).unwrap_err();
        assert!(
            err.to_string()
                .contains("arguments.fields.cf.x: must be text"),
            "{err}"
        );
        assert!(run("ticket", "set-fields", json!({})).is_err());
        assert!(run("ticket", "set-fields", json!({"fields": {}})).is_err());
    }

    #[test]
    fn a_survey_needs_a_closed_ticket_with_an_incoming_message() {
        let fields = |v: Value| v.as_object().unwrap().clone();
        let args = json!({"survey": "csat"});
        let offer = |f: Value| {
            check(
                "ticket",
                "7",
                "offer-survey",
                args.as_object().unwrap(),
                Some(&fields(f)),
            )
        };
        assert!(offer(json!({"status": "closed", "messages-received": 2})).is_ok());
        let open = offer(json!({"status": "active", "messages-received": 2})).unwrap_err();
        assert!(open.to_string().contains("refused for ticket 7"), "{open}");
        assert!(offer(json!({"status": "closed", "messages-received": 0})).is_err());
    }

    #[test]
    fn changes_and_new_items() {
        let t = run("ticket", "transfer", json!({"group": "Tier 2"})).unwrap();
        assert_eq!(t.changes, vec![("group".to_string(), json!("Tier 2"))]);
        let err = run("ticket", "transfer", json!({})).unwrap_err();
        assert!(err
            .to_string()
            .contains("one of department, group, agent is required"));
        let task = run(
            "ticket",
            CREATE_TASK,
            json!({"subject": "Call back", "priority": "high"}),
        )
        .unwrap();
        assert_eq!(task.creates, Some("task"));
        assert!(task
            .changes
            .contains(&("source-id".to_string(), json!("7"))));
        let kb = run("kb-article", "alter-properties", json!({"draft": "yes"})).unwrap_err();
        assert!(
            kb.to_string()
                .contains("arguments.draft: must be true or false"),
            "{kb}"
        );
    }
}
