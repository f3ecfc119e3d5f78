//! `tocsin serve`: the engine, its workers, the mail outbox and the HTTP API
//! on one data directory, until Ctrl-C (or SIGTERM), then a graceful stop.

use crate::api::{server, Api};
use crate::calendars::Calendars;
use crate::config::Config;
use crate::engine::connector::ConnectorConfig;
use crate::engine::{Engine, EngineConfig, Sink, SystemClock};
use crate::plugins::{Registry, Runtime, RuntimeConfig};
use crate::store::Store;
use anyhow::Context as _;
use clap::Args;
use std::path::PathBuf;
use std::sync::Arc;

/// Arguments of `tocsin serve`.
#[derive(Args)]
pub struct ServeArgs {
    #[command(flatten)]
    place: Place,
    /// Address to listen on; overrides the file's `listen`.
    #[arg(long, env = "TOCSIN_LISTEN")]
    listen: Option<String>,
}

/// Where the data and the plugins are: the configuration file and its
/// overrides, shared by the commands that open the engine.
#[derive(Args)]
pub struct Place {
    /// Configuration file (TOML; see the README). Without it, the defaults.
    #[arg(long, env = "TOCSIN_CONFIG")]
    config: Option<PathBuf>,
    /// Data directory; overrides the file's `data`.
    #[arg(long, env = "TOCSIN_DATA")]
    data: Option<PathBuf>,
    /// Folder of plugin components; overrides the file's `plugins`.
    #[arg(long, env = "TOCSIN_PLUGINS")]
    plugins: Option<PathBuf>,
}

impl Place {
    /// The configuration with the overrides applied.
    pub fn config(&self) -> anyhow::Result<Config> {
        let mut config = match &self.config {
            Some(path) => Config::load(path)?,
            None => Config::default(),
        };
        if let Some(d) = &self.data {
            config.data = d.clone();
        }
        if let Some(p) = &self.plugins {
            config.plugins = p.clone();
        }
        Ok(config)
    }
}

/// The store of a data directory.
pub fn open_store(data: &std::path::Path) -> anyhow::Result<Store> {
    std::fs::create_dir_all(data).with_context(|| format!("creating {}", data.display()))?;
    Store::open(&data.join("db"))
}

/// Where `tocsin plugin install` and `POST /v1/plugins` keep components.
pub fn installed_dir(data: &std::path::Path) -> PathBuf {
    data.join("plugins")
}

/// Opens the engine of a configuration with its plugins installed; with
/// `verbose`, each installed plugin is named on stderr.
pub async fn open(config: &Config, verbose: bool) -> anyhow::Result<(Engine, Arc<Registry>)> {
    let store = open_store(&config.data)?;
    let sink = Arc::new(Sink::new(store.clone())?);
    let runtime = Arc::new(Runtime::new(
        RuntimeConfig {
            cache_dir: Some(config.data.join("compiled")),
            ..Default::default()
        },
        sink.clone(),
    )?);
    let registry = Arc::new(Registry::new(runtime));
    let stored = crate::config::stored_grants(&store)?;
    if !config.plugins.is_dir() {
        eprintln!(
            "warning: no plugins folder at {}; rules using its plugins will not load",
            config.plugins.display()
        );
    }
    // The built-in folder first, then what admins installed into the data
    // directory (an installed plugin replaces a built-in of the same id).
    for folder in [config.plugins.clone(), installed_dir(&config.data)] {
        if !folder.is_dir() {
            continue;
        }
        let mut files: Vec<PathBuf> = std::fs::read_dir(&folder)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "wasm"))
            .collect();
        files.sort();
        for wasm in files {
            let id = wasm
                .file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .to_string();
            let grants = match stored.get(&id) {
                Some(g) => g.clone(),
                None => config.grants_for(&id),
            };
            if let Some(dir) = &grants.directory {
                std::fs::create_dir_all(&dir.path)
                    .with_context(|| format!("creating {}", dir.path.display()))?;
            }
            let installed = registry.install_file(&wasm, grants).await?;
            if verbose {
                eprintln!(
                    "installed plugin {} {} from {}",
                    installed.plugin.id(),
                    installed.plugin.info.version,
                    folder.display()
                );
            }
        }
    }
    let engine_config = EngineConfig {
        connector: config
            .connector
            .as_ref()
            .map(|c| ConnectorConfig::new(c.url.clone(), c.secret.clone())),
        backoff_base_ms: config.retries.backoff_base_ms,
        backoff_cap_ms: config.retries.backoff_cap_ms,
        retry_horizon_ms: config.retries.horizon_ms,
        ..Default::default()
    };
    let calendars = match crate::calendars::stored(&store)? {
        Some(c) => Calendars::compile(&c).map_err(|e| anyhow::anyhow!("stored calendars: {e}"))?,
        None => Calendars::default(),
    };
    let engine = Engine::open(
        &store,
        registry.clone(),
        sink,
        Arc::new(calendars),
        Arc::new(SystemClock),
        engine_config,
    )?;
    Ok((engine, registry))
}

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let mut config = args.place.config()?;
    if let Some(l) = &args.listen {
        config.listen = l.clone();
    }
    let (engine, registry) = open(&config, true).await?;
    let workers = engine.start();
    let scheduler = crate::scheduler::Scheduler::new(engine.clone(), config.scheduler.clone());
    let ticks = scheduler.start();
    // Hot reload: a changed component or manifest in either folder is loaded
    // again; the rules are checked again against what is then installed.
    let stored = crate::config::stored_grants(engine.store())?;
    let grants_config = config.clone();
    let rules_engine = engine.clone();
    let _watch = crate::plugins::watch::watch(
        registry.clone(),
        vec![config.plugins.clone(), installed_dir(&config.data)],
        Arc::new(move |id: &str| match stored.get(id) {
            Some(g) => g.clone(),
            None => grants_config.grants_for(id),
        }),
        Arc::new(move |id: &str, outcome: &Result<String, String>| {
            match outcome {
                Ok(version) => eprintln!("reloaded plugin {id} {version}"),
                Err(why) => {
                    eprintln!("reloading plugin {id} failed, the old version keeps serving: {why}")
                }
            }
            if let Err(e) = rules_engine.reload_rules() {
                tracing::warn!("checking the rules after a reload: {e:#}");
            }
        }),
    )?;
    let mail = match &config.smtp {
        Some(smtp) => {
            let outbox = crate::mail::Outbox::new(engine.store().clone(), smtp.clone())?;
            Some(tokio::spawn(async move {
                loop {
                    if let Err(e) = outbox
                        .deliver_due(jiff::Timestamp::now().as_millisecond())
                        .await
                    {
                        tracing::warn!("mail delivery pass failed: {e:#}");
                    }
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                }
            }))
        }
        None => None,
    };
    let api = Arc::new(
        Api::new(engine, registry, config.api.clone())?
            .with_plugins_dir(config.plugins.clone())
            .with_installed_dir(installed_dir(&config.data))
            .with_scheduler(scheduler),
    );
    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .with_context(|| format!("listening on {}", config.listen))?;
    let addr = listener.local_addr()?;
    println!(
        "tocsin listening on http://{addr} (data {})",
        config.data.display()
    );
    server::serve(api, listener, shutdown_signal()).await?;
    workers.abort();
    ticks.abort();
    if let Some(m) = mail {
        m.abort();
    }
    println!("tocsin stopped");
    Ok(())
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
