//! Log to File: appends what fired to a file in the plugin's granted directory.
//!
//! Per item, one line per item; as a digest, one block: a header line naming the
//! rule and the number of items, then one indented line per item. The granted
//! directory is the only file system the plugin can see, mounted at `/data`.

use serde::Deserialize;
use std::io::Write;
use tocsin_sdk::prelude::*;

/// Where the granted directory appears inside the sandbox.
const GRANTED_DIR: &str = "/data";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Settings {
    /// File name relative to the granted directory.
    file: String,
    /// Optional text added to every line (already rendered by the host).
    #[serde(default)]
    message: Option<String>,
}

struct LogToFile;

impl Plugin for LogToFile {
    fn describe() -> PluginInfo {
        PluginInfo::new("log-file", env!("CARGO_PKG_VERSION")).action(
            ActionInfo::new("log-to-file", "Log to File")
                .description("Append the firing to a file in the granted directory")
                .schema(serde_json::json!({
                    "type": "object",
                    "required": ["file"],
                    "additionalProperties": false,
                    "properties": {
                        "file": {"type": "string", "minLength": 1,
                                  "description": "file name, relative to the granted directory"},
                        "message": {"type": "string", "description": "text added to each line"}
                    }
                }))
                .modes(&[Mode::Digest, Mode::PerItem]),
        )
    }

    fn run(inv: Invocation) -> Result<Outcome, Failure> {
        let settings: Settings = inv.settings()?;
        let path = checked_path(&settings.file)?;
        let text = render(&inv, settings.message.as_deref());
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| Failure::from(e).with_context(&settings.file))?;
        file.write_all(text.as_bytes())
            .map_err(|e| Failure::from(e).with_context(&settings.file))?;
        let lines = text.lines().count();
        Ok(Outcome::new(format!(
            "wrote {lines} line(s) to {}",
            settings.file
        )))
    }
}

trait WithContext {
    fn with_context(self, file: &str) -> Self;
}

impl WithContext for Failure {
    fn with_context(mut self, file: &str) -> Self {
        self.message = format!("{file}: {}", self.message);
        self
    }
}

/// Refuses absolute paths and `..` so a setting cannot name a file outside the
/// directory; the host's preopen refuses it anyway, this gives a clearer error.
fn checked_path(file: &str) -> Result<String, Failure> {
    let bad = file.starts_with('/')
        || file
            .split(['/', '\\'])
            .any(|part| part == ".." || part.is_empty());
    if bad {
        return Err(Failure::bad_settings(format!(
            "settings.file: {file:?} must be a relative path inside the granted directory, without `..`"
        )));
    }
    Ok(format!("{GRANTED_DIR}/{file}"))
}

fn item_line(item: &Item) -> String {
    let subject = item.field_text("subject");
    if subject.is_empty() {
        format!("{}#{}", item.kind, item.id)
    } else {
        format!("{}#{} {subject:?}", item.kind, item.id)
    }
}

fn render(inv: &Invocation, message: Option<&str>) -> String {
    let suffix = message.map(|m| format!(" {m}")).unwrap_or_default();
    let ev = &inv.event;
    match inv.mode {
        Mode::PerItem => inv
            .items
            .iter()
            .map(|item| {
                format!(
                    "{} rule={:?} event={} {}{suffix}\n",
                    ev.occurred_at,
                    inv.rule.name,
                    ev.event_type,
                    item_line(item)
                )
            })
            .collect(),
        Mode::Digest => {
            let mut block = format!(
                "{} rule={:?} event={} items={}{suffix}\n",
                ev.occurred_at,
                inv.rule.name,
                ev.event_type,
                inv.items.len()
            );
            for item in &inv.items {
                block.push_str(&format!("  - {}\n", item_line(item)));
            }
            block
        }
    }
}

export_plugin!(LogToFile);
