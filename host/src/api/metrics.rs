//! Prometheus metrics (prometheus-client, OpenMetrics text): requests by
//! route and status with durations, events in, rules matched, invocations by
//! plugin and outcome with durations, and the outbox and dead-letter depth.

use super::Api;
use bytes::Bytes;
use http::{Response, StatusCode};
use http_body_util::Full;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct InvocationLabels {
    plugin: String,
    outcome: String,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

fn seconds() -> Histogram {
    Histogram::new(exponential_buckets(0.000_5, 2.0, 16))
}

/// The API's metrics.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    request_seconds: Histograms<RequestLabels>,
    events: Counter,
    matched: Counter,
    invocations: Family<InvocationLabels, Counter>,
    invocation_seconds: Histograms<InvocationLabels>,
    outbox: Gauge,
    dead: Gauge,
    lag_p50: Gauge,
    lag_p99: Gauge,
}

impl Metrics {
    /// Registers every metric.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("tocsin");
        let requests = Family::<RequestLabels, Counter>::default();
        let request_seconds: Histograms<RequestLabels> = Family::new_with_constructor(seconds);
        let events = Counter::default();
        let matched = Counter::default();
        let invocations = Family::<InvocationLabels, Counter>::default();
        let invocation_seconds: Histograms<InvocationLabels> =
            Family::new_with_constructor(seconds);
        let outbox = Gauge::default();
        let dead = Gauge::default();
        let lag_p50 = Gauge::default();
        let lag_p99 = Gauge::default();
        registry.register("http_requests", "HTTP requests answered", requests.clone());
        registry.register(
            "http_request_seconds",
            "Time to answer an HTTP request",
            request_seconds.clone(),
        );
        registry.register("events", "Events ingested through the API", events.clone());
        registry.register(
            "rules_matched",
            "Rule firings of ingested events",
            matched.clone(),
        );
        registry.register(
            "invocations",
            "Plugin invocation attempts by plugin and outcome",
            invocations.clone(),
        );
        registry.register(
            "invocation_seconds",
            "Time of one plugin invocation attempt",
            invocation_seconds.clone(),
        );
        registry.register("outbox_depth", "Jobs waiting in the outbox", outbox.clone());
        registry.register("dead_letters", "Jobs in the dead-letter list", dead.clone());
        registry.register(
            "scheduler_lag_p50_milliseconds",
            "Median lag from a time-based event's due instant to its firing (recent firings)",
            lag_p50.clone(),
        );
        registry.register(
            "scheduler_lag_p99_milliseconds",
            "99th percentile lag from a time-based event's due instant to its firing",
            lag_p99.clone(),
        );
        Metrics {
            registry,
            requests,
            request_seconds,
            events,
            matched,
            invocations,
            invocation_seconds,
            outbox,
            dead,
            lag_p50,
            lag_p99,
        }
    }

    /// Counts an answered request.
    pub fn request(&self, method: &str, route: &str, status: u16, took: Duration) {
        let labels = RequestLabels {
            method: method.to_string(),
            route: route.to_string(),
            status: status.to_string(),
        };
        self.requests.get_or_create(&labels).inc();
        self.request_seconds
            .get_or_create(&labels)
            .observe(took.as_secs_f64());
    }

    /// Counts an ingested event and the rules it fired.
    pub fn ingested(&self, matched: usize) {
        self.events.inc();
        self.matched.inc_by(matched as u64);
    }

    /// Counts a finished invocation attempt.
    pub fn invocation(&self, plugin: &str, outcome: &str, ms: u64) {
        let labels = InvocationLabels {
            plugin: plugin.to_string(),
            outcome: outcome.to_string(),
        };
        self.invocations.get_or_create(&labels).inc();
        self.invocation_seconds
            .get_or_create(&labels)
            .observe(ms as f64 / 1000.0);
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Api {
    /// Feeds the engine's finished attempts into the metrics.
    pub(super) fn observe(self: &Arc<Self>) {
        let api = Arc::downgrade(self);
        self.engine
            .observe_invocations(Arc::new(move |plugin, outcome, ms| {
                if let Some(api) = api.upgrade() {
                    api.metrics.invocation(plugin, outcome, ms);
                }
            }));
    }

    /// The metrics in OpenMetrics text, with the outbox depth read now.
    pub(super) fn metrics_text(&self) -> Response<Full<Bytes>> {
        if let Ok(jobs) = self.engine.pending_jobs() {
            self.metrics.outbox.set(jobs.len() as i64);
        }
        if let Ok(dead) = self.engine.dead_letters() {
            self.metrics.dead.set(dead.len() as i64);
        }
        if let Some(scheduler) = &self.scheduler {
            let lag = scheduler.lag();
            self.metrics.lag_p50.set(lag.p50_ms);
            self.metrics.lag_p99.set(lag.p99_ms);
        }
        let mut text = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut text, &self.metrics.registry)
        {
            text = format!("# encoding failed: {e}\n");
        }
        Response::builder()
            .status(StatusCode::OK)
            .header(
                http::header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )
            .body(Full::new(Bytes::from(text)))
            .expect("a valid response")
    }
}
