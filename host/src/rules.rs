//! Rules: what to do when an event of a category and type happens.
//!
//! A rule names its category and event type and lists its actions in order;
//! each action names a plugin action, its mode and its settings. Conditions and
//! maximum frequency are not part of this version of the rule format.

use crate::plugins::bindings::Mode;
use crate::plugins::Registry;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A stored rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Identifier.
    pub id: String,
    /// Name shown to people.
    pub name: String,
    /// Disabled rules never fire.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// `system` or an agent id.
    #[serde(default = "system")]
    pub owner: String,
    /// Folder, for grouping.
    #[serde(default)]
    pub folder: String,
    /// Catalog category id.
    pub category: String,
    /// Catalog event type id.
    pub event_type: String,
    /// Actions, run in this order.
    pub actions: Vec<RuleAction>,
}

fn yes() -> bool {
    true
}

fn system() -> String {
    "system".to_string()
}

/// One action of a rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleAction {
    /// Plugin id.
    pub plugin: String,
    /// Action id within the plugin.
    pub action: String,
    /// Digest (once per firing) or per item.
    pub mode: RuleMode,
    /// Settings, checked by the plugin's schema.
    #[serde(default)]
    pub settings: Map<String, Value>,
}

/// Digest or per item, as written in rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RuleMode {
    /// Once per firing with every matching item.
    Digest,
    /// Once per item.
    PerItem,
}

impl RuleMode {
    /// The mode as rules spell it.
    pub fn name(self) -> &'static str {
        Mode::from(self).name()
    }
}

impl From<RuleMode> for Mode {
    fn from(m: RuleMode) -> Mode {
        match m {
            RuleMode::Digest => Mode::Digest,
            RuleMode::PerItem => Mode::PerItem,
        }
    }
}

/// A rule that cannot be accepted; `path` names the field (`actions[1].mode`).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("rule `{rule}`: {path}: {problem}")]
pub struct RuleError {
    /// Rule id.
    pub rule: String,
    /// Path of the field at fault.
    pub path: String,
    /// What is wrong and what is accepted.
    pub problem: String,
}

/// A file of rules: `{"rules": [...]}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSet {
    /// The rules.
    pub rules: Vec<Rule>,
}

impl Rule {
    /// Checks the rule on its own and against the installed plugins.
    pub fn validate(&self, registry: &Registry) -> Result<(), RuleError> {
        let err = |path: String, problem: String| RuleError {
            rule: self.id.clone(),
            path,
            problem,
        };
        for (field, value) in [
            ("id", &self.id),
            ("name", &self.name),
            ("category", &self.category),
            ("event_type", &self.event_type),
        ] {
            if value.trim().is_empty() {
                return Err(err(field.to_string(), "is empty".into()));
            }
        }
        if self.actions.is_empty() {
            return Err(err(
                "actions".into(),
                "is empty; a rule needs at least one action".into(),
            ));
        }
        for (i, action) in self.actions.iter().enumerate() {
            let Some(installed) = registry.get(&action.plugin) else {
                let known: Vec<String> = registry
                    .list()
                    .iter()
                    .map(|p| p.plugin.id().to_string())
                    .collect();
                return Err(err(
                    format!("actions[{i}].plugin"),
                    format!(
                        "`{}` is not installed (installed: {})",
                        action.plugin,
                        known.join(", ")
                    ),
                ));
            };
            let Some(info) = installed
                .plugin
                .info
                .actions
                .iter()
                .find(|a| a.id == action.action)
            else {
                let known: Vec<&str> = installed
                    .plugin
                    .info
                    .actions
                    .iter()
                    .map(|a| a.id.as_str())
                    .collect();
                return Err(err(
                    format!("actions[{i}].action"),
                    format!(
                        "`{}` is not an action of plugin `{}` (it has: {})",
                        action.action,
                        action.plugin,
                        known.join(", ")
                    ),
                ));
            };
            if !info.modes.contains(&action.mode.into()) {
                return Err(err(
                    format!("actions[{i}].mode"),
                    format!(
                        "`{}` is not supported by `{}` (it supports: {})",
                        action.mode.name(),
                        action.action,
                        info.modes
                            .iter()
                            .map(|m| m.name())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
        }
        Ok(())
    }
}
