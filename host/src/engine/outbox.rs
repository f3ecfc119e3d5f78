//! The durable outbox: a job is one invocation to run (one action of one
//! rule, with its items), stored before the event is acknowledged and
//! removed only when it succeeded or moved to the dead-letter list.

use crate::event::{Event, ItemSnapshot};
use crate::rules::RuleAction;
use serde::{Deserialize, Serialize};

/// One invocation waiting to run (or dead-lettered).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    /// Job number; the invocation id is `job-<number>` and stays the same
    /// across attempts, so plugins can use it as an idempotency key.
    pub n: u64,
    /// The event that caused it (for a coalesced job: the last one).
    pub event: String,
    /// Rule id.
    pub rule: String,
    /// Rule name, as it was when the job was made.
    pub rule_name: String,
    /// Rule owner.
    pub owner: String,
    /// Position of the action in the rule.
    pub action_index: usize,
    /// The action as it was when the job was made.
    pub action: RuleAction,
    /// The items it is given.
    pub items: Vec<ItemSnapshot>,
    /// Attempts made so far.
    pub attempts: u32,
    /// When the first attempt was due (ms); the retry horizon counts from here.
    pub first_due_ms: i64,
    /// When the next attempt is due (ms).
    pub due_ms: i64,
    /// Cascade depth of the event (0 for events from the help desk).
    pub depth: u32,
    /// Whether it delivers items suppressed during a window (coalesce).
    #[serde(default)]
    pub coalesced: bool,
    /// For a connector delivery: the command to POST (instead of a plugin run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery: Option<serde_json::Value>,
    /// The last failure, for the dead-letter list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

impl Job {
    /// The stable invocation id.
    pub fn invocation_id(&self) -> String {
        format!("job-{:016x}", self.n)
    }

    /// Ids of its items.
    pub fn item_ids(&self) -> Vec<String> {
        self.items.iter().map(|i| i.id.clone()).collect()
    }
}

/// A follow-on event owed by a finished job (an item changed by one of its
/// help-desk commands). It is written in the batch that records the job's
/// end and removed in the batch that ingests it, so a crash between the two
/// leaves it for the next start ([`super::keys::owed`]) instead of losing it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OwedEvent {
    /// The event, with its id already assigned.
    pub event: Event,
    /// Its cascade depth.
    pub depth: u32,
}

/// When to try again after `attempts` failed attempts: exponential from
/// `base`, capped, with jitter in [50%, 100%] of the delay; never sooner than
/// the plugin's retry-after.
pub fn backoff_ms(attempts: u32, base_ms: i64, cap_ms: i64, retry_after_ms: Option<u64>) -> i64 {
    let exp = base_ms.saturating_mul(1i64 << attempts.saturating_sub(1).min(30));
    let delay = exp.min(cap_ms).max(1);
    let jittered = delay / 2 + fastrand::i64(0..=delay / 2);
    jittered.max(retry_after_ms.map_or(0, |r| r as i64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_capped_and_honours_retry_after() {
        for _ in 0..100 {
            let first = backoff_ms(1, 1000, 60_000, None);
            assert!((500..=1000).contains(&first), "{first}");
            let fourth = backoff_ms(4, 1000, 60_000, None);
            assert!((4000..=8000).contains(&fourth), "{fourth}");
            let late = backoff_ms(40, 1000, 60_000, None);
            assert!((30_000..=60_000).contains(&late), "{late}");
            assert_eq!(backoff_ms(1, 1000, 60_000, Some(90_000)), 90_000);
        }
    }
}
