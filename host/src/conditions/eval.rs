//! Evaluating compiled conditions for one item of an event, with the reason.

use super::compile::{Compiled, Field, NumberTest, Range, Test, TextTest};
use crate::calendars::{Calendars, CompiledCalendar};
use crate::event::{Event, ItemSnapshot};
use jiff::Timestamp;
use serde::Serialize;
use serde_json::Value;
use std::borrow::Cow;

/// What a condition is evaluated against: one item of an event, at the event's time.
pub struct Subject<'a> {
    /// The event.
    pub event: &'a Event,
    /// The item.
    pub item: &'a ItemSnapshot,
    /// The instant of the event.
    pub at: Timestamp,
    calendars: &'a Calendars,
    calendar: Option<&'a CompiledCalendar>,
}

impl<'a> Subject<'a> {
    /// A subject; the calendar is looked up lazily from the item's department and brand.
    pub fn new(
        event: &'a Event,
        item: &'a ItemSnapshot,
        at: Timestamp,
        calendars: &'a Calendars,
    ) -> Self {
        Subject {
            event,
            item,
            at,
            calendars,
            calendar: None,
        }
    }

    fn calendar(&mut self) -> &'a CompiledCalendar {
        if let Some(c) = self.calendar {
            return c;
        }
        let text = |name: &str| self.item.fields.get(name).and_then(Value::as_str);
        let cal = self.calendars.for_item(text("department"), text("brand"));
        self.calendar = Some(cal);
        cal
    }

    /// The value of a field for this subject (`None` when missing).
    pub fn value(&mut self, field: &Field) -> Option<Cow<'a, Value>> {
        match field {
            Field::Item(name) => self.item.fields.get(name).map(Cow::Borrowed),
            Field::Agent => match &self.event.agent {
                Some(agent) => Some(Cow::Owned(Value::String(agent.clone()))),
                None => self.item.fields.get("agent").map(Cow::Borrowed),
            },
            Field::TimeOfDay => {
                let t = self.calendar().time_of_day(self.at);
                Some(Cow::Owned(Value::String(t.strftime("%H:%M").to_string())))
            }
            Field::DayOfWeek => {
                let d = self.calendar().weekday(self.at);
                Some(Cow::Owned(Value::String(format!("{d:?}").to_lowercase())))
            }
            Field::OutsideBusinessHours => Some(Cow::Owned(Value::Bool(
                self.calendar().outside_business_hours(self.at),
            ))),
            Field::DuringHolidays => {
                Some(Cow::Owned(Value::Bool(self.calendar().is_holiday(self.at))))
            }
        }
    }
}

/// One condition's result, for explain and the audit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explained {
    /// The field.
    pub field: String,
    /// The operator.
    pub op: &'static str,
    /// The expected value as written.
    pub expected: Option<Value>,
    /// The field's actual value (null when missing).
    pub actual: Value,
    /// Whether it held.
    pub passed: bool,
}

impl Compiled {
    /// Whether the condition holds for the subject.
    pub fn holds(&self, subject: &mut Subject<'_>) -> bool {
        let value = subject.value(&self.field);
        let at = subject.at;
        let cal = match (&self.test, &self.field) {
            (Test::TimeOfDay(_) | Test::Days(..), _) => Some(subject.calendar()),
            _ => None,
        };
        self.test_value(value.as_deref(), at, cal)
    }

    /// Evaluates and says why.
    pub fn explain(&self, subject: &mut Subject<'_>) -> Explained {
        let passed = self.holds(subject);
        let actual = subject
            .value(&self.field)
            .map(Cow::into_owned)
            .unwrap_or(Value::Null);
        Explained {
            field: self.source.field.clone(),
            op: self.source.op.name(),
            expected: self.source.value.clone(),
            actual,
            passed,
        }
    }

    fn test_value(
        &self,
        value: Option<&Value>,
        at: Timestamp,
        cal: Option<&CompiledCalendar>,
    ) -> bool {
        match &self.test {
            Test::Presence(want_set) => is_set(value) == *want_set,
            Test::Bool(want) => value.and_then(as_bool) == Some(*want),
            Test::Text(test, negate) => {
                let text = value.map(as_text).unwrap_or(Cow::Borrowed(""));
                let case_sensitive = self.source.case_sensitive;
                let folded: Cow<str> = if case_sensitive {
                    text
                } else {
                    Cow::Owned(text.to_lowercase())
                };
                let hit = match test {
                    TextTest::Equals(want) => folded == *want,
                    TextTest::Contains(want) => folded.contains(want.as_str()),
                    TextTest::StartsWith(want) => folded.starts_with(want.as_str()),
                    TextTest::EndsWith(want) => folded.ends_with(want.as_str()),
                    TextTest::Matches(re) => re.is_match(&folded),
                    TextTest::OneOf(list) => list.iter().any(|w| *w == folded),
                };
                hit != *negate
            }
            Test::Number(test) => {
                let Some(n) = value.and_then(as_number) else {
                    // A missing number satisfies only "not equals".
                    return matches!(test, NumberTest::Equals(_, true));
                };
                match test {
                    NumberTest::Equals(want, negate) => (n == *want) != *negate,
                    NumberTest::OneOf(list) => list.contains(&n),
                    NumberTest::Range(r) => in_range(r, &n),
                }
            }
            Test::Instant(r) => value
                .and_then(Value::as_str)
                .and_then(|s| s.parse::<Timestamp>().ok())
                .is_some_and(|t| in_range(r, &t)),
            Test::TimeOfDay(r) => {
                let Some(cal) = cal else { return false };
                let t = cal.time_of_day(at);
                match r {
                    Range::Between(min, max) if min > max => t >= *min || t <= *max,
                    _ => in_range(r, &t),
                }
            }
            Test::Days(days, negate) => {
                let Some(cal) = cal else { return false };
                days.contains(&cal.weekday(at)) != *negate
            }
        }
    }
}

fn in_range<T: PartialOrd>(r: &Range<T>, v: &T) -> bool {
    match r {
        Range::Greater(min) => v > min,
        Range::Less(max) => v < max,
        Range::Between(min, max) => v >= min && v <= max,
    }
}

fn is_set(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => false,
        Some(Value::String(s)) => !s.trim().is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(_) => true,
    }
}

fn as_text(v: &Value) -> Cow<'_, str> {
    match v {
        Value::String(s) => Cow::Borrowed(s),
        Value::Null => Cow::Borrowed(""),
        other => Cow::Owned(other.to_string()),
    }
}

fn as_number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn as_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}
