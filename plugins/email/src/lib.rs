//! Send Email: queues a message in the host's mail outbox, which delivers it
//! by SMTP. Recipients, subject and bodies are templates the host renders
//! before the plugin runs (`{{ item.subject }}`, or `{% for i in items %}`
//! in a digest), so a digest sends one message about every item and the
//! per-item mode one message per item.

use serde::Deserialize;
use tocsin_sdk::mail::{send, Message};
use tocsin_sdk::prelude::*;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Settings {
    /// Recipients.
    to: Vec<String>,
    #[serde(default)]
    cc: Vec<String>,
    #[serde(default)]
    bcc: Vec<String>,
    #[serde(default)]
    reply_to: Option<String>,
    subject: String,
    /// Plain-text body.
    #[serde(default)]
    text: Option<String>,
    /// HTML body.
    #[serde(default)]
    html: Option<String>,
}

fn addresses(description: &str) -> serde_json::Value {
    serde_json::json!({"type": "array", "items": {"type": "string", "minLength": 3}, "description": description})
}

struct Email;

impl Plugin for Email {
    fn describe() -> PluginInfo {
        PluginInfo::new("email", env!("CARGO_PKG_VERSION")).action(
            ActionInfo::new("send-email", "Send Email")
                .description("Email the firing to the given addresses")
                .schema(serde_json::json!({
                    "type": "object",
                    "required": ["to", "subject"],
                    "additionalProperties": false,
                    "properties": {
                        "to": addresses("recipients"),
                        "cc": addresses("copy recipients"),
                        "bcc": addresses("blind copy recipients"),
                        "reply_to": {"type": "string", "description": "reply-to address"},
                        "subject": {"type": "string", "minLength": 1, "description": "subject line"},
                        "text": {"type": "string", "description": "plain-text body"},
                        "html": {"type": "string", "description": "HTML body"}
                    }
                }))
                .modes(&[Mode::Digest, Mode::PerItem]),
        )
    }

    fn run(inv: Invocation) -> Result<Outcome, Failure> {
        let s: Settings = inv.settings()?;
        let to: Vec<String> =
            s.to.iter()
                .map(|a| a.trim().to_string())
                .filter(|a| !a.is_empty())
                .collect();
        if to.is_empty() {
            return Err(Failure::bad_settings(
                "settings.to: no recipient (empty after rendering)",
            ));
        }
        if s.subject.trim().is_empty() {
            return Err(Failure::bad_settings(
                "settings.subject: empty after rendering",
            ));
        }
        if s.text.is_none() && s.html.is_none() {
            return Err(Failure::bad_settings(
                "settings.text or settings.html is required",
            ));
        }
        let message = Message {
            to: to.clone(),
            cc: s.cc,
            bcc: s.bcc,
            reply_to: s.reply_to,
            subject: s.subject,
            text: s.text,
            html: s.html,
        };
        // The host refuses malformed messages; that will not change on retry.
        let id = send(&message).map_err(Failure::permanent)?;
        Ok(Outcome::new(format!("queued {id} to {}", to.join(", "))))
    }
}

export_plugin!(Email);
