//! Building the external providers written in other languages
//! (`examples/provider-c`, `examples/provider-js`) into components.
//!
//! Each lands as `target/examples/<id>.wasm` beside its manifest
//! `target/examples/<id>.toml`, the layout `tocsin plugin install` and the
//! end-to-end tests expect. Intermediate files (generated bindings, the core
//! module, a local npm prefix) stay in `target/examples-build/`.
//!
//! - **C**: the bindings are generated with the `wit-bindgen-c` library (the
//!   same code as `wit-bindgen c`, without the ~6 min `cargo install
//!   wit-bindgen-cli`), clang-22 compiles a `wasm32-wasi` reactor core module
//!   against Debian's wasi-libc, and `wit-component` turns it into a
//!   component with the WASI preview 1 reactor adapter. Both library steps
//!   run in the `xtask-wit` helper (`xtask/wit-tools`), built on first use.
//! - **JavaScript**: jco's QuickJS backend (`jco componentize --backend qjs`),
//!   installed from npm under `target/examples-build/node`, never globally.
//!
//! Missing tools are installed the way `toolchain.rs` installs the wasm
//! toolchain: Debian packages with apt-get when we are root (saying what and
//! why), otherwise an error with the exact commands.

use anyhow::{bail, Context, Result};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The WIT world both providers implement.
const WORLD: &str = "external-provider";

/// The world the JavaScript provider is built against: `external-provider`
/// without `wasi:http` (see `examples/provider-js/world.wit` for why).
const JS_WORLD: &str = "external-provider-no-http";

/// Debian packages the C example needs: the compiler, its wasm linker, its
/// wasm32 runtime library (builtins such as `__multi3`) and the C library for
/// wasm32-wasi.
const C_PACKAGES: &[&str] = &[
    "clang-22",
    "lld-22",
    "libclang-rt-22-dev-wasm32",
    "wasi-libc",
];

/// The clang the C example is compiled with.
const CLANG: &str = "/usr/bin/clang-22";

/// Debian packages the JavaScript example needs when node is missing.
const NODE_PACKAGES: &[&str] = &["nodejs", "npm"];

/// The npm package that componentizes JavaScript, pinned.
const JCO: &str = "@bytecodealliance/jco";
/// Its version (QuickJS backend: 1.6 MB components, ~1 s host compile).
const JCO_VERSION: &str = "1.35.0";

/// One built example.
pub struct Example {
    /// Plugin id, also the file stem under `target/examples/`.
    pub id: &'static str,
    /// The component.
    pub wasm: PathBuf,
    /// How long building it took, tool installs excluded.
    pub took: Duration,
}

/// Builds every example; returns the folder holding the components
/// (`target/examples`), for `TOCSIN_EXAMPLES_DIR`.
pub fn build(root: &Path) -> Result<PathBuf> {
    let out = root.join("target/examples");
    let work = root.join("target/examples-build");
    fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    fs::create_dir_all(&work).with_context(|| format!("creating {}", work.display()))?;

    ensure_c_toolchain()?;
    crate::step("building examples/provider-c (C, clang-22 + wasi-libc + wit-bindgen-c)");
    let c = build_c(root, &work.join("provider-c"), &out)?;

    let jco = ensure_jco(&work.join("node"))?;
    crate::step(&format!(
        "building examples/provider-js (JavaScript, {JCO}@{JCO_VERSION} --backend qjs)"
    ));
    let js = build_js(root, &jco, &work.join("provider-js"), &out)?;

    for example in [&c, &js] {
        let size = fs::metadata(&example.wasm).map(|m| m.len()).unwrap_or(0);
        eprintln!(
            "    {}: {} ({} KiB, built in {:.1} s)",
            example.id,
            example.wasm.display(),
            size / 1024,
            example.took.as_secs_f64()
        );
    }
    Ok(out)
}

/// C: bindings, compile, componentize, copy the manifest.
fn build_c(root: &Path, work: &Path, out: &Path) -> Result<Example> {
    let started = Instant::now();
    let src = root.join("examples/provider-c");
    let gen = work.join("gen");
    wit_tool(
        root,
        &[
            "c-bindings".as_ref(),
            "--wit".as_ref(),
            root.join("wit").as_os_str(),
            "--world".as_ref(),
            WORLD.as_ref(),
            "--out".as_ref(),
            gen.as_os_str(),
        ],
    )?;
    let world = WORLD.replace('-', "_");
    let core = work.join("core.wasm");
    crate::run(
        Command::new(CLANG)
            .args([
                // Debian names the wasi-libc sysroot `wasm32-wasi`.
                "--target=wasm32-wasi",
                // A library the host calls into, not a program with `main`.
                "-mexec-model=reactor",
                "-Os",
                "-Wall",
                "-Wl,--strip-all",
            ])
            .arg("-I")
            .arg(&gen)
            .arg(src.join("provider.c"))
            .arg(gen.join(format!("{world}.c")))
            // The WIT world's type, which wit-component reads back.
            .arg(gen.join(format!("{world}_component_type.o")))
            .arg("-o")
            .arg(&core),
    )?;
    let wasm = out.join("provider-c.wasm");
    wit_tool(
        root,
        &[
            "componentize".as_ref(),
            "--module".as_ref(),
            core.as_os_str(),
            "--out".as_ref(),
            wasm.as_os_str(),
        ],
    )
    .context("componentizing the C provider")?;
    copy_manifest(&src, out, "provider-c")?;
    Ok(Example {
        id: "provider-c",
        wasm,
        took: started.elapsed(),
    })
}

/// Runs the `xtask-wit` helper (built on first use) with `args`.
fn wit_tool(root: &Path, args: &[&std::ffi::OsStr]) -> Result<()> {
    crate::run(
        crate::cargo()
            .current_dir(root)
            .args(["run", "--quiet", "--package", "xtask-wit", "--"])
            .args(args),
    )
}

/// JavaScript: a WIT folder with the no-http world added, then jco.
fn build_js(root: &Path, jco: &Path, work: &Path, out: &Path) -> Result<Example> {
    let started = Instant::now();
    let src = root.join("examples/provider-js");
    let wit = work.join("wit");
    copy_wit(&root.join("wit"), &wit)?;
    fs::copy(src.join("world.wit"), wit.join("provider-js.wit"))
        .with_context(|| format!("copying {}", src.join("world.wit").display()))?;
    let wasm = out.join("provider-js.wasm");
    crate::run(
        Command::new("node")
            .arg(jco)
            .args(["componentize", "--backend", "qjs", "--wit"])
            .arg(&wit)
            .args(["--world-name", JS_WORLD, "--out"])
            .arg(&wasm)
            .arg(src.join("provider.js")),
    )?;
    copy_manifest(&src, out, "provider-js")?;
    Ok(Example {
        id: "provider-js",
        wasm,
        took: started.elapsed(),
    })
}

/// Copies `wit/` (its `.wit` files and `deps/`) to `to`, replacing what was there.
fn copy_wit(from: &Path, to: &Path) -> Result<()> {
    if to.exists() {
        fs::remove_dir_all(to).with_context(|| format!("removing {}", to.display()))?;
    }
    for sub in ["", "deps"] {
        let (from, to) = (from.join(sub), to.join(sub));
        fs::create_dir_all(&to).with_context(|| format!("creating {}", to.display()))?;
        for entry in fs::read_dir(&from).with_context(|| format!("reading {}", from.display()))? {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "wit") {
                let dest = to.join(path.file_name().context("a file has a name")?);
                fs::copy(&path, &dest).with_context(|| format!("copying {}", path.display()))?;
            }
        }
    }
    Ok(())
}

/// `examples/<dir>/plugin.toml` to `target/examples/<id>.toml`.
fn copy_manifest(src: &Path, out: &Path, id: &str) -> Result<()> {
    let manifest = src.join("plugin.toml");
    fs::copy(&manifest, out.join(format!("{id}.toml")))
        .with_context(|| format!("copying {}", manifest.display()))?;
    Ok(())
}

/// Files the C example needs, with the package that brings each.
fn missing_c() -> Vec<String> {
    [
        (CLANG, "clang-22"),
        ("/usr/lib/llvm-22/bin/wasm-ld", "lld-22"),
        (
            "/usr/lib/llvm-22/lib/clang/22/lib/wasi/libclang_rt.builtins-wasm32.a",
            "libclang-rt-22-dev-wasm32",
        ),
        ("/usr/lib/wasm32-wasi/libc.a", "wasi-libc"),
        ("/usr/include/wasm32-wasi/stdlib.h", "wasi-libc"),
    ]
    .iter()
    .filter(|(file, _)| !Path::new(file).exists())
    .map(|(file, package)| format!("{file} ({package})"))
    .collect()
}

/// Makes sure clang-22, its wasm32 builtins and wasi-libc are there.
fn ensure_c_toolchain() -> Result<()> {
    let missing = missing_c();
    if missing.is_empty() {
        return Ok(());
    }
    apt_install(
        C_PACKAGES,
        "the C example is compiled by clang-22 for wasm32-wasi against Debian's wasi-libc",
        &missing,
    )?;
    let still = missing_c();
    if !still.is_empty() {
        bail!(
            "installed {} but still missing: {}",
            C_PACKAGES.join(" "),
            still.join(", ")
        );
    }
    Ok(())
}

/// Makes sure node and npm are there and jco is installed under `prefix`;
/// returns jco's command-line entry point.
fn ensure_jco(prefix: &Path) -> Result<PathBuf> {
    if !has_node() {
        apt_install(
            NODE_PACKAGES,
            "the JavaScript example is componentized by jco, which runs on node",
            &["node and npm on PATH".to_string()],
        )?;
        if !has_node() {
            bail!(
                "installed {} but `node` and `npm` still do not run",
                NODE_PACKAGES.join(" ")
            );
        }
    }
    let package = prefix.join("node_modules").join(JCO);
    let entry = package.join("dist/jco.js");
    if installed_version(&package).as_deref() == Some(JCO_VERSION) && entry.exists() {
        return Ok(entry);
    }
    crate::step(&format!(
        "installing {JCO}@{JCO_VERSION} from npm into {} (why: it componentizes the JavaScript example; local to target/, not global)",
        prefix.display()
    ));
    fs::create_dir_all(prefix).with_context(|| format!("creating {}", prefix.display()))?;
    crate::run(
        Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--prefix"])
            .arg(prefix)
            .arg(format!("{JCO}@{JCO_VERSION}")),
    )?;
    if !entry.exists() {
        bail!(
            "npm installed {JCO}@{JCO_VERSION} but its entry point {} is missing",
            entry.display()
        );
    }
    Ok(entry)
}

/// The `version` in an npm package's package.json, when it is installed.
fn installed_version(package: &Path) -> Option<String> {
    let text = fs::read_to_string(package.join("package.json")).ok()?;
    let start = text.find("\"version\"")?;
    let rest = &text[start + "\"version\"".len()..];
    let value = rest.split('"').nth(1)?;
    Some(value.to_string())
}

/// Whether `node` and `npm` both run.
fn has_node() -> bool {
    ["node", "npm"].iter().all(|tool| {
        Command::new(tool)
            .arg("--version")
            .output()
            .map(|out| out.status.success())
            .unwrap_or(false)
    })
}

/// Installs Debian packages as root, saying what and why; otherwise fails
/// with the command to run.
fn apt_install(packages: &[&str], why: &str, missing: &[String]) -> Result<()> {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
        .unwrap_or(false);
    if !root || !Path::new("/usr/bin/apt-get").exists() {
        bail!(
            "missing {}; {why}.\nInstall it as root:\n    apt-get update && apt-get install -y {}",
            missing.join(", "),
            packages.join(" ")
        );
    }
    crate::step(&format!(
        "installing Debian packages {} (why: {why}; missing: {})",
        packages.join(" "),
        missing.join(", ")
    ));
    crate::run(Command::new("apt-get").args(["update", "-q"]))?;
    crate::run(
        Command::new("apt-get")
            .env("DEBIAN_FRONTEND", "noninteractive")
            .args(["install", "-y", "-q"])
            .args(packages),
    )
}
