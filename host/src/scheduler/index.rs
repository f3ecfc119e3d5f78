//! The ordered time indexes, kept in the engine's tree next to the item
//! mirror and written with it (those a rule needs: see [`super::upkeep`]).
//!
//! | key | value |
//! |---|---|
//! | `t/i/<index>/<kind>/<anchor ms, 8 bytes big-endian>/<id>` | empty |
//! | `t/c/<rule>` | the rule's cursor: the last index key it has swept |
//! | `t/f/<rule>/<entry>` | an entry a rule fired out of cursor order (past its cursor, or late) |
//! | `t/n/<entry>` | an entry written since the last tick (to find late ones) |
//!
//! An entry sorts by its anchor instant, so "every ticket idle since before
//! 10:05" is one range scan. Writers that race (an event and a command on the
//! same item) may each leave the entry of what they wrote; the mirror decides,
//! and the scheduler drops an entry whose anchor the mirror no longer has.

use super::kinds::KINDS;
use super::upkeep::Kept;
use serde_json::Value;

/// The prefix of one index for one item kind.
pub fn prefix(index: &str, kind: &str) -> Vec<u8> {
    format!("t/i/{index}/{kind}/").into_bytes()
}

/// The first key of `prefix` at or after `anchor_ms`.
pub fn at(prefix: &[u8], anchor_ms: i64) -> Vec<u8> {
    let mut key = prefix.to_vec();
    key.extend_from_slice(&(anchor_ms.max(0) as u64).to_be_bytes());
    key
}

/// A key after every entry of `prefix` anchored at `anchor_ms` (ids never hold 0xff).
pub fn after(prefix: &[u8], anchor_ms: i64) -> Vec<u8> {
    let mut key = at(prefix, anchor_ms);
    key.push(0xff);
    key
}

/// An entry's key.
pub fn entry(index: &str, kind: &str, anchor_ms: i64, id: &str) -> Vec<u8> {
    let mut key = at(&prefix(index, kind), anchor_ms);
    key.push(b'/');
    key.extend_from_slice(id.as_bytes());
    key
}

/// An entry's anchor and item id, from its key under `prefix`.
pub fn parse(prefix: &[u8], key: &[u8]) -> Option<(i64, String)> {
    let rest = key.strip_prefix(prefix)?;
    let (anchor, id) = (rest.get(..8)?, rest.get(9..)?);
    let anchor = u64::from_be_bytes(anchor.try_into().ok()?) as i64;
    Some((anchor, String::from_utf8(id.to_vec()).ok()?))
}

/// A rule's cursor key.
pub fn cursor(rule: &str) -> Vec<u8> {
    format!("t/c/{rule}").into_bytes()
}

/// The mark of an entry a business-minutes rule fired past its cursor.
pub fn mark(rule: &str, entry: &[u8]) -> Vec<u8> {
    let mut key = format!("t/f/{rule}/").into_bytes();
    key.extend_from_slice(entry);
    key
}

/// The index entries of a mirrored item (`{"kind", "id", "fields", "updated_ms"}`)
/// in every index.
pub fn entries(mirror: &Value) -> Vec<Vec<u8>> {
    entries_where(mirror, |_, _| true)
}

/// The entries of a mirrored item in the indexes that are kept.
pub fn entries_kept(mirror: &Value, kept: &Kept) -> Vec<Vec<u8>> {
    entries_where(mirror, |index, kind| kept.index(index, kind))
}

/// The entries of a mirrored item in the indexes `keep(index, kind)` selects.
fn entries_where(mirror: &Value, keep: impl Fn(&str, &str) -> bool) -> Vec<Vec<u8>> {
    let (Some(kind), Some(id)) = (mirror["kind"].as_str(), mirror["id"].as_str()) else {
        return Vec::new();
    };
    let mut keys: Vec<Vec<u8>> = Vec::new();
    for k in KINDS.iter().filter(|k| k.item_kind == kind) {
        for (index, anchor) in k.indexes() {
            if !keep(index, kind) {
                continue;
            }
            if let Some(ms) = anchor.ms(mirror) {
                let key = entry(index, kind, ms, id);
                if !keys.contains(&key) {
                    keys.push(key);
                }
            }
        }
    }
    keys
}

/// The prefix of the entries written since the last tick.
pub const FRESH: &[u8] = b"t/n/";

/// The key noting that `entry` was written since the last tick.
pub fn fresh(entry: &[u8]) -> Vec<u8> {
    let mut key = FRESH.to_vec();
    key.extend_from_slice(entry);
    key
}

/// Adds to `batch` the changes, in the `kept` indexes, of a mirror going
/// from `old` to `new`; an entry that is new is also noted as fresh.
pub fn reindex(
    batch: &mut crate::engine::writes::Writes,
    old: Option<&Value>,
    new: &Value,
    kept: &Kept,
) {
    let before = old.map(|m| entries_kept(m, kept)).unwrap_or_default();
    let after = entries_kept(new, kept);
    for key in before.iter().filter(|k| !after.contains(k)) {
        batch.remove(key.clone());
    }
    for key in after {
        if !before.contains(&key) {
            batch.insert(fresh(&key), Vec::new());
        }
        batch.insert(key, Vec::new());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn entries_sort_by_anchor_and_parse_back() {
        let (early, late) = (
            entry("idle", "ticket", 5_000, "zz"),
            entry("idle", "ticket", 70_000, "aa"),
        );
        assert!(early < late);
        let p = prefix("idle", "ticket");
        assert_eq!(parse(&p, &late), Some((70_000, "aa".to_string())));
        assert!(after(&p, 5_000) > early && after(&p, 5_000) < late);
    }

    #[test]
    fn a_ticket_is_indexed_by_activity_creation_and_follow_up() {
        let m = json!({"kind": "ticket", "id": "7", "updated_ms": 1_000,
            "fields": {"created": 500, "follow-up-due": "1970-01-01T00:01:00Z"}});
        let keys = entries(&m);
        assert_eq!(keys.len(), 3);
        assert!(keys.contains(&entry("idle", "ticket", 1_000, "7")));
        assert!(keys.contains(&entry("follow-up", "ticket", 60_000, "7")));
    }

    #[test]
    fn new_activity_moves_the_entry() {
        let old = json!({"kind": "ticket", "id": "7", "updated_ms": 1_000, "fields": {}});
        let new = json!({"kind": "ticket", "id": "7", "updated_ms": 9_000, "fields": {}});
        let db = sled::Config::new().temporary(true).open().unwrap();
        db.insert(entries(&old)[0].clone(), vec![]).unwrap();
        let mut batch = crate::engine::writes::Writes::default();
        reindex(&mut batch, Some(&old), &new, &Kept::all());
        db.apply_batch(batch.into_batch()).unwrap();
        let keys: Vec<Vec<u8>> = db.iter().keys().map(|k| k.unwrap().to_vec()).collect();
        assert_eq!(keys, [entries(&new)[0].clone(), fresh(&entries(&new)[0])]);
    }
}
