//! Canned replies kept by the host: text an agent or a rule sends to a
//! ticket's customer, with a `subject`, a `body` and an `html` part that are
//! templates rendered for one item (the same sandboxed minijinja and the same
//! context as action settings, see [`crate::templates`]).
//!
//! Stored in the sled tree `canned` (id → JSON). [`CannedReplies::put`]
//! refuses an id that is not kebab-case, an empty title or body, and a
//! template that does not compile, each error naming the field. The whole set
//! can be exported to and imported from one TOML file (`[[canned-reply]]`
//! tables), all or nothing.
//!
//! The engine uses them for the help-desk command [`COMMAND`]: the host
//! refuses an unknown id when the plugin submits the command, and renders
//! the reply for the ticket when it applies the command, so the connector
//! receives the text to send.

use crate::store::Store;
use crate::templates;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The sled tree canned replies are kept in.
pub const TREE: &str = "canned";
/// The help-desk command that sends a canned reply.
pub const COMMAND: &str = "send-canned-reply";
/// The argument of [`COMMAND`] that names the canned reply.
pub const ARGUMENT: &str = "canned-reply";
/// Longest id, in bytes.
pub const MAX_ID: usize = 64;

/// One canned reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CannedReply {
    /// Kebab-case id (`thanks-for-waiting`), what rules name.
    pub id: String,
    /// What agents see in a list.
    pub title: String,
    /// Subject template, when the reply sets one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Plain-text body template.
    pub body: String,
    /// HTML body template, when the reply has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html: Option<String>,
}

/// A canned reply rendered for one item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The rendered subject, if the reply has one.
    pub subject: Option<String>,
    /// The rendered plain-text body.
    pub body: String,
    /// The rendered HTML body, if the reply has one.
    pub html: Option<String>,
}

/// Why a canned-reply operation failed.
#[derive(Debug, thiserror::Error)]
pub enum CannedError {
    /// A field of the reply is not acceptable (`field` is `id`, `title`,
    /// `subject`, `body` or `html`; prefixed with `canned-reply[<n>].` in an
    /// import).
    #[error("canned reply `{id}`: {field}: {message}")]
    Invalid {
        /// The reply's id as given.
        id: String,
        /// The field at fault.
        field: String,
        /// What is wrong and what would be accepted.
        message: String,
    },
    /// No canned reply has that id.
    #[error("canned reply `{id}` does not exist; known canned replies: {known}")]
    NotFound {
        /// The id asked for.
        id: String,
        /// The stored ids, comma-separated (`none` when there are none).
        known: String,
    },
    /// A template failed while rendering (unknown filter, fuel, size).
    #[error("canned reply `{id}`: {field}: {message}")]
    Render {
        /// The reply's id.
        id: String,
        /// `subject`, `body` or `html`.
        field: String,
        /// minijinja's description.
        message: String,
    },
    /// An import file does not parse.
    #[error("canned replies file: {0}")]
    Parse(String),
    /// The store failed.
    #[error("canned reply store: {0:#}")]
    Store(#[from] anyhow::Error),
}

impl From<sled::Error> for CannedError {
    fn from(e: sled::Error) -> Self {
        CannedError::Store(e.into())
    }
}

impl From<serde_json::Error> for CannedError {
    fn from(e: serde_json::Error) -> Self {
        CannedError::Store(e.into())
    }
}

/// The canned reply id a help-desk command names: `Some` for a
/// [`COMMAND`] whose [`ARGUMENT`] is a string, `None` for any other command.
pub fn requested<'a>(command: &str, args: &'a Map<String, Value>) -> Option<&'a str> {
    (command == COMMAND)
        .then(|| args.get(ARGUMENT).and_then(Value::as_str))
        .flatten()
}

/// Whether `id` is kebab-case: lowercase ASCII letters and digits in words
/// joined by single hyphens.
fn is_kebab(id: &str) -> bool {
    !id.is_empty()
        && id.split('-').all(|w| {
            !w.is_empty()
                && w.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

impl CannedReply {
    /// Checks the id format, that title and body are not empty, and that
    /// every template compiles. The error names the first field at fault.
    pub fn validate(&self) -> Result<(), CannedError> {
        let bad = |field: &str, message: String| CannedError::Invalid {
            id: self.id.clone(),
            field: field.to_string(),
            message,
        };
        if !is_kebab(&self.id) || self.id.len() > MAX_ID {
            return Err(bad(
                "id",
                format!(
                    "{:?} is not a kebab-case id of at most {MAX_ID} bytes (lowercase letters and digits joined by single hyphens, such as `thanks-for-waiting`)",
                    self.id
                ),
            ));
        }
        if self.title.trim().is_empty() {
            return Err(bad("title", "is empty; give the name agents see".into()));
        }
        if self.body.trim().is_empty() {
            return Err(bad(
                "body",
                "is empty; a canned reply needs a plain-text body".into(),
            ));
        }
        for (field, template) in self.templates() {
            if template.trim().is_empty() {
                return Err(bad(field, "is empty; leave it out instead".into()));
            }
            templates::compile(template).map_err(|message| bad(field, message))?;
        }
        Ok(())
    }

    /// The templates it has: (field, source), in the order subject, body, html.
    fn templates(&self) -> impl Iterator<Item = (&'static str, &str)> {
        [
            ("subject", self.subject.as_deref()),
            ("body", Some(self.body.as_str())),
            ("html", self.html.as_deref()),
        ]
        .into_iter()
        .filter_map(|(field, t)| t.map(|t| (field, t)))
    }

    /// Renders subject, body and html with a template context built by
    /// [`templates::context`] (usually for the one item the reply goes to).
    pub fn render(&self, context: &Value) -> Result<Rendered, CannedError> {
        let sources: Map<String, Value> = self
            .templates()
            .map(|(field, t)| (field.to_string(), Value::from(t)))
            .collect();
        let mut out =
            templates::render_settings(&sources, context).map_err(|e| CannedError::Render {
                id: self.id.clone(),
                field: e.setting,
                message: e.message,
            })?;
        let mut take = |field: &str| match out.remove(field) {
            Some(Value::String(s)) => Some(s),
            _ => None,
        };
        Ok(Rendered {
            subject: take("subject"),
            body: take("body").unwrap_or_default(),
            html: take("html"),
        })
    }
}

/// The file format of an export: `[[canned-reply]]` tables.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CannedFile {
    #[serde(rename = "canned-reply", default)]
    replies: Vec<CannedReply>,
}

/// The canned replies of a store. Cheap to clone.
#[derive(Clone)]
pub struct CannedReplies {
    store: Store,
    tree: sled::Tree,
}

impl CannedReplies {
    /// Opens the `canned` tree of a store.
    pub fn open(store: &Store) -> anyhow::Result<CannedReplies> {
        Ok(CannedReplies {
            tree: store.tree(TREE)?,
            store: store.clone(),
        })
    }

    /// Validates and stores a canned reply, replacing one with the same id.
    pub fn put(&self, reply: &CannedReply) -> Result<(), CannedError> {
        reply.validate()?;
        self.tree
            .insert(reply.id.as_bytes(), serde_json::to_vec(reply)?)?;
        self.store.flush()?;
        Ok(())
    }

    /// One canned reply; [`CannedError::NotFound`] lists the known ids.
    pub fn get(&self, id: &str) -> Result<CannedReply, CannedError> {
        match self.tree.get(id.as_bytes())? {
            Some(v) => Ok(serde_json::from_slice(&v)?),
            None => Err(CannedError::NotFound {
                id: id.to_string(),
                known: self.known()?,
            }),
        }
    }

    /// Every canned reply, by id.
    pub fn list(&self) -> Result<Vec<CannedReply>, CannedError> {
        self.tree
            .iter()
            .values()
            .map(|v| Ok(serde_json::from_slice(&v?)?))
            .collect()
    }

    /// The stored ids, comma-separated, or `none`.
    pub fn known(&self) -> Result<String, CannedError> {
        let ids = self
            .tree
            .iter()
            .keys()
            .map(|k| Ok(String::from_utf8_lossy(&k?).into_owned()))
            .collect::<Result<Vec<_>, sled::Error>>()?;
        Ok(if ids.is_empty() {
            "none".into()
        } else {
            ids.join(", ")
        })
    }

    /// Deletes a canned reply.
    pub fn delete(&self, id: &str) -> Result<(), CannedError> {
        if self.tree.remove(id.as_bytes())?.is_none() {
            return Err(CannedError::NotFound {
                id: id.to_string(),
                known: self.known()?,
            });
        }
        self.store.flush()?;
        Ok(())
    }

    /// Every canned reply as one TOML file (`[[canned-reply]]` tables).
    pub fn export(&self) -> Result<String, CannedError> {
        let file = CannedFile {
            replies: self.list()?,
        };
        toml::to_string(&file).map_err(|e| CannedError::Store(e.into()))
    }

    /// Replaces every canned reply with those of a TOML file, all or nothing:
    /// each is validated first (errors name `canned-reply[<n>].<field>`), then
    /// the store changes in one batch. Returns how many were imported.
    pub fn import(&self, text: &str) -> Result<usize, CannedError> {
        let file: CannedFile =
            toml::from_str(text).map_err(|e| CannedError::Parse(e.to_string()))?;
        let mut seen = std::collections::HashSet::new();
        for (n, reply) in file.replies.iter().enumerate() {
            let at = |field: &str| format!("canned-reply[{n}].{field}");
            if !seen.insert(reply.id.as_str()) {
                return Err(CannedError::Invalid {
                    id: reply.id.clone(),
                    field: at("id"),
                    message: "appears twice in the file".into(),
                });
            }
            reply.validate().map_err(|e| match e {
                CannedError::Invalid { id, field, message } => CannedError::Invalid {
                    id,
                    field: at(&field),
                    message,
                },
                other => other,
            })?;
        }
        let mut batch = sled::Batch::default();
        for key in self.tree.iter().keys() {
            batch.remove(key?);
        }
        for reply in &file.replies {
            batch.insert(reply.id.as_bytes(), serde_json::to_vec(reply)?);
        }
        self.tree.apply_batch(batch)?;
        self.store.flush()?;
        Ok(file.replies.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Event;
    use crate::rules::Rule;
    use serde_json::json;

    fn reply(id: &str, body: &str) -> CannedReply {
        CannedReply {
            id: id.into(),
            title: "Thanks".into(),
            subject: None,
            body: body.into(),
            html: None,
        }
    }

    fn open() -> (tempfile::TempDir, CannedReplies) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        (dir, CannedReplies::open(&store).unwrap())
    }

    fn field_of(e: CannedError) -> String {
        match e {
            CannedError::Invalid { field, .. } => field,
            other => panic!("not an invalid field: {other}"),
        }
    }

    #[test]
    fn put_get_list_delete() {
        let (_dir, canned) = open();
        let mut thanks = reply("thanks", "Thank you, {{ item.customer }}");
        thanks.subject = Some("Re: {{ item.subject }}".into());
        canned.put(&thanks).unwrap();
        canned.put(&reply("apology", "Sorry")).unwrap();
        assert_eq!(canned.get("thanks").unwrap(), thanks);
        let ids: Vec<String> = canned.list().unwrap().into_iter().map(|r| r.id).collect();
        assert_eq!(ids, ["apology", "thanks"]);
        // Put replaces.
        canned.put(&reply("thanks", "Cheers")).unwrap();
        assert_eq!(canned.get("thanks").unwrap().body, "Cheers");
        canned.delete("apology").unwrap();
        let e = canned.get("apology").unwrap_err();
        assert_eq!(
            e.to_string(),
            "canned reply `apology` does not exist; known canned replies: thanks"
        );
        assert!(matches!(
            canned.delete("apology"),
            Err(CannedError::NotFound { .. })
        ));
        canned.delete("thanks").unwrap();
        assert_eq!(canned.known().unwrap(), "none");
    }

    #[test]
    fn only_send_canned_reply_requests_a_canned_reply() {
        let args = json!({"canned-reply": "thanks"});
        let args = args.as_object().unwrap();
        assert_eq!(requested("send-canned-reply", args), Some("thanks"));
        assert_eq!(requested("send-reply", args), None);
        let other = json!({"body": "x"});
        assert_eq!(
            requested("send-canned-reply", other.as_object().unwrap()),
            None
        );
    }

    #[test]
    fn ids_must_be_kebab_case() {
        for id in ["", "Thanks", "thanks_you", "-a", "a-", "a--b", "a b", "ä"] {
            let e = reply(id, "x").validate().unwrap_err();
            assert_eq!(field_of(e), "id", "{id:?}");
        }
        let long = "a".repeat(MAX_ID + 1);
        assert_eq!(field_of(reply(&long, "x").validate().unwrap_err()), "id");
        for id in ["thanks", "thanks-for-waiting", "v2", "a-1-b"] {
            reply(id, "x").validate().unwrap();
        }
    }

    #[test]
    fn empty_title_body_or_parts_are_refused() {
        let mut r = reply("a", "  \n");
        let e = r.validate().unwrap_err();
        assert!(
            e.to_string()
                .starts_with("canned reply `a`: body: is empty"),
            "{e}"
        );
        r.body = "x".into();
        r.title = " ".into();
        assert_eq!(field_of(r.validate().unwrap_err()), "title");
        r.title = "T".into();
        r.html = Some(String::new());
        assert_eq!(field_of(r.validate().unwrap_err()), "html");
    }

    #[test]
    fn templates_that_do_not_compile_are_refused_naming_the_field() {
        let (_dir, canned) = open();
        let e = canned.put(&reply("a", "Hello {{ item.name ")).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("canned reply `a`: body: syntax error"),
            "{e}"
        );
        let mut r = reply("a", "ok");
        r.subject = Some("{% if item.vip %}VIP".into());
        let e = canned.put(&r).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("canned reply `a`: subject: syntax error"),
            "{e}"
        );
        r.subject = None;
        r.html = Some("<p>{{ }}</p>".into());
        assert_eq!(field_of(canned.put(&r).unwrap_err()), "html");
        assert_eq!(canned.known().unwrap(), "none", "nothing was stored");
    }

    fn context(fields: Value) -> Value {
        let event: Event = serde_json::from_value(json!({
            "category": "ticket", "event_type": "ticket-created",
            "occurred_at": "2026-11-30T10:00:00Z", "agent": "ana",
            "items": [{"kind": "ticket", "id": "7", "fields": fields}]
        }))
        .unwrap();
        let rule: Rule = serde_json::from_value(json!({
            "id": "r1", "name": "Welcome", "category": "ticket",
            "event_type": "ticket-created", "actions": []
        }))
        .unwrap();
        templates::context(&event, &event.items, &rule)
    }

    #[test]
    fn renders_with_the_item_its_custom_fields_and_the_event() {
        let r = CannedReply {
            id: "thanks".into(),
            title: "Thanks".into(),
            subject: Some("Re: {{ item.subject }} [#{{ item.id }}]".into()),
            body: "Hello {{ item.customer }}, your {{ item.cf.plan }} plan ({{ event.type }} by {{ event.agent }})".into(),
            html: Some("<p>Hello {{ item.customer }}</p>".into()),
        };
        let out = r
            .render(&context(
                json!({"subject": "Printer", "customer": "Bo", "cf.plan": "Gold"}),
            ))
            .unwrap();
        assert_eq!(out.subject.as_deref(), Some("Re: Printer [#7]"));
        assert_eq!(out.body, "Hello Bo, your Gold plan (ticket-created by ana)");
        assert_eq!(out.html.as_deref(), Some("<p>Hello Bo</p>"));
        let plain = reply("plain", "No template here")
            .render(&context(json!({})))
            .unwrap();
        assert_eq!(
            plain,
            Rendered {
                subject: None,
                body: "No template here".into(),
                html: None
            }
        );
    }

    #[test]
    fn render_errors_name_the_field() {
        let mut r = reply("a", "fine");
        r.html = Some("{{ item.id | no_such_filter }}".into());
        r.validate().unwrap();
        let e = r.render(&context(json!({}))).unwrap_err();
        assert!(
            matches!(&e, CannedError::Render { field, .. } if field == "html"),
            "{e}"
        );
        assert!(e.to_string().contains("unknown filter"), "{e}");
    }

    #[test]
    fn export_and_import_round_trip_all_or_nothing() {
        let (_dir, canned) = open();
        let mut a = reply("a", "Hi {{ item.customer }}\n");
        a.html = Some("<b>hi</b>".into());
        canned.put(&a).unwrap();
        canned.put(&reply("b", "Bye")).unwrap();
        let text = canned.export().unwrap();
        assert!(text.contains("[[canned-reply]]"), "{text}");

        let (_dir2, other) = open();
        other.put(&reply("old", "gone after import")).unwrap();
        assert_eq!(other.import(&text).unwrap(), 2);
        assert_eq!(other.list().unwrap(), canned.list().unwrap());

        // One bad reply: nothing changes, the error names it.
        let bad =
            format!("{text}\n[[canned-reply]]\nid = \"c\"\ntitle = \"C\"\nbody = \"{{{{ x \"\n");
        let e = other.import(&bad).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("canned reply `c`: canned-reply[2].body: syntax error"),
            "{e}"
        );
        let twice = format!("{text}\n[[canned-reply]]\nid = \"a\"\ntitle = \"A\"\nbody = \"x\"\n");
        assert_eq!(
            field_of(other.import(&twice).unwrap_err()),
            "canned-reply[2].id"
        );
        assert_eq!(other.known().unwrap(), "a, b");
        let e = other
            .import("[[canned-reply]]\nid = \"x\"\nbody = \"y\"\n")
            .unwrap_err();
        assert!(matches!(e, CannedError::Parse(_)), "{e}");
        assert!(e.to_string().contains("title"), "{e}");
    }
}
