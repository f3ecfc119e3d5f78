//! Time-based event types end to end: the scheduler fires Ticket Idle, Ticket
//! Follow-up Due and Task Due from the item mirror, once per episode, through
//! the same gate, outbox and audit as pushed events; a manual clock and
//! explicit ticks stand in for time passing.

use serde_json::{json, Value};
use tocsin::engine::audit::{Entry, Query};
use tocsin::engine::{Clock, Engine, EngineConfig, ManualClock};
use tocsin::event::Event;
use tocsin::scheduler::{Scheduler, SchedulerConfig, TickReport};
use tocsin_tests::engine::*;

/// A rule of `event_type` with `conditions` and a per-item log action.
pub(crate) fn timed(id: &str, category: &str, event_type: &str, conditions: Value) -> Value {
    json!({"id": id, "name": format!("Rule {id}"), "category": category,
        "event_type": event_type, "conditions": conditions,
        "actions": [log("per-item", json!({}))]})
}

/// An idle rule: idle minutes `op` `value`.
pub(crate) fn idle_rule(id: &str, op: &str, value: Value) -> Value {
    timed(
        id,
        "ticket",
        "ticket-idle",
        json!([{"field": "idle-minutes", "op": op, "value": value}]),
    )
}

/// RFC 3339 text of a clock instant.
pub(crate) fn at(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms).unwrap().to_string()
}

/// Ticks at the clock's now after moving it to `minutes` past the start, and
/// runs the jobs the tick made.
pub(crate) async fn tick_at(
    engine: &Engine,
    s: &Scheduler,
    c: &ManualClock,
    minutes: i64,
) -> TickReport {
    c.advance(START_MS + minutes * MINUTE - c.now_ms());
    let report = s.tick(c.now_ms()).await.unwrap();
    engine.run_due().await;
    report
}

/// For each item a rule's events fired for: its id and the value of `field`
/// the rule's conditions saw (from the audit's explain).
pub(crate) fn fired_field(engine: &Engine, rule: &str, field: &str) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for r in engine
        .audit(&Query {
            rule: Some(rule.into()),
            ..Default::default()
        })
        .unwrap()
    {
        if let Entry::Matched { explain, .. } = r.entry {
            for item in explain.as_array().unwrap() {
                if item["passed"] != json!(true) {
                    continue;
                }
                let value = item["conditions"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|c| c["field"] == field)
                    .map(|c| c["actual"].clone())
                    .unwrap_or(Value::Null);
                out.push((item["item"].as_str().unwrap().to_string(), value));
            }
        }
    }
    out
}

pub(crate) fn scheduler(engine: &Engine) -> Scheduler {
    Scheduler::new(engine.clone(), SchedulerConfig::default())
}

/// An event of `category`/`event_type` about item `kind`/`id` with `fields`,
/// stamped at the clock's now.
pub(crate) fn item_event(
    (category, event_type): (&str, &str),
    (kind, id): (&str, &str),
    fields: Value,
    c: &ManualClock,
) -> Event {
    serde_json::from_value(json!({
        "category": category, "event_type": event_type, "occurred_at": at(c.now_ms()),
        "items": [{"kind": kind, "id": id, "fields": fields}]
    }))
    .unwrap()
}

/// A ticket event of `event_type` with `fields`, stamped at the clock's now.
pub(crate) fn ticket(event_type: &str, id: &str, fields: Value, c: &ManualClock) -> Event {
    let mut e = event(event_type, &[id], fields);
    e.occurred_at = at(c.now_ms());
    e
}

/// A ticket idle more than 5 minutes fires once at 6 whole minutes, not again
/// while it stays idle, and again after new activity and a new idle spell.
#[tokio::test]
async fn an_idle_ticket_fires_once_per_idle_spell() {
    let dir = tempfile::tempdir().unwrap();
    let c = clock();
    let rules = [idle_rule("idle", "greater", json!(5))];
    let engine = open(dir.path(), c.clone(), EngineConfig::default(), &rules).await;
    let s = scheduler(&engine);
    engine
        .ingest(ticket(
            "ticket-created",
            "1",
            json!({"status": "active"}),
            &c,
        ))
        .await
        .unwrap();

    assert_eq!(tick_at(&engine, &s, &c, 5).await.fired, 0);
    assert_eq!(s.next_due().unwrap(), Some(START_MS + 6 * MINUTE));
    assert_eq!(tick_at(&engine, &s, &c, 6).await.fired, 1);
    for minute in [7, 30, 60] {
        assert_eq!(tick_at(&engine, &s, &c, minute).await.fired, 0, "{minute}");
    }
    assert_eq!(attempts(&engine, "idle").len(), 1);
    assert_eq!(attempts(&engine, "idle")[0].1, ["ticket/1"]);

    // New activity at minute 60 starts a new spell.
    engine
        .ingest(ticket(
            "ticket-messages-received",
            "1",
            json!({"status": "active"}),
            &c,
        ))
        .await
        .unwrap();
    assert_eq!(tick_at(&engine, &s, &c, 65).await.fired, 0);
    assert_eq!(tick_at(&engine, &s, &c, 66).await.fired, 1);
    assert_eq!(tick_at(&engine, &s, &c, 90).await.fired, 0);
    let got = attempts(&engine, "idle");
    assert_eq!(got.len(), 2);
    assert!(got.iter().all(|a| a.0 == "ok"));
    assert_eq!(
        fired_field(&engine, "idle", "idle-minutes"),
        [("1".to_string(), json!(6)), ("1".to_string(), json!(6))]
    );
}

/// The idle spell counts from the item's `last-activity` field when the help
/// desk gives one, and the rule's other conditions are checked at the due
/// instant: a closed ticket does not fire.
#[tokio::test]
async fn last_activity_field_and_other_conditions_decide() {
    let dir = tempfile::tempdir().unwrap();
    let c = clock();
    let rules = [timed(
        "open-idle",
        "ticket",
        "ticket-idle",
        json!([{"field": "idle-minutes", "op": "equals", "value": 10},
               {"field": "status", "op": "equals", "value": "active"}]),
    )];
    let engine = open(dir.path(), c.clone(), EngineConfig::default(), &rules).await;
    let s = scheduler(&engine);
    let earlier = at(START_MS - 4 * MINUTE);
    for (id, status) in [("open", "active"), ("closed", "closed")] {
        engine
            .ingest(ticket(
                "ticket-created",
                id,
                json!({"status": status, "last-activity": earlier}),
                &c,
            ))
            .await
            .unwrap();
    }
    assert_eq!(tick_at(&engine, &s, &c, 5).await.fired, 0);
    let report = tick_at(&engine, &s, &c, 6).await;
    assert_eq!((report.fired, report.skipped), (1, 1));
    assert_eq!(tick_at(&engine, &s, &c, 20).await, TickReport::default());
    let got = attempts(&engine, "open-idle");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].1, ["ticket/open"]);
}

/// Six tickets going idle in the same tick make one event, so a digest rule
/// sends one invocation listing all six.
#[tokio::test]
async fn digest_sends_one_invocation_for_six_idle_tickets() {
    let dir = tempfile::tempdir().unwrap();
    let c = clock();
    let mut rule = idle_rule("digest", "greater", json!(5));
    rule["actions"] = json!([log("digest", json!({}))]);
    let engine = open(dir.path(), c.clone(), EngineConfig::default(), &[rule]).await;
    let s = scheduler(&engine);
    for id in ["1", "2", "3", "4", "5", "6"] {
        engine
            .ingest(ticket("ticket-created", id, json!({}), &c))
            .await
            .unwrap();
        c.advance(1_000);
    }
    let report = tick_at(&engine, &s, &c, 7).await;
    assert_eq!((report.events, report.fired), (1, 6));
    let got = attempts(&engine, "digest");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].2, "ok [1,2,3,4,5,6]");
}

/// "Between 5 and 15 idle minutes" still fires when the scheduler was down
/// at minute 5: the firing carries the minutes at the due instant, and the
/// lag metric shows how late it was.
#[tokio::test]
async fn a_late_tick_fires_with_the_due_instants_minutes_and_records_the_lag() {
    let dir = tempfile::tempdir().unwrap();
    let c = clock();
    let rules = [idle_rule("window", "between", json!([5, 15]))];
    let engine = open(dir.path(), c.clone(), EngineConfig::default(), &rules).await;
    let s = scheduler(&engine);
    engine
        .ingest(ticket("ticket-created", "1", json!({}), &c))
        .await
        .unwrap();
    assert_eq!(tick_at(&engine, &s, &c, 25).await.fired, 1);
    assert_eq!(
        fired_field(&engine, "window", "idle-minutes"),
        [("1".to_string(), json!(5))]
    );
    let lag = s.lag();
    assert_eq!(
        (lag.count, lag.p50_ms, lag.p99_ms),
        (1, 20 * MINUTE, 20 * MINUTE)
    );
}

/// A follow-up due at minute 60 fires the "30 minutes before" rule at minute
/// 30 and the "more than 9 minutes past due" rule at minute 70, once each.
#[tokio::test]
async fn follow_up_due_fires_before_and_after_the_due_time() {
    let dir = tempfile::tempdir().unwrap();
    let c = clock();
    let rules = [
        timed(
            "before",
            "ticket",
            "ticket-follow-up-due",
            json!([{"field": "follow-up-due-minutes", "op": "equals", "value": 30}]),
        ),
        timed(
            "after",
            "ticket",
            "ticket-follow-up-due",
            json!([{"field": "follow-up-past-due-minutes", "op": "greater", "value": 9}]),
        ),
    ];
    let engine = open(dir.path(), c.clone(), EngineConfig::default(), &rules).await;
    let s = scheduler(&engine);
    let due = at(START_MS + 60 * MINUTE);
    engine
        .ingest(ticket(
            "ticket-follow-up-scheduled",
            "1",
            json!({"follow-up-scheduled": true, "follow-up-due": due}),
            &c,
        ))
        .await
        .unwrap();
    assert_eq!(tick_at(&engine, &s, &c, 29).await.fired, 0);
    assert_eq!(tick_at(&engine, &s, &c, 30).await.fired, 1);
    assert_eq!(attempts(&engine, "before").len(), 1);
    assert_eq!(tick_at(&engine, &s, &c, 60).await.fired, 0);
    assert_eq!(tick_at(&engine, &s, &c, 69).await.fired, 0);
    assert_eq!(tick_at(&engine, &s, &c, 70).await.fired, 1);
    assert_eq!(tick_at(&engine, &s, &c, 200).await.fired, 0);
    assert_eq!(attempts(&engine, "before").len(), 1);
    assert_eq!(attempts(&engine, "after").len(), 1);
    assert_eq!(
        fired_field(&engine, "after", "follow-up-past-due-minutes"),
        [("1".to_string(), json!(10))]
    );
}

/// A task fires Task Due when its due date comes, once.
#[tokio::test]
async fn task_due_fires_at_the_due_date() {
    let dir = tempfile::tempdir().unwrap();
    let c = clock();
    let rules = [timed("due", "task", "task-due", json!([]))];
    let engine = open(dir.path(), c.clone(), EngineConfig::default(), &rules).await;
    let s = scheduler(&engine);
    let task = item_event(
        ("task", "task-created"),
        ("task", "t1"),
        json!({"subject": "call back", "due-date": at(START_MS + 90 * MINUTE)}),
        &c,
    );
    engine.ingest(task).await.unwrap();
    assert_eq!(s.next_due().unwrap(), Some(START_MS + 90 * MINUTE));
    assert_eq!(tick_at(&engine, &s, &c, 89).await.fired, 0);
    assert_eq!(tick_at(&engine, &s, &c, 90).await.fired, 1);
    assert_eq!(tick_at(&engine, &s, &c, 91).await.fired, 0);
    let got = attempts(&engine, "due");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].1, ["task/t1"]);
}

/// A restart in the middle of an idle spell neither loses the firing (it
/// comes at minute 6 from the reopened store) nor repeats it after another
/// restart.
#[tokio::test]
async fn a_restart_mid_spell_neither_loses_nor_duplicates_the_firing() {
    let dir = tempfile::tempdir().unwrap();
    let c = clock();
    let rules = [idle_rule("idle", "greater", json!(5))];
    {
        let engine = open(dir.path(), c.clone(), EngineConfig::default(), &rules).await;
        let s = scheduler(&engine);
        engine
            .ingest(ticket("ticket-created", "1", json!({}), &c))
            .await
            .unwrap();
        assert_eq!(tick_at(&engine, &s, &c, 3).await.fired, 0);
    }
    {
        let engine = open(dir.path(), c.clone(), EngineConfig::default(), &rules).await;
        let s = scheduler(&engine);
        assert_eq!(tick_at(&engine, &s, &c, 6).await.fired, 1);
        assert_eq!(attempts(&engine, "idle").len(), 1);
    }
    let engine = open(dir.path(), c.clone(), EngineConfig::default(), &rules).await;
    let s = scheduler(&engine);
    assert_eq!(tick_at(&engine, &s, &c, 8).await.fired, 0);
    assert_eq!(tick_at(&engine, &s, &c, 60).await.fired, 0);
    assert_eq!(attempts(&engine, "idle").len(), 1);
}

/// Items indexed behind a rule's sweep still fire once, at the next tick,
/// with the minutes as they are then: a follow-up set for 10 minutes ahead
/// fires "less than 30 minutes before due" (not "exactly 30"), and a
/// snapshot whose last activity is older than the one the idle sweep last
/// passed fires "idle more than 5 minutes".
#[tokio::test]
async fn items_indexed_behind_the_sweep_fire_once_at_the_next_tick() {
    let dir = tempfile::tempdir().unwrap();
    let c = clock();
    let follow_up = |id: &str, op: &str, minutes: i64| {
        timed(
            id,
            "ticket",
            "ticket-follow-up-due",
            json!([{"field": "follow-up-due-minutes", "op": op, "value": minutes}]),
        )
    };
    let rules = [
        follow_up("soon", "less", 30),
        follow_up("exactly", "equals", 30),
        idle_rule("idle", "greater", json!(5)),
    ];
    let engine = open(dir.path(), c.clone(), EngineConfig::default(), &rules).await;
    let s = scheduler(&engine);
    let due = |minutes: i64| json!({"follow-up-due": at(START_MS + minutes * MINUTE)});
    engine
        .ingest(ticket("ticket-follow-up-scheduled", "a", due(60), &c))
        .await
        .unwrap();
    // "soon" fires for a at 31 (29 minutes left), "exactly" at 30; "idle" at 6.
    assert_eq!(tick_at(&engine, &s, &c, 31).await.fired, 3);

    c.advance(9 * MINUTE);
    engine
        .ingest(ticket("ticket-follow-up-scheduled", "b", due(50), &c))
        .await
        .unwrap();
    let old = at(START_MS - MINUTE);
    engine
        .ingest(ticket(
            "ticket-created",
            "c",
            json!({"last-activity": old}),
            &c,
        ))
        .await
        .unwrap();
    let report = tick_at(&engine, &s, &c, 41).await;
    assert_eq!((report.late, report.fired), (2, 2));
    assert_eq!(tick_at(&engine, &s, &c, 42).await.fired, 0);
    // b's own idle spell, from its creation at 40.
    assert_eq!(tick_at(&engine, &s, &c, 46).await.fired, 1);
    assert_eq!(tick_at(&engine, &s, &c, 200).await.fired, 0);
    assert_eq!(
        fired_field(&engine, "soon", "follow-up-due-minutes"),
        [("a".to_string(), json!(29)), ("b".to_string(), json!(9))]
    );
    assert_eq!(attempts(&engine, "exactly").len(), 1);
    assert_eq!(
        fired_field(&engine, "idle", "idle-minutes"),
        [
            ("a".to_string(), json!(6)),
            ("c".to_string(), json!(42)),
            ("b".to_string(), json!(6))
        ]
    );
    let mut idle: Vec<Vec<String>> = attempts(&engine, "idle").into_iter().map(|a| a.1).collect();
    idle.sort();
    assert_eq!(idle, [["ticket/a"], ["ticket/b"], ["ticket/c"]]);
}

/// Who's On Online Activity fires on a visitor's idle minutes and, for
/// another rule, on the minutes since the session started, once each.
#[tokio::test]
async fn online_activity_fires_on_visitor_idle_and_duration() {
    let dir = tempfile::tempdir().unwrap();
    let c = clock();
    let visitor_rule = |id: &str, field: &str, minutes: i64| {
        let mut r = timed(
            id,
            "whos-on",
            "online-activity",
            json!([{"field": field, "op": "equals", "value": minutes}]),
        );
        r["actions"] = json!([log("digest", json!({}))]);
        r
    };
    let rules = [
        visitor_rule("idle", "idle-minutes", 3),
        visitor_rule("long", "duration-minutes", 20),
    ];
    let engine = open(dir.path(), c.clone(), EngineConfig::default(), &rules).await;
    let s = scheduler(&engine);
    let visit = |event_type: &str, c: &ManualClock| {
        item_event(
            ("whos-on", event_type),
            ("visitor", "v1"),
            json!({"session-start-time": at(START_MS)}),
            c,
        )
    };
    engine.ingest(visit("live-chat-invited", &c)).await.unwrap();
    assert_eq!(tick_at(&engine, &s, &c, 3).await.fired, 1);
    c.advance(7 * MINUTE);
    engine
        .ingest(visit("live-chat-rejected", &c))
        .await
        .unwrap();
    assert_eq!(tick_at(&engine, &s, &c, 12).await.fired, 0);
    assert_eq!(tick_at(&engine, &s, &c, 13).await.fired, 1);
    assert_eq!(tick_at(&engine, &s, &c, 20).await.fired, 1);
    assert_eq!(tick_at(&engine, &s, &c, 90).await.fired, 0);
    assert_eq!(attempts(&engine, "idle").len(), 2);
    assert_eq!(attempts(&engine, "long").len(), 1);
}

/// KB Article Stale and Agent Auto-Inactive wait as long as the scheduler's
/// settings say after the article's or agent's last change.
#[tokio::test]
async fn kb_article_stale_and_agent_auto_inactive_wait_the_configured_time() {
    let dir = tempfile::tempdir().unwrap();
    let c = clock();
    let mut stale = timed("stale", "knowledge-base", "kb-article-stale", json!([]));
    stale["actions"] = json!([log("per-item", json!({}))]);
    let mut away = timed("away", "active-group", "agent-auto-inactive", json!([]));
    away["actions"] = json!([log("digest", json!({}))]);
    let engine = open(
        dir.path(),
        c.clone(),
        EngineConfig::default(),
        &[stale, away],
    )
    .await;
    let s = Scheduler::new(
        engine.clone(),
        SchedulerConfig {
            kb_stale_after_ms: 24 * 60 * MINUTE,
            agent_inactive_after_ms: 15 * MINUTE,
            ..SchedulerConfig::default()
        },
    );
    for (category, event_type, kind, id) in [
        ("knowledge-base", "kb-article-modified", "kb-article", "kb1"),
        ("active-group", "agent-status-afk", "agent", "ann"),
    ] {
        let e = item_event((category, event_type), (kind, id), json!({}), &c);
        engine.ingest(e).await.unwrap();
    }
    assert_eq!(tick_at(&engine, &s, &c, 14).await.fired, 0);
    assert_eq!(tick_at(&engine, &s, &c, 15).await.fired, 1);
    assert_eq!(tick_at(&engine, &s, &c, 24 * 60 - 1).await.fired, 0);
    assert_eq!(tick_at(&engine, &s, &c, 24 * 60).await.fired, 1);
    assert_eq!(attempts(&engine, "away")[0].1, ["agent/ann"]);
    assert_eq!(attempts(&engine, "stale")[0].1, ["kb-article/kb1"]);
}

/// With "stop after 1 hour", a ticket that came due while the scheduler was
/// down for three hours is not fired late; one that came due 30 minutes ago is.
#[tokio::test]
async fn firings_later_than_stop_after_are_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let c = clock();
    let rules = [idle_rule("idle", "greater", json!(5))];
    let engine = open(dir.path(), c.clone(), EngineConfig::default(), &rules).await;
    let s = Scheduler::new(
        engine.clone(),
        SchedulerConfig {
            stop_after_ms: 60 * MINUTE,
            ..SchedulerConfig::default()
        },
    );
    engine
        .ingest(ticket("ticket-created", "old", json!({}), &c))
        .await
        .unwrap();
    c.advance(150 * MINUTE);
    engine
        .ingest(ticket("ticket-created", "recent", json!({}), &c))
        .await
        .unwrap();
    assert_eq!(tick_at(&engine, &s, &c, 186).await.fired, 1);
    assert_eq!(attempts(&engine, "idle")[0].1, ["ticket/recent"]);
}

/// Ticket Duration counts from the ticket's `created` field, whatever the
/// activity since; Live Chat Idle counts a chat's quiet minutes.
#[tokio::test]
async fn ticket_duration_and_live_chat_idle_fire_once() {
    let dir = tempfile::tempdir().unwrap();
    let c = clock();
    let mut chat = timed(
        "quiet-chat",
        "live-chat",
        "live-chat-idle",
        json!([{"field": "idle-minutes", "op": "equals", "value": 2}]),
    );
    chat["actions"] = json!([log("digest", json!({}))]);
    let rules = [
        timed(
            "old",
            "ticket",
            "ticket-duration",
            json!([{"field": "duration-minutes", "op": "greater", "value": 59}]),
        ),
        chat,
    ];
    let engine = open(dir.path(), c.clone(), EngineConfig::default(), &rules).await;
    let s = scheduler(&engine);
    let created = json!({"created": at(START_MS)});
    for minute in [0, 20, 40] {
        tick_at(&engine, &s, &c, minute).await;
        engine
            .ingest(ticket("ticket-messages-received", "1", created.clone(), &c))
            .await
            .unwrap();
    }
    engine
        .ingest(item_event(
            ("live-chat", "live-chat-started"),
            ("live-chat", "chat-1"),
            json!({}),
            &c,
        ))
        .await
        .unwrap();
    assert_eq!(tick_at(&engine, &s, &c, 41).await.fired, 0);
    assert_eq!(tick_at(&engine, &s, &c, 42).await.fired, 1);
    assert_eq!(tick_at(&engine, &s, &c, 59).await.fired, 0);
    assert_eq!(tick_at(&engine, &s, &c, 60).await.fired, 1);
    assert_eq!(tick_at(&engine, &s, &c, 120).await.fired, 0);
    assert_eq!(attempts(&engine, "old")[0].1, ["ticket/1"]);
    assert_eq!(attempts(&engine, "quiet-chat")[0].1, ["live-chat/chat-1"]);
    assert_eq!(
        fired_field(&engine, "old", "duration-minutes"),
        [("1".to_string(), json!(60))]
    );
}
