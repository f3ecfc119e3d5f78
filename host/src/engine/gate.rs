//! The frequency gate: at most one invocation per window, per (rule, action)
//! for digests and per (rule, action, item) for per-item actions. Windows
//! live in sled, so they survive restarts. A suppressed firing is recorded in
//! the audit; with `on_suppressed = "coalesce"` its items wait in the window
//! and are delivered together when the window ends.

use crate::event::ItemSnapshot;
use serde::{Deserialize, Serialize};

/// One window of one (rule, action[, item]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Window {
    /// The window is open until this instant (ms).
    pub until_ms: i64,
    /// Items suppressed while it was open, waiting for its end (coalesce).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending: Vec<ItemSnapshot>,
    /// The last event whose items are pending.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_event: Option<String>,
}

/// What the gate decided for one firing of one action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "kebab-case")]
pub enum Decision {
    /// Runs now; the window (if any) opens until `until_ms`.
    Run {
        /// End of the window just opened (absent: no frequency limit).
        #[serde(skip_serializing_if = "Option::is_none")]
        until_ms: Option<i64>,
    },
    /// Suppressed: a window is open.
    Suppressed {
        /// When the window ends.
        until_ms: i64,
        /// Whether the items wait for the window's end.
        coalesced: bool,
    },
}

/// Decides for a firing at `now_ms` given the window's stored state, and
/// returns the state to store (`None`: leave it as it is).
pub fn decide(
    state: Option<Window>,
    now_ms: i64,
    window_ms: i64,
    coalesce: bool,
    items: &[ItemSnapshot],
    event: &str,
) -> (Decision, Option<Window>) {
    match state {
        Some(mut w) if w.until_ms > now_ms => {
            if coalesce {
                for item in items {
                    w.pending
                        .retain(|p| (&p.kind, &p.id) != (&item.kind, &item.id));
                    w.pending.push(item.clone());
                }
                w.pending_event = Some(event.to_string());
            }
            let until_ms = w.until_ms;
            (
                Decision::Suppressed {
                    until_ms,
                    coalesced: coalesce,
                },
                coalesce.then_some(w),
            )
        }
        _ => {
            let until_ms = now_ms + window_ms;
            (
                Decision::Run {
                    until_ms: Some(until_ms),
                },
                Some(Window {
                    until_ms,
                    pending: Vec::new(),
                    pending_event: None,
                }),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(id: &str) -> ItemSnapshot {
        ItemSnapshot {
            kind: "ticket".into(),
            id: id.into(),
            fields: Default::default(),
        }
    }

    #[test]
    fn opens_suppresses_then_reopens() {
        let (d, w) = decide(None, 1_000, 500, false, &[item("1")], "e1");
        assert_eq!(
            d,
            Decision::Run {
                until_ms: Some(1_500)
            }
        );
        let (d, kept) = decide(w.clone(), 1_200, 500, false, &[item("1")], "e2");
        assert_eq!(
            d,
            Decision::Suppressed {
                until_ms: 1_500,
                coalesced: false
            }
        );
        assert_eq!(kept, None);
        let (d, _) = decide(w, 1_500, 500, false, &[item("1")], "e3");
        assert_eq!(
            d,
            Decision::Run {
                until_ms: Some(2_000)
            }
        );
    }

    #[test]
    fn coalesce_keeps_the_latest_snapshot_of_each_item() {
        let (_, w) = decide(None, 0, 100, true, &[item("1")], "e1");
        let (_, w) = decide(w, 10, 100, true, &[item("2"), item("3")], "e2");
        let (d, w) = decide(w, 20, 100, true, &[item("2")], "e3");
        assert_eq!(
            d,
            Decision::Suppressed {
                until_ms: 100,
                coalesced: true
            }
        );
        let w = w.unwrap();
        let ids: Vec<&str> = w.pending.iter().map(|i| i.id.as_str()).collect();
        assert_eq!(ids, ["3", "2"]);
        assert_eq!(w.pending_event.as_deref(), Some("e3"));
    }
}
