//! `cargo xtask crash`: kill `tocsin serve` with SIGKILL under load, restart
//! it on the same data directory, and check that nothing it acknowledged is
//! lost.
//!
//! Each round: several connections send events (single and batched) to
//! `POST /v1/events`; every 2xx answer is kept with the jobs it names. At a
//! moment drawn from the seeded generator the server is killed (SIGKILL: no
//! flush, no shutdown), then started again on the same data directory. The
//! round survives when the store opens, the server is healthy, every
//! acknowledged event is in the audit with the gate record of each of its
//! jobs, and every such job ends done or dead-lettered (a job still in the
//! outbox is run by the restarted server; [`check`] waits for it). Earlier
//! rounds' events are sampled again, since a later crash must not lose them
//! either. Three rules make jobs on Ticket Created (a digest and a per-item
//! Log to File, and a status change through the helpdesk plugin), a fourth
//! on the Ticket Status Changed that follows: [`follow_on`] checks those
//! follow-on events are not lost either.
//!
//! The seed fixes the kill moments and the events' shapes; the server's
//! timing still varies from run to run.

mod check;
mod follow_on;
mod load;
mod server;

use anyhow::{bail, Context, Result};
use serde_json::json;
use server::{Client, Layout, Server};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// Connections sending events at once.
const CONNECTIONS: usize = 4;
/// The kill comes this long (ms) after the round's first acknowledgement, drawn in the range.
const KILL_AFTER_MS: std::ops::Range<u64> = 20..1_500;
/// How long a restarted server may take to run what the outbox owed.
const DRAIN: Duration = Duration::from_secs(60);
/// Earlier events checked again each round.
const RESAMPLE: usize = 100;

/// Runs the harness with the built plugins in `plugins`; fails when any
/// round lost anything.
pub fn run(root: &Path, plugins: &Path, rounds: usize, seed: Option<u64>) -> Result<()> {
    let seed = seed.unwrap_or_else(|| fastrand::u64(..));
    println!("crash harness: {rounds} round(s), seed {seed} (again: cargo xtask crash --rounds {rounds} --seed {seed})");
    let mut rng = fastrand::Rng::with_seed(seed);
    crate::step("building the tocsin binary");
    crate::build_tocsin(root)?;
    let dir = tempfile::Builder::new()
        .prefix("tocsin-crash-")
        .tempdir()
        .context("creating a temporary directory")?;
    let layout = Layout {
        bin: root.join("target/debug/tocsin"),
        data: dir.path().join("data"),
        config: dir.path().join("tocsin.toml"),
        plugins: plugins.to_path_buf(),
    };
    std::fs::write(
        &layout.config,
        "[grants.log-file]\ndirectory = { path = \"logs\", access = \"read-write\" }\n\
         [grants.helpdesk]\nhelpdesk = [\"set-status\"]\n",
    )
    .context("writing the configuration")?;
    let token = admin_token(&layout)?;
    let started = Instant::now();
    let log = |n: usize| dir.path().join(format!("server-{n}.log"));
    let server = Server::start(&layout, &log(0))?;
    let mut client = Client::new(&server.addr, &token);
    client.wait_healthy()?;
    create_rules(&client)?;

    let mut earlier: Vec<load::Acked> = Vec::new();
    let mut losses: Vec<(usize, String)> = Vec::new();
    let mut survived = 0;
    // None after a restart failed: the rounds end there.
    let mut running = Some(server);
    for round in 1..=rounds {
        let Some(server) = running.take() else { break };
        let load = load::Load::start(&client, round, CONNECTIONS, rng.u64(..));
        let waited = Instant::now();
        while load.acked_count() == 0 {
            if waited.elapsed() > Duration::from_secs(60) {
                bail!("round {round}: no event acknowledged within 60 s");
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let kill_after = rng.u64(KILL_AFTER_MS);
        std::thread::sleep(Duration::from_millis(kill_after));
        server.kill()?;
        let sent = load.join();

        let server = match Server::start(&layout, &log(round)) {
            Ok(s) => s,
            Err(e) => {
                losses.push((
                    round,
                    format!("the server does not start again on the data directory: {e:#}"),
                ));
                break;
            }
        };
        client = Client::new(&server.addr, &token);
        let healthy = client.wait_healthy()?;
        let mut checked = sent.acked.clone();
        checked.extend(check::sample(&earlier, RESAMPLE, &mut rng));
        let mut report = check::verify(&client, &checked, DRAIN)?;
        let (follow_ons, lost) = follow_on::verify(&client, &checked, DRAIN)?;
        report.losses.extend(lost);
        // An earlier round's loss found again in the sample is not this round's.
        let new: Vec<String> = report
            .losses
            .iter()
            .filter(|l| !losses.iter().any(|(_, old)| old == *l))
            .cloned()
            .collect();
        println!(
            "round {round}/{rounds}: killed {kill_after} ms into the load with {} event(s) acknowledged ({} refused); healthy {} ms after restart; checked {} event(s), {} job(s): {} done before, {} run after the restart, {} dead-lettered; {} follow-on event(s); {} new loss(es)",
            sent.acked.len(),
            sent.refused,
            healthy.as_millis(),
            report.events,
            report.jobs,
            report.done,
            report.resumed,
            report.dead,
            follow_ons,
            new.len()
        );
        if new.is_empty() {
            survived += 1;
        }
        losses.extend(new.into_iter().map(|l| (round, l)));
        earlier.extend(sent.acked);
        running = Some(server);
    }
    if let Some(server) = running {
        server.stop()?;
    }
    println!(
        "rounds survived {survived}/{rounds} ({} events acknowledged in all, {:.1} s)",
        earlier.len(),
        started.elapsed().as_secs_f64()
    );
    for (round, loss) in &losses {
        println!("LOSS round {round}: {loss}");
    }
    if !losses.is_empty() {
        let kept = dir.keep();
        bail!(
            "{} loss(es) (seed {seed}); the data directory and server logs are kept in {}",
            losses.len(),
            kept.display()
        );
    }
    Ok(())
}

/// `tocsin token create --role admin`: the secret.
fn admin_token(layout: &Layout) -> Result<String> {
    let out = Command::new(&layout.bin)
        .args(["token", "create", "--role", "admin", "--data"])
        .arg(&layout.data)
        .output()
        .context("running tocsin token create")?;
    if !out.status.success() {
        bail!(
            "tocsin token create failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Three rules on Ticket Created (a digest and a per-item Log to File, a
/// digest Set Ticket Status), so an event with n tickets makes 2 + n jobs,
/// and one on the Ticket Status Changed each status change causes.
fn create_rules(client: &Client) -> Result<()> {
    let log = |id: &str, mode: &str| {
        json!({"plugin": "log-file", "action": "log-to-file", "mode": mode,
               "settings": {"file": format!("{id}.log")}})
    };
    let rules = [
        (
            "crash-digest",
            "ticket-created",
            log("crash-digest", "digest"),
        ),
        (
            "crash-each",
            "ticket-created",
            log("crash-each", "per-item"),
        ),
        (
            follow_on::STATUS_RULE,
            "ticket-created",
            json!({"plugin": "helpdesk", "action": "set-ticket-status", "mode": "digest",
                   "settings": {"status": "waiting"}}),
        ),
        (
            follow_on::CHANGED_RULE,
            "ticket-status-changed",
            log(follow_on::CHANGED_RULE, "digest"),
        ),
    ];
    for (id, event_type, action) in rules {
        let rule = json!({"id": id, "name": id, "category": "ticket", "event_type": event_type,
                          "actions": [action]});
        let (status, body) = client.post("/v1/rules", &rule)?;
        if status != 201 {
            bail!("creating rule {id}: HTTP {status}: {body}");
        }
    }
    Ok(())
}
