//! Time-based events that depend on more than one item's clock: counts that
//! fire when crossing a threshold upward (and survive a restart), and
//! thresholds counted in business minutes across weekends and holidays.

use super::time_events::*;
use serde_json::json;
use tocsin::engine::EngineConfig;
use tocsin_tests::engine::*;

/// Ticket Count for Agent "more than 2" fires when Ann's third open ticket
/// arrives, not on her fourth, and again only after closing brought her
/// back to 2; Bob's tickets do not count for her.
#[tokio::test]
async fn a_count_fires_when_crossing_upward_not_on_every_change() {
    let dir = tempfile::tempdir().unwrap();
    let c = clock();
    let rules = [timed(
        "busy",
        "ticket",
        "ticket-count-for-agent",
        json!([{"field": "count", "op": "greater", "value": 2},
               {"field": "agent-assigned", "op": "equals", "value": "ann"}]),
    )];
    let engine = open(dir.path(), c.clone(), EngineConfig::default(), &rules).await;
    let s = scheduler(&engine);
    let assign = |id: &'static str, agent: &'static str, status: &'static str| {
        ticket(
            "ticket-created",
            id,
            json!({"agent-assigned": agent, "status": status}),
            &c,
        )
    };
    let mut crossed = Vec::new();
    for (id, agent, status) in [
        ("1", "ann", "active"),
        ("2", "ann", "waiting"),
        ("b1", "bob", "active"),
        ("b2", "bob", "active"),
        ("3", "ann", "active"),
        ("4", "ann", "active"),
        ("4", "ann", "closed"),
        ("3", "ann", "closed"),
        ("5", "ann", "active"),
    ] {
        engine.ingest(assign(id, agent, status)).await.unwrap();
        crossed.push(tick_at(&engine, &s, &c, 1).await.crossed);
    }
    assert_eq!(crossed, [0, 0, 0, 0, 1, 0, 0, 0, 1]);
    let got = attempts(&engine, "busy");
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].1, ["ticket/3"]);
    assert_eq!(got[1].1, ["ticket/5"]);
    assert_eq!(
        fired_field(&engine, "busy", "count"),
        [("3".to_string(), json!(3)), ("5".to_string(), json!(3))]
    );
}

/// With `business_minutes`, "idle more than 59 minutes" counts only business
/// hours: a ticket last touched on Friday 16:30 (start of the clock: Friday
/// 2027-01-15 08:00 UTC) fires on Tuesday 09:30, past the weekend and the
/// Monday holiday, while the wall-clock rule fires on Friday 17:30.
#[tokio::test]
async fn business_minute_idle_skips_the_weekend_and_a_holiday() {
    use tocsin::calendars::{Calendar, CalendarConfig, Calendars};
    let dir = tempfile::tempdir().unwrap();
    let c = clock();
    let mut business = idle_rule("business", "greater", json!(59));
    business["business_minutes"] = json!(true);
    let rules = [business, idle_rule("wall", "greater", json!(59))];
    let config = CalendarConfig {
        default: Calendar {
            holidays: vec!["2027-01-18".into()],
            ..Calendar::default()
        },
        ..Default::default()
    };
    let calendars = Calendars::compile(&config).unwrap();
    let engine = open_with_calendars(
        dir.path(),
        c.clone(),
        EngineConfig::default(),
        &rules,
        calendars,
    )
    .await;
    let s = scheduler(&engine);
    c.advance(510 * MINUTE);
    engine
        .ingest(ticket("ticket-created", "1", json!({}), &c))
        .await
        .unwrap();

    assert_eq!(tick_at(&engine, &s, &c, 569).await.fired, 0);
    assert_eq!(tick_at(&engine, &s, &c, 570).await.fired, 1);
    assert_eq!(attempts(&engine, "wall").len(), 1);
    let tuesday_0930 = 4 * 1440 + 90;
    assert_eq!(
        s.next_due().unwrap(),
        Some(START_MS + tuesday_0930 * MINUTE)
    );
    for minute in [1680, 4440, tuesday_0930 - 1] {
        assert_eq!(tick_at(&engine, &s, &c, minute).await.fired, 0, "{minute}");
    }
    assert_eq!(tick_at(&engine, &s, &c, tuesday_0930).await.fired, 1);
    assert_eq!(tick_at(&engine, &s, &c, tuesday_0930 + 600).await.fired, 0);
    assert_eq!(attempts(&engine, "business").len(), 1);
    assert_eq!(
        fired_field(&engine, "business", "idle-minutes"),
        [("1".to_string(), json!(60))]
    );
}

/// A business-minutes rule fires an item on a 24/7 department's calendar
/// while an earlier item on the office calendar is still waiting, and fires
/// neither twice once the waiting one comes due.
#[tokio::test]
async fn business_minutes_on_two_calendars_fire_each_item_once() {
    use tocsin::calendars::{Calendar, CalendarConfig, Calendars, DepartmentCalendar};
    let dir = tempfile::tempdir().unwrap();
    let c = clock();
    let mut business = idle_rule("business", "greater", json!(59));
    business["business_minutes"] = json!(true);
    let always: std::collections::BTreeMap<String, Vec<String>> = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ]
    .iter()
    .map(|d| (d.to_string(), vec!["00:00-23:59".to_string()]))
    .collect();
    let mut config = CalendarConfig::default();
    config.departments.insert(
        "night".into(),
        DepartmentCalendar {
            brand: None,
            calendar: Some(Calendar {
                hours: always,
                ..Calendar::default()
            }),
        },
    );
    let calendars = Calendars::compile(&config).unwrap();
    let engine = open_with_calendars(
        dir.path(),
        c.clone(),
        EngineConfig::default(),
        &[business],
        calendars,
    )
    .await;
    let s = scheduler(&engine);
    // Friday 16:30: the office ticket first, the night one a minute later.
    c.advance(510 * MINUTE);
    engine
        .ingest(ticket("ticket-created", "office", json!({}), &c))
        .await
        .unwrap();
    c.advance(MINUTE);
    engine
        .ingest(ticket(
            "ticket-created",
            "night",
            json!({"department": "night"}),
            &c,
        ))
        .await
        .unwrap();
    assert_eq!(tick_at(&engine, &s, &c, 571).await.fired, 1);
    assert_eq!(tick_at(&engine, &s, &c, 1680).await.fired, 0);
    let monday_0930 = 3 * 1440 + 90;
    assert_eq!(tick_at(&engine, &s, &c, monday_0930).await.fired, 1);
    assert_eq!(tick_at(&engine, &s, &c, monday_0930 + 600).await.fired, 0);
    let mut items: Vec<Vec<String>> = attempts(&engine, "business")
        .into_iter()
        .map(|a| a.1)
        .collect();
    items.sort();
    assert_eq!(items, [["ticket/night"], ["ticket/office"]]);
}

/// A count crossing ingested just before a restart fires once after it, and
/// not again after another restart while the count stays above.
#[tokio::test]
async fn a_count_crossing_survives_a_restart_and_fires_once() {
    let dir = tempfile::tempdir().unwrap();
    let c = clock();
    let rules = [timed(
        "busy",
        "ticket",
        "ticket-count-for-group",
        json!([{"field": "count", "op": "greater", "value": 1}]),
    )];
    {
        let engine = open(dir.path(), c.clone(), EngineConfig::default(), &rules).await;
        for id in ["1", "2"] {
            engine
                .ingest(ticket("ticket-created", id, json!({"group": "tier1"}), &c))
                .await
                .unwrap();
        }
    }
    for _ in 0..2 {
        let engine = open(dir.path(), c.clone(), EngineConfig::default(), &rules).await;
        let s = scheduler(&engine);
        tick_at(&engine, &s, &c, 1).await;
        assert_eq!(attempts(&engine, "busy").len(), 1);
    }
}
