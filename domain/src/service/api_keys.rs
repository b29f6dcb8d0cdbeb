//! API keys for partner frontends. Organization admins create and revoke them; the key is shown once
//! and only its SHA-256 is stored (it carries 256 random bits, so no slow hash is needed).
//!
//! A `READ` key reads the public catalogue and search like an anonymous caller, with the higher quota
//! of a key. An `ORGANIZATION` key acts for its organization through a service account that is a
//! MEMBER of that organization only, so every existing membership check applies to it unchanged.

use chrono::Utc;
use entity::api_key::{self, ApiKeyScope};
use entity::membership::MembershipRole;
use entity::user;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use uuid::Uuid;

use crate::auth::password;
use crate::context::AppState;
use crate::db;
use crate::error::{ApiError, ApiResult};
use crate::service::{organizations, validate};

/// Every key starts with this, so leaked keys are easy to recognise (and to scan for).
pub const KEY_PREFIX: &str = "bmk_";
/// Active keys per organization at most.
pub const MAX_ACTIVE_KEYS: u64 = 20;

/// A verified key, as a request sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyCaller {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub scope: ApiKeyScope,
    /// Set for `ORGANIZATION` keys.
    pub service_user_id: Option<Uuid>,
}

/// Whether a presented credential looks like an API key rather than an access token.
pub fn is_api_key(credential: &str) -> bool {
    credential.starts_with(KEY_PREFIX)
}

/// Creates a key (organization ADMIN or OWNER); returns it with the key itself, shown only this once.
pub async fn create(
    state: &AppState,
    caller: Uuid,
    organization_id: Uuid,
    name: &str,
    scope: ApiKeyScope,
) -> ApiResult<(api_key::Model, String)> {
    let db = &state.db;
    let name = validate::text("input.name", name, 1, 100)?;
    let key = format!("{KEY_PREFIX}{}", crate::auth::new_token());
    let id = Uuid::now_v7();
    // The service account can never sign in: its password is a random value nobody knows.
    let service_password = match scope {
        ApiKeyScope::Organization => Some(password::hash(crate::auth::new_token()).await?),
        ApiKeyScope::Read => None,
    };
    let txn = db::begin_write(db).await?;
    entity::organization::Entity::find_by_id(organization_id)
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or_else(|| ApiError::not_found("organization"))?;
    organizations::require_role(&txn, organization_id, caller, MembershipRole::Admin).await?;
    let active = api_key::Entity::find()
        .filter(api_key::Column::OrganizationId.eq(organization_id))
        .filter(api_key::Column::RevokedAt.is_null())
        .count(&txn)
        .await?;
    if active >= MAX_ACTIVE_KEYS {
        return Err(ApiError::conflict_on(
            "input.organizationId",
            format!("at most {MAX_ACTIVE_KEYS} active API keys per organization; revoke one first"),
        ));
    }
    let now = Utc::now();
    let service_user_id = match service_password {
        Some(password_hash) => {
            let service = user::ActiveModel {
                id: Set(Uuid::now_v7()),
                email: Set(format!("api-key-{}@keys.bildungsmarkt.invalid", id.simple())),
                password_hash: Set(password_hash),
                display_name: Set(format!("API-Schlüssel „{name}“")),
                is_platform_admin: Set(false),
                created_at: Set(now),
                updated_at: Set(now),
                version: Set(1),
            }
            .insert(&txn)
            .await?;
            organizations::insert_membership(&txn, organization_id, service.id, MembershipRole::Member)
                .await?;
            Some(service.id)
        }
        None => None,
    };
    let model = api_key::ActiveModel {
        id: Set(id),
        organization_id: Set(organization_id),
        name: Set(name),
        scope: Set(scope),
        key_hash: Set(crate::auth::hash_token(&key)),
        prefix: Set(key.chars().take(12).collect()),
        service_user_id: Set(service_user_id),
        created_by: Set(caller),
        created_at: Set(now),
        revoked_at: Set(None),
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    Ok((model, key))
}

/// Revokes a key at once: it stops working on every instance with the next request, and its service
/// account leaves the organization. Revoking twice is a conflict.
pub async fn revoke(state: &AppState, caller: Uuid, id: Uuid) -> ApiResult<api_key::Model> {
    let db = &state.db;
    let txn = db::begin_write(db).await?;
    let found = api_key::Entity::find_by_id(id)
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or_else(|| ApiError::not_found("API key"))?;
    match organizations::role_of(&txn, found.organization_id, caller).await? {
        Some(role) if role >= MembershipRole::Admin => {}
        Some(_) => return Err(ApiError::forbidden("this needs the ADMIN role in the organization")),
        None => return Err(ApiError::not_found("API key")),
    }
    if found.revoked_at.is_some() {
        return Err(ApiError::conflict_on("id", "this API key is already revoked"));
    }
    if let Some(service) = found.service_user_id {
        entity::membership::Entity::delete_many()
            .filter(entity::membership::Column::UserId.eq(service))
            .exec(&txn)
            .await?;
    }
    let mut active: api_key::ActiveModel = found.into();
    active.revoked_at = Set(Some(Utc::now()));
    let revoked = active.update(&txn).await?;
    txn.commit().await?;
    Ok(revoked)
}

/// The organization's keys, newest first, revoked ones included (ADMIN or OWNER).
pub async fn list(state: &AppState, caller: Uuid, organization_id: Uuid) -> ApiResult<Vec<api_key::Model>> {
    let db = &state.db;
    organizations::require_admin(db, organization_id, caller).await?;
    Ok(api_key::Entity::find()
        .filter(api_key::Column::OrganizationId.eq(organization_id))
        .order_by_desc(api_key::Column::Id)
        .all(db)
        .await?)
}

/// The active key `presented` stands for, if any.
pub async fn authenticate(state: &AppState, presented: &str) -> ApiResult<Option<KeyCaller>> {
    let db = &state.db;
    if !is_api_key(presented) || presented.len() > 100 {
        return Ok(None);
    }
    let found = api_key::Entity::find()
        .filter(api_key::Column::KeyHash.eq(crate::auth::hash_token(presented)))
        .filter(api_key::Column::RevokedAt.is_null())
        .one(db)
        .await?;
    Ok(found.map(|k| KeyCaller {
        id: k.id,
        organization_id: k.organization_id,
        scope: k.scope,
        service_user_id: k.service_user_id,
    }))
}
