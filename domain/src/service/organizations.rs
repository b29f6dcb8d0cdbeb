//! Organizations and their memberships. Every write runs in one transaction; membership changes lock
//! the organization row first, so two concurrent demotions cannot leave it without an owner.

use chrono::Utc;
use entity::membership::{self, MembershipRole};
use entity::organization::{self, Bundesland, OrganizationKind};
use sea_orm::{
    ActiveEnum, ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use uuid::Uuid;

use crate::context::AppState;
use crate::db;
use crate::error::{ApiError, ApiResult};
use crate::events::{DomainEvent, OrganizationEventKind};
use crate::search::outbox;
use crate::service::{accounts, validate};

#[derive(Debug, Clone, Default)]
pub struct AddressInput {
    pub street: Option<String>,
    pub postal_code: Option<String>,
    pub city: Option<String>,
    pub bundesland: Option<Bundesland>,
    /// ISO 3166-1 alpha-2; `DE` when not given.
    pub country: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewOrganization {
    pub kind: OrganizationKind,
    pub name: String,
    pub slug: Option<String>,
    pub description: Option<String>,
    pub website: Option<String>,
    pub address: Option<AddressInput>,
    pub location: Option<(f64, f64)>,
    pub employee_count: Option<i32>,
    pub azav_certified: Option<bool>,
}

/// A partial update: `None` leaves a field as it is. Clearing optional fields goes through empty
/// strings (text) or `clear_location`.
#[derive(Debug, Clone, Default)]
pub struct OrganizationPatch {
    pub name: Option<String>,
    pub description: Option<String>,
    pub website: Option<String>,
    pub address: Option<AddressInput>,
    pub location: Option<(f64, f64)>,
    pub clear_location: bool,
    pub employee_count: Option<i32>,
    pub azav_certified: Option<bool>,
}

pub async fn find(db: &impl ConnectionTrait, id: Uuid) -> ApiResult<organization::Model> {
    organization::Entity::find_by_id(id).one(db).await?.ok_or_else(|| ApiError::not_found("organization"))
}

/// Organizations by id, in one statement (none for an empty list).
pub async fn by_ids(
    db: &impl ConnectionTrait,
    ids: impl IntoIterator<Item = Uuid>,
) -> ApiResult<std::collections::HashMap<Uuid, organization::Model>> {
    let mut ids: Vec<Uuid> = ids.into_iter().collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(std::collections::HashMap::new());
    }
    Ok(organization::Entity::find()
        .filter(organization::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|o| (o.id, o))
        .collect())
}

pub async fn find_by_slug(state: &AppState, slug: &str) -> ApiResult<organization::Model> {
    let db = &state.db;
    organization::Entity::find()
        .filter(organization::Column::Slug.eq(slug.trim().to_lowercase()))
        .one(db)
        .await?
        .ok_or_else(|| ApiError::not_found("organization"))
}

/// One page in id (= creation) order: up to `limit + 1` rows, so the caller can tell whether more follow.
pub async fn list(
    state: &AppState,
    kind: Option<OrganizationKind>,
    after: Option<Uuid>,
    limit: u64,
) -> ApiResult<Vec<organization::Model>> {
    let db = &state.db;
    let mut query = organization::Entity::find().order_by_asc(organization::Column::Id);
    if let Some(kind) = kind {
        query = query.filter(organization::Column::Kind.eq(kind));
    }
    if let Some(after) = after {
        query = query.filter(organization::Column::Id.gt(after));
    }
    Ok(query.limit(limit + 1).all(db).await?)
}

pub async fn role_of(
    db: &impl ConnectionTrait,
    organization_id: Uuid,
    user_id: Uuid,
) -> ApiResult<Option<MembershipRole>> {
    Ok(membership::Entity::find()
        .filter(membership::Column::OrganizationId.eq(organization_id))
        .filter(membership::Column::UserId.eq(user_id))
        .one(db)
        .await?
        .map(|m| m.role))
}

struct ValidAddress {
    street: Option<String>,
    postal_code: Option<String>,
    city: Option<String>,
    bundesland: Option<Bundesland>,
    country: String,
}

fn validate_address(address: &AddressInput) -> ApiResult<ValidAddress> {
    let country = match &address.country {
        Some(c) => {
            let c = c.trim().to_ascii_uppercase();
            if c.len() != 2 || !c.chars().all(|ch| ch.is_ascii_uppercase()) {
                return Err(ApiError::bad_input(
                    "input.address.country",
                    "country must be an ISO 3166-1 alpha-2 code such as DE",
                ));
            }
            c
        }
        None => "DE".to_owned(),
    };
    let postal_code =
        validate::optional_text("input.address.postalCode", address.postal_code.as_deref(), 10)?;
    if let Some(code) = &postal_code {
        let german = country == "DE";
        let ok = if german {
            code.len() == 5 && code.chars().all(|c| c.is_ascii_digit())
        } else {
            code.chars().all(|c| c.is_ascii_alphanumeric() || c == ' ' || c == '-')
        };
        if !ok {
            return Err(ApiError::bad_input(
                "input.address.postalCode",
                if german {
                    "a German postal code has five digits"
                } else {
                    "postal code has invalid characters"
                },
            ));
        }
    }
    if address.bundesland.is_some() && country != "DE" {
        return Err(ApiError::bad_input(
            "input.address.bundesland",
            "a Bundesland applies only to addresses in Germany",
        ));
    }
    Ok(ValidAddress {
        street: validate::optional_text("input.address.street", address.street.as_deref(), 200)?,
        postal_code,
        city: validate::optional_text("input.address.city", address.city.as_deref(), 120)?,
        bundesland: address.bundesland,
        country,
    })
}

fn validate_kind_specific(
    kind: OrganizationKind,
    employee_count: Option<i32>,
    azav: Option<bool>,
) -> ApiResult<()> {
    if let Some(count) = employee_count {
        if kind != OrganizationKind::Firm {
            return Err(ApiError::bad_input("input.employeeCount", "employee count applies to firms only"));
        }
        if !(1..=10_000_000).contains(&count) {
            return Err(ApiError::bad_input(
                "input.employeeCount",
                "employee count must be between 1 and 10000000",
            ));
        }
    }
    if azav == Some(true) && kind != OrganizationKind::Provider {
        return Err(ApiError::bad_input(
            "input.azavCertified",
            "AZAV certification applies to providers only",
        ));
    }
    Ok(())
}

/// Creates the organization and makes `owner` its OWNER, in one transaction.
pub async fn create(state: &AppState, owner: Uuid, input: NewOrganization) -> ApiResult<organization::Model> {
    let db = &state.db;
    let events = &state.events;
    let name = validate::text("input.name", &input.name, 2, 200)?;
    let description = validate::optional_text("input.description", input.description.as_deref(), 10_000)?;
    let website = validate::website("input.website", input.website.as_deref())?;
    let address = validate_address(&input.address.unwrap_or_default())?;
    let location =
        input.location.map(|(lat, lng)| validate::coordinates("input.location", lat, lng)).transpose()?;
    validate_kind_specific(input.kind, input.employee_count, input.azav_certified)?;
    let explicit_slug = input.slug.as_deref().map(|s| validate::slug("input.slug", s)).transpose()?;

    let txn = db::begin_write(db).await?;
    let slug = match explicit_slug {
        Some(slug) => {
            if slug_taken(&txn, &slug).await? {
                return Err(slug_conflict());
            }
            slug
        }
        None => free_slug(&txn, &validate::slugify(&name)).await?,
    };
    let now = Utc::now();
    let org = organization::ActiveModel {
        id: Set(Uuid::now_v7()),
        kind: Set(input.kind),
        name: Set(name),
        slug: Set(slug),
        description: Set(description.unwrap_or_default()),
        website: Set(website),
        street: Set(address.street),
        postal_code: Set(address.postal_code),
        city: Set(address.city),
        bundesland: Set(address.bundesland),
        country: Set(address.country),
        latitude: Set(location.map(|l| l.0)),
        longitude: Set(location.map(|l| l.1)),
        employee_count: Set(input.employee_count),
        azav_certified: Set(input.azav_certified.unwrap_or(false)),
        verified: Set(false),
        created_at: Set(now),
        updated_at: Set(now),
        version: Set(1),
    }
    .insert(&txn)
    .await
    .map_err(|e| match ApiError::from(e) {
        ApiError::Conflict { .. } => slug_conflict(),
        other => other,
    })?;
    insert_membership(&txn, org.id, owner, MembershipRole::Owner).await?;
    txn.commit().await?;
    events.publish(DomainEvent::organization(
        org.id,
        OrganizationEventKind::MemberAdded,
        Some(owner),
        Some(MembershipRole::Owner),
    ));
    Ok(org)
}

fn slug_conflict() -> ApiError {
    ApiError::conflict_on("input.slug", "this slug is already taken")
}

async fn slug_taken(db: &impl ConnectionTrait, slug: &str) -> ApiResult<bool> {
    Ok(organization::Entity::find().filter(organization::Column::Slug.eq(slug)).count(db).await? > 0)
}

/// `base`, or `base-2`, `base-3`, … whichever is free first.
async fn free_slug(db: &impl ConnectionTrait, base: &str) -> ApiResult<String> {
    let taken: Vec<String> = organization::Entity::find()
        .select_only()
        .column(organization::Column::Slug)
        .filter(organization::Column::Slug.starts_with(base))
        .into_tuple()
        .all(db)
        .await?;
    if !taken.iter().any(|s| s == base) {
        return Ok(base.to_owned());
    }
    Ok((2..)
        .map(|n| format!("{base}-{n}"))
        .find(|candidate| !taken.contains(candidate))
        .unwrap_or_else(|| format!("{base}-{}", Uuid::now_v7().simple())))
}

pub(crate) async fn insert_membership(
    db: &impl ConnectionTrait,
    organization_id: Uuid,
    user_id: Uuid,
    role: MembershipRole,
) -> ApiResult<membership::Model> {
    Ok(membership::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(organization_id),
        user_id: Set(user_id),
        role: Set(role),
        created_at: Set(Utc::now()),
    }
    .insert(db)
    .await?)
}

/// The caller's role when it is at least `needed`, else `FORBIDDEN`.
pub(crate) async fn require_role(
    txn: &impl ConnectionTrait,
    organization_id: Uuid,
    caller: Uuid,
    needed: MembershipRole,
) -> ApiResult<MembershipRole> {
    match role_of(txn, organization_id, caller).await? {
        Some(role) if role >= needed => Ok(role),
        Some(_) => {
            Err(ApiError::forbidden(format!("this needs the {} role in the organization", needed.to_value())))
        }
        None => Err(ApiError::forbidden("only members of the organization may do this")),
    }
}

/// That the organization exists (`NOT_FOUND`) and `caller` administers it (ADMIN or OWNER, else
/// `FORBIDDEN`): for the admin-only listings.
pub(crate) async fn require_admin(
    db: &impl ConnectionTrait,
    organization_id: Uuid,
    caller: Uuid,
) -> ApiResult<()> {
    find(db, organization_id).await?;
    require_role(db, organization_id, caller, MembershipRole::Admin).await?;
    Ok(())
}

/// Locks the organization row for the rest of the transaction (a no-op on SQLite, whose writers are
/// serialised anyway).
pub(crate) async fn lock_organization(txn: &DatabaseTransaction, id: Uuid) -> ApiResult<organization::Model> {
    organization::Entity::find_by_id(id)
        .lock_exclusive()
        .one(txn)
        .await?
        .ok_or_else(|| ApiError::not_found("organization"))
}

/// Applies `patch` when `expected_version` is still current; a stale version is a `CONFLICT` and
/// nothing is written.
pub async fn update(
    state: &AppState,
    caller: Uuid,
    id: Uuid,
    expected_version: i32,
    patch: OrganizationPatch,
) -> ApiResult<organization::Model> {
    let db = &state.db;
    let events = &state.events;
    let txn = db::begin_write(db).await?;
    let current = lock_organization(&txn, id).await?;
    require_role(&txn, id, caller, MembershipRole::Admin).await?;
    if current.version != expected_version {
        return Err(ApiError::conflict_on(
            "expectedVersion",
            format!(
                "the organization was changed meanwhile (version {} instead of {expected_version}); reload and retry",
                current.version
            ),
        ));
    }
    let name = patch.name.as_deref().map(|n| validate::text("input.name", n, 2, 200)).transpose()?;
    let description = patch
        .description
        .as_deref()
        .map(|d| validate::optional_text("input.description", Some(d), 10_000).map(Option::unwrap_or_default))
        .transpose()?;
    let website =
        patch.website.as_deref().map(|w| validate::website("input.website", Some(w))).transpose()?;
    let address = patch.address.as_ref().map(validate_address).transpose()?;
    let location =
        patch.location.map(|(lat, lng)| validate::coordinates("input.location", lat, lng)).transpose()?;
    validate_kind_specific(current.kind, patch.employee_count, patch.azav_certified)?;

    let mut active: organization::ActiveModel = current.clone().into();
    if let Some(name) = name {
        active.name = Set(name);
    }
    if let Some(description) = description {
        active.description = Set(description);
    }
    if let Some(website) = website {
        active.website = Set(website);
    }
    if let Some(address) = address {
        active.street = Set(address.street);
        active.postal_code = Set(address.postal_code);
        active.city = Set(address.city);
        active.bundesland = Set(address.bundesland);
        active.country = Set(address.country);
    }
    if let Some((lat, lng)) = location {
        active.latitude = Set(Some(lat));
        active.longitude = Set(Some(lng));
    } else if patch.clear_location {
        active.latitude = Set(None);
        active.longitude = Set(None);
    }
    if let Some(count) = patch.employee_count {
        active.employee_count = Set(Some(count));
    }
    if let Some(azav) = patch.azav_certified {
        active.azav_certified = Set(azav);
    }
    active.updated_at = Set(Utc::now());
    active.version = Set(current.version + 1);
    let updated = active.update(&txn).await?;
    if updated.kind == OrganizationKind::Provider {
        // Name and location are part of every course document of the provider.
        outbox::enqueue_provider(&txn, id).await?;
    }
    txn.commit().await?;
    events.publish(DomainEvent::organization(id, OrganizationEventKind::OrganizationUpdated, None, None));
    Ok(updated)
}

/// Platform admins mark organizations as verified (checked identity, e.g. a chamber's register entry).
pub async fn set_verified(
    state: &AppState,
    caller: Uuid,
    id: Uuid,
    verified: bool,
) -> ApiResult<organization::Model> {
    let db = &state.db;
    let admin = accounts::find_by_id(db, caller).await?.is_some_and(|u| u.is_platform_admin);
    if !admin {
        return Err(ApiError::forbidden("only platform admins may verify organizations"));
    }
    let txn = db::begin_write(db).await?;
    let current = lock_organization(&txn, id).await?;
    let mut active: organization::ActiveModel = current.clone().into();
    active.verified = Set(verified);
    active.updated_at = Set(Utc::now());
    active.version = Set(current.version + 1);
    let updated = active.update(&txn).await?;
    txn.commit().await?;
    Ok(updated)
}

/// Removes a member. Members may remove themselves (leave); OWNER and ADMIN may remove others, but an
/// ADMIN may not remove an OWNER; the last OWNER stays.
pub async fn remove_member(
    state: &AppState,
    caller: Uuid,
    organization_id: Uuid,
    user_id: Uuid,
) -> ApiResult<membership::Model> {
    let db = &state.db;
    let events = &state.events;
    let txn = db::begin_write(db).await?;
    lock_organization(&txn, organization_id).await?;
    let caller_role = require_role(&txn, organization_id, caller, MembershipRole::Member).await?;
    let target = find_membership(&txn, organization_id, user_id).await?;
    if caller != user_id {
        if caller_role < MembershipRole::Admin {
            return Err(ApiError::forbidden("only an OWNER or ADMIN may remove other members"));
        }
        if target.role == MembershipRole::Owner && caller_role != MembershipRole::Owner {
            return Err(ApiError::forbidden("only an OWNER may remove an OWNER"));
        }
    }
    if target.role == MembershipRole::Owner {
        ensure_another_owner(&txn, organization_id).await?;
    }
    membership::Entity::delete_by_id(target.id).exec(&txn).await?;
    bump_version(&txn, organization_id).await?;
    txn.commit().await?;
    events.publish(DomainEvent::organization(
        organization_id,
        OrganizationEventKind::MemberRemoved,
        Some(user_id),
        None,
    ));
    Ok(target)
}

/// Changes a member's role. OWNER and ADMIN may change roles; only an OWNER may grant or take the
/// OWNER role; the last OWNER cannot be demoted.
pub async fn change_role(
    state: &AppState,
    caller: Uuid,
    organization_id: Uuid,
    user_id: Uuid,
    role: MembershipRole,
) -> ApiResult<membership::Model> {
    let db = &state.db;
    let events = &state.events;
    let txn = db::begin_write(db).await?;
    lock_organization(&txn, organization_id).await?;
    let caller_role = require_role(&txn, organization_id, caller, MembershipRole::Admin).await?;
    let target = find_membership(&txn, organization_id, user_id).await?;
    let touches_owner = role == MembershipRole::Owner || target.role == MembershipRole::Owner;
    if touches_owner && caller_role != MembershipRole::Owner {
        return Err(ApiError::forbidden("only an OWNER may grant or take the OWNER role"));
    }
    if target.role == role {
        return Ok(target);
    }
    if target.role == MembershipRole::Owner {
        ensure_another_owner(&txn, organization_id).await?;
    }
    let mut active: membership::ActiveModel = target.into();
    active.role = Set(role);
    let updated = active.update(&txn).await?;
    bump_version(&txn, organization_id).await?;
    txn.commit().await?;
    events.publish(DomainEvent::organization(
        organization_id,
        OrganizationEventKind::MemberRoleChanged,
        Some(user_id),
        Some(role),
    ));
    Ok(updated)
}

async fn find_membership(
    txn: &DatabaseTransaction,
    organization_id: Uuid,
    user_id: Uuid,
) -> ApiResult<membership::Model> {
    membership::Entity::find()
        .filter(membership::Column::OrganizationId.eq(organization_id))
        .filter(membership::Column::UserId.eq(user_id))
        .one(txn)
        .await?
        .ok_or_else(|| ApiError::not_found("membership"))
}

async fn ensure_another_owner(txn: &DatabaseTransaction, organization_id: Uuid) -> ApiResult<()> {
    let owners = membership::Entity::find()
        .filter(membership::Column::OrganizationId.eq(organization_id))
        .filter(membership::Column::Role.eq(MembershipRole::Owner))
        .count(txn)
        .await?;
    if owners <= 1 {
        return Err(ApiError::conflict_on(
            "userId",
            "the last OWNER cannot be removed or demoted; make another member OWNER first",
        ));
    }
    Ok(())
}

/// Membership changes are changes of the organization aggregate: they bump its version too, so an
/// edit based on an older member list is detected.
pub(crate) async fn bump_version(txn: &DatabaseTransaction, id: Uuid) -> ApiResult<()> {
    use sea_orm::sea_query::{Expr, ExprTrait};
    organization::Entity::update_many()
        .col_expr(organization::Column::Version, Expr::col(organization::Column::Version).add(1))
        .col_expr(organization::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(organization::Column::Id.eq(id))
        .exec(txn)
        .await?;
    Ok(())
}

/// Memberships of several organizations at once (for the `members` DataLoader).
pub async fn memberships_of_organizations(
    state: &AppState,
    ids: &[Uuid],
) -> ApiResult<Vec<membership::Model>> {
    let db = &state.db;
    Ok(membership::Entity::find()
        .filter(membership::Column::OrganizationId.is_in(ids.iter().copied()))
        .order_by_asc(membership::Column::CreatedAt)
        .all(db)
        .await?)
}

pub async fn memberships_of_user(state: &AppState, user_id: Uuid) -> ApiResult<Vec<membership::Model>> {
    let db = &state.db;
    Ok(membership::Entity::find()
        .filter(membership::Column::UserId.eq(user_id))
        .order_by_asc(membership::Column::CreatedAt)
        .all(db)
        .await?)
}
