//! `tocsin serve` as a process: a token made with `tocsin token create`, the
//! API over TCP (a rule created, an event sent, metrics read, an oversized
//! body refused from its Content-Length), and a graceful stop on SIGTERM.

use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use tocsin_tests::{plugins_dir, serve_tocsin, tocsin_bin, Served};

/// One HTTP/1.1 request on a fresh connection: (status, body).
pub(crate) fn request(
    addr: &str,
    method: &str,
    path: &str,
    token: &str,
    body: &str,
) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: tocsin\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let status = answer[9..12].parse().unwrap();
    let body = answer.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    (status, body.to_string())
}

#[test]
fn serve_answers_over_tcp_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let token = Command::new(tocsin_bin())
        .args(["token", "create", "--role", "admin", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(token.status.success(), "{token:?}");
    let secret = String::from_utf8(token.stdout).unwrap().trim().to_string();
    assert!(secret.starts_with("tsn_"), "{secret}");

    let config = dir.path().join("tocsin.toml");
    std::fs::write(
        &config,
        "[api]\nmax_body_bytes = 65536\n[grants.helpdesk]\nhelpdesk = [\"set-status\"]\n",
    )
    .unwrap();
    let Served {
        process: mut server,
        addr,
        lines,
    } = serve_tocsin(&config, &data);

    assert_eq!(request(&addr, "GET", "/healthz", "", "").0, 200);
    assert_eq!(request(&addr, "GET", "/v1/rules", "tsn_wrong", "").0, 401);
    let rule = json!({"id": "urgent", "name": "Urgent tickets", "category": "ticket",
        "event_type": "ticket-created",
        "conditions": [{"field": "priority", "op": "equals", "value": "urgent"}],
        "actions": [{"plugin": "helpdesk", "action": "set-ticket-status", "mode": "digest",
                     "settings": {"status": "waiting"}}]});
    let (status, body) = request(&addr, "POST", "/v1/rules", &secret, &rule.to_string());
    assert_eq!(status, 201, "{body}");
    let event = json!({"category": "ticket", "event_type": "ticket-created",
        "occurred_at": "2026-11-30T10:00:00Z",
        "items": [{"kind": "ticket", "id": "5", "fields": {"priority": "urgent", "status": "active"}}]});
    let (status, body) = request(&addr, "POST", "/v1/events", &secret, &event.to_string());
    assert_eq!(status, 200, "{body}");
    let ack: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(ack["matched"], json!(["urgent"]));
    let big = " ".repeat(70_000);
    let (status, body) = request(&addr, "POST", "/v1/events", &secret, &big);
    assert_eq!(status, 413, "{body}");
    // The worker runs the job: the command reaches the pull list.
    let mut pulled = Value::Null;
    for _ in 0..100 {
        let (_, body) = request(&addr, "GET", "/v1/commands", &secret, "");
        pulled = serde_json::from_str(&body).unwrap();
        if !pulled["commands"].as_array().unwrap().is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(pulled["commands"][0]["name"], "set-status", "{pulled}");
    let (_, metrics) = request(&addr, "GET", "/metrics", "", "");
    assert!(metrics.contains("tocsin_events_total 1"), "{metrics}");
    assert!(
        metrics.contains("tocsin_scheduler_lag_p99_milliseconds 0"),
        "{metrics}"
    );
    assert!(
        metrics.contains("tocsin_invocations_total{plugin=\"helpdesk\",outcome=\"ok\"} 1"),
        "{metrics}"
    );

    // `tocsin plugin reload` asks the running server.
    let reload = |token: &str| {
        Command::new(tocsin_bin())
            .args(["plugin", "reload", "helpdesk", "--server"])
            .arg(format!("http://{addr}"))
            .args(["--token", token])
            .output()
            .unwrap()
    };
    let out = reload(&secret);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "reloaded helpdesk 0.1.0"
    );
    let out = reload("tsn_wrong");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("401"),
        "{out:?}"
    );

    let kill = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = server.wait().unwrap();
    assert!(status.success(), "{status:?}");
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(rest.iter().any(|l| l == "tocsin stopped"), "{rest:?}");

    // What was acknowledged is there after the stop.
    let list = Command::new(tocsin_bin())
        .args(["token", "list", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&list.stdout).contains("admin"));
}

/// Runs `tocsin <args> --data <data> --plugins <built plugins>`: (success, stdout, stderr).
fn tocsin(data: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(tocsin_bin())
        .args(args)
        .arg("--data")
        .arg(data)
        .arg("--plugins")
        .arg(plugins_dir())
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn rule_commands_manage_rules_on_a_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = |name: &str, v: Value| {
        let path = dir.path().join(name);
        std::fs::write(&path, v.to_string()).unwrap();
        path.to_str().unwrap().to_string()
    };
    let rule = json!({"id": "urgent", "name": "Urgent tickets", "category": "ticket",
        "event_type": "ticket-created",
        "conditions": [{"field": "priority", "op": "equals", "value": "urgent"}],
        "actions": [{"plugin": "helpdesk", "action": "set-ticket-status", "mode": "digest",
                     "settings": {"status": "waiting"}}]});
    let (ok, out, err) = tocsin(&data, &["rule", "add", &file("rule.json", rule.clone())]);
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "added urgent");

    let mut bad = rule.clone();
    bad["id"] = json!("bad");
    bad["actions"][0]["settings"]["status"] = json!("done");
    let (ok, _, err) = tocsin(&data, &["rule", "add", &file("bad.json", bad)]);
    assert!(!ok);
    assert!(err.contains("actions[0].settings.status"), "{err}");

    let (_, out, _) = tocsin(&data, &["rule", "list"]);
    assert_eq!(
        out,
        "urgent\tenabled\tsystem\tticket/ticket-created\tUrgent tickets\n"
    );
    let (ok, _, _) = tocsin(&data, &["rule", "disable", "urgent"]);
    assert!(ok);
    let (_, out, _) = tocsin(&data, &["rule", "show", "urgent"]);
    let shown: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(shown["enabled"], false);

    let event = json!({"category": "ticket", "event_type": "ticket-created",
        "occurred_at": "2026-11-30T10:00:00Z",
        "items": [{"kind": "ticket", "id": "5", "fields": {"priority": "low"}}]});
    let (ok, out, err) = tocsin(
        &data,
        &[
            "rule",
            "explain",
            "--rule",
            "urgent",
            &file("event.json", event),
        ],
    );
    assert!(ok, "{err}");
    let explained: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(explained[0]["fires"], false);
    assert_eq!(explained[0]["reason"], "the rule is disabled");
    assert_eq!(explained[0]["items"][0]["conditions"][0]["passed"], false);

    let export = dir.path().join("export.json");
    let (ok, _, _) = tocsin(&data, &["rule", "export", export.to_str().unwrap()]);
    assert!(ok);
    let (ok, out, _) = tocsin(&data, &["rule", "delete", "urgent"]);
    assert!(ok, "{out}");
    let (_, out, _) = tocsin(&data, &["rule", "list"]);
    assert_eq!(out, "");
    let (ok, out, err) = tocsin(&data, &["rule", "import", export.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "imported 1 rule(s)");
    let (_, out, _) = tocsin(&data, &["rule", "show", "urgent"]);
    assert_eq!(serde_json::from_str::<Value>(&out).unwrap(), shown);

    // Events through `tocsin event send`, then their audit.
    let (ok, _, _) = tocsin(&data, &["rule", "enable", "urgent"]);
    assert!(ok);
    let events = dir.path().join("events.jsonl");
    std::fs::write(
        &events,
        json!({"category": "ticket", "event_type": "ticket-created",
            "occurred_at": "2026-11-30T10:00:00Z",
            "items": [{"kind": "ticket", "id": "6", "fields": {"priority": "urgent"}}]})
        .to_string()
            + "\n",
    )
    .unwrap();
    let (ok, out, err) = tocsin(&data, &["event", "send", events.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(out.starts_with("acked "), "{out}");
    let (ok, out, _) = tocsin(&data, &["audit", "--rule", "urgent"]);
    assert!(ok);
    let first: Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(first["rule"], "urgent", "{out}");
}

#[test]
fn plugin_commands_install_list_grant_and_remove() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let guest = tocsin_tests::guests_dir().join("billing-provider.wasm");
    let run = |args: &[&str]| {
        let out = Command::new(tocsin_bin())
            .args(args)
            .arg("--data")
            .arg(&data)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, out, err) = run(&["plugin", "install", guest.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(
        out.starts_with("billing-provider 0.1.0 (external-provider"),
        "{out}"
    );
    assert!(data.join("plugins/billing-provider.wasm").exists());

    let grants = dir.path().join("grants.toml");
    std::fs::write(
        &grants,
        "memory-mib = 16\nhttp = [\"billing.example.com\"]\n",
    )
    .unwrap();
    let (ok, _, err) = run(&[
        "plugin",
        "grant",
        "billing-provider",
        grants.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    std::fs::write(&grants, "memory-mib = 0\n").unwrap();
    let (ok, _, err) = run(&[
        "plugin",
        "grant",
        "billing-provider",
        grants.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(err.contains("grants.memory-mib"), "{err}");

    let list = |data: &std::path::Path| {
        let out = Command::new(tocsin_bin())
            .args(["plugin", "list", "--data"])
            .arg(data)
            .arg("--plugins")
            .arg(plugins_dir())
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let listed = list(&data);
    let line = listed
        .lines()
        .find(|l| l.starts_with("billing-provider\t"))
        .unwrap_or_else(|| panic!("{listed}"));
    assert!(line.contains("\"memory-mib\":16"), "{line}");
    assert!(
        listed.lines().any(|l| l.starts_with("helpdesk\t")),
        "{listed}"
    );

    let (ok, _, err) = run(&["plugin", "remove", "helpdesk"]);
    assert!(!ok);
    assert!(err.contains("built-in plugins cannot be removed"), "{err}");
    let (ok, out, _) = run(&["plugin", "remove", "billing-provider"]);
    assert!(ok, "{out}");
    assert!(!list(&data).contains("billing-provider"));
}
