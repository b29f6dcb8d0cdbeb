//! A firm's staff records, their assessments and their prior learning. Only the firm's OWNER and
//! ADMIN, signed in as persons, reach any of it ([`authorize`]); anyone else gets `NOT_FOUND` for
//! a record, so that ids do not tell whether a person exists.

use std::collections::HashSet;

use chrono::{NaiveDate, Utc};
use entity::organization::{self, OrganizationKind};
use entity::staff_assessment::{self, AssessmentSource};
use entity::staff_evidence::{self, EvidenceKind};
use entity::{job_profile, staff_member};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{MAX_STAFF_PER_REQUEST, check_level, profiles};
use crate::context::AppState;
use crate::db;
use crate::error::{ApiError, ApiResult};
use crate::service::courses::stale;
use crate::service::{json_list, organizations, skills, validate};

/// Most assessments or evidence skills one request writes.
pub const MAX_ASSESSMENTS: usize = crate::service::validate::bounds::ASSESSMENTS;

#[derive(Debug, Clone, Default)]
pub struct StaffFields {
    pub label: Option<String>,
    pub profile_id: Option<Option<Uuid>>,
    pub site: Option<Option<String>>,
    pub postal_code: Option<Option<String>>,
}

#[derive(Debug, Clone)]
pub struct EvidenceFields {
    pub kind: EvidenceKind,
    pub title: String,
    pub skill_ids: Vec<String>,
    pub level: i32,
    pub course_id: Option<Uuid>,
    pub achieved_on: Option<NaiveDate>,
}

/// The firm, when `caller` is one of its OWNER/ADMIN members; else `FORBIDDEN` (`NOT_FOUND` for an
/// unknown firm). Bad input when the organization is a provider.
pub async fn authorize(
    db: &impl ConnectionTrait,
    caller: Uuid,
    firm_id: Uuid,
) -> ApiResult<organization::Model> {
    let firm = organizations::find(db, firm_id).await?;
    match organizations::role_of(db, firm_id, caller).await? {
        Some(role) if role >= entity::membership::MembershipRole::Admin => {}
        _ => return Err(ApiError::forbidden("only the firm's owners and admins may see its staff")),
    }
    if firm.kind != OrganizationKind::Firm {
        return Err(ApiError::bad_input("firmId", "firmId must be a firm"));
    }
    Ok(firm)
}

/// A staff record the caller administers, else `NOT_FOUND`.
pub async fn find(db: &impl ConnectionTrait, caller: Uuid, id: Uuid) -> ApiResult<staff_member::Model> {
    let member = staff_member::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| ApiError::not_found("staff member"))?;
    authorize(db, caller, member.firm_id).await.map_err(|_| ApiError::not_found("staff member"))?;
    Ok(member)
}

/// The firm's staff, of one site or profile when given.
fn scope(
    firm_id: Uuid,
    site: Option<&str>,
    profile_id: Option<Uuid>,
) -> sea_orm::Select<staff_member::Entity> {
    let mut select = staff_member::Entity::find().filter(staff_member::Column::FirmId.eq(firm_id));
    if let Some(site) = site {
        select = select.filter(staff_member::Column::Site.eq(site));
    }
    if let Some(profile) = profile_id {
        select = select.filter(staff_member::Column::ProfileId.eq(profile));
    }
    select
}

/// One page of the firm's staff (optionally of one site or profile) in id order: at most `first`
/// (1 to [`MAX_STAFF_PER_REQUEST`]) after `after`.
pub async fn list(
    db: &impl ConnectionTrait,
    caller: Uuid,
    firm_id: Uuid,
    site: Option<&str>,
    profile_id: Option<Uuid>,
    after: Option<Uuid>,
    first: usize,
) -> ApiResult<Vec<staff_member::Model>> {
    if !(1..=MAX_STAFF_PER_REQUEST).contains(&first) {
        return Err(ApiError::bad_input("first", format!("first must be 1 to {MAX_STAFF_PER_REQUEST}")));
    }
    authorize(db, caller, firm_id).await?;
    let mut select = scope(firm_id, site, profile_id).order_by_asc(staff_member::Column::Id);
    if let Some(after) = after {
        select = select.filter(staff_member::Column::Id.gt(after));
    }
    Ok(select.limit(first as u64).all(db).await?)
}

/// The staff of an analysis: the firm's (of one site or profile), refused when more than
/// [`MAX_STAFF_PER_REQUEST`] so that one request stays bounded.
pub async fn for_analysis(
    db: &impl ConnectionTrait,
    firm_id: Uuid,
    site: Option<&str>,
    profile_id: Option<Uuid>,
) -> ApiResult<Vec<staff_member::Model>> {
    let members = scope(firm_id, site, profile_id)
        .order_by_asc(staff_member::Column::Label)
        .limit(MAX_STAFF_PER_REQUEST as u64 + 1)
        .all(db)
        .await?;
    if members.len() > MAX_STAFF_PER_REQUEST {
        return Err(ApiError::bad_input(
            "firmId",
            format!(
                "more than {MAX_STAFF_PER_REQUEST} staff: narrow the analysis by site, profile or staffIds"
            ),
        ));
    }
    Ok(members)
}

/// Staff records by id, all of `firm_id`: a record of another firm (or unknown) is bad input on
/// `field`, naming it.
pub async fn of_firm(
    db: &impl ConnectionTrait,
    firm_id: Uuid,
    ids: &[Uuid],
    field: &str,
) -> ApiResult<Vec<staff_member::Model>> {
    validate::at_most(field, ids.len(), MAX_STAFF_PER_REQUEST)?;
    let unique: HashSet<Uuid> = ids.iter().copied().collect();
    let found = staff_member::Entity::find()
        .filter(staff_member::Column::Id.is_in(unique.iter().copied()))
        .filter(staff_member::Column::FirmId.eq(firm_id))
        .order_by_asc(staff_member::Column::Label)
        .all(db)
        .await?;
    if let Some(missing) = ids.iter().find(|id| !found.iter().any(|m| m.id == **id)) {
        return Err(ApiError::bad_input(field, format!("{missing} is no staff member of this firm")));
    }
    Ok(found)
}

/// A profile a firm's staff may hold: shared or the firm's own.
async fn profile_for_firm(db: &impl ConnectionTrait, firm_id: Uuid, id: Uuid, field: &str) -> ApiResult<()> {
    let profile = job_profile::Entity::find_by_id(id).one(db).await?;
    match profile {
        Some(p) if p.organization_id.is_none_or(|org| org == firm_id) => Ok(()),
        _ => Err(ApiError::bad_input(field, "the job profile is neither shared nor the firm's own")),
    }
}

async fn apply(
    db: &impl ConnectionTrait,
    mut model: staff_member::Model,
    fields: StaffFields,
) -> ApiResult<staff_member::Model> {
    if let Some(label) = fields.label {
        model.label = validate::text("input.label", &label, 1, 40)?;
    }
    if let Some(profile) = fields.profile_id {
        if let Some(id) = profile {
            profile_for_firm(db, model.firm_id, id, "input.profileId").await?;
        }
        model.profile_id = profile;
    }
    if let Some(site) = fields.site {
        model.site = validate::optional_text("input.site", site.as_deref(), 80)?;
    }
    if let Some(code) = fields.postal_code {
        model.postal_code =
            code.as_deref().map(|c| validate::german_postal_code("input.postalCode", c)).transpose()?;
    }
    Ok(model)
}

pub async fn create(
    state: &AppState,
    caller: Uuid,
    firm_id: Uuid,
    fields: StaffFields,
) -> ApiResult<staff_member::Model> {
    if fields.label.is_none() {
        return Err(ApiError::bad_input(
            "input.label",
            "a staff record needs a label (initials or a number)",
        ));
    }
    let txn = db::begin_write(&state.db).await?;
    authorize(&txn, caller, firm_id).await?;
    let now = Utc::now();
    let blank = staff_member::Model {
        id: Uuid::now_v7(),
        firm_id,
        label: String::new(),
        profile_id: None,
        site: None,
        postal_code: None,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let model = apply(&txn, blank, fields).await?;
    let inserted = staff_member::ActiveModel::from(model)
        .insert(&txn)
        .await
        .map_err(|e| label_taken(ApiError::from(e)))?;
    txn.commit().await?;
    Ok(inserted)
}

fn label_taken(err: ApiError) -> ApiError {
    match err.code() {
        crate::error::Code::Conflict => {
            ApiError::conflict_on("input.label", "another staff record of the firm has this label")
        }
        _ => err,
    }
}

pub async fn update(
    state: &AppState,
    caller: Uuid,
    id: Uuid,
    expected_version: i32,
    fields: StaffFields,
) -> ApiResult<staff_member::Model> {
    let txn = db::begin_write(&state.db).await?;
    let current = find(&txn, caller, id).await?;
    if current.version != expected_version {
        return Err(stale("staff member", current.version, expected_version));
    }
    let mut model = apply(&txn, current.clone(), fields).await?;
    model.updated_at = Utc::now();
    model.version = current.version + 1;
    let updated = staff_member::ActiveModel::from(model)
        .reset_all()
        .update(&txn)
        .await
        .map_err(|e| label_taken(ApiError::from(e)))?;
    txn.commit().await?;
    Ok(updated)
}

/// Erases a staff record with its assessments and evidence.
pub async fn delete(state: &AppState, caller: Uuid, id: Uuid) -> ApiResult<staff_member::Model> {
    let txn = db::begin_write(&state.db).await?;
    let current = find(&txn, caller, id).await?;
    staff_assessment::Entity::delete_many()
        .filter(staff_assessment::Column::StaffId.eq(id))
        .exec(&txn)
        .await?;
    staff_evidence::Entity::delete_many().filter(staff_evidence::Column::StaffId.eq(id)).exec(&txn).await?;
    staff_member::Entity::delete_by_id(id).exec(&txn).await?;
    txn.commit().await?;
    Ok(current)
}

/// Records levels (0–4) from one source, dated `on` (today when not given); an entry replaces that
/// source's earlier one for the skill. All or nothing.
pub async fn assess(
    state: &AppState,
    caller: Uuid,
    staff_id: Uuid,
    source: AssessmentSource,
    levels: &[(String, i32)],
    on: Option<NaiveDate>,
) -> ApiResult<Vec<staff_assessment::Model>> {
    validate::at_most("levels", levels.len(), MAX_ASSESSMENTS)?;
    if levels.is_empty() {
        return Err(ApiError::bad_input("levels", "name at least one skill and its level"));
    }
    for (i, (_, level)) in levels.iter().enumerate() {
        check_level(&format!("levels[{i}].level"), *level, 0)?;
    }
    let today = Utc::now().date_naive();
    let on = on.unwrap_or(today);
    if on > today {
        return Err(ApiError::bad_input("assessedOn", "an assessment cannot be dated in the future"));
    }
    let txn = db::begin_write(&state.db).await?;
    find(&txn, caller, staff_id).await?;
    let ids: Vec<String> = levels.iter().map(|(id, _)| id.clone()).collect();
    skills::validate_ids(&txn, "levels", &ids).await?;
    let rows: Vec<staff_assessment::Model> = levels
        .iter()
        .map(|(skill_id, level)| staff_assessment::Model {
            staff_id,
            skill_id: skill_id.clone(),
            source,
            level: *level,
            assessed_on: on,
        })
        .collect();
    staff_assessment::Entity::insert_many(rows.iter().cloned().map(staff_assessment::ActiveModel::from))
        .on_conflict(
            OnConflict::columns([
                staff_assessment::Column::StaffId,
                staff_assessment::Column::SkillId,
                staff_assessment::Column::Source,
            ])
            .update_columns([staff_assessment::Column::Level, staff_assessment::Column::AssessedOn])
            .to_owned(),
        )
        .exec(&txn)
        .await?;
    touch(&txn, staff_id).await?;
    txn.commit().await?;
    Ok(rows)
}

/// A staff record changed: its version moves on, so concurrent edits of the record are detected.
async fn touch(db: &impl ConnectionTrait, staff_id: Uuid) -> ApiResult<()> {
    use sea_orm::sea_query::{Expr, ExprTrait};
    staff_member::Entity::update_many()
        .col_expr(staff_member::Column::Version, Expr::col(staff_member::Column::Version).add(1))
        .col_expr(staff_member::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(staff_member::Column::Id.eq(staff_id))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn add_evidence(
    state: &AppState,
    caller: Uuid,
    staff_id: Uuid,
    fields: EvidenceFields,
) -> ApiResult<staff_evidence::Model> {
    let title = validate::text("input.title", &fields.title, 3, 200)?;
    check_level("input.level", fields.level, 1)?;
    validate::at_most("input.skillIds", fields.skill_ids.len(), MAX_ASSESSMENTS)?;
    if fields.skill_ids.is_empty() {
        return Err(ApiError::bad_input("input.skillIds", "name the skills it evidences"));
    }
    if fields.achieved_on.is_some_and(|d| d > Utc::now().date_naive()) {
        return Err(ApiError::bad_input("input.achievedOn", "prior learning cannot lie in the future"));
    }
    let txn = db::begin_write(&state.db).await?;
    find(&txn, caller, staff_id).await?;
    skills::validate_ids(&txn, "input.skillIds", &fields.skill_ids).await?;
    if let Some(course) = fields.course_id
        && entity::course::Entity::find_by_id(course).one(&txn).await?.is_none()
    {
        return Err(ApiError::bad_input("input.courseId", "no such course"));
    }
    let model = staff_evidence::Model {
        id: Uuid::now_v7(),
        staff_id,
        kind: fields.kind,
        title,
        skills: json_list::encode(&fields.skill_ids),
        level: fields.level,
        course_id: fields.course_id,
        achieved_on: fields.achieved_on,
        created_at: Utc::now(),
    };
    let inserted = staff_evidence::ActiveModel::from(model).insert(&txn).await?;
    touch(&txn, staff_id).await?;
    txn.commit().await?;
    Ok(inserted)
}

pub async fn remove_evidence(state: &AppState, caller: Uuid, id: Uuid) -> ApiResult<staff_evidence::Model> {
    let txn = db::begin_write(&state.db).await?;
    let evidence = staff_evidence::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or_else(|| ApiError::not_found("evidence"))?;
    find(&txn, caller, evidence.staff_id).await.map_err(|_| ApiError::not_found("evidence"))?;
    staff_evidence::Entity::delete_by_id(id).exec(&txn).await?;
    touch(&txn, evidence.staff_id).await?;
    txn.commit().await?;
    Ok(evidence)
}

pub async fn assessments_of(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
) -> ApiResult<Vec<staff_assessment::Model>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(staff_assessment::Entity::find()
        .filter(staff_assessment::Column::StaffId.is_in(ids.iter().copied()))
        .order_by_asc(staff_assessment::Column::SkillId)
        .all(db)
        .await?)
}

pub async fn evidence_of(db: &impl ConnectionTrait, ids: &[Uuid]) -> ApiResult<Vec<staff_evidence::Model>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(staff_evidence::Entity::find()
        .filter(staff_evidence::Column::StaffId.is_in(ids.iter().copied()))
        .order_by_asc(staff_evidence::Column::CreatedAt)
        .all(db)
        .await?)
}

/// Everything recorded about one person, as a JSON document (the GDPR export of a record).
pub async fn export(state: &AppState, caller: Uuid, id: Uuid) -> ApiResult<Value> {
    let db = &state.db;
    let member = find(db, caller, id).await?;
    let profile = match member.profile_id {
        Some(p) => job_profile::Entity::find_by_id(p).one(db).await?,
        None => None,
    };
    let assessments = assessments_of(db, &[id]).await?;
    let evidence = evidence_of(db, &[id]).await?;
    let profile_skills = match &profile {
        Some(p) => profiles::skills_of(db, &[p.id]).await?,
        None => Vec::new(),
    };
    Ok(json!({
        "exportedAt": Utc::now().to_rfc3339(),
        "staffMember": {
            "id": member.id,
            "firmId": member.firm_id,
            "label": member.label,
            "site": member.site,
            "postalCode": member.postal_code,
            "createdAt": member.created_at.to_rfc3339(),
            "updatedAt": member.updated_at.to_rfc3339(),
        },
        "jobProfile": profile.map(|p| json!({
            "id": p.id,
            "name": p.name,
            "skills": profile_skills.iter().map(|s| json!({
                "skillId": s.skill_id, "targetLevel": s.target_level, "required": s.required,
            })).collect::<Vec<_>>(),
        })),
        "assessments": assessments.iter().map(|a| json!({
            "skillId": a.skill_id,
            "source": match a.source { AssessmentSource::SelfAssessment => "SELF", AssessmentSource::Manager => "MANAGER" },
            "level": a.level,
            "assessedOn": a.assessed_on.to_string(),
        })).collect::<Vec<_>>(),
        "priorLearning": evidence.iter().map(|e| json!({
            "id": e.id,
            "kind": match e.kind { EvidenceKind::Certificate => "CERTIFICATE", EvidenceKind::Course => "COURSE" },
            "title": e.title,
            "skillIds": json_list::decode::<String>(&e.skills),
            "level": e.level,
            "courseId": e.course_id,
            "achievedOn": e.achieved_on.map(|d| d.to_string()),
        })).collect::<Vec<_>>(),
    }))
}
