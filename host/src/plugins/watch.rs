//! Hot reload: watches plugin folders (with `notify`) and loads a plugin
//! again when its component or manifest changes. The new version is compiled
//! off the invocation path and swapped in atomically by the [`Registry`];
//! invocations already running finish on the version they started with. A
//! version that fails to load leaves the old one serving, and the reason is
//! kept ([`Registry::last_error`]) and logged.

use super::grants::Grants;
use super::registry::Registry;
use notify::{RecursiveMode, Watcher as _};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Changes arriving within this long are handled together (an editor or a
/// copy writes a file in several steps; a component and its manifest change
/// together).
const SETTLE: Duration = Duration::from_millis(200);

/// Grants for a plugin that is not installed yet, by id.
pub type GrantsFor = Arc<dyn Fn(&str) -> Grants + Send + Sync>;
/// Told after each reload attempt: plugin id and the outcome.
pub type Reloaded = Arc<dyn Fn(&str, &Result<String, String>) + Send + Sync>;

/// A running watch; dropping it stops watching.
pub struct Watch {
    _watcher: notify::RecommendedWatcher,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Watches `folders` (each `<id>.wasm` beside `<id>.toml`) and reloads what
/// changes. A plugin keeps its grants across reloads; a new one gets
/// `grants_for(id)`.
pub fn watch(
    registry: Arc<Registry>,
    folders: Vec<PathBuf>,
    grants_for: GrantsFor,
    reloaded: Reloaded,
) -> anyhow::Result<Watch> {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<PathBuf>();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if let Ok(event) = event {
            if matches!(
                event.kind,
                notify::EventKind::Create(_) | notify::EventKind::Modify(_)
            ) {
                for path in event.paths {
                    let _ = tx.send(path);
                }
            }
        }
    })?;
    for folder in &folders {
        std::fs::create_dir_all(folder)?;
        watcher.watch(folder, RecursiveMode::NonRecursive)?;
    }
    let task = tokio::spawn(async move {
        while let Some(first) = rx.recv().await {
            let mut changed = BTreeSet::new();
            changed.insert(first);
            tokio::time::sleep(SETTLE).await;
            while let Ok(more) = rx.try_recv() {
                changed.insert(more);
            }
            let components: BTreeSet<PathBuf> = changed
                .iter()
                .filter(|p| p.extension().is_some_and(|x| x == "wasm" || x == "toml"))
                .map(|p| p.with_extension("wasm"))
                .filter(|p| p.exists())
                .collect();
            for wasm in components {
                let id = wasm
                    .file_stem()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .to_string();
                let grants = match registry.get(&id) {
                    Some(installed) => (*installed.grants).clone(),
                    None => grants_for(&id),
                };
                let outcome = match registry.install_file(&wasm, grants).await {
                    Ok(installed) => {
                        registry.record_error(&id, None);
                        tracing::info!(plugin = %id, version = %installed.plugin.info.version, "plugin reloaded from {}", wasm.display());
                        Ok(installed.plugin.info.version.clone())
                    }
                    Err(e) => {
                        let why = format!("{e:#}");
                        tracing::warn!(plugin = %id, "reloading {} failed; the old version keeps serving: {why}", wasm.display());
                        registry.record_error(&id, Some(why.clone()));
                        Err(why)
                    }
                };
                reloaded(&id, &outcome);
            }
        }
    });
    Ok(Watch {
        _watcher: watcher,
        task,
    })
}
