//! Evaluating compiled conditions for one item of an event, with the reason.
//!
//! A field's value is resolved once into a [`Probe`] (the item's JSON value,
//! the acting agent, a business-hours answer, the local time and day), so a
//! matcher that evaluates many conditions on the same fields reads each field
//! once per item. Case-insensitive text compares without allocating when both
//! sides are ASCII; otherwise the folded text is computed once per probe.

use super::compile::{Check, Compiled, Field, NumberTest, Range, Test, TextTest};
use crate::calendars::{Calendars, CompiledCalendar};
use crate::event::{Event, ItemSnapshot};
use jiff::civil::{Time, Weekday};
use jiff::Timestamp;
use serde::Serialize;
use serde_json::Value;
use std::borrow::Cow;
use std::cell::OnceCell;

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

/// A field's value for one subject, resolved once.
#[derive(Debug)]
pub struct Probe<'a> {
    value: ProbeValue<'a>,
    folded: OnceCell<String>,
}

#[derive(Debug, Clone, Copy)]
enum ProbeValue<'a> {
    Missing,
    Json(&'a Value),
    Text(&'a str),
    Bool(bool),
    Local(Time, Weekday),
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

    /// Resolves a field for this subject.
    pub fn probe(&mut self, field: &Field) -> Probe<'a> {
        let value = match field {
            Field::Item(name) => return Probe::item_field(self.item.fields.get(name)),
            Field::Agent => match &self.event.agent {
                Some(agent) => ProbeValue::Text(agent),
                None => self
                    .item
                    .fields
                    .get("agent")
                    .map_or(ProbeValue::Missing, ProbeValue::Json),
            },
            Field::TimeOfDay | Field::DayOfWeek => {
                let local = self.calendar().local(self.at);
                ProbeValue::Local(local.time(), local.weekday())
            }
            Field::OutsideBusinessHours => {
                ProbeValue::Bool(self.calendar().outside_business_hours(self.at))
            }
            Field::DuringHolidays => ProbeValue::Bool(self.calendar().is_holiday(self.at)),
        };
        Probe {
            value,
            folded: OnceCell::new(),
        }
    }
}

impl<'a> Probe<'a> {
    /// An item field's value, or `None` when the item does not have it.
    #[inline]
    pub fn item_field(value: Option<&'a Value>) -> Self {
        Probe {
            value: value.map_or(ProbeValue::Missing, ProbeValue::Json),
            folded: OnceCell::new(),
        }
    }

    /// The value as JSON, for explain (null when missing).
    pub fn to_json(&self, field: &Field) -> Value {
        match self.value {
            ProbeValue::Missing => Value::Null,
            ProbeValue::Json(v) => v.clone(),
            ProbeValue::Text(s) => Value::String(s.to_string()),
            ProbeValue::Bool(b) => Value::Bool(b),
            ProbeValue::Local(t, d) => Value::String(match field {
                Field::DayOfWeek => format!("{d:?}").to_lowercase(),
                _ => t.strftime("%H:%M").to_string(),
            }),
        }
    }

    #[inline]
    fn text(&self) -> Cow<'_, str> {
        match self.value {
            ProbeValue::Json(Value::String(s)) => Cow::Borrowed(s),
            ProbeValue::Json(Value::Null) | ProbeValue::Missing => Cow::Borrowed(""),
            ProbeValue::Json(other) => Cow::Owned(other.to_string()),
            ProbeValue::Text(s) => Cow::Borrowed(s),
            ProbeValue::Bool(b) => Cow::Borrowed(if b { "true" } else { "false" }),
            ProbeValue::Local(..) => Cow::Borrowed(""),
        }
    }

    /// The value's text lowercased, computed once: the key a matcher looks up
    /// in an equality index built from [`Compiled::index_keys`].
    pub fn index_key(&self) -> &str {
        self.folded()
    }

    /// Calls `f` with [`Probe::index_key`]; short ASCII text is lowercased
    /// into a buffer on the stack rather than allocated (the matcher looks up
    /// every event's anchor fields this way).
    pub fn with_index_key<R>(&self, f: impl FnOnce(&str) -> R) -> R {
        const SHORT: usize = 64;
        if let Some(text) = self.str().filter(|t| t.len() <= SHORT && t.is_ascii()) {
            let mut buf = [0u8; SHORT];
            let buf = &mut buf[..text.len()];
            for (to, from) in buf.iter_mut().zip(text.bytes()) {
                *to = from.to_ascii_lowercase();
            }
            // ASCII in, ASCII out.
            return f(std::str::from_utf8(buf).unwrap_or_default());
        }
        f(self.folded())
    }

    /// Lowercased text, computed once.
    fn folded(&self) -> &str {
        self.folded.get_or_init(|| self.text().to_lowercase())
    }

    /// The value when it is a string.
    #[inline]
    fn str(&self) -> Option<&str> {
        match self.value {
            ProbeValue::Json(Value::String(s)) => Some(s),
            ProbeValue::Text(s) => Some(s),
            _ => None,
        }
    }

    #[inline]
    fn is_set(&self) -> bool {
        if let Some(s) = self.str() {
            return !s.trim().is_empty();
        }
        match self.value {
            ProbeValue::Missing | ProbeValue::Json(Value::Null) => false,
            ProbeValue::Json(Value::Array(a)) => !a.is_empty(),
            _ => true,
        }
    }

    #[inline]
    fn number(&self) -> Option<f64> {
        match self.value {
            ProbeValue::Json(Value::Number(n)) => n.as_f64(),
            _ => self.str().and_then(|s| s.trim().parse().ok()),
        }
    }

    #[inline]
    fn boolean(&self) -> Option<bool> {
        match self.value {
            ProbeValue::Bool(b) => Some(b),
            ProbeValue::Json(Value::Bool(b)) => Some(*b),
            _ => match self.str() {
                Some(s) if s.eq_ignore_ascii_case("true") => Some(true),
                Some(s) if s.eq_ignore_ascii_case("false") => Some(false),
                _ => None,
            },
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
        self.test(&subject.probe(&self.field))
    }

    /// Evaluates and says why.
    pub fn explain(&self, subject: &mut Subject<'_>) -> Explained {
        let probe = subject.probe(&self.field);
        Explained {
            field: self.source.field.clone(),
            op: self.source.op.name(),
            expected: self.source.value.clone(),
            actual: probe.to_json(&self.field),
            passed: self.test(&probe),
        }
    }

    /// Lowercased values one of which the field's [`Probe::index_key`] must
    /// equal for the condition to hold; `None` when the condition is not a
    /// plain (not negated) `equals` or `one of` on non-empty text. A matcher
    /// may skip the rule when the key is none of them, and must still
    /// evaluate every condition when it is.
    pub fn index_keys(&self) -> Option<Vec<String>> {
        let wants: Vec<&String> = match &self.test {
            Test::Text(TextTest::Equals(want), false) => vec![want],
            Test::Text(TextTest::OneOf(list), false) => list.iter().collect(),
            _ => return None,
        };
        if wants.is_empty() || wants.iter().any(|w| w.is_empty()) {
            return None;
        }
        Some(wants.into_iter().map(|w| w.to_lowercase()).collect())
    }

    /// Whether the condition holds for a resolved value of its field.
    #[inline]
    pub fn test(&self, probe: &Probe<'_>) -> bool {
        test(&self.test, self.source.case_sensitive, probe)
    }

    /// The test alone, for a matcher to keep.
    pub fn check(&self) -> Check {
        Check {
            test: self.test.clone(),
            sensitive: self.source.case_sensitive,
        }
    }
}

impl Check {
    /// Whether the condition holds for a resolved value of its field.
    #[inline]
    pub fn test(&self, probe: &Probe<'_>) -> bool {
        test(&self.test, self.sensitive, probe)
    }
}

/// Whether `test` holds for `probe` (`sensitive`: text compares case-sensitively).
#[inline]
fn test(test: &Test, sensitive: bool, probe: &Probe<'_>) -> bool {
    match test {
        Test::Presence(want_set) => probe.is_set() == *want_set,
        Test::Bool(want) => probe.boolean() == Some(*want),
        Test::Text(test, negate) => test_text(test, sensitive, probe) != *negate,
        Test::Number(test) => {
            let Some(n) = probe.number() else {
                // A missing number satisfies only "not equals".
                return matches!(test, NumberTest::Equals(_, true));
            };
            match test {
                NumberTest::Equals(want, negate) => (n == *want) != *negate,
                NumberTest::OneOf(list) => list.contains(&n),
                NumberTest::Range(r) => in_range(r, &n),
            }
        }
        Test::Instant(r) => match probe.value {
            ProbeValue::Json(Value::String(s)) => {
                s.parse::<Timestamp>().is_ok_and(|t| in_range(r, &t))
            }
            _ => false,
        },
        Test::TimeOfDay(r) => match probe.value {
            ProbeValue::Local(t, _) => match r {
                Range::Between(min, max) if min > max => t >= *min || t <= *max,
                _ => in_range(r, &t),
            },
            _ => false,
        },
        Test::Days(days, negate) => match probe.value {
            ProbeValue::Local(_, day) => days.contains(&day) != *negate,
            _ => false,
        },
    }
}

#[inline]
fn test_text(test: &TextTest, sensitive: bool, probe: &Probe<'_>) -> bool {
    if let TextTest::Matches(re) = test {
        // The regex carries its own case-insensitivity.
        return re.is_match(&probe.text());
    }
    let text = probe.text();
    if sensitive || text.is_ascii() {
        // Expected values are folded already; ASCII text folds on the fly.
        return match test {
            TextTest::Equals(want) => eq(&text, want, sensitive),
            TextTest::Contains(want) => contains(&text, want, sensitive),
            // Compared as bytes: case-sensitive text may be non-ASCII, and
            // `want.len()` need not fall on one of its char boundaries.
            TextTest::StartsWith(want) => {
                let (text, want) = (text.as_bytes(), want.as_bytes());
                text.len() >= want.len() && eq_bytes(&text[..want.len()], want, sensitive)
            }
            TextTest::EndsWith(want) => {
                let (text, want) = (text.as_bytes(), want.as_bytes());
                text.len() >= want.len()
                    && eq_bytes(&text[text.len() - want.len()..], want, sensitive)
            }
            TextTest::OneOf(list) => list.iter().any(|w| eq(&text, w, sensitive)),
            TextTest::Matches(_) => false,
        };
    }
    let folded = probe.folded();
    match test {
        TextTest::Equals(want) => folded == want,
        TextTest::Contains(want) => folded.contains(want.as_str()),
        TextTest::StartsWith(want) => folded.starts_with(want.as_str()),
        TextTest::EndsWith(want) => folded.ends_with(want.as_str()),
        TextTest::OneOf(list) => list.iter().any(|w| folded == w),
        TextTest::Matches(_) => false,
    }
}

/// `text` equals `want` (already folded unless case-sensitive).
#[inline]
fn eq(text: &str, want: &str, sensitive: bool) -> bool {
    eq_bytes(text.as_bytes(), want.as_bytes(), sensitive)
}

/// Byte-wise [`eq`]: ignoring ASCII case is exact when the text is ASCII,
/// which callers check unless the comparison is case-sensitive.
#[inline]
fn eq_bytes(text: &[u8], want: &[u8], sensitive: bool) -> bool {
    if sensitive {
        text == want
    } else {
        text.eq_ignore_ascii_case(want)
    }
}

#[inline]
fn contains(text: &str, want: &str, sensitive: bool) -> bool {
    if sensitive {
        return text.contains(want);
    }
    if want.is_empty() {
        return true;
    }
    let (hay, needle) = (text.as_bytes(), want.as_bytes());
    hay.windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

fn in_range<T: PartialOrd>(r: &Range<T>, v: &T) -> bool {
    match r {
        Range::Greater(min) => v > min,
        Range::Less(max) => v < max,
        Range::Between(min, max) => v >= min && v <= max,
    }
}
