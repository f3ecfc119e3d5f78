//! Which rules an event fires: enabled rules indexed by (category, event type),
//! in a stable order (rule id).

use crate::event::Event;
use crate::rules::Rule;
use std::collections::HashMap;
use std::sync::Arc;

/// Rules indexed for matching.
#[derive(Default)]
pub struct Matcher {
    index: HashMap<(String, String), Vec<Arc<Rule>>>,
}

impl Matcher {
    /// Indexes the enabled rules.
    pub fn new(rules: impl IntoIterator<Item = Rule>) -> Matcher {
        let mut index: HashMap<(String, String), Vec<Arc<Rule>>> = HashMap::new();
        for rule in rules.into_iter().filter(|r| r.enabled) {
            index
                .entry((rule.category.clone(), rule.event_type.clone()))
                .or_default()
                .push(Arc::new(rule));
        }
        for rules in index.values_mut() {
            rules.sort_by(|a, b| a.id.cmp(&b.id));
        }
        Matcher { index }
    }

    /// The rules the event fires, in order.
    pub fn matches(&self, event: &Event) -> &[Arc<Rule>] {
        self.index
            .get(&(event.category.clone(), event.event_type.clone()))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::ItemSnapshot;

    fn rule(id: &str, event_type: &str, enabled: bool) -> Rule {
        serde_json::from_value(serde_json::json!({
            "id": id, "name": id, "enabled": enabled, "category": "ticket",
            "event_type": event_type, "actions": []
        }))
        .unwrap()
    }

    #[test]
    fn matches_by_category_and_type_in_id_order_skipping_disabled() {
        let m = Matcher::new([
            rule("b", "ticket-created", true),
            rule("a", "ticket-created", true),
            rule("c", "ticket-created", false),
            rule("d", "ticket-deleted", true),
        ]);
        let ev = Event {
            id: None,
            category: "ticket".into(),
            event_type: "ticket-created".into(),
            occurred_at: "2026-11-28T09:00:00Z".into(),
            agent: None,
            old_values: Default::default(),
            items: vec![ItemSnapshot {
                kind: "ticket".into(),
                id: "1".into(),
                fields: Default::default(),
            }],
        };
        let ids: Vec<&str> = m.matches(&ev).iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["a", "b"]);
        let other = Event {
            category: "task".into(),
            ..ev
        };
        assert!(m.matches(&other).is_empty());
    }
}
