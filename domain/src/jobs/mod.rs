//! Background jobs: one table (`background_job`), one [`Runner`].
//!
//! The shape follows crates.io's `crates_io_worker`: a job is a serializable value whose type
//! implements [`Job`]; code enqueues it with [`enqueue`] inside the transaction of the change that
//! causes it, so the job exists exactly when the change does; a [`Runner`] with the job types
//! [`registered`](Registry::register) claims due jobs (PostgreSQL: `FOR UPDATE SKIP LOCKED`, so
//! instances split the work), holds a short lease that it renews while the job runs, retries
//! failures with exponential backoff and jitter, and after `max_attempts` leaves the job DEAD with
//! its last error for a platform admin to look at and retry.
//!
//! Delivery is at least once: a job whose runner dies runs again once its lease lapses, so
//! handlers must tolerate a repeat (or check what they already did).

mod queue;
mod runner;

use std::future::Future;
use std::time::Duration;

use chrono::Utc;
use entity::background_job as job;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ConnectionTrait, EntityTrait, Set, TryInsertResult};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::context::AppState;
use crate::error::{ApiError, ApiResult};

pub use entity::background_job::{JobState, Model as JobRow};
pub use queue::{counts_by_state, dead_jobs, retry_dead};
pub use runner::{Registry, Runner, RunnerOptions};

/// A kind of background work. The value is the job's payload (stored as JSON).
pub trait Job: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// Stored in `background_job.kind`; names the handler. Never rename one that may be queued.
    const KIND: &'static str;
    /// Claims before the job is left DEAD.
    const MAX_ATTEMPTS: i32 = 10;
    /// The longest retry delay: a job that must follow its input closely (the shared search index)
    /// keeps it short, so that it resumes soon after an outage ends.
    const MAX_BACKOFF: Duration = Duration::from_secs(3600);

    /// Jobs with the same key are one job while PENDING: enqueueing again is a no-op. A job that
    /// already runs has read its input, so a later enqueue makes a new job.
    fn dedupe_key(&self) -> Option<String> {
        None
    }

    /// The first retry's delay; it doubles per attempt (up to [`Job::MAX_BACKOFF`]), ±25 % jitter.
    fn backoff_base(_state: &AppState) -> Duration {
        Duration::from_secs(1)
    }

    /// Does the work. An error is retried after the backoff; return `Ok` for a job that turns out to
    /// have nothing to do.
    fn run(&self, state: &AppState) -> impl Future<Output = ApiResult<()>> + Send;
}

/// How a job is queued beyond its value.
#[derive(Debug, Clone, Default)]
pub struct EnqueueOptions {
    /// Overrides [`Job::MAX_ATTEMPTS`] (for a configurable limit).
    pub max_attempts: Option<i32>,
    /// Not before this long from now.
    pub delay: Option<Duration>,
    /// Higher first among due jobs; 0 by default.
    pub priority: i32,
}

/// Queues `job`; call inside the transaction of the change that causes it. Returns `false` when a
/// PENDING job with the same dedupe key already existed (then nothing was queued).
///
/// The job runs once the transaction commits; wake this instance's runner afterwards
/// (`state.jobs_wake.notify_one()`, which the API does after every mutation) so it starts at once
/// instead of at the next poll.
pub async fn enqueue<J: Job>(txn: &impl ConnectionTrait, job: &J) -> ApiResult<bool> {
    enqueue_with(txn, job, EnqueueOptions::default()).await
}

/// [`enqueue`] with [`EnqueueOptions`].
pub async fn enqueue_with<J: Job>(
    txn: &impl ConnectionTrait,
    job: &J,
    options: EnqueueOptions,
) -> ApiResult<bool> {
    let now = Utc::now();
    let payload = serde_json::to_string(job).map_err(|e| ApiError::Internal(e.into()))?;
    let delay = options.delay.and_then(|d| chrono::Duration::from_std(d).ok()).unwrap_or_default();
    let row = job::ActiveModel {
        kind: Set(J::KIND.to_owned()),
        payload: Set(payload),
        dedupe_key: Set(job.dedupe_key()),
        priority: Set(options.priority),
        state: Set(JobState::Pending),
        attempts: Set(0),
        max_attempts: Set(options.max_attempts.unwrap_or(J::MAX_ATTEMPTS).max(1)),
        run_at: Set(now + delay),
        locked_by: Set(None),
        lease_until: Set(None),
        last_error: Set(None),
        created_at: Set(now),
        finished_at: Set(None),
        ..Default::default()
    };
    // The only unique index besides the key is the pending dedupe key, so a conflict is a
    // duplicate (no conflict target: the index is partial, which PostgreSQL would want spelled out).
    let inserted = job::Entity::insert(row)
        .on_conflict(OnConflict::new().do_nothing().to_owned())
        .try_insert()
        .exec_without_returning(txn)
        .await?;
    Ok(matches!(inserted, TryInsertResult::Inserted(n) if n > 0))
}
