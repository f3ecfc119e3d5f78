//! `tocsin plugin ...`: checking plugin components.

use crate::plugins::{Grants, Registry, Runtime, RuntimeConfig};
use crate::store::Store;
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
}

pub async fn run(cmd: PluginCommand) -> anyhow::Result<()> {
    match cmd {
        PluginCommand::Check { wasm } => {
            let scratch = tempdir()?;
            let store = Store::open(&scratch)?;
            let runtime = Arc::new(Runtime::new(RuntimeConfig::default(), Arc::new(store))?);
            let registry = Registry::new(runtime);
            let installed = registry.install_file(&wasm, Grants::default()).await;
            let _ = std::fs::remove_dir_all(&scratch);
            let installed = installed?;
            let m = &installed.plugin.manifest;
            println!("{} {} ({}, {})", m.id, m.version, m.world.name(), m.wit);
            for a in &installed.plugin.info.actions {
                let modes: Vec<&str> = a.modes.iter().map(|m| m.name()).collect();
                println!("  action {} \"{}\" [{}]", a.id, a.title, modes.join(", "));
            }
            Ok(())
        }
    }
}

/// A private scratch directory for a throwaway store.
fn tempdir() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("tocsin-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
