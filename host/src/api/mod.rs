//! The HTTP API (hyper 1, JSON, under `/v1`): a help desk sends events and
//! pulls commands through it; admins and agents manage rules.
//!
//! - [`routes`]: the route table and who may call each route.
//! - [`auth`]: bearer tokens (kept hashed) and roles.
//! - [`error`]: `{"error": {"code", "message", "path"}}` answers.
//! - `handlers`, `desk`: one function per route, over the library.
//! - [`openapi`]: the OpenAPI 3 document, generated from the route table.
//! - [`metrics`]: Prometheus metrics.
//! - [`server`]: connections, body limits, timeouts, graceful shutdown.

pub mod auth;
mod desk;
pub mod error;
mod handlers;
pub mod metrics;
pub mod openapi;
pub mod routes;
pub mod server;

pub use handlers::parse_events;

use crate::engine::Engine;
use crate::plugins::Registry;
use auth::{Principal, Tokens};
use bytes::Bytes;
use error::ApiError;
use http::{Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use routes::Access;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// API settings. Every field has a default; see the README's configuration table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApiConfig {
    /// Largest request body accepted (bytes); larger ones get 413. Default 1 MiB.
    pub max_body_bytes: usize,
    /// A request not answered within this gets 503 (ms). Default 30 s.
    pub request_timeout_ms: u64,
    /// Whether agents may create rules of their own ("My Events"). Default true.
    pub agents_may_create_rules: bool,
    /// Plugins agents' rules may use (ids; `*` for all). Default: the
    /// built-in `email`, `profile-alerts` and `helpdesk`.
    pub agent_plugins: Vec<String>,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            max_body_bytes: 1024 * 1024,
            request_timeout_ms: 30_000,
            agents_may_create_rules: true,
            agent_plugins: vec!["email".into(), "profile-alerts".into(), "helpdesk".into()],
        }
    }
}

impl ApiConfig {
    /// Whether agents' rules may use this plugin.
    pub fn agent_may_use(&self, plugin: &str) -> bool {
        self.agent_plugins.iter().any(|p| p == "*" || p == plugin)
    }
}

/// The API over one engine.
pub struct Api {
    engine: Engine,
    registry: Arc<Registry>,
    tokens: Tokens,
    metrics: metrics::Metrics,
    config: ApiConfig,
    /// Where `POST /v1/plugins/{id}/reload` reads `<id>.wasm` from.
    plugins_dir: Option<std::path::PathBuf>,
    /// Where installed plugins are kept (read first on reload).
    installed_dir: Option<std::path::PathBuf>,
    /// The scheduler whose lag `/metrics` reports, when one runs.
    scheduler: Option<crate::scheduler::Scheduler>,
}

/// One request as the handlers see it.
pub(crate) struct Call {
    /// Who sent it (none on public routes).
    pub principal: Option<Principal>,
    /// Path parameters, in order.
    pub params: Vec<String>,
    /// Query parameters.
    pub query: BTreeMap<String, String>,
    /// The body.
    pub body: Bytes,
}

impl Call {
    /// The principal of a signed route.
    pub fn who(&self) -> &Principal {
        self.principal
            .as_ref()
            .expect("signed routes have a principal")
    }
}

impl Api {
    /// An API over an engine and the registry its runtime uses.
    pub fn new(engine: Engine, registry: Arc<Registry>, config: ApiConfig) -> anyhow::Result<Api> {
        Ok(Api {
            tokens: Tokens::open(engine.store())?,
            engine,
            registry,
            metrics: metrics::Metrics::new(),
            config,
            plugins_dir: None,
            installed_dir: None,
            scheduler: None,
        })
    }

    /// Sets the folder where installed plugins are kept.
    pub fn with_installed_dir(mut self, dir: std::path::PathBuf) -> Api {
        self.installed_dir = Some(dir);
        self
    }

    /// Sets the scheduler whose lag `/metrics` reports.
    pub fn with_scheduler(mut self, scheduler: crate::scheduler::Scheduler) -> Api {
        self.scheduler = Some(scheduler);
        self
    }

    /// Sets the folder plugins are reloaded from.
    pub fn with_plugins_dir(mut self, dir: std::path::PathBuf) -> Api {
        self.plugins_dir = Some(dir);
        self
    }

    /// The token store (for `tocsin token create`).
    pub fn tokens(&self) -> &Tokens {
        &self.tokens
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Answers one request: route, token, body limit, handler, JSON answer,
    /// all within the request timeout.
    pub async fn handle<B>(&self, request: http::Request<B>) -> Response<Full<Bytes>>
    where
        B: hyper::body::Body<Data = Bytes>,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let started = std::time::Instant::now();
        let method = request.method().to_string();
        let timeout = Duration::from_millis(self.config.request_timeout_ms);
        let (label, result) = match tokio::time::timeout(timeout, self.answer(request)).await {
            Ok(r) => r,
            Err(_) => (
                "timeout",
                Err(ApiError::timeout(self.config.request_timeout_ms)),
            ),
        };
        let response = match result {
            Ok(r) => r,
            Err(e) => json_response(e.status, &e.body()),
        };
        self.metrics.request(
            &method,
            label,
            response.status().as_u16(),
            started.elapsed(),
        );
        response
    }

    async fn answer<B>(
        &self,
        request: http::Request<B>,
    ) -> (&'static str, Result<Response<Full<Bytes>>, ApiError>)
    where
        B: hyper::body::Body<Data = Bytes>,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let (parts, body) = request.into_parts();
        let path = parts.uri.path().to_string();
        let (route, params) = match routes::find(parts.method.as_str(), &path) {
            Ok(found) => found,
            Err(e) => return ("none", Err(e)),
        };
        let result = async {
            let principal = self.authorize(route.access, &parts.headers)?;
            let limit = self.config.max_body_bytes;
            let declared = parts
                .headers
                .get(http::header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<usize>().ok());
            if declared.is_some_and(|n| n > limit) {
                return Err(ApiError::too_large(limit));
            }
            let body = match Limited::new(body, limit).collect().await {
                Ok(collected) => collected.to_bytes(),
                Err(e)
                    if e.downcast_ref::<http_body_util::LengthLimitError>()
                        .is_some() =>
                {
                    return Err(ApiError::too_large(limit))
                }
                Err(e) => return Err(ApiError::bad_request(format!("reading the body: {e}"))),
            };
            let call = Call {
                principal,
                params,
                query: query(parts.uri.query()),
                body,
            };
            self.dispatch(route.op, call).await
        }
        .await;
        (route.path, result)
    }

    fn authorize(
        &self,
        access: Access,
        headers: &http::HeaderMap,
    ) -> Result<Option<Principal>, ApiError> {
        if access == Access::Public {
            return Ok(None);
        }
        let secret = headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or_else(ApiError::unauthorized)?;
        let principal = self
            .tokens
            .verify(secret)?
            .ok_or_else(ApiError::unauthorized)?;
        if access == Access::Admin && !principal.is_admin() {
            return Err(ApiError::forbidden("this route is for admins only"));
        }
        Ok(Some(principal))
    }
}

/// A JSON answer.
pub(crate) fn json_response(status: StatusCode, body: &serde_json::Value) -> Response<Full<Bytes>> {
    let mut text = serde_json::to_vec_pretty(body).unwrap_or_default();
    text.push(b'\n');
    Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(text)))
        .expect("a valid response")
}

/// Query parameters (`a=1&b=x%20y`), later keys winning.
fn query(q: Option<&str>) -> BTreeMap<String, String> {
    q.unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let decode = |s: &str| {
                let s = s.replace('+', " ");
                routes::percent_decode(&s).unwrap_or(s)
            };
            (decode(k), decode(v))
        })
        .collect()
}
