//! What sled alone costs for the writes ingestion makes: the keys and values
//! one real event writes (taken from an engine's tree), written again and
//! again under fresh keys on one thread with no flush. This bounds what any
//! ingestion built on these writes can reach, whatever its own code costs.

use super::durable::{engine, event};
use std::collections::BTreeMap;
use std::time::Instant;
use tocsin::store::Store;

/// The writes one event makes: keys and values new or changed in the
/// engine's tree by ingesting [`event`] on a fresh store.
pub async fn one_event_writes() -> Vec<(Vec<u8>, Vec<u8>)> {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = engine(dir.path()).await;
    let tree = engine
        .store()
        .tree(tocsin::engine::TREE)
        .expect("engine tree");
    let snapshot = |tree: &sled::Tree| -> BTreeMap<Vec<u8>, Vec<u8>> {
        tree.iter()
            .map(|kv| {
                let (k, v) = kv.expect("engine tree");
                (k.to_vec(), v.to_vec())
            })
            .collect()
    };
    let before = snapshot(&tree);
    engine.ingest(event(0)).await.expect("ingest");
    snapshot(&tree)
        .into_iter()
        .filter(|(k, v)| before.get(k) != Some(v))
        .collect()
}

/// Events per second sled takes `writes` at, `events` times under fresh keys
/// (each key suffixed with the event's number), one atomic batch per event;
/// and, for comparison, the same bytes as one record per event.
pub fn sled_alone(writes: &[(Vec<u8>, Vec<u8>)], events: usize) -> (f64, f64) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).expect("store");
    let batched = store.tree("floor-batched").expect("tree");
    let start = Instant::now();
    for n in 0..events {
        batched.apply_batch(batch_for(writes, n)).expect("apply");
    }
    let per_batch = events as f64 / start.elapsed().as_secs_f64();
    let records = store.tree("floor-records").expect("tree");
    let bytes = joined(writes);
    let start = Instant::now();
    for n in 0..events {
        records
            .insert(format!("rec/{n:016x}"), bytes.as_slice())
            .expect("insert");
    }
    let per_record = events as f64 / start.elapsed().as_secs_f64();
    (per_batch, per_record)
}

/// How [`sled_durable`] writes one event's writes.
#[derive(Clone, Copy, PartialEq)]
pub enum Layout {
    /// One `apply_batch` of all the writes (how ingestion stored them
    /// before it went key by key).
    Batch,
    /// One `insert` per write, in order (how ingestion stores them).
    KeyByKey,
    /// The writes' bytes as one record, one `insert`.
    OneRecord,
}

/// Events per second made durable when each of `events` events writes
/// `writes` under fresh keys laid out as `layout` and then waits for a
/// shared flush, `width` events in flight on the caller's runtime, through
/// the engine's [`GroupCommit`](tocsin::engine::commit::GroupCommit) as
/// ingestion waits.
///
/// Batches and single-key writes differ beyond the key count: sled's
/// `apply_batch` takes its global write lock, which waits for every flush
/// in progress (a flush holds the read side until its fsync returns), while
/// `insert` only takes the read side and goes on during a flush.
pub async fn sled_durable(
    writes: &[(Vec<u8>, Vec<u8>)],
    events: usize,
    width: usize,
    layout: Layout,
) -> f64 {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).expect("store");
    let tree = store.tree("floor-durable").expect("tree");
    let commit = tocsin::engine::commit::GroupCommit::start(store.db().clone()).expect("flusher");
    let writes = Arc::new(writes.to_vec());
    let record = Arc::new(joined(&writes));
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..width {
        let (tree, commit, next) = (tree.clone(), commit.clone(), next.clone());
        let (writes, record) = (writes.clone(), record.clone());
        tasks.spawn(async move {
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= events {
                    return;
                }
                match layout {
                    Layout::Batch => tree.apply_batch(batch_for(&writes, n)).expect("apply"),
                    Layout::KeyByKey => {
                        for (k, v) in writes.iter() {
                            tree.insert(suffixed(k, n), v.as_slice()).expect("insert");
                        }
                    }
                    Layout::OneRecord => {
                        tree.insert(format!("rec/{n:016x}"), record.as_slice())
                            .expect("insert");
                    }
                }
                commit.durable().await.expect("flush");
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("task");
    }
    events as f64 / start.elapsed().as_secs_f64()
}

/// Event `n`'s copy of `writes` as one batch: each key suffixed with `/n`.
fn batch_for(writes: &[(Vec<u8>, Vec<u8>)], n: usize) -> sled::Batch {
    let mut batch = sled::Batch::default();
    for (k, v) in writes {
        batch.insert(suffixed(k, n), v.as_slice());
    }
    batch
}

/// `key` suffixed with `/n`, event `n`'s copy of it.
fn suffixed(key: &[u8], n: usize) -> Vec<u8> {
    let mut key = key.to_vec();
    key.extend_from_slice(format!("/{n:08x}").as_bytes());
    key
}

/// The bytes of `writes`, keys and values, as one record.
fn joined(writes: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
    writes
        .iter()
        .flat_map(|(k, v)| k.iter().chain(v.iter()).copied())
        .collect()
}
