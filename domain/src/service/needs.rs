//! Qualification needs of firms: writes by members of the owning firm, the status lifecycle, and
//! who may see what (a firm its own; everyone logged in OPEN PUBLIC ones; PRIVATE only the owner;
//! firms that joined and providers that made an offer keep seeing it).

use chrono::{NaiveDate, Utc};
use entity::course::{CourseSchedule, FundingOption};
use entity::need_skill::{self, SkillImportance};
use entity::organization::{Bundesland, OrganizationKind};
use entity::qualification_need::{self as need, NeedStatus, NeedVisibility};
use sea_orm::sea_query::{Condition, Query};
use sea_orm::{
    ActiveEnum, ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use uuid::Uuid;

use crate::alerts::{self, AlertEvent};
use crate::context::AppState;
use crate::db;
use crate::error::{ApiError, ApiResult};
use crate::service::courses::{price_cents, stale};
use crate::service::validate::bounds;
use crate::service::{access, json_list, offers, skills, validate};

pub const MAX_PARTICIPANTS: i32 = 1_000;

#[derive(Debug, Clone, Default)]
pub struct NeedLocation {
    pub postal_code: Option<String>,
    pub city: Option<String>,
    pub bundesland: Option<Bundesland>,
    pub location: Option<(f64, f64)>,
}

#[derive(Debug, Clone, Default)]
pub struct NeedFields {
    pub title: Option<String>,
    pub description: Option<String>,
    /// (skill id, importance) in the firm's order.
    pub skills: Option<Vec<(String, SkillImportance)>>,
    pub target_dqr_level: Option<Option<i32>>,
    pub participants: Option<i32>,
    pub location: Option<NeedLocation>,
    pub max_distance_km: Option<Option<i32>>,
    pub online_acceptable: Option<bool>,
    pub preferred_schedule: Option<Option<CourseSchedule>>,
    pub earliest_start: Option<Option<NaiveDate>>,
    pub latest_start: Option<Option<NaiveDate>>,
    pub budget_cents_per_participant: Option<Option<i64>>,
    pub funding_wanted: Option<Vec<FundingOption>>,
    pub poolable: Option<bool>,
    pub language: Option<String>,
    pub visibility: Option<NeedVisibility>,
}

#[derive(Debug, Clone, Default)]
pub struct NeedFilter {
    pub firm_id: Option<Uuid>,
    pub statuses: Vec<NeedStatus>,
    pub skill_ids: Vec<String>,
    pub bundeslaender: Vec<Bundesland>,
}

/// A need the caller may see, else `NOT_FOUND`.
pub async fn visible(state: &AppState, caller: Uuid, id: Uuid) -> ApiResult<need::Model> {
    let db = &state.db;
    let need = need::Entity::find_by_id(id).one(db).await?.ok_or_else(|| ApiError::not_found("need"))?;
    let own = access::organizations_of(db, caller).await?;
    if can_see(db, &own, &need).await? { Ok(need) } else { Err(ApiError::not_found("need")) }
}

/// Whether members of the organizations `own` may see `need`: its firm, firms that joined it and
/// providers that made an offer on it always; any organization while it is public and open.
pub(crate) async fn can_see(db: &impl ConnectionTrait, own: &[Uuid], need: &need::Model) -> ApiResult<bool> {
    if own.contains(&need.firm_id) || is_public(need) && !own.is_empty() {
        return Ok(true);
    }
    if own.is_empty() {
        return Ok(false);
    }
    let joined = entity::need_participation::Entity::find()
        .filter(entity::need_participation::Column::NeedId.eq(need.id))
        .filter(entity::need_participation::Column::FirmId.is_in(own.iter().copied()))
        .count(db)
        .await?;
    let offered = entity::offer::Entity::find()
        .filter(entity::offer::Column::NeedId.eq(need.id))
        .filter(entity::offer::Column::ProviderId.is_in(own.iter().copied()))
        .count(db)
        .await?;
    Ok(joined + offered > 0)
}

/// The firm and the firms that joined the need: they see its matches and offers.
pub async fn pool_firms(db: &impl ConnectionTrait, need: &need::Model) -> ApiResult<Vec<Uuid>> {
    let mut firms: Vec<Uuid> = entity::need_participation::Entity::find()
        .select_only()
        .column(entity::need_participation::Column::FirmId)
        .filter(entity::need_participation::Column::NeedId.eq(need.id))
        .into_tuple()
        .all(db)
        .await?;
    firms.insert(0, need.firm_id);
    Ok(firms)
}

/// Whether members of the organizations `own` are in a need's pool (see [`pool_firms`]): the pool
/// sees the need's matches, its participations and every offer on it. The one place of this rule.
pub fn in_pool(own: &[Uuid], pool: &[Uuid]) -> bool {
    pool.iter().any(|firm| own.contains(firm))
}

pub fn is_public(need: &need::Model) -> bool {
    need.visibility == NeedVisibility::Public && need.status == NeedStatus::Open
}

/// One page of the needs the caller may see, in id order.
pub async fn list(
    state: &AppState,
    caller: Uuid,
    filter: &NeedFilter,
    after: Option<Uuid>,
    limit: u64,
) -> ApiResult<Vec<need::Model>> {
    let db = &state.db;
    validate::all_at_most(&[
        ("filter.statuses", filter.statuses.len(), bounds::ENUM_VALUES),
        ("filter.skillIds", filter.skill_ids.len(), bounds::FILTER_SKILLS),
        ("filter.bundeslaender", filter.bundeslaender.len(), bounds::ENUM_VALUES),
    ])?;
    let own = access::organizations_of(db, caller).await?;
    if own.is_empty() {
        return Ok(Vec::new());
    }
    let visible = Condition::any().add(need::Column::FirmId.is_in(own)).add(
        Condition::all()
            .add(need::Column::Visibility.eq(NeedVisibility::Public))
            .add(need::Column::Status.eq(NeedStatus::Open)),
    );
    let mut select = need::Entity::find().filter(visible).order_by_asc(need::Column::Id);
    if let Some(firm) = filter.firm_id {
        select = select.filter(need::Column::FirmId.eq(firm));
    }
    if !filter.statuses.is_empty() {
        select = select.filter(need::Column::Status.is_in(filter.statuses.clone()));
    }
    if !filter.bundeslaender.is_empty() {
        select = select.filter(need::Column::Bundesland.is_in(filter.bundeslaender.clone()));
    }
    if !filter.skill_ids.is_empty() {
        select = select.filter(
            need::Column::Id.in_subquery(
                Query::select()
                    .column(need_skill::Column::NeedId)
                    .from(need_skill::Entity)
                    .and_where(need_skill::Column::SkillId.is_in(filter.skill_ids.iter().cloned()))
                    .to_owned(),
            ),
        );
    }
    if let Some(after) = after {
        select = select.filter(need::Column::Id.gt(after));
    }
    Ok(select.limit(limit + 1).all(db).await?)
}

pub async fn create(
    state: &AppState,
    caller: Uuid,
    firm_id: Uuid,
    fields: NeedFields,
) -> ApiResult<need::Model> {
    let db = &state.db;
    if fields.title.is_none() {
        return Err(ApiError::bad_input("input.title", "title must not be empty"));
    }
    let txn = db::begin_write(db).await?;
    let firm = access::member_of_kind(&txn, caller, firm_id, OrganizationKind::Firm, "firmId").await?;
    let now = Utc::now();
    let blank = need::Model {
        id: Uuid::now_v7(),
        firm_id,
        status: NeedStatus::Draft,
        title: String::new(),
        description: String::new(),
        target_dqr_level: None,
        participants: 1,
        // A need is located at the firm unless it says otherwise.
        postal_code: firm.postal_code.clone(),
        city: firm.city.clone(),
        bundesland: firm.bundesland,
        latitude: firm.latitude,
        longitude: firm.longitude,
        max_distance_km: Some(50),
        online_acceptable: false,
        preferred_schedule: None,
        earliest_start: None,
        latest_start: None,
        budget_cents_per_participant: None,
        funding_wanted: "[]".into(),
        poolable: false,
        language: "de".into(),
        visibility: NeedVisibility::Public,
        opened_at: None,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let (model, skills) = apply(&txn, blank, fields).await?;
    let inserted = need::ActiveModel::from(model).insert(&txn).await?;
    if let Some(skills) = skills {
        replace_skills(&txn, inserted.id, &skills).await?;
    }
    txn.commit().await?;
    Ok(inserted)
}

async fn apply(
    txn: &DatabaseTransaction,
    mut model: need::Model,
    fields: NeedFields,
) -> ApiResult<(need::Model, Option<Vec<(String, SkillImportance)>>)> {
    validate::all_at_most(&[
        ("input.skills", fields.skills.as_ref().map_or(0, Vec::len), bounds::NEED_SKILLS),
        ("input.fundingWanted", fields.funding_wanted.as_ref().map_or(0, Vec::len), bounds::ENUM_VALUES),
    ])?;
    if let Some(title) = fields.title {
        model.title = validate::text("input.title", &title, 3, 200)?;
    }
    if let Some(description) = fields.description {
        model.description =
            validate::optional_text("input.description", Some(&description), 10_000)?.unwrap_or_default();
    }
    if let Some(level) = fields.target_dqr_level {
        model.target_dqr_level = match level {
            Some(l) if (1..=8).contains(&l) => Some(l as i16),
            Some(_) => return Err(ApiError::bad_input("input.targetDqrLevel", "DQR level must be 1 to 8")),
            None => None,
        };
    }
    if let Some(n) = fields.participants {
        if !(1..=MAX_PARTICIPANTS).contains(&n) {
            return Err(ApiError::bad_input(
                "input.participants",
                format!("participants must be 1 to {MAX_PARTICIPANTS}"),
            ));
        }
        model.participants = n;
    }
    if let Some(location) = fields.location {
        model.postal_code = location
            .postal_code
            .as_deref()
            .map(|p| validate::german_postal_code("input.location.postalCode", p))
            .transpose()?;
        model.city = validate::optional_text("input.location.city", location.city.as_deref(), 120)?;
        model.bundesland = location.bundesland;
        let point = location
            .location
            .map(|(lat, lng)| validate::coordinates("input.location.point", lat, lng))
            .transpose()?;
        model.latitude = point.map(|p| p.0);
        model.longitude = point.map(|p| p.1);
    }
    if let Some(distance) = fields.max_distance_km {
        if distance.is_some_and(|d| !(1..=1000).contains(&d)) {
            return Err(ApiError::bad_input("input.maxDistanceKm", "maximum distance must be 1 to 1000 km"));
        }
        model.max_distance_km = distance;
    }
    if let Some(online) = fields.online_acceptable {
        model.online_acceptable = online;
    }
    if let Some(schedule) = fields.preferred_schedule {
        model.preferred_schedule = schedule;
    }
    if let Some(earliest) = fields.earliest_start {
        model.earliest_start = earliest;
    }
    if let Some(latest) = fields.latest_start {
        model.latest_start = latest;
    }
    if let (Some(earliest), Some(latest)) = (model.earliest_start, model.latest_start)
        && latest < earliest
    {
        return Err(ApiError::bad_input(
            "input.latestStart",
            "the latest start must not be before the earliest start",
        ));
    }
    if let Some(budget) = fields.budget_cents_per_participant {
        model.budget_cents_per_participant =
            budget.map(|b| price_cents("input.budgetCentsPerParticipant", b)).transpose()?;
    }
    if let Some(funding) = fields.funding_wanted {
        let unique: std::collections::BTreeSet<FundingOption> = funding.into_iter().collect();
        model.funding_wanted = json_list::encode(&unique.into_iter().collect::<Vec<_>>());
    }
    if let Some(poolable) = fields.poolable {
        model.poolable = poolable;
    }
    if let Some(visibility) = fields.visibility {
        model.visibility = visibility;
    }
    if let Some(language) = fields.language {
        let codes = validate::language_codes("input.language", &[language])?;
        model.language = codes.into_iter().next().unwrap_or_else(|| "de".into());
    }
    if let Some(list) = &fields.skills {
        let ids: Vec<String> = list.iter().map(|(id, _)| id.clone()).collect();
        skills::validate_ids(txn, "input.skills", &ids).await?;
    }
    Ok((model, fields.skills))
}

async fn replace_skills(
    txn: &DatabaseTransaction,
    need_id: Uuid,
    list: &[(String, SkillImportance)],
) -> ApiResult<()> {
    need_skill::Entity::delete_many().filter(need_skill::Column::NeedId.eq(need_id)).exec(txn).await?;
    if list.is_empty() {
        return Ok(());
    }
    let rows = list.iter().enumerate().map(|(position, (skill_id, importance))| need_skill::ActiveModel {
        need_id: Set(need_id),
        skill_id: Set(skill_id.clone()),
        importance: Set(*importance),
        position: Set(position as i32),
    });
    need_skill::Entity::insert_many(rows).exec(txn).await?;
    Ok(())
}

/// Locks the need, checks the caller belongs to its firm (others get `NOT_FOUND` for what they cannot
/// see and `FORBIDDEN` for what they can) and the version.
async fn lock_for_write(
    txn: &DatabaseTransaction,
    caller: Uuid,
    id: Uuid,
    expected_version: Option<i32>,
) -> ApiResult<need::Model> {
    let need = need::Entity::find_by_id(id)
        .lock_exclusive()
        .one(txn)
        .await?
        .ok_or_else(|| ApiError::not_found("need"))?;
    let own = access::organizations_of(txn, caller).await?;
    if !own.contains(&need.firm_id) {
        return Err(if is_public(&need) && !own.is_empty() {
            ApiError::forbidden("only members of the firm may change its need")
        } else {
            ApiError::not_found("need")
        });
    }
    if let Some(expected) = expected_version
        && need.version != expected
    {
        return Err(stale("need", need.version, expected));
    }
    Ok(need)
}

pub async fn update(
    state: &AppState,
    caller: Uuid,
    id: Uuid,
    expected_version: i32,
    fields: NeedFields,
) -> ApiResult<need::Model> {
    let db = &state.db;
    let txn = db::begin_write(db).await?;
    let current = lock_for_write(&txn, caller, id, Some(expected_version)).await?;
    if !matches!(current.status, NeedStatus::Draft | NeedStatus::Open) {
        return Err(ApiError::conflict_on("id", "only DRAFT and OPEN needs can be edited"));
    }
    let (mut model, skills) = apply(&txn, current.clone(), fields).await?;
    if let Some(skills) = &skills {
        replace_skills(&txn, id, skills).await?;
    }
    if model.status == NeedStatus::Open {
        check_openable(&txn, &model).await?;
    }
    model.updated_at = Utc::now();
    model.version = current.version + 1;
    let updated = need::ActiveModel::from(model).reset_all().update(&txn).await?;
    txn.commit().await?;
    Ok(updated)
}

/// The lifecycle: DRAFT → OPEN → IN_NEGOTIATION → FULFILLED; OPEN ⇄ DRAFT and IN_NEGOTIATION → OPEN
/// to step back; DRAFT, OPEN and IN_NEGOTIATION may be CLOSED or CANCELLED. FULFILLED, CLOSED and
/// CANCELLED are final.
pub fn transition_allowed(from: NeedStatus, to: NeedStatus) -> bool {
    use NeedStatus::*;
    matches!(
        (from, to),
        (Draft, Open)
            | (Open, Draft)
            | (Open, InNegotiation)
            | (InNegotiation, Open)
            | (InNegotiation, Fulfilled)
            | (Draft | Open | InNegotiation, Closed | Cancelled)
    )
}

pub async fn change_status(
    state: &AppState,
    caller: Uuid,
    id: Uuid,
    expected_version: i32,
    status: NeedStatus,
) -> ApiResult<need::Model> {
    let db = &state.db;
    let txn = db::begin_write(db).await?;
    let current = lock_for_write(&txn, caller, id, Some(expected_version)).await?;
    if !transition_allowed(current.status, status) {
        return Err(ApiError::conflict_on(
            "status",
            format!("a need cannot go from {} to {}", current.status.to_value(), status.to_value()),
        ));
    }
    if status == NeedStatus::Open {
        check_openable(&txn, &current).await?;
    }
    let now = Utc::now();
    let mut active: need::ActiveModel = current.clone().into();
    active.status = Set(status);
    if status == NeedStatus::Open && current.opened_at.is_none() {
        active.opened_at = Set(Some(now));
    }
    active.updated_at = Set(now);
    active.version = Set(current.version + 1);
    let updated = active.update(&txn).await?;
    if status == NeedStatus::Open {
        alerts::record(&txn, &AlertEvent::NeedOpened { need_id: id }).await?;
    }
    // Offers wait only while the need is OPEN; reopening a negotiation that failed releases the
    // accepted offer, so at most one offer of a need is ever ACCEPTED at a time.
    if status != NeedStatus::Open {
        offers::decline_pending(&txn, &updated, None).await?;
    } else if current.status == NeedStatus::InNegotiation {
        offers::decline_accepted(&txn, &updated).await?;
    }
    txn.commit().await?;
    Ok(updated)
}

/// What providers need to make an offer: a must-have skill, and a place or online.
async fn check_openable(txn: &DatabaseTransaction, need: &need::Model) -> ApiResult<()> {
    let must = need_skill::Entity::find()
        .filter(need_skill::Column::NeedId.eq(need.id))
        .filter(need_skill::Column::Importance.eq(SkillImportance::Must))
        .count(txn)
        .await?;
    if must == 0 {
        return Err(ApiError::bad_input("input.skills", "an open need names at least one MUST skill"));
    }
    if !need.online_acceptable && (need.latitude.is_none() || need.max_distance_km.is_none()) {
        return Err(ApiError::bad_input(
            "input.location",
            "an open need has a location with coordinates and a maximum distance, or accepts online courses",
        ));
    }
    Ok(())
}

/// Deletes a DRAFT need; later ones are closed or cancelled instead, so offers keep their history.
pub async fn delete(state: &AppState, caller: Uuid, id: Uuid) -> ApiResult<need::Model> {
    let db = &state.db;
    let txn = db::begin_write(db).await?;
    let current = lock_for_write(&txn, caller, id, None).await?;
    if current.status != NeedStatus::Draft {
        return Err(ApiError::conflict_on(
            "id",
            "only DRAFT needs can be deleted; close or cancel it instead",
        ));
    }
    let offered =
        entity::offer::Entity::find().filter(entity::offer::Column::NeedId.eq(id)).count(&txn).await?;
    if offered > 0 {
        return Err(ApiError::conflict_on(
            "id",
            "this need has offers; cancel it instead, so they keep their history",
        ));
    }
    need::Entity::delete_by_id(id).exec(&txn).await?;
    txn.commit().await?;
    Ok(current)
}

/// (need id, link, skill) rows in the firm's order, in one joined query.
pub async fn skills_of(
    state: &AppState,
    need_ids: &[Uuid],
) -> ApiResult<Vec<(need_skill::Model, entity::skill::Model)>> {
    let db = &state.db;
    let rows = need_skill::Entity::find()
        .find_also_related(entity::skill::Entity)
        .filter(need_skill::Column::NeedId.is_in(need_ids.iter().copied()))
        .order_by_asc(need_skill::Column::Position)
        .all(db)
        .await?;
    Ok(rows.into_iter().filter_map(|(link, skill)| skill.map(|s| (link, s))).collect())
}
