//! The writes one decision makes to the engine's tree, kept in the order
//! they were made, then stored either as one atomic sled batch or key by key
//! with a chosen key last.
//!
//! Why both: sled's `apply_batch` takes sled's global write lock, which
//! waits for any flush in progress (a flush holds the read side through its
//! fsync), so batches cannot overlap flushes; single-key inserts can. Help-desk
//! ingestion, the hot path, stores its writes key by key with its event
//! record last ([`Writes::apply_ordered`]). That is as safe as the batch for
//! every ingestion that returned success, since the flush it waited for
//! covers all its keys; and sled recovers a prefix of its log in log order,
//! so after a crash an event record is present only with every key its
//! ingestion wrote before it. What an interrupted ingestion can leave
//! behind: jobs, dropped at open, and an audit chain and an idempotency
//! record, ignored, all found by their missing event record; scheduler index
//! entries ahead of their mirror, dropped as stale. An ingestion that writes a
//! frequency window still goes in one batch: a window left without its
//! event would suppress that event's own re-send, or hold its items for a
//! coalesced job whose event is missing.

use std::collections::HashMap;

/// Writes in the order they were made; a key written twice keeps its last
/// value (and the position of that last write).
#[derive(Debug, Default)]
pub struct Writes {
    ops: Vec<(Vec<u8>, Option<Vec<u8>>)>,
}

impl Writes {
    /// Sets `key` to `value`.
    pub fn insert(&mut self, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) {
        self.ops.push((key.into(), Some(value.into())));
    }

    /// Removes `key`.
    pub fn remove(&mut self, key: impl Into<Vec<u8>>) {
        self.ops.push((key.into(), None));
    }

    /// True when nothing was written.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// True when some write is to a key starting with `prefix`.
    pub fn touches(&self, prefix: &[u8]) -> bool {
        self.ops.iter().any(|(k, _)| k.starts_with(prefix))
    }

    /// The writes that take effect, in order: of several writes to one key,
    /// only the last.
    fn effective(self) -> impl Iterator<Item = (Vec<u8>, Option<Vec<u8>>)> {
        let mut last: HashMap<&[u8], usize> = HashMap::with_capacity(self.ops.len());
        for (i, (k, _)) in self.ops.iter().enumerate() {
            last.insert(k, i);
        }
        let keep: Vec<bool> = (0..self.ops.len())
            .map(|i| last[self.ops[i].0.as_slice()] == i)
            .collect();
        self.ops
            .into_iter()
            .zip(keep)
            .filter_map(|(op, keep)| keep.then_some(op))
    }

    /// The writes as one atomic sled batch.
    pub fn into_batch(self) -> sled::Batch {
        let mut batch = sled::Batch::default();
        for (k, v) in self.effective() {
            match v {
                Some(v) => batch.insert(k, v),
                None => batch.remove(k),
            }
        }
        batch
    }

    /// Stores the writes one key at a time in the order they were made,
    /// except that `last` (when written at all) goes after every other key.
    /// Not atomic: the caller holds the lock that keeps other deciders out,
    /// and readers that could see the writes half done either hold it too
    /// or check against the record written last.
    pub fn apply_ordered(self, tree: &sled::Tree, last: &[u8]) -> sled::Result<()> {
        let mut tail = None;
        for (k, v) in self.effective() {
            if k == last {
                tail = Some((k, v));
                continue;
            }
            put(tree, k, v)?;
        }
        if let Some((k, v)) = tail {
            put(tree, k, v)?;
        }
        Ok(())
    }
}

fn put(tree: &sled::Tree, key: Vec<u8>, value: Option<Vec<u8>>) -> sled::Result<()> {
    match value {
        Some(v) => tree.insert(key, v).map(drop),
        None => tree.remove(key).map(drop),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> sled::Tree {
        let db = sled::Config::new().temporary(true).open().unwrap();
        db.open_tree("t").unwrap()
    }

    #[test]
    fn the_last_write_to_a_key_wins_in_both_forms() {
        let make = || {
            let mut w = Writes::default();
            w.insert(b"a".to_vec(), b"1".to_vec());
            w.insert(b"b".to_vec(), b"1".to_vec());
            w.remove(b"a".to_vec());
            w.insert(b"b".to_vec(), b"2".to_vec());
            w.insert(b"c".to_vec(), b"3".to_vec());
            w
        };
        let (batched, ordered) = (tree(), tree());
        batched.insert(b"a", b"0").unwrap();
        ordered.insert(b"a", b"0").unwrap();
        batched.apply_batch(make().into_batch()).unwrap();
        make().apply_ordered(&ordered, b"b").unwrap();
        for t in [&batched, &ordered] {
            let all: Vec<(Vec<u8>, Vec<u8>)> = t
                .iter()
                .map(|kv| kv.map(|(k, v)| (k.to_vec(), v.to_vec())).unwrap())
                .collect();
            assert_eq!(
                all,
                [
                    (b"b".to_vec(), b"2".to_vec()),
                    (b"c".to_vec(), b"3".to_vec())
                ]
            );
        }
    }

    #[test]
    fn touches_finds_a_write_by_prefix() {
        let mut w = Writes::default();
        w.insert(b"job/1".to_vec(), b"job".to_vec());
        assert!(!w.touches(b"win/"));
        w.remove(b"win/r/0/*".to_vec());
        assert!(w.touches(b"win/"));
    }

    #[test]
    fn the_chosen_key_is_stored_after_every_other() {
        let mut w = Writes::default();
        w.insert(b"ev/1".to_vec(), b"event".to_vec());
        w.insert(b"job/1".to_vec(), b"job".to_vec());
        w.insert(b"item/1".to_vec(), b"mirror".to_vec());
        let t = tree();
        let mut seen = t.watch_prefix(b"");
        w.apply_ordered(&t, b"ev/1").unwrap();
        let order: Vec<Vec<u8>> = (0..3)
            .map(|_| match seen.next().unwrap() {
                sled::Event::Insert { key, .. } => key.to_vec(),
                sled::Event::Remove { key } => key.to_vec(),
            })
            .collect();
        assert_eq!(
            order,
            [b"job/1".to_vec(), b"item/1".to_vec(), b"ev/1".to_vec()]
        );
    }
}
