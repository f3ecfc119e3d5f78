//! Cold start: the release `tocsin serve` binary started on a data dir of
//! 10,000 rules and 1,000,000 tickets (with their time-event index; the
//! shared data set of [`crate::common::tickets`]), timed
//! from spawn until `/healthz` answers. The median of three starts after a
//! first one that fills the compiled-plugin cache.
//!
//! Baseline (same run, same binary and plugins): a start on an empty data dir.
//! Needs the built plugins (`cargo xtask bench` builds them).

use crate::common::tickets::{Tickets, ITEMS};
use crate::common::{durable, report, workload};
use durable::plugins_dir;
use std::io::{Read as _, Write as _};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tocsin::catalog::catalog;
use tocsin::config::Config;
use tocsin::rules::{RuleRepo, RuleSet, Validator};

const RULES: usize = 10_000;

fn config(data: &Path) -> Config {
    Config {
        data: data.to_path_buf(),
        plugins: plugins_dir(),
        ..Config::default()
    }
}

/// Fills `data` with the tickets (a copy of the shared data set) and the
/// rules (through the library).
async fn populate(data: &Path, tickets: &Tickets) {
    tickets.copy_to(&data.join("db"));
    let (engine, registry) = tocsin::cli::serve::open(&config(data), false)
        .await
        .expect("opening the engine to populate it");
    let v = Validator {
        catalog: catalog(),
        plugins: &registry,
    };
    let set = RuleSet {
        rules: workload::rules(RULES),
    };
    RuleRepo::open(engine.store())
        .expect("rules")
        .import(&set, &v)
        .expect("importing the generated rules");
    engine.store().db().flush_async().await.expect("flush");
}

/// Starts the server on `data`; answers the time until `/healthz` is 200.
fn start(data: &Path) -> Duration {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let started = Instant::now();
    let mut child: Child = Command::new(env!("CARGO_BIN_EXE_tocsin"))
        .args(["serve", "--data"])
        .arg(data)
        .arg("--plugins")
        .arg(plugins_dir())
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting tocsin serve");
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            panic!("tocsin serve exited with {status} before it was healthy");
        }
        if healthy(port) {
            let took = started.elapsed();
            let _ = child.kill();
            let _ = child.wait();
            return took;
        }
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "not healthy after 300 s"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn healthy(port: u16) -> bool {
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let request = "GET /healthz HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n";
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.starts_with("HTTP/1.1 200")
}

/// The median of three starts, after one that fills the compiled cache.
fn median_start(data: &Path) -> f64 {
    start(data);
    let mut runs: Vec<f64> = (0..3).map(|_| start(data).as_secs_f64() * 1e3).collect();
    runs.sort_by(|a, b| a.total_cmp(b));
    runs[1]
}

pub fn run(tickets: &Tickets) {
    let full = tempfile::tempdir().expect("tempdir");
    let empty = tempfile::tempdir().expect("tempdir");
    let setup = Instant::now();
    crate::common::runtime().block_on(populate(full.path(), tickets));
    println!(
        "setup: {ITEMS} tickets copied and {RULES} rules imported in {:.1} s",
        setup.elapsed().as_secs_f64()
    );
    let base = median_start(empty.path());
    let ours = median_start(full.path());
    println!("\ncold start of `tocsin serve` until /healthz answers, median of 3");
    report::header();
    report::Row {
        measure: "cold start, 10k rules and 1M tickets, ms",
        figure: ours,
        baseline: Some(base),
        baseline_name: "an empty data dir",
        goal: "-",
        higher_is_better: false,
    }
    .record();
}
