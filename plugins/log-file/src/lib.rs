//! Log to File: appends what fired to a file in the plugin's granted directory.
//!
//! Per item, one line per item; as a digest, one block: a header line naming the
//! rule and the number of items, then one indented line per item. The granted
//! directory is the only file system the plugin can see, mounted at `/data`.
//!
//! Rotation by size: with `max_bytes` set, a write that would take the file
//! past it first renames `file` to `file.1` (and `file.1` to `file.2`, up to
//! `keep` old files; the oldest is removed), then starts a new `file`.

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
    /// Rotate before the file would grow past this many bytes.
    #[serde(default)]
    max_bytes: Option<u64>,
    /// Rotated files kept (`file.1` is the newest).
    #[serde(default = "default_keep")]
    keep: u32,
}

/// Rotated files kept when `keep` is not set.
const DEFAULT_KEEP: u32 = 3;

fn default_keep() -> u32 {
    DEFAULT_KEEP
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
                        "message": {"type": "string", "description": "text added to each line"},
                        "max_bytes": {"type": "integer", "minimum": 1,
                                      "description": "rotate the file before it would grow past this size"},
                        "keep": {"type": "integer", "minimum": 1, "maximum": 100, "default": DEFAULT_KEEP,
                                 "description": "rotated files kept (file.1 is the newest)"}
                    }
                }))
                .modes(&[Mode::Digest, Mode::PerItem]),
        )
    }

    fn run(inv: Invocation) -> Result<Outcome, Failure> {
        let settings: Settings = inv.settings()?;
        let path = checked_path(&settings.file)?;
        if !(1..=100).contains(&settings.keep) {
            return Err(Failure::bad_settings(format!(
                "settings.keep: {} is outside 1..=100",
                settings.keep
            )));
        }
        let text = render(&inv, settings.message.as_deref());
        let rotated = match settings.max_bytes {
            Some(max) => rotate_if_full(&path, text.len() as u64, max, settings.keep)
                .map_err(|e| Failure::from(e).with_context(&settings.file))?,
            None => false,
        };
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| Failure::from(e).with_context(&settings.file))?;
        file.write_all(text.as_bytes())
            .map_err(|e| Failure::from(e).with_context(&settings.file))?;
        let lines = text.lines().count();
        let note = if rotated { " (rotated)" } else { "" };
        Ok(Outcome::new(format!(
            "wrote {lines} line(s) to {}{note}",
            settings.file
        )))
    }
}

/// Rotates `path` when appending `adding` bytes would take a non-empty file
/// past `max`: `path.{keep-1}` → `path.{keep}` … `path` → `path.1`. Returns
/// whether it rotated. A text larger than `max` on its own still goes into a
/// fresh file (nothing is dropped).
fn rotate_if_full(path: &str, adding: u64, max: u64, keep: u32) -> std::io::Result<bool> {
    let size = match std::fs::metadata(path) {
        Ok(m) => m.len(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    if size == 0 || size + adding <= max {
        return Ok(false);
    }
    let keep = keep.max(1);
    let old = |n: u32| format!("{path}.{n}");
    absent_is_fine(std::fs::remove_file(old(keep)))?;
    for n in (1..keep).rev() {
        absent_is_fine(std::fs::rename(old(n), old(n + 1)))?;
    }
    std::fs::rename(path, old(1))?;
    Ok(true)
}

/// A file that is not there is nothing to remove or move.
fn absent_is_fine(result: std::io::Result<()>) -> std::io::Result<()> {
    match result {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        other => other,
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
