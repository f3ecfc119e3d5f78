//! After a restart: every acknowledged event is in the audit (written with
//! the event and its jobs, before the flush its acknowledgment waited for),
//! each job it was acknowledged with has its gate record, and each job ends
//! done or dead-lettered. A job still open is owed by the outbox, which the
//! restarted server resumes at once, so the check waits for it; one never run
//! within the drain time has left the outbox without running (or the outbox
//! stopped): a loss.

use super::load::Acked;
use super::server::Client;
use anyhow::{bail, Result};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

/// What the audit says of one acknowledged job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Done,
    Dead,
    Open,
}

/// Each job's state, by invocation id.
type States = BTreeMap<String, State>;

/// The result of one check.
#[derive(Debug, Default)]
pub struct Report {
    /// Events checked.
    pub events: usize,
    /// Jobs checked.
    pub jobs: usize,
    /// Jobs done when first looked at.
    pub done: usize,
    /// Jobs that were still owed and ran after the restart.
    pub resumed: usize,
    /// Jobs dead-lettered.
    pub dead: usize,
    /// One line per loss.
    pub losses: Vec<String>,
}

/// Checks `acked` against the server's audit, waiting up to `drain` for open jobs.
pub fn verify(client: &Client, acked: &[Acked], drain: Duration) -> Result<Report> {
    let mut report = Report {
        events: acked.len(),
        jobs: acked.iter().map(|a| a.jobs.len()).sum(),
        ..Report::default()
    };
    // Four readers side by side: the server answers audit queries concurrently.
    let chunks: Vec<&[Acked]> = acked.chunks(acked.len().div_ceil(4).max(1)).collect();
    let first: Vec<Result<Vec<(usize, States)>>> = std::thread::scope(|s| {
        let handles: Vec<_> = chunks
            .iter()
            .enumerate()
            .map(|(c, chunk)| {
                let client = client.clone();
                let offset = c * acked.len().div_ceil(4).max(1);
                s.spawn(move || {
                    let mut out = Vec::new();
                    for (i, a) in chunk.iter().enumerate() {
                        out.push((offset + i, states(&client, a)?));
                    }
                    Ok(out)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| bail!("a reader panicked")))
            .collect()
    });
    let mut open: Vec<usize> = Vec::new();
    for part in first {
        for (i, states) in part? {
            let a = &acked[i];
            if states.is_empty() && !a.jobs.is_empty() {
                report.losses.push(format!(
                    "event {} was acknowledged but is not in the audit after the restart",
                    a.event
                ));
                continue;
            }
            for job in a.jobs.iter().filter(|j| !states.contains_key(*j)) {
                report.losses.push(format!(
                    "job {job} of event {}: acknowledged, but no gate record made it",
                    a.event
                ));
            }
            if a.jobs.iter().any(|j| states.get(j) == Some(&State::Open)) {
                open.push(i);
                continue;
            }
            for job in &a.jobs {
                match states.get(job) {
                    Some(State::Done) => report.done += 1,
                    Some(State::Dead) => report.dead += 1,
                    _ => {}
                }
            }
        }
    }
    // The restarted server resumes the outbox: wait for what was owed.
    let started = Instant::now();
    let mut waiting = open.clone();
    while !waiting.is_empty() && started.elapsed() < drain {
        std::thread::sleep(Duration::from_millis(200));
        let mut next = Vec::new();
        for &i in &waiting {
            let states = states(client, &acked[i])?;
            if states.values().any(|s| *s == State::Open) {
                next.push(i);
            }
        }
        waiting = next;
    }
    for &i in &open {
        let a = &acked[i];
        let states = states(client, a)?;
        for job in &a.jobs {
            match states.get(job) {
                Some(State::Done) => report.resumed += 1,
                Some(State::Dead) => report.dead += 1,
                Some(State::Open) => report.losses.push(format!(
                    "job {job} of event {}: neither done nor dead-lettered within {} s of the restart (gone from the outbox?)",
                    a.event,
                    drain.as_secs()
                )),
                None => {}
            }
        }
    }
    Ok(report)
}

/// The state of each job the audit knows for an event (from its gate
/// records and attempts); empty when the event is not in the audit.
fn states(client: &Client, acked: &Acked) -> Result<States> {
    let (status, body) = client.get(&format!("/v1/audit?event={}", acked.event))?;
    if status != 200 {
        bail!(
            "GET /v1/audit?event={} answered {status}: {body}",
            acked.event
        );
    }
    let records = body["records"].as_array().cloned().unwrap_or_default();
    if !records.iter().any(|r| r["kind"] == "event") {
        return Ok(BTreeMap::new());
    }
    let made: BTreeSet<String> = records
        .iter()
        .filter(|r| r["kind"] == "gate")
        .filter_map(|r| r["job"].as_str().map(str::to_string))
        .collect();
    let mut out: States = made.into_iter().map(|job| (job, State::Open)).collect();
    for r in records.iter().filter(|r| r["kind"] == "attempt") {
        let Some(state) = out.get_mut(r["invocation"].as_str().unwrap_or_default()) else {
            continue;
        };
        match r["outcome"].as_str() {
            Some("ok") => *state = State::Done,
            Some("dead-letter") if *state != State::Done => *state = State::Dead,
            _ => {}
        }
    }
    Ok(out)
}

/// A few earlier events to look at again: a later crash must not lose them either.
pub fn sample(earlier: &[Acked], n: usize, rng: &mut fastrand::Rng) -> Vec<Acked> {
    if earlier.len() <= n {
        return earlier.to_vec();
    }
    (0..n)
        .map(|_| earlier[rng.usize(..earlier.len())].clone())
        .collect()
}
