//! Finding (or installing) a compiler that can build guests for `wasm32-wasip2`.
//!
//! Order: a rustup toolchain with the `wasm32-wasip2` target; else Debian's
//! `rustc-web` 1.96 with `-Zbuild-std` (see shared TOOLCHAIN.md), installed with
//! apt-get when missing and we are root; else an error with the exact commands.

use anyhow::{bail, Result};
use std::path::Path;
use std::process::Command;

/// The guest target.
pub const TARGET: &str = "wasm32-wasip2";

/// Debian packages of the fallback toolchain.
const DEBIAN_PACKAGES: &[&str] = &[
    "rustc-web",
    "cargo-web",
    "rust-web-src",
    "rust-web-llvm",
    "lld",
    "wasi-libc",
];

/// How to invoke cargo for guest builds.
pub enum Toolchain {
    /// rustup with the target installed: plain `cargo build --target`.
    Rustup,
    /// Debian's rustc-web with build-std.
    Debian,
}

impl Toolchain {
    /// A `cargo` command set up for this toolchain (environment and flags).
    pub fn cargo(&self) -> Command {
        match self {
            Toolchain::Rustup => {
                let mut cmd =
                    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
                cmd.arg("build");
                cmd
            }
            Toolchain::Debian => {
                let mut cmd = Command::new("/usr/bin/cargo");
                let path = std::env::var("PATH").unwrap_or_default();
                cmd.env("PATH", format!("/usr/bin:{path}"))
                    // build-std is unstable; this opts a stable compiler into it.
                    .env("RUSTC_BOOTSTRAP", "1")
                    .env(
                        "RUSTFLAGS",
                        "-C link-self-contained=no -L native=/usr/lib/wasm32-wasi",
                    )
                    // Variables set by the rustup cargo that runs us would point
                    // Debian's cargo at rustup's 1.95 compiler.
                    .env_remove("RUSTUP_TOOLCHAIN")
                    .env_remove("RUSTC")
                    .env_remove("RUSTDOC")
                    .env_remove("RUSTC_WRAPPER")
                    .env_remove("CARGO")
                    .env_remove("CARGO_ENCODED_RUSTFLAGS")
                    .arg("build")
                    .arg("-Zbuild-std=std,panic_abort");
                cmd
            }
        }
    }

    /// A short description for the progress output.
    pub fn describe(&self) -> &'static str {
        match self {
            Toolchain::Rustup => "rustup toolchain with the wasm32-wasip2 target",
            Toolchain::Debian => "Debian rustc-web with -Zbuild-std (no rustup wasm target here)",
        }
    }
}

/// Finds a toolchain, installing Debian's when that is possible.
pub fn detect() -> Result<Toolchain> {
    if rustup_has_target() {
        return Ok(Toolchain::Rustup);
    }
    if debian_ready() {
        return Ok(Toolchain::Debian);
    }
    let root = is_root();
    if root && Path::new("/usr/bin/apt-get").exists() {
        crate::step(&format!(
            "installing Debian packages {} (why: rustup has no {TARGET} target here, so guests are built with Debian's rustc-web and -Zbuild-std)",
            DEBIAN_PACKAGES.join(" ")
        ));
        crate::run(Command::new("apt-get").args(["update", "-q"]))?;
        crate::run(
            Command::new("apt-get")
                .env("DEBIAN_FRONTEND", "noninteractive")
                .args(["install", "-y", "-q"])
                .args(DEBIAN_PACKAGES),
        )?;
        if debian_ready() {
            return Ok(Toolchain::Debian);
        }
        bail!(
            "installed {} but the toolchain is still incomplete: {}",
            DEBIAN_PACKAGES.join(" "),
            missing_debian().join(", ")
        );
    }
    bail!(
        "no toolchain can build {TARGET} guests.\n\
         Either add the target to rustup:\n    rustup target add {TARGET}\n\
         or, on Debian, install the fallback as root:\n    apt-get update && apt-get install -y {}\n\
         (missing now: {})",
        DEBIAN_PACKAGES.join(" "),
        missing_debian().join(", ")
    )
}

fn rustup_has_target() -> bool {
    Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .map(|out| {
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .any(|l| l.trim() == TARGET)
        })
        .unwrap_or(false)
}

/// Files the fallback needs, with the package that brings each.
fn missing_debian() -> Vec<String> {
    let needs = [
        ("/usr/bin/cargo", "cargo-web"),
        ("/usr/bin/rustc", "rustc-web"),
        ("/usr/lib/wasm32-wasi/libc.a", "wasi-libc"),
    ];
    let mut missing: Vec<String> = needs
        .iter()
        .filter(|(file, _)| !Path::new(file).exists())
        .map(|(file, pkg)| format!("{file} ({pkg})"))
        .collect();
    if !has_rust_src() {
        missing.push("the Rust standard library source (rust-web-src)".into());
    }
    missing
}

fn has_rust_src() -> bool {
    let Ok(out) = Command::new("/usr/bin/rustc")
        .args(["--print", "sysroot"])
        .output()
    else {
        return false;
    };
    let sysroot = String::from_utf8_lossy(&out.stdout).trim().to_string();
    Path::new(&sysroot)
        .join("lib/rustlib/src/rust/library/Cargo.lock")
        .exists()
}

fn debian_ready() -> bool {
    missing_debian().is_empty()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
        .unwrap_or(false)
}
