//! The event catalog: every category, event type, condition and action tocsin
//! knows, as typed data. It follows SmarterTrack's Events help, restated in our
//! own words: 13 categories; their event types, flagged when only admins may
//! use them, when they run on demand (manual) or when the scheduler drives them
//! (time-based); the conditions each event type offers, each with the type of
//! its values; and the actions each event type allows, each with the modes it
//! has: `digest` (once per firing with all matching items, SmarterTrack's plain
//! variant) and `per-item` (SmarterTrack's "(once per item)" variant).
//!
//! Ids are the kebab-case form of the titles ([`kebab`]: `Ticket Follow-up Due`
//! → `ticket-follow-up-due`, `Who's On` → `whos-on`), stable for stored rules
//! and the HTTP API. Custom fields are one condition entry of type
//! [`ValueType::CustomField`], written `cf.<name>` in rules. [`catalog`] builds
//! the catalog once; [`Catalog::render_text`] lists it for `tocsin catalog`;
//! everything serializes to JSON.
//!
//! The specification lists conditions and actions per category, not per event
//! type, so each event type of a category offers all of them; the only
//! additions are marked [`ConditionDef::inferred`].

mod active_group;
mod call_logs;
mod chat_rooms;
mod community;
mod knowledge_base;
mod live_chat;
mod mail_servers;
mod parts;
mod render;
mod survey;
mod task;
mod ticket;
mod user;
mod whos_on;

#[cfg(test)]
mod tests;

use crate::conditions::{Field, ValueKind};
use serde::Serialize;
use std::fmt;
use std::sync::OnceLock;

/// Ticket statuses, as condition values.
pub const TICKET_STATUSES: &[&str] = &["active", "waiting", "closed", "closed-and-locked"];
/// Task statuses, as condition values.
pub const TASK_STATUSES: &[&str] = &[
    "under-consideration",
    "in-progress",
    "on-hold",
    "in-review",
    "completed",
    "rejected",
    "approved",
];
/// Priorities of tickets and tasks, as condition values.
pub const PRIORITIES: &[&str] = &["low", "normal", "high", "urgent"];
/// Kinds of ticket comment, as condition values.
pub const COMMENT_TYPES: &[&str] = &["note", "resolution", "transfer-note"];
/// How rules name a custom field: `cf.<name>`.
pub const CUSTOM_FIELD_PREFIX: &str = "cf.";

/// The type of a condition's values; it decides the operators a rule may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "type", content = "values")]
pub enum ValueType {
    /// Free text.
    Text,
    /// A number (a count, a rating, a port).
    Number,
    /// A number of minutes.
    Minutes,
    /// True or false.
    Boolean,
    /// An instant (RFC 3339).
    DateTime,
    /// The event's local time of day, in the calendar's time zone.
    TimeOfDay,
    /// The event's local day of the week, in the calendar's time zone.
    DayOfWeek,
    /// Whether the event happened outside business hours (holidays count as
    /// outside), from the brand's or department's calendar.
    OutsideBusinessHours,
    /// Whether the event happened on a holiday of that calendar.
    DuringHolidays,
    /// An agent of the item (assigned, previous, whose status changed).
    Agent,
    /// The agent who caused the event (falls back to the item's agent).
    ActingAgent,
    /// A department.
    Department,
    /// A group of agents.
    Group,
    /// A brand.
    Brand,
    /// One value out of a fixed list.
    Enum(&'static [&'static str]),
    /// A custom field of the item, named `cf.<name>` in rules; compared as text.
    CustomField,
}

impl ValueType {
    /// Whether values come from a business-hours calendar (Outside Business
    /// Hours, During Holidays).
    pub fn is_calendar(&self) -> bool {
        matches!(
            self,
            ValueType::OutsideBusinessHours | ValueType::DuringHolidays
        )
    }

    /// A short name for listings: `text`, `minutes`, `one of low|normal|...`.
    pub fn describe(&self) -> String {
        let name = match self {
            ValueType::Text => "text",
            ValueType::Number => "number",
            ValueType::Minutes => "minutes",
            ValueType::Boolean => "boolean",
            ValueType::DateTime => "date-time",
            ValueType::TimeOfDay => "time-of-day",
            ValueType::DayOfWeek => "day-of-week",
            ValueType::OutsideBusinessHours => "boolean, business-hours calendar",
            ValueType::DuringHolidays => "boolean, holiday calendar",
            ValueType::Agent => "agent",
            ValueType::ActingAgent => "acting agent",
            ValueType::Department => "department",
            ValueType::Group => "group",
            ValueType::Brand => "brand",
            ValueType::Enum(values) => return format!("one of {}", values.join("|")),
            ValueType::CustomField => "custom field cf.<name>, text",
        };
        name.to_string()
    }
}

impl fmt::Display for ValueType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

/// The kind of item a category's events are about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ItemKind {
    /// An email ticket.
    Ticket,
    /// A live chat.
    LiveChat,
    /// A call log.
    CallLog,
    /// A task.
    Task,
    /// A knowledge base article (and its feedback).
    KbArticle,
    /// A submitted survey.
    SurveyResponse,
    /// A portal user account.
    User,
    /// A website or portal visitor seen by Who's On.
    Visitor,
    /// An agents' chat room.
    ChatRoom,
    /// A community thread.
    CommunityThread,
    /// An agent.
    Agent,
    /// A POP or SMTP server.
    MailServer,
}

impl ItemKind {
    /// The kebab-case name, as in JSON.
    pub fn name(self) -> &'static str {
        match self {
            ItemKind::Ticket => "ticket",
            ItemKind::LiveChat => "live-chat",
            ItemKind::CallLog => "call-log",
            ItemKind::Task => "task",
            ItemKind::KbArticle => "kb-article",
            ItemKind::SurveyResponse => "survey-response",
            ItemKind::User => "user",
            ItemKind::Visitor => "visitor",
            ItemKind::ChatRoom => "chat-room",
            ItemKind::CommunityThread => "community-thread",
            ItemKind::Agent => "agent",
            ItemKind::MailServer => "mail-server",
        }
    }
}

impl fmt::Display for ItemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A condition an event type offers.
#[derive(Debug, Clone, Serialize)]
pub struct ConditionDef {
    /// Id, also the item field it reads (`idle-minutes`).
    pub id: String,
    /// Title (`Idle Minutes`).
    pub title: &'static str,
    /// What it tests, in one line.
    pub description: &'static str,
    /// Type of its values.
    pub value_type: ValueType,
    /// Not named by the specification; added so the event type can be used
    /// (the threshold of the count event types).
    pub inferred: bool,
}

impl ConditionDef {
    /// Whether it reads a business-hours or holiday calendar.
    pub fn is_calendar(&self) -> bool {
        self.value_type.is_calendar()
    }

    /// Whether this is the custom-field entry (`cf.<name>` in rules).
    pub fn is_custom_field(&self) -> bool {
        self.value_type == ValueType::CustomField
    }
}

/// The two ways an action can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ActionMode {
    /// Once per firing, with every matching item (the plain variant).
    Digest,
    /// Once per matching item (the "(once per item)" variant).
    PerItem,
}

impl ActionMode {
    /// As written in rules: `digest`, `per-item`.
    pub fn name(self) -> &'static str {
        match self {
            ActionMode::Digest => "digest",
            ActionMode::PerItem => "per-item",
        }
    }
}

/// An action an event type allows.
#[derive(Debug, Clone, Serialize)]
pub struct ActionDef {
    /// Id, equal to the built-in plugin action's (`log-to-file`).
    pub id: String,
    /// Title (`Log to File`).
    pub title: &'static str,
    /// What it does, in one line.
    pub description: &'static str,
    /// Whether the plain variant (once per firing, all items) exists.
    pub digest: bool,
    /// Whether the "(once per item)" variant exists.
    pub per_item: bool,
    /// Whether only admins' (system) rules may use it.
    pub admin_only: bool,
    /// Whether only agents' rules may use it: it reads the rule owner's own
    /// data (their notification profile), which a `system` rule has not.
    pub agent_only: bool,
    /// Whether the help desk carries it out (a command through the host, such
    /// as transferring or replying) rather than a delivery to the outside.
    pub helpdesk_command: bool,
}

impl ActionDef {
    /// Whether it has the given mode.
    pub fn supports(&self, mode: ActionMode) -> bool {
        match mode {
            ActionMode::Digest => self.digest,
            ActionMode::PerItem => self.per_item,
        }
    }

    /// Its modes, digest first.
    pub fn modes(&self) -> Vec<ActionMode> {
        [ActionMode::Digest, ActionMode::PerItem]
            .into_iter()
            .filter(|m| self.supports(*m))
            .collect()
    }
}

/// An event type: what happened, the conditions a rule may put on it and the
/// actions a rule may run for it.
#[derive(Debug, Clone, Serialize)]
pub struct EventType {
    /// Id (`ticket-idle`).
    pub id: String,
    /// Title (`Ticket Idle`).
    pub title: &'static str,
    /// What happened, in one line.
    pub description: &'static str,
    /// Only admins' (system) rules may use it.
    pub admin_only: bool,
    /// Runs on demand on chosen items, never from the help desk's events.
    pub manual: bool,
    /// Driven by time: the scheduler evaluates it from the item mirror.
    pub time_based: bool,
    /// Conditions it offers, in the specification's order.
    pub conditions: Vec<ConditionDef>,
    /// Actions it allows, in the specification's order.
    pub actions: Vec<ActionDef>,
}

impl EventType {
    /// A condition by id; `cf.<name>` finds the custom-field entry when the
    /// event type has one (the entry's own id does not: rules name a field).
    pub fn condition(&self, id: &str) -> Option<&ConditionDef> {
        if let Some(name) = id.strip_prefix(CUSTOM_FIELD_PREFIX) {
            if name.is_empty() {
                return None;
            }
            return self.conditions.iter().find(|c| c.is_custom_field());
        }
        self.conditions
            .iter()
            .find(|c| c.id == id && !c.is_custom_field())
    }

    /// An action by id.
    pub fn action(&self, id: &str) -> Option<&ActionDef> {
        self.actions.iter().find(|a| a.id == id)
    }

    /// Whether `cf.<name>` conditions are allowed.
    pub fn has_custom_fields(&self) -> bool {
        self.conditions.iter().any(ConditionDef::is_custom_field)
    }
}

/// A category: the help-desk feature a group of event types belongs to.
#[derive(Debug, Clone, Serialize)]
pub struct Category {
    /// Id (`ticket`).
    pub id: &'static str,
    /// Title (`Ticket`).
    pub title: &'static str,
    /// What it covers, in one line.
    pub description: &'static str,
    /// The kind of item its events are about.
    pub item: ItemKind,
    /// Only admins' (system) rules may use it.
    pub admin_only: bool,
    /// Its event types, in the specification's order.
    pub event_types: Vec<EventType>,
}

impl Category {
    /// One of its event types by id.
    pub fn event_type(&self, id: &str) -> Option<&EventType> {
        self.event_types.iter().find(|t| t.id == id)
    }
}

/// The whole catalog.
#[derive(Debug, Clone, Serialize)]
pub struct Catalog {
    categories: Vec<Category>,
}

impl Catalog {
    /// Every category, in the specification's order.
    pub fn categories(&self) -> &[Category] {
        &self.categories
    }

    /// A category by id.
    pub fn category(&self, id: &str) -> Option<&Category> {
        self.categories.iter().find(|c| c.id == id)
    }

    /// An event type by category id and event type id.
    pub fn event_type(&self, category_id: &str, event_type_id: &str) -> Option<&EventType> {
        self.category(category_id)?.event_type(event_type_id)
    }
}

/// The catalog, built on first use and shared afterwards.
pub fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(|| Catalog {
        categories: vec![
            active_group::category(),
            call_logs::category(),
            chat_rooms::category(),
            community::category(),
            knowledge_base::category(),
            live_chat::category(),
            mail_servers::pop(),
            mail_servers::smtp(),
            survey::category(),
            task::category(),
            ticket::category(),
            user::category(),
            whos_on::category(),
        ],
    })
}

/// The id form of a title: lower case, apostrophes dropped, every other run of
/// non-alphanumerics one `-` (`Who's On` → `whos-on`).
pub fn kebab(title: &str) -> String {
    let mut out = String::new();
    for c in title.chars().filter(|c| *c != '\'') {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

/// Where a catalog condition reads its value and how it compares.
pub fn condition_field(def: &ConditionDef) -> (Field, ValueKind) {
    let item = || Field::Item(def.id.clone());
    match def.value_type {
        ValueType::Text
        | ValueType::Agent
        | ValueType::Department
        | ValueType::Group
        | ValueType::Brand
        | ValueType::CustomField => (item(), ValueKind::Text),
        ValueType::ActingAgent => (Field::Agent, ValueKind::Text),
        ValueType::Number | ValueType::Minutes => (item(), ValueKind::Number),
        ValueType::Boolean => (item(), ValueKind::Boolean),
        ValueType::DateTime => (item(), ValueKind::DateTime),
        ValueType::TimeOfDay => (Field::TimeOfDay, ValueKind::TimeOfDay),
        ValueType::DayOfWeek => (Field::DayOfWeek, ValueKind::DayOfWeek),
        ValueType::OutsideBusinessHours => (Field::OutsideBusinessHours, ValueKind::Boolean),
        ValueType::DuringHolidays => (Field::DuringHolidays, ValueKind::Boolean),
        ValueType::Enum(values) => (
            item(),
            ValueKind::Enum(values.iter().map(|v| v.to_string()).collect()),
        ),
    }
}
