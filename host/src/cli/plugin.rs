//! `tocsin plugin ...`: checking, installing, listing, granting and removing
//! plugin components on a data directory (while the server is stopped; a
//! running server has `POST /v1/plugins`, `.../reload`, `.../grants`).

use super::serve::{installed_dir, open, open_store, Place};
use crate::plugins::{Grants, Registry, Runtime, RuntimeConfig};
use crate::store::Store;
use anyhow::Context as _;
use clap::Subcommand;
use std::path::PathBuf;
use std::sync::Arc;

/// Plugin commands.
#[derive(Subcommand)]
pub enum PluginCommand {
    /// Load a component with its manifest (`x.wasm` next to `x.toml`) and print
    /// what it provides, or why it is refused.
    Check {
        /// The component file.
        wasm: PathBuf,
    },
    /// Check a component (`x.wasm` next to its manifest `x.toml`) and keep it
    /// in the data directory, where the server loads it at start.
    Install {
        /// Data directory.
        #[arg(long, env = "TOCSIN_DATA", default_value_os_t = super::default_data())]
        data: PathBuf,
        /// The component file.
        wasm: PathBuf,
    },
    /// List the plugins the server would load: id, version, world, actions, grants.
    List {
        #[command(flatten)]
        place: Place,
    },
    /// Give a plugin grants from a TOML file (kept in the store; they win
    /// over the configuration file's).
    Grant {
        /// Data directory.
        #[arg(long, env = "TOCSIN_DATA", default_value_os_t = super::default_data())]
        data: PathBuf,
        /// Plugin id.
        id: String,
        /// TOML file of grants (`helpdesk = ["set-status"]`, `memory-mib = 32`, ...).
        grants: PathBuf,
    },
    /// Ask a running server to load a plugin again from its folders
    /// (`POST /v1/plugins/{id}/reload`); a version that fails leaves the old
    /// one serving.
    Reload {
        /// The server's address.
        #[arg(long, env = "TOCSIN_SERVER", default_value = "http://127.0.0.1:8080")]
        server: String,
        /// An admin token.
        #[arg(long, env = "TOCSIN_TOKEN")]
        token: String,
        /// Plugin id.
        id: String,
    },
    /// Remove an installed plugin from the data directory (built-in plugins
    /// stay; take their grants away instead).
    Remove {
        /// Data directory.
        #[arg(long, env = "TOCSIN_DATA", default_value_os_t = super::default_data())]
        data: PathBuf,
        /// Plugin id.
        id: String,
    },
}

/// Loads a component with its manifest in a throwaway runtime.
async fn check(wasm: &std::path::Path) -> anyhow::Result<crate::plugins::Installed> {
    let scratch = tempdir()?;
    let store = Store::open(&scratch)?;
    let runtime = Arc::new(Runtime::new(RuntimeConfig::default(), Arc::new(store))?);
    let registry = Registry::new(runtime);
    let installed = registry.install_file(wasm, Grants::default()).await;
    let _ = std::fs::remove_dir_all(&scratch);
    installed
}

fn describe(installed: &crate::plugins::Installed) {
    let m = &installed.plugin.manifest;
    println!("{} {} ({}, {})", m.id, m.version, m.world.name(), m.wit);
    for a in &installed.plugin.info.actions {
        let modes: Vec<&str> = a.modes.iter().map(|m| m.name()).collect();
        println!("  action {} \"{}\" [{}]", a.id, a.title, modes.join(", "));
    }
}

pub async fn run(cmd: PluginCommand) -> anyhow::Result<()> {
    match cmd {
        PluginCommand::Check { wasm } => {
            describe(&check(&wasm).await?);
        }
        PluginCommand::Install { data, wasm } => {
            let installed = check(&wasm).await?;
            let id = installed.plugin.id().to_string();
            let dir = installed_dir(&data);
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            std::fs::copy(&wasm, dir.join(format!("{id}.wasm")))
                .with_context(|| format!("copying {}", wasm.display()))?;
            let manifest = crate::plugins::registry::manifest_path(&wasm);
            std::fs::copy(&manifest, dir.join(format!("{id}.toml")))
                .with_context(|| format!("copying {}", manifest.display()))?;
            describe(&installed);
            println!("installed into {}", dir.display());
        }
        PluginCommand::List { place } => {
            let (_, registry) = open(&place.config()?, false).await?;
            for i in registry.list() {
                let p = &i.plugin;
                let actions: Vec<&str> = p.info.actions.iter().map(|a| a.id.as_str()).collect();
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    p.id(),
                    p.info.version,
                    p.manifest.world.name(),
                    if actions.is_empty() {
                        "-".to_string()
                    } else {
                        actions.join(",")
                    },
                    serde_json::to_string(&*i.grants)?
                );
            }
        }
        PluginCommand::Grant { data, id, grants } => {
            let text = std::fs::read_to_string(&grants)
                .with_context(|| format!("reading {}", grants.display()))?;
            let parsed: Grants =
                toml::from_str(&text).with_context(|| grants.display().to_string())?;
            parsed
                .validate()
                .with_context(|| grants.display().to_string())?;
            crate::config::store_grants(&open_store(&data)?, &id, Some(&parsed))?;
            println!("granted {id}: {}", serde_json::to_string(&parsed)?);
        }
        PluginCommand::Reload { server, token, id } => {
            let (status, body) = post(&server, &format!("/v1/plugins/{id}/reload"), &token).await?;
            let answer: serde_json::Value = serde_json::from_slice(&body)
                .with_context(|| format!("{server} answered {status} with something not JSON"))?;
            if !status.is_success() {
                anyhow::bail!(
                    "{server} refused ({status}): {}",
                    answer["error"]["message"].as_str().unwrap_or("no message")
                );
            }
            println!(
                "reloaded {id} {}",
                answer["version"].as_str().unwrap_or("?")
            );
            for left in answer["rules_left_out"].as_array().into_iter().flatten() {
                println!(
                    "  rule {} left out: {}",
                    left["rule"].as_str().unwrap_or("?"),
                    left["problem"].as_str().unwrap_or("?")
                );
            }
        }
        PluginCommand::Remove { data, id } => {
            let dir = installed_dir(&data);
            let wasm = dir.join(format!("{id}.wasm"));
            if !wasm.exists() {
                anyhow::bail!(
                    "no installed plugin `{id}` in {} (built-in plugins cannot be removed; take their grants away with `tocsin plugin grant`)",
                    dir.display()
                );
            }
            std::fs::remove_file(&wasm)?;
            let _ = std::fs::remove_file(dir.join(format!("{id}.toml")));
            crate::config::store_grants(&open_store(&data)?, &id, None)?;
            println!("removed {id}");
        }
    }
    Ok(())
}

/// A private scratch directory for a throwaway store.
fn tempdir() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("tocsin-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// One HTTP/1.1 POST with a bearer token to a running server (hyper's client
/// connection over TCP): the status and the body.
async fn post(
    server: &str,
    path: &str,
    token: &str,
) -> anyhow::Result<(http::StatusCode, bytes::Bytes)> {
    use http_body_util::{BodyExt, Empty};
    let uri: http::Uri = format!("{}{path}", server.trim_end_matches('/'))
        .parse()
        .with_context(|| format!("--server {server:?} is not a URL"))?;
    if uri.scheme_str() != Some("http") {
        anyhow::bail!("--server {server:?}: only http:// is served by tocsin serve");
    }
    let host = uri.host().context("--server has no host")?.to_string();
    let port = uri.port_u16().unwrap_or(80);
    let stream = tokio::net::TcpStream::connect((host.as_str(), port))
        .await
        .with_context(|| format!("connecting to {server}"))?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let request = http::Request::post(uri)
        .header(http::header::HOST, format!("{host}:{port}"))
        .header(http::header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Empty::<bytes::Bytes>::new())?;
    let response = sender.send_request(request).await?;
    let status = response.status();
    let body = response.into_body().collect().await?.to_bytes();
    Ok((status, body))
}
