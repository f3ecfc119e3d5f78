//! The built-in helpdesk plugin through the engine: every help-desk command
//! action changes the item mirror, emits its follow-on event and reaches the
//! connector webhook on loopback; bad arguments and wrong item states are
//! refused with errors naming the problem.

use serde_json::{json, Value};
use tocsin::engine::audit::{Entry, Query};
use tocsin::engine::connector::ConnectorConfig;
use tocsin::engine::{Engine, EngineConfig};
use tocsin::event::Event;
use tocsin_tests::engine::*;

/// One command action under test.
struct Case {
    category: &'static str,
    event_type: &'static str,
    kind: &'static str,
    action: &'static str,
    settings: Value,
    /// Fields of the item before.
    before: Value,
    /// Fields expected after (on the new item for create-task).
    after: Value,
    /// The follow-on event type, if any.
    follow_on: Option<&'static str>,
    /// The command name the connector receives.
    command: &'static str,
}

fn cases() -> Vec<Case> {
    let case =
        |category, event_type, kind, action, settings, before, after, follow_on, command| Case {
            category,
            event_type,
            kind,
            action,
            settings,
            before,
            after,
            follow_on,
            command,
        };
    let open_ticket = || json!({"status": "active", "priority": "normal", "messages-received": 1});
    vec![
        case(
            "ticket",
            "ticket-created",
            "ticket",
            "set-ticket-status",
            json!({"status": "waiting"}),
            open_ticket(),
            json!({"status": "waiting"}),
            Some("ticket-status-changed"),
            "set-status",
        ),
        case(
            "ticket",
            "ticket-created",
            "ticket",
            "set-ticket-priority",
            json!({"priority": "urgent"}),
            open_ticket(),
            json!({"priority": "urgent"}),
            Some("ticket-priority-changed"),
            "set-priority",
        ),
        case(
            "ticket",
            "ticket-created",
            "ticket",
            "transfer-ticket",
            json!({"department": "Billing", "agent": "ana"}),
            open_ticket(),
            json!({"department": "Billing", "agent": "ana"}),
            Some("ticket-transferred"),
            "transfer",
        ),
        case(
            "ticket",
            "ticket-created",
            "ticket",
            "pin-ticket-to-agent",
            json!({"agent": "ana"}),
            open_ticket(),
            json!({"pinned-agent": "ana"}),
            None,
            "pin",
        ),
        case(
            "ticket",
            "ticket-created",
            "ticket",
            "unpin-ticket-from-agent",
            json!({}),
            json!({"pinned-agent": "ana"}),
            json!({"pinned-agent": null}),
            None,
            "unpin",
        ),
        case(
            "ticket",
            "ticket-created",
            "ticket",
            "send-reply-to-ticket",
            json!({"body": "We are on it"}),
            open_ticket(),
            json!({}),
            None,
            "send-reply",
        ),
        case(
            "ticket",
            "ticket-created",
            "ticket",
            "send-canned-reply",
            json!({"canned-reply": "thanks"}),
            open_ticket(),
            json!({}),
            None,
            "send-canned-reply",
        ),
        case(
            "ticket",
            "ticket-status-changed",
            "ticket",
            "offer-survey",
            json!({"survey": "csat"}),
            json!({"status": "closed", "messages-received": 2}),
            json!({}),
            None,
            "offer-survey",
        ),
        case(
            "ticket",
            "ticket-created",
            "ticket",
            "send-form",
            json!({"form": "rma"}),
            open_ticket(),
            json!({}),
            Some("ticket-form-sent"),
            "send-form",
        ),
        case(
            "call-logs",
            "call-log-created",
            "call-log",
            "transfer-call-log",
            json!({"department": "Sales"}),
            json!({}),
            json!({"department": "Sales"}),
            Some("call-log-modified"),
            "transfer",
        ),
        case(
            "live-chat",
            "live-chat-started",
            "live-chat",
            "transfer-live-chat",
            json!({"agent": "bo"}),
            json!({}),
            json!({"agent": "bo"}),
            Some("live-chat-transferred"),
            "transfer",
        ),
        case(
            "live-chat",
            "live-chat-idle",
            "live-chat",
            "end-chat",
            json!({}),
            json!({"status": "active"}),
            json!({"status": "ended"}),
            Some("live-chat-ended"),
            "end",
        ),
        case(
            "live-chat",
            "live-chat-started",
            "live-chat",
            "add-system-message",
            json!({"message": "An agent joins shortly"}),
            json!({}),
            json!({}),
            None,
            "add-system-message",
        ),
        case(
            "knowledge-base",
            "kb-article-stale",
            "kb-article",
            "alter-item-properties",
            json!({"needs-review": true, "draft": false}),
            json!({}),
            json!({"needs-review": true, "draft": false}),
            Some("kb-article-modified"),
            "alter-properties",
        ),
        case(
            "task",
            "task-created",
            "task",
            "set-task-status",
            json!({"status": "in-progress"}),
            json!({"status": "under-consideration"}),
            json!({"status": "in-progress"}),
            Some("task-modified"),
            "set-status",
        ),
        case(
            "task",
            "task-created",
            "task",
            "set-task-priority",
            json!({"priority": "high"}),
            json!({}),
            json!({"priority": "high"}),
            Some("task-modified"),
            "set-priority",
        ),
        case(
            "task",
            "task-created",
            "task",
            "transfer-task",
            json!({"agent": "cy"}),
            json!({}),
            json!({"agent": "cy"}),
            Some("task-modified"),
            "transfer",
        ),
        case(
            "task",
            "task-due",
            "task",
            "create-task",
            json!({"subject": "Follow up", "priority": "low"}),
            json!({}),
            json!({"subject": "Follow up", "priority": "low", "status": "under-consideration", "source-id": "7"}),
            Some("task-created"),
            "create-task",
        ),
        case(
            "whos-on",
            "online-activity",
            "visitor",
            "purge-from-list",
            json!({}),
            json!({"listed": true}),
            json!({"listed": false}),
            Some("online-visitor-purged"),
            "purge",
        ),
        case(
            "whos-on",
            "online-activity",
            "visitor",
            "remove-from-list",
            json!({}),
            json!({"listed": true}),
            json!({"listed": false}),
            Some("online-visitor-removed"),
            "remove",
        ),
        case(
            "whos-on",
            "online-activity",
            "visitor",
            "send-live-chat-invitation",
            json!({"message": "Need help?"}),
            json!({}),
            json!({"invited": true}),
            Some("live-chat-invited"),
            "send-invitation",
        ),
        case(
            "community",
            "new-community-thread-created",
            "community-thread",
            "subscribe-to-thread",
            json!({"agent": "ana"}),
            json!({}),
            json!({}),
            None,
            "subscribe",
        ),
    ]
}

fn item_event(category: &str, event_type: &str, kind: &str, fields: &Value) -> Event {
    serde_json::from_value(json!({
        "category": category, "event_type": event_type, "occurred_at": "2026-11-30T10:00:00Z",
        "items": [{"kind": kind, "id": "7", "fields": fields}]
    }))
    .unwrap()
}

fn rule_for(id: &str, category: &str, event_type: &str, action: &str, settings: &Value) -> Value {
    json!({
        "id": id, "name": format!("Rule {id}"), "category": category, "event_type": event_type,
        "actions": [{"plugin": "helpdesk", "action": action, "mode": "digest", "settings": settings}]
    })
}

/// Events recorded after the first: (category/type, items).
fn follow_ons(engine: &Engine) -> Vec<(String, Vec<String>)> {
    engine
        .audit(&Query::default())
        .unwrap()
        .into_iter()
        .filter_map(|r| match r.entry {
            Entry::Event {
                event_type,
                items,
                depth,
                ..
            } if depth > 0 => Some((event_type, items)),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn every_command_action_changes_the_mirror_emits_its_event_and_reaches_the_webhook() {
    let (url, seen) = webhook(false).await;
    for (n, case) in cases().into_iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        let config = EngineConfig {
            connector: Some(ConnectorConfig::new(url.clone(), "s3cret")),
            ..Default::default()
        };
        let rule = rule_for(
            "cmd",
            case.category,
            case.event_type,
            case.action,
            &case.settings,
        );
        let engine = open(dir.path(), clock(), config, &[rule]).await;
        // Send Canned Reply names a canned reply the host keeps.
        tocsin::canned::CannedReplies::open(engine.store())
            .unwrap()
            .put(&tocsin::canned::CannedReply {
                id: "thanks".into(),
                title: "Thanks".into(),
                subject: None,
                body: "Thank you".into(),
                html: None,
            })
            .unwrap();
        let result = engine
            .ingest(item_event(
                case.category,
                case.event_type,
                case.kind,
                &case.before,
            ))
            .await
            .unwrap();
        assert_eq!(result.matched, ["cmd"], "{}", case.action);
        for _ in 0..4 {
            engine.run_due().await;
        }
        let attempts = attempts(&engine, "cmd");
        assert_eq!(attempts[0].0, "ok", "{}: {attempts:?}", case.action);

        let follow = follow_ons(&engine);
        match case.follow_on {
            Some(event_type) => {
                assert_eq!(follow.len(), 1, "{}: {follow:?}", case.action);
                assert_eq!(follow[0].0, event_type, "{}", case.action);
            }
            None => assert!(follow.is_empty(), "{}: {follow:?}", case.action),
        }
        let key = match case.command {
            "create-task" => {
                let item = &follow[0].1[0];
                assert!(item.starts_with("task/task-"), "{item}");
                item.split_once('/').unwrap().1.to_string()
            }
            _ => "7".to_string(),
        };
        let kind = if case.command == "create-task" {
            "task"
        } else {
            case.kind
        };
        let item = engine.item(kind, &key).unwrap().expect("item mirror");
        for (field, want) in case.after.as_object().unwrap() {
            assert_eq!(
                &item["fields"][field], want,
                "{}: {field} in {item}",
                case.action
            );
        }

        let seen = seen.lock().unwrap();
        assert_eq!(
            seen.len(),
            n + 1,
            "{}: one delivery per command",
            case.action
        );
        let body: Value = serde_json::from_slice(&seen[n].2).unwrap();
        assert_eq!(body["name"], case.command, "{}", case.action);
        assert_eq!(
            (body["item_kind"].as_str(), body["item_id"].as_str()),
            (Some(case.kind), Some("7"))
        );
        for (k, v) in case.settings.as_object().unwrap() {
            assert_eq!(&body["arguments"][k], v, "{}: argument {k}", case.action);
        }
    }
}

#[tokio::test]
async fn an_invalid_status_is_refused_when_saved_and_when_submitted() {
    use tocsin::rules::{Rule, RuleRepo, Validator};
    // Saving: the helpdesk plugin's schema names the bad setting.
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path(), clock(), EngineConfig::default(), &[]).await;
    drop(engine);
    let store = tocsin::store::Store::open(dir.path()).unwrap();
    let runtime = std::sync::Arc::new(
        tocsin::plugins::Runtime::new(
            Default::default(),
            std::sync::Arc::new(tocsin::engine::Sink::new(store.clone()).unwrap()),
        )
        .unwrap(),
    );
    let registry = tocsin::plugins::Registry::new(runtime);
    registry
        .install_file(
            &tocsin_tests::plugins_dir().join("helpdesk.wasm"),
            Default::default(),
        )
        .await
        .unwrap();
    let validator = Validator {
        catalog: tocsin::catalog::catalog(),
        plugins: &registry,
    };
    let bad: Rule = serde_json::from_value(rule_for(
        "bad",
        "task",
        "task-created",
        "set-task-status",
        &json!({"status": "waiting"}),
    ))
    .unwrap();
    let err = RuleRepo::open(&store)
        .unwrap()
        .create(&bad, &validator)
        .unwrap_err();
    assert!(
        err.to_string().contains("actions[0].settings.status"),
        "{err}"
    );
    drop((registry, store));

    // Submitting: a value only known at run time is refused by the host.
    let dir = tempfile::tempdir().unwrap();
    let rule = rule(
        "late",
        "ticket-created",
        json!([{"plugin": "misbehave", "action": "set-ticket-status", "mode": "digest",
                "settings": {"status": "{{ item.next }}"}}]),
    );
    let engine = open(dir.path(), clock(), EngineConfig::default(), &[rule]).await;
    engine
        .ingest(event(
            "ticket-created",
            &["7"],
            json!({"status": "active", "next": "done"}),
        ))
        .await
        .unwrap();
    engine.run_due().await;
    let attempts = attempts(&engine, "late");
    assert_eq!(attempts.len(), 1, "{attempts:?}");
    assert_eq!(attempts[0].0, "dead-letter");
    assert!(
        attempts[0].2.contains(
            "arguments.status: \"done\" is not one of active, waiting, closed, closed-and-locked"
        ),
        "{attempts:?}"
    );
    let item = engine.item("ticket", "7").unwrap().unwrap();
    assert_eq!(
        item["fields"]["status"], "active",
        "the mirror is unchanged"
    );
    assert!(follow_ons(&engine).is_empty());
    assert!(engine.commands().unwrap().is_empty());
}

#[tokio::test]
async fn a_survey_is_not_offered_on_an_open_ticket() {
    let dir = tempfile::tempdir().unwrap();
    let rule = rule_for(
        "survey",
        "ticket",
        "ticket-created",
        "offer-survey",
        &json!({"survey": "csat"}),
    );
    let engine = open(dir.path(), clock(), EngineConfig::default(), &[rule]).await;
    engine
        .ingest(item_event(
            "ticket",
            "ticket-created",
            "ticket",
            &json!({"status": "active", "messages-received": 3}),
        ))
        .await
        .unwrap();
    engine.run_due().await;
    let attempts = attempts(&engine, "survey");
    assert_eq!(attempts[0].0, "dead-letter", "{attempts:?}");
    assert!(
        attempts[0].2.contains("only on a closed ticket"),
        "{attempts:?}"
    );
    assert!(engine.commands().unwrap().is_empty());
}
