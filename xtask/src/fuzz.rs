//! `cargo xtask fuzz [--secs N]`: fuzz the parsers and validators that take
//! outside input, each for N seconds (default 60).
//!
//! The targets live in `tests/fuzz/` (a cargo-fuzz crate with its own
//! workspace, so stable builds never see it):
//!
//! - `event_json`: the body of `POST /v1/events` and the lines of
//!   `tocsin event send`, parsed and checked against the catalog.
//! - `rule_json`: one rule and rule import documents, validated with their
//!   conditions compiled, then the conditions evaluated.
//! - `plugin_manifest`: the TOML manifest of a plugin package.
//!
//! The task installs cargo-fuzz when it is missing (`cargo install cargo-fuzz
//! --locked`) and the nightly toolchain when rustup lacks it, builds the
//! targets once with nightly, then runs each seeded with the committed inputs
//! in `tests/fuzz/seeds/<target>/`; what fuzzing finds grows
//! `tests/fuzz/corpus/<target>/` (ignored by git). A crash fails the task,
//! naming the target and the input libFuzzer saved under
//! `tests/fuzz/artifacts/<target>/`; replay it with
//! `cargo +nightly fuzz run --fuzz-dir tests/fuzz --sanitizer none <target> <input>`.
//!
//! Built with `--sanitizer none`: the targets run only safe Rust of this
//! workspace (`unsafe_code = "deny"`) over serde, toml and regex, so what
//! there is to find is panics (cargo-fuzz keeps debug assertions and overflow
//! checks on), while AddressSanitizer would instrument wasmtime and cranelift
//! too and roughly double both the build on two cores and the time per input.

use crate::{run, step};
use anyhow::{bail, Context, Result};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The fuzz targets, in the order they run.
pub const TARGETS: &[&str] = &["event_json", "rule_json", "plugin_manifest"];

/// Where the fuzz crate is, from the workspace root.
const FUZZ_DIR: &str = "tests/fuzz";
/// Where its builds go: under the ignored `target/`, apart from stable builds
/// (nightly and the coverage instrumentation would rebuild everything anyway).
const TARGET_DIR: &str = "target/fuzz";

/// What one target's run did.
struct Outcome {
    target: &'static str,
    runs: Option<u64>,
    execs_per_sec: Option<u64>,
    new_units: Option<u64>,
    elapsed: Duration,
}

/// Installs what is missing, builds every target and runs each for `secs`
/// seconds; fails on the first crash, naming the target and the saved input.
pub fn fuzz(root: &Path, secs: u64) -> Result<()> {
    let started = Instant::now();
    ensure_nightly()?;
    ensure_cargo_fuzz()?;

    step("building the fuzz targets (nightly, coverage-instrumented, no sanitizer)");
    let build_started = Instant::now();
    run(nightly_cargo(root)
        .args(["fuzz", "build"])
        .args(common_args()))
    .context("building the fuzz targets")?;
    let build = build_started.elapsed();
    eprintln!("built in {}", seconds(build));

    let mut outcomes = Vec::new();
    for &target in TARGETS {
        step(&format!("fuzzing {target} for {secs} s"));
        outcomes.push(fuzz_one(root, target, secs)?);
    }

    step("fuzzing summary");
    eprintln!(
        "{:<16} {:>12} {:>10} {:>10} {:>8}",
        "target", "runs", "exec/s", "added", "time"
    );
    let shown = |n: Option<u64>| n.map_or_else(|| "?".to_string(), |n| n.to_string());
    for o in &outcomes {
        eprintln!(
            "{:<16} {:>12} {:>10} {:>10} {:>8}",
            o.target,
            shown(o.runs),
            shown(o.execs_per_sec),
            shown(o.new_units),
            seconds(o.elapsed)
        );
    }
    eprintln!(
        "no crashes; build {}, total wall time {}",
        seconds(build),
        seconds(started.elapsed())
    );
    Ok(())
}

/// Runs one target, echoing libFuzzer's progress lines and keeping its whole
/// output in `target/fuzz/logs/<target>.log`.
fn fuzz_one(root: &Path, target: &'static str, secs: u64) -> Result<Outcome> {
    let fuzz_dir = root.join(FUZZ_DIR);
    let corpus = fuzz_dir.join("corpus").join(target);
    let seeds = fuzz_dir.join("seeds").join(target);
    std::fs::create_dir_all(&corpus)
        .with_context(|| format!("creating the corpus folder {}", corpus.display()))?;
    if !seeds.is_dir() {
        bail!(
            "{target} has no seed inputs: {} is missing",
            seeds.display()
        );
    }
    let logs = root.join(TARGET_DIR).join("logs");
    std::fs::create_dir_all(&logs).with_context(|| format!("creating {}", logs.display()))?;
    let log_path = logs.join(format!("{target}.log"));
    let mut log = std::fs::File::create(&log_path)
        .with_context(|| format!("creating {}", log_path.display()))?;

    let mut cmd = nightly_cargo(root);
    // The first corpus folder receives new inputs; the seeds are only read.
    cmd.args(["fuzz", "run"])
        .args(common_args())
        .arg(target)
        .arg(&corpus)
        .arg(&seeds)
        .arg("--")
        .arg(format!("-max_total_time={secs}"))
        .arg("-print_final_stats=1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let shown = format!("{cmd:?}");
    let started = Instant::now();
    let mut child = cmd
        .spawn()
        .with_context(|| format!("could not start {shown}"))?;
    // libFuzzer writes to stderr; cargo's build lines too. Drain stdout on a
    // thread so neither pipe can fill and stall the run.
    let stdout = child.stdout.take().context("stdout was not piped")?;
    let stdout_lines = std::thread::spawn(move || {
        BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .collect::<Vec<_>>()
    });
    let stderr = child.stderr.take().context("stderr was not piped")?;
    let mut outcome = Outcome {
        target,
        runs: None,
        execs_per_sec: None,
        new_units: None,
        elapsed: Duration::ZERO,
    };
    let mut crash_input = None;
    for line in BufReader::new(stderr).lines() {
        let line = line.with_context(|| format!("reading the output of {target}"))?;
        writeln!(log, "{line}").with_context(|| format!("writing {}", log_path.display()))?;
        if is_progress(&line) {
            eprintln!("  {target}: {line}");
        }
        if let Some(path) = line.split("Test unit written to ").nth(1) {
            crash_input = Some(PathBuf::from(path.trim()));
        }
        if let Some(n) = stat(&line, "stat::number_of_executed_units:") {
            outcome.runs = Some(n);
        }
        if let Some(n) = stat(&line, "stat::average_exec_per_sec:") {
            outcome.execs_per_sec = Some(n);
        }
        if let Some(n) = stat(&line, "stat::new_units_added:") {
            outcome.new_units = Some(n);
        }
    }
    let status = child
        .wait()
        .with_context(|| format!("waiting for {shown}"))?;
    outcome.elapsed = started.elapsed();
    let stdout_lines = stdout_lines
        .join()
        .map_err(|_| anyhow::anyhow!("the thread reading {target}'s stdout panicked"))?;
    for line in &stdout_lines {
        writeln!(log, "{line}").with_context(|| format!("writing {}", log_path.display()))?;
    }
    if !status.success() {
        match crash_input {
            Some(input) => bail!(
                "fuzz target {target} crashed ({status}); the input is {}\n\
                 replay: cargo +nightly fuzz run --fuzz-dir {FUZZ_DIR} --sanitizer none {target} {}\n\
                 full output: {}",
                input.display(),
                input.display(),
                log_path.display()
            ),
            None => bail!(
                "fuzz target {target} failed ({status}) without saving an input; \
                 full output: {}",
                log_path.display()
            ),
        }
    }
    eprintln!(
        "  {target}: {} runs in {} ({} exec/s)",
        outcome.runs.map_or("?".into(), |n| n.to_string()),
        seconds(outcome.elapsed),
        outcome.execs_per_sec.map_or("?".into(), |n| n.to_string())
    );
    Ok(outcome)
}

/// Arguments shared by `cargo fuzz build` and `cargo fuzz run`, so `run` finds
/// the targets `build` made and does not rebuild.
fn common_args() -> [&'static str; 6] {
    [
        "--fuzz-dir",
        FUZZ_DIR,
        "--sanitizer",
        "none",
        "--target-dir",
        TARGET_DIR,
    ]
}

/// `cargo +nightly` through rustup's proxy: the `CARGO` this xtask runs under
/// is the stable toolchain's own binary, which does not take `+toolchain`.
fn nightly_cargo(root: &Path) -> Command {
    let mut cmd = Command::new("cargo");
    cmd.current_dir(root)
        .arg("+nightly")
        .env_remove("RUSTUP_TOOLCHAIN")
        .env_remove("CARGO");
    cmd
}

/// Installs the nightly toolchain when rustup does not have it: cargo-fuzz
/// needs `-Z` flags that only nightly accepts.
fn ensure_nightly() -> Result<()> {
    let have = Command::new("rustup")
        .args(["run", "nightly", "rustc", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .context("could not run rustup; the fuzz targets need rustup's nightly toolchain")?
        .success();
    if !have {
        step("installing the nightly toolchain (cargo-fuzz builds with nightly-only flags)");
        run(Command::new("rustup").args([
            "toolchain",
            "install",
            "nightly",
            "--profile",
            "minimal",
        ]))?;
    }
    Ok(())
}

/// Installs cargo-fuzz when `cargo fuzz` is not a command yet.
fn ensure_cargo_fuzz() -> Result<()> {
    let version = Command::new("cargo")
        .args(["+nightly", "fuzz", "--version"])
        .env_remove("RUSTUP_TOOLCHAIN")
        .env_remove("CARGO")
        .output();
    match version {
        Ok(out) if out.status.success() => {
            eprintln!("using {}", String::from_utf8_lossy(&out.stdout).trim());
            Ok(())
        }
        _ => {
            step("installing cargo-fuzz (`cargo fuzz` builds and runs the libFuzzer targets; it is not installed)");
            run(crate::cargo().args(["install", "cargo-fuzz", "--locked"]))
                .context("installing cargo-fuzz")
        }
    }
}

/// Whether a libFuzzer line is worth echoing: start, periodic pulses, the
/// end, and anything about a failure.
fn is_progress(line: &str) -> bool {
    [
        "INITED",
        "pulse",
        "DONE",
        "Done ",
        "panicked",
        "ERROR",
        "SUMMARY",
        "Test unit written",
        "Error",
    ]
    .iter()
    .any(|m| line.contains(m))
        // Sanitizer and libFuzzer reports start with `==<pid>==`.
        || line.starts_with("==")
}

/// The number after `key` in a `-print_final_stats` line.
fn stat(line: &str, key: &str) -> Option<u64> {
    line.strip_prefix(key)?.trim().parse().ok()
}

fn seconds(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_libfuzzer_final_stats() {
        assert_eq!(
            stat(
                "stat::number_of_executed_units: 123456",
                "stat::number_of_executed_units:"
            ),
            Some(123456)
        );
        assert_eq!(
            stat(
                "stat::average_exec_per_sec:     2057",
                "stat::average_exec_per_sec:"
            ),
            Some(2057)
        );
        assert_eq!(
            stat("#1024\tpulse  cov: 10", "stat::new_units_added:"),
            None
        );
    }

    #[test]
    fn every_target_has_a_source_a_bin_and_seeds() {
        let root = crate::workspace_root().expect("the workspace root");
        let manifest = std::fs::read_to_string(root.join(FUZZ_DIR).join("Cargo.toml"))
            .expect("the fuzz crate's Cargo.toml");
        for target in TARGETS {
            let source = root
                .join(FUZZ_DIR)
                .join("fuzz_targets")
                .join(format!("{target}.rs"));
            assert!(source.is_file(), "{} is missing", source.display());
            assert!(
                manifest.contains(&format!("name = \"{target}\"")),
                "{target} is not a [[bin]] of {FUZZ_DIR}/Cargo.toml"
            );
            let seeds = root.join(FUZZ_DIR).join("seeds").join(target);
            let count = std::fs::read_dir(&seeds)
                .unwrap_or_else(|e| panic!("{}: {e}", seeds.display()))
                .count();
            assert!(count > 0, "{} has no seed inputs", seeds.display());
        }
    }
}
