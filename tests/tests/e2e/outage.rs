//! A help-desk outage under load: `tocsin serve` delivers help-desk commands
//! to a webhook that refuses connections while a stream of events makes
//! commands, then comes back flaky (every third request answered 503). Short
//! retry backoffs come from the configuration's `[retries]`, so the test
//! takes seconds.

use crate::serve::request;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tocsin::engine::connector::{signature, DELIVERY_HEADER, SIGNATURE_HEADER};
use tocsin_tests::{answer, serve_on, serve_tocsin, tocsin_bin, Received, Served};

/// Events sent while the webhook is down, then after it is back.
const DURING: usize = 30;
const AFTER: usize = 10;
/// Commands per event: the rule sets the status and sends a reply.
const PER_EVENT: usize = 2;
const SECRET: &str = "s3cret";

/// One request the webhook received: delivery id, signature, body, the status it answered.
type Seen = Arc<Mutex<Vec<(String, String, Vec<u8>, u16)>>>;

/// Sends one Ticket Created event for an urgent ticket.
fn send(addr: &str, token: &str, n: usize) {
    let event = json!({"category": "ticket", "event_type": "ticket-created",
        "occurred_at": "2026-11-30T10:00:00Z",
        "items": [{"kind": "ticket", "id": format!("{n}"),
                   "fields": {"priority": "urgent", "status": "active", "subject": format!("Outage {n}")}}]});
    let (status, body) = request(addr, "POST", "/v1/events", token, &event.to_string());
    assert_eq!(status, 200, "{body}");
    let ack: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(ack["jobs"].as_array().unwrap().len(), PER_EVENT, "{ack}");
}

/// Admin GET of a JSON document.
fn get(addr: &str, token: &str, path: &str) -> Value {
    let (status, body) = request(addr, "GET", path, token, "");
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).unwrap()
}

#[test]
fn every_command_reaches_the_help_desk_once_after_an_outage() {
    // The webhook's port, chosen now and left closed: connections are refused.
    let hook = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let token = Command::new(tocsin_bin())
        .args(["token", "create", "--role", "admin", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(token.status.success(), "{token:?}");
    let token = String::from_utf8(token.stdout).unwrap().trim().to_string();
    let config = dir.path().join("tocsin.toml");
    std::fs::write(
        &config,
        format!(
            "[grants.helpdesk]\nhelpdesk = [\"*\"]\n\
             [connector]\nurl = \"http://{hook}/hook\"\nsecret = \"{SECRET}\"\n\
             [retries]\nbackoff_base_ms = 20\nbackoff_cap_ms = 200\n"
        ),
    )
    .unwrap();
    let Served {
        process: mut server,
        addr,
        // Kept open to the end: the server prints when it stops.
        lines: _lines,
    } = serve_tocsin(&config, &data);

    let rule = json!({"id": "urgent", "name": "Urgent tickets", "category": "ticket",
        "event_type": "ticket-created",
        "conditions": [{"field": "priority", "op": "equals", "value": "urgent"}],
        "actions": [
            {"plugin": "helpdesk", "action": "set-ticket-status", "mode": "digest",
             "settings": {"status": "waiting"}},
            {"plugin": "helpdesk", "action": "send-reply-to-ticket", "mode": "digest",
             "settings": {"body": "We are on it: {{ item.subject }}"}}]});
    let (status, body) = request(&addr, "POST", "/v1/rules", &token, &rule.to_string());
    assert_eq!(status, 201, "{body}");

    // The outage: a stream of events while nothing listens on the webhook's port.
    let outage = Instant::now();
    for n in 0..DURING {
        send(&addr, &token, n);
        std::thread::sleep(Duration::from_millis(20));
    }
    // Every command is made (the helpdesk jobs do not wait for the help
    // desk) and its delivery is being retried.
    let retried = |addr: &str| {
        get(addr, &token, "/v1/audit?plugin=connector&limit=10000")["records"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["kind"] == "attempt" && r["outcome"] == "retry")
            .count()
    };
    while retried(&addr) < DURING * PER_EVENT || outage.elapsed() < Duration::from_millis(1500) {
        assert!(
            outage.elapsed() < Duration::from_secs(30),
            "deliveries are not being retried during the outage"
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    // The help desk comes back on the same port, answering 503 to every third request.
    let seen: Seen = Arc::default();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let log = seen.clone();
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(hook).await.unwrap();
        serve_on(listener, move |req: Received| {
            let mut log = log.lock().unwrap();
            let status = if log.len() % 3 == 2 { 503 } else { 200 };
            log.push((
                req.header(DELIVERY_HEADER),
                req.header(SIGNATURE_HEADER),
                req.body,
                status,
            ));
            async move { answer(status, &[], b"{}") }
        });
    });
    for n in DURING..DURING + AFTER {
        send(&addr, &token, n);
    }

    // Every command the engine made, from the pull list, once the last
    // events' helpdesk jobs have run.
    let back = Instant::now();
    let commands = loop {
        let commands = get(&addr, &token, "/v1/commands")["commands"]
            .as_array()
            .unwrap()
            .clone();
        if commands.len() >= (DURING + AFTER) * PER_EVENT {
            break commands;
        }
        assert!(
            back.elapsed() < Duration::from_secs(30),
            "{} command(s) made 30 s after the last event",
            commands.len()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(commands.len(), (DURING + AFTER) * PER_EVENT);
    let made: BTreeSet<String> = commands
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(made.len(), commands.len(), "command ids are unique");
    let delivered = |seen: &Seen| -> BTreeSet<String> {
        seen.lock()
            .unwrap()
            .iter()
            .filter(|(.., status)| *status == 200)
            .map(|(_, _, body, _)| {
                serde_json::from_slice::<Value>(body).unwrap()["id"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect()
    };
    while delivered(&seen) != made {
        assert!(
            back.elapsed() < Duration::from_secs(30),
            "not delivered 30 s after the help desk came back: {:?}",
            made.difference(&delivered(&seen)).collect::<Vec<_>>()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // Let any stray retry arrive before counting.
    std::thread::sleep(Duration::from_millis(500));

    let seen = seen.lock().unwrap().clone();
    // Per command id: its delivery ids and how many requests were answered 200.
    let mut by_command: BTreeMap<String, (BTreeSet<String>, usize)> = BTreeMap::new();
    for (delivery, signed, body, status) in &seen {
        assert_eq!(signed, &signature(SECRET, body), "signature of {delivery}");
        let command: Value = serde_json::from_slice(body).unwrap();
        let id = command["id"].as_str().unwrap().to_string();
        assert!(
            made.contains(&id),
            "a delivery of an unknown command: {command}"
        );
        let entry = by_command.entry(id).or_default();
        entry.0.insert(delivery.clone());
        entry.1 += usize::from(*status == 200);
    }
    assert_eq!(by_command.len(), made.len());
    for (id, (deliveries, ok)) in &by_command {
        assert_eq!(
            deliveries.len(),
            1,
            "{id}: one stable delivery id across retries"
        );
        assert_eq!(*ok, 1, "{id}: accepted exactly once");
    }
    let mut delivery_ids = BTreeSet::new();
    for (deliveries, _) in by_command.values() {
        assert!(delivery_ids.insert(deliveries.first().unwrap().clone()));
    }
    // The flaky answers were retried too, and nothing went to the dead letters.
    assert!(
        seen.iter().any(|(.., status)| *status == 503),
        "the help desk never answered 503"
    );
    assert_eq!(
        get(&addr, &token, "/v1/dead-letters")["dead_letters"],
        json!([])
    );
    // Each command went out as its name with the rule's arguments.
    let names: BTreeMap<String, usize> = commands.iter().fold(BTreeMap::new(), |mut m, c| {
        *m.entry(c["name"].as_str().unwrap().to_string())
            .or_default() += 1;
        m
    });
    assert_eq!(
        names,
        BTreeMap::from([
            ("send-reply".to_string(), DURING + AFTER),
            ("set-status".to_string(), DURING + AFTER)
        ])
    );

    let kill = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    assert!(server.wait().unwrap().success());
}
