//! The search change log: writes append course ids in their own transaction; every index reads the
//! changes after the position it has applied, in order. Nothing is claimed, so every embedded index
//! sees every change, and a lost index replays from where it stands.

use chrono::{Duration, Utc};
use entity::{course, search_change as change, search_cursor as cursor};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use uuid::Uuid;

use crate::error::ApiResult;

/// How long a gap in `seq` is waited for: on PostgreSQL a transaction may take its number before
/// an earlier-numbered one commits. A gap older than this was a rollback.
pub const GAP_WAIT: Duration = Duration::seconds(3);

/// Records that these courses' search documents must be rebuilt. Call inside the write's transaction.
pub async fn enqueue(db: &impl ConnectionTrait, course_ids: impl IntoIterator<Item = Uuid>) -> ApiResult<()> {
    let now = Utc::now();
    let rows: Vec<change::ActiveModel> = course_ids
        .into_iter()
        .map(|course_id| change::ActiveModel {
            course_id: Set(course_id),
            created_at: Set(now),
            ..Default::default()
        })
        .collect();
    for chunk in rows.chunks(500) {
        change::Entity::insert_many(chunk.to_vec()).exec(db).await?;
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

/// The newest change's `seq` (0 for an empty log).
pub async fn head(db: &impl ConnectionTrait) -> ApiResult<i64> {
    let newest: Option<i64> = change::Entity::find()
        .select_only()
        .column(change::Column::Seq)
        .order_by_desc(change::Column::Seq)
        .into_tuple()
        .one(db)
        .await?;
    Ok(newest.unwrap_or(0))
}

/// The oldest change still kept, when any.
pub async fn oldest(db: &impl ConnectionTrait) -> ApiResult<Option<i64>> {
    Ok(change::Entity::find()
        .select_only()
        .column(change::Column::Seq)
        .order_by_asc(change::Column::Seq)
        .into_tuple()
        .one(db)
        .await?)
}

/// Whether an index at `position` can catch up from the log: it has not been pruned past it. Prune
/// keeps the newest change, so an empty log was never written.
pub async fn can_replay_from(db: &impl ConnectionTrait, position: i64) -> ApiResult<bool> {
    Ok(oldest(db).await?.is_none_or(|oldest| oldest <= position + 1))
}

/// Up to `limit` changes after `position`, stopping at a gap younger than [`GAP_WAIT`]: the change
/// with the missing number may still commit, and must not be passed over.
pub async fn after(db: &impl ConnectionTrait, position: i64, limit: u64) -> ApiResult<Vec<change::Model>> {
    let rows = change::Entity::find()
        .filter(change::Column::Seq.gt(position))
        .order_by_asc(change::Column::Seq)
        .limit(limit)
        .all(db)
        .await?;
    let settled = Utc::now() - GAP_WAIT;
    let mut expected = position + 1;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        if row.seq != expected && row.created_at > settled {
            break;
        }
        expected = row.seq + 1;
        out.push(row);
    }
    Ok(out)
}

/// Changes after `position` and the age of the oldest: how far an index lags.
#[derive(Debug, Clone, Copy, Default)]
pub struct Lag {
    pub head: i64,
    pub pending: u64,
    pub oldest_pending_secs: f64,
}

pub async fn lag(db: &impl ConnectionTrait, position: i64) -> ApiResult<Lag> {
    let head = head(db).await?;
    let pending = change::Entity::find().filter(change::Column::Seq.gt(position)).count(db).await?;
    let oldest = change::Entity::find()
        .filter(change::Column::Seq.gt(position))
        .order_by_asc(change::Column::Seq)
        .one(db)
        .await?;
    let oldest_pending_secs = oldest
        .map(|o| Ord::max((Utc::now() - o.created_at).num_milliseconds(), 0) as f64 / 1000.0)
        .unwrap_or(0.0);
    Ok(Lag { head, pending, oldest_pending_secs })
}

/// Deletes changes older than `retention`, always keeping the newest, so `seq` never restarts.
pub async fn prune(db: &impl ConnectionTrait, retention: Duration) -> ApiResult<u64> {
    let head = head(db).await?;
    let result = change::Entity::delete_many()
        .filter(change::Column::CreatedAt.lt(Utc::now() - retention))
        .filter(change::Column::Seq.lt(head))
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}

/// The position a shared index has applied (`None`: never filled).
pub async fn cursor(db: &impl ConnectionTrait, name: &str) -> ApiResult<Option<i64>> {
    Ok(cursor::Entity::find_by_id(name.to_owned()).one(db).await?.map(|c| c.position))
}

pub async fn set_cursor(db: &impl ConnectionTrait, name: &str, position: i64) -> ApiResult<()> {
    cursor::Entity::insert(cursor::ActiveModel {
        name: Set(name.to_owned()),
        position: Set(position),
        updated_at: Set(Utc::now()),
    })
    .on_conflict(
        OnConflict::column(cursor::Column::Name)
            .update_columns([cursor::Column::Position, cursor::Column::UpdatedAt])
            .to_owned(),
    )
    .exec(db)
    .await?;
    Ok(())
}
