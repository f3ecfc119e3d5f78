//! Notification profiles through the engine, the mail outbox and a real SMTP
//! server on loopback: "Use My Notification Profile" alerts the rule's owner,
//! "Use Default Notification Profile for User" each item's assigned agent, on
//! the channels their profile switches on; the `profiles` import is a grant.

use serde_json::{json, Value};
use std::sync::Arc;
use tocsin::catalog::catalog;
use tocsin::engine::{Engine, EngineConfig};
use tocsin::event::Event;
use tocsin::mail::Outbox;
use tocsin::plugins::bindings::Mode;
use tocsin::plugins::{Grants, InvokeError, LoadError, Registry, Runtime, RuntimeConfig};
use tocsin::profiles::{Profile, Profiles};
use tocsin::rules::{Rule, Validator};
use tocsin_tests::engine::*;
use tocsin_tests::smtp::Server;
use tocsin_tests::{component, invocation, load_plugin, plugins_dir, ticket, Recorder};

fn profile(agent: &str, name: &str, emails: &[&str], sms: &[&str]) -> Profile {
    Profile {
        agent: agent.into(),
        name: name.into(),
        emails: emails.iter().map(|s| s.to_string()).collect(),
        sms: sms.iter().map(|s| s.to_string()).collect(),
        email_on: true,
        sms_on: true,
        default: true,
    }
}

/// A notify action with rendered-later templates.
fn notify(action: &str, mode: &str, settings: Value) -> Value {
    json!({"plugin": "profile-alerts", "action": action, "mode": mode, "settings": settings})
}

/// A system ticket-idle rule running "For User" in `mode`.
fn for_user(id: &str, mode: &str, settings: Value) -> Value {
    rule(
        id,
        "ticket-idle",
        json!([notify(
            "use-default-notification-profile-for-user",
            mode,
            settings
        )]),
    )
}

/// A ticket rule owned by `owner`.
fn owned(id: &str, owner: &str, actions: Value) -> Value {
    let mut r = rule(id, "ticket-idle", actions);
    r["owner"] = json!(owner);
    r
}

/// A ticket-idle event whose items are `(id, assigned agent)`.
fn idle(items: &[(&str, Option<&str>)]) -> Event {
    let items: Vec<Value> = items
        .iter()
        .map(|(id, agent)| {
            let mut fields = json!({"subject": format!("Printer {id}")});
            if let Some(agent) = agent {
                fields["agent-assigned"] = json!(agent);
            }
            json!({"kind": "ticket", "id": id, "fields": fields})
        })
        .collect();
    serde_json::from_value(json!({
        "category": "ticket", "event_type": "ticket-idle",
        "occurred_at": "2026-11-30T10:00:00Z", "items": items
    }))
    .unwrap()
}

/// Delivers every queued message to `server`; returns what it received.
async fn deliver(engine: &Engine, server: &Server) -> Vec<String> {
    let pass = Outbox::new(engine.store().clone(), server.config())
        .unwrap()
        .deliver_due(0)
        .await
        .unwrap();
    assert_eq!(pass.failed, 0, "{pass:?}");
    server.received()
}

/// The envelope recipients of a received message.
fn envelope(message: &str) -> &str {
    message
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("X-Envelope-To: "))
        .expect("envelope line")
}

/// The text body of a received message, quoted-printable soft breaks undone.
fn body(message: &str) -> String {
    let message = message.replace("\r\n", "\n");
    let (_, body) = message.split_once("\n\n").expect("headers end");
    body.replace("=\n", "").trim_end().to_string()
}

/// Messages whose envelope is exactly `to`.
fn to<'a>(received: &'a [String], to: &str) -> Vec<&'a String> {
    received.iter().filter(|m| envelope(m) == to).collect()
}

/// "My" with both channels on sends one email to every address and one SMS,
/// cut to 160 characters, to each gateway; a named profile with SMS off sends
/// only the email.
#[tokio::test]
async fn my_profile_reaches_its_email_and_sms_addresses_and_skips_a_channel_that_is_off() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let long = "x".repeat(170);
    let rules = [
        owned(
            "mine",
            "ana",
            json!([notify(
                "use-my-notification-profile",
                "digest",
                json!({"subject": "{{ items | length }} idle", "body": "Idle: {% for i in items %}#{{ i.id }} {% endfor %}",
                       "sms_text": format!("SMS {long}")})
            )]),
        ),
        owned(
            "quiet",
            "ana",
            json!([notify(
                "use-my-notification-profile",
                "per-item",
                json!({"subject": "Quiet {{ item.id }}", "profile": "quiet"})
            )]),
        ),
    ];
    let engine = open(dir.path(), clock(), EngineConfig::default(), &rules).await;
    let profiles = Profiles::open(engine.store()).unwrap();
    profiles
        .put(&profile(
            "ana",
            "work",
            &["ana@example.com", "ana.home@example.com"],
            &["5551234@sms.example.net", "5559876@sms.example.net"],
        ))
        .unwrap();
    profiles
        .put(&Profile {
            sms_on: false,
            default: false,
            ..profile(
                "ana",
                "quiet",
                &["ana.quiet@example.com"],
                &["5550000@sms.example.net"],
            )
        })
        .unwrap();

    engine
        .ingest(idle(&[("1", None), ("2", None)]))
        .await
        .unwrap();
    engine.run_due().await;
    let mine = attempts(&engine, "mine");
    assert_eq!(mine.len(), 1, "{mine:?}");
    assert_eq!(mine[0].0, "ok", "{mine:?}");
    assert!(
        mine[0]
            .2
            .contains(r#"ana (profile "work"): 1 email, 2 sms"#),
        "{mine:?}"
    );
    let quiet = attempts(&engine, "quiet");
    assert_eq!(quiet.len(), 2, "{quiet:?}");
    for (outcome, _, message) in &quiet {
        assert_eq!(outcome, "ok", "{message}");
        assert!(message.contains("1 email, sms off"), "{message}");
    }

    let received = deliver(&engine, &server).await;
    assert_eq!(received.len(), 1 + 2 + 2, "{received:#?}");
    let email = to(&received, "ana@example.com,ana.home@example.com");
    assert_eq!(email.len(), 1, "{received:#?}");
    assert!(email[0].contains("Subject: 2 idle"), "{}", email[0]);
    assert!(email[0].contains("Idle: #1 #2"), "{}", email[0]);
    for gateway in ["5551234@sms.example.net", "5559876@sms.example.net"] {
        let sms = to(&received, gateway);
        assert_eq!(sms.len(), 1, "{gateway}: {received:#?}");
        assert_eq!(body(sms[0]), format!("SMS {}", &long[..156]), "cut to 160");
    }
    let quiet = to(&received, "ana.quiet@example.com");
    assert_eq!(quiet.len(), 2, "{received:#?}");
    assert!(to(&received, "5550000@sms.example.net").is_empty());
}

/// Per item, each item alerts the default profile of its own assigned agent;
/// an item with no agent, or whose agent has no default profile, fails naming why.
#[tokio::test]
async fn for_user_per_item_alerts_each_items_assigned_agent() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let rules = [for_user(
        "each",
        "per-item",
        json!({"subject": "Idle: {{ item.subject }}"}),
    )];
    let engine = open(dir.path(), clock(), EngineConfig::default(), &rules).await;
    let profiles = Profiles::open(engine.store()).unwrap();
    profiles
        .put(&profile("ana", "work", &["ana@example.com"], &[]))
        .unwrap();
    profiles
        .put(&profile(
            "bob",
            "desk",
            &["bob@example.com"],
            &["5552222@sms.example.net"],
        ))
        .unwrap();
    profiles
        .put(&Profile {
            default: false,
            ..profile("carol", "someday", &["carol@example.com"], &[])
        })
        .unwrap();

    engine
        .ingest(idle(&[
            ("1", Some("ana")),
            ("2", Some("bob")),
            ("3", None),
            ("4", Some("carol")),
        ]))
        .await
        .unwrap();
    engine.run_due().await;
    let attempts = attempts(&engine, "each");
    let outcome = |id: &str| {
        attempts
            .iter()
            .find(|(_, items, _)| items.iter().any(|i| i.ends_with(id)))
            .unwrap_or_else(|| panic!("no attempt for item {id}: {attempts:?}"))
    };
    assert_eq!(outcome("1").0, "ok", "{attempts:?}");
    assert_eq!(outcome("2").0, "ok", "{attempts:?}");
    assert_eq!(outcome("3").0, "dead-letter", "{attempts:?}");
    assert!(
        outcome("3").2.contains("ticket 3 (no assigned agent)"),
        "{attempts:?}"
    );
    assert_eq!(outcome("4").0, "dead-letter", "{attempts:?}");
    assert!(
        outcome("4")
            .2
            .contains("ticket 4 (agent `carol` has no default profile)"),
        "{attempts:?}"
    );

    let received = deliver(&engine, &server).await;
    assert_eq!(received.len(), 3, "{received:#?}");
    let ana = to(&received, "ana@example.com");
    assert_eq!(ana.len(), 1, "{received:#?}");
    assert!(ana[0].contains("Subject: Idle: Printer 1"), "{}", ana[0]);
    let bob = to(&received, "bob@example.com");
    assert_eq!(bob.len(), 1, "{received:#?}");
    assert!(bob[0].contains("Subject: Idle: Printer 2"), "{}", bob[0]);
    let sms = to(&received, "5552222@sms.example.net");
    assert_eq!(sms.len(), 1, "{received:#?}");
    assert!(
        sms[0].contains("Idle: Printer 2"),
        "default SMS text is the subject"
    );
    assert!(to(&received, "carol@example.com").is_empty());
}

/// As a digest, the items are grouped by assigned agent: one alert per agent
/// naming that agent's items, the skipped items named in the outcome.
#[tokio::test]
async fn for_user_digest_sends_one_alert_per_agent() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let rules = [for_user(
        "digest",
        "digest",
        json!({"subject": "{{ items | length }} idle tickets", "body": "Please look."}),
    )];
    let engine = open(dir.path(), clock(), EngineConfig::default(), &rules).await;
    let profiles = Profiles::open(engine.store()).unwrap();
    profiles
        .put(&profile("ana", "work", &["ana@example.com"], &[]))
        .unwrap();
    profiles
        .put(&profile("bob", "desk", &["bob@example.com"], &[]))
        .unwrap();

    engine
        .ingest(idle(&[
            ("1", Some("ana")),
            ("2", Some("bob")),
            ("3", Some("ana")),
            ("4", None),
        ]))
        .await
        .unwrap();
    engine.run_due().await;
    let attempts = attempts(&engine, "digest");
    assert_eq!(attempts.len(), 1, "{attempts:?}");
    let (outcome, _, summary) = &attempts[0];
    assert_eq!(outcome, "ok", "{summary}");
    assert!(
        summary.starts_with("2 email(s) and 0 sms to 2 agent(s)")
            && summary.contains("skipped 1 item(s): ticket 4 (no assigned agent)"),
        "{summary}"
    );

    let received = deliver(&engine, &server).await;
    assert_eq!(received.len(), 2, "{received:#?}");
    let ana = to(&received, "ana@example.com");
    assert_eq!(ana.len(), 1, "{received:#?}");
    assert!(ana[0].contains("Subject: 4 idle tickets"), "{}", ana[0]);
    assert!(
        ana[0].contains("Assigned to you: ticket 1, ticket 3"),
        "{}",
        ana[0]
    );
    let bob = to(&received, "bob@example.com");
    assert_eq!(bob.len(), 1, "{received:#?}");
    assert!(bob[0].contains("Assigned to you: ticket 2"), "{}", bob[0]);
}

/// A digest in which no item can be delivered fails permanently, saying why.
#[tokio::test]
async fn for_user_with_nobody_to_alert_fails_saying_why() {
    let dir = tempfile::tempdir().unwrap();
    let rules = [for_user("nobody", "digest", json!({"subject": "Idle"}))];
    let engine = open(dir.path(), clock(), EngineConfig::default(), &rules).await;
    engine
        .ingest(idle(&[("1", None), ("2", Some("dave"))]))
        .await
        .unwrap();
    engine.run_due().await;
    let attempts = attempts(&engine, "nobody");
    assert_eq!(attempts[0].0, "dead-letter", "{attempts:?}");
    assert!(
        attempts[0].2.contains("nothing sent")
            && attempts[0].2.contains("ticket 1 (no assigned agent)")
            && attempts[0]
                .2
                .contains("ticket 2 (agent `dave` has no default profile)"),
        "{attempts:?}"
    );
    assert!(engine.store().queued_mail().unwrap().is_empty());
}

/// A system rule has no owner profile: saving one that uses "My" is refused
/// naming the action; the plugin itself also refuses such an invocation.
#[tokio::test]
async fn a_system_rule_using_my_profile_is_refused() {
    let recorder = Arc::new(Recorder::default());
    let rt = Arc::new(
        Runtime::new(
            RuntimeConfig {
                max_instances: 8,
                ..Default::default()
            },
            recorder.clone(),
        )
        .unwrap(),
    );
    let registry = Registry::new(rt.clone());
    registry
        .install_file(
            &plugins_dir().join("profile-alerts.wasm"),
            Grants {
                mail: true,
                profiles: true,
                ..Grants::default()
            },
        )
        .await
        .unwrap();
    let validator = Validator {
        catalog: catalog(),
        plugins: &registry,
    };
    let action = notify(
        "use-my-notification-profile",
        "digest",
        json!({"subject": "Idle"}),
    );
    let system: Rule = serde_json::from_value(owned("sys", "system", json!([action]))).unwrap();
    let err = validator.check(&system).unwrap_err().to_string();
    assert!(
        err.contains("actions[0].action") && err.contains("a `system` rule has none"),
        "{err}"
    );
    let agent: Rule = serde_json::from_value(owned("sys", "ana", json!([action]))).unwrap();
    validator.check(&agent).unwrap();

    let plugin = load_plugin(&rt, "profile-alerts").await.unwrap();
    let grants = Arc::new(Grants {
        mail: true,
        profiles: true,
        ..Grants::default()
    });
    // The helper's invocations come from a `system` rule.
    let inv = invocation(
        "use-my-notification-profile",
        Mode::Digest,
        json!({"subject": "Idle"}),
        vec![ticket("1", "Printer")],
    );
    let err = rt.invoke(&plugin, grants, inv).await.unwrap_err();
    assert!(
        matches!(&err, InvokeError::Failed { failure, .. }
            if failure.kind == tocsin::plugins::bindings::FailureKind::BadSettings),
        "{err}"
    );
    assert!(
        err.to_string().contains("has no notification profile"),
        "{err}"
    );
    assert!(recorder.mail.lock().unwrap().is_empty());
}

/// Reading profiles needs the `profiles` grant: a call without it is refused
/// and sends nothing; a component importing `profiles` whose manifest does not
/// request it is not loaded.
#[tokio::test]
async fn profiles_need_the_profiles_grant() {
    let recorder = Arc::new(Recorder::default());
    recorder
        .profiles
        .lock()
        .unwrap()
        .push(profile("ana", "work", &["ana@example.com"], &[]));
    let rt = Runtime::new(
        RuntimeConfig {
            max_instances: 8,
            ..Default::default()
        },
        recorder.clone(),
    )
    .unwrap();
    let plugin = load_plugin(&rt, "profile-alerts").await.unwrap();
    let mut inv = invocation(
        "use-my-notification-profile",
        Mode::PerItem,
        json!({"subject": "Idle"}),
        vec![ticket("1", "Printer")],
    );
    inv.rule.owner = "ana".into();
    let mail_only = Arc::new(Grants {
        mail: true,
        ..Grants::default()
    });
    let err = rt
        .invoke(&plugin, mail_only, inv.clone())
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("plugin `profile-alerts` has no `profiles` grant"),
        "{err}"
    );
    assert!(recorder.mail.lock().unwrap().is_empty());

    let both = Arc::new(Grants {
        mail: true,
        profiles: true,
        ..Grants::default()
    });
    let outcome = rt.invoke(&plugin, both, inv).await.unwrap();
    assert!(outcome.summary.contains("1 email"), "{}", outcome.summary);
    assert_eq!(*recorder.mail.lock().unwrap(), ["Idle"]);

    let (mut manifest, wasm) = component(&plugins_dir(), "profile-alerts");
    manifest.capabilities.profiles = false;
    let err = rt.load(manifest, &wasm).await.err().unwrap();
    assert!(
        matches!(
            err,
            LoadError::UndeclaredImport {
                capability: "profiles",
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("imports `tocsin:plugin/profiles@0.1.0`"),
        "{err}"
    );
}

/// `tocsin profiles import` stores a TOML file's profiles, refusing a file
/// with a bad address by naming it; `export` writes them back as JSON.
#[test]
fn profiles_import_and_export_through_the_command_line() {
    use std::process::Command;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let run = |args: &[&std::ffi::OsStr]| {
        Command::new(tocsin_tests::tocsin_bin())
            .arg("profiles")
            .args(args)
            .arg("--data")
            .arg(&data)
            .output()
            .unwrap()
    };
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[[profiles]]\nagent = \"ana\"\nname = \"work\"\nemails = [\"ana at example\"]\n",
    )
    .unwrap();
    let out = run(&["import".as_ref(), bad.as_os_str()]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("profiles[0]: profile.emails[0]: \"ana at example\""),
        "{stderr}"
    );

    let good = dir.path().join("profiles.toml");
    std::fs::write(
        &good,
        r#"
        [[profiles]]
        agent = "ana"
        name = "work"
        emails = ["ana@example.com"]
        sms = ["5551234@sms.example.net"]
        email_on = true
        sms_on = true
        default = true

        [[profiles]]
        agent = "bob"
        name = "desk"
        emails = ["bob@example.com"]
        email_on = true
        "#,
    )
    .unwrap();
    let out = run(&["import".as_ref(), good.as_os_str()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "imported 2 profile(s)\n"
    );

    let json = dir.path().join("out.json");
    let out = run(&["export".as_ref(), json.as_os_str()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let exported: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let profiles = exported["profiles"].as_array().unwrap();
    assert_eq!(profiles.len(), 2, "{exported}");
    assert_eq!(profiles[0]["agent"], "ana");
    assert_eq!(profiles[0]["default"], true);
    assert_eq!(profiles[0]["sms"][0], "5551234@sms.example.net");
    assert_eq!(profiles[1]["agent"], "bob");
    assert_eq!(profiles[1]["sms_on"], false);
}
