//! Conditions: a field, an operator and a value, typed by the catalog.
//!
//! - [`Condition`] is the stored form, as rules write it.
//! - [`compile`](compile::compile) checks it against the field's [`ValueKind`]
//!   and builds a [`Compiled`] condition once, when the rule is saved (regexes
//!   compiled, texts folded, ranges parsed).
//! - [`eval`] evaluates a compiled condition for one item of an event, and
//!   says why ([`Explained`]).

mod bounds;
pub mod compile;
pub mod eval;

pub use compile::{compile, Check, Compiled, Field};
pub use eval::{Explained, Probe, Subject};

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A stored condition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// Catalog condition id (`priority`, `time-of-day`) or a custom field `cf.<name>`.
    pub field: String,
    /// How to compare.
    pub op: Operator,
    /// What to compare with: a single value; a list for `one-of`; `[min, max]`
    /// for `between`; absent for `is-true`, `is-false`, `is-empty`, `is-set`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    /// Text comparisons are case-insensitive unless this is true.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub case_sensitive: bool,
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Operator {
    /// Equal.
    Equals,
    /// Not equal.
    NotEquals,
    /// Text contains.
    Contains,
    /// Text does not contain.
    NotContains,
    /// Text starts with.
    StartsWith,
    /// Text ends with.
    EndsWith,
    /// Text matches a regular expression.
    Matches,
    /// Equal to one of a list.
    OneOf,
    /// Greater than (after, for times).
    Greater,
    /// Less than (before, for times).
    Less,
    /// Between two values, inclusive; time-of-day ranges may wrap midnight.
    Between,
    /// Boolean true.
    IsTrue,
    /// Boolean false.
    IsFalse,
    /// Missing, null or empty text.
    IsEmpty,
    /// Present and not empty.
    IsSet,
}

impl Operator {
    /// Every operator.
    pub const ALL: [Operator; 15] = [
        Operator::Equals,
        Operator::NotEquals,
        Operator::Contains,
        Operator::NotContains,
        Operator::StartsWith,
        Operator::EndsWith,
        Operator::Matches,
        Operator::OneOf,
        Operator::Greater,
        Operator::Less,
        Operator::Between,
        Operator::IsTrue,
        Operator::IsFalse,
        Operator::IsEmpty,
        Operator::IsSet,
    ];

    /// As written in rules.
    pub fn name(self) -> &'static str {
        match self {
            Operator::Equals => "equals",
            Operator::NotEquals => "not-equals",
            Operator::Contains => "contains",
            Operator::NotContains => "not-contains",
            Operator::StartsWith => "starts-with",
            Operator::EndsWith => "ends-with",
            Operator::Matches => "matches",
            Operator::OneOf => "one-of",
            Operator::Greater => "greater",
            Operator::Less => "less",
            Operator::Between => "between",
            Operator::IsTrue => "is-true",
            Operator::IsFalse => "is-false",
            Operator::IsEmpty => "is-empty",
            Operator::IsSet => "is-set",
        }
    }
}

/// How a field's values compare; the catalog's value types map onto these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValueKind {
    /// Free text (also names: agent, department, group, brand, custom fields).
    Text,
    /// Text from a fixed list (status, priority...); values are checked against it.
    Enum(Vec<String>),
    /// A number (minutes and counts too).
    Number,
    /// True or false.
    Boolean,
    /// An instant, RFC 3339.
    DateTime,
    /// Local time of day of the event, in the item's calendar.
    TimeOfDay,
    /// Local day of the week of the event, in the item's calendar.
    DayOfWeek,
}

impl ValueKind {
    /// Operators that apply to this kind.
    pub fn operators(&self) -> &'static [Operator] {
        use Operator::*;
        match self {
            ValueKind::Text => &[
                Equals,
                NotEquals,
                Contains,
                NotContains,
                StartsWith,
                EndsWith,
                Matches,
                OneOf,
                IsEmpty,
                IsSet,
            ],
            ValueKind::Enum(_) => &[Equals, NotEquals, OneOf, IsEmpty, IsSet],
            ValueKind::Number => &[
                Equals, NotEquals, Greater, Less, Between, OneOf, IsEmpty, IsSet,
            ],
            ValueKind::Boolean => &[IsTrue, IsFalse],
            ValueKind::DateTime => &[Greater, Less, Between, IsEmpty, IsSet],
            ValueKind::TimeOfDay => &[Greater, Less, Between],
            ValueKind::DayOfWeek => &[Equals, NotEquals, OneOf],
        }
    }

    /// A short name for errors.
    pub fn name(&self) -> &'static str {
        match self {
            ValueKind::Text => "text",
            ValueKind::Enum(_) => "choice",
            ValueKind::Number => "number",
            ValueKind::Boolean => "boolean",
            ValueKind::DateTime => "date-time",
            ValueKind::TimeOfDay => "time of day",
            ValueKind::DayOfWeek => "day of week",
        }
    }
}

#[cfg(test)]
mod tests;
