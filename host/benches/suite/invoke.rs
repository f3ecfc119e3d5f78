//! Plugin invocations per second, each in a fresh isolated instance from the
//! pooling allocator, on a 2-worker tokio runtime, beside the floor measured
//! in the same run: bare wasmtime (same engine settings, WASI only, no grants,
//! no deadline bookkeeping) instantiating the same component and calling its
//! `run`. Also the time to load a plugin from the compiled-code cache (a
//! reload or restart) beside compiling it.
//!
//! Needs the `reload-one` test guest (`cargo xtask bench` builds it).

use crate::common::report;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tocsin::plugins::bindings::{action, Event, Invocation, Item, Mode, RuleRef};
use tocsin::plugins::{Grants, Manifest, Outbound, Runtime, RuntimeConfig};
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

const SECONDS: f64 = 3.0;
const WARM_UP: f64 = 1.0;
const TASKS: usize = 8;

struct Nowhere;

impl Outbound for Nowhere {
    fn queue_mail(
        &self,
        _: &str,
        _: &str,
        _: &tocsin::plugins::bindings::mail::Message,
    ) -> anyhow::Result<String> {
        anyhow::bail!("no mail in this benchmark")
    }
    fn submit_command(
        &self,
        _: &str,
        _: &str,
        _: &tocsin::plugins::bindings::helpdesk::Command,
    ) -> anyhow::Result<String> {
        anyhow::bail!("no commands in this benchmark")
    }
    fn profile(
        &self,
        _: &str,
        _: Option<&str>,
    ) -> anyhow::Result<Option<tocsin::profiles::Profile>> {
        Ok(None)
    }
}

fn guest() -> (Manifest, Vec<u8>) {
    let dir = std::env::var_os("TOCSIN_TEST_GUESTS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/test-guests"));
    let manifest = std::fs::read_to_string(dir.join("reload-one.toml"))
        .expect("the reload-one test guest (run `cargo xtask plugins`)");
    let wasm = std::fs::read(dir.join("reload-one.wasm")).expect("reload-one.wasm");
    (Manifest::parse(&manifest).expect("manifest"), wasm)
}

fn invocation(n: usize) -> Invocation {
    Invocation {
        id: format!("bench-{n}"),
        attempt: 1,
        rule: RuleRef {
            id: "r".into(),
            name: "r".into(),
            owner: "system".into(),
        },
        action: "whoami".into(),
        action_index: 0,
        mode: Mode::Digest,
        settings: "{}".into(),
        event: Event {
            id: "e".into(),
            category: "ticket".into(),
            event_type: "ticket-created".into(),
            occurred_at: "2026-11-30T10:00:00Z".into(),
            agent: None,
            old_values: "{}".into(),
        },
        items: vec![Item {
            kind: "ticket".into(),
            id: "1".into(),
            fields: "{}".into(),
        }],
    }
}

/// Runs `call` from `TASKS` tasks for `WARM_UP` unmeasured (the pool's
/// slots fault their pages in, caches and branch predictors settle), then
/// for `SECONDS`; calls per second. Both sides of the comparison get the same.
async fn rate<F, Fut>(call: F) -> f64
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let call = Arc::new(call);
    run_for(call.clone(), WARM_UP).await;
    run_for(call, SECONDS).await
}

async fn run_for<F, Fut>(call: Arc<F>, seconds: f64) -> f64
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for t in 0..TASKS {
        let (call, stop, done) = (call.clone(), stop.clone(), done.clone());
        tasks.push(tokio::spawn(async move {
            let mut n = t;
            while !stop.load(Ordering::Relaxed) {
                call(n).await;
                n += TASKS;
                done.fetch_add(1, Ordering::Relaxed);
                tokio::task::yield_now().await;
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.expect("task");
    }
    done.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64()
}

struct Bare {
    wasi: WasiCtx,
    table: ResourceTable,
}

impl WasiView for Bare {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

async fn floor(wasm: &[u8]) -> f64 {
    let pool = tocsin::plugins::runtime::pooling(128);
    let mut config = Config::new();
    config
        .wasm_component_model(true)
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    let engine = Engine::new(&config).expect("engine");
    let mut linker: Linker<Bare> = Linker::new(&engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker).expect("wasi");
    let component = Component::new(&engine, wasm).expect("component");
    let pre = action::ActionPluginPre::new(linker.instantiate_pre(&component).expect("pre"))
        .expect("action world");
    let pre = Arc::new(pre);
    rate(move |n| {
        let (engine, pre) = (engine.clone(), pre.clone());
        async move {
            let mut store = Store::new(
                &engine,
                Bare {
                    wasi: WasiCtxBuilder::new().build(),
                    table: ResourceTable::new(),
                },
            );
            let plugin = pre.instantiate_async(&mut store).await.expect("instance");
            plugin
                .call_run(&mut store, &invocation(n))
                .await
                .expect("call")
                .expect("run");
        }
    })
    .await
}

pub fn run() {
    let rt = crate::common::runtime();
    rt.block_on(async {
        let (manifest, wasm) = guest();
        let cache = tempfile::tempdir().expect("cache dir");
        let runtime = Arc::new(
            Runtime::new(
                RuntimeConfig {
                    max_instances: 128,
                    cache_dir: Some(cache.path().to_path_buf()),
                },
                Arc::new(Nowhere),
            )
            .expect("runtime"),
        );
        let started = Instant::now();
        let plugin = Arc::new(runtime.load(manifest.clone(), &wasm).await.expect("load"));
        let compiled_ms = started.elapsed().as_secs_f64() * 1000.0;
        let started = Instant::now();
        runtime
            .load(manifest, &wasm)
            .await
            .expect("load from cache");
        let cached_ms = started.elapsed().as_secs_f64() * 1000.0;

        let grants = Arc::new(Grants::default());
        let ours = {
            let (runtime, plugin) = (runtime.clone(), plugin.clone());
            rate(move |n| {
                let (runtime, plugin, grants) = (runtime.clone(), plugin.clone(), grants.clone());
                async move {
                    runtime
                        .invoke(&plugin, grants, invocation(n))
                        .await
                        .expect("invocation");
                }
            })
            .await
        };
        let base = floor(&wasm).await;
        println!(
            "\ninvocations of a trivial plugin, a fresh pooled instance each, 2 tokio workers"
        );
        report::header();
        report::Row {
            measure: "plugin invocations per second (fresh instance each)",
            figure: ours,
            baseline: Some(base),
            baseline_name: "bare wasmtime instantiate+call",
            goal: ">= 50000",
            higher_is_better: true,
        }
        .record();
        report::Row {
            measure: "plugin reload from the compiled cache, ms",
            figure: cached_ms,
            baseline: Some(compiled_ms),
            baseline_name: "compiling",
            goal: "<= 100",
            higher_is_better: false,
        }
        .record();
    });
}
