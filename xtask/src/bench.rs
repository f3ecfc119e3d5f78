//! `cargo xtask bench`: every benchmark, then one table of every figure
//! beside the baseline measured in the same run, its ratio and its goal,
//! printed and written to `target/bench/report.md`.
//!
//! Each bench (`host/benches/suite/`, one binary) appends its rows as JSON lines to the file
//! named by `TOCSIN_BENCH_OUT`; the matching bench also writes its workload
//! for the peer, `json-rules-engine`, run here with node.

use crate::{plugins, run, step};
use anyhow::{Context, Result};
use serde_json::Value;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

/// The components the benches load: `log-file` (the rules of the ingest,
/// scheduler and cold-start benches) and the trivial `reload-one` (invoke).
const BENCH_GUESTS: [&str; 2] = ["log-file", "reload-one"];

/// The peer matching engine, pinned.
const JSON_RULES_ENGINE: &str = "json-rules-engine@7.3.1";

/// Seconds the peer runs for.
const PEER_SECONDS: &str = "3";

/// Runs every benchmark and prints the table.
pub fn all(root: &Path) -> Result<()> {
    let started = Instant::now();
    // The plugins (wasm, their own target dir and compiler) build while
    // cargo builds the release benches. Either alone keeps the 2 cores busy
    // most of the time; together, each fills the stretches where the other
    // is down to one big crate or a link.
    step("building the plugins and the benchmarks (release profile) side by side");
    let mut release = crate::cargo()
        .current_dir(root)
        .args(["bench", "--quiet", "--package", "tocsin", "--no-run"])
        .spawn()
        .context("starting cargo bench --no-run")?;
    let built = plugins::build_only(root, Some(&BENCH_GUESTS));
    let release = release.wait().context("waiting for cargo bench --no-run")?;
    anyhow::ensure!(
        release.success(),
        "cargo bench --no-run failed with {release}"
    );
    let built = built?;
    eprintln!("built in {:.0} s", started.elapsed().as_secs_f64());
    let dir = root.join("target/bench");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let rows_file = dir.join("rows.jsonl");
    let _ = std::fs::remove_file(&rows_file);
    let _ = std::fs::remove_file(dir.join("matching-workload.json"));
    // One process for every bench: the scheduler and cold-start benches
    // share the million tickets it writes once.
    step("the benches (host/benches/suite): matching, invoke, ingest, http_ingest, scheduler, cold_start");
    run(crate::cargo()
        .current_dir(root)
        .env("TOCSIN_BENCH_OUT", &rows_file)
        .env("TOCSIN_BENCH_DIR", &dir)
        .env("TOCSIN_PLUGINS_DIR", &built.plugins)
        .env("TOCSIN_TEST_GUESTS_DIR", &built.test_guests)
        .args([
            "bench",
            "--quiet",
            "--package",
            "tocsin",
            "--bench",
            "suite",
        ]))?;
    step("matching peer: json-rules-engine on the same rules and events (node)");
    let peer = match peer(root, &dir) {
        Ok(row) => Some(row),
        Err(e) => {
            eprintln!("the json-rules-engine peer did not run: {e:#}");
            None
        }
    };
    let mut rows = read_rows(&rows_file)?;
    if let Some(row) = peer {
        rows.insert(1, row);
    }
    let table = table(&rows, started.elapsed().as_secs_f64());
    println!("\n{table}");
    let report = dir.join("report.md");
    std::fs::write(&report, &table).with_context(|| format!("writing {}", report.display()))?;
    eprintln!("written to {}", report.display());
    Ok(())
}

fn read_rows(path: &Path) -> Result<Vec<Value>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    text.lines()
        .map(|l| serde_json::from_str(l).with_context(|| format!("a row of {}", path.display())))
        .collect()
}

/// Runs json-rules-engine on the matching workload; answers its row.
fn peer(root: &Path, dir: &Path) -> Result<Value> {
    let workload = dir.join("matching-workload.json");
    let doc: Value = serde_json::from_slice(
        &std::fs::read(&workload).with_context(|| format!("reading {}", workload.display()))?,
    )?;
    let ours = doc["ours_per_second"].as_f64().context("ours_per_second")?;
    node_available()?;
    let modules = dir.join("node");
    if !modules.join("node_modules/json-rules-engine").is_dir() {
        eprintln!("installing {JSON_RULES_ENGINE} into {}", modules.display());
        std::fs::create_dir_all(&modules)?;
        run(Command::new("npm")
            .args(["install", "--silent", "--no-audit", "--no-fund", "--prefix"])
            .arg(&modules)
            .arg(JSON_RULES_ENGINE))?;
    }
    let output = Command::new("node")
        .env("JRE_MODULES", modules.join("node_modules"))
        .arg(root.join("xtask/peer/json-rules-engine.mjs"))
        .arg(&workload)
        .arg(PEER_SECONDS)
        .output()
        .context("running node")?;
    anyhow::ensure!(
        output.status.success(),
        "node failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let result: Value = serde_json::from_slice(&output.stdout).context("the peer's answer")?;
    let theirs = result["per_second"].as_f64().context("per_second")?;
    let disagreements = result["disagreements"].as_u64().unwrap_or(0);
    let checked = result["checked"].as_u64().unwrap_or(0);
    println!(
        "json-rules-engine: {theirs:.1} events/s over {} events; same firings as tocsin on {} of {checked} checked events",
        result["events"],
        checked - disagreements
    );
    Ok(serde_json::json!({
        "measure": "events matched per second, 10k rules, vs json-rules-engine",
        "figure": ours,
        "baseline": theirs,
        "baseline_name": format!("json-rules-engine 7.3.1 on node, same rules; {} of {checked} events disagree", disagreements),
        "ratio": ours / theirs,
        "goal": "-",
        "met": null,
    }))
}

/// Node and npm, installed with apt when missing and running as root.
fn node_available() -> Result<()> {
    let present = |tool: &str| Command::new(tool).arg("--version").output().is_ok();
    if present("node") && present("npm") {
        return Ok(());
    }
    eprintln!(
        "node or npm is missing: installing Debian's nodejs and npm for the json-rules-engine peer"
    );
    run(Command::new("apt-get").args(["install", "-y", "-q", "nodejs", "npm"]))
        .context("node is needed for the json-rules-engine peer")
}

/// The report: one markdown table.
fn table(rows: &[Value], seconds: f64) -> String {
    let mut out = String::from("# tocsin benchmarks\n\n");
    out.push_str(&format!(
        "{} cores; every baseline measured in the same run; `cargo xtask bench` took {:.0} s.\n\n",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        seconds
    ));
    out.push_str(
        "| measure | figure | baseline (same run) | ratio | goal |\n|---|---|---|---|---|\n",
    );
    for row in rows {
        let figure = shown(row["figure"].as_f64());
        let baseline = shown(row["baseline"].as_f64());
        let ratio = row["ratio"]
            .as_f64()
            .map_or("-".into(), |r| format!("{r:.2}x"));
        let goal = row["goal"].as_str().unwrap_or("-");
        let goal = match row["met"].as_bool() {
            Some(true) => format!("{goal} (met)"),
            Some(false) => format!("{goal} (NOT met)"),
            None => goal.to_string(),
        };
        out.push_str(&format!(
            "| {} | {figure} | {baseline} ({}) | {ratio} | {goal} |\n",
            row["measure"].as_str().unwrap_or("?"),
            row["baseline_name"].as_str().unwrap_or("-"),
        ));
    }
    out
}

fn shown(x: Option<f64>) -> String {
    match x {
        None => "-".into(),
        Some(x) if x >= 100.0 => format!("{x:.0}"),
        Some(x) if x >= 1.0 => format!("{x:.2}"),
        Some(x) => format!("{x:.3}"),
    }
}
