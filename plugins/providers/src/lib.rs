//! Notify External Provider: hands the event and its items to an installed
//! external provider (a component of the `external-provider` world, named in
//! the settings) through the host's `providers` import, then turns the output
//! variables it answers into help-desk commands on every item of the request:
//!
//! | variable | command |
//! | --- | --- |
//! | `cf.<name>` | `set-fields` |
//! | `department`, `group`, `agent` | `transfer` |
//! | `status` | `set-status` |
//! | `priority` | `set-priority` |
//!
//! Per item, the provider sees one item and its answer applies to it; as a
//! digest, it sees every matching item and its answer applies to all of them.
//! Any other variable refuses the whole answer before a command is submitted.

use serde::Deserialize;
use serde_json::{json, Map, Value};
use tocsin_sdk::helpdesk::{submit, Command};
use tocsin_sdk::prelude::*;
use tocsin_sdk::providers::notify;

const ACTION: &str = "notify-external-provider";
const ROUTING: &[&str] = &["department", "group", "agent"];

struct Providers;

#[derive(Deserialize)]
struct Settings {
    provider: String,
}

impl Plugin for Providers {
    fn describe() -> PluginInfo {
        PluginInfo::new("providers", env!("CARGO_PKG_VERSION")).action(
            ActionInfo::new(ACTION, "Notify External Provider")
                .description(
                    "Hand the event to an external provider; apply the variables it answers",
                )
                .schema(json!({
                    "type": "object",
                    "required": ["provider"],
                    "properties": {
                        "provider": {
                            "type": "string",
                            "minLength": 1,
                            "description": "id of the installed external provider"
                        }
                    },
                    "additionalProperties": true
                }))
                .modes(&[Mode::Digest, Mode::PerItem]),
        )
    }

    fn run(inv: Invocation) -> Result<Outcome, Failure> {
        let settings: Settings = inv.settings()?;
        let request = ProviderRequest {
            id: inv.id.clone(),
            rule: inv.rule.clone(),
            settings: inv.settings.clone(),
            event: inv.event.clone(),
            items: inv.items.clone(),
        };
        let variables = notify(&settings.provider, &request)?;
        if variables.is_empty() {
            return Ok(Outcome::new(format!(
                "provider {} answered no variables",
                settings.provider
            )));
        }
        let commands = commands_for(&settings.provider, &variables)?;
        let mut done = Vec::new();
        for item in &inv.items {
            for (name, arguments) in &commands {
                let command = Command {
                    item_kind: item.kind.clone(),
                    item_id: item.id.clone(),
                    name: (*name).to_string(),
                    arguments: Value::Object(arguments.clone()).to_string(),
                };
                submit(&command).map_err(|e| {
                    let already = if done.is_empty() {
                        String::new()
                    } else {
                        format!(" (already submitted: {})", done.join(", "))
                    };
                    Failure::permanent(format!(
                        "applying the answer of provider {}: {e}{already}",
                        settings.provider
                    ))
                })?;
                done.push(format!("{name} on {}#{}", item.kind, item.id));
            }
        }
        let keys: Vec<&str> = variables.iter().map(|v| v.key.as_str()).collect();
        Ok(Outcome::new(format!(
            "provider {} answered {}; {}",
            settings.provider,
            keys.join(", "),
            if done.is_empty() {
                "no item to apply it to".to_string()
            } else {
                done.join(", ")
            }
        )))
    }
}

/// A command to submit on each item: its name and arguments.
type Planned = (&'static str, Map<String, Value>);

/// The commands an answer becomes, in a fixed order; a later variable with
/// the same key wins.
fn commands_for(provider: &str, variables: &[Variable]) -> Result<Vec<Planned>, Failure> {
    let mut transfer = Map::new();
    let mut fields = Map::new();
    let mut status = Map::new();
    let mut priority = Map::new();
    for (i, v) in variables.iter().enumerate() {
        let value = Value::from(v.value.as_str());
        if v.key.starts_with("cf.") {
            fields.insert(v.key.clone(), value);
        } else if ROUTING.contains(&v.key.as_str()) {
            transfer.insert(v.key.clone(), value);
        } else if v.key == "status" {
            status.insert("status".into(), value);
        } else if v.key == "priority" {
            priority.insert("priority".into(), value);
        } else {
            return Err(Failure::permanent(format!(
                "provider {provider} answered variables[{i}] `{}`, which cannot be applied; \
                 use cf.<name>, department, group, agent, status or priority",
                v.key
            )));
        }
    }
    let mut out = Vec::new();
    if !transfer.is_empty() {
        out.push(("transfer", transfer));
    }
    if !status.is_empty() {
        out.push(("set-status", status));
    }
    if !priority.is_empty() {
        out.push(("set-priority", priority));
    }
    if !fields.is_empty() {
        out.push((
            "set-fields",
            Map::from_iter([("fields".to_string(), Value::Object(fields))]),
        ));
    }
    Ok(out)
}

export_plugin!(Providers);

#[cfg(test)]
mod tests {
    use super::*;

    fn var(key: &str, value: &str) -> Variable {
        Variable {
            key: key.into(),
            value: value.into(),
        }
    }

    #[test]
    fn variables_become_commands_in_a_fixed_order() {
        let commands = commands_for(
            "p",
            &[
                var("cf.billing_id", "1"),
                var("priority", "high"),
                var("department", "Escalations"),
                var("cf.billing_id", "2"),
                var("status", "waiting"),
            ],
        )
        .unwrap();
        let names: Vec<&str> = commands.iter().map(|(n, _)| *n).collect();
        assert_eq!(
            names,
            ["transfer", "set-status", "set-priority", "set-fields"]
        );
        assert_eq!(
            Value::Object(commands[3].1.clone()),
            json!({"fields": {"cf.billing_id": "2"}})
        );
    }

    #[test]
    fn an_unknown_variable_refuses_the_whole_answer() {
        let failure = commands_for("p", &[var("cf.a", "1"), var("subject", "x")]).unwrap_err();
        assert!(
            failure
                .message
                .contains("variables[1] `subject`, which cannot be applied"),
            "{}",
            failure.message
        );
    }
}
