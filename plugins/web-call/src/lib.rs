//! Call Web Page: sends one HTTP request per firing (digest) or per item.
//!
//! The host renders templates in the settings before the plugin runs, and its
//! gate checks every request, redirects included, against the plugin's `http`
//! grant. The status decides the outcome: 2xx succeeds; 408, 429 and 5xx are
//! retryable (honouring `Retry-After` in seconds); any other status, a refused
//! host or more than [`MAX_REDIRECTS`] redirects is permanent.

mod client;
mod url;

use client::{Response, SendError};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;
use tocsin_sdk::prelude::*;
use url::Url;

/// Redirects followed before giving up.
pub const MAX_REDIRECTS: usize = 5;
/// Highest accepted `timeout_ms`.
const MAX_TIMEOUT_MS: u64 = 60_000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Settings {
    #[serde(default = "default_method")]
    method: String,
    url: String,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    /// Sent as given; when absent, a JSON body built from the invocation.
    #[serde(default)]
    body: Option<String>,
    #[serde(default = "default_timeout")]
    timeout_ms: u64,
}

fn default_method() -> String {
    "POST".into()
}

fn default_timeout() -> u64 {
    10_000
}

struct WebCall;

impl Plugin for WebCall {
    fn describe() -> PluginInfo {
        PluginInfo::new("web-call", env!("CARGO_PKG_VERSION")).action(
            ActionInfo::new("call-web-page", "Call Web Page")
                .description("Send an HTTP request to a web page or webhook")
                .schema(serde_json::json!({
                    "type": "object",
                    "required": ["url"],
                    "additionalProperties": false,
                    "properties": {
                        "method": {"enum": ["GET", "POST", "PUT", "PATCH", "DELETE"], "default": "POST"},
                        "url": {"type": "string", "minLength": 1, "description": "http:// or https:// URL"},
                        "headers": {"type": "object", "additionalProperties": {"type": "string"}},
                        "body": {"type": "string", "description": "request body; by default a JSON account of the firing"},
                        "timeout_ms": {"type": "integer", "minimum": 1, "maximum": MAX_TIMEOUT_MS, "default": 10_000}
                    }
                }))
                .modes(&[Mode::Digest, Mode::PerItem]),
        )
    }

    fn run(inv: Invocation) -> Result<Outcome, Failure> {
        let settings: Settings = inv.settings()?;
        let mut url = Url::parse(&settings.url)
            .map_err(|e| Failure::bad_settings(format!("settings.url: {e}")))?;
        if !["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&settings.method.as_str()) {
            return Err(Failure::bad_settings(format!(
                "settings.method: {:?} is not GET, POST, PUT, PATCH or DELETE",
                settings.method
            )));
        }
        if settings.timeout_ms == 0 || settings.timeout_ms > MAX_TIMEOUT_MS {
            return Err(Failure::bad_settings(format!(
                "settings.timeout_ms: {} is not accepted; use 1 to {MAX_TIMEOUT_MS}",
                settings.timeout_ms
            )));
        }
        let mut headers: Vec<(String, String)> = settings.headers.into_iter().collect();
        let body = match settings.body {
            Some(text) => text,
            None => {
                if !headers
                    .iter()
                    .any(|(n, _)| n.eq_ignore_ascii_case("content-type"))
                {
                    headers.push(("content-type".into(), "application/json".into()));
                }
                default_body(&inv).to_string()
            }
        };
        let timeout = Duration::from_millis(settings.timeout_ms);
        let mut method = settings.method;
        let mut body = Some(body.into_bytes());
        for _ in 0..=MAX_REDIRECTS {
            let response = client::send(&method, &url, &headers, body.as_deref(), timeout)
                .map_err(|e| send_failure(&method, &url, e))?;
            let status = response.status;
            if !(300..400).contains(&status) {
                return verdict(&method, &url, &response);
            }
            let Some(location) = response.header("location") else {
                return Err(Failure::permanent(format!(
                    "{method} {url} → {status} without a Location header"
                )));
            };
            url = url.join(location).map_err(|e| {
                Failure::permanent(format!("{method} {url} → {status}: Location {e}"))
            })?;
            if status == 303 {
                method = "GET".into();
                body = None;
            }
        }
        Err(Failure::permanent(format!(
            "{method} {url}: more than {MAX_REDIRECTS} redirects"
        )))
    }
}

/// The body sent when the settings give none: the event, the items (fields as
/// objects) and the rule.
fn default_body(inv: &Invocation) -> serde_json::Value {
    let json = |text: &str| serde_json::from_str(text).unwrap_or(serde_json::Value::Null);
    let ev = &inv.event;
    serde_json::json!({
        "event": {
            "id": ev.id, "category": ev.category, "type": ev.event_type,
            "occurred_at": ev.occurred_at, "agent": ev.agent, "old_values": json(&ev.old_values),
        },
        "items": inv.items.iter().map(|item| serde_json::json!({
            "kind": item.kind, "id": item.id, "fields": json(&item.fields),
        })).collect::<Vec<_>>(),
        "rule": {"id": inv.rule.id, "name": inv.rule.name, "owner": inv.rule.owner},
    })
}

/// The outcome of a final (non-redirect) response.
fn verdict(method: &str, url: &Url, response: &Response) -> Result<Outcome, Failure> {
    let status = response.status;
    let line = format!("{method} {url} → {status}");
    if (200..300).contains(&status) {
        return Ok(Outcome::new(line));
    }
    let message = match response.excerpt.trim() {
        "" => line,
        text => format!("{line}: {text}"),
    };
    if status == 408 || status == 429 || (500..600).contains(&status) {
        let failure = Failure::retryable(message);
        return Err(match retry_after(response) {
            Some(delay) => failure.retry_after(delay),
            None => failure,
        });
    }
    Err(Failure::permanent(message))
}

/// `Retry-After` in seconds; an HTTP date is ignored (the host's backoff applies).
fn retry_after(response: &Response) -> Option<Duration> {
    let secs = response.header("retry-after")?.trim().parse::<u64>().ok()?;
    Some(Duration::from_secs(secs))
}

fn send_failure(method: &str, url: &Url, e: SendError) -> Failure {
    match e {
        SendError::Denied => Failure::permanent(format!(
            "{method} {url}: refused by the host: {} is not granted to plugin web-call (grants.http)",
            url.authority
        )),
        SendError::Invalid(why) => Failure::bad_settings(format!("{method} {url}: {why}")),
        SendError::Transport(why) => Failure::retryable(format!("{method} {url}: {why}")),
    }
}

export_plugin!(WebCall);
