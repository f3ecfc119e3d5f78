//! The catalog: every category, event type, condition and action tocsin knows,
//! as data. It follows SmarterTrack's Events specification (in our own words):
//! 13 categories, their event types (admin-only, manual and time-driven ones
//! flagged), the conditions each offers with the type of their values, and the
//! actions each allows with their digest and per-item variants.
//!
//! Ids are kebab-case forms of the titles (`Ticket Follow-up Due` →
//! `ticket-follow-up-due`), stable for rules and the API. The tables are in
//! [`data`]; [`catalog`] builds the typed catalog once.

mod data;
mod render;

use crate::conditions::{Field, ValueKind};
use serde::Serialize;
use std::sync::OnceLock;

/// Ticket statuses.
pub const TICKET_STATUSES: &[&str] = &["active", "waiting", "closed", "closed-and-locked"];
/// Task statuses.
pub const TASK_STATUSES: &[&str] = &[
    "under-consideration",
    "in-progress",
    "on-hold",
    "in-review",
    "completed",
    "rejected",
    "approved",
];
/// Priorities of tickets and tasks.
pub const PRIORITIES: &[&str] = &["low", "normal", "high", "urgent"];

/// The type of a condition's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "type", content = "values")]
pub enum ValueType {
    /// Free text.
    Text,
    /// A number.
    Number,
    /// A number of minutes.
    Minutes,
    /// True or false.
    Boolean,
    /// An instant (RFC 3339).
    DateTime,
    /// The event's local time of day.
    TimeOfDay,
    /// The event's local day of the week.
    DayOfWeek,
    /// Whether the event happened outside business hours (holidays included).
    OutsideBusinessHours,
    /// Whether the event happened on a holiday.
    DuringHolidays,
    /// An agent id.
    Agent,
    /// The agent who caused the event.
    ActingAgent,
    /// A department name.
    Department,
    /// A group name.
    Group,
    /// A brand name.
    Brand,
    /// One of a fixed list.
    Enum(&'static [&'static str]),
}

/// A condition an event type offers.
#[derive(Debug, Clone, Serialize)]
pub struct ConditionDef {
    /// Id, the item field it reads (`idle-minutes`).
    pub id: String,
    /// Title (`Idle Minutes`).
    pub title: &'static str,
    /// Type of its values.
    pub value_type: ValueType,
}

/// An action an event type allows.
#[derive(Debug, Clone, Serialize)]
pub struct ActionDef {
    /// Id, equal to the built-in plugin action's (`log-to-file`).
    pub id: String,
    /// Title (`Log to File`).
    pub title: &'static str,
    /// Whether the plain variant (once per firing, all items) exists.
    pub digest: bool,
    /// Whether the "(once per item)" variant exists.
    pub per_item: bool,
    /// Whether only admins' (system) rules may use it.
    pub admin_only: bool,
}

/// An event type.
#[derive(Debug, Clone, Serialize)]
pub struct EventType {
    /// Id (`ticket-idle`).
    pub id: String,
    /// Title (`Ticket Idle`).
    pub title: &'static str,
    /// Only admins' rules may use it.
    pub admin_only: bool,
    /// Fired on demand on chosen items, not by the help desk.
    pub manual: bool,
    /// Driven by time: the scheduler evaluates it from the item mirror.
    pub time_based: bool,
    /// Whether custom fields (`cf.<name>`) may be used as conditions.
    pub custom_fields: bool,
    /// Conditions it offers.
    pub conditions: Vec<ConditionDef>,
    /// Actions it allows.
    pub actions: Vec<ActionDef>,
}

/// A category.
#[derive(Debug, Clone, Serialize)]
pub struct Category {
    /// Id (`ticket`).
    pub id: &'static str,
    /// Title (`Ticket`).
    pub title: &'static str,
    /// The kind of item its events are about (`ticket`).
    pub item: &'static str,
    /// Only admins' rules may use it.
    pub admin_only: bool,
    /// Its event types.
    pub event_types: Vec<EventType>,
}

/// The whole catalog.
#[derive(Debug, Clone, Serialize)]
pub struct Catalog {
    categories: Vec<Category>,
}

/// The catalog, built on first use.
pub fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(build)
}

/// `Who's On: Online Visitor Purged` → `whos-on-online-visitor-purged`.
pub fn kebab(title: &str) -> String {
    let mut out = String::new();
    for c in title.chars().filter(|c| *c != '\'') {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

fn kind_of(code: &str) -> ValueType {
    match code {
        "text" => ValueType::Text,
        "number" => ValueType::Number,
        "minutes" => ValueType::Minutes,
        "bool" => ValueType::Boolean,
        "datetime" => ValueType::DateTime,
        "tod" => ValueType::TimeOfDay,
        "dow" => ValueType::DayOfWeek,
        "after-hours" => ValueType::OutsideBusinessHours,
        "holiday" => ValueType::DuringHolidays,
        "agent" => ValueType::Agent,
        "acting" => ValueType::ActingAgent,
        "department" => ValueType::Department,
        "group" => ValueType::Group,
        "brand" => ValueType::Brand,
        "priority" => ValueType::Enum(PRIORITIES),
        "ticket-status" => ValueType::Enum(TICKET_STATUSES),
        "task-status" => ValueType::Enum(TASK_STATUSES),
        other => panic!("catalog data: unknown value type code {other:?}"),
    }
}

fn build() -> Catalog {
    let categories = data::CATEGORIES
        .iter()
        .map(|c| {
            let conditions: Vec<ConditionDef> = c
                .conditions
                .iter()
                .map(|entry| {
                    let (title, code) = entry
                        .split_once(':')
                        .expect("catalog data: condition without a type");
                    ConditionDef {
                        id: kebab(title),
                        title,
                        value_type: kind_of(code),
                    }
                })
                .collect();
            let actions: Vec<ActionDef> = c
                .actions
                .iter()
                .map(|entry| {
                    let (title, flags) = entry
                        .split_once(':')
                        .expect("catalog data: action without modes");
                    ActionDef {
                        id: kebab(title),
                        title,
                        digest: flags.contains('d'),
                        per_item: flags.contains('p'),
                        admin_only: flags.contains('A'),
                    }
                })
                .collect();
            let event_types = c
                .types
                .iter()
                .map(|entry| {
                    let (title, flags) = entry.split_once('|').unwrap_or((entry, ""));
                    EventType {
                        id: kebab(title),
                        title,
                        admin_only: c.admin_only || flags.contains('A'),
                        manual: flags.contains('M'),
                        time_based: flags.contains('T'),
                        custom_fields: c.custom_fields,
                        conditions: conditions.clone(),
                        actions: actions.clone(),
                    }
                })
                .collect();
            Category {
                id: c.id,
                title: c.title,
                item: c.item,
                admin_only: c.admin_only,
                event_types,
            }
        })
        .collect();
    Catalog { categories }
}

impl Catalog {
    /// Every category, in the order of the specification.
    pub fn categories(&self) -> &[Category] {
        &self.categories
    }

    /// A category by id.
    pub fn category(&self, id: &str) -> Option<&Category> {
        self.categories.iter().find(|c| c.id == id)
    }

    /// An event type by category and id.
    pub fn event_type(&self, category: &str, event_type: &str) -> Option<&EventType> {
        self.category(category)?.event_type(event_type)
    }
}

impl Category {
    /// One of its event types by id.
    pub fn event_type(&self, id: &str) -> Option<&EventType> {
        self.event_types.iter().find(|t| t.id == id)
    }
}

impl EventType {
    /// One of its conditions by id.
    pub fn condition(&self, id: &str) -> Option<&ConditionDef> {
        self.conditions.iter().find(|c| c.id == id)
    }

    /// One of its actions by id.
    pub fn action(&self, id: &str) -> Option<&ActionDef> {
        self.actions.iter().find(|a| a.id == id)
    }

    /// Whether `cf.<name>` conditions are allowed.
    pub fn has_custom_fields(&self) -> bool {
        self.custom_fields
    }
}

/// Where a catalog condition reads its value and how it compares.
pub fn condition_field(def: &ConditionDef) -> (Field, ValueKind) {
    let item = || Field::Item(def.id.clone());
    match def.value_type {
        ValueType::Text
        | ValueType::Agent
        | ValueType::Department
        | ValueType::Group
        | ValueType::Brand => (item(), ValueKind::Text),
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn thirteen_categories_with_unique_kebab_ids() {
        let c = catalog();
        assert_eq!(c.categories().len(), 13);
        let mut ids = HashSet::new();
        for cat in c.categories() {
            assert!(ids.insert(cat.id), "{}", cat.id);
            assert!(!cat.event_types.is_empty(), "{}", cat.id);
            let mut types = HashSet::new();
            for t in &cat.event_types {
                assert!(types.insert(&t.id), "{}", t.id);
                assert_eq!(t.id, kebab(&t.id), "{}", t.id);
                let conds: HashSet<&str> = t.conditions.iter().map(|c| c.id.as_str()).collect();
                assert_eq!(
                    conds.len(),
                    t.conditions.len(),
                    "duplicate condition in {}",
                    t.id
                );
                let acts: HashSet<&str> = t.actions.iter().map(|a| a.id.as_str()).collect();
                assert_eq!(acts.len(), t.actions.len(), "duplicate action in {}", t.id);
                assert!(t.actions.iter().all(|a| a.digest || a.per_item));
            }
        }
    }

    #[test]
    fn corrections_and_flags() {
        let c = catalog();
        assert!(c.event_type("ticket", "ticket-comment-added").is_some());
        assert!(c.event_type("ticket", "ticket-commend-added").is_none());
        assert!(c.event_type("smtp", "pop-login-failed").is_none());
        let rooms = c.category("chat-rooms").unwrap();
        assert_eq!(rooms.event_types.len(), 3);
        for id in ["pop", "smtp", "active-group"] {
            assert!(
                c.category(id)
                    .unwrap()
                    .event_types
                    .iter()
                    .all(|t| t.admin_only),
                "{id}"
            );
        }
        assert!(
            c.event_type("whos-on", "online-visitor-purged")
                .unwrap()
                .admin_only
        );
        assert!(
            c.event_type("whos-on", "online-visitor-removed")
                .unwrap()
                .admin_only
        );
        assert!(
            !c.event_type("whos-on", "online-activity")
                .unwrap()
                .admin_only
        );
        for (cat, t) in [
            ("ticket", "manual-ticket-event"),
            ("call-logs", "manual-call-log-event"),
            ("knowledge-base", "manual-kb-event"),
            ("live-chat", "manual-live-chat-event"),
            ("task", "manual-task-event"),
        ] {
            assert!(c.event_type(cat, t).unwrap().manual, "{t}");
        }
        assert!(c.event_type("ticket", "ticket-idle").unwrap().time_based);
        assert!(!c.event_type("ticket", "ticket-created").unwrap().time_based);
        let idle = c.event_type("ticket", "ticket-idle").unwrap();
        assert_eq!(
            idle.condition("idle-minutes").unwrap().value_type,
            ValueType::Minutes
        );
        assert_eq!(
            idle.condition("priority").unwrap().value_type,
            ValueType::Enum(PRIORITIES)
        );
        let log = idle.action("log-to-file").unwrap();
        assert!(log.digest && log.per_item);
        assert!(!idle.action("transfer-ticket").unwrap().per_item);
        assert!(
            c.event_type("whos-on", "online-activity")
                .unwrap()
                .action("purge-from-list")
                .unwrap()
                .admin_only
        );
    }

    #[test]
    fn serializes_and_renders() {
        let json = serde_json::to_value(catalog()).unwrap();
        assert_eq!(json["categories"].as_array().unwrap().len(), 13);
        let text = catalog().render_text();
        for cat in catalog().categories() {
            assert!(text.contains(cat.title), "{}", cat.title);
        }
    }

    #[test]
    fn kebab_ids() {
        assert_eq!(kebab("Who's On"), "whos-on");
        assert_eq!(kebab("Ticket Follow-up Due"), "ticket-follow-up-due");
        assert_eq!(kebab("User's Email"), "users-email");
    }
}
