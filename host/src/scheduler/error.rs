//! The scheduler's errors.

use crate::engine::IngestError;

/// Why a tick failed. Firings already made stay made; the next tick resumes
/// from each rule's stored cursor.
#[derive(Debug, thiserror::Error)]
pub enum SchedulerError {
    /// Reading or writing the indexes failed.
    #[error("time index storage: {0}")]
    Storage(#[from] sled::Error),
    /// A mirrored item could not be read.
    #[error("item mirror {key}: {source}")]
    Mirror {
        /// The mirror's key.
        key: String,
        /// What was wrong with it.
        source: serde_json::Error,
    },
    /// Ingesting a firing failed (nothing of it was kept).
    #[error("rule {rule}: ingesting its firing failed: {source}")]
    Ingest {
        /// The rule.
        rule: String,
        /// Why.
        source: IngestError,
    },
}
