//! Building the plugin and test-guest crates into components.
//!
//! All guests build in one cargo invocation with one target dir
//! (`target/wasm`), so the standard library is built once for all of them. Each
//! component is copied with its manifest to `target/plugins/<id>.wasm` and
//! `target/plugins/<id>.toml`.

use crate::toolchain::{self, TARGET};
use anyhow::{bail, Context, Result};
use std::fs;
use std::path::{Path, PathBuf};

/// A guest crate: its package name and folder.
struct Guest {
    name: String,
    dir: PathBuf,
    test_only: bool,
}

/// Where the components land: built-in plugins and test guests apart, so the
/// demo installs only the built-ins.
pub struct Built {
    /// `target/plugins`: the built-in plugins.
    pub plugins: PathBuf,
    /// `target/test-guests`: plugins that exist only for the tests.
    pub test_guests: PathBuf,
}

/// Builds every guest; returns the folders holding the components.
pub fn build(root: &Path) -> Result<Built> {
    build_only(root, None)
}

/// Builds the guests named in `only` (every guest when `None`).
pub fn build_only(root: &Path, only: Option<&[&str]>) -> Result<Built> {
    let mut guests = find_guests(root)?;
    if let Some(only) = only {
        guests.retain(|g| only.contains(&g.name.as_str()));
        let missing: Vec<_> = only
            .iter()
            .filter(|name| !guests.iter().any(|g| g.name == **name))
            .collect();
        if !missing.is_empty() {
            bail!("no guest package named {missing:?} under plugins/ or tests/guests/");
        }
    }
    let toolchain = toolchain::detect()?;
    crate::step(&format!(
        "building {} plugin(s) for {TARGET} with the {}: {}",
        guests.len(),
        toolchain.describe(),
        guests
            .iter()
            .map(|g| g.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    ));
    let target_dir = root.join("target/wasm");
    let mut cmd = toolchain.cargo();
    cmd.current_dir(root)
        .env("CARGO_TARGET_DIR", &target_dir)
        .args(["--profile", "plugin", "--target", TARGET]);
    for guest in &guests {
        cmd.args(["--package", &guest.name]);
    }
    crate::run(&mut cmd)?;

    let built = Built {
        plugins: root.join("target/plugins"),
        test_guests: root.join("target/test-guests"),
    };
    for guest in &guests {
        let out = if guest.test_only {
            &built.test_guests
        } else {
            &built.plugins
        };
        fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
        let artifact = target_dir
            .join(TARGET)
            .join("plugin")
            .join(format!("{}.wasm", guest.name.replace('-', "_")));
        if !artifact.exists() {
            bail!(
                "cargo reported success but {} is missing",
                artifact.display()
            );
        }
        let dest = out.join(format!("{}.wasm", guest.name));
        fs::copy(&artifact, &dest)
            .with_context(|| format!("copying {} to {}", artifact.display(), dest.display()))?;
        let manifest = guest.dir.join("plugin.toml");
        fs::copy(&manifest, out.join(format!("{}.toml", guest.name)))
            .with_context(|| format!("copying {}", manifest.display()))?;
        let size = fs::metadata(&dest).map(|m| m.len()).unwrap_or(0);
        eprintln!("    {} ({} KiB)", dest.display(), size / 1024);
    }
    Ok(built)
}

/// Every folder under `plugins/` and `tests/guests/` with a Cargo.toml and a plugin.toml.
fn find_guests(root: &Path) -> Result<Vec<Guest>> {
    let mut guests = Vec::new();
    for parent in ["plugins", "tests/guests"] {
        let parent = root.join(parent);
        let entries =
            fs::read_dir(&parent).with_context(|| format!("reading {}", parent.display()))?;
        for entry in entries {
            let dir = entry?.path();
            if !dir.join("Cargo.toml").exists() {
                continue;
            }
            if !dir.join("plugin.toml").exists() {
                bail!("{} has no plugin.toml manifest", dir.display());
            }
            let name = package_name(&dir.join("Cargo.toml"))?;
            let test_only = parent.ends_with("guests");
            guests.push(Guest {
                name,
                dir,
                test_only,
            });
        }
    }
    guests.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(guests)
}

/// The package name from a crate's Cargo.toml.
fn package_name(manifest: &Path) -> Result<String> {
    let text =
        fs::read_to_string(manifest).with_context(|| format!("reading {}", manifest.display()))?;
    let table: toml::Table =
        toml::from_str(&text).with_context(|| format!("parsing {}", manifest.display()))?;
    table
        .get("package")
        .and_then(|p| p.get("name"))
        .and_then(|n| n.as_str())
        .map(str::to_string)
        .with_context(|| format!("{} has no [package] name", manifest.display()))
}
