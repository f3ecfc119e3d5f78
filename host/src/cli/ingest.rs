//! `tocsin ingest`: sends events from a JSON-lines file (or stdin) through
//! the engine and prints one line per acknowledged event. With `--run`, the
//! jobs run too; without it they stay in the outbox for a later run.

use crate::calendars::Calendars;
use crate::engine::{Engine, EngineConfig, Sink, SystemClock};
use crate::event::Event;
use crate::plugins::{Grants, Registry, Runtime, RuntimeConfig};
use crate::store::Store;
use anyhow::Context as _;
use clap::Args;
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::sync::Arc;

/// Arguments of `tocsin ingest`.
#[derive(Args)]
pub struct IngestArgs {
    /// Data directory (sled); created if missing.
    #[arg(long, default_value_os_t = super::default_data())]
    data: PathBuf,
    /// Folder of plugin components to install (with no capabilities granted),
    /// so stored rules that use them validate.
    #[arg(long, default_value = "target/plugins")]
    plugins: PathBuf,
    /// Events sent at once (they share flushes: group commit).
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Also run the jobs the events cause (retries due within 5 s are waited
    /// for; later ones stay in the outbox).
    #[arg(long)]
    run: bool,
    /// JSON-lines file of events; `-` reads stdin.
    events: PathBuf,
}

/// Opens an engine on `data` with every component of `plugins` installed.
async fn engine(data: &std::path::Path, plugins: &std::path::Path) -> anyhow::Result<Engine> {
    std::fs::create_dir_all(data).with_context(|| format!("creating {}", data.display()))?;
    let store = Store::open(&data.join("db"))?;
    let sink = Arc::new(Sink::new(store.clone())?);
    let runtime = Arc::new(Runtime::new(RuntimeConfig::default(), sink.clone())?);
    let registry = Arc::new(Registry::new(runtime));
    let entries = std::fs::read_dir(plugins)
        .with_context(|| format!("reading the plugins folder {}", plugins.display()))?;
    for wasm in entries.filter_map(|e| e.ok().map(|e| e.path())) {
        if wasm.extension().is_some_and(|x| x == "wasm") {
            registry.install_file(&wasm, Grants::default()).await?;
        }
    }
    Engine::open(
        &store,
        registry,
        sink,
        Arc::new(Calendars::default()),
        Arc::new(SystemClock),
        EngineConfig::default(),
    )
}

pub async fn run(args: IngestArgs) -> anyhow::Result<()> {
    let engine = engine(&args.data, &args.plugins).await?;
    let lines: Vec<String> = if args.events.as_os_str() == "-" {
        std::io::stdin().lock().lines().collect::<Result<_, _>>()?
    } else {
        let text = std::fs::read_to_string(&args.events)
            .with_context(|| format!("reading {}", args.events.display()))?;
        text.lines().map(str::to_string).collect()
    };
    let place = args.events.display().to_string();
    let mut events = Vec::new();
    for (n, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let event: Event =
            serde_json::from_str(line).with_context(|| format!("{place}:{}", n + 1))?;
        events.push((n + 1, event));
    }
    let queue = Arc::new(std::sync::Mutex::new(events.into_iter()));
    let mut tasks: tokio::task::JoinSet<anyhow::Result<()>> = tokio::task::JoinSet::new();
    for _ in 0..args.concurrency.max(1) {
        let (engine, queue, place) = (engine.clone(), queue.clone(), place.clone());
        tasks.spawn(async move {
            loop {
                let next = queue.lock().expect("queue lock").next();
                let Some((line, event)) = next else {
                    return Ok(());
                };
                let r = engine
                    .ingest(event)
                    .await
                    .with_context(|| format!("{place}:{line}"))?;
                let mut out = std::io::stdout().lock();
                writeln!(
                    out,
                    "acked {} jobs [{}]{}",
                    r.event,
                    r.jobs.join(","),
                    if r.duplicate { " duplicate" } else { "" }
                )?;
                out.flush()?;
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.context("an ingest task panicked")??;
    }
    if args.run {
        // Run what is due; wait for retries due within a few seconds, leave
        // later ones in the outbox.
        while let Some(next) = engine.run_due().await {
            let wait = next - jiff::Timestamp::now().as_millisecond();
            if wait > 5_000 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(wait.max(1) as u64)).await;
        }
        println!("pending {}", engine.pending_jobs()?.len());
        println!("dead {}", engine.dead_letters()?.len());
    }
    Ok(())
}
