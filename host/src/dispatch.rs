//! Turns a firing (an event that matched a rule) into invocations and runs
//! them: each action in the rule's order; digest mode once with every item,
//! per-item mode once per item.

use crate::event::{Event, ItemSnapshot};
use crate::plugins::bindings::{self, Invocation, Mode, RuleRef};
use crate::plugins::{InvokeError, Registry};
use crate::rules::{Rule, RuleMode};

/// What one invocation did.
#[derive(Debug)]
pub struct InvocationReport {
    /// Position of the action in the rule.
    pub action_index: usize,
    /// Plugin id.
    pub plugin: String,
    /// Action id.
    pub action: String,
    /// Digest or per item.
    pub mode: RuleMode,
    /// Ids of the items it was given.
    pub items: Vec<String>,
    /// The outcome summary, or why it failed.
    pub result: Result<String, InvokeError>,
}

/// Runs every action of `rule` for `event` and the items that passed its
/// conditions (indexes into `event.items`), in order.
pub async fn fire(
    registry: &Registry,
    rule: &Rule,
    event: &Event,
    items: &[usize],
) -> Vec<InvocationReport> {
    let mut reports = Vec::new();
    let event_id = event.id.clone().unwrap_or_default();
    let matched: Vec<&ItemSnapshot> = items.iter().filter_map(|&i| event.items.get(i)).collect();
    for (index, action) in rule.actions.iter().enumerate() {
        let batches: Vec<Vec<&ItemSnapshot>> = match action.mode {
            RuleMode::Digest => vec![matched.clone()],
            RuleMode::PerItem => matched.iter().map(|i| vec![*i]).collect(),
        };
        for batch in batches {
            let scope = match action.mode {
                RuleMode::Digest => "digest".to_string(),
                RuleMode::PerItem => batch[0].id.clone(),
            };
            let invocation = Invocation {
                id: format!("{event_id}/{}/{index}/{scope}", rule.id),
                attempt: 1,
                rule: RuleRef {
                    id: rule.id.clone(),
                    name: rule.name.clone(),
                    owner: rule.owner.clone(),
                },
                action: action.action.clone(),
                action_index: index as u32,
                mode: Mode::from(action.mode),
                settings: serde_json::Value::Object(action.settings.clone()).to_string(),
                event: wit_event(event),
                items: batch.iter().map(|i| wit_item(i)).collect(),
            };
            let result = match registry.get(&action.plugin) {
                Some(installed) => registry
                    .runtime()
                    .invoke(&installed.plugin, installed.grants.clone(), invocation)
                    .await
                    .map(|o| o.summary),
                None => Err(InvokeError::Unavailable {
                    plugin: action.plugin.clone(),
                    message: "is not installed".into(),
                }),
            };
            reports.push(InvocationReport {
                action_index: index,
                plugin: action.plugin.clone(),
                action: action.action.clone(),
                mode: action.mode,
                items: batch.iter().map(|i| i.id.clone()).collect(),
                result,
            });
        }
    }
    reports
}

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
