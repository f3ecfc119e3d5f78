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
/// (each key suffixed with the event's number), one atomic batch per event as
/// ingestion writes them; and, for comparison, the same bytes as one record
/// per event.
pub fn sled_alone(writes: &[(Vec<u8>, Vec<u8>)], events: usize) -> (f64, f64) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).expect("store");
    let batched = store.tree("floor-batched").expect("tree");
    let start = Instant::now();
    for n in 0..events {
        let mut batch = sled::Batch::default();
        for (k, v) in writes {
            let mut key = k.clone();
            key.extend_from_slice(format!("/{n:08x}").as_bytes());
            batch.insert(key, v.as_slice());
        }
        batched.apply_batch(batch).expect("apply");
    }
    let per_batch = events as f64 / start.elapsed().as_secs_f64();
    let records = store.tree("floor-records").expect("tree");
    let bytes: Vec<u8> = writes
        .iter()
        .flat_map(|(k, v)| k.iter().chain(v.iter()).copied())
        .collect();
    let start = Instant::now();
    for n in 0..events {
        records
            .insert(format!("rec/{n:016x}"), bytes.as_slice())
            .expect("insert");
    }
    let per_record = events as f64 / start.elapsed().as_secs_f64();
    (per_batch, per_record)
}
