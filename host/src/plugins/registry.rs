//! The installed plugins: id → loaded version and its grants.

use super::grants::Grants;
use super::manifest::Manifest;
use super::runtime::{LoadedPlugin, Runtime};
use anyhow::Context as _;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

/// One installed plugin.
#[derive(Clone)]
pub struct Installed {
    /// The loaded version.
    pub plugin: Arc<LoadedPlugin>,
    /// What it may do.
    pub grants: Arc<Grants>,
}

/// Installed plugins by id. The map lives in the runtime, which looks
/// external providers up in it for the `providers` import.
pub struct Registry {
    runtime: Arc<Runtime>,
}

impl Registry {
    /// A registry over a runtime (empty unless another registry over the
    /// same runtime installed plugins).
    pub fn new(runtime: Arc<Runtime>) -> Registry {
        Registry { runtime }
    }

    fn plugins(&self) -> &RwLock<BTreeMap<String, Installed>> {
        &self.runtime.shared().installed
    }

    /// The runtime.
    pub fn runtime(&self) -> &Arc<Runtime> {
        &self.runtime
    }

    /// Loads a component with its manifest and grants; replaces an installed
    /// plugin of the same id only if the new one loads.
    pub async fn install(
        &self,
        manifest: Manifest,
        wasm: &[u8],
        grants: Grants,
    ) -> anyhow::Result<Installed> {
        grants
            .validate()
            .with_context(|| format!("plugin `{}`", manifest.id))?;
        let plugin = Arc::new(self.runtime.load(manifest, wasm).await?);
        let installed = Installed {
            plugin,
            grants: Arc::new(grants),
        };
        self.plugins()
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(installed.plugin.id().to_string(), installed.clone());
        Ok(installed)
    }

    /// Installs `<name>.wasm` with its manifest `<name>.toml` from a folder.
    pub async fn install_file(
        &self,
        wasm_path: &Path,
        grants: Grants,
    ) -> anyhow::Result<Installed> {
        let manifest_path = manifest_path(wasm_path);
        let text = std::fs::read_to_string(&manifest_path)
            .with_context(|| format!("reading the manifest {}", manifest_path.display()))?;
        let manifest =
            Manifest::parse(&text).with_context(|| manifest_path.display().to_string())?;
        let wasm =
            std::fs::read(wasm_path).with_context(|| format!("reading {}", wasm_path.display()))?;
        self.install(manifest, &wasm, grants).await
    }

    /// Removes a plugin; invocations already running finish on it. Returns
    /// what was installed.
    pub fn remove(&self, id: &str) -> Option<Installed> {
        self.plugins()
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id)
    }

    /// Gives an installed plugin new grants (checked first); invocations
    /// already running keep the grants they started with.
    pub fn set_grants(&self, id: &str, grants: Grants) -> anyhow::Result<Installed> {
        grants
            .validate()
            .with_context(|| format!("plugin `{id}`"))?;
        let mut plugins = self.plugins().write().unwrap_or_else(|p| p.into_inner());
        let Some(installed) = plugins.get_mut(id) else {
            anyhow::bail!("no plugin `{id}` is installed");
        };
        installed.grants = Arc::new(grants);
        Ok(installed.clone())
    }

    /// The installed plugin with this id.
    pub fn get(&self, id: &str) -> Option<Installed> {
        self.plugins()
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .cloned()
    }

    /// Every installed plugin, by id.
    pub fn list(&self) -> Vec<Installed> {
        self.plugins()
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect()
    }
}

/// `x/log-file.wasm` → `x/log-file.toml`.
pub fn manifest_path(wasm_path: &Path) -> PathBuf {
    wasm_path.with_extension("toml")
}
