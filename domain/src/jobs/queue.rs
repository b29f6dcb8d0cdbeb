//! The `background_job` table's transitions. Every update of a claimed job names the runner that
//! holds it (`locked_by`), so a runner whose lease was taken over cannot overwrite the new holder.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use entity::background_job::{self as job, JobState};
use sea_orm::sea_query::{Expr, ExprTrait, LockBehavior, LockType};
use sea_orm::{
    ColumnTrait, Condition, DatabaseBackend, DatabaseConnection, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, SqlErr, UpdateMany,
};

use crate::db;
use crate::error::ApiResult;

/// Errors are cut to this many characters: enough to debug, not a stored stack of payloads.
const MAX_ERROR_CHARS: usize = 2000;

/// Due jobs of `kinds`: PENDING ones whose time has come, and RUNNING ones whose lease lapsed (their
/// runner died or lost the database).
fn due(kinds: &[&'static str], now: DateTime<Utc>) -> sea_orm::Select<job::Entity> {
    job::Entity::find().filter(job::Column::Kind.is_in(kinds.iter().copied())).filter(
        Condition::any()
            .add(job::Column::State.eq(JobState::Pending).and(job::Column::RunAt.lte(now)))
            .add(job::Column::State.eq(JobState::Running).and(job::Column::LeaseUntil.lt(now))),
    )
}

/// Claims up to `limit` due jobs for `runner` with a lease of `lease`, counting the attempt.
pub(super) async fn claim(
    db: &DatabaseConnection,
    kinds: &[&'static str],
    runner: &str,
    limit: u64,
    lease: Duration,
) -> ApiResult<Vec<job::Model>> {
    if kinds.is_empty() || limit == 0 {
        return Ok(Vec::new());
    }
    // Idle polls only read: on SQLite a write transaction would take the single write lock.
    if due(kinds, Utc::now())
        .select_only()
        .column(job::Column::Id)
        .into_tuple::<i64>()
        .one(db)
        .await?
        .is_none()
    {
        return Ok(Vec::new());
    }
    let txn = db::begin_write(db).await?;
    let now = Utc::now();
    let mut select = due(kinds, now)
        .order_by_desc(job::Column::Priority)
        .order_by_asc(job::Column::RunAt)
        .order_by_asc(job::Column::Id)
        .limit(limit);
    if db.get_database_backend() == DatabaseBackend::Postgres {
        select = select.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
    }
    let mut rows = select.all(&txn).await?;
    if rows.is_empty() {
        txn.commit().await?;
        return Ok(rows);
    }
    let lease_until = now + lease;
    job::Entity::update_many()
        .col_expr(job::Column::State, Expr::value(JobState::Running))
        .col_expr(job::Column::LockedBy, Expr::value(runner))
        .col_expr(job::Column::LeaseUntil, Expr::value(lease_until))
        .col_expr(job::Column::Attempts, Expr::col(job::Column::Attempts).add(1))
        .filter(job::Column::Id.is_in(rows.iter().map(|r| r.id)))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    for row in &mut rows {
        row.state = JobState::Running;
        row.locked_by = Some(runner.to_owned());
        row.lease_until = Some(lease_until);
        row.attempts += 1;
    }
    Ok(rows)
}

/// Extends the leases of every job `runner` holds; returns how many it still holds.
pub(super) async fn renew(db: &DatabaseConnection, runner: &str, lease: Duration) -> ApiResult<u64> {
    let result = held(job::Entity::update_many(), runner)
        .col_expr(job::Column::LeaseUntil, Expr::value(Utc::now() + lease))
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}

/// Marks a job DONE; `false` when `runner` no longer held it.
pub(super) async fn complete(db: &DatabaseConnection, id: i64, runner: &str) -> ApiResult<bool> {
    let result = finish(job::Entity::update_many(), id, runner)
        .col_expr(job::Column::State, Expr::value(JobState::Done))
        .col_expr(job::Column::LastError, Expr::value(Option::<String>::None))
        .exec(db)
        .await?;
    Ok(result.rows_affected > 0)
}

/// Leaves a job DEAD with `error`; `false` when `runner` no longer held it.
pub(super) async fn bury(db: &DatabaseConnection, id: i64, runner: &str, error: &str) -> ApiResult<bool> {
    let result = finish(job::Entity::update_many(), id, runner)
        .col_expr(job::Column::State, Expr::value(JobState::Dead))
        .col_expr(job::Column::LastError, Expr::value(truncate(error)))
        .exec(db)
        .await?;
    Ok(result.rows_affected > 0)
}

/// Puts a failed job back for another attempt after `backoff`.
pub(super) async fn retry_later(
    db: &DatabaseConnection,
    id: i64,
    runner: &str,
    error: &str,
    backoff: Duration,
) -> ApiResult<()> {
    let update = back_to_pending(id, runner)
        .col_expr(job::Column::RunAt, Expr::value(Utc::now() + backoff))
        .col_expr(job::Column::LastError, Expr::value(truncate(error)));
    pending_or_superseded(db, id, update).await
}

/// Gives back a job `runner` will not finish (it stops): PENDING at once, the attempt not counted.
pub(super) async fn release(db: &DatabaseConnection, id: i64, runner: &str) -> ApiResult<()> {
    let update = back_to_pending(id, runner)
        .col_expr(job::Column::RunAt, Expr::value(Utc::now()))
        .col_expr(job::Column::Attempts, Expr::col(job::Column::Attempts).sub(1));
    pending_or_superseded(db, id, update).await
}

/// Deletes DONE jobs finished before `before`.
pub(super) async fn prune(db: &DatabaseConnection, before: DateTime<Utc>) -> ApiResult<u64> {
    let result = job::Entity::delete_many()
        .filter(job::Column::State.eq(JobState::Done))
        .filter(job::Column::FinishedAt.lt(before))
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}

/// How many jobs are in each state (every state present, zero included).
pub async fn counts_by_state(db: &DatabaseConnection) -> ApiResult<Vec<(JobState, u64)>> {
    let rows: Vec<(JobState, i64)> = job::Entity::find()
        .select_only()
        .column(job::Column::State)
        .column_as(job::Column::Id.count(), "count")
        .group_by(job::Column::State)
        .into_tuple()
        .all(db)
        .await?;
    let counts: HashMap<JobState, i64> = rows.into_iter().collect();
    Ok([JobState::Pending, JobState::Running, JobState::Done, JobState::Dead]
        .into_iter()
        .map(|state| (state, u64::try_from(counts.get(&state).copied().unwrap_or(0)).unwrap_or(0)))
        .collect())
}

/// DEAD jobs, newest first, after the job `after` (a keyset cursor); and how many there are.
pub async fn dead_jobs(
    db: &DatabaseConnection,
    first: u64,
    after: Option<i64>,
) -> ApiResult<(Vec<job::Model>, u64)> {
    let dead = job::Entity::find().filter(job::Column::State.eq(JobState::Dead));
    let total = dead.clone().count(db).await?;
    let mut page = dead.order_by_desc(job::Column::Id).limit(first);
    if let Some(after) = after {
        page = page.filter(job::Column::Id.lt(after));
    }
    Ok((page.all(db).await?, total))
}

/// Queues a DEAD job again with fresh attempts; `false` when `id` is not a DEAD job.
pub async fn retry_dead(db: &DatabaseConnection, id: i64) -> ApiResult<bool> {
    let update = job::Entity::update_many()
        .col_expr(job::Column::State, Expr::value(JobState::Pending))
        .col_expr(job::Column::Attempts, Expr::value(0))
        .col_expr(job::Column::RunAt, Expr::value(Utc::now()))
        .col_expr(job::Column::FinishedAt, Expr::value(Option::<DateTime<Utc>>::None))
        .filter(job::Column::Id.eq(id))
        .filter(job::Column::State.eq(JobState::Dead));
    match update.exec(db).await {
        Ok(result) => Ok(result.rows_affected > 0),
        // A PENDING job with its dedupe key exists: that one will do the work.
        Err(e) if is_unique_violation(&e) => {
            job::Entity::delete_by_id(id).exec(db).await?;
            Ok(true)
        }
        Err(e) => Err(e.into()),
    }
}

fn held(update: UpdateMany<job::Entity>, runner: &str) -> UpdateMany<job::Entity> {
    update.filter(job::Column::State.eq(JobState::Running)).filter(job::Column::LockedBy.eq(runner))
}

fn finish(update: UpdateMany<job::Entity>, id: i64, runner: &str) -> UpdateMany<job::Entity> {
    held(update, runner)
        .filter(job::Column::Id.eq(id))
        .col_expr(job::Column::FinishedAt, Expr::value(Some(Utc::now())))
        .col_expr(job::Column::LockedBy, Expr::value(Option::<String>::None))
        .col_expr(job::Column::LeaseUntil, Expr::value(Option::<DateTime<Utc>>::None))
}

fn back_to_pending(id: i64, runner: &str) -> UpdateMany<job::Entity> {
    held(job::Entity::update_many(), runner)
        .filter(job::Column::Id.eq(id))
        .col_expr(job::Column::State, Expr::value(JobState::Pending))
        .col_expr(job::Column::LockedBy, Expr::value(Option::<String>::None))
        .col_expr(job::Column::LeaseUntil, Expr::value(Option::<DateTime<Utc>>::None))
}

/// Runs `update` (back to PENDING); when a newer PENDING job holds the same dedupe key, that one
/// does the same work, so this one is deleted instead of becoming a second pending copy.
async fn pending_or_superseded(
    db: &DatabaseConnection,
    id: i64,
    update: UpdateMany<job::Entity>,
) -> ApiResult<()> {
    match update.exec(db).await {
        Ok(_) => Ok(()),
        Err(e) if is_unique_violation(&e) => {
            job::Entity::delete_by_id(id).exec(db).await?;
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

fn is_unique_violation(e: &DbErr) -> bool {
    matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}

fn truncate(error: &str) -> String {
    error.chars().take(MAX_ERROR_CHARS).collect()
}
