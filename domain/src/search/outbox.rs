//! The outbox side of indexing: writes enqueue course ids in their own transaction; the worker claims
//! rows with a lease, and completes or reschedules them.

use chrono::{DateTime, Duration, Utc};
use entity::{course, search_outbox as outbox};
use sea_orm::sea_query::{Expr, ExprTrait, LockBehavior, LockType, Query};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseBackend, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use uuid::Uuid;

use crate::db;
use crate::error::ApiResult;

/// Records that these courses' search documents must be rebuilt. Call inside the write's transaction.
pub async fn enqueue(db: &impl ConnectionTrait, course_ids: impl IntoIterator<Item = Uuid>) -> ApiResult<()> {
    let now = Utc::now();
    let rows: Vec<outbox::ActiveModel> = course_ids
        .into_iter()
        .map(|course_id| outbox::ActiveModel {
            course_id: Set(course_id),
            created_at: Set(now),
            available_at: Set(now),
            attempts: Set(0),
            ..Default::default()
        })
        .collect();
    for chunk in rows.chunks(500) {
        outbox::Entity::insert_many(chunk.to_vec()).exec(db).await?;
    }
    Ok(())
}

/// Every course of a provider (its name and location are part of the documents).
pub async fn enqueue_provider(db: &impl ConnectionTrait, provider_id: Uuid) -> ApiResult<()> {
    let ids: Vec<Uuid> = course::Entity::find()
        .select_only()
        .column(course::Column::Id)
        .filter(course::Column::ProviderId.eq(provider_id))
        .into_tuple()
        .all(db)
        .await?;
    enqueue(db, ids).await
}

/// Claims up to `limit` due rows for `worker` for `lease`. Rows of a course another worker holds are
/// left alone, so two workers never index the same course at once and an older state cannot
/// overwrite a newer one. On PostgreSQL the claim takes a transaction-scoped advisory lock and
/// `FOR UPDATE SKIP LOCKED`, so several instances claim disjoint batches.
pub async fn claim(
    db: &DatabaseConnection,
    worker: &str,
    limit: u64,
    lease: Duration,
) -> ApiResult<Vec<outbox::Model>> {
    // Idle polls only read: on SQLite a write transaction would take the single write lock.
    let pending = outbox::Entity::find()
        .filter(outbox::Column::ProcessedAt.is_null())
        .filter(outbox::Column::AvailableAt.lte(Utc::now()))
        .one(db)
        .await?;
    if pending.is_none() {
        return Ok(Vec::new());
    }
    let txn = db::begin_write(db).await?;
    let postgres = db.get_database_backend() == DatabaseBackend::Postgres;
    if postgres {
        txn.execute_unprepared("SELECT pg_advisory_xact_lock(7317001)").await?;
    }
    let now = Utc::now();
    let held = Query::select()
        .column(outbox::Column::CourseId)
        .from(outbox::Entity)
        .and_where(outbox::Column::ProcessedAt.is_null())
        .and_where(outbox::Column::ClaimedUntil.gt(now))
        .to_owned();
    let mut select = outbox::Entity::find()
        .filter(outbox::Column::ProcessedAt.is_null())
        .filter(outbox::Column::AvailableAt.lte(now))
        .filter(
            Condition::any()
                .add(outbox::Column::ClaimedUntil.is_null())
                .add(outbox::Column::ClaimedUntil.lte(now)),
        )
        .filter(outbox::Column::CourseId.not_in_subquery(held))
        .order_by_asc(outbox::Column::Id)
        .limit(limit);
    if postgres {
        select = select.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
    }
    let rows = select.all(&txn).await?;
    if !rows.is_empty() {
        outbox::Entity::update_many()
            .col_expr(outbox::Column::ClaimedBy, Expr::value(worker.to_owned()))
            .col_expr(outbox::Column::ClaimedUntil, Expr::value(now + lease))
            .filter(outbox::Column::Id.is_in(rows.iter().map(|r| r.id)))
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(rows)
}

/// Marks claimed rows processed.
pub async fn complete(db: &DatabaseConnection, worker: &str, ids: &[i64]) -> ApiResult<()> {
    for chunk in ids.chunks(500) {
        outbox::Entity::update_many()
            .col_expr(outbox::Column::ProcessedAt, Expr::value(Utc::now()))
            .col_expr(outbox::Column::ClaimedUntil, Expr::value(Option::<DateTime<Utc>>::None))
            .filter(outbox::Column::Id.is_in(chunk.iter().copied()))
            .filter(outbox::Column::ClaimedBy.eq(worker))
            .exec(db)
            .await?;
    }
    Ok(())
}

/// Releases claimed rows for a later attempt, backing off exponentially (1 s, 2 s, 4 s … 60 s).
pub async fn retry_later(
    db: &DatabaseConnection,
    worker: &str,
    rows: &[outbox::Model],
    error: &str,
) -> ApiResult<Duration> {
    let attempts = rows.iter().map(|r| r.attempts).max().unwrap_or(0) + 1;
    let backoff = Duration::seconds(1_i64 << attempts.clamp(0, 6)).min(Duration::seconds(60));
    let error: String = error.chars().take(1000).collect();
    for chunk in rows.chunks(500) {
        outbox::Entity::update_many()
            .col_expr(outbox::Column::Attempts, Expr::col(outbox::Column::Attempts).add(1))
            .col_expr(outbox::Column::AvailableAt, Expr::value(Utc::now() + backoff))
            .col_expr(outbox::Column::LastError, Expr::value(error.clone()))
            .col_expr(outbox::Column::ClaimedUntil, Expr::value(Option::<DateTime<Utc>>::None))
            .filter(outbox::Column::Id.is_in(chunk.iter().map(|r| r.id)))
            // A worker whose lease ran out must not release rows another worker holds now.
            .filter(outbox::Column::ClaimedBy.eq(worker))
            .exec(db)
            .await?;
    }
    Ok(backoff)
}

/// Pending rows and the age of the oldest: the outbox lag.
#[derive(Debug, Clone, Copy, Default)]
pub struct Lag {
    pub pending: u64,
    pub oldest_pending_secs: f64,
}

pub async fn lag(db: &DatabaseConnection) -> ApiResult<Lag> {
    let pending = outbox::Entity::find().filter(outbox::Column::ProcessedAt.is_null()).count(db).await?;
    let oldest = outbox::Entity::find()
        .filter(outbox::Column::ProcessedAt.is_null())
        .order_by_asc(outbox::Column::Id)
        .one(db)
        .await?;
    let oldest_pending_secs = oldest
        .map(|o| Ord::max((Utc::now() - o.created_at).num_milliseconds(), 0) as f64 / 1000.0)
        .unwrap_or(0.0);
    Ok(Lag { pending, oldest_pending_secs })
}

/// Deletes processed rows older than a day.
pub async fn prune(db: &DatabaseConnection) -> ApiResult<u64> {
    let result = outbox::Entity::delete_many()
        .filter(outbox::Column::ProcessedAt.lt(Utc::now() - Duration::days(1)))
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}
