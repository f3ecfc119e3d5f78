//! Checking a rule against the catalog, its owner's role and the installed
//! plugins, and compiling its conditions. Every error names the path of the
//! field (`actions[2].settings.url`), the value, and what would be accepted.

use super::Rule;
use crate::catalog::{Catalog, EventType};
use crate::conditions::{self, Compiled, Field, ValueKind};
use crate::plugins::Registry;
use std::time::Duration;

/// A rule that cannot be accepted.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("rule `{rule}`: {path}: {problem}")]
pub struct RuleError {
    /// Rule id.
    pub rule: String,
    /// Path of the field at fault (`conditions[0].value`).
    pub path: String,
    /// What is wrong and what is accepted.
    pub problem: String,
}

/// Longest frequency window accepted.
const MAX_WINDOW: Duration = Duration::from_secs(366 * 24 * 3600);

/// Validates rules against a catalog and the installed plugins.
pub struct Validator<'a> {
    /// The catalog.
    pub catalog: &'a Catalog,
    /// Installed plugins.
    pub plugins: &'a Registry,
}

/// A rule that passed validation, with its conditions compiled.
#[derive(Debug, Clone)]
pub struct CheckedRule {
    /// The rule.
    pub rule: Rule,
    /// Its conditions, compiled, in order.
    pub conditions: Vec<Compiled>,
    /// Each action's frequency window.
    pub windows: Vec<Option<Duration>>,
}

impl Validator<'_> {
    /// Checks everything and compiles the conditions.
    pub fn check(&self, rule: &Rule) -> Result<CheckedRule, RuleError> {
        let mut checked = check_against_catalog(self.catalog, rule)?;
        checked.windows = self.check_actions(rule)?;
        Ok(checked)
    }

    /// Checks each action against the catalog and the installed plugin;
    /// returns each action's frequency window.
    fn check_actions(&self, rule: &Rule) -> Result<Vec<Option<Duration>>, RuleError> {
        let err = |path: String, problem: String| RuleError {
            rule: rule.id.clone(),
            path,
            problem,
        };
        let event_type = self
            .catalog
            .event_type(&rule.category, &rule.event_type)
            .ok_or_else(|| err("event_type".into(), "is not in the catalog".into()))?;
        if rule.actions.is_empty() {
            return Err(err(
                "actions".into(),
                "is empty; a rule needs at least one action".into(),
            ));
        }
        let mut windows = Vec::new();
        for (i, action) in rule.actions.iter().enumerate() {
            let Some(allowed) = event_type.action(&action.action) else {
                let ids: Vec<&str> = event_type.actions.iter().map(|a| a.id.as_str()).collect();
                return Err(err(
                    format!("actions[{i}].action"),
                    format!(
                        "{:?} is not an action of {}/{}; use one of: {}",
                        action.action,
                        rule.category,
                        event_type.id,
                        ids.join(", ")
                    ),
                ));
            };
            if allowed.admin_only && rule.agent_owned() {
                return Err(err(
                    format!("actions[{i}].action"),
                    format!(
                        "{} is for admins only; agent `{}` cannot use it",
                        action.action, rule.owner
                    ),
                ));
            }
            if allowed.agent_only && !rule.agent_owned() {
                return Err(err(
                    format!("actions[{i}].action"),
                    format!(
                        "{} reads the rule owner's own notification profile, and a `system` rule \
                         has none; let an agent own the rule, or use \
                         use-default-notification-profile-for-user or send-email",
                        action.action
                    ),
                ));
            }
            let catalog_allows = match action.mode {
                super::RuleMode::Digest => allowed.digest,
                super::RuleMode::PerItem => allowed.per_item,
            };
            if !catalog_allows {
                return Err(err(
                    format!("actions[{i}].mode"),
                    format!(
                        "{} has no {} variant for {}",
                        action.action,
                        action.mode.name(),
                        event_type.id
                    ),
                ));
            }
            let Some(installed) = self.plugins.get(&action.plugin) else {
                let ids: Vec<String> = self
                    .plugins
                    .list()
                    .iter()
                    .map(|p| p.plugin.id().to_string())
                    .collect();
                return Err(err(
                    format!("actions[{i}].plugin"),
                    format!(
                        "{:?} is not installed; installed: {}",
                        action.plugin,
                        if ids.is_empty() {
                            "none".into()
                        } else {
                            ids.join(", ")
                        }
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
                let ids: Vec<&str> = installed
                    .plugin
                    .info
                    .actions
                    .iter()
                    .map(|a| a.id.as_str())
                    .collect();
                return Err(err(
                    format!("actions[{i}].action"),
                    format!(
                        "{:?} is not an action of plugin {}; it has: {}",
                        action.action,
                        action.plugin,
                        ids.join(", ")
                    ),
                ));
            };
            if !info.modes.contains(&action.mode.into()) {
                let modes: Vec<&str> = info.modes.iter().map(|m| m.name()).collect();
                return Err(err(
                    format!("actions[{i}].mode"),
                    format!(
                        "{} is not supported by {}/{}; it supports: {}",
                        action.mode.name(),
                        action.plugin,
                        action.action,
                        modes.join(", ")
                    ),
                ));
            }
            if let Some(problem) = installed
                .plugin
                .check_settings(&action.action, &action.settings)
            {
                return Err(err(
                    format!("actions[{i}].settings{}", problem.0),
                    problem.1,
                ));
            }
            let window = match &action.max_frequency {
                None => None,
                Some(text) => Some(
                    parse_window(text)
                        .map_err(|p| err(format!("actions[{i}].max_frequency"), p))?,
                ),
            };
            if window.is_none() && action.on_suppressed == super::OnSuppressed::Coalesce {
                return Err(err(
                    format!("actions[{i}].on_suppressed"),
                    "\"coalesce\" needs a max_frequency window (such as \"15m\") to coalesce into"
                        .to_string(),
                ));
            }
            windows.push(window);
        }
        Ok(windows)
    }
}

/// Checks what depends on the catalog alone (ids, category, event type, the
/// owner's role, conditions) and compiles the conditions. Actions are not
/// checked: see [`Validator::check`].
pub fn check_against_catalog(catalog: &Catalog, rule: &Rule) -> Result<CheckedRule, RuleError> {
    let err = |path: String, problem: String| RuleError {
        rule: rule.id.clone(),
        path,
        problem,
    };
    if rule.id.is_empty()
        || !rule
            .id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
    {
        return Err(err(
            "id".into(),
            format!(
                "{:?} is not accepted; use letters, digits, `-`, `_` and `.`",
                rule.id
            ),
        ));
    }
    if rule.name.trim().is_empty() {
        return Err(err("name".into(), "is empty".into()));
    }
    if rule.owner.trim().is_empty() {
        return Err(err(
            "owner".into(),
            "is empty; use `system` or an agent id".into(),
        ));
    }
    let Some(category) = catalog.category(&rule.category) else {
        let ids: Vec<&str> = catalog.categories().iter().map(|c| c.id).collect();
        return Err(err(
            "category".into(),
            format!(
                "{:?} is not a category; use one of: {}",
                rule.category,
                ids.join(", ")
            ),
        ));
    };
    let Some(event_type) = category.event_type(&rule.event_type) else {
        let ids: Vec<&str> = category.event_types.iter().map(|t| t.id.as_str()).collect();
        return Err(err(
            "event_type".into(),
            format!(
                "{:?} is not an event type of {}; use one of: {}",
                rule.event_type,
                category.id,
                ids.join(", ")
            ),
        ));
    };
    if rule.business_minutes && !event_type.time_based {
        return Err(err(
            "business_minutes".into(),
            format!(
                "applies only to time-based event types; {} is not one (remove it)",
                event_type.id
            ),
        ));
    }
    if rule.agent_owned() && category.admin_only {
        return Err(err(
            "category".into(),
            format!(
                "{} is for admins only; agent `{}` cannot own a rule in it",
                category.id, rule.owner
            ),
        ));
    }
    if rule.agent_owned() && event_type.admin_only {
        return Err(err(
            "event_type".into(),
            format!(
                "{} is for admins only; agent `{}` cannot own a rule on it",
                event_type.id, rule.owner
            ),
        ));
    }
    let conditions = rule
        .conditions
        .iter()
        .enumerate()
        .map(|(i, cond)| {
            let (field, kind) = resolve_field(event_type, &cond.field)
                .map_err(|problem| err(format!("conditions[{i}].field"), problem))?;
            conditions::compile(cond, field, &kind)
                .map_err(|(sub, problem)| err(format!("conditions[{i}].{sub}"), problem))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(CheckedRule {
        rule: rule.clone(),
        conditions,
        windows: Vec::new(),
    })
}

/// Parses a frequency window: `"30s"`, `"15m"`, `"1h"`, `"2d"`, `"1h 30m"`.
pub fn parse_window(text: &str) -> Result<Duration, String> {
    let bad = || {
        format!("{text:?} is not a duration; use forms such as \"30s\", \"15m\", \"1h\", \"2d\"")
    };
    let span: jiff::Span = text.parse().map_err(|_| bad())?;
    // Windows count days as 24 hours: a frequency limit is about elapsed time.
    let parsed = span
        .to_duration(jiff::SpanRelativeTo::days_are_24_hours())
        .map_err(|_| bad())?;
    let d = Duration::try_from(parsed).map_err(|_| format!("{text:?} is negative"))?;
    if d.is_zero() || d > MAX_WINDOW {
        return Err(format!(
            "{text:?} is out of range; use a window above 0 and at most 366 days"
        ));
    }
    Ok(d)
}

/// The field a condition id refers to and how its values compare.
fn resolve_field(event_type: &EventType, field: &str) -> Result<(Field, ValueKind), String> {
    if let Some(name) = field.strip_prefix("cf.") {
        if name.is_empty() {
            return Err("`cf.` needs a custom field name, such as `cf.billing_id`".into());
        }
        if !event_type.has_custom_fields() {
            return Err(format!("{} has no custom field conditions", event_type.id));
        }
        return Ok((Field::Item(field.to_string()), ValueKind::Text));
    }
    let Some(def) = event_type.condition(field) else {
        let ids: Vec<&str> = event_type
            .conditions
            .iter()
            .map(|c| c.id.as_str())
            .collect();
        return Err(format!(
            "{field:?} is not a condition of {}; use one of: {}",
            event_type.id,
            if ids.is_empty() {
                "none".to_string()
            } else {
                ids.join(", ")
            }
        ));
    };
    Ok(crate::catalog::condition_field(def))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows() {
        assert_eq!(parse_window("15m").unwrap(), Duration::from_secs(900));
        assert_eq!(parse_window("1h").unwrap(), Duration::from_secs(3600));
        assert_eq!(parse_window("2d").unwrap(), Duration::from_secs(2 * 86400));
        assert_eq!(parse_window("1h 30m").unwrap(), Duration::from_secs(5400));
        assert!(parse_window("soon").unwrap_err().contains("not a duration"));
        assert!(parse_window("0s").is_err());
        assert!(parse_window("-5m").is_err());
    }

    #[test]
    fn business_minutes_only_on_time_based_event_types() {
        let rule = |event_type: &str| -> Rule {
            serde_json::from_value(serde_json::json!({
                "id": "r", "name": "r", "category": "ticket", "event_type": event_type,
                "business_minutes": true, "actions": []
            }))
            .unwrap()
        };
        let catalog = crate::catalog::catalog();
        assert!(check_against_catalog(catalog, &rule("ticket-idle")).is_ok());
        let err = check_against_catalog(catalog, &rule("ticket-created")).unwrap_err();
        assert_eq!(err.path, "business_minutes");
    }
}
