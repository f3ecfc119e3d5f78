//! The contract's views of an event and its items, as a plugin receives them
//! in an invocation (the engine's workers build invocations from jobs).

use crate::event::{Event, ItemSnapshot};
use crate::plugins::bindings;

/// The contract's view of an event.
pub fn wit_event(event: &Event) -> bindings::Event {
    bindings::Event {
        id: event.id.clone().unwrap_or_default(),
        category: event.category.clone(),
        event_type: event.event_type.clone(),
        occurred_at: event.occurred_at.clone(),
        agent: event.agent.clone(),
        old_values: serde_json::Value::Object(event.old_values.clone()).to_string(),
    }
}

/// The contract's view of an item.
pub fn wit_item(item: &ItemSnapshot) -> bindings::Item {
    bindings::Item {
        kind: item.kind.clone(),
        id: item.id.clone(),
        fields: serde_json::Value::Object(item.fields.clone()).to_string(),
    }
}
