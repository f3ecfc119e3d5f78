//! Reading an invocation: typed settings, item fields, old values.

use crate::{Event, Failure, Invocation, Item, ProviderRequest};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// Parses the rendered settings into `T`; a mismatch is a bad-settings failure
/// whose message names the field.
fn parse_settings<T: DeserializeOwned>(json: &str) -> Result<T, Failure> {
    serde_json::from_str(json).map_err(|e| Failure::bad_settings(format!("settings: {e}")))
}

impl Invocation {
    /// The action's settings as `T` (any serde type).
    pub fn settings<T: DeserializeOwned>(&self) -> Result<T, Failure> {
        parse_settings(&self.settings)
    }
}

impl ProviderRequest {
    /// The provider settings as `T`.
    pub fn settings<T: DeserializeOwned>(&self) -> Result<T, Failure> {
        parse_settings(&self.settings)
    }
}

/// Access to JSON-object fields carried as text in the contract.
pub trait JsonFields {
    /// The JSON object text.
    fn json_text(&self) -> &str;

    /// The fields as a map; empty when the text is not a JSON object.
    fn fields_map(&self) -> Map<String, Value> {
        match serde_json::from_str(self.json_text()) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        }
    }

    /// One field, if present (`subject`, `cf.billing_id`).
    fn field(&self, name: &str) -> Option<Value> {
        self.fields_map().remove(name)
    }

    /// One field as display text: strings as they are, other values as JSON,
    /// missing fields as an empty string.
    fn field_text(&self, name: &str) -> String {
        match self.field(name) {
            Some(Value::String(s)) => s,
            Some(Value::Null) | None => String::new(),
            Some(other) => other.to_string(),
        }
    }
}

impl JsonFields for Item {
    fn json_text(&self) -> &str {
        &self.fields
    }
}

impl JsonFields for Event {
    /// An event's JSON object is its old values.
    fn json_text(&self) -> &str {
        &self.old_values
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{FailureKind, Mode, RuleRef};

    fn inv(settings: &str) -> Invocation {
        Invocation {
            id: "i".into(),
            attempt: 1,
            rule: RuleRef {
                id: "r".into(),
                name: "r".into(),
                owner: "system".into(),
            },
            action: "a".into(),
            action_index: 0,
            mode: Mode::Digest,
            settings: settings.into(),
            event: Event {
                id: "e".into(),
                category: "ticket".into(),
                event_type: "ticket-created".into(),
                occurred_at: "2026-11-28T00:00:00Z".into(),
                agent: None,
                old_values: r#"{"department":"Sales"}"#.into(),
            },
            items: vec![Item {
                kind: "ticket".into(),
                id: "1".into(),
                fields: r#"{"subject":"Hi","n":3}"#.into(),
            }],
        }
    }

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct S {
        url: String,
    }

    #[test]
    fn settings_errors_are_bad_settings_naming_the_field() {
        let err = inv("{}").settings::<S>().unwrap_err();
        assert_eq!(err.kind, FailureKind::BadSettings);
        assert!(
            err.message.contains("missing field `url`"),
            "{}",
            err.message
        );
        assert_eq!(inv(r#"{"url":"x"}"#).settings::<S>().unwrap().url, "x");
    }

    #[test]
    fn fields_read_as_text() {
        let i = inv("{}");
        assert_eq!(i.items[0].field_text("subject"), "Hi");
        assert_eq!(i.items[0].field_text("n"), "3");
        assert_eq!(i.items[0].field_text("missing"), "");
        assert_eq!(i.event.field_text("department"), "Sales");
    }
}
