//! Helpers for the engine tests: an engine on a temporary directory with the
//! `misbehave` guest installed, a clock moved by hand, rule and event builders,
//! and readers of the audit.

use crate::{guests_dir, plugins_dir};
use serde_json::{json, Value};
use std::path::Path;
use std::sync::Arc;
use tocsin::calendars::Calendars;
use tocsin::catalog::catalog;
use tocsin::engine::audit::{Entry, Query};
use tocsin::engine::{Clock, Engine, EngineConfig, ManualClock, Sink};
use tocsin::event::Event;
use tocsin::plugins::{Grants, Registry, Runtime, RuntimeConfig};
use tocsin::rules::{Rule, RuleRepo, Validator};
use tocsin::store::Store;

/// The manual clock's start.
pub const START_MS: i64 = 1_800_000_000_000;
/// One minute in ms.
pub const MINUTE: i64 = 60_000;

/// Opens an engine on `dir` with the misbehave guest installed (allowed to
/// submit set-status commands), the built-in helpdesk plugin (every command),
/// the email plugin (mail), the profile-alerts plugin (mail and profiles), web-call
/// (HTTP to 127.0.0.1), the
/// providers plugin (allowed to call `billing-provider` and the uninstalled
/// `nope`, but not the installed `echo-provider`) and `rules` stored (when
/// not already there).
pub async fn open(
    dir: &Path,
    clock: Arc<ManualClock>,
    config: EngineConfig,
    rules: &[Value],
) -> Engine {
    open_with_calendars(dir, clock, config, rules, Calendars::default()).await
}

/// [`open`] with business calendars other than the default (UTC, Monday to
/// Friday 09:00-17:00).
pub async fn open_with_calendars(
    dir: &Path,
    clock: Arc<ManualClock>,
    config: EngineConfig,
    rules: &[Value],
    calendars: Calendars,
) -> Engine {
    // A just-dropped engine may hold the directory's lock for a moment.
    let mut tries = 0;
    let store = loop {
        match Store::open(dir) {
            Ok(s) => break s,
            Err(e) if tries < 50 => {
                tries += 1;
                let _ = e;
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            Err(e) => panic!("{e:#}"),
        }
    };
    let sink = Arc::new(Sink::new(store.clone()).unwrap());
    let runtime = Arc::new(Runtime::new(RuntimeConfig::default(), sink.clone()).unwrap());
    let registry = Arc::new(Registry::new(runtime));
    let grants = Grants {
        helpdesk: vec!["set-status".into()],
        ..Default::default()
    };
    registry
        .install_file(&guests_dir().join("misbehave.wasm"), grants)
        .await
        .unwrap();
    let every_command = Grants {
        helpdesk: vec!["*".into()],
        ..Default::default()
    };
    registry
        .install_file(&plugins_dir().join("helpdesk.wasm"), every_command)
        .await
        .unwrap();
    let mail = Grants {
        mail: true,
        ..Default::default()
    };
    registry
        .install_file(&plugins_dir().join("email.wasm"), mail)
        .await
        .unwrap();
    let providers = Grants {
        // `nope` is granted but not installed, as after an admin's typo.
        providers: vec!["billing-provider".into(), "nope".into()],
        helpdesk: ["set-fields", "transfer", "set-status", "set-priority"]
            .map(String::from)
            .to_vec(),
        ..Default::default()
    };
    registry
        .install_file(&plugins_dir().join("providers.wasm"), providers)
        .await
        .unwrap();
    for provider in ["billing-provider", "echo-provider"] {
        registry
            .install_file(
                &guests_dir().join(format!("{provider}.wasm")),
                Grants::default(),
            )
            .await
            .unwrap();
    }
    let mail_and_profiles = Grants {
        mail: true,
        profiles: true,
        ..Default::default()
    };
    registry
        .install_file(
            &plugins_dir().join("profile-alerts.wasm"),
            mail_and_profiles,
        )
        .await
        .unwrap();
    let loopback = Grants {
        http: vec!["127.0.0.1".into()],
        ..Default::default()
    };
    registry
        .install_file(&plugins_dir().join("web-call.wasm"), loopback)
        .await
        .unwrap();
    let repo = RuleRepo::open(&store).unwrap();
    let validator = Validator {
        catalog: catalog(),
        plugins: &registry,
    };
    for r in rules {
        let rule: Rule = serde_json::from_value(r.clone()).unwrap();
        if repo.get(&rule.id).is_err() {
            repo.create(&rule, &validator).unwrap();
        }
    }
    Engine::open(&store, registry, sink, Arc::new(calendars), clock, config).unwrap()
}

/// A ticket rule.
pub fn rule(id: &str, event_type: &str, actions: Value) -> Value {
    json!({"id": id, "name": format!("Rule {id}"), "category": "ticket", "event_type": event_type, "actions": actions})
}

/// A misbehave `log-to-file` action; `extra` adds keys (max_frequency, settings...).
pub fn log(mode: &str, extra: Value) -> Value {
    let mut a = json!({"plugin": "misbehave", "action": "log-to-file", "mode": mode});
    for (k, v) in extra.as_object().unwrap() {
        a[k] = v.clone();
    }
    a
}

/// A ticket event with items `ids`, each with `fields`.
pub fn event(event_type: &str, ids: &[&str], fields: Value) -> Event {
    let items: Vec<Value> = ids
        .iter()
        .map(|id| json!({"kind": "ticket", "id": id, "fields": fields}))
        .collect();
    serde_json::from_value(json!({
        "category": "ticket", "event_type": event_type,
        "occurred_at": "2026-11-30T10:00:00Z", "items": items
    }))
    .unwrap()
}

/// Every attempt recorded for a rule: (outcome, items, message).
pub fn attempts(engine: &Engine, rule: &str) -> Vec<(String, Vec<String>, String)> {
    engine
        .audit(&Query {
            rule: Some(rule.into()),
            ..Default::default()
        })
        .unwrap()
        .into_iter()
        .filter_map(|r| match r.entry {
            Entry::Attempt {
                outcome,
                items,
                message,
                ..
            } => Some((outcome, items, message)),
            _ => None,
        })
        .collect()
}

/// A manual clock at [`START_MS`].
pub fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(START_MS))
}

/// The clock's now.
pub fn c_now(c: &ManualClock) -> i64 {
    c.now_ms()
}

/// Requests a webhook received: (delivery id, signature, body).
pub type Seen = Arc<std::sync::Mutex<Vec<(String, String, Vec<u8>)>>>;

/// A connector webhook on loopback that keeps every request's delivery id,
/// signature and body, and answers 200; with `fail_first`, the first request
/// gets 503 with Retry-After: 2.
pub async fn webhook(fail_first: bool) -> (String, Seen) {
    let seen: Seen = Arc::default();
    let log = seen.clone();
    let addr = crate::serve(move |req: crate::Received| {
        let first = {
            let mut log = log.lock().unwrap();
            log.push((
                req.header("x-tocsin-delivery"),
                req.header("x-tocsin-signature"),
                req.body,
            ));
            fail_first && log.len() == 1
        };
        async move {
            if first {
                crate::answer(503, &[("retry-after", "2")], b"ok")
            } else {
                crate::answer(200, &[], b"ok")
            }
        }
    })
    .await;
    (format!("http://{addr}/hook"), seen)
}
