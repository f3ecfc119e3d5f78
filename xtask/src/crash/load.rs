//! The load generator: several connections POST events to `/v1/events`
//! (single events and batches) until the server goes away, and keep every
//! acknowledgement (2xx) with the jobs it names.

use super::server::Client;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// An acknowledged event and the jobs (invocation ids) its acknowledgement named.
#[derive(Debug, Clone)]
pub struct Acked {
    /// The event id.
    pub event: String,
    /// `job-<16 hex>` invocation ids.
    pub jobs: Vec<String>,
    /// Its tickets' ids.
    pub tickets: Vec<String>,
}

/// Load running in the background.
pub struct Load {
    acked: Arc<Mutex<Vec<Acked>>>,
    refused: Arc<AtomicUsize>,
    threads: Vec<JoinHandle<()>>,
}

/// What a finished load did.
pub struct Sent {
    /// Every acknowledged event.
    pub acked: Vec<Acked>,
    /// Requests answered with something else than 2xx (not acknowledged, so
    /// nothing is owed for them).
    pub refused: usize,
}

impl Load {
    /// Starts `connections` senders; event ids start with `r<round>-`.
    pub fn start(client: &Client, round: usize, connections: usize, seed: u64) -> Load {
        let acked: Arc<Mutex<Vec<Acked>>> = Arc::default();
        let refused = Arc::new(AtomicUsize::new(0));
        let threads = (0..connections)
            .map(|conn| {
                let (client, acked, refused) = (client.clone(), acked.clone(), refused.clone());
                let mut rng = fastrand::Rng::with_seed(seed.wrapping_add(conn as u64));
                std::thread::spawn(move || {
                    let mut n = 0usize;
                    loop {
                        let count = rng.usize(1..=4);
                        let events: Vec<Value> = (0..count)
                            .map(|_| {
                                n += 1;
                                event(&format!("r{round}-c{conn}-{n}"), &mut rng)
                            })
                            .collect();
                        let batch = count > 1 || rng.bool();
                        let body = if batch {
                            json!({ "events": events })
                        } else {
                            events[0].clone()
                        };
                        // An error is the server going away: this sender is done.
                        let Ok((status, answer)) = client.post("/v1/events", &body) else {
                            return;
                        };
                        if !(200..300).contains(&status) {
                            refused.fetch_add(1, Ordering::Relaxed);
                            continue;
                        }
                        let results = if batch {
                            answer["results"].as_array().cloned().unwrap_or_default()
                        } else {
                            vec![answer]
                        };
                        let mut acked = acked.lock().expect("acked lock");
                        for r in results {
                            let event = r["event"].as_str().unwrap_or_default().to_string();
                            let tickets = events
                                .iter()
                                .find(|e| e["id"] == event.as_str())
                                .and_then(|e| e["items"].as_array())
                                .map(|items| {
                                    items
                                        .iter()
                                        .filter_map(|i| i["id"].as_str().map(str::to_string))
                                        .collect()
                                })
                                .unwrap_or_default();
                            acked.push(Acked {
                                event,
                                tickets,
                                jobs: r["jobs"]
                                    .as_array()
                                    .map(|jobs| {
                                        jobs.iter()
                                            .filter_map(|j| j.as_str().map(str::to_string))
                                            .collect()
                                    })
                                    .unwrap_or_default(),
                            });
                        }
                    }
                })
            })
            .collect();
        Load {
            acked,
            refused,
            threads,
        }
    }

    /// Events acknowledged so far.
    pub fn acked_count(&self) -> usize {
        self.acked.lock().expect("acked lock").len()
    }

    /// Waits for every sender to stop (they stop when the server is gone).
    pub fn join(self) -> Sent {
        for t in self.threads {
            let _ = t.join();
        }
        let acked = std::mem::take(&mut *self.acked.lock().expect("acked lock"));
        Sent {
            acked,
            refused: self.refused.load(Ordering::Relaxed),
        }
    }
}

/// A Ticket Created event with one or two active tickets: the digest rules
/// make one job each, the per-item rule one per ticket.
fn event(id: &str, rng: &mut fastrand::Rng) -> Value {
    let tickets = rng.usize(1..=2);
    let items: Vec<Value> = (0..tickets)
        .map(|t| {
            json!({"kind": "ticket", "id": format!("{id}-t{t}"),
                   "fields": {"subject": format!("crash test {id}"), "priority": "high",
                              "status": "active"}})
        })
        .collect();
    json!({"id": id, "category": "ticket", "event_type": "ticket-created",
           "occurred_at": "2026-11-30T10:00:00Z", "items": items})
}
