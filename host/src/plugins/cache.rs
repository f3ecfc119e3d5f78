//! The compiled-code cache: a component compiled once is kept on disk, named
//! by its content hash and the engine's compatibility hash, so a restart or
//! a reload of unchanged code skips compiling.

use std::path::Path;
use wasmtime::component::Component;
use wasmtime::Engine;

/// Compiles a component, or reads it from the cache when the same bytes
/// were compiled by a compatible engine before.
pub fn compile(
    engine: &Engine,
    cache_dir: Option<&Path>,
    bytes: &[u8],
) -> wasmtime::Result<Component> {
    let Some(dir) = cache_dir else {
        return Component::new(engine, bytes);
    };
    use sha2::Digest as _;
    use std::hash::{Hash as _, Hasher as _};
    let mut version = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut version);
    let digest = sha2::Sha256::digest(bytes);
    let name: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    let path = dir.join(format!("{name}-{:016x}.cwasm", version.finish()));
    if path.exists() {
        match load_compiled(engine, &path) {
            Ok(component) => return Ok(component),
            Err(e) => tracing::warn!(
                "compiled cache {} unusable, compiling again: {e:#}",
                path.display()
            ),
        }
    }
    let component = Component::new(engine, bytes)?;
    if let Err(e) = store_compiled(&component, dir, &path) {
        tracing::warn!("could not keep compiled code in {}: {e:#}", dir.display());
    }
    Ok(component)
}

/// Reads a compiled component from the cache.
#[allow(unsafe_code)]
fn load_compiled(engine: &Engine, path: &Path) -> wasmtime::Result<Component> {
    // Read into memory rather than mapped: a file changed in place later
    // cannot pull the code from under a running plugin.
    let bytes = std::fs::read(path)?;
    // SAFETY: the bytes are a file this runtime wrote with
    // `Component::serialize` into the host's own data directory (never a
    // plugin's directory), named by the content hash and the engine's
    // compatibility hash; wasmtime checks the header and the engine settings
    // before using them.
    unsafe { Component::deserialize(engine, &bytes) }
}

/// Writes compiled code to the cache atomically (a temporary file renamed).
fn store_compiled(component: &Component, dir: &Path, path: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let bytes = component.serialize().map_err(anyhow::Error::from)?;
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}
