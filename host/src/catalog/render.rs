//! The catalog as readable text, for `tocsin catalog`.

use super::{ActionDef, Catalog, Category, ConditionDef, EventType};
use std::fmt::Write;

fn condition_line(out: &mut String, indent: &str, c: &ConditionDef) {
    let rule_name = if c.is_custom_field() {
        "cf.<name>"
    } else {
        c.id.as_str()
    };
    let inferred = if c.inferred {
        " [not in the specification]"
    } else {
        ""
    };
    let _ = writeln!(
        out,
        "{indent}{} ({rule_name}): {}{inferred}",
        c.title, c.value_type
    );
}

fn action_line(out: &mut String, indent: &str, a: &ActionDef) {
    let modes: Vec<&str> = a.modes().iter().map(|m| m.name()).collect();
    let mut flags = String::new();
    if a.admin_only {
        flags.push_str(" [admin only]");
    }
    if a.agent_only {
        flags.push_str(" [agent rules only]");
    }
    if a.helpdesk_command {
        flags.push_str(" [help-desk command]");
    }
    let _ = writeln!(
        out,
        "{indent}{} ({}): {}{flags}",
        a.title,
        a.id,
        modes.join(", ")
    );
}

fn same_action(a: &ActionDef, b: &ActionDef) -> bool {
    a.id == b.id
        && a.digest == b.digest
        && a.per_item == b.per_item
        && a.admin_only == b.admin_only
        && a.agent_only == b.agent_only
}

/// Conditions and actions every event type of the category has, identically.
fn shared(cat: &Category) -> (Vec<&ConditionDef>, Vec<&ActionDef>) {
    let Some((first, rest)) = cat.event_types.split_first() else {
        return (Vec::new(), Vec::new());
    };
    let conditions = first
        .conditions
        .iter()
        .filter(|c| {
            rest.iter().all(|t| {
                t.conditions
                    .iter()
                    .any(|o| o.id == c.id && o.value_type == c.value_type)
            })
        })
        .collect();
    let actions = first
        .actions
        .iter()
        .filter(|a| {
            rest.iter()
                .all(|t| t.actions.iter().any(|o| same_action(o, a)))
        })
        .collect();
    (conditions, actions)
}

fn event_line(out: &mut String, cat: &Category, t: &EventType) {
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

impl Catalog {
    /// A readable listing: each category with its item kind, the conditions
    /// (with value types) and actions (with modes) its event types share, then
    /// each event type with its flags and whatever it has beyond the shared set.
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        let types: usize = self.categories().iter().map(|c| c.event_types.len()).sum();
        let _ = writeln!(
            out,
            "tocsin event catalog: {} categories, {types} event types\n",
            self.categories().len()
        );
        for cat in self.categories() {
            let admin = if cat.admin_only { " [admin only]" } else { "" };
            let _ = writeln!(out, "{} ({}){admin}", cat.title, cat.id);
            let _ = writeln!(out, "  {} Items: {}.", cat.description, cat.item);
            let (conditions, actions) = shared(cat);
            let _ = writeln!(out, "  conditions of every event type:");
            for c in &conditions {
                condition_line(&mut out, "    ", c);
            }
            let _ = writeln!(out, "  actions of every event type:");
            for a in &actions {
                action_line(&mut out, "    ", a);
            }
            for t in &cat.event_types {
                event_line(&mut out, cat, t);
                for c in t.conditions.iter().filter(|c| {
                    !conditions
                        .iter()
                        .any(|s| s.id == c.id && s.value_type == c.value_type)
                }) {
                    condition_line(&mut out, "    + condition ", c);
                }
                for a in t
                    .actions
                    .iter()
                    .filter(|a| !actions.iter().any(|s| same_action(s, a)))
                {
                    action_line(&mut out, "    + action ", a);
                }
            }
            out.push('\n');
        }
        out
    }
}
