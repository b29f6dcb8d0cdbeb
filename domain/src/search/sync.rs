//! The shared index (Meilisearch) follows the change log through the job system: every instance's
//! indexing worker queues a [`SyncSharedIndex`] job when the index's cursor is behind the log (or a
//! comparison with the database is due), and whichever instance's runner claims it applies the
//! changes. The job system gives it what a hand-written loop lacked: a lease renewed while it runs
//! (an instance that dies mid-batch frees the work within the lease), retries with backoff, and a
//! DEAD job with the engine's last error for platform admins when Meilisearch stays away.
//!
//! One job applies at a time: Meilisearch applies an index's writes one after another anyway, and
//! documents are rebuilt from the database's current state in log order, so an older state never
//! overwrites a newer one. Instances split the work by turns — each run is bounded, then its
//! successor is queued for any runner. Nothing is lost while a job waits, retries or is DEAD: the
//! changes stay in the log, and the next worker poll queues a new job.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use entity::background_job::{self as job, JobState};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use serde::{Deserialize, Serialize};

use super::worker::{Shared, Worker};
use crate::context::AppState;
use crate::error::{ApiError, ApiResult};
use crate::jobs::{self, EnqueueOptions, Job};

/// How long one run applies changes before it queues its successor: a backlog is worked through in
/// turns any instance may take, and a stopping instance has little to give back.
const RUN_BUDGET: Duration = Duration::from_secs(20);
/// When another run holds the shared index's lock, this one tries again after this long.
const BUSY_RETRY: Duration = Duration::from_millis(300);

/// Brings the shared index `index` up to the log's head; with `check`, then compares it with the
/// database and repairs what differs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SyncSharedIndex {
    pub index: String,
    #[serde(default)]
    pub check: bool,
}

impl SyncSharedIndex {
    fn key(&self) -> String {
        format!("{}:{}:{}", Self::KIND, self.index, if self.check { "check" } else { "apply" })
    }

    async fn queue_again(&self, state: &AppState, delay: Duration) -> ApiResult<()> {
        let options = EnqueueOptions { delay: Some(delay), ..Default::default() };
        jobs::enqueue_with(&state.db, self, options).await?;
        state.jobs_wake.notify_one();
        Ok(())
    }
}

impl Job for SyncSharedIndex {
    const KIND: &'static str = "search.sync";
    /// With the backoff capped at 10 s, about five minutes of engine outage before the job is left
    /// DEAD (the changes wait in the log; the next poll queues a new job).
    const MAX_ATTEMPTS: i32 = 30;
    const MAX_BACKOFF: Duration = Duration::from_secs(10);

    fn dedupe_key(&self) -> Option<String> {
        Some(self.key())
    }

    fn backoff_base(_state: &AppState) -> Duration {
        Duration::from_millis(200)
    }

    async fn run(&self, state: &AppState) -> ApiResult<()> {
        let worker = Worker::with_settings(
            state.db.clone(),
            state.search.clone(),
            state.indexing.clone(),
            state.indexing_wake.clone(),
            &state.settings.search,
        );
        let started = Instant::now();
        let mut check = self.check;
        loop {
            let step = worker.step_shared(&self.index, check).await.map_err(|message| {
                state.indexing.failures.fetch_add(1, Ordering::Relaxed);
                ApiError::Unavailable(message)
            })?;
            match step {
                Shared::Busy => return self.queue_again(state, BUSY_RETRY).await,
                Shared::Stepped(step) => {
                    check &= !step.checked;
                    if step.applied == 0 && !check {
                        return Ok(());
                    }
                }
            }
            if started.elapsed() >= RUN_BUDGET {
                let next = SyncSharedIndex { index: self.index.clone(), check };
                return next.queue_again(state, Duration::ZERO).await;
            }
        }
    }
}

/// Queues a run for `index` unless one is already queued or running (a running one applies what
/// arrives while it runs); wakes this instance's runner. Returns whether it queued one.
pub async fn request(
    db: &impl ConnectionTrait,
    jobs_wake: &tokio::sync::Notify,
    index: &str,
    check: bool,
) -> ApiResult<bool> {
    let job = SyncSharedIndex { index: index.to_owned(), check };
    let waiting: Option<i64> = job::Entity::find()
        .select_only()
        .column(job::Column::Id)
        .filter(job::Column::Kind.eq(SyncSharedIndex::KIND))
        .filter(job::Column::DedupeKey.eq(job.key()))
        .filter(job::Column::State.is_in([JobState::Pending, JobState::Running]))
        .into_tuple()
        .one(db)
        .await?;
    if waiting.is_some() {
        return Ok(false);
    }
    let queued = jobs::enqueue(db, &job).await?;
    jobs_wake.notify_one();
    Ok(queued)
}
