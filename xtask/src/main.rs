//! Project tasks, run as `cargo xtask <task>` (an alias in `.cargo/config.toml`).
//!
//! - `plugins`: build every crate in `plugins/` and `tests/guests/` to a WebAssembly
//!   component under `target/plugins/`, finding or installing a wasm toolchain.
//! - `examples`: build the providers written in C and JavaScript (`examples/provider-*`)
//!   to components under `target/examples/`, installing their toolchains when missing.
//! - `demo`: build the plugins, then run `tocsin demo` on the sample rules and events.
//! - `test`: build the plugins and the examples once, then format check, clippy,
//!   every test and a 3-round crash run.
//! - `bench`: run every benchmark; one table of figures, same-run baselines,
//!   ratios and goals, also written to `target/bench/report.md`.
//! - `fuzz [--secs N]`: fuzz event JSON, rule JSON and plugin manifests, N s per target
//!   (installs cargo-fuzz if missing; see `fuzz.rs`).
//! - `crash`: SIGKILL `tocsin serve` under load, restart it, check nothing acknowledged is lost.

mod bench;
mod crash;
mod examples;
mod fuzz;
mod plugins;
mod toolchain;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Parser)]
#[command(name = "cargo xtask", about = "tocsin project tasks")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Build every plugin and test guest into a component under target/plugins/.
    Plugins,
    /// Build the C and JavaScript example providers into components under target/examples/.
    Examples,
    /// Build the plugins and run the demo: sample rules and events, visible results.
    Demo {
        /// Data directory (sled); created if missing.
        #[arg(long, default_value = "tocsin-data")]
        data: PathBuf,
    },
    /// Run every benchmark; print one table (figure, same-run baseline, ratio, goal) and write it to target/bench/report.md.
    Bench,
    /// Build the plugins once, then check formatting, run clippy and every test.
    Test {
        /// Skip `cargo fmt --check` and clippy (faster local runs).
        #[arg(long)]
        no_lint: bool,
    },
    /// Kill the server with SIGKILL under load, restart it, check no acknowledged event or job is lost.
    Crash {
        /// Kill-and-restart rounds.
        #[arg(long, default_value_t = 20)]
        rounds: usize,
        /// Seed of the kill moments and events (default: random, printed).
        #[arg(long)]
        seed: Option<u64>,
    },
    /// Fuzz the event, rule and plugin-manifest parsers (cargo-fuzz, nightly); fails on a crash.
    Fuzz {
        /// Seconds per target.
        #[arg(long, default_value_t = 60)]
        secs: u64,
    },
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let root = workspace_root()?;
    match cli.task {
        Task::Plugins => {
            plugins::build(&root)?;
        }
        Task::Examples => {
            examples::build(&root)?;
        }
        Task::Demo { data } => {
            let built = plugins::build(&root)?;
            let data = if data.is_absolute() {
                data
            } else {
                root.join(data)
            };
            step("running the demo");
            run(cargo()
                .current_dir(&root)
                .args(["run", "--quiet", "--package", "tocsin", "--", "demo"])
                .arg("--data")
                .arg(&data)
                .arg("--plugins")
                .arg(&built.plugins)
                .arg("--examples")
                .arg(root.join("examples")))?;
        }
        Task::Bench => {
            bench::all(&root)?;
        }
        Task::Test { no_lint } => {
            let built = plugins::build(&root)?;
            let examples = examples::build(&root)?;
            if !no_lint {
                step("cargo fmt --check");
                run(cargo()
                    .current_dir(&root)
                    .args(["fmt", "--all", "--", "--check"]))?;
                step("cargo clippy -D warnings (host, sdk, xtask, tests, plugins natively)");
                run(cargo().current_dir(&root).args([
                    "clippy",
                    "--workspace",
                    "--all-targets",
                    "--quiet",
                    "--",
                    "-D",
                    "warnings",
                ]))?;
            }
            step("building the tocsin binary for the end-to-end tests");
            build_tocsin(&root)?;
            step("cargo test");
            run(cargo()
                .env("TOCSIN_BIN", root.join("target/debug/tocsin"))
                .current_dir(&root)
                .env("TOCSIN_PLUGINS_DIR", &built.plugins)
                .env("TOCSIN_TEST_GUESTS_DIR", &built.test_guests)
                .env("TOCSIN_EXAMPLES_DIR", &examples)
                .args(["test", "--no-fail-fast"]))?;
            step("cargo test: the plugins' own unit tests, natively");
            run(cargo().current_dir(&root).args([
                "test",
                "--workspace",
                "--lib",
                "--exclude",
                "tocsin",
                "--exclude",
                "tocsin-sdk",
                "--exclude",
                "tocsin-tests",
                "--exclude",
                "xtask",
            ]))?;
            step("crash harness, short: 3 rounds of SIGKILL under load");
            crash::run(&root, &built.plugins, 3, None)?;
        }
        Task::Crash { rounds, seed } => {
            let built = plugins::build(&root)?;
            crash::run(&root, &built.plugins, rounds, seed)?;
        }
        Task::Fuzz { secs } => fuzz::fuzz(&root, secs)?,
    }
    Ok(())
}

/// The rustup cargo that runs this xtask (not Debian's, which only builds guests).
fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// Builds the `tocsin` binary (debug) under `target/debug/`.
pub(crate) fn build_tocsin(root: &Path) -> Result<()> {
    run(cargo().current_dir(root).args([
        "build",
        "--quiet",
        "--package",
        "tocsin",
        "--bin",
        "tocsin",
    ]))
}

/// Prints a step header so long runs show progress.
pub(crate) fn step(what: &str) {
    eprintln!("\n==> {what}");
}

/// Runs a command, failing with the command line when it fails.
pub(crate) fn run(cmd: &mut Command) -> Result<()> {
    let shown = format!("{cmd:?}");
    let status = cmd
        .status()
        .with_context(|| format!("could not start {shown}"))?;
    if !status.success() {
        bail!("{shown} failed with {status}");
    }
    Ok(())
}

fn workspace_root() -> Result<PathBuf> {
    let manifest = std::env::var("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    let root = manifest
        .parent()
        .context("xtask has no parent directory")?
        .to_path_buf();
    if !Path::new(&root).join("wit").is_dir() {
        bail!("{} does not look like the tocsin workspace", root.display());
    }
    Ok(root)
}
