//! Pooled needs (Verbundweiterbildung): other firms join a poolable OPEN need with their own
//! participants, so providers reach a minimum group size or run an inhouse course.

use chrono::Utc;
use entity::need_participation as participation;
use entity::organization::OrganizationKind;
use entity::qualification_need::{self as need, NeedStatus};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use uuid::Uuid;

use crate::alerts::{self, AlertEvent};
use crate::context::AppState;
use crate::db;
use crate::error::{ApiError, ApiResult};
use crate::service::needs::{self, MAX_PARTICIPANTS};
use crate::service::{access, validate};

/// Locks the need for a pool change and checks that `firm_id` may join or leave it.
async fn lock_need(
    txn: &DatabaseTransaction,
    caller: Uuid,
    need_id: Uuid,
    firm_id: Uuid,
) -> ApiResult<need::Model> {
    access::member_of_kind(txn, caller, firm_id, OrganizationKind::Firm, "organizationId").await?;
    let need = need::Entity::find_by_id(need_id)
        .lock_exclusive()
        .one(txn)
        .await?
        .ok_or_else(|| ApiError::not_found("need"))?;
    if !needs::can_see(txn, &[firm_id], &need).await? {
        return Err(ApiError::not_found("need"));
    }
    if need.firm_id == firm_id {
        return Err(ApiError::bad_input("organizationId", "a firm cannot join its own need"));
    }
    Ok(need)
}

/// A need as a pool change left it, with what its answer shows of the pool, read in the change's
/// transaction: once the change is committed, answering it needs no further read, so an outage
/// right after the commit cannot turn a done change into an error.
pub struct PoolChange {
    pub need: need::Model,
    /// The firms that joined, oldest first.
    pub pool: Vec<participation::Model>,
    /// The organizations the caller belongs to (who sees the participations).
    pub caller_organizations: Vec<Uuid>,
}

/// `firm_id` joins `need_id` with `participants`.
pub async fn join(
    state: &AppState,
    caller: Uuid,
    need_id: Uuid,
    firm_id: Uuid,
    participants: i32,
    note: Option<String>,
) -> ApiResult<PoolChange> {
    let db = &state.db;
    if !(1..=MAX_PARTICIPANTS).contains(&participants) {
        return Err(ApiError::bad_input(
            "participants",
            format!("participants must be 1 to {MAX_PARTICIPANTS}"),
        ));
    }
    let note = validate::optional_text("note", note.as_deref(), 2_000)?;
    let txn = db::begin_write(db).await?;
    let need = lock_need(&txn, caller, need_id, firm_id).await?;
    if !need.poolable {
        return Err(ApiError::bad_input("needId", "this need is not open for other firms to join"));
    }
    if need.status != NeedStatus::Open {
        return Err(ApiError::conflict_on("needId", "only OPEN needs can be joined"));
    }
    let existing = find(&txn, need_id, firm_id).await?;
    if existing.is_some() {
        return Err(ApiError::conflict_on("organizationId", "this firm has already joined the need"));
    }
    let now = Utc::now();
    participation::ActiveModel {
        id: Set(Uuid::now_v7()),
        need_id: Set(need_id),
        firm_id: Set(firm_id),
        participants: Set(participants),
        note: Set(note),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    let updated = touch(&txn, need).await?;
    alerts::record(
        &txn,
        &AlertEvent::PoolChanged { need_id, owner_id: updated.firm_id, firm_id, participants, joined: true },
    )
    .await?;
    let change = read_change(&txn, caller, updated).await?;
    txn.commit().await?;
    Ok(change)
}

/// `firm_id` leaves `need_id`; possible until an offer is accepted.
pub async fn leave(state: &AppState, caller: Uuid, need_id: Uuid, firm_id: Uuid) -> ApiResult<PoolChange> {
    let db = &state.db;
    let txn = db::begin_write(db).await?;
    let need = lock_need(&txn, caller, need_id, firm_id).await?;
    let Some(existing) = find(&txn, need_id, firm_id).await? else {
        return Err(ApiError::bad_input("organizationId", "this firm has not joined the need"));
    };
    if need.status != NeedStatus::Open {
        return Err(ApiError::conflict_on("needId", "a firm can leave a need only while it is OPEN"));
    }
    participation::Entity::delete_by_id(existing.id).exec(&txn).await?;
    let updated = touch(&txn, need).await?;
    alerts::record(
        &txn,
        &AlertEvent::PoolChanged {
            need_id,
            owner_id: updated.firm_id,
            firm_id,
            participants: existing.participants,
            joined: false,
        },
    )
    .await?;
    let change = read_change(&txn, caller, updated).await?;
    txn.commit().await?;
    Ok(change)
}

async fn read_change(txn: &DatabaseTransaction, caller: Uuid, need: need::Model) -> ApiResult<PoolChange> {
    let pool = of_needs(txn, &[need.id]).await?;
    let caller_organizations = access::organizations_of(txn, caller).await?;
    Ok(PoolChange { need, pool, caller_organizations })
}

async fn find(
    txn: &impl ConnectionTrait,
    need_id: Uuid,
    firm_id: Uuid,
) -> ApiResult<Option<participation::Model>> {
    Ok(participation::Entity::find()
        .filter(participation::Column::NeedId.eq(need_id))
        .filter(participation::Column::FirmId.eq(firm_id))
        .one(txn)
        .await?)
}

/// The pool changes what the need asks for: a new version, so concurrent edits notice.
async fn touch(txn: &DatabaseTransaction, need: need::Model) -> ApiResult<need::Model> {
    let version = need.version + 1;
    let mut active: need::ActiveModel = need.into();
    active.version = Set(version);
    active.updated_at = Set(Utc::now());
    Ok(active.update(txn).await?)
}

/// The participations of these needs, oldest first.
pub async fn of_needs(db: &impl ConnectionTrait, need_ids: &[Uuid]) -> ApiResult<Vec<participation::Model>> {
    Ok(participation::Entity::find()
        .filter(participation::Column::NeedId.is_in(need_ids.iter().copied()))
        .order_by_asc(participation::Column::CreatedAt)
        .order_by_asc(participation::Column::Id)
        .all(db)
        .await?)
}
