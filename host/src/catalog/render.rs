//! The catalog as text, for `tocsin catalog`.

use super::{Catalog, ValueType};
use std::fmt::Write;

impl ValueType {
    /// A short name for listings.
    pub fn describe(&self) -> String {
        match self {
            ValueType::Enum(values) => format!("one of {}", values.join("|")),
            other => serde_json::to_value(other)
                .ok()
                .and_then(|v| v["type"].as_str().map(str::to_string))
                .unwrap_or_default(),
        }
    }
}

impl Catalog {
    /// A readable listing: categories, event types with their flags, and the
    /// conditions and actions each category's event types share.
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        for cat in self.categories() {
            let admin = if cat.admin_only { " [admin only]" } else { "" };
            let _ = writeln!(
                out,
                "{} ({}): items of kind {}{admin}",
                cat.title, cat.id, cat.item
            );
            for t in &cat.event_types {
                let mut flags = Vec::new();
                if t.admin_only && !cat.admin_only {
                    flags.push("admin only");
                }
                if t.manual {
                    flags.push("manual");
                }
                if t.time_based {
                    flags.push("time-based");
                }
                let flags = if flags.is_empty() {
                    String::new()
                } else {
                    format!(" [{}]", flags.join(", "))
                };
                let _ = writeln!(out, "  event {} ({}){flags}", t.title, t.id);
            }
            if let Some(first) = cat.event_types.first() {
                let _ = writeln!(out, "  conditions:");
                for c in &first.conditions {
                    let _ = writeln!(
                        out,
                        "    {} ({}): {}",
                        c.title,
                        c.id,
                        c.value_type.describe()
                    );
                }
                if first.custom_fields {
                    let _ = writeln!(out, "    custom fields (cf.<name>): text");
                }
                let _ = writeln!(out, "  actions:");
                for a in &first.actions {
                    let modes: Vec<&str> = [(a.digest, "digest"), (a.per_item, "per-item")]
                        .iter()
                        .filter(|(on, _)| *on)
                        .map(|(_, m)| *m)
                        .collect();
                    let admin = if a.admin_only { " [admin only]" } else { "" };
                    let _ = writeln!(
                        out,
                        "    {} ({}): {}{admin}",
                        a.title,
                        a.id,
                        modes.join(", ")
                    );
                }
            }
            out.push('\n');
        }
        out
    }
}
