//! Durable ingestion over HTTP on loopback: a load generator keeps 64
//! keep-alive connections busy with `POST /v1/events` against the real
//! server (`api::server::serve`) on a 2-worker tokio runtime; events
//! acknowledged per second and the latency to acknowledgment (answered once
//! the event, its item updates and its three jobs are durable).
//!
//! Baseline (same run, same engine, same width): the engine's own ingest
//! called in process, so the ratio is what HTTP costs.
//! Needs the built `log-file` component (`cargo xtask bench` builds it).

use crate::common::{durable, report};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;
use tocsin::api::auth::Role;
use tocsin::api::{Api, ApiConfig};
use tocsin::engine::Engine;

const EVENTS: usize = 20_000;
const CONNECTIONS: usize = 64;

/// Events per second and every latency (ms), sorted.
struct Run {
    per_second: f64,
    latencies: Vec<f64>,
}

impl Run {
    fn percentile(&self, q: f64) -> f64 {
        let n = self.latencies.len();
        let i = ((n as f64 * q).ceil() as usize).clamp(1, n) - 1;
        self.latencies[i]
    }
}

/// Runs `n` requests from `width` workers; each worker runs `send(i)` in turn.
async fn drive<F, Fut>(n: usize, width: usize, send: F) -> Run
where
    F: Fn(usize, usize) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..width {
        let (next, send) = (next.clone(), send.clone());
        tasks.spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return latencies;
                }
                let sent = Instant::now();
                send(worker, i).await;
                latencies.push(sent.elapsed().as_secs_f64() * 1e3);
            }
        });
    }
    let mut latencies = Vec::with_capacity(n);
    while let Some(done) = tasks.join_next().await {
        latencies.extend(done.expect("load task"));
    }
    let per_second = n as f64 / start.elapsed().as_secs_f64();
    latencies.sort_by(|a, b| a.total_cmp(b));
    Run {
        per_second,
        latencies,
    }
}

/// One keep-alive HTTP/1.1 connection of the load generator.
async fn connect(
    addr: std::net::SocketAddr,
) -> hyper::client::conn::http1::SendRequest<Full<Bytes>> {
    let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(conn);
    sender
}

async fn over_http(engine: Engine, registry: Arc<tocsin::plugins::Registry>) -> Run {
    let api = Api::new(engine, registry, ApiConfig::default()).expect("api");
    let (_, secret) = api.tokens().create(Role::Admin, None).expect("token");
    let api = Arc::new(api);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(tocsin::api::server::serve(api, listener, async {
        let _ = stopped.await;
    }));
    let mut senders = Vec::new();
    for _ in 0..CONNECTIONS {
        senders.push(tokio::sync::Mutex::new(connect(addr).await));
    }
    let senders = Arc::new(senders);
    let auth = Arc::new(format!("Bearer {secret}"));
    let run = drive(EVENTS, CONNECTIONS, move |worker, i| {
        let (senders, auth) = (senders.clone(), auth.clone());
        async move {
            let body = serde_json::to_vec(&durable::event(2_000_000 + i)).expect("body");
            let request = http::Request::post("/v1/events")
                .header("host", "localhost")
                .header("authorization", auth.as_str())
                .header("content-type", "application/json")
                .body(Full::new(Bytes::from(body)))
                .expect("request");
            let mut sender = senders[worker].lock().await;
            let response = sender.send_request(request).await.expect("send");
            let status = response.status();
            let body = response
                .into_body()
                .collect()
                .await
                .expect("body")
                .to_bytes();
            assert!(
                status.is_success(),
                "{status}: {}",
                String::from_utf8_lossy(&body)
            );
        }
    })
    .await;
    let _ = stop.send(());
    server.await.expect("server task").expect("server");
    run
}

async fn in_process(engine: Engine) -> Run {
    drive(EVENTS, CONNECTIONS, move |_, i| {
        let engine = engine.clone();
        async move {
            let r = engine.ingest(durable::event(i)).await.expect("ingest");
            assert_eq!(r.jobs.len(), 3);
        }
    })
    .await
}

pub fn run() {
    let rt = crate::common::runtime();
    rt.block_on(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let (engine, registry) = durable::engine_and_registry(dir.path()).await;
        let base = in_process(engine.clone()).await;
        let ours = over_http(engine.clone(), registry).await;
        let jobs = engine.pending_jobs().expect("jobs").len();
        assert_eq!(jobs, 3 * 2 * EVENTS, "every job of every acknowledged event is in the outbox");
        println!(
            "\ningestion over HTTP on loopback, {CONNECTIONS} keep-alive connections, {EVENTS} events of 2 items, 3 jobs each, 2 worker threads"
        );
        report::header();
        report::Row {
            measure: "durable ingest over HTTP, events per second",
            figure: ours.per_second,
            baseline: Some(base.per_second),
            baseline_name: "the engine called in process",
            goal: ">= 20000",
            higher_is_better: true,
        }
        .record();
        report::Row {
            measure: "durable ingest over HTTP, p50 ms to acknowledgment",
            figure: ours.percentile(0.5),
            baseline: Some(base.percentile(0.5)),
            baseline_name: "in process",
            goal: "-",
            higher_is_better: false,
        }
        .record();
        report::Row {
            measure: "durable ingest over HTTP, p99 ms to acknowledgment",
            figure: ours.percentile(0.99),
            baseline: Some(base.percentile(0.99)),
            baseline_name: "in process",
            goal: "-",
            higher_is_better: false,
        }
        .record();
    });
}
