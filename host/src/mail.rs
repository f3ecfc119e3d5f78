//! The mail outbox: messages plugins queued through the `mail` import are
//! delivered by SMTP (lettre) to the configured relay. A 4xx reply or a
//! connection failure is retried with backoff; a 5xx reply or an address that
//! does not parse fails the message for good. Every state change is written
//! back to the `mail` tree, so nothing is lost across a crash (a message
//! interrupted mid-send is sent again, with the same Message-ID).

use crate::store::Store;
use lettre::message::{header::ContentType, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::Deserialize;
use serde_json::{json, Value};
use std::time::Duration;

/// How the connection to the relay is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Security {
    /// Plain SMTP (a relay on loopback or a trusted network).
    None,
    /// Plain connection upgraded with STARTTLS (port 587).
    #[default]
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
}

/// The SMTP relay mail goes through (`[smtp]` in the configuration).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    /// Relay host name.
    pub host: String,
    /// Relay port (default 587).
    #[serde(default = "default_port")]
    pub port: u16,
    /// `none`, `starttls` (default) or `tls`.
    #[serde(default)]
    pub security: Security,
    /// Login, when the relay needs one.
    #[serde(default)]
    pub username: Option<String>,
    /// Password for `username`.
    #[serde(default)]
    pub password: Option<String>,
    /// The sender address (`Help Desk <help@example.com>`).
    pub from: String,
    /// Timeout of one SMTP exchange, ms (default 30 s).
    #[serde(default = "default_timeout")]
    pub timeout_ms: u64,
    /// Attempts before a message that keeps getting 4xx fails (default 10).
    #[serde(default = "default_attempts")]
    pub max_attempts: u32,
    /// First retry delay, ms (default 30 s); doubles per attempt up to an hour.
    #[serde(default = "default_backoff")]
    pub backoff_ms: i64,
}

fn default_port() -> u16 {
    587
}
fn default_timeout() -> u64 {
    30_000
}
fn default_attempts() -> u32 {
    10
}
fn default_backoff() -> i64 {
    30_000
}

/// Longest wait between two attempts.
const BACKOFF_CAP_MS: i64 = 3_600_000;

/// What one delivery pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Pass {
    /// Messages the relay accepted.
    pub sent: usize,
    /// Messages to try again later.
    pub retried: usize,
    /// Messages that failed for good.
    pub failed: usize,
}

/// Delivers queued mail to the relay.
pub struct Outbox {
    store: Store,
    config: SmtpConfig,
    transport: AsyncSmtpTransport<Tokio1Executor>,
}

impl Outbox {
    /// An outbox for the store's `mail` tree; fails on a bad relay or sender.
    pub fn new(store: Store, config: SmtpConfig) -> anyhow::Result<Outbox> {
        config
            .from
            .parse::<Mailbox>()
            .map_err(|e| anyhow::anyhow!("smtp.from: {:?} is not an address: {e}", config.from))?;
        let builder = match config.security {
            Security::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host),
            Security::Starttls => {
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&config.host)
                    .map_err(|e| anyhow::anyhow!("smtp.host: {e}"))?
            }
            Security::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&config.host)
                .map_err(|e| anyhow::anyhow!("smtp.host: {e}"))?,
        };
        let mut builder = builder
            .port(config.port)
            .timeout(Some(Duration::from_millis(config.timeout_ms)));
        if let Some(user) = &config.username {
            let password = config.password.clone().unwrap_or_default();
            builder = builder.credentials(Credentials::new(user.clone(), password));
        }
        Ok(Outbox {
            transport: builder.build(),
            store,
            config,
        })
    }

    /// Sends every queued message due at `now_ms`, one after the other.
    pub async fn deliver_due(&self, now_ms: i64) -> anyhow::Result<Pass> {
        let tree = self.store.mail_queue();
        let mut pass = Pass::default();
        for entry in tree.iter() {
            let (key, value) = entry?;
            let mut message: Value = serde_json::from_slice(&value)?;
            let status = message["status"].as_str().unwrap_or("queued");
            if status != "queued" || message["due_ms"].as_i64().unwrap_or(0) > now_ms {
                continue;
            }
            let attempts = message["attempts"].as_u64().unwrap_or(0) as u32 + 1;
            message["attempts"] = json!(attempts);
            match self.send(&message).await {
                Ok(reply) => {
                    message["status"] = json!("sent");
                    message["reply"] = json!(reply);
                    message["sent_ms"] = json!(now_ms);
                    pass.sent += 1;
                }
                Err(Failed::Later(error)) if attempts < self.config.max_attempts => {
                    let wait =
                        (self.config.backoff_ms << (attempts - 1).min(20)).min(BACKOFF_CAP_MS);
                    message["due_ms"] = json!(now_ms + wait);
                    message["last_error"] = json!(error);
                    pass.retried += 1;
                }
                Err(Failed::Later(error) | Failed::Never(error)) => {
                    message["status"] = json!("failed");
                    message["last_error"] = json!(error);
                    pass.failed += 1;
                }
            }
            tree.insert(key, serde_json::to_vec(&message)?)?;
        }
        self.store.flush()?;
        Ok(pass)
    }

    async fn send(&self, queued: &Value) -> Result<String, Failed> {
        let message = build(queued, &self.config.from).map_err(Failed::Never)?;
        match self.transport.send(message).await {
            Ok(response) => Ok(format!(
                "{} {}",
                response.code(),
                response.message().collect::<Vec<_>>().join(" ")
            )),
            Err(e) if e.is_permanent() => Err(Failed::Never(format!("relay refused: {e}"))),
            Err(e) => Err(Failed::Later(format!("relay: {e}"))),
        }
    }
}

/// A failed send: worth retrying, or not.
enum Failed {
    Later(String),
    Never(String),
}

/// Builds the MIME message of a queued entry; errors name the bad field.
fn build(queued: &Value, from: &str) -> Result<Message, String> {
    let mut builder = Message::builder()
        .from(from.parse().map_err(|e| format!("smtp.from: {e}"))?)
        .subject(queued["subject"].as_str().unwrap_or_default());
    if let Some(id) = queued["id"].as_str() {
        builder = builder.message_id(Some(format!("<{id}@tocsin>")));
    }
    for field in ["to", "cc", "bcc"] {
        for (i, address) in queued[field].as_array().into_iter().flatten().enumerate() {
            let text = address.as_str().unwrap_or_default();
            let mailbox: Mailbox = text
                .parse()
                .map_err(|e| format!("message.{field}[{i}]: {text:?} is not an address: {e}"))?;
            builder = match field {
                "to" => builder.to(mailbox),
                "cc" => builder.cc(mailbox),
                _ => builder.bcc(mailbox),
            };
        }
    }
    if let Some(text) = queued["reply_to"].as_str() {
        let mailbox: Mailbox = text
            .parse()
            .map_err(|e| format!("message.reply-to: {text:?} is not an address: {e}"))?;
        builder = builder.reply_to(mailbox);
    }
    let text = queued["text"].as_str().map(str::to_string);
    let html = queued["html"].as_str().map(str::to_string);
    let built = match (text, html) {
        (Some(text), Some(html)) => {
            builder.multipart(MultiPart::alternative_plain_html(text, html))
        }
        (None, Some(html)) => builder.singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_HTML)
                .body(html),
        ),
        (text, None) => builder.singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_PLAIN)
                .body(text.unwrap_or_default()),
        ),
    };
    built.map_err(|e| format!("message: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_addresses_name_the_field() {
        let queued = json!({"id": "mail-1", "to": ["ok@example.com", "not an address"], "subject": "s", "text": "t"});
        let err = build(&queued, "Help <help@example.com>").unwrap_err();
        assert!(
            err.starts_with("message.to[1]: \"not an address\""),
            "{err}"
        );
    }

    #[test]
    fn text_and_html_make_an_alternative_with_a_stable_message_id() {
        let queued = json!({"id": "mail-9", "to": ["a@example.com"], "subject": "Hi", "text": "plain", "html": "<b>rich</b>"});
        let raw =
            String::from_utf8(build(&queued, "help@example.com").unwrap().formatted()).unwrap();
        assert!(raw.contains("Message-ID: <mail-9@tocsin>"), "{raw}");
        assert!(raw.contains("multipart/alternative"), "{raw}");
        assert!(
            raw.contains("plain") && raw.contains("<b>rich</b>"),
            "{raw}"
        );
    }
}
