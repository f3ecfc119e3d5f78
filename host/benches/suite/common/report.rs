//! One row of the benchmark report. Each bench prints its rows and, when
//! `TOCSIN_BENCH_OUT` names a file, appends them there as JSON lines, which
//! `cargo xtask bench` gathers into one table (and `target/bench/report.md`).

use std::io::Write as _;

/// A measured figure beside the baseline measured in the same run.
pub struct Row<'a> {
    /// What is measured, with its unit.
    pub measure: &'a str,
    /// The figure.
    pub figure: f64,
    /// The baseline's figure, measured in the same run (`None`: no baseline).
    pub baseline: Option<f64>,
    /// What the baseline is.
    pub baseline_name: &'a str,
    /// The goal, as written in the issue (`>= 500000`, `<= 100`).
    pub goal: &'a str,
    /// Whether higher figures are better (throughput) or lower (latency).
    pub higher_is_better: bool,
}

impl Row<'_> {
    /// Whether the figure meets the goal (`>= x` or `<= x`; anything else: `None`).
    fn met(&self) -> Option<bool> {
        let goal = self.goal.trim();
        if let Some(x) = goal.strip_prefix(">=") {
            return x
                .trim()
                .replace(',', "")
                .parse::<f64>()
                .ok()
                .map(|x| self.figure >= x);
        }
        if let Some(x) = goal.strip_prefix("<=") {
            return x
                .trim()
                .replace(',', "")
                .parse::<f64>()
                .ok()
                .map(|x| self.figure <= x);
        }
        None
    }

    /// How many times better than the baseline (above 1: better).
    fn ratio(&self) -> Option<f64> {
        let base = self.baseline?;
        Some(if self.higher_is_better {
            self.figure / base
        } else {
            base / self.figure.max(1e-9)
        })
    }

    /// Prints the row and appends it to `TOCSIN_BENCH_OUT` when set.
    pub fn record(&self) {
        let goal = match self.met() {
            Some(true) => format!("{} (met)", self.goal),
            Some(false) => format!("{} (NOT met)", self.goal),
            None => self.goal.to_string(),
        };
        println!(
            "| {} | {} | {} ({}) | {} | {goal} |",
            self.measure,
            shown(self.figure),
            self.baseline.map_or("-".into(), shown),
            self.baseline_name,
            self.ratio().map_or("-".into(), |r| format!("{r:.2}x")),
        );
        let Some(path) = std::env::var_os("TOCSIN_BENCH_OUT") else {
            return;
        };
        let line = serde_json::json!({
            "measure": self.measure,
            "figure": self.figure,
            "baseline": self.baseline,
            "baseline_name": self.baseline_name,
            "ratio": self.ratio(),
            "goal": self.goal,
            "met": self.met(),
        });
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .expect("opening TOCSIN_BENCH_OUT");
        writeln!(file, "{line}").expect("writing TOCSIN_BENCH_OUT");
    }
}

/// A figure with sensible precision.
fn shown(x: f64) -> String {
    if x >= 100.0 {
        format!("{x:.0}")
    } else if x >= 1.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.3}")
    }
}

/// Prints the header of a bench's table.
pub fn header() {
    println!("| measure | figure | baseline (same run) | ratio | goal |");
    println!("|---|---|---|---|---|");
}
