//! Count thresholds: Ticket Count for Agent / Group / Department and Live
//! Chat Count for Agent / Group / Department, edge-triggered.
//!
//! Each open item is a member of its agent's, group's and department's set:
//! `t/m/<kind>/<dimension>/<value>\0<id>`, written with the mirror like the
//! time indexes (the sets a count rule needs: see [`super::upkeep`]). A write that changes a set also marks it dirty
//! (`t/d/<kind>/<dimension>/<value>` → the item that changed it). A tick
//! counts only dirty sets, evaluates each count rule on the changed item with
//! `count` set, and fires when the rule holds and did not at the last count
//! (`t/e/<rule>/<value>` remembers that it held): a crossing upward fires
//! once; the count must drop back below before it fires again.

use super::upkeep::Kept;
use serde_json::Value;

/// A count event type.
#[derive(Debug)]
pub struct CountKind {
    /// Catalog category id.
    pub category: &'static str,
    /// Catalog event type id.
    pub event_type: &'static str,
    /// The item kind counted.
    pub item_kind: &'static str,
    /// The item field the items are grouped by.
    pub dimension: &'static str,
}

const fn count(
    category: &'static str,
    event_type: &'static str,
    item_kind: &'static str,
    dimension: &'static str,
) -> CountKind {
    CountKind {
        category,
        event_type,
        item_kind,
        dimension,
    }
}

/// Every count event type.
pub const COUNTS: &[CountKind] = &[
    count(
        "ticket",
        "ticket-count-for-agent",
        "ticket",
        "agent-assigned",
    ),
    count("ticket", "ticket-count-for-group", "ticket", "group"),
    count(
        "ticket",
        "ticket-count-for-department",
        "ticket",
        "department",
    ),
    count(
        "live-chat",
        "live-chat-count-for-agent",
        "live-chat",
        "agent-assigned",
    ),
    count(
        "live-chat",
        "live-chat-count-for-group",
        "live-chat",
        "group",
    ),
    count(
        "live-chat",
        "live-chat-count-for-department",
        "live-chat",
        "department",
    ),
];

/// Statuses of an item that no longer counts (closed tickets, ended chats).
const DONE: &[&str] = &["closed", "closed-and-locked", "ended", "deleted"];

/// The condition field a count rule's threshold is written on.
pub const FIELD: &str = "count";

/// The prefix of every set's members.
pub const MEMBERS: &str = "t/m/";

/// The prefix of a set's members (a NUL ends the value, which may hold `/`).
pub fn members(kind: &str, dimension: &str, value: &str) -> Vec<u8> {
    format!("{MEMBERS}{kind}/{dimension}/{value}\0").into_bytes()
}

/// The prefix of the dirty marks.
pub const DIRTY: &str = "t/d/";

/// A set's dirty mark.
pub fn dirty(kind: &str, dimension: &str, value: &str) -> Vec<u8> {
    format!("{DIRTY}{kind}/{dimension}/{value}").into_bytes()
}

/// Splits a dirty mark's key into kind, dimension and value.
pub fn parse_dirty(key: &[u8]) -> Option<(String, String, String)> {
    let text = std::str::from_utf8(key).ok()?.strip_prefix(DIRTY)?;
    let mut parts = text.splitn(3, '/');
    Some((
        parts.next()?.to_string(),
        parts.next()?.to_string(),
        parts.next()?.to_string(),
    ))
}

/// The key remembering that `rule` held for a set's `value`.
pub fn edge(rule: &str, value: &str) -> Vec<u8> {
    format!("t/e/{rule}/{value}").into_bytes()
}

/// The member keys of a mirrored item in the sets that are kept.
pub fn members_kept(mirror: &Value, kept: &Kept) -> Vec<Vec<u8>> {
    let (Some(kind), Some(id)) = (mirror["kind"].as_str(), mirror["id"].as_str()) else {
        return Vec::new();
    };
    sets(mirror, kept)
        .into_iter()
        .map(|(dimension, value)| {
            let mut key = members(kind, dimension, &value);
            key.extend_from_slice(id.as_bytes());
            key
        })
        .collect()
}

/// The kept sets a mirrored item belongs to: (dimension, value).
fn sets(mirror: &Value, kept: &Kept) -> Vec<(&'static str, String)> {
    let Some(kind) = mirror["kind"].as_str() else {
        return Vec::new();
    };
    let fields = &mirror["fields"];
    let status = fields["status"].as_str().unwrap_or_default();
    if DONE.iter().any(|d| d.eq_ignore_ascii_case(status)) {
        return Vec::new();
    }
    let mut out: Vec<(&'static str, String)> = Vec::new();
    for c in COUNTS
        .iter()
        .filter(|c| c.item_kind == kind && kept.counts(kind, c.dimension))
    {
        if let Some(value) = fields[c.dimension].as_str().filter(|v| !v.is_empty()) {
            let set = (c.dimension, value.to_string());
            if !out.contains(&set) {
                out.push(set);
            }
        }
    }
    out
}

/// Adds to `batch` the changes, in the `kept` sets, of a mirror going from
/// `old` to `new`, marking each changed set dirty with the item's id.
pub fn reindex(
    batch: &mut crate::engine::writes::Writes,
    old: Option<&Value>,
    new: &Value,
    kept: &Kept,
) {
    let (Some(kind), Some(id)) = (new["kind"].as_str(), new["id"].as_str()) else {
        return;
    };
    let before = old.map(|m| sets(m, kept)).unwrap_or_default();
    let after = sets(new, kept);
    let member = |(dimension, value): &(&str, String)| {
        let mut key = members(kind, dimension, value);
        key.extend_from_slice(id.as_bytes());
        key
    };
    for set in before.iter().filter(|s| !after.contains(s)) {
        batch.remove(member(set));
        batch.insert(dirty(kind, set.0, &set.1), id.as_bytes());
    }
    for set in after.iter().filter(|s| !before.contains(s)) {
        batch.insert(member(set), Vec::new());
        batch.insert(dirty(kind, set.0, &set.1), id.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::catalog;
    use serde_json::json;

    #[test]
    fn every_count_kind_is_a_time_based_event_type_with_a_count_and_its_dimension() {
        for c in COUNTS {
            let category = catalog().category(c.category).expect(c.category);
            assert_eq!(category.item.name(), c.item_kind, "{}", c.event_type);
            let t = category.event_type(c.event_type).expect(c.event_type);
            assert!(t.time_based, "{}", c.event_type);
            assert!(t.condition(FIELD).is_some(), "{}", c.event_type);
            assert!(t.condition(c.dimension).is_some(), "{}", c.event_type);
        }
    }

    #[test]
    fn a_transfer_moves_the_ticket_between_sets_and_marks_both() {
        let old = json!({"kind": "ticket", "id": "9",
            "fields": {"agent-assigned": "ann", "status": "active"}});
        let new = json!({"kind": "ticket", "id": "9",
            "fields": {"agent-assigned": "bob", "status": "active"}});
        let db = sled::Config::new().temporary(true).open().unwrap();
        let mut batch = crate::engine::writes::Writes::default();
        reindex(&mut batch, None, &old, &Kept::all());
        db.apply_batch(batch.into_batch()).unwrap();
        let mut batch = crate::engine::writes::Writes::default();
        reindex(&mut batch, Some(&old), &new, &Kept::all());
        db.apply_batch(batch.into_batch()).unwrap();
        assert_eq!(
            db.scan_prefix(members("ticket", "agent-assigned", "ann"))
                .count(),
            0
        );
        assert_eq!(
            db.scan_prefix(members("ticket", "agent-assigned", "bob"))
                .count(),
            1
        );
        assert_eq!(db.scan_prefix(DIRTY).count(), 2);
        assert_eq!(
            parse_dirty(&dirty("ticket", "group", "tier 1/emea")),
            Some(("ticket".into(), "group".into(), "tier 1/emea".into()))
        );
    }

    #[test]
    fn a_closed_ticket_leaves_its_sets() {
        let open = json!({"kind": "ticket", "id": "9", "fields": {"group": "g"}});
        let closed =
            json!({"kind": "ticket", "id": "9", "fields": {"group": "g", "status": "closed"}});
        let mut batch = crate::engine::writes::Writes::default();
        reindex(&mut batch, Some(&open), &closed, &Kept::all());
        let db = sled::Config::new().temporary(true).open().unwrap();
        let mut key = members("ticket", "group", "g");
        key.push(b'9');
        db.insert(key, vec![]).unwrap();
        db.apply_batch(batch.into_batch()).unwrap();
        assert_eq!(db.scan_prefix(members("ticket", "group", "g")).count(), 0);
    }
}
