//! Every benchmark of tocsin, in one binary (six binaries each linking the
//! engine and wasmtime cost a fresh `cargo xtask bench` about a minute more).
//!
//! `cargo bench -p tocsin` runs them all; `cargo bench -p tocsin -- NAME`
//! runs those whose name contains NAME: `matching`, `invoke`, `ingest`,
//! `http_ingest`, `scheduler`, `cold_start`. Each prints its rows (measure,
//! figure, baseline measured in the same run, ratio, goal) and appends them
//! to the file named by `TOCSIN_BENCH_OUT`, which `cargo xtask bench`
//! gathers into one table.

/// The allocator the `tocsin` binary uses (see `host/src/main.rs`), so the
/// figures are those of what ships.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod cold_start;
mod common;
mod http_ingest;
mod ingest;
mod invoke;
mod matching;
mod scheduler;

use common::tickets::Tickets;
use std::time::Instant;

/// One bench, given the shared data set.
type Bench = fn(&Tickets);

/// The benches, in the order they run, with what each measures; the last
/// two share the data set of a million tickets, written once.
const BENCHES: [(&str, &str, Bench); 6] = [
    (
        "matching",
        "10,000 rules, indexed matcher vs naive baseline",
        |_| matching::run(),
    ),
    (
        "invoke",
        "plugin invocations: fresh pooled instance per invocation vs bare wasmtime; reload from the compiled cache",
        |_| invoke::run(),
    ),
    (
        "ingest",
        "durable ingest in process: group commit vs one event at a time",
        |_| ingest::run(),
    ),
    (
        "http_ingest",
        "durable ingest over HTTP on loopback with a load generator",
        |_| http_ingest::run(),
    ),
    (
        "scheduler",
        "time events: 1,000,000 tickets, tick cost and lag",
        scheduler::run,
    ),
    (
        "cold_start",
        "cold start of tocsin serve with 10,000 rules and 1,000,000 tickets",
        cold_start::run,
    ),
];

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // `cargo test --benches` runs this without `--bench`: nothing to do then.
    if !args.iter().any(|a| a == "--bench") {
        return;
    }
    let filters: Vec<&str> = args
        .iter()
        .filter(|a| !a.starts_with('-'))
        .map(String::as_str)
        .collect();
    let chosen: Vec<_> = BENCHES
        .iter()
        .filter(|(name, ..)| filters.is_empty() || filters.iter().any(|f| name.contains(f)))
        .collect();
    if chosen.is_empty() {
        let names: Vec<&str> = BENCHES.iter().map(|(name, ..)| *name).collect();
        eprintln!(
            "no bench matches {filters:?}; the benches: {}",
            names.join(", ")
        );
        std::process::exit(2);
    }
    let tickets = Tickets::default();
    for (name, what, run) in chosen {
        println!("\n==> {name}: {what}");
        let began = Instant::now();
        run(&tickets);
        println!("{name}: {:.0} s", began.elapsed().as_secs_f64());
    }
}
