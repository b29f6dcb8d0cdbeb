//! The indexing worker: drains the outbox in batches into the search backend, retrying with backoff
//! while the engine is down. Any number of instances may run it (see [`outbox::claim`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::Utc;
use sea_orm::DatabaseConnection;
use tokio::sync::Notify;
use uuid::Uuid;

use super::{Backend, document, outbox};
use crate::error::ApiResult;
use crate::outage::OutageLog;
use crate::shutdown::Stop;

/// Documents per batch at most.
pub const BATCH: u64 = 1000;
/// How often an idle worker looks for work: a change another instance made waits at most this long
/// before its batch starts (well inside the 250 ms batching window); this instance's mutations wake
/// it at once.
pub const POLL: Duration = Duration::from_millis(100);
const LEASE_SECS: i64 = 60;

/// What the worker last saw, for `/readyz` and logs.
#[derive(Debug, Default)]
pub struct IndexingStats {
    /// Milliseconds from the oldest change of the last batch being committed to it being searchable.
    pub last_time_to_search_ms: AtomicU64,
    pub batches: AtomicU64,
    pub failures: AtomicU64,
}

pub struct Worker {
    pub db: DatabaseConnection,
    pub backend: Backend,
    pub stats: Arc<IndexingStats>,
    /// Woken after this instance's mutations, so that their changes need not wait for the poll.
    pub wake: Arc<Notify>,
    pub id: String,
    outage: OutageLog,
}

impl Worker {
    pub fn new(
        db: DatabaseConnection,
        backend: Backend,
        stats: Arc<IndexingStats>,
        wake: Arc<Notify>,
    ) -> Self {
        Self {
            db,
            backend,
            stats,
            wake,
            id: format!("worker-{}", Uuid::now_v7().simple()),
            outage: OutageLog::new("search indexing"),
        }
    }

    /// Runs until `stop` fires; a batch in hand is finished first.
    pub async fn run(self, mut stop: Stop) {
        let mut pruned_at = std::time::Instant::now();
        while !stop.is_stopping() {
            let stopping = match self.drain_once().await {
                Ok(0) => {
                    tokio::select! {
                        stopping = stop.sleep(POLL) => stopping,
                        _ = self.wake.notified() => false,
                    }
                }
                Ok(_) => false,
                Err(wait) => stop.sleep(wait).await,
            };
            if stopping {
                break;
            }
            if pruned_at.elapsed() > Duration::from_secs(3600) {
                pruned_at = std::time::Instant::now();
                if let Err(e) = outbox::prune(&self.db).await {
                    tracing::warn!(error = ?e, "pruning the search outbox failed");
                }
            }
        }
    }

    /// Processes one batch; returns how many outbox rows it completed, or how long to wait after a
    /// failure.
    pub async fn drain_once(&self) -> Result<usize, Duration> {
        let rows = match outbox::claim(&self.db, &self.id, BATCH, chrono::Duration::seconds(LEASE_SECS)).await
        {
            Ok(rows) => rows,
            Err(e) => {
                self.outage.failed("claiming search outbox rows", &e);
                return Err(Duration::from_secs(1));
            }
        };
        self.outage.succeeded();
        if rows.is_empty() {
            return Ok(0);
        }
        let mut course_ids: Vec<Uuid> = rows.iter().map(|r| r.course_id).collect();
        course_ids.sort();
        course_ids.dedup();
        let result = self.index(&course_ids).await;
        match result {
            Ok(()) => {
                let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
                if let Err(e) = outbox::complete(&self.db, &self.id, &ids).await {
                    tracing::warn!(error = ?e, "marking search outbox rows done failed; they will be indexed again");
                }
                let oldest = rows.iter().map(|r| r.created_at).min().unwrap_or_else(Utc::now);
                let tts = (Utc::now() - oldest).num_milliseconds().max(0) as u64;
                self.stats.last_time_to_search_ms.store(tts, Ordering::Relaxed);
                self.stats.batches.fetch_add(1, Ordering::Relaxed);
                tracing::info!(
                    backend = self.backend.name(),
                    changes = rows.len(),
                    courses = course_ids.len(),
                    time_to_search_ms = tts,
                    "search index updated"
                );
                Ok(rows.len())
            }
            Err(message) => {
                self.stats.failures.fetch_add(1, Ordering::Relaxed);
                let backoff = outbox::retry_later(&self.db, &self.id, &rows, &message)
                    .await
                    .unwrap_or(chrono::Duration::seconds(5));
                tracing::warn!(
                    backend = self.backend.name(),
                    error = %message,
                    retry_in_secs = backoff.num_seconds(),
                    "search index update failed; changes kept in the outbox"
                );
                Err(Duration::from_millis(200))
            }
        }
    }

    /// Bounded well inside the lease, so a slow engine cannot make two workers hold one course.
    async fn index(&self, course_ids: &[Uuid]) -> Result<(), String> {
        let docs = document::build(&self.db, course_ids).await.map_err(|e| format!("{e:?}"))?;
        let deadline = Duration::from_secs((LEASE_SECS as u64) * 3 / 4);
        match tokio::time::timeout(deadline, self.backend.apply(&docs)).await {
            Ok(result) => result.map_err(|e| e.to_string()),
            Err(_) => Err(format!("the search engine did not finish within {deadline:?}")),
        }
    }
}

/// Builds every published course's documents, for `reindex` and `search-check`.
pub async fn all_documents(db: &DatabaseConnection) -> ApiResult<Vec<document::OfferingDocument>> {
    use entity::course::{self, CourseStatus};
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
    let ids: Vec<Uuid> = course::Entity::find()
        .select_only()
        .column(course::Column::Id)
        .filter(course::Column::Status.eq(CourseStatus::Published))
        .into_tuple()
        .all(db)
        .await?;
    let mut docs = Vec::new();
    for chunk in ids.chunks(500) {
        for course in document::build(db, chunk).await? {
            docs.extend(course.documents);
        }
    }
    Ok(docs)
}
