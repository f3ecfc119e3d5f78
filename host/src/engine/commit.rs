//! Group commit: callers write to sled, then wait for one flush that covers
//! their writes; a flush started after a caller's writes serves every caller
//! waiting at that moment, so many concurrent events share one fsync.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::{watch, Notify};

/// Shares flushes of one sled database between concurrent writers.
pub struct GroupCommit {
    requested: AtomicU64,
    durable: watch::Sender<u64>,
    wake: Notify,
    db: sled::Db,
}

impl GroupCommit {
    /// Starts the flusher task for `db`; it ends when the last `Arc` is dropped.
    pub fn start(db: sled::Db) -> Arc<GroupCommit> {
        let (durable, _) = watch::channel(0);
        let gc = Arc::new(GroupCommit {
            requested: AtomicU64::new(0),
            durable,
            wake: Notify::new(),
            db,
        });
        let weak = Arc::downgrade(&gc);
        tokio::spawn(async move {
            loop {
                let Some(gc) = weak.upgrade() else { return };
                let target = gc.requested.load(Ordering::SeqCst);
                if *gc.durable.borrow() >= target {
                    // Re-check after a short wait so a dropped engine ends the task.
                    let _ = tokio::time::timeout(
                        std::time::Duration::from_millis(200),
                        gc.wake.notified(),
                    )
                    .await;
                    continue;
                }
                let result = gc.db.flush_async().await;
                if let Err(e) = result {
                    tracing::error!("flushing the data directory failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
                gc.durable.send_replace(target);
            }
        });
        gc
    }

    /// Waits until everything this caller wrote before the call is on disk.
    pub async fn durable(&self) -> anyhow::Result<()> {
        let ticket = self.requested.fetch_add(1, Ordering::SeqCst) + 1;
        let mut rx = self.durable.subscribe();
        self.wake.notify_one();
        rx.wait_for(|done| *done >= ticket)
            .await
            .map_err(|_| anyhow::anyhow!("the flusher stopped"))?;
        Ok(())
    }
}
