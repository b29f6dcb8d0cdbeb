//! The event outbox: alert events written in the transaction of the change that caused them.

use chrono::{DateTime, Duration, Utc};
use entity::event_outbox as outbox;
use sea_orm::sea_query::{Expr, LockBehavior, LockType};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseBackend, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::db;
use crate::error::{ApiError, ApiResult};
use crate::events::OfferChange;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AlertEvent {
    /// A need became OPEN: providers whose courses match it get leads.
    NeedOpened {
        need_id: Uuid,
    },
    OfferChanged {
        offer_id: Uuid,
        need_id: Uuid,
        firm_id: Uuid,
        provider_id: Uuid,
        change: OfferChange,
    },
    /// `firm_id` joined (or left) the need of `owner_id`.
    PoolChanged {
        need_id: Uuid,
        owner_id: Uuid,
        firm_id: Uuid,
        participants: i32,
        joined: bool,
    },
}

impl AlertEvent {
    fn kind(&self) -> &'static str {
        match self {
            Self::NeedOpened { .. } => "NEED_OPENED",
            Self::OfferChanged { .. } => "OFFER_CHANGED",
            Self::PoolChanged { .. } => "POOL_CHANGED",
        }
    }
}

/// Records `event`; call inside the write's transaction so the event exists exactly when the change
/// does.
pub async fn record(txn: &impl ConnectionTrait, event: &AlertEvent) -> ApiResult<()> {
    let now = Utc::now();
    let payload = serde_json::to_string(event).map_err(|e| ApiError::Internal(e.into()))?;
    outbox::Entity::insert(outbox::ActiveModel {
        kind: Set(event.kind().to_owned()),
        payload: Set(payload),
        created_at: Set(now),
        available_at: Set(now),
        attempts: Set(0),
        ..Default::default()
    })
    .exec(txn)
    .await?;
    Ok(())
}

/// A claimed event.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: i64,
    pub attempts: i32,
    pub event: Option<AlertEvent>,
}

/// Claims up to `limit` due events for `lease`; on PostgreSQL with `FOR UPDATE SKIP LOCKED`, so
/// several instances take disjoint sets.
pub async fn claim(db: &DatabaseConnection, limit: u64, lease: Duration) -> ApiResult<Vec<Claimed>> {
    let due = |now| {
        outbox::Entity::find()
            .filter(outbox::Column::ProcessedAt.is_null())
            .filter(outbox::Column::AvailableAt.lte(now))
            .filter(
                Condition::any()
                    .add(outbox::Column::ClaimedUntil.is_null())
                    .add(outbox::Column::ClaimedUntil.lte(now)),
            )
    };
    // Idle polls only read: on SQLite a write transaction would take the single write lock.
    if due(Utc::now()).one(db).await?.is_none() {
        return Ok(Vec::new());
    }
    let txn = db::begin_write(db).await?;
    let now = Utc::now();
    let mut select = due(now).order_by_asc(outbox::Column::Id).limit(limit);
    if db.get_database_backend() == DatabaseBackend::Postgres {
        select = select.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
    }
    let rows = select.all(&txn).await?;
    if !rows.is_empty() {
        outbox::Entity::update_many()
            .col_expr(outbox::Column::ClaimedUntil, Expr::value(now + lease))
            .filter(outbox::Column::Id.is_in(rows.iter().map(|r| r.id)))
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(rows
        .into_iter()
        .map(|r| Claimed { id: r.id, attempts: r.attempts, event: serde_json::from_str(&r.payload).ok() })
        .collect())
}

/// Marks an event done; call in the transaction that wrote its effects.
pub async fn complete(txn: &impl ConnectionTrait, id: i64) -> ApiResult<()> {
    outbox::Entity::update_many()
        .col_expr(outbox::Column::ProcessedAt, Expr::value(Utc::now()))
        .col_expr(outbox::Column::ClaimedUntil, Expr::value(Option::<DateTime<Utc>>::None))
        .filter(outbox::Column::Id.eq(id))
        .exec(txn)
        .await?;
    Ok(())
}

/// Releases an event for a later attempt (1 s, 2 s, 4 s … 5 min).
pub async fn retry_later(db: &DatabaseConnection, claimed: &Claimed, error: &str) -> ApiResult<()> {
    let backoff = Duration::seconds(1_i64 << (claimed.attempts + 1).clamp(0, 8)).min(Duration::minutes(5));
    outbox::Entity::update_many()
        .col_expr(outbox::Column::Attempts, Expr::value(claimed.attempts + 1))
        .col_expr(outbox::Column::AvailableAt, Expr::value(Utc::now() + backoff))
        .col_expr(outbox::Column::LastError, Expr::value(error.chars().take(1000).collect::<String>()))
        .col_expr(outbox::Column::ClaimedUntil, Expr::value(Option::<DateTime<Utc>>::None))
        .filter(outbox::Column::Id.eq(claimed.id))
        .exec(db)
        .await?;
    Ok(())
}

/// Deletes processed events older than a week.
pub async fn prune(db: &DatabaseConnection) -> ApiResult<u64> {
    let result = outbox::Entity::delete_many()
        .filter(outbox::Column::ProcessedAt.lt(Utc::now() - Duration::days(7)))
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}
