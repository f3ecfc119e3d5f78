//! The help-desk connector: help-desk commands submitted by plugins are
//! POSTed to the help desk's webhook through the outbox (own queue, so a slow
//! webhook never delays plugins), with a delivery id and an HMAC-SHA256
//! signature of the body, explicit connect and total timeouts, Retry-After
//! honoured, and the same retries, horizon and dead letter as plugin jobs.
//! They are also kept in a pull list (`Engine::commands`).

use bytes::Bytes;
use hmac::{Hmac, Mac};
use http_body_util::{BodyExt, Full};
use sha2::Sha256;
use std::time::Duration;
use wasmtime_wasi_http::{default_send_request, RequestOptions};

/// The name deliveries use where jobs name a plugin (queue, audit).
pub const CONNECTOR: &str = "connector";
/// Header carrying the delivery id (stable across retries).
pub const DELIVERY_HEADER: &str = "x-tocsin-delivery";
/// Header carrying `sha256=<hex HMAC of the body with the shared secret>`.
pub const SIGNATURE_HEADER: &str = "x-tocsin-signature";

/// Where and how to deliver commands.
#[derive(Debug, Clone)]
pub struct ConnectorConfig {
    /// The help desk's webhook (`http://` or `https://`).
    pub url: String,
    /// Shared secret for the signature header.
    pub secret: String,
    /// Connection timeout (default 5 s).
    pub connect_timeout_ms: u64,
    /// Timeout of the whole request, response included (default 30 s).
    pub timeout_ms: u64,
}

impl ConnectorConfig {
    /// A connector with the default timeouts.
    pub fn new(url: impl Into<String>, secret: impl Into<String>) -> Self {
        ConnectorConfig {
            url: url.into(),
            secret: secret.into(),
            connect_timeout_ms: 5_000,
            timeout_ms: 30_000,
        }
    }
}

/// Why a delivery failed.
#[derive(Debug)]
pub struct DeliveryError {
    /// Worth retrying (network, timeout, 429, 5xx).
    pub retryable: bool,
    /// The webhook's Retry-After, in ms.
    pub retry_after_ms: Option<u64>,
    /// What happened.
    pub message: String,
}

/// `sha256=<hex>` of `body` keyed with `secret`.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256={hex}")
}

/// POSTs one delivery; returns a summary of the response.
pub async fn deliver(
    config: &ConnectorConfig,
    delivery: &str,
    body: Vec<u8>,
) -> Result<String, DeliveryError> {
    let fail = |retryable: bool, message: String| DeliveryError {
        retryable,
        retry_after_ms: None,
        message,
    };
    let request = http::Request::post(&config.url)
        .header(http::header::CONTENT_TYPE, "application/json")
        .header(DELIVERY_HEADER, delivery)
        .header(SIGNATURE_HEADER, signature(&config.secret, &body))
        .body(Full::new(Bytes::from(body)).map_err(wasmtime_wasi_http::Error::from))
        .map_err(|e| fail(false, format!("connector url {:?}: {e}", config.url)))?;
    let options = RequestOptions {
        connect_timeout: Some(Duration::from_millis(config.connect_timeout_ms)),
        first_byte_timeout: Some(Duration::from_millis(config.timeout_ms)),
        between_bytes_timeout: Some(Duration::from_millis(config.timeout_ms)),
    };
    let exchange = async {
        let (response, connection) = default_send_request(request, Some(options))
            .await
            .map_err(|e| fail(true, format!("sending to the connector: {e}")))?;
        tokio::spawn(connection);
        let status = response.status();
        let retry_after_ms = response
            .headers()
            .get(http::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(|s| s * 1000);
        let body = response
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let text = String::from_utf8_lossy(&body[..body.len().min(200)]).to_string();
        if status.is_success() {
            return Ok(format!("delivered: HTTP {status}"));
        }
        let retryable = status.as_u16() == 429 || status.is_server_error();
        Err(DeliveryError {
            retryable,
            retry_after_ms,
            message: format!("the connector answered HTTP {status}: {text}"),
        })
    };
    match tokio::time::timeout(Duration::from_millis(config.timeout_ms), exchange).await {
        Ok(result) => result,
        Err(_) => Err(fail(
            true,
            format!(
                "the connector did not answer within {} ms",
                config.timeout_ms
            ),
        )),
    }
}
