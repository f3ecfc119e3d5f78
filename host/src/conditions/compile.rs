//! Checking a condition against its field's kind and compiling it once.

use super::{Condition, Operator, ValueKind};
use crate::calendars::parse_time;
use jiff::civil::{Time, Weekday};
use jiff::Timestamp;
use regex::{Regex, RegexBuilder};
use serde_json::Value;

/// Longest regular expression accepted, in characters.
pub const MAX_REGEX_LEN: usize = 1_000;
/// Compiled size limit of a regular expression, bytes.
pub const REGEX_SIZE_LIMIT: usize = 256 * 1024;

/// Where a condition's field value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    /// A field of the item (`priority`), or a custom field (`cf.<name>`).
    Item(String),
    /// The agent who caused the event, else the item's `agent` field.
    Agent,
    /// The event's local time of day.
    TimeOfDay,
    /// The event's local day of the week.
    DayOfWeek,
    /// Whether the event happened outside business hours (holidays included).
    OutsideBusinessHours,
    /// Whether the event happened on a holiday.
    DuringHolidays,
}

/// The test of a compiled condition without its stored form: what a matcher
/// keeps per distinct condition (a third of a [`Compiled`]'s size, so the
/// conditions of an event type sit close together in memory).
#[derive(Debug, Clone)]
pub struct Check {
    pub(super) test: Test,
    /// Whether text compares case-sensitively.
    pub(super) sensitive: bool,
}

/// A compiled condition.
#[derive(Debug, Clone)]
pub struct Compiled {
    /// The stored form, kept for explain.
    pub source: Condition,
    /// Where the value comes from.
    pub field: Field,
    pub(super) test: Test,
}

#[derive(Debug, Clone)]
pub(super) enum Test {
    Text(TextTest, bool),
    Number(NumberTest),
    Bool(bool),
    Presence(bool),
    Instant(Range<Timestamp>),
    TimeOfDay(Range<Time>),
    Days(Vec<Weekday>, bool),
}

#[derive(Debug, Clone)]
pub(super) enum TextTest {
    Equals(String),
    Contains(String),
    StartsWith(String),
    EndsWith(String),
    Matches(Regex),
    OneOf(Vec<String>),
}

#[derive(Debug, Clone)]
pub(super) enum NumberTest {
    Equals(f64, bool),
    OneOf(Vec<f64>),
    Range(Range<f64>),
}

#[derive(Debug, Clone)]
pub(super) enum Range<T> {
    Greater(T),
    Less(T),
    Between(T, T),
}

/// Compiles `cond` for a field of `kind`. The error text names what is wrong
/// and what is accepted; callers prefix it with the condition's path.
pub fn compile(
    cond: &Condition,
    field: Field,
    kind: &ValueKind,
) -> Result<Compiled, (String, String)> {
    let op = cond.op;
    if !kind.operators().contains(&op) {
        let ops: Vec<&str> = kind.operators().iter().map(|o| o.name()).collect();
        return Err((
            "op".into(),
            format!(
                "`{}` does not apply to a {} field; use one of: {}",
                op.name(),
                kind.name(),
                ops.join(", ")
            ),
        ));
    }
    let value = cond.value.as_ref();
    let needs_value = !matches!(
        op,
        Operator::IsTrue | Operator::IsFalse | Operator::IsEmpty | Operator::IsSet
    );
    if needs_value && value.is_none() {
        return Err((
            "value".into(),
            format!("is missing; `{}` needs a value", op.name()),
        ));
    }
    if !needs_value && value.is_some() {
        return Err((
            "value".into(),
            format!("must be absent for `{}`", op.name()),
        ));
    }
    let fold = |s: &str| {
        if cond.case_sensitive {
            s.to_string()
        } else {
            s.to_lowercase()
        }
    };
    let test = match (op, kind) {
        (Operator::IsTrue, _) => Test::Bool(true),
        (Operator::IsFalse, _) => Test::Bool(false),
        (Operator::IsEmpty, _) => Test::Presence(false),
        (Operator::IsSet, _) => Test::Presence(true),
        (_, ValueKind::Text) | (_, ValueKind::Enum(_)) => {
            let allowed = match kind {
                ValueKind::Enum(list) => Some(list),
                _ => None,
            };
            let check = |v: &Value| -> Result<String, (String, String)> {
                let text = text_value(v)?;
                if let Some(list) = allowed {
                    if !list.iter().any(|a| a.eq_ignore_ascii_case(&text)) {
                        return Err((
                            "value".into(),
                            format!("{text:?} is not one of: {}", list.join(", ")),
                        ));
                    }
                }
                Ok(text)
            };
            let negate = matches!(op, Operator::NotEquals | Operator::NotContains);
            let t = match op {
                Operator::Equals | Operator::NotEquals => {
                    TextTest::Equals(fold(&check(value.unwrap_or(&Value::Null))?))
                }
                Operator::Contains | Operator::NotContains => {
                    TextTest::Contains(fold(&check(value.unwrap_or(&Value::Null))?))
                }
                Operator::StartsWith => {
                    TextTest::StartsWith(fold(&check(value.unwrap_or(&Value::Null))?))
                }
                Operator::EndsWith => {
                    TextTest::EndsWith(fold(&check(value.unwrap_or(&Value::Null))?))
                }
                Operator::Matches => TextTest::Matches(regex(value, cond.case_sensitive)?),
                Operator::OneOf => TextTest::OneOf(
                    list(value)?
                        .iter()
                        .map(|v| check(v).map(|t| fold(&t)))
                        .collect::<Result<_, _>>()?,
                ),
                _ => unreachable_op(op)?,
            };
            Test::Text(t, negate)
        }
        (_, ValueKind::Number) => Test::Number(match op {
            Operator::Equals => NumberTest::Equals(number(value)?, false),
            Operator::NotEquals => NumberTest::Equals(number(value)?, true),
            Operator::OneOf => NumberTest::OneOf(
                list(value)?
                    .iter()
                    .map(|v| number(Some(v)))
                    .collect::<Result<_, _>>()?,
            ),
            _ => NumberTest::Range(range(op, value, |v| number(Some(v)), false)?),
        }),
        (_, ValueKind::DateTime) => Test::Instant(range(op, value, instant, false)?),
        (_, ValueKind::TimeOfDay) => Test::TimeOfDay(range(op, value, time_of_day, true)?),
        (_, ValueKind::DayOfWeek) => {
            let days = match op {
                Operator::OneOf => list(value)?.iter().map(weekday).collect::<Result<_, _>>()?,
                _ => vec![weekday(value.unwrap_or(&Value::Null))?],
            };
            Test::Days(days, op == Operator::NotEquals)
        }
        (_, ValueKind::Boolean) => unreachable_op(op)?,
    };
    Ok(Compiled {
        source: cond.clone(),
        field,
        test,
    })
}

fn unreachable_op<T>(op: Operator) -> Result<T, (String, String)> {
    Err((
        "op".into(),
        format!("`{}` is not supported here", op.name()),
    ))
}

fn text_value(v: &Value) -> Result<String, (String, String)> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        other => Err(("value".into(), format!("{other} is not text"))),
    }
}

fn list(value: Option<&Value>) -> Result<&Vec<Value>, (String, String)> {
    match value {
        Some(Value::Array(items)) if !items.is_empty() => Ok(items),
        _ => Err((
            "value".into(),
            "must be a non-empty list for `one-of`".into(),
        )),
    }
}

/// The largest magnitude a number in a condition may have: every whole number
/// up to it is exact in `f64`, so the scheduler's whole-minute arithmetic on
/// thresholds ([`Compiled::least_integer_from`]) stays exact and cannot overflow.
pub const MAX_NUMBER: f64 = 9_007_199_254_740_991.0;

fn number(value: Option<&Value>) -> Result<f64, (String, String)> {
    let n: f64 = match value {
        Some(Value::Number(n)) => n
            .as_f64()
            .ok_or_else(|| ("value".to_string(), format!("{n} is out of range")))?,
        // Rust's float parser also takes `NaN` and `inf`, which no field holds.
        Some(Value::String(s)) => s
            .trim()
            .parse()
            .map_err(|_| ("value".to_string(), format!("{s:?} is not a number")))?,
        Some(other) => return Err(("value".into(), format!("{other} is not a number"))),
        None => return Err(("value".into(), "is missing".into())),
    };
    if !n.is_finite() || n.abs() > MAX_NUMBER {
        return Err((
            "value".into(),
            format!(
                "{} is out of range; use a finite number between -{MAX_NUMBER} and {MAX_NUMBER}",
                value.map_or_else(String::new, Value::to_string)
            ),
        ));
    }
    Ok(n)
}

fn instant(v: &Value) -> Result<Timestamp, (String, String)> {
    v.as_str().and_then(|s| s.parse().ok()).ok_or_else(|| {
        (
            "value".into(),
            format!("{v} is not an RFC 3339 date-time such as 2026-11-28T09:00:00Z"),
        )
    })
}

fn time_of_day(v: &Value) -> Result<Time, (String, String)> {
    v.as_str().and_then(parse_time).ok_or_else(|| {
        (
            "value".into(),
            format!("{v} is not a time of day such as \"09:30\""),
        )
    })
}

fn weekday(v: &Value) -> Result<Weekday, (String, String)> {
    let name = v.as_str().unwrap_or("").to_ascii_lowercase();
    let day = match name.as_str() {
        "monday" | "mon" => Weekday::Monday,
        "tuesday" | "tue" => Weekday::Tuesday,
        "wednesday" | "wed" => Weekday::Wednesday,
        "thursday" | "thu" => Weekday::Thursday,
        "friday" | "fri" => Weekday::Friday,
        "saturday" | "sat" => Weekday::Saturday,
        "sunday" | "sun" => Weekday::Sunday,
        _ => {
            return Err((
                "value".into(),
                format!("{v} is not a day; use monday ... sunday"),
            ))
        }
    };
    Ok(day)
}

fn regex(value: Option<&Value>, case_sensitive: bool) -> Result<Regex, (String, String)> {
    let pattern = value.and_then(Value::as_str).ok_or_else(|| {
        (
            "value".into(),
            "must be a regular expression as text".into(),
        )
    })?;
    if pattern.chars().count() > MAX_REGEX_LEN {
        return Err((
            "value".into(),
            format!("the regular expression is longer than {MAX_REGEX_LEN} characters"),
        ));
    }
    RegexBuilder::new(pattern)
        .case_insensitive(!case_sensitive)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| {
            (
                "value".into(),
                format!("{pattern:?} is not a valid regular expression: {e}"),
            )
        })
}

/// Greater/less take one value; between takes `[min, max]` with min ≤ max,
/// except time of day, where min > max means the range wraps midnight.
fn range<T: PartialOrd>(
    op: Operator,
    value: Option<&Value>,
    parse: impl Fn(&Value) -> Result<T, (String, String)>,
    may_wrap: bool,
) -> Result<Range<T>, (String, String)> {
    let value = value.ok_or_else(|| ("value".to_string(), "is missing".to_string()))?;
    match op {
        Operator::Greater => Ok(Range::Greater(parse(value)?)),
        Operator::Less => Ok(Range::Less(parse(value)?)),
        Operator::Between => {
            let Value::Array(pair) = value else {
                return Err(("value".into(), "must be [min, max] for `between`".into()));
            };
            let [min, max] = pair.as_slice() else {
                return Err((
                    "value".into(),
                    format!(
                        "must be [min, max] for `between`; it has {} element(s)",
                        pair.len()
                    ),
                ));
            };
            let (min, max) = (parse(min)?, parse(max)?);
            if !may_wrap && min > max {
                return Err((
                    "value".into(),
                    "min is greater than max in `between`; write [min, max]".into(),
                ));
            }
            Ok(Range::Between(min, max))
        }
        Operator::Equals => Ok(Range::Between(parse(value)?, parse(value)?)),
        other => unreachable_op(other),
    }
}
