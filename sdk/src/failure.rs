//! Constructors for [`Failure`] and [`Outcome`].
//!
//! The kind decides what the host does: a retryable failure is tried again with
//! backoff (no sooner than `retry_after`), a permanent one goes to the dead-letter
//! list, and bad settings tell the admin the rule needs fixing.

use crate::{Failure, FailureKind, Outcome};
use std::time::Duration;

impl Failure {
    /// Worth trying again later.
    pub fn retryable(message: impl Into<String>) -> Self {
        Self::of(FailureKind::Retryable, message)
    }

    /// Will fail the same way again.
    pub fn permanent(message: impl Into<String>) -> Self {
        Self::of(FailureKind::Permanent, message)
    }

    /// The rule's settings for this action are wrong.
    pub fn bad_settings(message: impl Into<String>) -> Self {
        Self::of(FailureKind::BadSettings, message)
    }

    /// Asks the host to wait at least `delay` before the next attempt.
    pub fn retry_after(mut self, delay: Duration) -> Self {
        self.retry_after_ms = Some(u64::try_from(delay.as_millis()).unwrap_or(u64::MAX));
        self
    }

    fn of(kind: FailureKind, message: impl Into<String>) -> Self {
        Failure {
            kind,
            message: message.into(),
            retry_after_ms: None,
        }
    }
}

impl From<std::io::Error> for Failure {
    /// I/O errors are retryable unless they are about permissions or bad paths,
    /// which will not fix themselves.
    fn from(err: std::io::Error) -> Self {
        use std::io::ErrorKind::*;
        match err.kind() {
            PermissionDenied | NotFound | InvalidInput | Unsupported => {
                Failure::permanent(err.to_string())
            }
            _ => Failure::retryable(err.to_string()),
        }
    }
}

impl Outcome {
    /// A success with a short summary for the audit.
    pub fn new(summary: impl Into<String>) -> Self {
        Outcome {
            summary: summary.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constructors_and_io_mapping() {
        let f = Failure::retryable("busy").retry_after(Duration::from_secs(2));
        assert_eq!(
            (f.kind, f.retry_after_ms),
            (FailureKind::Retryable, Some(2000))
        );
        assert_eq!(Failure::bad_settings("x").kind, FailureKind::BadSettings);
        let denied = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        assert_eq!(Failure::from(denied).kind, FailureKind::Permanent);
        let interrupted = std::io::Error::from(std::io::ErrorKind::Interrupted);
        assert_eq!(Failure::from(interrupted).kind, FailureKind::Retryable);
    }
}
