//! What the help desk sends: an event about one item (or, from a scan, several).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The item an event is about, as the help desk saw it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemSnapshot {
    /// Kind (`ticket`, `live-chat`, ...).
    pub kind: String,
    /// The help desk's id.
    pub id: String,
    /// Fields, built-in and custom (`cf.<name>`).
    #[serde(default)]
    pub fields: Map<String, Value>,
}

/// Something that happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Event {
    /// Assigned by the host when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Catalog category id.
    pub category: String,
    /// Catalog event type id.
    pub event_type: String,
    /// When it happened, RFC 3339.
    pub occurred_at: String,
    /// The agent who caused it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    /// Previous values, for change events.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub old_values: Map<String, Value>,
    /// The item (or, for a scan, every matching item).
    pub items: Vec<ItemSnapshot>,
    /// Re-sending an event with the same key is a no-op that returns the
    /// first ingestion's result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
}

/// An event that cannot be accepted.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("event.{field}: {problem}")]
pub struct EventError {
    /// The field at fault.
    pub field: String,
    /// What is wrong and what is accepted.
    pub problem: String,
}

impl Event {
    /// When it happened; call after [`Event::validate`] (falls back to now).
    pub fn at(&self) -> jiff::Timestamp {
        self.occurred_at
            .parse()
            .unwrap_or_else(|_| jiff::Timestamp::now())
    }

    /// Checks what serde cannot: non-empty ids and at least one item.
    pub fn validate(&self) -> Result<(), EventError> {
        let err = |field: &str, problem: &str| EventError {
            field: field.to_string(),
            problem: problem.to_string(),
        };
        if self.category.trim().is_empty() {
            return Err(err(
                "category",
                "is empty; give a catalog category id such as `ticket`",
            ));
        }
        if self.event_type.trim().is_empty() {
            return Err(err(
                "event_type",
                "is empty; give a catalog event type id such as `ticket-created`",
            ));
        }
        if self.occurred_at.parse::<jiff::Timestamp>().is_err() {
            return Err(err(
                "occurred_at",
                "is not an RFC 3339 date-time such as 2026-11-28T09:00:00Z",
            ));
        }
        if self.items.is_empty() {
            return Err(err(
                "items",
                "is empty; an event is about at least one item",
            ));
        }
        for (i, item) in self.items.iter().enumerate() {
            if item.kind.trim().is_empty() {
                return Err(err(&format!("items[{i}].kind"), "is empty"));
            }
            if item.id.trim().is_empty() {
                return Err(err(&format!("items[{i}].id"), "is empty"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_validates() {
        let ev: Event = serde_json::from_str(
            r#"{"category":"ticket","event_type":"ticket-created","occurred_at":"2026-11-28T09:00:00Z",
                "items":[{"kind":"ticket","id":"1","fields":{"subject":"Printer"}}]}"#,
        )
        .unwrap();
        assert!(ev.validate().is_ok());
        let mut empty = ev.clone();
        empty.items.clear();
        assert_eq!(empty.validate().unwrap_err().field, "items");
        let mut when = ev.clone();
        when.occurred_at = "yesterday".into();
        assert_eq!(when.validate().unwrap_err().field, "occurred_at");
        let mut bad = ev;
        bad.items[0].id = " ".into();
        assert_eq!(
            bad.validate().unwrap_err().to_string(),
            "event.items[0].id: is empty"
        );
    }

    #[test]
    fn unknown_fields_are_named() {
        let err = serde_json::from_str::<Event>(
            r#"{"category":"ticket","event_type":"x","occurred_at":"2026-11-28T09:00:00Z","items":[],"colour":1}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("colour"), "{err}");
    }
}
