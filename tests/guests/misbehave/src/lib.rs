//! A plugin that misbehaves on purpose, one fault per action, so the tests can
//! show that the host contains each fault to its own invocation.

use tocsin_sdk::prelude::*;

struct Misbehave;

impl Plugin for Misbehave {
    fn describe() -> PluginInfo {
        let mut info = PluginInfo::new("misbehave", env!("CARGO_PKG_VERSION"));
        for (id, title) in [
            ("spin", "Loop forever"),
            ("grow-memory", "Allocate far past any cap"),
            ("read-outside", "Read files outside the granted directory"),
            ("write-inside", "Write a file inside the granted directory"),
            ("trap", "Execute an unreachable instruction"),
            ("panic", "Panic"),
            ("shout", "Print 8 MiB to stdout"),
            ("long-summary", "Answer a 4 MiB summary"),
            ("recurse", "Recurse without end"),
            ("ok", "Succeed"),
            (
                "sleep",
                "Wait in a host call (wasi clocks) for `ms` milliseconds",
            ),
            ("count", "Count to `n` in a busy loop, then succeed"),
            ("send-mail", "Queue a mail through the host"),
            ("set-status", "Submit a set-status command"),
            (
                "flaky",
                "Fail retryably for the first attempts, then succeed",
            ),
            ("fail-once", "Fail permanently on the first attempt only"),
            // Catalog action ids, so engine tests can use them in rules:
            // `log-to-file` behaves as its `behave` setting says (ok, flaky,
            // fail-once); `set-ticket-status` is `set-status`.
            ("log-to-file", "Behave as the `behave` setting says"),
            ("set-ticket-status", "Submit a set-status command"),
        ] {
            info = info.action(ActionInfo::new(id, title));
        }
        info
    }

    fn run(inv: Invocation) -> Result<Outcome, Failure> {
        let behave = match inv.action.as_str() {
            "log-to-file" => {
                let settings: serde_json::Value = inv.settings()?;
                let b = settings.get("behave").and_then(|b| b.as_str());
                b.unwrap_or("ok").to_string()
            }
            "set-ticket-status" => "set-status".to_string(),
            other => other.to_string(),
        };
        match behave.as_str() {
            "spin" => spin(),
            "grow-memory" => {
                // 1 GiB, touched so it cannot be optimised away.
                let mut hog: Vec<u8> = Vec::with_capacity(1 << 30);
                hog.resize(1 << 30, 7);
                Ok(Outcome::new(format!("allocated {} bytes", hog.len())))
            }
            "read-outside" => read_outside(),
            "write-inside" => {
                std::fs::write("/data/inside.txt", b"inside\n")?;
                Ok(Outcome::new("wrote /data/inside.txt"))
            }
            "sleep" => {
                let ms = setting(&inv, "ms").unwrap_or(60_000);
                std::thread::sleep(std::time::Duration::from_millis(ms));
                Ok(Outcome::new(format!("slept {ms} ms")))
            }
            "count" => {
                let n = setting(&inv, "n").unwrap_or(1_000_000);
                let mut i: u64 = 0;
                while std::hint::black_box(i) < n {
                    i += 1;
                }
                Ok(Outcome::new(format!("counted to {i}")))
            }
            "trap" => {
                #[cfg(target_arch = "wasm32")]
                core::arch::wasm32::unreachable();
                #[cfg(not(target_arch = "wasm32"))]
                Err(Failure::permanent("trap is only meaningful in wasm"))
            }
            "panic" => panic!("misbehave panicked on purpose"),
            "shout" => {
                let line = "x".repeat(1023);
                for _ in 0..8 * 1024 {
                    println!("{line}");
                }
                Ok(Outcome::new("printed 8 MiB"))
            }
            "long-summary" => Ok(Outcome::new("y".repeat(4 << 20))),
            "recurse" => Ok(Outcome::new(format!("depth {}", recurse(0)))),
            "ok" => Ok(Outcome::new(format!("ok {}", item_ids(&inv)))),
            "flaky" => {
                // settings: {"failures": n, "retry_after_ms": ms}
                let failures = setting(&inv, "failures").unwrap_or(2);
                if u64::from(inv.attempt) <= failures {
                    let mut f = Failure::retryable(format!("attempt {} fails", inv.attempt));
                    if let Some(ms) = setting(&inv, "retry_after_ms") {
                        f = f.retry_after(std::time::Duration::from_millis(ms));
                    }
                    return Err(f);
                }
                Ok(Outcome::new(format!(
                    "attempt {} ok {}",
                    inv.attempt,
                    item_ids(&inv)
                )))
            }
            "fail-once" if inv.attempt == 1 => Err(Failure::permanent("first attempt fails")),
            "fail-once" => Ok(Outcome::new(format!("attempt {} ok", inv.attempt))),
            "send-mail" => {
                let message = tocsin_sdk::mail::Message {
                    to: vec!["ops@example.com".into()],
                    cc: vec![],
                    bcc: vec![],
                    reply_to: None,
                    subject: format!("from {}", inv.rule.name),
                    text: Some("hello".into()),
                    html: None,
                };
                tocsin_sdk::mail::send(&message)
                    .map(|id| Outcome::new(format!("queued {id}")))
                    .map_err(Failure::permanent)
            }
            "set-status" => {
                let item = inv
                    .items
                    .first()
                    .ok_or_else(|| Failure::bad_settings("no item"))?;
                let command = tocsin_sdk::helpdesk::Command {
                    item_kind: item.kind.clone(),
                    item_id: item.id.clone(),
                    name: "set-status".into(),
                    arguments: {
                        let settings: serde_json::Value = inv.settings()?;
                        let status = settings.get("status").and_then(|s| s.as_str());
                        serde_json::json!({ "status": status.unwrap_or("closed") }).to_string()
                    },
                };
                tocsin_sdk::helpdesk::submit(&command)
                    .map(|id| Outcome::new(format!("submitted {id}")))
                    .map_err(Failure::permanent)
            }
            other => Err(Failure::bad_settings(format!("unknown action {other}"))),
        }
    }
}

/// Recurses until the stack runs out (the host's stack limit traps first).
fn recurse(depth: u64) -> u64 {
    let frame = std::hint::black_box([depth; 16]);
    if std::hint::black_box(depth) == u64::MAX {
        return frame[0];
    }
    recurse(depth + 1).wrapping_add(frame[1])
}

fn spin() -> Result<Outcome, Failure> {
    let mut n: u64 = 0;
    loop {
        n = std::hint::black_box(n.wrapping_add(1));
        if std::hint::black_box(n) == u64::MAX {
            return Ok(Outcome::new("unreachable"));
        }
    }
}

/// Tries several ways out of `/data`; succeeds only if one of them worked,
/// which the tests treat as a breach.
fn read_outside() -> Result<Outcome, Failure> {
    let attempts = [
        "/etc/passwd",
        "/data/../etc/passwd",
        "/data/../../../etc/hostname",
        "../etc/passwd",
        // A symlink the test puts in the granted directory, pointing at /etc.
        "/data/escape/passwd",
    ];
    let mut refusals = Vec::new();
    for path in attempts {
        match std::fs::read(path) {
            Ok(bytes) => {
                return Ok(Outcome::new(format!(
                    "BREACH: read {} bytes from {path}",
                    bytes.len()
                )))
            }
            Err(e) => refusals.push(format!("{path}: {e}")),
        }
    }
    Err(Failure::permanent(format!(
        "refused: {}",
        refusals.join("; ")
    )))
}

export_plugin!(Misbehave);

/// The items' ids, comma-separated, for summaries the tests can read.
fn item_ids(inv: &Invocation) -> String {
    let ids: Vec<&str> = inv.items.iter().map(|i| i.id.as_str()).collect();
    format!("[{}]", ids.join(","))
}

/// A number setting, if present.
fn setting(inv: &Invocation, name: &str) -> Option<u64> {
    let settings: serde_json::Value = inv.settings().ok()?;
    settings.get(name)?.as_u64()
}
