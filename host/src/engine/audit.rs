//! The audit trail: one chain of records per event (the event, each rule that
//! matched with the explain of its conditions, each action's gate decision,
//! each attempt with its redacted settings, outcome and duration), indexed by
//! rule, item and plugin.

use super::keys;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;

/// One record of an event's chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Sequence number (global, increasing).
    pub seq: u64,
    /// The event.
    pub event: String,
    /// When it was written (ms).
    pub at_ms: i64,
    /// What happened.
    #[serde(flatten)]
    pub entry: Entry,
}

/// What a record says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Entry {
    /// The event was accepted.
    Event {
        /// Category and event type.
        category: String,
        /// Event type.
        event_type: String,
        /// Item keys (`kind/id`).
        items: Vec<String>,
        /// Cascade depth.
        depth: u32,
    },
    /// A rule matched, with the explain of its conditions.
    Matched {
        /// Rule id.
        rule: String,
        /// Items that passed (`kind/id`).
        items: Vec<String>,
        /// Per item and condition: value, operator, expected, result.
        explain: Value,
    },
    /// The frequency gate's decision for one action.
    Gate {
        /// Rule id.
        rule: String,
        /// Action position.
        action_index: usize,
        /// Plugin id.
        plugin: String,
        /// Items concerned (`kind/id`).
        items: Vec<String>,
        /// The decision.
        decision: super::gate::Decision,
        /// The job made, when it runs.
        #[serde(skip_serializing_if = "Option::is_none")]
        job: Option<String>,
    },
    /// One attempt of a job.
    Attempt {
        /// Rule id.
        rule: String,
        /// Action position.
        action_index: usize,
        /// Plugin id.
        plugin: String,
        /// Invocation id.
        invocation: String,
        /// Attempt number.
        attempt: u32,
        /// Items (`kind/id`).
        items: Vec<String>,
        /// Rendered settings, secrets redacted.
        settings: Value,
        /// `ok`, `retry`, `dead-letter`.
        outcome: String,
        /// The plugin's summary or the failure.
        message: String,
        /// Duration of the attempt.
        duration_ms: u64,
    },
    /// Something an admin should see (a rule disabled, a cascade cut).
    Alert {
        /// Rule id, when one is concerned.
        #[serde(skip_serializing_if = "Option::is_none")]
        rule: Option<String>,
        /// What happened.
        message: String,
    },
}

impl Entry {
    fn rule(&self) -> Option<&str> {
        match self {
            Entry::Matched { rule, .. }
            | Entry::Gate { rule, .. }
            | Entry::Attempt { rule, .. } => Some(rule),
            Entry::Alert { rule, .. } => rule.as_deref(),
            Entry::Event { .. } => None,
        }
    }

    fn plugin(&self) -> Option<&str> {
        match self {
            Entry::Gate { plugin, .. } | Entry::Attempt { plugin, .. } => Some(plugin),
            _ => None,
        }
    }

    fn items(&self) -> &[String] {
        match self {
            Entry::Event { items, .. }
            | Entry::Matched { items, .. }
            | Entry::Gate { items, .. }
            | Entry::Attempt { items, .. } => items,
            Entry::Alert { .. } => &[],
        }
    }
}

/// Which records to return; every given filter must hold.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Query {
    /// Records of this event.
    pub event: Option<String>,
    /// Records about this rule.
    pub rule: Option<String>,
    /// Records about this item (`kind/id`).
    pub item: Option<String>,
    /// Records about this plugin.
    pub plugin: Option<String>,
    /// Written at or after (ms).
    pub since_ms: Option<i64>,
    /// Written before (ms).
    pub until_ms: Option<i64>,
    /// At most this many (default 1,000), oldest first.
    pub limit: Option<usize>,
}

/// Adds records to a batch: the records of one event go under one key (an
/// ingestion writes its whole chain at once), with one index entry per
/// distinct rule, plugin and item they mention.
pub fn write(batch: &mut super::writes::Writes, records: &[Record]) -> anyhow::Result<()> {
    let mut by_event: Vec<(&str, Vec<&Record>)> = Vec::new();
    for r in records {
        match by_event.iter_mut().find(|(e, _)| *e == r.event) {
            Some((_, list)) => list.push(r),
            None => by_event.push((&r.event, vec![r])),
        }
    }
    for (event, list) in by_event {
        let seq = list[0].seq;
        let key = keys::audit(event, seq);
        batch.insert(key.clone(), serde_json::to_vec(&list)?);
        let suffix = format!("{event}/{seq:016x}");
        let mut index: Vec<String> = Vec::new();
        for r in &list {
            if let Some(rule) = r.entry.rule() {
                index.push(format!("ax/r/{rule}/{suffix}"));
            }
            if let Some(plugin) = r.entry.plugin() {
                index.push(format!("ax/p/{plugin}/{suffix}"));
            }
            for item in r.entry.items() {
                index.push(format!("ax/i/{item}/{suffix}"));
            }
        }
        index.sort();
        index.dedup();
        for k in index {
            batch.insert(k.into_bytes(), key.clone());
        }
    }
    Ok(())
}

/// Runs a query: picks the narrowest index given, then filters.
pub fn query(tree: &sled::Tree, q: &Query) -> anyhow::Result<Vec<Record>> {
    let limit = q.limit.unwrap_or(1_000);
    let keys: Box<dyn Iterator<Item = anyhow::Result<Vec<u8>>>> = if let Some(e) = &q.event {
        Box::new(
            tree.scan_prefix(format!("aud/{e}/"))
                .keys()
                .map(|k| Ok(k?.to_vec())),
        )
    } else {
        let prefix = if let Some(r) = &q.rule {
            format!("ax/r/{r}/")
        } else if let Some(i) = &q.item {
            format!("ax/i/{i}/")
        } else if let Some(p) = &q.plugin {
            format!("ax/p/{p}/")
        } else {
            "aud/".to_string()
        };
        let direct = prefix == "aud/";
        Box::new(tree.scan_prefix(prefix).map(move |kv| {
            let (k, v) = kv?;
            Ok(if direct { k.to_vec() } else { v.to_vec() })
        }))
    };
    let mut out = Vec::new();
    let mut stored: HashMap<String, bool> = HashMap::new();
    for key in keys {
        let Some(bytes) = tree.get(key?)? else {
            continue;
        };
        let records: Vec<Record> = serde_json::from_slice(&bytes)?;
        // A chain whose event record is missing belongs to an ingestion
        // still storing its keys, or to one a crash cut (see `writes`):
        // neither returned success, so neither is shown.
        let Some(first) = records.first() else {
            continue;
        };
        let known = match stored.get(&first.event) {
            Some(known) => *known,
            None => {
                let known = tree.contains_key(keys::event(&first.event))?;
                stored.insert(first.event.clone(), known);
                known
            }
        };
        if !known {
            continue;
        }
        for record in records {
            let e = &record.entry;
            let keep = q.event.as_ref().is_none_or(|ev| &record.event == ev)
                && q.rule.as_ref().is_none_or(|r| e.rule() == Some(r))
                && q.plugin.as_ref().is_none_or(|p| e.plugin() == Some(p))
                && q.item.as_ref().is_none_or(|i| e.items().contains(i))
                && q.since_ms.is_none_or(|t| record.at_ms >= t)
                && q.until_ms.is_none_or(|t| record.at_ms < t);
            if keep {
                out.push(record);
            }
        }
    }
    out.sort_by_key(|r| r.seq);
    out.truncate(limit);
    Ok(out)
}
