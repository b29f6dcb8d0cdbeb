//! Job profiles: a role's skills with a target level and whether each is required or desired.
//! Shared profiles (no organization) are read by everyone and curated by platform admins; a firm
//! copies one and adapts the copy, which only its members see and its OWNER/ADMIN change.

use std::collections::HashSet;

use chrono::Utc;
use entity::organization::OrganizationKind;
use entity::{job_profile, job_profile_skill};
use sea_orm::sea_query::Condition;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    QueryOrder, Set,
};
use uuid::Uuid;

use super::{MAX_PROFILE_SKILLS, check_level};
use crate::context::AppState;
use crate::db;
use crate::error::{ApiError, ApiResult};
use crate::service::courses::stale;
use crate::service::{access, organizations, skills, validate};

/// A skill of a profile as written: (skill id, target level, required).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileSkill {
    pub skill_id: String,
    pub target_level: i32,
    pub required: bool,
}

impl From<job_profile_skill::Model> for ProfileSkill {
    fn from(m: job_profile_skill::Model) -> Self {
        Self { skill_id: m.skill_id, target_level: m.target_level, required: m.required }
    }
}

#[derive(Debug, Clone, Default)]
pub struct ProfileFields {
    pub name: Option<String>,
    pub job_family: Option<String>,
    pub description: Option<String>,
    pub dqr_level: Option<Option<i32>>,
    pub skills: Option<Vec<ProfileSkill>>,
}

/// Whether a caller belonging to `own` may read `profile`.
fn readable(own: &[Uuid], profile: &job_profile::Model) -> bool {
    profile.organization_id.is_none_or(|org| own.contains(&org))
}

/// A profile the caller may read (shared, or their firm's), else `NOT_FOUND`.
pub async fn visible(
    db: &impl ConnectionTrait,
    caller: Option<Uuid>,
    id: Uuid,
) -> ApiResult<job_profile::Model> {
    let profile = job_profile::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| ApiError::not_found("job profile"))?;
    let own = match caller {
        Some(caller) if profile.organization_id.is_some() => access::organizations_of(db, caller).await?,
        _ => Vec::new(),
    };
    if readable(&own, &profile) { Ok(profile) } else { Err(ApiError::not_found("job profile")) }
}

/// The shared profiles, and with `organization_id` that firm's own (its members only), by family
/// and name.
pub async fn list(
    state: &AppState,
    caller: Option<Uuid>,
    organization_id: Option<Uuid>,
    job_family: Option<&str>,
) -> ApiResult<Vec<job_profile::Model>> {
    let db = &state.db;
    let mut scope = Condition::any().add(job_profile::Column::OrganizationId.is_null());
    if let Some(org) = organization_id {
        let caller = caller.ok_or_else(ApiError::unauthenticated)?;
        organizations::find(db, org).await?;
        if organizations::role_of(db, org, caller).await?.is_none() {
            return Err(ApiError::forbidden("only members of the organization may see its job profiles"));
        }
        scope = scope.add(job_profile::Column::OrganizationId.eq(org));
    }
    let mut select = job_profile::Entity::find()
        .filter(scope)
        .order_by_asc(job_profile::Column::JobFamily)
        .order_by_asc(job_profile::Column::Name);
    if let Some(family) = job_family {
        select = select.filter(job_profile::Column::JobFamily.eq(family));
    }
    Ok(select.all(db).await?)
}

/// The skills of each profile in `ids`, in the profile's order.
pub async fn skills_of(db: &impl ConnectionTrait, ids: &[Uuid]) -> ApiResult<Vec<job_profile_skill::Model>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(job_profile_skill::Entity::find()
        .filter(job_profile_skill::Column::ProfileId.is_in(ids.iter().copied()))
        .order_by_asc(job_profile_skill::Column::ProfileId)
        .order_by_asc(job_profile_skill::Column::Position)
        .all(db)
        .await?)
}

/// Who may change a profile owned by `organization_id` (`None`: a shared one).
async fn require_writer(
    db: &impl ConnectionTrait,
    caller: Uuid,
    is_admin: bool,
    organization_id: Option<Uuid>,
) -> ApiResult<()> {
    match organization_id {
        None if is_admin => Ok(()),
        None => Err(ApiError::forbidden("only platform admins may curate the shared job profiles")),
        Some(org) => {
            access::member_of_kind(db, caller, org, OrganizationKind::Firm, "organizationId").await?;
            organizations::require_admin(db, org, caller).await
        }
    }
}

/// A new profile: shared (`organization_id` `None`, platform admins) or a firm's own (its
/// OWNER/ADMIN). Name, family and at least one skill are needed.
pub async fn create(
    state: &AppState,
    caller: Uuid,
    is_admin: bool,
    organization_id: Option<Uuid>,
    fields: ProfileFields,
) -> ApiResult<job_profile::Model> {
    if fields.name.is_none() {
        return Err(ApiError::bad_input("input.name", "a job profile needs a name"));
    }
    if fields.skills.as_ref().is_none_or(Vec::is_empty) {
        return Err(ApiError::bad_input("input.skills", "a job profile needs at least one skill"));
    }
    let txn = db::begin_write(&state.db).await?;
    require_writer(&txn, caller, is_admin, organization_id).await?;
    let now = Utc::now();
    let blank = job_profile::Model {
        id: Uuid::now_v7(),
        organization_id,
        key: None,
        name: String::new(),
        job_family: "Sonstige".into(),
        description: String::new(),
        dqr_level: None,
        based_on: None,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let (model, skills) = apply(&txn, blank, fields).await?;
    let inserted = job_profile::ActiveModel::from(model).insert(&txn).await?;
    if let Some(skills) = skills {
        replace_skills(&txn, inserted.id, &skills).await?;
    }
    txn.commit().await?;
    Ok(inserted)
}

/// A copy of a profile the caller may read into their firm, to adapt for its own role.
pub async fn copy(
    state: &AppState,
    caller: Uuid,
    profile_id: Uuid,
    firm_id: Uuid,
    name: Option<String>,
) -> ApiResult<job_profile::Model> {
    let txn = db::begin_write(&state.db).await?;
    let source = visible(&txn, Some(caller), profile_id).await?;
    require_writer(&txn, caller, false, Some(firm_id)).await?;
    let name = match name {
        Some(name) => validate::text("name", &name, 3, 120)?,
        None => source.name.clone(),
    };
    let now = Utc::now();
    let copy = job_profile::Model {
        id: Uuid::now_v7(),
        organization_id: Some(firm_id),
        key: None,
        name,
        based_on: Some(source.id),
        created_at: now,
        updated_at: now,
        version: 1,
        ..source.clone()
    };
    let inserted = job_profile::ActiveModel::from(copy).insert(&txn).await?;
    let skills: Vec<ProfileSkill> =
        skills_of(&txn, &[source.id]).await?.into_iter().map(ProfileSkill::from).collect();
    replace_skills(&txn, inserted.id, &skills).await?;
    txn.commit().await?;
    Ok(inserted)
}

pub async fn update(
    state: &AppState,
    caller: Uuid,
    is_admin: bool,
    id: Uuid,
    expected_version: i32,
    fields: ProfileFields,
) -> ApiResult<job_profile::Model> {
    let txn = db::begin_write(&state.db).await?;
    let current = visible(&txn, Some(caller), id).await?;
    require_writer(&txn, caller, is_admin, current.organization_id).await?;
    if current.version != expected_version {
        return Err(stale("job profile", current.version, expected_version));
    }
    if fields.skills.as_ref().is_some_and(Vec::is_empty) {
        return Err(ApiError::bad_input("input.skills", "a job profile needs at least one skill"));
    }
    let (mut model, skills) = apply(&txn, current.clone(), fields).await?;
    model.updated_at = Utc::now();
    model.version = current.version + 1;
    let updated = job_profile::ActiveModel::from(model).reset_all().update(&txn).await?;
    if let Some(skills) = skills {
        replace_skills(&txn, id, &skills).await?;
    }
    txn.commit().await?;
    Ok(updated)
}

/// Deletes a profile; staff on it keep their records and lose the role.
pub async fn delete(
    state: &AppState,
    caller: Uuid,
    is_admin: bool,
    id: Uuid,
) -> ApiResult<job_profile::Model> {
    let txn = db::begin_write(&state.db).await?;
    let current = visible(&txn, Some(caller), id).await?;
    require_writer(&txn, caller, is_admin, current.organization_id).await?;
    job_profile::Entity::delete_by_id(id).exec(&txn).await?;
    txn.commit().await?;
    Ok(current)
}

async fn apply(
    txn: &DatabaseTransaction,
    mut model: job_profile::Model,
    fields: ProfileFields,
) -> ApiResult<(job_profile::Model, Option<Vec<ProfileSkill>>)> {
    if let Some(name) = fields.name {
        model.name = validate::text("input.name", &name, 3, 120)?;
    }
    if let Some(family) = fields.job_family {
        model.job_family = validate::text("input.jobFamily", &family, 2, 80)?;
    }
    if let Some(description) = fields.description {
        model.description =
            validate::optional_text("input.description", Some(&description), 4_000)?.unwrap_or_default();
    }
    if let Some(level) = fields.dqr_level {
        model.dqr_level = match level {
            Some(l) if (1..=8).contains(&l) => Some(l as i16),
            Some(_) => return Err(ApiError::bad_input("input.dqrLevel", "DQR level must be 1 to 8")),
            None => None,
        };
    }
    if let Some(list) = &fields.skills {
        validate::at_most("input.skills", list.len(), MAX_PROFILE_SKILLS)?;
        for (i, skill) in list.iter().enumerate() {
            check_level(&format!("input.skills[{i}].targetLevel"), skill.target_level, 1)?;
        }
        let ids: Vec<String> = list.iter().map(|s| s.skill_id.clone()).collect();
        skills::validate_ids(txn, "input.skills", &ids).await?;
    }
    Ok((model, fields.skills))
}

pub(crate) async fn replace_skills(
    txn: &impl ConnectionTrait,
    profile_id: Uuid,
    list: &[ProfileSkill],
) -> ApiResult<()> {
    job_profile_skill::Entity::delete_many()
        .filter(job_profile_skill::Column::ProfileId.eq(profile_id))
        .exec(txn)
        .await?;
    let mut seen = HashSet::new();
    let rows: Vec<_> = list
        .iter()
        .filter(|s| seen.insert(s.skill_id.clone()))
        .enumerate()
        .map(|(position, s)| job_profile_skill::ActiveModel {
            profile_id: Set(profile_id),
            skill_id: Set(s.skill_id.clone()),
            target_level: Set(s.target_level),
            required: Set(s.required),
            position: Set(position as i32),
        })
        .collect();
    if !rows.is_empty() {
        job_profile_skill::Entity::insert_many(rows).exec(txn).await?;
    }
    Ok(())
}
