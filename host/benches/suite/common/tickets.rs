//! The million tickets the scheduler and cold-start benches load, written
//! once per run (about 12 s through sled on 2 cores) and copied for each.
//!
//! Every ticket was last active in November 2023, so its idle episodes came
//! due before the scheduler's catch-up window (7 days): neither the
//! scheduler's ticks nor a starting server fire them.

use crate::common::durable;
use std::cell::OnceCell;
use std::path::Path;
use std::time::Instant;
use tocsin::engine::TREE;
use tocsin::store::Store;

/// Tickets in the data set.
pub const ITEMS: usize = 1_000_000;

/// Ticket `n`'s last activity, in ms since the epoch (November 2023).
pub fn last_active(n: usize) -> i64 {
    1_700_000_000_000 + n as i64
}

/// The item mirror of ticket `n`, last active at `last`.
pub fn mirror(n: usize, last: i64) -> serde_json::Value {
    serde_json::json!({"kind": "ticket", "id": n.to_string(), "updated_ms": last,
        "fields": {"status": "active", "priority": "normal", "department": "IT"}})
}

/// The data set, written on first use.
#[derive(Default)]
pub struct Tickets(OnceCell<tempfile::TempDir>);

impl Tickets {
    /// Copies a store holding the tickets into `to` (created), writing the
    /// original first if this run has not yet.
    pub fn copy_to(&self, to: &Path) {
        let from = self.0.get_or_init(|| {
            let dir = tempfile::tempdir().expect("tempdir");
            let started = Instant::now();
            let store = Store::open(dir.path()).expect("store");
            let tree = store.tree(TREE).expect("tree");
            durable::write_tickets(&tree, 0..ITEMS, |n| mirror(n, last_active(n)));
            store.db().flush().expect("flush");
            println!(
                "setup: {ITEMS} tickets written in {:.1} s (once per run, copied for each bench)",
                started.elapsed().as_secs_f64()
            );
            dir
        });
        copy_dir(from.path(), to);
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("creating the copy");
    for entry in std::fs::read_dir(from).expect("reading the data set") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copying the data set");
        }
    }
}
