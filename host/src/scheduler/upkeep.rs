//! Which time indexes and count sets are kept.
//!
//! Keeping them costs every item-mirror write keys of its own: a ticket is in
//! three time indexes and up to three count sets, and each new entry is also
//! noted fresh or dirty. A help desk with no time rule would pay that on every
//! event for nothing, so a *family* (one time index of one item kind, or the
//! count sets of one item kind by one dimension) is kept from the first time
//! an enabled rule needs it, and from then on for good: a rule disabled and
//! enabled again finds its cursor where it left it, in an index that was kept
//! all along.
//!
//! A family that starts being kept is first filled from the item mirror.
//! Filling goes in chunks, each under the engine's decision lock, so
//! ingestion goes on in between and every item ends with the keys of its
//! latest mirror: an item a chunk has not reached yet is written by the
//! ingestion that changes it (the family is already kept), and a chunk reads
//! the mirror no ingestion is changing at that moment. A marker written last
//! (`t/u/...`, empty value) says the family is filled; a family without one is
//! filled again at the next start, which only rewrites the same keys.
//!
//! Filling writes no fresh notes: no rule has a cursor in a family that was
//! never kept, so every rule of it sweeps its entries from the start.

use super::counts::{self, COUNTS};
use super::index;
use super::kinds::KINDS;
use serde_json::Value;

/// One family of keys kept with the item mirror.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// A time index of one item kind.
    Index {
        /// The index (`idle`, `created`, ...).
        index: &'static str,
        /// The item kind.
        kind: &'static str,
    },
    /// The count sets of one item kind by one dimension.
    Counts {
        /// The item kind.
        kind: &'static str,
        /// The field items are grouped by.
        dimension: &'static str,
    },
}

/// The prefix of the markers of filled families.
pub const MARKERS: &str = "t/u/";

impl Family {
    /// The marker saying the family is kept and filled.
    pub fn marker(&self) -> Vec<u8> {
        match self {
            Family::Index { index, kind } => format!("{MARKERS}i/{index}/{kind}"),
            Family::Counts { kind, dimension } => format!("{MARKERS}m/{kind}/{dimension}"),
        }
        .into_bytes()
    }

    /// The item kind whose mirror it is built from.
    pub fn item_kind(&self) -> &'static str {
        match self {
            Family::Index { kind, .. } | Family::Counts { kind, .. } => kind,
        }
    }

    /// Every family there is.
    pub fn all() -> Vec<Family> {
        let mut all = Vec::new();
        for k in KINDS {
            for (index, _) in k.indexes() {
                push_new(
                    &mut all,
                    Family::Index {
                        index,
                        kind: k.item_kind,
                    },
                );
            }
        }
        for c in COUNTS {
            push_new(
                &mut all,
                Family::Counts {
                    kind: c.item_kind,
                    dimension: c.dimension,
                },
            );
        }
        all
    }

    /// The keys the family holds for one mirrored item.
    pub fn keys_of(&self, mirror: &Value) -> Vec<Vec<u8>> {
        let only = Kept(vec![*self]);
        let mut keys = index::entries_kept(mirror, &only);
        keys.extend(counts::members_kept(mirror, &only));
        keys
    }

    /// The prefix every key of the family starts with, when it has one
    /// apart from other families (count sets); cleared before filling, so
    /// that members left from an earlier time are not counted.
    fn own_prefix(&self) -> Option<Vec<u8>> {
        match self {
            Family::Index { .. } => None,
            Family::Counts { kind, dimension } => {
                Some(format!("{}{kind}/{dimension}/", counts::MEMBERS).into_bytes())
            }
        }
    }
}

fn push_new(families: &mut Vec<Family>, f: Family) {
    if !families.contains(&f) {
        families.push(f);
    }
}

/// The families kept: written with every item-mirror write.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Kept(Vec<Family>);

impl Kept {
    /// Every family (for tests and tools that build a mirror by hand).
    pub fn all() -> Kept {
        Kept(Family::all())
    }

    /// The families whose markers are in `tree`.
    pub fn stored(tree: &sled::Tree) -> sled::Result<Kept> {
        let mut kept = Vec::new();
        for f in Family::all() {
            if tree.contains_key(f.marker())? {
                kept.push(f);
            }
        }
        Ok(Kept(kept))
    }

    /// Whether a family is kept.
    pub fn contains(&self, family: &Family) -> bool {
        self.0.contains(family)
    }

    /// Whether the time index `index` of `kind` is kept.
    pub fn index(&self, index: &str, kind: &str) -> bool {
        self.0
            .iter()
            .any(|f| matches!(f, Family::Index { index: i, kind: k } if *i == index && *k == kind))
    }

    /// Whether the count sets of `kind` by `dimension` are kept.
    pub fn counts(&self, kind: &str, dimension: &str) -> bool {
        self.0.iter().any(
            |f| matches!(f, Family::Counts { kind: k, dimension: d } if *k == kind && *d == dimension),
        )
    }

    /// These families and `family`.
    pub fn with(&self, family: Family) -> Kept {
        let mut kept = self.0.clone();
        push_new(&mut kept, family);
        Kept(kept)
    }
}

/// The families the enabled rules need; `has_rules(category, event_type)`
/// says whether an event type has an enabled rule. A time rule needs every
/// index of its event type (its conditions pick one), a count rule the sets
/// of its dimension.
pub fn needed(has_rules: impl Fn(&str, &str) -> bool) -> Vec<Family> {
    let mut needed = Vec::new();
    for k in KINDS.iter().filter(|k| has_rules(k.category, k.event_type)) {
        for (index, _) in k.indexes() {
            push_new(
                &mut needed,
                Family::Index {
                    index,
                    kind: k.item_kind,
                },
            );
        }
    }
    for c in COUNTS
        .iter()
        .filter(|c| has_rules(c.category, c.event_type))
    {
        push_new(
            &mut needed,
            Family::Counts {
                kind: c.item_kind,
                dimension: c.dimension,
            },
        );
    }
    needed
}

/// Mirrors filled per chunk (and per hold of the decision lock).
pub const CHUNK: usize = 512;

/// Removes what an earlier time left of the family's own keys.
pub fn clear(tree: &sled::Tree, family: &Family) -> sled::Result<()> {
    if let Some(prefix) = family.own_prefix() {
        for key in tree.scan_prefix(&prefix).keys() {
            tree.remove(key?)?;
        }
    }
    Ok(())
}

/// Fills the family's keys for up to [`CHUNK`] mirrors from `from` (a key
/// under the item kind's mirror prefix; `None`: its start). Returns where the
/// next chunk starts, or `None` when the kind's mirrors are all done.
pub fn fill_chunk(
    tree: &sled::Tree,
    family: &Family,
    from: Option<Vec<u8>>,
) -> sled::Result<Option<Vec<u8>>> {
    let prefix = format!("item/{}/", family.item_kind()).into_bytes();
    let start = from.unwrap_or_else(|| prefix.clone());
    for (seen, kv) in tree.range(start..).enumerate() {
        let (key, value) = kv?;
        if !key.starts_with(&prefix) {
            return Ok(None);
        }
        if seen == CHUNK {
            return Ok(Some(key.to_vec()));
        }
        // An unreadable mirror has no keys anywhere; it is left as it is.
        if let Ok(mirror) = serde_json::from_slice::<Value>(&value) {
            for k in family.keys_of(&mirror) {
                tree.insert(k, Vec::new())?;
            }
        }
    }
    Ok(None)
}

/// Keeps and fills every family in `needed` that `tree` does not mark
/// filled, with nothing else writing (at open). Returns the families kept.
pub fn fill_at_open(tree: &sled::Tree, needed: &[Family]) -> sled::Result<Kept> {
    let mut kept = Kept::stored(tree)?;
    for family in needed {
        if kept.contains(family) {
            continue;
        }
        tracing::info!(?family, "filling from the item mirror: a rule needs it");
        clear(tree, family)?;
        let mut from = None;
        loop {
            from = fill_chunk(tree, family, from)?;
            if from.is_none() {
                break;
            }
        }
        tree.insert(family.marker(), Vec::new())?;
        kept = kept.with(*family);
    }
    Ok(kept)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn has(types: &'static [&'static str]) -> impl Fn(&str, &str) -> bool {
        move |_, t| types.contains(&t)
    }

    #[test]
    fn no_rule_needs_nothing_and_a_time_rule_needs_its_indexes() {
        assert!(needed(|_, _| false).is_empty());
        let idle = needed(has(&["ticket-idle"]));
        assert!(idle.contains(&Family::Index {
            index: "idle",
            kind: "ticket"
        }));
        assert!(idle.iter().all(|f| f.item_kind() == "ticket"));
        assert!(!idle.iter().any(|f| matches!(f, Family::Counts { .. })));
        let count = needed(has(&["ticket-count-for-group"]));
        assert_eq!(
            count,
            [Family::Counts {
                kind: "ticket",
                dimension: "group"
            }]
        );
    }

    /// Members of the ticket set of `group`.
    fn members(db: &sled::Db, group: &str) -> usize {
        db.scan_prefix(counts::members("ticket", "group", group))
            .count()
    }

    /// Writes a ticket's mirror as ingestion does: the kept families' changes
    /// from its stored mirror, then the mirror.
    fn ingest(db: &sled::Db, kept: &Kept, n: usize, fields: Value) {
        let key = format!("item/ticket/{n}");
        let old: Option<Value> = db
            .get(&key)
            .unwrap()
            .map(|v| serde_json::from_slice(&v).unwrap());
        let new =
            json!({"kind": "ticket", "id": format!("{n}"), "updated_ms": 5, "fields": fields});
        let mut writes = crate::engine::writes::Writes::default();
        super::super::reindex(&mut writes, old.as_ref(), &new, kept);
        writes.insert(key.into_bytes(), serde_json::to_vec(&new).unwrap());
        db.apply_batch(writes.into_batch()).unwrap();
    }

    #[test]
    fn changes_between_chunks_leave_every_item_as_its_latest_mirror() {
        let db = sled::Config::new().temporary(true).open().unwrap();
        let group = Family::Counts {
            kind: "ticket",
            dimension: "group",
        };
        for n in 0..(CHUNK + 10) {
            ingest(&db, &Kept::default(), n, json!({"group": "a"}));
        }
        assert_eq!(db.scan_prefix(MARKERS).count(), 0);
        assert_eq!(db.scan_prefix(counts::MEMBERS).count(), 0);
        // Kept first, then filled chunk by chunk; ingestion between chunks
        // writes the kept family itself.
        let kept = Kept::default().with(group);
        let next = fill_chunk(&db, &group, None).unwrap();
        assert!(next.is_some());
        // Keys sort as text: "item/ticket/0" is in the first chunk, "99" in the second.
        ingest(&db, &kept, 0, json!({"group": "a", "status": "closed"}));
        ingest(&db, &kept, 99, json!({"group": "b"}));
        assert_eq!(fill_chunk(&db, &group, next).unwrap(), None);
        let (a, b) = (members(&db, "a"), members(&db, "b"));
        assert_eq!((a, b), (CHUNK + 8, 1));
    }

    #[test]
    fn markers_are_distinct_and_read_back() {
        let all = Family::all();
        let mut markers: Vec<Vec<u8>> = all.iter().map(Family::marker).collect();
        markers.sort();
        markers.dedup();
        assert_eq!(markers.len(), all.len());
        let db = sled::Config::new().temporary(true).open().unwrap();
        db.insert(all[0].marker(), vec![]).unwrap();
        let kept = Kept::stored(&db).unwrap();
        assert!(kept.contains(&all[0]));
        assert!(!kept.contains(&all[1]));
    }

    #[test]
    fn filling_writes_the_family_of_every_mirror_and_clears_old_members() {
        let db = sled::Config::new().temporary(true).open().unwrap();
        for n in 0..(CHUNK + 3) {
            let m = json!({"kind": "ticket", "id": format!("{n}"), "updated_ms": 1_000 + n,
                "fields": {"group": if n % 2 == 0 { "a" } else { "b" }}});
            db.insert(format!("item/ticket/{n}"), serde_json::to_vec(&m).unwrap())
                .unwrap();
        }
        let mut stale = counts::members("ticket", "group", "a");
        stale.extend_from_slice(b"gone");
        db.insert(&stale, vec![]).unwrap();
        let idle = Family::Index {
            index: "idle",
            kind: "ticket",
        };
        let group = Family::Counts {
            kind: "ticket",
            dimension: "group",
        };
        let kept = fill_at_open(&db, &[idle, group]).unwrap();
        assert!(kept.contains(&idle) && kept.contains(&group));
        assert_eq!(
            db.scan_prefix(index::prefix("idle", "ticket")).count(),
            CHUNK + 3
        );
        assert_eq!(
            db.scan_prefix(index::prefix("created", "ticket")).count(),
            0
        );
        let (a, b) = (members(&db, "a"), members(&db, "b"));
        assert_eq!((a, b), (CHUNK.div_ceil(2) + 2, CHUNK.div_ceil(2) + 1));
        assert!(!db.contains_key(&stale).unwrap());
        let stored = Kept::stored(&db).unwrap();
        assert!(stored.contains(&idle) && stored.contains(&group));
    }
}
