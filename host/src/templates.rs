//! Settings templates: string settings of a rule action are rendered by the
//! host with minijinja before the plugin runs (`{{ item.subject }}`,
//! `{{ event.type }}`, `{% for i in items %}…{% endfor %}`, `{{ rule.name }}`).
//!
//! The sandbox: no loader (no file access), no auto-escaping, a fuel limit so
//! an endless loop fails instead of hanging, a recursion limit, and a cap on
//! each rendered string's size. Undefined values render empty (and chain:
//! `{{ item.missing.deeper }}`), while syntax errors and unknown filters are
//! errors naming the setting.

use crate::event::{Event, ItemSnapshot};
use crate::rules::Rule;
use minijinja::{Environment, UndefinedBehavior};
use serde_json::{json, Map, Value};
use std::sync::OnceLock;

/// Instructions one string may spend.
pub const FUEL: u64 = 50_000;
/// Nesting depth allowed in a template.
pub const RECURSION_LIMIT: usize = 50;
/// Largest rendered string, bytes.
pub const MAX_OUTPUT: usize = 1 << 20;

/// A setting whose template cannot be rendered.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("settings.{setting}: {message}")]
pub struct TemplateError {
    /// Path of the setting (`body`, `headers.X-Token`, `to[1]`).
    pub setting: String,
    /// What is wrong.
    pub message: String,
}

fn env() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Chainable);
        env.set_fuel(Some(FUEL));
        env.set_recursion_limit(RECURSION_LIMIT);
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
        env
    })
}

/// Renders every string inside `settings` (through arrays and objects;
/// other values untouched). Strings without template markers are returned
/// as they are.
pub fn render_settings(
    settings: &Map<String, Value>,
    context: &Value,
) -> Result<Map<String, Value>, TemplateError> {
    settings
        .iter()
        .map(|(k, v)| Ok((k.clone(), render_value(v, context, k)?)))
        .collect()
}

fn render_value(value: &Value, context: &Value, path: &str) -> Result<Value, TemplateError> {
    Ok(match value {
        Value::String(s) => Value::String(render_str(s, context, path)?),
        Value::Array(list) => Value::Array(
            list.iter()
                .enumerate()
                .map(|(i, v)| render_value(v, context, &format!("{path}[{i}]")))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), render_value(v, context, &format!("{path}.{k}"))?)))
                .collect::<Result<_, TemplateError>>()?,
        ),
        other => other.clone(),
    })
}

fn render_str(source: &str, context: &Value, path: &str) -> Result<String, TemplateError> {
    if !(source.contains("{{") || source.contains("{%") || source.contains("{#")) {
        return Ok(source.to_string());
    }
    let fail = |message: String| TemplateError {
        setting: path.to_string(),
        message,
    };
    let out = env()
        .render_str(source, context)
        .map_err(|e| fail(describe(&e)))?;
    if out.len() > MAX_OUTPUT {
        return Err(fail(format!(
            "renders to {} bytes, more than the limit of {MAX_OUTPUT}",
            out.len()
        )));
    }
    Ok(out)
}

/// The error with its causes and line, on one line.
fn describe(e: &minijinja::Error) -> String {
    let mut text = match e.line() {
        Some(line) => format!("line {line}: {}", e),
        None => e.to_string(),
    };
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(&format!(": {s}"));
        source = s.source();
    }
    text
}

fn item_value(item: &ItemSnapshot) -> Value {
    let mut v = item.fields.clone();
    v.insert("kind".into(), json!(item.kind));
    v.insert("id".into(), json!(item.id));
    v.insert("fields".into(), Value::Object(item.fields.clone()));
    Value::Object(v)
}

/// The template context: `event` {id, category, type, occurred_at, agent,
/// old_values}, `items` (each {kind, id, fields} plus every field at the top,
/// so `{{ item.subject }}` works), `item` (the first), `rule` {id, name, owner}.
pub fn context(event: &Event, items: &[ItemSnapshot], rule: &Rule) -> Value {
    let items: Vec<Value> = items.iter().map(item_value).collect();
    json!({
        "event": {
            "id": event.id, "category": event.category, "type": event.event_type,
            "occurred_at": event.occurred_at, "agent": event.agent, "old_values": event.old_values,
        },
        "item": items.first().cloned().unwrap_or(Value::Null),
        "items": items,
        "rule": {"id": rule.id, "name": rule.name, "owner": rule.owner},
    })
}

/// Whether a settings key names a secret.
fn secret_name(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    [
        "password",
        "secret",
        "token",
        "api_key",
        "api-key",
        "apikey",
        "authorization",
    ]
    .iter()
    .any(|s| k.contains(s))
}

/// Whether the schema marks a property secret (`writeOnly` or `format: password`).
fn secret_in_schema(schema: Option<&Value>, key: &str) -> bool {
    schema
        .and_then(|s| s.get("properties"))
        .and_then(|p| p.get(key))
        .is_some_and(|p| {
            p.get("writeOnly") == Some(&Value::Bool(true))
                || p.get("format").and_then(Value::as_str) == Some("password")
        })
}

/// A copy of settings safe for the audit: values of secret-looking keys, or
/// of properties the schema marks `writeOnly` / `format: password`, become
/// `"***"`, at any depth.
pub fn redact(settings: &Map<String, Value>, schema: Option<&Value>) -> Map<String, Value> {
    settings
        .iter()
        .map(|(k, v)| {
            let value = if secret_name(k) || secret_in_schema(schema, k) {
                json!("***")
            } else {
                let inner = schema
                    .and_then(|s| s.get("properties"))
                    .and_then(|p| p.get(k));
                redact_value(v, inner)
            };
            (k.clone(), value)
        })
        .collect()
}

fn redact_value(value: &Value, schema: Option<&Value>) -> Value {
    match value {
        Value::Object(map) => Value::Object(redact(map, schema)),
        Value::Array(list) => {
            let items = schema.and_then(|s| s.get("items"));
            Value::Array(list.iter().map(|v| redact_value(v, items)).collect())
        }
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> Value {
        let event: Event = serde_json::from_value(json!({
            "id": "e1", "category": "ticket", "event_type": "ticket-created",
            "occurred_at": "2026-11-30T10:00:00Z", "agent": "ana",
            "items": [
                {"kind": "ticket", "id": "1", "fields": {"subject": "Printer", "priority": "high"}},
                {"kind": "ticket", "id": "2", "fields": {"subject": "Mouse"}}
            ]
        }))
        .unwrap();
        let rule: Rule = serde_json::from_value(json!({
            "id": "r1", "name": "Urgent", "category": "ticket", "event_type": "ticket-created",
            "actions": []
        }))
        .unwrap();
        context(&event, &event.items, &rule)
    }

    fn render(settings: Value) -> Result<Value, TemplateError> {
        render_settings(settings.as_object().unwrap(), &ctx()).map(Value::Object)
    }

    #[test]
    fn fields_event_rule_and_digest_loops_render() {
        let out = render(json!({
            "subject": "[{{ rule.name }}] {{ item.subject }} ({{ item.priority }})",
            "type": "{{ event.type }} by {{ event.agent }}",
            "list": "{% for i in items %}{{ i.id }}:{{ i.fields.subject }},{% endfor %}",
            "count": 3, "flag": true
        }))
        .unwrap();
        assert_eq!(out["subject"], "[Urgent] Printer (high)");
        assert_eq!(out["type"], "ticket-created by ana");
        assert_eq!(out["list"], "1:Printer,2:Mouse,");
        assert_eq!(
            (out["count"].clone(), out["flag"].clone()),
            (json!(3), json!(true))
        );
    }

    #[test]
    fn missing_values_render_empty() {
        let out = render(json!({"x": "<{{ item.nothing }}{{ item.nothing.deeper }}>"})).unwrap();
        assert_eq!(out["x"], "<>");
    }

    #[test]
    fn errors_name_the_setting_path() {
        let e = render(json!({"headers": {"X": "{{ item.subject "}})).unwrap_err();
        assert_eq!(e.setting, "headers.X");
        assert!(e.to_string().starts_with("settings.headers.X: "), "{e}");
        let e = render(json!({"to": ["a@x", "{{ item.id | no_such_filter }}"]})).unwrap_err();
        assert_eq!(e.setting, "to[1]");
        assert!(
            e.message.contains("no_such_filter") || e.message.contains("unknown filter"),
            "{e}"
        );
    }

    #[test]
    fn endless_work_runs_out_of_fuel() {
        let e = render(json!({"body": "{% for i in range(10000) %}{% for j in range(10000) %}x{% endfor %}{% endfor %}"})).unwrap_err();
        assert_eq!(e.setting, "body");
        assert!(e.message.contains("fuel"), "{e}");
    }

    #[test]
    fn output_is_capped() {
        let e = render(json!({"body": "{{ 'x' * 2000000 }}"})).unwrap_err();
        assert!(e.message.contains("more than the limit"), "{e}");
    }

    #[test]
    fn plain_strings_are_untouched() {
        let out = render(json!({"url": "https://x/{ not a template }"})).unwrap();
        assert_eq!(out["url"], "https://x/{ not a template }");
    }

    #[test]
    fn secrets_are_redacted_by_name_and_by_schema() {
        let settings = json!({
            "url": "https://x", "api_key": "k", "nested": {"Authorization": "Bearer t", "ok": 1},
            "pin": "1234", "list": [{"password": "p"}]
        });
        let schema = json!({"properties": {"pin": {"type": "string", "writeOnly": true}}});
        let out = Value::Object(redact(settings.as_object().unwrap(), Some(&schema)));
        assert_eq!(out["url"], "https://x");
        assert_eq!(out["api_key"], "***");
        assert_eq!(out["nested"]["Authorization"], "***");
        assert_eq!(out["nested"]["ok"], 1);
        assert_eq!(out["pin"], "***");
        assert_eq!(out["list"][0]["password"], "***");
        let schema = json!({"properties": {"pin": {"format": "password"}}});
        let out = Value::Object(redact(settings.as_object().unwrap(), Some(&schema)));
        assert_eq!(out["pin"], "***");
        let out = Value::Object(redact(settings.as_object().unwrap(), None));
        assert_eq!(out["pin"], "1234");
    }
}
