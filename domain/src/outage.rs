//! How background workers report a dependency that cannot be reached.
//!
//! A worker retries every second or so; logging each failed attempt would write a warning per second
//! and worker for as long as the database is away. Instead the first failure of an outage is a
//! warning, the retries are debug lines, and the first success after it says the outage is over.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::ApiError;

/// One worker's outage state.
#[derive(Debug)]
pub struct OutageLog {
    worker: &'static str,
    /// Failed attempts since the last success.
    failures: AtomicU64,
}

impl OutageLog {
    pub fn new(worker: &'static str) -> Self {
        Self { worker, failures: AtomicU64::new(0) }
    }

    /// Records a failed attempt at `what`. An unreachable dependency is logged once per outage;
    /// any other failure (a bug, bad data) every time.
    pub fn failed(&self, what: &str, error: &ApiError) {
        let ApiError::Unavailable(reason) = error else {
            tracing::warn!(worker = self.worker, error = ?error, "{what} failed");
            return;
        };
        if self.failures.fetch_add(1, Ordering::Relaxed) == 0 {
            tracing::warn!(worker = self.worker, %reason, "{what} failed: unavailable; retrying until it is back");
        } else {
            tracing::debug!(worker = self.worker, %reason, "{what} failed again: still unavailable");
        }
    }

    /// Records a successful attempt; ends an outage.
    pub fn succeeded(&self) {
        let failures = self.failures.swap(0, Ordering::Relaxed);
        if failures > 0 {
            tracing::info!(worker = self.worker, failed_attempts = failures, "available again; work resumes");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outage_is_counted_until_a_success() {
        let log = OutageLog::new("test");
        let failures = || log.failures.load(Ordering::Relaxed);
        log.failed("claiming", &ApiError::Internal(anyhow::anyhow!("a bug")));
        assert_eq!(failures(), 0, "other failures are no outage");
        log.failed("claiming", &ApiError::database_unavailable());
        log.failed("claiming", &ApiError::database_unavailable());
        assert_eq!(failures(), 2);
        log.succeeded();
        assert_eq!(failures(), 0);
    }
}
