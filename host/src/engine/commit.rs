//! Group commit: callers write to sled, then wait for one flush that covers
//! their writes; a flush started after a caller's writes serves every caller
//! waiting at that moment, so many concurrent events share one fsync.
//!
//! A flush is cheap on its own (sled writes its log buffer and waits for it
//! with `sync_file_range`, a fraction of a millisecond here), so back-to-back
//! flushes each covered one or two events, and each cost a log write, a job
//! on sled's IO pool (which wakes all its idle threads) and the wake-ups of
//! its waiters. So a flush waits, at most [`LINGER`], while ingestions that
//! have begun (see [`GroupCommit::begin`]) are still on their way to
//! waiting: under load one flush covers many events; an event alone is
//! flushed at once.
//!
//! The flushes run on a thread of their own with sled's blocking `flush`
//! (`flush_async` would hand each to sled's IO pool as well).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::thread::Thread;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// The longest a flush waits for writers that have begun.
pub const LINGER: Duration = Duration::from_millis(1);

/// Shares flushes of one sled database between concurrent writers.
pub struct GroupCommit {
    requested: AtomicU64,
    durable: watch::Sender<u64>,
    /// Writers between [`GroupCommit::begin`] and waiting (or giving up).
    active: AtomicUsize,
    /// Flushes made so far.
    flushes: AtomicU64,
    flusher: Thread,
}

/// A writer on its way to waiting for a flush; see [`GroupCommit::begin`].
pub struct Arrival<'a> {
    commit: &'a GroupCommit,
    done: bool,
}

impl Arrival<'_> {
    /// Waits until everything this writer wrote is on disk.
    pub async fn durable(mut self) -> anyhow::Result<()> {
        self.leave();
        self.commit.durable().await
    }

    fn leave(&mut self) {
        if !self.done {
            self.done = true;
            if self.commit.active.fetch_sub(1, Ordering::SeqCst) == 1 {
                // The flush waiting for stragglers need not wait any longer.
                self.commit.flusher.unpark();
            }
        }
    }
}

impl Drop for Arrival<'_> {
    fn drop(&mut self) {
        self.leave();
    }
}

impl GroupCommit {
    /// Starts the flusher thread for `db`; it ends once the last `Arc` is
    /// dropped (within a fifth of a second).
    pub fn start(db: sled::Db) -> std::io::Result<Arc<GroupCommit>> {
        let (durable, _) = watch::channel(0);
        let (tx, rx) = std::sync::mpsc::channel::<Weak<GroupCommit>>();
        let handle = std::thread::Builder::new()
            .name("tocsin-flush".into())
            .spawn(move || {
                let Ok(weak) = rx.recv() else { return };
                flush_loop(&weak, &db);
            })?;
        let gc = Arc::new(GroupCommit {
            requested: AtomicU64::new(0),
            durable,
            active: AtomicUsize::new(0),
            flushes: AtomicU64::new(0),
            flusher: handle.thread().clone(),
        });
        // The thread holds only a weak reference, so dropping the engine ends it.
        let _ = tx.send(Arc::downgrade(&gc));
        Ok(gc)
    }

    /// Says a writer has begun writing and will wait for a flush: a flush
    /// due meanwhile waits for it (at most [`LINGER`]) so that both share it.
    pub fn begin(&self) -> Arrival<'_> {
        self.active.fetch_add(1, Ordering::SeqCst);
        Arrival {
            commit: self,
            done: false,
        }
    }

    /// Flushes made so far.
    pub fn flushes(&self) -> u64 {
        self.flushes.load(Ordering::Relaxed)
    }

    /// Waits until everything this caller wrote before the call is on disk.
    pub async fn durable(&self) -> anyhow::Result<()> {
        let ticket = self.requested.fetch_add(1, Ordering::SeqCst) + 1;
        let mut rx = self.durable.subscribe();
        if ticket == *self.durable.borrow() + 1 {
            // The first caller since the last flush: the flusher may be idle.
            self.flusher.unpark();
        }
        rx.wait_for(|done| *done >= ticket)
            .await
            .map_err(|_| anyhow::anyhow!("the flusher stopped"))?;
        Ok(())
    }
}

/// Flushes whenever a caller waits for more than the last flush covered.
fn flush_loop(weak: &Weak<GroupCommit>, db: &sled::Db) {
    loop {
        let Some(gc) = weak.upgrade() else { return };
        let target = gc.requested.load(Ordering::SeqCst);
        if *gc.durable.borrow() >= target {
            drop(gc);
            // Woken by the next caller; the timeout notices a dropped engine.
            std::thread::park_timeout(Duration::from_millis(200));
            continue;
        }
        // Writers that have begun would each need a flush of their own.
        let deadline = Instant::now() + LINGER;
        while gc.active.load(Ordering::SeqCst) > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            std::thread::park_timeout(left);
        }
        let target = gc.requested.load(Ordering::SeqCst);
        if let Err(e) = db.flush() {
            tracing::error!("flushing the data directory failed: {e}");
            drop(gc);
            std::thread::sleep(Duration::from_millis(50));
            continue;
        }
        gc.flushes.fetch_add(1, Ordering::Relaxed);
        gc.durable.send_replace(target);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> sled::Db {
        sled::Config::new().temporary(true).open().unwrap()
    }

    #[tokio::test]
    async fn a_writer_that_never_arrives_delays_a_flush_only_for_the_linger() {
        let db = db();
        let gc = GroupCommit::start(db.clone()).unwrap();
        let stuck = gc.begin();
        db.insert("k", "v").unwrap();
        tokio::time::timeout(Duration::from_secs(10), gc.durable())
            .await
            .expect("flushed despite the writer that has begun")
            .unwrap();
        assert_eq!(gc.active.load(Ordering::SeqCst), 1);
        drop(stuck);
        assert_eq!(gc.active.load(Ordering::SeqCst), 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_writers_all_return_and_share_flushes() {
        let db = db();
        let gc = GroupCommit::start(db.clone()).unwrap();
        let mut tasks = tokio::task::JoinSet::new();
        for n in 0..64u32 {
            let (gc, db) = (gc.clone(), db.clone());
            tasks.spawn(async move {
                for round in 0..20u32 {
                    let arrival = gc.begin();
                    db.insert(format!("{n}/{round}"), vec![]).unwrap();
                    arrival.durable().await.unwrap();
                }
            });
        }
        while let Some(done) = tasks.join_next().await {
            done.unwrap();
        }
        assert_eq!(gc.active.load(Ordering::SeqCst), 0);
        assert_eq!(*gc.durable.borrow(), 64 * 20);
        assert!(gc.flushes() < 64 * 20 / 4, "{} flushes", gc.flushes());
    }
}
