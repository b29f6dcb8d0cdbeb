//! The indexing worker: applies the change log to the search index in order, and compares the index
//! with the database at start-up and periodically, repairing what differs.
//!
//! An embedded index is one per instance: each instance's worker applies every change to its own
//! index and commits the position with the documents. The Meilisearch index is shared: in the
//! server, each instance's worker only watches the position kept in `search_cursor` and queues a
//! job (see [`super::sync`]) that whichever runner claims applies; tools without a job runner (a
//! worker built without [`Worker::with_jobs`]) apply directly. Either way one applier at a time (a
//! PostgreSQL advisory lock, released at once when its instance dies; on SQLite a lock of the
//! process) advances the cursor, rebuilding documents from the database's current state, so an
//! older state never overwrites a newer one.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection, Statement, TransactionTrait};
use tokio::sync::Notify;
use uuid::Uuid;

use super::{Backend, PositionStore, document, outbox};
use crate::config::SearchSettings;
use crate::error::{ApiError, ApiResult};
use crate::outage::OutageLog;
use crate::shutdown::Stop;

/// Changes per batch at most.
pub const BATCH: u64 = 1000;
/// How often an idle worker looks for work: a change another instance made waits at most this long;
/// this instance's mutations wake it at once.
pub const POLL: Duration = Duration::from_millis(100);
/// A batch the engine has not finished by then counts as failed and is retried.
const APPLY_TIMEOUT: Duration = Duration::from_secs(45);

/// What the worker last saw, for `/readyz`, `/metrics` and logs.
#[derive(Debug)]
pub struct IndexingStats {
    /// Milliseconds from the oldest change of the last batch being committed to it being searchable.
    pub last_time_to_search_ms: AtomicU64,
    pub batches: AtomicU64,
    pub failures: AtomicU64,
    /// The change-log position the index has applied (-1: not known yet, or never filled).
    pub position: AtomicI64,
    /// Comparisons of the index with the database so far.
    pub checks: AtomicU64,
    /// The last comparison's drift, before it was repaired.
    pub drift_missing: AtomicU64,
    pub drift_stale: AtomicU64,
    pub drift_extra: AtomicU64,
    /// Comparisons that found drift and repaired it, and the courses rebuilt by them.
    pub repairs: AtomicU64,
    pub repaired_courses: AtomicU64,
    /// Full refills of an index without a usable position (new, lost, or behind the retention).
    pub refills: AtomicU64,
}

impl Default for IndexingStats {
    fn default() -> Self {
        Self {
            last_time_to_search_ms: AtomicU64::new(0),
            batches: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            position: AtomicI64::new(-1),
            checks: AtomicU64::new(0),
            drift_missing: AtomicU64::new(0),
            drift_stale: AtomicU64::new(0),
            drift_extra: AtomicU64::new(0),
            repairs: AtomicU64::new(0),
            repaired_courses: AtomicU64::new(0),
            refills: AtomicU64::new(0),
        }
    }
}

impl IndexingStats {
    /// The applied position, when known.
    pub fn position(&self) -> Option<i64> {
        Some(self.position.load(Ordering::Relaxed)).filter(|p| *p >= 0)
    }
}

pub struct Worker {
    pub db: DatabaseConnection,
    pub backend: Backend,
    pub stats: Arc<IndexingStats>,
    /// Woken after this instance's mutations, so that their changes need not wait for the poll.
    pub wake: Arc<Notify>,
    pub id: String,
    retention: chrono::Duration,
    /// `None`: no comparisons with the database.
    check_interval: Option<Duration>,
    failures_in_row: AtomicU32,
    outage: OutageLog,
    /// Set in the server: a shared index is updated by jobs this runner's wake-up starts.
    jobs_wake: Option<Arc<Notify>>,
}

/// What one step did.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Step {
    /// Changes applied, or courses refilled.
    pub applied: usize,
    /// Whether the index was compared with the database (a shared index: only by the lock holder).
    pub checked: bool,
}

/// What a step on the shared index did.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Shared {
    Stepped(Step),
    /// Another applier holds the index's lock.
    Busy,
}

/// Each shared index's lock within one process, where the database has no advisory locks (SQLite,
/// which one process serves).
static SHARED_LOCKS: std::sync::LazyLock<std::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>> =
    std::sync::LazyLock::new(Default::default);

fn shared_lock(name: &str) -> Arc<tokio::sync::Mutex<()>> {
    let mut locks = SHARED_LOCKS.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    locks.entry(name.to_owned()).or_default().clone()
}

impl Worker {
    pub fn new(
        db: DatabaseConnection,
        backend: Backend,
        stats: Arc<IndexingStats>,
        wake: Arc<Notify>,
    ) -> Self {
        Self::with_settings(db, backend, stats, wake, &SearchSettings::default())
    }

    pub fn with_settings(
        db: DatabaseConnection,
        backend: Backend,
        stats: Arc<IndexingStats>,
        wake: Arc<Notify>,
        settings: &SearchSettings,
    ) -> Self {
        Self {
            db,
            backend,
            stats,
            wake,
            id: format!("worker-{}", Uuid::now_v7().simple()),
            retention: chrono::Duration::hours(settings.change_retention_hours as i64),
            check_interval: (settings.check_interval_secs > 0)
                .then(|| Duration::from_secs(settings.check_interval_secs)),
            failures_in_row: AtomicU32::new(0),
            outage: OutageLog::new("search indexing"),
            jobs_wake: None,
        }
    }

    /// A shared index is then updated by [`super::sync::SyncSharedIndex`] jobs, queued by this worker
    /// and started with `jobs_wake`, instead of by this worker itself.
    pub fn with_jobs(mut self, jobs_wake: Arc<Notify>) -> Self {
        self.jobs_wake = Some(jobs_wake);
        self
    }

    /// Runs until `stop` fires; a batch in hand is finished first. The first comparison with the
    /// database runs once the index has caught up with the log.
    pub async fn run(self, mut stop: Stop) {
        let mut next_check = self.check_interval.map(|_| Instant::now());
        let mut pruned_at: Option<Instant> = None;
        while !stop.is_stopping() {
            let check_due = next_check.is_some_and(|at| Instant::now() >= at);
            let step = self.step(check_due).await;
            if let (Ok(Step { checked: true, .. }), Some(interval)) = (step, self.check_interval) {
                next_check = Some(Instant::now() + interval);
            }
            let stopping = match step {
                Ok(Step { applied: 0, .. }) => {
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
            if pruned_at.is_none_or(|at| at.elapsed() > Duration::from_secs(3600)) {
                pruned_at = Some(Instant::now());
                match outbox::prune(&self.db, self.retention).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(changes = n, "pruned the search change log"),
                    Err(e) => tracing::warn!(error = ?e, "pruning the search change log failed"),
                }
            }
        }
    }

    /// Applies one batch of changes; returns how many, or how long to wait after a failure.
    pub async fn drain_once(&self) -> Result<usize, Duration> {
        self.step(false).await.map(|s| s.applied)
    }

    async fn step(&self, check: bool) -> Result<Step, Duration> {
        let result = match self.backend.position_store() {
            PositionStore::Index => self.step_own(check).await,
            PositionStore::Cursor(name) => match &self.jobs_wake {
                Some(jobs_wake) => self.request_shared(&name, check, jobs_wake).await,
                None => self.step_shared(&name, check).await.map(|shared| match shared {
                    Shared::Stepped(step) => step,
                    Shared::Busy => Step::default(),
                }),
            },
        };
        match result {
            Ok(step) => {
                self.outage.succeeded();
                self.failures_in_row.store(0, Ordering::Relaxed);
                Ok(step)
            }
            Err(message) => {
                self.stats.failures.fetch_add(1, Ordering::Relaxed);
                let failures = self.failures_in_row.fetch_add(1, Ordering::Relaxed).min(6);
                let wait = (Duration::from_millis(200) * 2_u32.pow(failures)).min(Duration::from_secs(10));
                self.outage.failed("updating the search index", &ApiError::Unavailable(message.clone()));
                tracing::debug!(
                    backend = self.backend.name(),
                    error = %message,
                    retry_in_ms = wait.as_millis() as u64,
                    "search index update failed; the changes stay in the log"
                );
                Err(wait)
            }
        }
    }

    /// This instance's own index: its commit holds the position.
    async fn step_own(&self, check: bool) -> Result<Step, String> {
        let position = self.backend.position().await.map_err(|e| e.to_string())?;
        let (applied, position) = self.advance(&self.db, position).await?;
        let checked = check && applied == 0;
        if checked {
            self.check_and_repair().await?;
        }
        self.stats.position.store(position, Ordering::Relaxed);
        Ok(Step { applied, checked })
    }

    /// The shared index in the server: queues a job when the cursor is behind the log or a
    /// comparison is due. Applies nothing itself, so it reports no changes and sleeps until the poll.
    async fn request_shared(&self, name: &str, check: bool, jobs_wake: &Notify) -> Result<Step, String> {
        // A shared index deleted behind our back was created again empty: compare and refill now.
        let check = check || self.backend.take_lost();
        let position = outbox::cursor(&self.db, name).await.map_err(|e| format!("{e:?}"))?;
        let head = outbox::head(&self.db).await.map_err(|e| format!("{e:?}"))?;
        if let Some(position) = position {
            self.stats.position.store(position, Ordering::Relaxed);
        }
        if check || position.is_none_or(|p| p < head) {
            super::sync::request(&self.db, jobs_wake, name, check).await.map_err(|e| format!("{e:?}"))?;
        }
        Ok(Step { applied: 0, checked: check })
    }

    /// The shared index: whoever holds the lock advances the cursor; the others wait their turn.
    pub(crate) async fn step_shared(&self, name: &str, check: bool) -> Result<Shared, String> {
        if self.db.get_database_backend() != DatabaseBackend::Postgres {
            return self.step_shared_in_process(name, check).await;
        }
        let txn = self.db.begin().await.map_err(|e| e.to_string())?;
        let locked = txn
            .query_one_raw(Statement::from_sql_and_values(
                DatabaseBackend::Postgres,
                "SELECT pg_try_advisory_xact_lock(7317002, hashtext($1)) AS locked",
                [name.into()],
            ))
            .await
            .map_err(|e| e.to_string())?
            .map(|row| row.try_get::<bool>("", "locked"))
            .transpose()
            .map_err(|e| e.to_string())?
            .unwrap_or(false);
        if !locked {
            return Ok(Shared::Busy);
        }
        let (step, position) = self.advance_cursor(&txn, name, check).await?;
        txn.commit().await.map_err(|e| e.to_string())?;
        self.stats.position.store(position, Ordering::Relaxed);
        Ok(Shared::Stepped(step))
    }

    /// The shared index on SQLite (one process): the process lock serialises appliers, and no
    /// transaction spans the engine's work — a read transaction that writes the cursor after other
    /// writes (job leases, new changes) committed meanwhile would fail on its stale snapshot.
    async fn step_shared_in_process(&self, name: &str, check: bool) -> Result<Shared, String> {
        let Ok(_lock) = shared_lock(name).try_lock_owned() else {
            return Ok(Shared::Busy);
        };
        let (step, position) = self.advance_cursor(&self.db, name, check).await?;
        self.stats.position.store(position, Ordering::Relaxed);
        Ok(Shared::Stepped(step))
    }

    /// One step of the shared index from the cursor `name` read and written on `conn`, by the holder
    /// of its lock: the next batch (or a refill), then the comparison when due and nothing was left.
    async fn advance_cursor(
        &self,
        conn: &impl ConnectionTrait,
        name: &str,
        check: bool,
    ) -> Result<(Step, i64), String> {
        let position = outbox::cursor(conn, name).await.map_err(|e| format!("{e:?}"))?;
        let (applied, position) = self.advance(conn, position).await?;
        let checked = check && applied == 0;
        if checked {
            self.check_and_repair().await?;
        }
        outbox::set_cursor(conn, name, position).await.map_err(|e| format!("{e:?}"))?;
        Ok((Step { applied, checked }, position))
    }

    /// Brings the index from `position` towards the log's head: the next batch of changes, or a
    /// refill when the index has no position or the log was pruned past it. Returns what was applied
    /// and the new position.
    async fn advance(
        &self,
        log: &impl ConnectionTrait,
        position: Option<i64>,
    ) -> Result<(usize, i64), String> {
        let replayable = match position {
            Some(p) => outbox::can_replay_from(log, p).await.map_err(|e| format!("{e:?}"))?,
            None => false,
        };
        let Some(position) = position.filter(|_| replayable) else {
            return self.refill(log).await;
        };
        let changes = outbox::after(log, position, BATCH).await.map_err(|e| format!("{e:?}"))?;
        let Some(last) = changes.last().map(|c| c.seq) else {
            return Ok((0, position));
        };
        let mut course_ids: Vec<Uuid> = changes.iter().map(|c| c.course_id).collect();
        course_ids.sort();
        course_ids.dedup();
        let docs = document::build(&self.db, &course_ids).await.map_err(|e| format!("{e:?}"))?;
        match tokio::time::timeout(APPLY_TIMEOUT, self.backend.apply(&docs, Some(last))).await {
            Ok(result) => result.map_err(|e| e.to_string())?,
            Err(_) => return Err(format!("the search engine did not finish within {APPLY_TIMEOUT:?}")),
        }
        let oldest = changes.iter().map(|c| c.created_at).min().unwrap_or_else(Utc::now);
        let tts = (Utc::now() - oldest).num_milliseconds().max(0) as u64;
        self.stats.last_time_to_search_ms.store(tts, Ordering::Relaxed);
        self.stats.batches.fetch_add(1, Ordering::Relaxed);
        tracing::info!(
            backend = self.backend.name(),
            changes = changes.len(),
            courses = course_ids.len(),
            position = last,
            time_to_search_ms = tts,
            "search index updated"
        );
        Ok((changes.len(), last))
    }

    async fn refill(&self, log: &impl ConnectionTrait) -> Result<(usize, i64), String> {
        let head = outbox::head(log).await.map_err(|e| format!("{e:?}"))?;
        let started = Instant::now();
        tracing::info!(
            backend = self.backend.name(),
            position = head,
            "search index has no usable position: refilling it"
        );
        let courses =
            super::refill(&self.db, self.backend.as_ref(), head).await.map_err(|e| e.to_string())?;
        self.stats.refills.fetch_add(1, Ordering::Relaxed);
        tracing::info!(
            backend = self.backend.name(),
            courses,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "search index refilled"
        );
        Ok((courses.max(1), head))
    }

    /// Compares the index with the database and rebuilds the courses that differ.
    async fn check_and_repair(&self) -> Result<(), String> {
        let drift = super::check(&self.db, self.backend.as_ref()).await.map_err(|e| e.to_string())?;
        let stats = &self.stats;
        stats.checks.fetch_add(1, Ordering::Relaxed);
        stats.drift_missing.store(drift.missing.len() as u64, Ordering::Relaxed);
        stats.drift_stale.store(drift.stale.len() as u64, Ordering::Relaxed);
        stats.drift_extra.store(drift.extra.len() as u64, Ordering::Relaxed);
        if drift.is_clean() {
            return Ok(());
        }
        tracing::warn!(
            backend = self.backend.name(),
            missing = drift.missing.len(),
            stale = drift.stale.len(),
            extra = drift.extra.len(),
            courses = drift.courses.len(),
            "search index drifted from the database: repairing"
        );
        let repaired = super::repair(&self.db, self.backend.as_ref(), &drift.courses)
            .await
            .map_err(|e| e.to_string())?;
        stats.repairs.fetch_add(1, Ordering::Relaxed);
        stats.repaired_courses.fetch_add(repaired as u64, Ordering::Relaxed);
        Ok(())
    }
}

/// Builds every published course's documents, for `reindex` and benchmarks.
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
