//! Settings templates: string settings of a rule action are rendered by the
//! host with minijinja before the plugin runs (`{{ item.subject }}`,
//! `{{ event.type }}`, `{% for i in items %}…{% endfor %}`, `{{ rule.name }}`).
//!
//! The sandbox: no loader (no file access, so `include`/`extends`/`import`
//! fail), no auto-escaping, a fuel limit so an endless loop fails instead of
//! hanging, a recursion limit, and a cap on each rendered string's size that
//! is enforced while rendering (output is streamed into a bounded buffer).
//! Undefined values render empty (and chain: `{{ item.missing.deeper }}`),
//! while syntax errors and unknown filters are errors naming the setting.

use crate::event::{Event, ItemSnapshot};
use crate::rules::Rule;
use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use serde_json::{json, Map, Value};
use std::cell::OnceCell;
use std::io;
use std::sync::OnceLock;

/// Instructions one rendered string may spend before it fails.
pub const FUEL: u64 = 50_000;
/// Nesting depth allowed while parsing and rendering a template.
pub const RECURSION_LIMIT: usize = 50;
/// Largest rendered string, in bytes (1 MiB).
pub const MAX_OUTPUT: usize = 1 << 20;

/// A setting whose template cannot be rendered.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("settings.{setting}: {message}")]
pub struct TemplateError {
    /// Path of the failing string inside the settings (`body`,
    /// `headers.X-Token`, `to[1]`).
    pub setting: String,
    /// What is wrong, with minijinja's description and line.
    pub message: String,
}

/// The shared sandboxed environment: no loader, no auto-escape, fuel,
/// recursion limit, chainable undefined values.
fn env() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Chainable);
        env.set_fuel(Some(FUEL));
        env.set_recursion_limit(RECURSION_LIMIT);
        env.set_auto_escape_callback(|_| AutoEscape::None);
        // Render faithfully: a body ending in a newline keeps it, as plain
        // (untemplated) strings do.
        env.set_keep_trailing_newline(true);
        env
    })
}

/// Renders every string inside `settings` (recursively through arrays and
/// objects; other values are copied untouched). Strings without `{{`, `{%`
/// or `{#` are returned unchanged without touching minijinja (and are not
/// subject to [`MAX_OUTPUT`], which bounds what a template produces).
///
/// The first failing string stops rendering; its path is in the error.
pub fn render_settings(
    settings: &Map<String, Value>,
    context: &Value,
) -> Result<Map<String, Value>, TemplateError> {
    let renderer = Renderer {
        context,
        converted: OnceCell::new(),
    };
    settings
        .iter()
        .map(|(k, v)| Ok((k.clone(), renderer.value(v, k)?)))
        .collect()
}

/// The context, converted to a minijinja value once, on first need.
struct Renderer<'a> {
    context: &'a Value,
    converted: OnceCell<minijinja::Value>,
}

impl Renderer<'_> {
    fn value(&self, value: &Value, path: &str) -> Result<Value, TemplateError> {
        Ok(match value {
            Value::String(s) => Value::String(self.string(s, path)?),
            Value::Array(list) => Value::Array(
                list.iter()
                    .enumerate()
                    .map(|(i, v)| self.value(v, &format!("{path}[{i}]")))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| Ok((k.clone(), self.value(v, &format!("{path}.{k}"))?)))
                    .collect::<Result<_, TemplateError>>()?,
            ),
            other => other.clone(),
        })
    }

    fn string(&self, source: &str, path: &str) -> Result<String, TemplateError> {
        if !is_template(source) {
            return Ok(source.to_string());
        }
        let fail = |message: String| TemplateError {
            setting: path.to_string(),
            message,
        };
        let context = self
            .converted
            .get_or_init(|| minijinja::Value::from_serialize(self.context));
        let template = env()
            .template_from_str(source)
            .map_err(|e| fail(describe(&e)))?;
        let mut out = Bounded::default();
        match template.render_captured_to(context, &mut out) {
            Ok(_) => {}
            Err(_) if out.exceeded => {
                return Err(fail(format!(
                    "renders to more than the limit of {MAX_OUTPUT} bytes"
                )))
            }
            Err(e) => return Err(fail(describe(&e))),
        }
        // Every write is a whole `&str`, so the bytes are UTF-8.
        String::from_utf8(out.buf).map_err(|e| fail(format!("rendered invalid UTF-8: {e}")))
    }
}

/// Checks that `source` compiles in the sandboxed environment, as it will
/// be rendered; returns minijinja's description (kind, detail, line) when it
/// does not. Only syntax is checked: filters and values are looked up when
/// rendering, so an unknown filter fails then, naming the string.
pub fn compile(source: &str) -> Result<(), String> {
    if !is_template(source) {
        return Ok(());
    }
    env()
        .template_from_str(source)
        .map(drop)
        .map_err(|e| describe(&e))
}

/// Whether a string contains template markers.
fn is_template(s: &str) -> bool {
    s.contains("{{") || s.contains("{%") || s.contains("{#")
}

/// An output buffer that refuses to grow past [`MAX_OUTPUT`].
#[derive(Default)]
struct Bounded {
    buf: Vec<u8>,
    exceeded: bool,
}

impl io::Write for Bounded {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.buf.len() + data.len() > MAX_OUTPUT {
            self.exceeded = true;
            return Err(io::Error::other("output limit exceeded"));
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// minijinja's error on one line: kind, detail, line, then its causes.
fn describe(e: &minijinja::Error) -> String {
    let mut text = e.kind().to_string();
    if let Some(detail) = e.detail() {
        text.push_str(": ");
        text.push_str(detail);
    }
    if let Some(line) = e.line() {
        text.push_str(&format!(" (line {line})"));
    }
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(&format!(": {s}"));
        source = s.source();
    }
    text
}

/// One item as templates see it: `{kind, id, fields, cf}` plus every field
/// at the top level (`kind`, `id`, `fields` and `cf` win over same-named
/// fields). `cf` holds the custom fields by their name without the `cf.`
/// prefix, so `{{ item.cf.plan }}` reads field `cf.plan` (a dotted name
/// cannot be reached with `.` otherwise, only as `item["cf.plan"]`).
fn item_value(item: &ItemSnapshot) -> Value {
    let mut v = item.fields.clone();
    let custom: Map<String, Value> = item
        .fields
        .iter()
        .filter_map(|(k, v)| {
            k.strip_prefix(crate::catalog::CUSTOM_FIELD_PREFIX)
                .map(|name| (name.to_string(), v.clone()))
        })
        .collect();
    v.insert("kind".into(), json!(item.kind));
    v.insert("id".into(), json!(item.id));
    v.insert("fields".into(), Value::Object(item.fields.clone()));
    v.insert("cf".into(), Value::Object(custom));
    Value::Object(v)
}

/// Builds the template context: `event` {id, category, type, occurred_at,
/// agent, old_values}, `items` (a list; each item is {kind, id, fields, cf}
/// plus every field flattened at the top level, so `{{ item.subject }}`
/// works, and custom fields by name in `cf`, so `{{ item.cf.plan }}` does),
/// `item` (the first item, same shape; absent when there are none) and
/// `rule` {id, name, owner}.
pub fn context(event: &Event, items: &[ItemSnapshot], rule: &Rule) -> Value {
    let items: Vec<Value> = items.iter().map(item_value).collect();
    let mut ctx = json!({
        "event": {
            "id": event.id,
            "category": event.category,
            "type": event.event_type,
            "occurred_at": event.occurred_at,
            "agent": event.agent,
            "old_values": event.old_values,
        },
        "rule": {"id": rule.id, "name": rule.name, "owner": rule.owner},
    });
    if let Some(first) = items.first() {
        ctx["item"] = first.clone();
    }
    ctx["items"] = Value::Array(items);
    ctx
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

/// The schema of property `key` of an object schema, if given.
fn property<'a>(schema: Option<&'a Value>, key: &str) -> Option<&'a Value> {
    schema?.get("properties")?.get(key)
}

/// Whether a property schema marks it secret (`writeOnly` or `format: password`).
fn secret_in_schema(property: Option<&Value>) -> bool {
    property.is_some_and(|p| {
        p.get("writeOnly") == Some(&Value::Bool(true))
            || p.get("format").and_then(Value::as_str) == Some("password")
    })
}

/// A copy of settings safe for the audit: values of keys that look secret
/// (the name contains, case-insensitively, `password`, `secret`, `token`,
/// `api_key`/`api-key`/`apikey` or `authorization`) or that the plugin's
/// JSON schema marks `"writeOnly": true` or `"format": "password"` become
/// `"***"`, at any depth (nested objects follow `properties`, arrays follow
/// `items`).
pub fn redact(settings: &Map<String, Value>, schema: Option<&Value>) -> Map<String, Value> {
    settings
        .iter()
        .map(|(k, v)| {
            let prop = property(schema, k);
            let value = if secret_name(k) || secret_in_schema(prop) {
                json!("***")
            } else {
                redact_value(v, prop)
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

    fn event() -> Event {
        serde_json::from_value(json!({
            "id": "e1", "category": "ticket", "event_type": "ticket-created",
            "occurred_at": "2026-11-30T10:00:00Z", "agent": "ana",
            "old_values": {"priority": "low"},
            "items": [
                {"kind": "ticket", "id": "1", "fields": {"subject": "Printer", "priority": "high"}},
                {"kind": "ticket", "id": "2", "fields": {"subject": "Mouse"}}
            ]
        }))
        .unwrap()
    }

    fn rule() -> Rule {
        serde_json::from_value(json!({
            "id": "r1", "name": "Urgent", "owner": "agent-7", "category": "ticket",
            "event_type": "ticket-created", "actions": []
        }))
        .unwrap()
    }

    fn ctx() -> Value {
        let event = event();
        context(&event, &event.items, &rule())
    }

    fn render(settings: Value) -> Result<Value, TemplateError> {
        render_settings(settings.as_object().unwrap(), &ctx()).map(Value::Object)
    }

    fn one(template: &str) -> Result<Value, TemplateError> {
        render(json!({ "x": template })).map(|v| v["x"].clone())
    }

    #[test]
    fn item_fields_render_flat_and_nested() {
        assert_eq!(
            one("{{ item.subject }} ({{ item.priority }}) #{{ item.id }} {{ item.kind }}").unwrap(),
            "Printer (high) #1 ticket"
        );
        assert_eq!(one("{{ item.fields.subject }}").unwrap(), "Printer");
    }

    #[test]
    fn custom_fields_render_by_name() {
        let event: Event = serde_json::from_value(json!({
            "category": "ticket", "event_type": "ticket-created",
            "occurred_at": "2026-11-30T10:00:00Z",
            "items": [{"kind": "ticket", "id": "1", "fields": {"cf.plan": "Gold", "subject": "S"}}]
        }))
        .unwrap();
        let ctx = context(&event, &event.items, &rule());
        let settings = json!({"x": "{{ item.cf.plan }}/{{ item['cf.plan'] }}/{{ item.fields['cf.plan'] }}/<{{ item.cf.none }}>"});
        let out = render_settings(settings.as_object().unwrap(), &ctx).unwrap();
        assert_eq!(out["x"], "Gold/Gold/Gold/<>");
    }

    #[test]
    fn event_values_render() {
        assert_eq!(
            one("{{ event.type }}/{{ event.category }} by {{ event.agent }} at {{ event.occurred_at }}, id {{ event.id }}, was {{ event.old_values.priority }}")
                .unwrap(),
            "ticket-created/ticket by ana at 2026-11-30T10:00:00Z, id e1, was low"
        );
    }

    #[test]
    fn digest_loops_over_items() {
        assert_eq!(
            one("{% for i in items %}{{ i.id }},{% endfor %}").unwrap(),
            "1,2,"
        );
        assert_eq!(
            one("{% for i in items %}{{ i.subject }}{% if not loop.last %}; {% endif %}{% endfor %}")
                .unwrap(),
            "Printer; Mouse"
        );
    }

    #[test]
    fn rule_values_render() {
        assert_eq!(
            one("[{{ rule.name }}] {{ rule.id }} of {{ rule.owner }}").unwrap(),
            "[Urgent] r1 of agent-7"
        );
    }

    #[test]
    fn nested_objects_and_arrays_are_rendered_with_their_paths() {
        let out = render(json!({
            "headers": {"X-Subject": "{{ item.subject }}"},
            "to": ["a@x", "{{ item.id }}@x", {"deep": ["{{ rule.name }}"]}]
        }))
        .unwrap();
        assert_eq!(out["headers"]["X-Subject"], "Printer");
        assert_eq!(out["to"], json!(["a@x", "1@x", {"deep": ["Urgent"]}]));
    }

    #[test]
    fn errors_name_nested_object_and_array_paths() {
        let e = render(json!({"headers": {"X": "{{ item.subject | nope }}"}})).unwrap_err();
        assert_eq!(e.setting, "headers.X");
        assert!(e.to_string().starts_with("settings.headers.X: "), "{e}");
        let e =
            render(json!({"to": ["{{ item.id }}", "{{ item.id | no_such_filter }}"]})).unwrap_err();
        assert_eq!(e.setting, "to[1]");
        assert!(e.to_string().starts_with("settings.to[1]: "), "{e}");
        assert!(e.message.contains("unknown filter"), "{e}");
        let e = render(json!({"a": {"b": [1, {"c": "{% if %}"}]}})).unwrap_err();
        assert_eq!(e.setting, "a.b[1].c");
    }

    #[test]
    fn syntax_errors_name_the_setting_and_line() {
        let e = render(json!({"body": "Hello\n{{ item.subject "})).unwrap_err();
        assert_eq!(e.setting, "body");
        assert!(e.message.starts_with("syntax error"), "{e}");
        assert!(e.message.contains("line 2"), "{e}");
        let e = one("{% for i in items %}no end").unwrap_err();
        assert!(e.message.contains("syntax error"), "{e}");
    }

    #[test]
    fn compile_checks_syntax_only() {
        assert_eq!(compile("plain {text}"), Ok(()));
        assert_eq!(compile("Hi {{ item.name | upper }}"), Ok(()));
        let e = compile("Hi\n{% if item.vip %}VIP").unwrap_err();
        assert!(e.starts_with("syntax error"), "{e}");
        assert!(e.contains("line 2"), "{e}");
        // Filters are resolved when rendering, not when compiling.
        assert_eq!(compile("{{ item.id | no_such_filter }}"), Ok(()));
    }

    #[test]
    fn endless_loops_run_out_of_fuel() {
        let e =
            render(json!({"body": "{% for i in range(100000000) %}x{% endfor %}"})).unwrap_err();
        assert_eq!(e.setting, "body");
        let e = render(json!({"body": "{% for i in range(10000) %}{% for j in range(10000) %}{% endfor %}{% endfor %}"}))
            .unwrap_err();
        assert_eq!(e.setting, "body");
        assert!(e.message.contains("fuel"), "{e}");
        // Fuel is per string: a modest loop in each of several strings is fine.
        let out = render(json!({
            "a": "{% for i in range(1000) %}{% endfor %}ok",
            "b": "{% for i in range(1000) %}{% endfor %}ok"
        }))
        .unwrap();
        assert_eq!(
            (out["a"].as_str(), out["b"].as_str()),
            (Some("ok"), Some("ok"))
        );
    }

    #[test]
    fn deep_nesting_hits_the_recursion_limit() {
        let nested = |n: usize| {
            format!(
                "{}x{}",
                "{% for a in [1] %}".repeat(n),
                "{% endfor %}".repeat(n)
            )
        };
        let e = one(&nested(RECURSION_LIMIT + 10)).unwrap_err();
        assert!(e.message.contains("recursion"), "{e}");
        assert_eq!(one(&nested(5)).unwrap(), "x");
    }

    #[test]
    fn output_is_capped_per_string() {
        let e = render(json!({"body": "{{ 'x' * 2000000 }}"})).unwrap_err();
        assert_eq!(e.setting, "body");
        assert!(e.message.contains("more than the limit"), "{e}");
        // Many small writes are stopped too, while rendering.
        let e = one("{% for i in range(2000) %}{{ 'y' * 1000 }}{% endfor %}").unwrap_err();
        assert!(e.message.contains("more than the limit"), "{e}");
        // Just under the limit is fine.
        let out = one(&format!("{{{{ 'x' * {MAX_OUTPUT} }}}}")).unwrap();
        assert_eq!(out.as_str().map(str::len), Some(MAX_OUTPUT));
    }

    #[test]
    fn missing_values_render_empty() {
        assert_eq!(
            one("<{{ item.nothing }}{{ item.nothing.deeper }}{{ nowhere }}>").unwrap(),
            "<>"
        );
        // Without items there is no `item`, and it still renders empty.
        let event = event();
        let ctx = context(&event, &[], &rule());
        let settings = json!({"x": "<{{ item.subject }}{% for i in items %}{{ i }}{% endfor %}>"});
        let out = render_settings(settings.as_object().unwrap(), &ctx).unwrap();
        assert_eq!(out["x"], "<>");
    }

    #[test]
    fn non_strings_and_plain_strings_are_untouched() {
        let big = "z".repeat(MAX_OUTPUT + 1);
        let settings = json!({
            "count": 3, "ratio": 0.5, "flag": true, "none": null,
            "list": [1, false, {"n": 2}],
            "url": "https://x/{ not a template }",
            "trailing": "line\n",
            "big": big,
        });
        let out = render(settings.clone()).unwrap();
        // A plain string over the output cap proves the fast path skips minijinja.
        assert_eq!(out, settings);
        assert_eq!(one("{{ item.id }}\n").unwrap(), "1\n");
    }

    #[test]
    fn context_has_the_documented_shape() {
        let c = ctx();
        assert_eq!(c["event"]["type"], "ticket-created");
        assert_eq!(c["event"]["old_values"]["priority"], "low");
        assert_eq!(c["items"].as_array().map(Vec::len), Some(2));
        assert_eq!(c["item"], c["items"][0]);
        assert_eq!(c["item"]["subject"], "Printer");
        assert_eq!(c["item"]["fields"]["subject"], "Printer");
        assert_eq!(
            c["rule"],
            json!({"id": "r1", "name": "Urgent", "owner": "agent-7"})
        );
    }

    #[test]
    fn secrets_are_redacted_by_key_name() {
        let settings = json!({
            "url": "https://x", "api_key": "k", "X-Api-Key": "k", "apikey": "k",
            "nested": {"Authorization": "Bearer t", "ok": 1},
            "list": [{"password": "p", "to": "a@x"}], "client_secret": {"a": 1},
            "accessToken": "t"
        });
        let out = Value::Object(redact(settings.as_object().unwrap(), None));
        assert_eq!(out["url"], "https://x");
        for key in [
            "api_key",
            "X-Api-Key",
            "apikey",
            "client_secret",
            "accessToken",
        ] {
            assert_eq!(out[key], "***", "{key}");
        }
        assert_eq!(out["nested"], json!({"Authorization": "***", "ok": 1}));
        assert_eq!(out["list"], json!([{"password": "***", "to": "a@x"}]));
    }

    #[test]
    fn secrets_are_redacted_by_schema() {
        let settings = json!({"pin": "1234", "to": "a@x", "smtp": {"pass": "p", "host": "h"}});
        let settings = settings.as_object().unwrap();
        let schema = json!({"properties": {
            "pin": {"type": "string", "writeOnly": true},
            "smtp": {"type": "object", "properties": {"pass": {"format": "password"}}}
        }});
        let out = Value::Object(redact(settings, Some(&schema)));
        assert_eq!(out["pin"], "***");
        assert_eq!(out["to"], "a@x");
        assert_eq!(out["smtp"], json!({"pass": "***", "host": "h"}));
        let schema = json!({"properties": {"pin": {"format": "password"}}});
        assert_eq!(redact(settings, Some(&schema))["pin"], "***");
        let schema = json!({"properties": {"pin": {"writeOnly": false, "format": "text"}}});
        assert_eq!(redact(settings, Some(&schema))["pin"], "1234");
        assert_eq!(redact(settings, None)["pin"], "1234");
    }
}
