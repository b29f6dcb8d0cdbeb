//! Invitations: the only way into an organization besides founding it. An OWNER or ADMIN invites an
//! email address with a role; the answer is the same whether an account with that email exists, so
//! inviting cannot be used to learn who has an account. The person whose account has that email sees
//! the invitation and accepts (becoming a member with the role) or declines it, before it expires.

use chrono::{Duration, Utc};
use entity::invitation::{self, InvitationStatus};
use entity::membership::{self, MembershipRole};
use entity::user;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, JoinType, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, RelationTrait, Set,
};
use uuid::Uuid;

use crate::context::AppState;
use crate::db;
use crate::error::{ApiError, ApiResult};
use crate::events::{DomainEvent, OrganizationEventKind};
use crate::service::organizations::{bump_version, insert_membership, lock_organization, require_role};
use crate::service::validate;

/// The most invitations `invitations` of an organization lists (the newest).
pub const LISTED: u64 = 100;

/// Invites `email` with `role` for `ttl`. OWNER and ADMIN may invite; only an OWNER invites an
/// OWNER. Inviting an address that already has an open invitation renews it (new role and expiry).
pub async fn invite(
    state: &AppState,
    caller: Uuid,
    organization_id: Uuid,
    email: &str,
    role: MembershipRole,
    ttl: Duration,
) -> ApiResult<invitation::Model> {
    let db = &state.db;
    let email = validate::email("email", email)?;
    let txn = db::begin_write(db).await?;
    lock_organization(&txn, organization_id).await?;
    let caller_role = require_role(&txn, organization_id, caller, MembershipRole::Admin).await?;
    if role == MembershipRole::Owner && caller_role != MembershipRole::Owner {
        return Err(ApiError::forbidden("only an OWNER may invite another OWNER"));
    }
    // Admins see their members' emails anyway, so saying so reveals nothing about other accounts.
    if is_member(&txn, organization_id, &email).await? {
        return Err(ApiError::conflict_on("email", "this email belongs to a member already"));
    }
    let now = Utc::now();
    let open = invitation::Entity::find()
        .filter(invitation::Column::OrganizationId.eq(organization_id))
        .filter(invitation::Column::Email.eq(email.as_str()))
        .filter(invitation::Column::Status.eq(InvitationStatus::Pending))
        .filter(invitation::Column::ExpiresAt.gt(now))
        .one(&txn)
        .await?;
    let saved = match open {
        Some(open) => {
            let mut active: invitation::ActiveModel = open.into();
            active.role = Set(role);
            active.invited_by = Set(Some(caller));
            active.expires_at = Set(now + ttl);
            active.update(&txn).await?
        }
        None => {
            invitation::ActiveModel {
                id: Set(Uuid::now_v7()),
                organization_id: Set(organization_id),
                email: Set(email),
                role: Set(role),
                status: Set(InvitationStatus::Pending),
                invited_by: Set(Some(caller)),
                created_at: Set(now),
                expires_at: Set(now + ttl),
                responded_at: Set(None),
            }
            .insert(&txn)
            .await?
        }
    };
    txn.commit().await?;
    Ok(saved)
}

async fn is_member(db: &impl ConnectionTrait, organization_id: Uuid, email: &str) -> ApiResult<bool> {
    let members = membership::Entity::find()
        .join(JoinType::InnerJoin, membership::Relation::User.def())
        .filter(membership::Column::OrganizationId.eq(organization_id))
        .filter(user::Column::Email.eq(email))
        .count(db)
        .await?;
    Ok(members > 0)
}

/// Withdraws an open invitation. OWNER and ADMIN may revoke; only an OWNER revokes an OWNER's.
pub async fn revoke(state: &AppState, caller: Uuid, id: Uuid) -> ApiResult<invitation::Model> {
    let db = &state.db;
    let txn = db::begin_write(db).await?;
    let found = find(&txn, id).await?;
    lock_organization(&txn, found.organization_id).await?;
    let caller_role = require_role(&txn, found.organization_id, caller, MembershipRole::Admin).await?;
    let current = find(&txn, id).await?;
    if current.role == MembershipRole::Owner && caller_role != MembershipRole::Owner {
        return Err(ApiError::forbidden("only an OWNER may revoke an invitation to become OWNER"));
    }
    ensure_open(&current)?;
    let revoked = respond(&txn, current, InvitationStatus::Revoked).await?;
    txn.commit().await?;
    Ok(revoked)
}

/// Accepts an invitation to the caller's email: the caller becomes a member with its role.
/// Someone else's invitation is `NOT_FOUND`; a declined, revoked, accepted or expired one a
/// `CONFLICT`.
pub async fn accept(state: &AppState, caller: Uuid, id: Uuid) -> ApiResult<membership::Model> {
    let db = &state.db;
    let events = &state.events;
    let txn = db::begin_write(db).await?;
    let found = addressed_to(&txn, caller, id).await?;
    // Membership changes lock the organization; the invitation is read again under the lock, so of
    // two concurrent answers only one finds it open.
    lock_organization(&txn, found.organization_id).await?;
    let current = find(&txn, id).await?;
    ensure_open(&current)?;
    let organization_id = current.organization_id;
    let role = current.role;
    let already = membership::Entity::find()
        .filter(membership::Column::OrganizationId.eq(organization_id))
        .filter(membership::Column::UserId.eq(caller))
        .count(&txn)
        .await?;
    if already > 0 {
        return Err(ApiError::conflict("you are a member of this organization already"));
    }
    let membership = insert_membership(&txn, organization_id, caller, role).await?;
    bump_version(&txn, organization_id).await?;
    respond(&txn, current, InvitationStatus::Accepted).await?;
    txn.commit().await?;
    events.publish(DomainEvent::organization(
        organization_id,
        OrganizationEventKind::MemberAdded,
        Some(caller),
        Some(role),
    ));
    Ok(membership)
}

/// Declines an open invitation to the caller's email.
pub async fn decline(state: &AppState, caller: Uuid, id: Uuid) -> ApiResult<invitation::Model> {
    let db = &state.db;
    let txn = db::begin_write(db).await?;
    let found = addressed_to(&txn, caller, id).await?;
    lock_organization(&txn, found.organization_id).await?;
    let current = find(&txn, id).await?;
    ensure_open(&current)?;
    let declined = respond(&txn, current, InvitationStatus::Declined).await?;
    txn.commit().await?;
    Ok(declined)
}

/// The open invitations to the caller's email, oldest first.
pub async fn open_for(state: &AppState, caller: Uuid) -> ApiResult<Vec<invitation::Model>> {
    let db = &state.db;
    let email = caller_email(db, caller).await?;
    Ok(invitation::Entity::find()
        .filter(invitation::Column::Email.eq(email))
        .filter(invitation::Column::Status.eq(InvitationStatus::Pending))
        .filter(invitation::Column::ExpiresAt.gt(Utc::now()))
        .order_by_asc(invitation::Column::Id)
        .all(db)
        .await?)
}

/// An organization's invitations, newest first, at most [`LISTED`]. The caller decides who may see.
pub async fn of_organization(state: &AppState, organization_id: Uuid) -> ApiResult<Vec<invitation::Model>> {
    let db = &state.db;
    Ok(invitation::Entity::find()
        .filter(invitation::Column::OrganizationId.eq(organization_id))
        .order_by_desc(invitation::Column::Id)
        .limit(LISTED)
        .all(db)
        .await?)
}

async fn find(db: &impl ConnectionTrait, id: Uuid) -> ApiResult<invitation::Model> {
    invitation::Entity::find_by_id(id).one(db).await?.ok_or_else(|| ApiError::not_found("invitation"))
}

/// The invitation, when it is addressed to the caller's email; `NOT_FOUND` otherwise, so nobody
/// learns of invitations to others.
async fn addressed_to(db: &impl ConnectionTrait, caller: Uuid, id: Uuid) -> ApiResult<invitation::Model> {
    let email = caller_email(db, caller).await?;
    invitation::Entity::find_by_id(id)
        .filter(invitation::Column::Email.eq(email))
        .one(db)
        .await?
        .ok_or_else(|| ApiError::not_found("invitation"))
}

async fn caller_email(db: &impl ConnectionTrait, caller: Uuid) -> ApiResult<String> {
    let user = user::Entity::find_by_id(caller)
        .one(db)
        .await?
        .ok_or_else(|| ApiError::Unauthenticated("the account of this token no longer exists".into()))?;
    // Stored normalised; lower-cased again so that no older row can slip past the comparison.
    Ok(user.email.to_lowercase())
}

/// `CONFLICT` unless the invitation can still be answered.
fn ensure_open(invitation: &invitation::Model) -> ApiResult<()> {
    let closed = match invitation.status {
        InvitationStatus::Pending if invitation.expires_at <= Utc::now() => "this invitation has expired",
        InvitationStatus::Pending => return Ok(()),
        InvitationStatus::Accepted => "this invitation was accepted already",
        InvitationStatus::Declined => "this invitation was declined",
        InvitationStatus::Revoked => "this invitation was revoked",
    };
    Err(ApiError::conflict(closed))
}

async fn respond(
    db: &impl ConnectionTrait,
    invitation: invitation::Model,
    status: InvitationStatus,
) -> ApiResult<invitation::Model> {
    let mut active: invitation::ActiveModel = invitation.into();
    active.status = Set(status);
    active.responded_at = Set(Some(Utc::now()));
    Ok(active.update(db).await?)
}
