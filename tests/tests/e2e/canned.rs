//! Canned replies kept by the host through the engine: the built-in helpdesk
//! plugin's Send Canned Reply submits the id, the host refuses an unknown one
//! naming the argument, renders the stored templates with the ticket when it
//! applies the command, and the connector webhook on loopback receives the
//! rendered text; a reply that fails to render (or was deleted in between)
//! dead-letters the job and reaches nobody until it is fixed and the job
//! replayed.

use serde_json::{json, Value};
use std::sync::Arc;
use tocsin::canned::{CannedError, CannedReplies, CannedReply};
use tocsin::engine::connector::ConnectorConfig;
use tocsin::engine::{Engine, EngineConfig, Sink};
use tocsin::event::Event;
use tocsin::plugins::bindings::helpdesk::Command;
use tocsin::plugins::Outbound;
use tocsin_tests::engine::*;

fn reply(id: &str, subject: Option<&str>, body: &str, html: Option<&str>) -> CannedReply {
    CannedReply {
        id: id.into(),
        title: format!("Reply {id}"),
        subject: subject.map(str::to_string),
        body: body.into(),
        html: html.map(str::to_string),
    }
}

/// A rule sending canned reply `id` to every new ticket, as one digest.
fn send(id: &str) -> Value {
    rule(
        "canned",
        "ticket-created",
        json!([{"plugin": "helpdesk", "action": "send-canned-reply", "mode": "digest",
                "settings": {"canned-reply": id}}]),
    )
}

/// A ticket-created event about tickets (id, fields).
fn tickets(items: &[(&str, Value)]) -> Event {
    let items: Vec<Value> = items
        .iter()
        .map(|(id, fields)| json!({"kind": "ticket", "id": id, "fields": fields}))
        .collect();
    serde_json::from_value(json!({
        "category": "ticket", "event_type": "ticket-created", "agent": "ana",
        "occurred_at": "2026-11-30T10:00:00Z", "items": items
    }))
    .unwrap()
}

/// An engine delivering commands to a loopback webhook, with `rule` and the
/// canned `replies` stored.
async fn setup(rule: Value, replies: &[CannedReply]) -> (tempfile::TempDir, Engine, Seen) {
    let (url, seen) = webhook(false).await;
    let dir = tempfile::tempdir().unwrap();
    let config = EngineConfig {
        connector: Some(ConnectorConfig::new(url, "s3cret")),
        ..Default::default()
    };
    let engine = open(dir.path(), clock(), config, &[rule]).await;
    let canned = CannedReplies::open(engine.store()).unwrap();
    for r in replies {
        canned.put(r).unwrap();
    }
    (dir, engine, seen)
}

async fn run(engine: &Engine) {
    for _ in 0..4 {
        engine.run_due().await;
    }
}

fn bodies(seen: &Seen) -> Vec<Value> {
    seen.lock()
        .unwrap()
        .iter()
        .map(|(_, _, body)| serde_json::from_slice(body).unwrap())
        .collect()
}

/// Each ticket of a digest gets the stored reply rendered with its own fields,
/// custom fields and the event, and the webhook receives subject, body and
/// html next to the id (the pull list holds the same).
#[tokio::test]
async fn a_stored_canned_reply_reaches_the_webhook_rendered_with_each_tickets_fields() {
    let welcome = reply(
        "welcome",
        Some("Re: {{ item.subject }} [#{{ item.id }}]"),
        "Hello {{ item.customer }}, your {{ item.cf.plan }} ticket is {{ item.status }} ({{ event.type }}, {{ rule.name }}).",
        Some("<p>Hello {{ item.fields.customer }}</p>"),
    );
    let (_dir, engine, seen) = setup(send("welcome"), &[welcome]).await;
    engine
        .ingest(tickets(&[
            (
                "7",
                json!({"subject": "Printer", "customer": "Bo", "status": "active", "cf.plan": "Gold"}),
            ),
            (
                "8",
                json!({"subject": "Mouse", "customer": "Cy", "status": "waiting", "cf.plan": "Free"}),
            ),
        ]))
        .await
        .unwrap();
    run(&engine).await;

    let attempts = attempts(&engine, "canned");
    assert_eq!(attempts[0].0, "ok", "{attempts:?}");
    let mut received = bodies(&seen);
    received.sort_by_key(|b| b["item_id"].as_str().map(str::to_string));
    assert_eq!(received.len(), 2, "one delivery per ticket: {received:?}");
    assert_eq!(received[0]["name"], "send-canned-reply");
    assert_eq!(
        received[0]["arguments"],
        json!({
            "canned-reply": "welcome",
            "subject": "Re: Printer [#7]",
            "body": "Hello Bo, your Gold ticket is active (ticket-created, Rule canned).",
            "html": "<p>Hello Bo</p>",
        })
    );
    assert_eq!(received[1]["item_id"], "8");
    assert_eq!(
        received[1]["arguments"]["body"],
        "Hello Cy, your Free ticket is waiting (ticket-created, Rule canned)."
    );
    assert_eq!(received[1]["arguments"]["subject"], "Re: Mouse [#8]");

    let pulled = engine.commands().unwrap();
    assert_eq!(pulled.len(), 2);
    for command in &pulled {
        let delivered = received
            .iter()
            .find(|b| b["id"] == command["id"])
            .expect("the pull list and the webhook carry the same command");
        assert_eq!(command["arguments"], delivered["arguments"]);
    }
}

/// A reply without subject or html sends only the rendered body, its
/// trailing newline kept.
#[tokio::test]
async fn a_body_only_canned_reply_carries_only_the_rendered_body() {
    let short = reply("short", None, "Thanks {{ item.customer }}!\n", None);
    let (_dir, engine, seen) = setup(send("short"), &[short]).await;
    engine
        .ingest(tickets(&[("7", json!({"customer": "Bo"}))]))
        .await
        .unwrap();
    run(&engine).await;
    let received = bodies(&seen);
    assert_eq!(received.len(), 1, "{:?}", attempts(&engine, "canned"));
    assert_eq!(
        received[0]["arguments"],
        json!({"canned-reply": "short", "body": "Thanks Bo!\n"})
    );
}

/// An id the host does not keep is refused when the plugin submits it: the
/// host's error names `arguments.canned-reply` and the known ids, the
/// helpdesk plugin reports it as its setting `canned-reply`, the job
/// dead-letters, and nothing is recorded or delivered.
#[tokio::test]
async fn an_unknown_canned_reply_is_refused_naming_the_argument_and_the_known_ids() {
    let replies = [
        reply("welcome", None, "Hi", None),
        reply("thanks", None, "Thanks", None),
    ];
    let (_dir, engine, seen) = setup(send("nope"), &replies).await;
    engine
        .ingest(tickets(&[("7", json!({"customer": "Bo"}))]))
        .await
        .unwrap();
    run(&engine).await;
    let attempts = attempts(&engine, "canned");
    assert_eq!(attempts.len(), 1, "{attempts:?}");
    assert_eq!(attempts[0].0, "dead-letter", "{attempts:?}");
    // The plugin's settings are the command's arguments; it says so.
    assert!(
        attempts[0].2.contains(
            "help-desk command `send-canned-reply`: settings.canned-reply: no canned reply `nope` is kept by the host; known canned replies: thanks, welcome"
        ),
        "{attempts:?}"
    );
    assert!(engine.commands().unwrap().is_empty());
    assert!(seen.lock().unwrap().is_empty());

    // What the host answers a plugin's submission, in its own words.
    let sink = Sink::new(engine.store().clone()).unwrap();
    let submit = |id: &str| {
        sink.submit_command(
            "helpdesk",
            "inv-1",
            &Command {
                item_kind: "ticket".into(),
                item_id: "7".into(),
                name: "send-canned-reply".into(),
                arguments: json!({"canned-reply": id}).to_string(),
            },
        )
    };
    let e = submit("nope").unwrap_err();
    assert_eq!(
        e.to_string(),
        "help-desk command `send-canned-reply`: arguments.canned-reply: no canned reply `nope` is kept by the host; known canned replies: thanks, welcome"
    );
    assert!(submit("thanks").is_ok());
}

/// A template that does not compile is refused when the reply is stored,
/// naming the field (`body`, `subject`, `html`); nothing is stored.
#[tokio::test]
async fn a_canned_reply_whose_template_does_not_compile_is_refused_at_put_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path(), clock(), EngineConfig::default(), &[]).await;
    let canned = CannedReplies::open(engine.store()).unwrap();
    let cases = [
        (reply("a", None, "Hello {{ item.customer ", None), "body"),
        (
            reply("a", Some("{% if item.vip %}VIP"), "Hello", None),
            "subject",
        ),
        (reply("a", None, "Hello", Some("<p>{% for %}</p>")), "html"),
    ];
    for (bad, field) in cases {
        let e = canned.put(&bad).unwrap_err();
        assert!(
            matches!(&e, CannedError::Invalid { field: f, .. } if f == field),
            "{field}: {e}"
        );
        assert!(
            e.to_string()
                .starts_with(&format!("canned reply `a`: {field}: syntax error")),
            "{e}"
        );
    }
    let e = canned.put(&reply("Bad_Id", None, "x", None)).unwrap_err();
    assert!(e.to_string().contains(": id: "), "{e}");
    assert!(canned.list().unwrap().is_empty());
}

/// A template that compiles but fails to render for the ticket (an unknown
/// filter) dead-letters the job with a reason naming the reply and the field;
/// the webhook receives nothing. Fixed and replayed, the reply is delivered.
#[tokio::test]
async fn a_canned_reply_that_fails_to_render_dead_letters_the_job_until_fixed_and_replayed() {
    let shout = reply(
        "shout",
        None,
        "Hello",
        Some("<p>{{ item.customer | shout }}</p>"),
    );
    let (_dir, engine, seen) = setup(send("shout"), &[shout]).await;
    let canned = CannedReplies::open(engine.store()).unwrap();
    engine
        .ingest(tickets(&[("7", json!({"customer": "Bo"}))]))
        .await
        .unwrap();
    run(&engine).await;
    let attempts_now = attempts(&engine, "canned");
    assert_eq!(attempts_now.len(), 1, "{attempts_now:?}");
    assert_eq!(attempts_now[0].0, "dead-letter");
    let why = &attempts_now[0].2;
    assert!(
        why.starts_with(
            "canned reply not sent: help-desk command `send-canned-reply` for ticket 7: canned reply `shout`: html: "
        ),
        "{why}"
    );
    assert!(why.contains("unknown filter"), "{why}");
    assert!(engine.commands().unwrap().is_empty());
    assert!(seen.lock().unwrap().is_empty());
    let dead = engine.dead_letters().unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].last_error.as_deref(), Some(why.as_str()));

    canned
        .put(&reply(
            "shout",
            None,
            "Hello",
            Some("<p>{{ item.customer | upper }}</p>"),
        ))
        .unwrap();
    engine.replay(dead[0].n).await.unwrap();
    run(&engine).await;
    let received = bodies(&seen);
    assert_eq!(received.len(), 1, "{:?}", attempts(&engine, "canned"));
    assert_eq!(received[0]["arguments"]["html"], "<p>BO</p>");
    assert!(engine.dead_letters().unwrap().is_empty());
}

/// Passes submissions to the engine's sink, then deletes canned reply
/// `welcome`, as an admin could while the plugin runs.
struct DeleteAfterSubmit {
    sink: Arc<Sink>,
    canned: CannedReplies,
}

impl Outbound for DeleteAfterSubmit {
    fn queue_mail(
        &self,
        plugin: &str,
        invocation: &str,
        m: &tocsin::plugins::bindings::mail::Message,
    ) -> anyhow::Result<String> {
        self.sink.queue_mail(plugin, invocation, m)
    }

    fn submit_command(
        &self,
        plugin: &str,
        invocation: &str,
        c: &Command,
    ) -> anyhow::Result<String> {
        let submitted = self.sink.submit_command(plugin, invocation, c);
        self.canned.delete("welcome").unwrap();
        submitted
    }

    fn profile(
        &self,
        agent: &str,
        name: Option<&str>,
    ) -> anyhow::Result<Option<tocsin::profiles::Profile>> {
        self.sink.profile(agent, name)
    }
}

/// A canned reply deleted after the plugin submitted the command but before
/// the engine applied it: the job dead-letters saying so, nothing is
/// recorded or delivered.
#[tokio::test]
async fn a_canned_reply_deleted_before_the_command_is_applied_dead_letters_the_job() {
    use tocsin::plugins::{Grants, Registry, Runtime, RuntimeConfig};
    use tocsin::rules::{Rule, RuleRepo, Validator};
    let (url, seen) = webhook(false).await;
    let dir = tempfile::tempdir().unwrap();
    let store = tocsin::store::Store::open(dir.path()).unwrap();
    let canned = CannedReplies::open(&store).unwrap();
    canned.put(&reply("welcome", None, "Hi", None)).unwrap();
    canned.put(&reply("thanks", None, "Thanks", None)).unwrap();
    let sink = Arc::new(Sink::new(store.clone()).unwrap());
    let outbound = Arc::new(DeleteAfterSubmit {
        sink: sink.clone(),
        canned,
    });
    let runtime = Arc::new(Runtime::new(RuntimeConfig::default(), outbound).unwrap());
    let registry = Arc::new(Registry::new(runtime));
    let every_command = Grants {
        helpdesk: vec!["*".into()],
        ..Default::default()
    };
    registry
        .install_file(
            &tocsin_tests::plugins_dir().join("helpdesk.wasm"),
            every_command,
        )
        .await
        .unwrap();
    let rule: Rule = serde_json::from_value(send("welcome")).unwrap();
    let validator = Validator {
        catalog: tocsin::catalog::catalog(),
        plugins: &registry,
    };
    RuleRepo::open(&store)
        .unwrap()
        .create(&rule, &validator)
        .unwrap();
    let config = EngineConfig {
        connector: Some(ConnectorConfig::new(url, "s3cret")),
        ..Default::default()
    };
    let engine = Engine::open(
        &store,
        registry,
        sink,
        Arc::new(tocsin::calendars::Calendars::default()),
        clock(),
        config,
    )
    .unwrap();
    engine
        .ingest(tickets(&[("7", json!({"customer": "Bo"}))]))
        .await
        .unwrap();
    run(&engine).await;
    let attempts = attempts(&engine, "canned");
    assert_eq!(attempts.len(), 1, "{attempts:?}");
    assert_eq!(attempts[0].0, "dead-letter");
    assert_eq!(
        attempts[0].2,
        "canned reply not sent: help-desk command `send-canned-reply` for ticket 7: canned reply `welcome` does not exist; known canned replies: thanks (it was deleted after the command was submitted)"
    );
    assert!(engine.commands().unwrap().is_empty());
    assert!(seen.lock().unwrap().is_empty());
}
