//! Follow-on events after a crash. The `crash-status` rule sets each new
//! ticket to `waiting` through the helpdesk plugin; the change emits Ticket
//! Status Changed, on which `crash-changed` logs. Once the audit says a
//! `crash-status` job succeeded, each of its tickets must have its Ticket
//! Status Changed event, and that event's jobs must end done or
//! dead-lettered: the item changed, so the event it causes is owed just like
//! an acknowledged one.

use super::load::Acked;
use super::server::Client;
use anyhow::{bail, Result};
use serde_json::Value;
use std::time::{Duration, Instant};

/// The rule whose action changes the tickets.
pub const STATUS_RULE: &str = "crash-status";
/// The rule on the follow-on event.
pub const CHANGED_RULE: &str = "crash-changed";

/// How long a follow-on may be missing after its job succeeded.
const MISSING_GRACE: Duration = Duration::from_secs(5);

/// What one pass found for one ticket.
enum Found {
    /// No follow-on owed (the status job has not succeeded).
    NotOwed,
    /// The follow-on and its jobs are done or dead-lettered.
    Settled,
    /// The follow-on is there, some of its jobs are still to run.
    Open,
    /// The status job succeeded but no Ticket Status Changed event exists.
    Missing,
}

/// Checks the follow-ons of `acked`, waiting up to `drain` for open ones;
/// returns (follow-ons checked, losses).
pub fn verify(client: &Client, acked: &[Acked], drain: Duration) -> Result<(usize, Vec<String>)> {
    let started = Instant::now();
    let mut owed: Vec<(&Acked, &String)> = Vec::new();
    for a in acked {
        if status_done(client, &a.event)? {
            owed.extend(a.tickets.iter().map(|t| (a, t)));
        }
    }
    let checked = owed.len();
    let mut losses = Vec::new();
    loop {
        let mut waiting = Vec::new();
        for &(a, ticket) in &owed {
            match ticket_state(client, ticket)? {
                Found::Settled | Found::NotOwed => {}
                Found::Open => waiting.push((a, ticket)),
                Found::Missing if started.elapsed() > MISSING_GRACE => losses.push(format!(
                    "ticket {ticket} of event {}: its status was set, but its Ticket Status Changed event is missing",
                    a.event
                )),
                // A follow-on is ingested right after its job's end is durable: a moment's grace.
                Found::Missing => waiting.push((a, ticket)),
            }
        }
        if waiting.is_empty() {
            break;
        }
        if started.elapsed() > drain {
            for (a, ticket) in waiting {
                if let Found::Open = ticket_state(client, ticket)? {
                    losses.push(format!(
                        "ticket {ticket} of event {}: a job of its Ticket Status Changed event neither done nor dead-lettered within {} s of the restart",
                        a.event,
                        drain.as_secs()
                    ));
                }
            }
            break;
        }
        owed = waiting;
        std::thread::sleep(Duration::from_millis(200));
    }
    Ok((checked, losses))
}

/// Whether the audit of `event` has a successful attempt of the status rule.
fn status_done(client: &Client, event: &str) -> Result<bool> {
    let records = audit(client, &format!("event={event}"))?;
    Ok(records
        .iter()
        .any(|r| r["kind"] == "attempt" && r["rule"] == STATUS_RULE && r["outcome"] == "ok"))
}

/// The follow-on of one ticket, from the audit of the ticket.
fn ticket_state(client: &Client, ticket: &str) -> Result<Found> {
    let records = audit(client, &format!("item=ticket/{ticket}&limit=10000"))?;
    let follow_on = records
        .iter()
        .find(|r| r["kind"] == "event" && r["event_type"] == "ticket-status-changed")
        .and_then(|r| r["event"].as_str());
    let Some(follow_on) = follow_on else {
        let owed = records
            .iter()
            .any(|r| r["kind"] == "attempt" && r["rule"] == STATUS_RULE && r["outcome"] == "ok");
        return Ok(if owed { Found::Missing } else { Found::NotOwed });
    };
    let of_it = |kind: &'static str| {
        records
            .iter()
            .filter(move |r| r["event"] == follow_on && r["kind"] == kind)
    };
    let jobs: Vec<&str> = of_it("gate").filter_map(|r| r["job"].as_str()).collect();
    let settled = jobs.iter().all(|job| {
        of_it("attempt").any(|r| {
            r["invocation"] == *job && (r["outcome"] == "ok" || r["outcome"] == "dead-letter")
        })
    });
    Ok(if settled { Found::Settled } else { Found::Open })
}

fn audit(client: &Client, query: &str) -> Result<Vec<Value>> {
    let (status, body) = client.get(&format!("/v1/audit?{query}"))?;
    if status != 200 {
        bail!("GET /v1/audit?{query} answered {status}: {body}");
    }
    Ok(body["records"].as_array().cloned().unwrap_or_default())
}
