//! Every operator on every kind it applies to, and the refusals.

use super::*;
use crate::calendars::{CalendarConfig, Calendars};
use crate::event::{Event, ItemSnapshot};
use serde_json::{json, Value};

fn event_at(at: &str, fields: Value) -> Event {
    Event {
        id: Some("e".into()),
        category: "ticket".into(),
        event_type: "ticket-created".into(),
        occurred_at: at.into(),
        agent: Some("ana".into()),
        old_values: Default::default(),
        items: vec![ItemSnapshot {
            kind: "ticket".into(),
            id: "1".into(),
            fields: fields.as_object().cloned().unwrap_or_default(),
        }],
        idempotency_key: None,
    }
}

fn check_with(
    cals: &Calendars,
    field: Field,
    kind: ValueKind,
    op: &str,
    value: Option<Value>,
    ev: &Event,
) -> bool {
    let cond: Condition =
        serde_json::from_value(json!({"field": "f", "op": op, "value": value})).unwrap();
    let compiled = compile(&cond, field, &kind).unwrap_or_else(|e| panic!("{op}: {e:?}"));
    let at = ev.occurred_at.parse().unwrap();
    let mut subject = Subject::new(ev, &ev.items[0], at, cals);
    compiled.holds(&mut subject)
}

fn check(kind: ValueKind, op: &str, value: Option<Value>, actual: Value) -> bool {
    let ev = event_at("2026-11-30T10:00:00Z", json!({ "f": actual }));
    check_with(
        &Calendars::default(),
        Field::Item("f".into()),
        kind,
        op,
        value,
        &ev,
    )
}

fn refused(kind: ValueKind, op: &str, value: Option<Value>) -> (String, String) {
    let cond: Condition =
        serde_json::from_value(json!({"field": "f", "op": op, "value": value})).unwrap();
    compile(&cond, Field::Item("f".into()), &kind)
        .err()
        .unwrap_or_else(|| panic!("{op} {value:?} accepted"))
}

#[test]
fn text_operators_case_insensitive_by_default() {
    let t = || ValueKind::Text;
    let s = json!("Printer On Fire");
    assert!(check(
        t(),
        "equals",
        Some(json!("printer on fire")),
        s.clone()
    ));
    assert!(!check(t(), "equals", Some(json!("printer")), s.clone()));
    assert!(check(t(), "not-equals", Some(json!("printer")), s.clone()));
    assert!(check(t(), "contains", Some(json!("ON")), s.clone()));
    assert!(check(t(), "not-contains", Some(json!("water")), s.clone()));
    assert!(!check(t(), "not-contains", Some(json!("fire")), s.clone()));
    assert!(check(t(), "starts-with", Some(json!("printer")), s.clone()));
    assert!(!check(t(), "starts-with", Some(json!("fire")), s.clone()));
    assert!(check(t(), "ends-with", Some(json!("FIRE")), s.clone()));
    assert!(check(
        t(),
        "matches",
        Some(json!("^printer\\s+on")),
        s.clone()
    ));
    assert!(!check(t(), "matches", Some(json!("^fire")), s.clone()));
    assert!(check(
        t(),
        "one-of",
        Some(json!(["x", "printer on fire"])),
        s.clone()
    ));
    assert!(!check(t(), "one-of", Some(json!(["x", "y"])), s.clone()));
    assert!(check(t(), "is-set", None, s.clone()));
    assert!(check(t(), "is-empty", None, json!("  ")));
    assert!(check(t(), "is-empty", None, Value::Null));
    assert!(!check(t(), "is-empty", None, s));
}

#[test]
fn text_case_sensitive_when_asked() {
    let cond: Condition = serde_json::from_value(
        json!({"field": "f", "op": "equals", "value": "VIP", "case_sensitive": true}),
    )
    .unwrap();
    let c = compile(&cond, Field::Item("f".into()), &ValueKind::Text).unwrap();
    let cals = Calendars::default();
    for (actual, want) in [("VIP", true), ("vip", false)] {
        let ev = event_at("2026-11-30T10:00:00Z", json!({ "f": actual }));
        let mut s = Subject::new(&ev, &ev.items[0], ev.occurred_at.parse().unwrap(), &cals);
        assert_eq!(c.holds(&mut s), want, "{actual}");
    }
    let re: Condition = serde_json::from_value(
        json!({"field": "f", "op": "matches", "value": "^VIP", "case_sensitive": true}),
    )
    .unwrap();
    let c = compile(&re, Field::Item("f".into()), &ValueKind::Text).unwrap();
    let ev = event_at("2026-11-30T10:00:00Z", json!({ "f": "vip customer" }));
    let mut s = Subject::new(&ev, &ev.items[0], ev.occurred_at.parse().unwrap(), &cals);
    assert!(!c.holds(&mut s));
}

#[test]
fn enum_operators_and_allowed_values() {
    let e = || {
        ValueKind::Enum(vec![
            "low".into(),
            "normal".into(),
            "high".into(),
            "urgent".into(),
        ])
    };
    assert!(check(e(), "equals", Some(json!("Urgent")), json!("urgent")));
    assert!(check(
        e(),
        "not-equals",
        Some(json!("low")),
        json!("urgent")
    ));
    assert!(check(
        e(),
        "one-of",
        Some(json!(["high", "urgent"])),
        json!("high")
    ));
    assert!(check(e(), "is-set", None, json!("low")));
    assert!(check(e(), "is-empty", None, Value::Null));
    let (path, msg) = refused(e(), "equals", Some(json!("critical")));
    assert_eq!(path, "value");
    assert!(
        msg.contains("\"critical\" is not one of: low, normal, high, urgent"),
        "{msg}"
    );
    assert_eq!(refused(e(), "contains", Some(json!("x"))).0, "op");
}

#[test]
fn number_operators() {
    let n = || ValueKind::Number;
    assert!(check(n(), "equals", Some(json!(5)), json!(5)));
    assert!(check(n(), "equals", Some(json!(5)), json!("5")));
    assert!(check(n(), "not-equals", Some(json!(5)), json!(6)));
    assert!(check(n(), "not-equals", Some(json!(5)), Value::Null));
    assert!(check(n(), "greater", Some(json!(5)), json!(6)));
    assert!(!check(n(), "greater", Some(json!(5)), json!(5)));
    assert!(check(n(), "less", Some(json!(5)), json!(4.5)));
    assert!(check(n(), "between", Some(json!([5, 15])), json!(5)));
    assert!(check(n(), "between", Some(json!([5, 15])), json!(15)));
    assert!(!check(n(), "between", Some(json!([5, 15])), json!(16)));
    assert!(check(n(), "one-of", Some(json!([1, 2, 3])), json!(2)));
    assert!(!check(n(), "greater", Some(json!(5)), Value::Null));
    assert!(check(n(), "is-empty", None, Value::Null));
    assert!(check(n(), "is-set", None, json!(0)));
    let (path, msg) = refused(n(), "between", Some(json!([15, 5])));
    assert_eq!(path, "value");
    assert!(msg.contains("min is greater than max"), "{msg}");
    assert!(refused(n(), "between", Some(json!([1])))
        .1
        .contains("[min, max]"));
    assert!(refused(n(), "greater", Some(json!("many")))
        .1
        .contains("not a number"));
    assert_eq!(refused(n(), "contains", Some(json!(1))).0, "op");
}

#[test]
fn boolean_operators() {
    assert!(check(ValueKind::Boolean, "is-true", None, json!(true)));
    assert!(check(ValueKind::Boolean, "is-false", None, json!(false)));
    assert!(check(ValueKind::Boolean, "is-true", None, json!("TRUE")));
    assert!(!check(ValueKind::Boolean, "is-true", None, Value::Null));
    assert!(!check(ValueKind::Boolean, "is-false", None, Value::Null));
    assert!(refused(ValueKind::Boolean, "is-true", Some(json!(true)))
        .1
        .contains("must be absent"));
    assert_eq!(
        refused(ValueKind::Boolean, "equals", Some(json!(true))).0,
        "op"
    );
}

#[test]
fn date_time_operators() {
    let d = || ValueKind::DateTime;
    let when = json!("2026-11-28T12:00:00Z");
    assert!(check(
        d(),
        "greater",
        Some(json!("2026-11-28T11:00:00Z")),
        when.clone()
    ));
    assert!(check(
        d(),
        "less",
        Some(json!("2026-11-28T13:00:00+01:00")),
        json!("2026-11-28T11:59:00Z")
    ));
    assert!(check(
        d(),
        "between",
        Some(json!(["2026-11-28T00:00:00Z", "2026-11-28T12:00:00Z"])),
        when.clone()
    ));
    assert!(!check(
        d(),
        "between",
        Some(json!(["2026-11-29T00:00:00Z", "2026-11-30T00:00:00Z"])),
        when.clone()
    ));
    assert!(check(d(), "is-set", None, when));
    assert!(check(d(), "is-empty", None, Value::Null));
    assert!(refused(
        d(),
        "between",
        Some(json!(["2026-11-29T00:00:00Z", "2026-11-28T00:00:00Z"]))
    )
    .1
    .contains("min is greater"));
    assert!(refused(d(), "greater", Some(json!("yesterday")))
        .1
        .contains("RFC 3339"));
}

fn time_check(op: &str, value: Value, at: &str) -> bool {
    let ev = event_at(at, json!({}));
    check_with(
        &Calendars::default(),
        Field::TimeOfDay,
        ValueKind::TimeOfDay,
        op,
        Some(value),
        &ev,
    )
}

#[test]
fn time_of_day_ranges_including_wrap_around_midnight() {
    assert!(time_check(
        "between",
        json!(["09:00", "17:00"]),
        "2026-11-30T12:00:00Z"
    ));
    assert!(!time_check(
        "between",
        json!(["09:00", "17:00"]),
        "2026-11-30T18:00:00Z"
    ));
    // 22:00-06:00 wraps midnight.
    assert!(time_check(
        "between",
        json!(["22:00", "06:00"]),
        "2026-11-30T23:30:00Z"
    ));
    assert!(time_check(
        "between",
        json!(["22:00", "06:00"]),
        "2026-11-30T05:59:00Z"
    ));
    assert!(!time_check(
        "between",
        json!(["22:00", "06:00"]),
        "2026-11-30T12:00:00Z"
    ));
    assert!(time_check(
        "greater",
        json!("17:00"),
        "2026-11-30T17:30:00Z"
    ));
    assert!(time_check("less", json!("08:00"), "2026-11-30T07:00:00Z"));
    assert!(refused(
        ValueKind::TimeOfDay,
        "between",
        Some(json!(["25:00", "06:00"]))
    )
    .1
    .contains("time of day"));
}

#[test]
fn time_of_day_uses_the_items_calendar_zone() {
    let cfg: CalendarConfig = toml::from_str("[brands.acme]\ntime-zone = \"Asia/Tokyo\"").unwrap();
    let cals = Calendars::compile(&cfg).unwrap();
    // 01:00 UTC is 10:00 in Tokyo.
    let ev = event_at("2026-11-30T01:00:00Z", json!({"brand": "acme"}));
    assert!(check_with(
        &cals,
        Field::TimeOfDay,
        ValueKind::TimeOfDay,
        "between",
        Some(json!(["09:00", "11:00"])),
        &ev
    ));
    let ev = event_at("2026-11-30T01:00:00Z", json!({}));
    assert!(!check_with(
        &cals,
        Field::TimeOfDay,
        ValueKind::TimeOfDay,
        "between",
        Some(json!(["09:00", "11:00"])),
        &ev
    ));
}

#[test]
fn day_of_week_operators() {
    // 2026-11-28 is a Saturday.
    let ev = event_at("2026-11-28T10:00:00Z", json!({}));
    let cals = Calendars::default();
    let day = |op: &str, v: Value| {
        check_with(
            &cals,
            Field::DayOfWeek,
            ValueKind::DayOfWeek,
            op,
            Some(v),
            &ev,
        )
    };
    assert!(day("equals", json!("saturday")));
    assert!(day("not-equals", json!("monday")));
    assert!(day("one-of", json!(["sat", "sun"])));
    assert!(!day("one-of", json!(["monday", "friday"])));
    assert!(
        refused(ValueKind::DayOfWeek, "equals", Some(json!("someday")))
            .1
            .contains("not a day")
    );
}

fn calendars() -> Calendars {
    let cfg: CalendarConfig = toml::from_str(
        r#"
        [brands.acme]
        time-zone = "UTC"
        holidays = ["2026-12-25"]
        [brands.acme.hours]
        friday = ["09:00-17:00"]
        [departments.support]
        brand = "acme"
        "#,
    )
    .unwrap();
    Calendars::compile(&cfg).unwrap()
}

fn hours(field: Field, op: &str, at: &str, fields: Value) -> bool {
    let ev = event_at(at, fields);
    check_with(&calendars(), field, ValueKind::Boolean, op, None, &ev)
}

#[test]
fn outside_business_hours_includes_holidays_unless_during_holidays_is_false() {
    let support = json!({"department": "support"});
    // Friday 2026-12-25 10:00 would be in hours, but it is a holiday.
    let xmas = "2026-12-25T10:00:00Z";
    assert!(hours(
        Field::OutsideBusinessHours,
        "is-true",
        xmas,
        support.clone()
    ));
    assert!(hours(
        Field::DuringHolidays,
        "is-true",
        xmas,
        support.clone()
    ));
    // So "outside hours and not during holidays" does not fire on the holiday...
    assert!(!hours(
        Field::DuringHolidays,
        "is-false",
        xmas,
        support.clone()
    ));
    // ...but does on an ordinary Friday evening.
    let evening = "2026-12-18T20:00:00Z";
    assert!(hours(
        Field::OutsideBusinessHours,
        "is-true",
        evening,
        support.clone()
    ));
    assert!(hours(
        Field::DuringHolidays,
        "is-false",
        evening,
        support.clone()
    ));
    // Friday morning is business hours.
    assert!(hours(
        Field::OutsideBusinessHours,
        "is-false",
        "2026-12-18T10:00:00Z",
        support
    ));
}

#[test]
fn department_without_a_calendar_uses_its_brand() {
    // `support` has no calendar of its own; acme's Friday hours apply.
    assert!(hours(
        Field::OutsideBusinessHours,
        "is-false",
        "2026-12-18T10:00:00Z",
        json!({"department": "support"})
    ));
    // An unknown department with no brand gets the default (UTC Mon-Fri 9-17): also in hours.
    assert!(hours(
        Field::OutsideBusinessHours,
        "is-false",
        "2026-12-18T10:00:00Z",
        json!({"department": "other"})
    ));
    // On Monday acme has no hours, the default does.
    assert!(hours(
        Field::OutsideBusinessHours,
        "is-true",
        "2026-12-21T10:00:00Z",
        json!({"department": "support"})
    ));
    assert!(hours(
        Field::OutsideBusinessHours,
        "is-false",
        "2026-12-21T10:00:00Z",
        json!({"department": "other"})
    ));
}

#[test]
fn bad_regexes_are_refused() {
    assert!(
        refused(ValueKind::Text, "matches", Some(json!("(unclosed")))
            .1
            .contains("not a valid regular expression")
    );
    let long = "a".repeat(compile::MAX_REGEX_LEN + 1);
    assert!(refused(ValueKind::Text, "matches", Some(json!(long)))
        .1
        .contains("longer than"));
    // Compiles past the size limit.
    assert!(
        refused(ValueKind::Text, "matches", Some(json!("(\\w{100}){100}")))
            .1
            .contains("not a valid regular expression")
    );
}

#[test]
fn every_operator_is_either_applicable_or_refused_for_every_kind() {
    let kinds = [
        ValueKind::Text,
        ValueKind::Enum(vec!["a".into()]),
        ValueKind::Number,
        ValueKind::Boolean,
        ValueKind::DateTime,
        ValueKind::TimeOfDay,
        ValueKind::DayOfWeek,
    ];
    for kind in &kinds {
        for op in Operator::ALL {
            if !kind.operators().contains(&op) {
                let (path, _) = refused(kind.clone(), op.name(), Some(json!("x")));
                assert_eq!(path, "op", "{} on {}", op.name(), kind.name());
            }
        }
    }
}

#[test]
fn explain_reports_actual_and_expected() {
    let ev = event_at("2026-11-30T10:00:00Z", json!({"priority": "high"}));
    let cals = Calendars::default();
    let cond: Condition =
        serde_json::from_value(json!({"field": "priority", "op": "equals", "value": "urgent"}))
            .unwrap();
    let c = compile(&cond, Field::Item("priority".into()), &ValueKind::Text).unwrap();
    let mut s = Subject::new(&ev, &ev.items[0], ev.occurred_at.parse().unwrap(), &cals);
    let e = c.explain(&mut s);
    assert_eq!(e.field, "priority");
    assert_eq!(e.op, "equals");
    assert_eq!(e.expected, Some(json!("urgent")));
    assert_eq!(e.actual, json!("high"));
    assert!(!e.passed);
}

#[test]
fn agent_comes_from_the_event_then_the_item() {
    let ev = event_at("2026-11-30T10:00:00Z", json!({"agent": "bob"}));
    let cals = Calendars::default();
    assert!(check_with(
        &cals,
        Field::Agent,
        ValueKind::Text,
        "equals",
        Some(json!("ana")),
        &ev
    ));
    let mut ev2 = ev.clone();
    ev2.agent = None;
    assert!(check_with(
        &cals,
        Field::Agent,
        ValueKind::Text,
        "equals",
        Some(json!("bob")),
        &ev2
    ));
}

/// Found while writing the `rule_json` fuzz target: a case-sensitive
/// starts-with or ends-with sliced non-ASCII text at the expected value's
/// length, which panicked when that was not a char boundary.
#[test]
fn case_sensitive_prefix_and_suffix_on_non_ascii_text_compare_bytes() {
    let sensitive = |op: &str, want: &str, actual: &str| {
        let cond: Condition = serde_json::from_value(
            json!({"field": "f", "op": op, "value": want, "case_sensitive": true}),
        )
        .unwrap();
        let compiled = compile(&cond, Field::Item("f".into()), &ValueKind::Text).unwrap();
        let ev = event_at("2026-11-30T10:00:00Z", json!({ "f": actual }));
        let cals = Calendars::default();
        let mut subject = Subject::new(&ev, &ev.items[0], ev.at(), &cals);
        compiled.holds(&mut subject)
    };
    assert!(!sensitive("starts-with", "a", "éa"));
    assert!(sensitive("starts-with", "é", "éa"));
    assert!(!sensitive("starts-with", "É", "éa"));
    assert!(!sensitive("ends-with", "a", "aé"));
    assert!(sensitive("ends-with", "é", "aé"));
    assert!(sensitive("ends-with", "a", "éa"));
}

/// A number condition takes only finite numbers the scheduler can count up
/// to exactly: `"NaN"` never held and `1e300` overflowed its arithmetic.
#[test]
fn numbers_must_be_finite_and_within_the_exact_range() {
    for bad in [
        json!("NaN"),
        json!("inf"),
        json!("-infinity"),
        json!(1e300),
        json!(-1e16),
    ] {
        let (path, problem) = refused(ValueKind::Number, "greater", Some(bad.clone()));
        assert_eq!(path, "value");
        assert!(problem.contains("out of range"), "{bad}: {problem}");
    }
    let (_, problem) = refused(ValueKind::Number, "one-of", Some(json!([1, "nan"])));
    assert!(problem.contains("out of range"), "{problem}");
    assert!(check(
        ValueKind::Number,
        "less",
        Some(json!(compile::MAX_NUMBER)),
        json!(1)
    ));
}
