//! The time-driven event types the scheduler fires, and how each one measures
//! time: from which instant of the item (its anchor) and into which computed
//! minute fields.

use serde_json::Value;

/// Where an item's anchor instant comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    /// The item's `last-activity` field, else when the mirror last changed.
    LastActivity,
    /// An instant field of the item (RFC 3339, or milliseconds since the epoch).
    Field(&'static str),
}

/// Which way a computed minute field runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Minutes since the anchor (idle minutes, past-due minutes): counts up.
    Since,
    /// Minutes left until the anchor (minutes before due): counts down.
    Until,
}

/// A computed minute field of a time-driven event type.
#[derive(Debug, Clone, Copy)]
pub struct Measure {
    /// The catalog condition id the value is given as (`idle-minutes`).
    pub field: &'static str,
    /// Which way it runs.
    pub direction: Direction,
    /// The instant it counts from.
    pub anchor: Anchor,
    /// The index its items are kept in, by that instant.
    pub index: &'static str,
}

impl Anchor {
    /// The instant of a mirrored item (`{"fields": .., "updated_ms": ..}`), in
    /// ms; `None` when the item has no such instant (it is then not indexed).
    pub fn ms(self, mirror: &Value) -> Option<i64> {
        let fields = &mirror["fields"];
        match self {
            Anchor::LastActivity => {
                instant(&fields["last-activity"]).or_else(|| mirror["updated_ms"].as_i64())
            }
            Anchor::Field(name) => instant(&fields[name]),
        }
    }
}

/// A time-driven event type the scheduler fires.
#[derive(Debug)]
pub struct TimeKind {
    /// Catalog category id.
    pub category: &'static str,
    /// Catalog event type id.
    pub event_type: &'static str,
    /// The item kind it is about.
    pub item_kind: &'static str,
    /// The index a rule that constrains no measure sweeps.
    pub index: &'static str,
    /// The instant such a rule comes due at.
    pub anchor: Anchor,
    /// The minute fields it computes; the first one a rule's conditions
    /// constrain sets the rule's threshold, instant and index.
    pub measures: &'static [Measure],
    /// Whether a rule must constrain a measure (an idle rule without idle
    /// minutes would fire on every activity); otherwise it fires at the
    /// anchor plus `wait`.
    pub needs_threshold: bool,
    /// For a type whose conditions say nothing of time: how long after the
    /// anchor it fires, from the scheduler's settings.
    pub wait: Wait,
}

/// How long after its anchor a type without minute conditions fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// At the anchor (a due date).
    None,
    /// `SchedulerConfig::kb_stale_after_ms`.
    KbStale,
    /// `SchedulerConfig::agent_inactive_after_ms`.
    AgentInactive,
}

const IDLE: &[Measure] = &[Measure {
    field: "idle-minutes",
    direction: Direction::Since,
    anchor: Anchor::LastActivity,
    index: "idle",
}];

/// Every time-driven event type the scheduler handles.
pub const KINDS: &[TimeKind] = &[
    TimeKind {
        category: "ticket",
        event_type: "ticket-idle",
        item_kind: "ticket",
        index: "idle",
        anchor: Anchor::LastActivity,
        measures: IDLE,
        needs_threshold: true,
        wait: Wait::None,
    },
    TimeKind {
        category: "ticket",
        event_type: "ticket-duration",
        item_kind: "ticket",
        index: "created",
        anchor: Anchor::Field("created"),
        measures: &[Measure {
            field: "duration-minutes",
            direction: Direction::Since,
            anchor: Anchor::Field("created"),
            index: "created",
        }],
        needs_threshold: true,
        wait: Wait::None,
    },
    TimeKind {
        category: "ticket",
        event_type: "ticket-follow-up-due",
        item_kind: "ticket",
        index: "follow-up",
        anchor: Anchor::Field("follow-up-due"),
        measures: &[
            Measure {
                field: "follow-up-due-minutes",
                direction: Direction::Until,
                anchor: Anchor::Field("follow-up-due"),
                index: "follow-up",
            },
            Measure {
                field: "follow-up-past-due-minutes",
                direction: Direction::Since,
                anchor: Anchor::Field("follow-up-due"),
                index: "follow-up",
            },
        ],
        needs_threshold: false,
        wait: Wait::None,
    },
    TimeKind {
        category: "task",
        event_type: "task-due",
        item_kind: "task",
        index: "due",
        anchor: Anchor::Field("due-date"),
        measures: &[],
        needs_threshold: false,
        wait: Wait::None,
    },
    TimeKind {
        category: "live-chat",
        event_type: "live-chat-idle",
        item_kind: "live-chat",
        index: "idle",
        anchor: Anchor::LastActivity,
        measures: IDLE,
        needs_threshold: true,
        wait: Wait::None,
    },
    TimeKind {
        category: "whos-on",
        event_type: "online-activity",
        item_kind: "visitor",
        index: "idle",
        anchor: Anchor::LastActivity,
        measures: &[
            IDLE[0],
            Measure {
                field: "duration-minutes",
                direction: Direction::Since,
                anchor: Anchor::Field("session-start-time"),
                index: "session",
            },
        ],
        needs_threshold: true,
        wait: Wait::None,
    },
    TimeKind {
        category: "knowledge-base",
        event_type: "kb-article-stale",
        item_kind: "kb-article",
        index: "changed",
        anchor: Anchor::LastActivity,
        measures: &[],
        needs_threshold: false,
        wait: Wait::KbStale,
    },
    TimeKind {
        category: "active-group",
        event_type: "agent-auto-inactive",
        item_kind: "agent",
        index: "idle",
        anchor: Anchor::LastActivity,
        measures: &[],
        needs_threshold: false,
        wait: Wait::AgentInactive,
    },
];

/// The time-driven event type of a category and event type, if the scheduler handles it.
pub fn kind(category: &str, event_type: &str) -> Option<&'static TimeKind> {
    KINDS
        .iter()
        .find(|k| k.category == category && k.event_type == event_type)
}

impl TimeKind {
    /// The anchor instant of a mirrored item for a rule that constrains no measure.
    pub fn anchor_ms(&self, mirror: &Value) -> Option<i64> {
        self.anchor.ms(mirror)
    }

    /// Every (index, instant) its items are kept by.
    pub fn indexes(&self) -> Vec<(&'static str, Anchor)> {
        let mut out = vec![(self.index, self.anchor)];
        for m in self.measures {
            if !out.contains(&(m.index, m.anchor)) {
                out.push((m.index, m.anchor));
            }
        }
        out
    }

    /// The computed minute fields of a mirrored item at instant `at_ms`
    /// (a measure whose instant the item lacks is left out).
    pub fn minutes_at(&self, mirror: &Value, at_ms: i64) -> Vec<(&'static str, i64)> {
        self.measures
            .iter()
            .filter_map(|m| {
                let anchor_ms = m.anchor.ms(mirror)?;
                let value = match m.direction {
                    Direction::Since => (at_ms - anchor_ms).div_euclid(MINUTE),
                    // Rounded up: a minute not fully left still counts as left.
                    Direction::Until => -(at_ms - anchor_ms).div_euclid(MINUTE),
                };
                Some((m.field, value.max(0)))
            })
            .collect()
    }
}

/// One minute in milliseconds.
pub const MINUTE: i64 = 60_000;

/// An instant field: RFC 3339 text or milliseconds since the epoch.
pub fn instant(value: &Value) -> Option<i64> {
    match value {
        Value::String(s) => s
            .parse::<jiff::Timestamp>()
            .ok()
            .map(|t| t.as_millisecond()),
        Value::Number(n) => n.as_i64(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::catalog;
    use serde_json::json;

    #[test]
    fn every_kind_is_a_time_based_event_type_of_the_catalog_with_its_fields() {
        for k in KINDS {
            let category = catalog().category(k.category).expect(k.category);
            assert_eq!(category.item.name(), k.item_kind, "{}", k.event_type);
            let t = category.event_type(k.event_type).expect(k.event_type);
            assert!(t.time_based, "{} is not marked timed", k.event_type);
            for m in k.measures {
                assert!(k.indexes().contains(&(m.index, m.anchor)));
                assert!(
                    t.condition(m.field).is_some(),
                    "{} has no condition {}",
                    k.event_type,
                    m.field
                );
            }
        }
    }

    #[test]
    fn last_activity_falls_back_to_the_mirror_update() {
        let k = kind("ticket", "ticket-idle").unwrap();
        let m = json!({"fields": {}, "updated_ms": 42});
        assert_eq!(k.anchor_ms(&m), Some(42));
        let m = json!({"fields": {"last-activity": "1970-01-01T00:00:01Z"}, "updated_ms": 42});
        assert_eq!(k.anchor_ms(&m), Some(1_000));
    }

    #[test]
    fn minutes_count_whole_minutes_up_and_round_minutes_left_up() {
        let k = kind("ticket", "ticket-follow-up-due").unwrap();
        let due = 100 * MINUTE;
        let mirror = json!({"fields": {"follow-up-due": due}});
        assert_eq!(
            k.minutes_at(&mirror, due - 30 * MINUTE),
            [
                ("follow-up-due-minutes", 30),
                ("follow-up-past-due-minutes", 0)
            ]
        );
        assert_eq!(
            k.minutes_at(&mirror, due - 29 * MINUTE - 1),
            [
                ("follow-up-due-minutes", 30),
                ("follow-up-past-due-minutes", 0)
            ]
        );
        assert_eq!(
            k.minutes_at(&mirror, due + 5 * MINUTE + 1),
            [
                ("follow-up-due-minutes", 0),
                ("follow-up-past-due-minutes", 5)
            ]
        );
    }
}
