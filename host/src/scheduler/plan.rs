//! From a time rule to its plan: which index it sweeps and how far from an
//! item's anchor it comes due. "Idle minutes greater than 5" comes due 6 whole
//! minutes after the last activity (minutes are counted whole, as the help
//! desk shows them); "follow-up due minutes less than 30" 29 minutes before
//! the follow-up; a Task Due rule at the task's due date.

use super::kinds::{Anchor, Direction, TimeKind, Wait, MINUTE};
use super::SchedulerConfig;
use crate::conditions::{Compiled, Field};
use crate::rules::validate::CheckedRule;
use std::sync::Arc;

/// The largest minute count a threshold is searched up to (ten years).
const MAX_MINUTES: i64 = 10 * 366 * 24 * 60;

/// How one rule is scheduled.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The rule.
    pub rule: Arc<CheckedRule>,
    /// Its event type.
    pub kind: &'static TimeKind,
    /// The index it sweeps.
    pub index: &'static str,
    /// The instant of an item it counts from.
    pub anchor: Anchor,
    /// An item comes due at its anchor plus this (negative: before the anchor).
    pub offset_ms: i64,
    /// Counted in business minutes of the item's calendar (the rule says so
    /// and its threshold counts up from the anchor): the item comes due
    /// `offset_ms` of business time after its anchor, never earlier than
    /// `offset_ms` of wall time.
    pub business: bool,
}

/// Why a time rule cannot be scheduled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// The rule never says how long to wait.
    #[error("rule {rule}: a {event_type} rule needs a condition on {field} to say when it fires")]
    NoThreshold {
        /// Rule id.
        rule: String,
        /// Its event type.
        event_type: String,
        /// The field it should constrain.
        field: String,
    },
    /// No whole minute count satisfies the rule's conditions on a field.
    #[error("rule {rule}: no whole number of minutes satisfies its conditions on {field}")]
    Unsatisfiable {
        /// Rule id.
        rule: String,
        /// The field.
        field: String,
    },
}

/// The plan of `rule`, of time-driven type `kind`.
pub fn plan(
    rule: Arc<CheckedRule>,
    kind: &'static TimeKind,
    config: &SchedulerConfig,
) -> Result<Plan, PlanError> {
    for measure in kind.measures {
        let on: Vec<&Compiled> = rule
            .conditions
            .iter()
            .filter(|c| c.field == Field::Item(measure.field.to_string()))
            .collect();
        if on.is_empty() {
            continue;
        }
        let minutes = match measure.direction {
            Direction::Since => least(&on),
            Direction::Until => greatest(&on),
        };
        let Some(n) = minutes else {
            return Err(PlanError::Unsatisfiable {
                rule: rule.rule.id.clone(),
                field: measure.field.to_string(),
            });
        };
        let offset_ms = match measure.direction {
            Direction::Since => n * MINUTE,
            Direction::Until => -n * MINUTE,
        };
        let business = rule.rule.business_minutes && measure.direction == Direction::Since;
        return Ok(Plan {
            rule,
            kind,
            index: measure.index,
            anchor: measure.anchor,
            offset_ms,
            business,
        });
    }
    match kind.measures.first() {
        Some(m) if kind.needs_threshold => Err(PlanError::NoThreshold {
            rule: rule.rule.id.clone(),
            event_type: kind.event_type.to_string(),
            field: m.field.to_string(),
        }),
        _ => Ok(Plan {
            rule,
            kind,
            index: kind.index,
            anchor: kind.anchor,
            offset_ms: match kind.wait {
                Wait::None => 0,
                Wait::KbStale => config.kb_stale_after_ms,
                Wait::AgentInactive => config.agent_inactive_after_ms,
            },
            business: false,
        }),
    }
}

/// The smallest whole number every condition accepts.
fn least(conds: &[&Compiled]) -> Option<i64> {
    let mut n = 0;
    loop {
        let mut next = n;
        for c in conds {
            next = next.max(c.least_integer_from(n)?);
        }
        if next == n {
            return Some(n);
        }
        if next > MAX_MINUTES {
            return None;
        }
        n = next;
    }
}

/// The largest whole number (up to [`MAX_MINUTES`]) every condition accepts.
fn greatest(conds: &[&Compiled]) -> Option<i64> {
    let mut n = MAX_MINUTES;
    loop {
        let mut next = n;
        for c in conds {
            next = next.min(c.greatest_integer_to(n)?);
        }
        if next == n {
            return Some(n);
        }
        if next < 0 {
            return None;
        }
        n = next;
    }
}
