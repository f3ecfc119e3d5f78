//! The lag metric: from the instant an item came due to the tick that fired
//! it. Kept for the most recent firings, summarised as percentiles.

use serde::Serialize;
use std::collections::VecDeque;

/// How many recent firings the percentiles are computed over.
pub const WINDOW: usize = 10_000;

/// Recent lags, oldest first.
#[derive(Debug, Default)]
pub struct Lag {
    recent: VecDeque<i64>,
    total: u64,
}

/// Percentiles of the recent lags, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct LagSummary {
    /// Firings recorded since the scheduler started.
    pub count: u64,
    /// Median lag of the recent firings.
    pub p50_ms: i64,
    /// 99th percentile.
    pub p99_ms: i64,
    /// Largest.
    pub max_ms: i64,
}

impl Lag {
    /// Records one firing's lag.
    pub fn record(&mut self, lag_ms: i64) {
        if self.recent.len() == WINDOW {
            self.recent.pop_front();
        }
        self.recent.push_back(lag_ms.max(0));
        self.total += 1;
    }

    /// The percentiles (zero when nothing fired yet).
    pub fn summary(&self) -> LagSummary {
        let mut sorted: Vec<i64> = self.recent.iter().copied().collect();
        sorted.sort_unstable();
        let pick = |q: f64| -> i64 {
            if sorted.is_empty() {
                return 0;
            }
            let i = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
            sorted[i]
        };
        LagSummary {
            count: self.total,
            p50_ms: pick(0.50),
            p99_ms: pick(0.99),
            max_ms: sorted.last().copied().unwrap_or(0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_a_hundred_lags() {
        let mut lag = Lag::default();
        for ms in 1..=100 {
            lag.record(ms);
        }
        let s = lag.summary();
        assert_eq!((s.count, s.p50_ms, s.p99_ms, s.max_ms), (100, 50, 99, 100));
    }

    #[test]
    fn only_the_recent_window_counts() {
        let mut lag = Lag::default();
        lag.record(1_000_000);
        for _ in 0..WINDOW {
            lag.record(5);
        }
        let s = lag.summary();
        assert_eq!((s.count, s.max_ms), (WINDOW as u64 + 1, 5));
    }
}
