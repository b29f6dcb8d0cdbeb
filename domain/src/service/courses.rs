//! Courses and their offerings: writes by members of the owning provider, the publication lifecycle,
//! and the catalogue queries.

use chrono::{NaiveDate, Utc};
use entity::course::{
    self, CertificateType, CourseFormat, CourseSchedule, CourseStatus, FundingOption, VatTreatment,
};
use entity::organization::{Bundesland, OrganizationKind};
use entity::{course_skill, offering, organization};
use sea_orm::sea_query::{Condition, Expr, ExprTrait, Query};
use sea_orm::{
    ActiveEnum, ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, IdenStatic,
    Iterable, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use uuid::Uuid;

use crate::context::AppState;
use crate::db;
use crate::error::{ApiError, ApiResult};
use crate::search::outbox;
use crate::service::validate::bounds;
use crate::service::{access, json_list, skills, validate};

pub const MAX_PRICE_CENTS: i64 = 100_000_000;

/// Fields of a course as a write gives them; `None` leaves a field as it is (on create: the default).
#[derive(Debug, Clone, Default)]
pub struct CourseFields {
    pub title: Option<String>,
    pub subtitle: Option<String>,
    pub description: Option<String>,
    pub skill_ids: Option<Vec<String>>,
    pub keywords: Option<Vec<String>>,
    pub dqr_level: Option<Option<i32>>,
    pub certificate_type: Option<CertificateType>,
    pub examining_body: Option<String>,
    pub zusatzqualifikation: Option<bool>,
    pub target_group: Option<String>,
    pub prerequisites: Option<String>,
    pub languages: Option<Vec<String>>,
    pub duration_hours: Option<i32>,
    pub format: Option<CourseFormat>,
    pub schedule: Option<CourseSchedule>,
    pub price_cents: Option<i64>,
    pub currency: Option<String>,
    pub vat: Option<VatTreatment>,
    pub funding_options: Option<Vec<FundingOption>>,
    pub azav_measure_number: Option<String>,
    pub inhouse_possible: Option<bool>,
    pub min_participants: Option<i32>,
    pub max_participants: Option<i32>,
    pub rolling_start: Option<bool>,
}

/// What the catalogue can be filtered by.
#[derive(Debug, Clone, Default)]
pub struct CourseFilter {
    pub provider_id: Option<Uuid>,
    /// Defaults to PUBLISHED. Other statuses show only the caller's own organizations' courses.
    pub statuses: Vec<CourseStatus>,
    /// Courses with any of these skills.
    pub skill_ids: Vec<String>,
    pub dqr_levels: Vec<i32>,
    pub formats: Vec<CourseFormat>,
    pub schedules: Vec<CourseSchedule>,
    /// Courses eligible for any of these.
    pub funding: Vec<FundingOption>,
    pub languages: Vec<String>,
    pub zusatzqualifikation: Option<bool>,
    pub max_price_cents: Option<i64>,
}

/// A course the caller may see: PUBLISHED and ARCHIVED ones are public, drafts only for members of
/// the provider. Anything else is `NOT_FOUND`.
pub async fn visible(state: &AppState, caller: Option<Uuid>, id: Uuid) -> ApiResult<course::Model> {
    let reads = &state.reads;
    let course = reads.by_id::<course::Entity>(id).await?.ok_or_else(|| ApiError::not_found("course"))?;
    if course.status == CourseStatus::Draft {
        let member = match caller {
            Some(user) => access::organizations_of(reads.db(), user).await?.contains(&course.provider_id),
            None => false,
        };
        if !member {
            return Err(ApiError::not_found("course"));
        }
    }
    Ok(course)
}

/// One page of the catalogue in id order, up to `limit + 1` rows. The long text columns in
/// `unread` (those [`unread_value`] knows) are not read: they come back empty (`""`, `"[]"` or
/// `None`), for a page that shows none of them. A description is most of a course row.
pub async fn list(
    state: &AppState,
    caller: Option<Uuid>,
    filter: &CourseFilter,
    after: Option<Uuid>,
    limit: u64,
    unread: &[course::Column],
) -> ApiResult<Vec<course::Model>> {
    let db = &state.db;
    validate::all_at_most(&[
        ("filter.statuses", filter.statuses.len(), bounds::ENUM_VALUES),
        ("filter.skillIds", filter.skill_ids.len(), bounds::FILTER_SKILLS),
        ("filter.dqrLevels", filter.dqr_levels.len(), bounds::DQR_LEVELS),
        ("filter.formats", filter.formats.len(), bounds::ENUM_VALUES),
        ("filter.schedules", filter.schedules.len(), bounds::ENUM_VALUES),
        ("filter.funding", filter.funding.len(), bounds::ENUM_VALUES),
        ("filter.languages", filter.languages.len(), bounds::LANGUAGES),
    ])?;
    for level in &filter.dqr_levels {
        if !(1..=8).contains(level) {
            return Err(ApiError::bad_input("filter.dqrLevels", "DQR levels are 1 to 8"));
        }
    }
    if filter.max_price_cents.is_some_and(|p| p < 0) {
        return Err(ApiError::bad_input("filter.maxPriceCents", "maxPriceCents must not be negative"));
    }
    let statuses =
        if filter.statuses.is_empty() { vec![CourseStatus::Published] } else { filter.statuses.clone() };
    let mut select = course::Entity::find().order_by_asc(course::Column::Id);
    if !unread.is_empty() {
        select = select.select_only();
        for column in course::Column::iter() {
            let skipped = unread.iter().any(|c| c.as_str() == column.as_str());
            select = match unread_value(column).filter(|_| skipped) {
                Some(empty) => select.expr_as(empty, column.as_str()),
                None => select.column(column),
            };
        }
    }
    let non_public: Vec<CourseStatus> =
        statuses.iter().copied().filter(|s| *s == CourseStatus::Draft).collect();
    let public: Vec<CourseStatus> = statuses.iter().copied().filter(|s| *s != CourseStatus::Draft).collect();
    let mut visibility = Condition::any();
    if !public.is_empty() {
        visibility = visibility.add(course::Column::Status.is_in(public));
    }
    if !non_public.is_empty() {
        // Only the caller's own drafts; costs one query for the caller's memberships.
        let own = match caller {
            Some(user) => access::organizations_of(db, user).await?,
            None => Vec::new(),
        };
        visibility = visibility.add(
            Condition::all()
                .add(course::Column::Status.is_in(non_public))
                .add(course::Column::ProviderId.is_in(own)),
        );
    }
    select = select.filter(visibility);
    if let Some(provider) = filter.provider_id {
        select = select.filter(course::Column::ProviderId.eq(provider));
    }
    if !filter.skill_ids.is_empty() {
        select = select.filter(
            course::Column::Id.in_subquery(
                Query::select()
                    .column(course_skill::Column::CourseId)
                    .from(course_skill::Entity)
                    .and_where(course_skill::Column::SkillId.is_in(filter.skill_ids.iter().cloned()))
                    .to_owned(),
            ),
        );
    }
    if !filter.dqr_levels.is_empty() {
        select = select.filter(course::Column::DqrLevel.is_in(filter.dqr_levels.iter().map(|l| *l as i16)));
    }
    if !filter.formats.is_empty() {
        select = select.filter(course::Column::Format.is_in(filter.formats.clone()));
    }
    if !filter.schedules.is_empty() {
        select = select.filter(course::Column::Schedule.is_in(filter.schedules.clone()));
    }
    // Filters name the table's column: an unread column's stand-in has the column's name, and
    // SQLite lets a bare name in WHERE mean a result column.
    if !filter.funding.is_empty() {
        let any = filter.funding.iter().fold(Condition::any(), |c, f| {
            c.add(
                Expr::col((course::Entity, course::Column::FundingOptions)).like(json_list::like_pattern(f)),
            )
        });
        select = select.filter(any);
    }
    if !filter.languages.is_empty() {
        let any = filter.languages.iter().fold(Condition::any(), |c, l| {
            c.add(
                Expr::col((course::Entity, course::Column::Languages))
                    .like(json_list::like_pattern(&l.to_lowercase())),
            )
        });
        select = select.filter(any);
    }
    if let Some(zq) = filter.zusatzqualifikation {
        select = select.filter(course::Column::Zusatzqualifikation.eq(zq));
    }
    if let Some(max) = filter.max_price_cents {
        select = select.filter(course::Column::PriceCents.lte(max));
    }
    if let Some(after) = after {
        select = select.filter(course::Column::Id.gt(after));
    }
    Ok(select.limit(limit + 1).all(db).await?)
}

/// What stands in for a long text column that a page does not read: the column's empty value.
/// `None` for the columns that are always read.
fn unread_value(column: course::Column) -> Option<Expr> {
    use course::Column as C;
    match column {
        C::Description => Some(Expr::val("")),
        C::Keywords | C::Languages | C::FundingOptions => Some(Expr::val("[]")),
        C::Subtitle | C::ExaminingBody | C::TargetGroup | C::Prerequisites | C::AzavMeasureNumber => {
            Some(Expr::val(Option::<String>::None))
        }
        _ => None,
    }
}

/// Creates a DRAFT course of `provider_id`.
pub async fn create(
    state: &AppState,
    caller: Uuid,
    provider_id: Uuid,
    fields: CourseFields,
) -> ApiResult<course::Model> {
    let db = &state.db;
    if fields.title.is_none() {
        return Err(ApiError::bad_input("input.title", "title must not be empty"));
    }
    let txn = db::begin_write(db).await?;
    access::member_of_kind(&txn, caller, provider_id, OrganizationKind::Provider, "providerId").await?;
    let blank = blank_course(provider_id);
    let (model, skill_ids) = apply(&txn, blank, fields).await?;
    let inserted = course::ActiveModel::from(model).insert(&txn).await?;
    if let Some(ids) = skill_ids {
        replace_skills(&txn, inserted.id, &ids).await?;
    }
    txn.commit().await?;
    Ok(inserted)
}

/// A new DRAFT course of `provider_id` with every field at its default.
pub(crate) fn blank_course(provider_id: Uuid) -> course::Model {
    let now = Utc::now();
    course::Model {
        id: Uuid::now_v7(),
        provider_id,
        status: CourseStatus::Draft,
        title: String::new(),
        subtitle: None,
        description: String::new(),
        keywords: "[]".into(),
        dqr_level: None,
        certificate_type: CertificateType::ProviderCertificate,
        examining_body: None,
        zusatzqualifikation: false,
        target_group: None,
        prerequisites: None,
        languages: json_list::encode(&["de"]),
        duration_hours: None,
        format: CourseFormat::InPerson,
        schedule: CourseSchedule::FullTime,
        price_cents: None,
        currency: "EUR".into(),
        vat: VatTreatment::Exempt,
        funding_options: "[]".into(),
        azav_measure_number: None,
        inhouse_possible: false,
        min_participants: None,
        max_participants: None,
        rolling_start: false,
        published_at: None,
        created_at: now,
        updated_at: now,
        version: 1,
        external_id: None,
        import_hash: None,
        classification: None,
    }
}

/// Validates `fields` and applies them to `model`; returns the new skill list when it changes.
pub(crate) async fn apply(
    txn: &DatabaseTransaction,
    mut model: course::Model,
    fields: CourseFields,
) -> ApiResult<(course::Model, Option<Vec<String>>)> {
    if let Some(title) = fields.title {
        model.title = validate::text("input.title", &title, 3, 200)?;
    }
    if let Some(subtitle) = fields.subtitle {
        model.subtitle = validate::optional_text("input.subtitle", Some(&subtitle), 300)?;
    }
    if let Some(description) = fields.description {
        model.description =
            validate::optional_text("input.description", Some(&description), 20_000)?.unwrap_or_default();
    }
    validate::all_at_most(&[
        ("input.skillIds", fields.skill_ids.as_ref().map_or(0, Vec::len), bounds::COURSE_SKILLS),
        ("input.keywords", fields.keywords.as_ref().map_or(0, Vec::len), bounds::KEYWORDS),
        ("input.fundingOptions", fields.funding_options.as_ref().map_or(0, Vec::len), bounds::ENUM_VALUES),
    ])?;
    if let Some(keywords) = fields.keywords {
        let keywords = keywords
            .iter()
            .map(|k| validate::text("input.keywords", k, 1, 60))
            .collect::<ApiResult<Vec<_>>>()?;
        model.keywords = json_list::encode(&keywords);
    }
    if let Some(level) = fields.dqr_level {
        model.dqr_level = level.map(|l| dqr("input.dqrLevel", l)).transpose()?;
    }
    if let Some(certificate) = fields.certificate_type {
        model.certificate_type = certificate;
    }
    if let Some(body) = fields.examining_body {
        model.examining_body = validate::optional_text("input.examiningBody", Some(&body), 200)?;
    }
    if let Some(zq) = fields.zusatzqualifikation {
        model.zusatzqualifikation = zq;
    }
    if let Some(group) = fields.target_group {
        model.target_group = validate::optional_text("input.targetGroup", Some(&group), 2_000)?;
    }
    if let Some(prerequisites) = fields.prerequisites {
        model.prerequisites = validate::optional_text("input.prerequisites", Some(&prerequisites), 2_000)?;
    }
    if let Some(languages) = fields.languages {
        model.languages = json_list::encode(&validate::language_codes("input.languages", &languages)?);
    }
    if let Some(hours) = fields.duration_hours {
        if !(1..=10_000).contains(&hours) {
            return Err(ApiError::bad_input("input.durationHours", "duration must be 1 to 10000 hours"));
        }
        model.duration_hours = Some(hours);
    }
    if let Some(format) = fields.format {
        model.format = format;
    }
    if let Some(schedule) = fields.schedule {
        model.schedule = schedule;
    }
    if let Some(price) = fields.price_cents {
        model.price_cents = Some(price_cents("input.priceCents", price)?);
    }
    if let Some(currency) = fields.currency {
        let currency = currency.trim().to_ascii_uppercase();
        if currency.len() != 3 || !currency.chars().all(|c| c.is_ascii_uppercase()) {
            return Err(ApiError::bad_input(
                "input.currency",
                "currency must be an ISO 4217 code such as EUR",
            ));
        }
        model.currency = currency;
    }
    if let Some(vat) = fields.vat {
        model.vat = vat;
    }
    if let Some(funding) = fields.funding_options {
        let unique: Vec<FundingOption> =
            funding.iter().copied().collect::<std::collections::BTreeSet<_>>().into_iter().collect();
        model.funding_options = json_list::encode(&unique);
    }
    if let Some(number) = fields.azav_measure_number {
        model.azav_measure_number = validate::optional_text("input.azavMeasureNumber", Some(&number), 64)?;
    }
    if let Some(inhouse) = fields.inhouse_possible {
        model.inhouse_possible = inhouse;
    }
    if let Some(min) = fields.min_participants {
        model.min_participants = Some(participants("input.minParticipants", min)?);
    }
    if let Some(max) = fields.max_participants {
        model.max_participants = Some(participants("input.maxParticipants", max)?);
    }
    if let (Some(min), Some(max)) = (model.min_participants, model.max_participants)
        && min > max
    {
        return Err(ApiError::bad_input(
            "input.minParticipants",
            "minParticipants must not exceed maxParticipants",
        ));
    }
    if let Some(rolling) = fields.rolling_start {
        model.rolling_start = rolling;
    }
    if let Some(ids) = &fields.skill_ids {
        skills::validate_ids(txn, "input.skillIds", ids).await?;
    }
    Ok((model, fields.skill_ids))
}

fn dqr(field: &str, level: i32) -> ApiResult<i16> {
    if (1..=8).contains(&level) {
        Ok(level as i16)
    } else {
        Err(ApiError::bad_input(field, "DQR level must be 1 to 8"))
    }
}

pub fn price_cents(field: &str, cents: i64) -> ApiResult<i64> {
    if (0..=MAX_PRICE_CENTS).contains(&cents) {
        Ok(cents)
    } else {
        Err(ApiError::bad_input(field, format!("price must be 0 to {MAX_PRICE_CENTS} cents")))
    }
}

fn participants(field: &str, n: i32) -> ApiResult<i32> {
    if (1..=10_000).contains(&n) { Ok(n) } else { Err(ApiError::bad_input(field, "must be 1 to 10000")) }
}

async fn replace_skills(txn: &DatabaseTransaction, course_id: Uuid, ids: &[String]) -> ApiResult<()> {
    set_skills(txn, course_id, ids, false).await
}

/// Replaces the course's skills with `ids` in that order, `suggested` when an import chose them.
pub(crate) async fn set_skills(
    txn: &DatabaseTransaction,
    course_id: Uuid,
    ids: &[String],
    suggested: bool,
) -> ApiResult<()> {
    course_skill::Entity::delete_many()
        .filter(course_skill::Column::CourseId.eq(course_id))
        .exec(txn)
        .await?;
    if ids.is_empty() {
        return Ok(());
    }
    let rows = ids.iter().enumerate().map(|(position, skill_id)| course_skill::ActiveModel {
        course_id: Set(course_id),
        skill_id: Set(skill_id.clone()),
        position: Set(position as i32),
        suggested: Set(suggested),
    });
    course_skill::Entity::insert_many(rows).exec(txn).await?;
    Ok(())
}

/// Locks the course for this transaction, checks the caller belongs to its provider and that
/// `expected_version` (when given) is current.
async fn lock_for_write(
    txn: &DatabaseTransaction,
    caller: Uuid,
    id: Uuid,
    expected_version: Option<i32>,
) -> ApiResult<(course::Model, organization::Model)> {
    let course = course::Entity::find_by_id(id)
        .lock_exclusive()
        .one(txn)
        .await?
        .ok_or_else(|| ApiError::not_found("course"))?;
    let provider = writable_provider(txn, caller, &course).await?;
    if let Some(expected) = expected_version
        && course.version != expected
    {
        return Err(stale("course", course.version, expected));
    }
    Ok((course, provider))
}

/// The course's provider when the caller is a member. A caller who may not even see a draft gets
/// `NOT_FOUND`, one who may see it but not change it `FORBIDDEN`.
async fn writable_provider(
    txn: &DatabaseTransaction,
    caller: Uuid,
    course: &course::Model,
) -> ApiResult<organization::Model> {
    let member = crate::service::organizations::role_of(txn, course.provider_id, caller).await?.is_some();
    if !member {
        return Err(if course.status == CourseStatus::Draft {
            ApiError::not_found("course")
        } else {
            ApiError::forbidden("only members of the course's provider may change it")
        });
    }
    crate::service::organizations::find(txn, course.provider_id).await
}

pub fn stale(what: &str, current: i32, expected: i32) -> ApiError {
    ApiError::conflict_on(
        "expectedVersion",
        format!("the {what} was changed meanwhile (version {current}, not {expected}); reload and retry"),
    )
}

/// Applies `fields` when `expected_version` is current. A published course stays publishable.
pub async fn update(
    state: &AppState,
    caller: Uuid,
    id: Uuid,
    expected_version: i32,
    fields: CourseFields,
) -> ApiResult<course::Model> {
    let db = &state.db;
    let txn = db::begin_write(db).await?;
    let (current, provider) = lock_for_write(&txn, caller, id, Some(expected_version)).await?;
    if current.status == CourseStatus::Archived {
        return Err(ApiError::conflict_on("id", "an archived course cannot be edited; reactivate it first"));
    }
    let (mut model, skill_ids) = apply(&txn, current.clone(), fields).await?;
    model.updated_at = Utc::now();
    model.version = current.version + 1;
    if let Some(ids) = &skill_ids {
        replace_skills(&txn, id, ids).await?;
    }
    if model.status == CourseStatus::Published {
        check_publishable(&txn, &model, &provider).await?;
    }
    let updated = course::ActiveModel::from(model).reset_all().update(&txn).await?;
    outbox::enqueue(&txn, [id]).await?;
    txn.commit().await?;
    Ok(updated)
}

/// DRAFT → PUBLISHED (when publishable), PUBLISHED → ARCHIVED, PUBLISHED or ARCHIVED → DRAFT. A draft
/// is never archived: archived courses stay readable by id, and only what was published may be.
pub async fn change_status(
    state: &AppState,
    caller: Uuid,
    id: Uuid,
    expected_version: i32,
    status: CourseStatus,
) -> ApiResult<course::Model> {
    let db = &state.db;
    use CourseStatus::*;
    let txn = db::begin_write(db).await?;
    let (current, provider) = lock_for_write(&txn, caller, id, Some(expected_version)).await?;
    let allowed = matches!(
        (current.status, status),
        (Draft, Published) | (Published, Archived) | (Archived, Draft) | (Published, Draft)
    );
    if !allowed {
        return Err(ApiError::conflict_on(
            "status",
            format!("a {} course cannot become {}", current.status.to_value(), status.to_value()),
        ));
    }
    if status == Published {
        check_publishable(&txn, &current, &provider).await?;
    }
    let now = Utc::now();
    let mut active: course::ActiveModel = current.clone().into();
    active.status = Set(status);
    if status == Published {
        active.published_at = Set(Some(now));
    }
    active.updated_at = Set(now);
    active.version = Set(current.version + 1);
    let updated = active.update(&txn).await?;
    outbox::enqueue(&txn, [id]).await?;
    txn.commit().await?;
    Ok(updated)
}

/// What a course needs before the public sees it. Errors name the field to fix.
pub(crate) async fn check_publishable(
    txn: &DatabaseTransaction,
    course: &course::Model,
    provider: &organization::Model,
) -> ApiResult<()> {
    if course.description.chars().count() < 20 {
        return Err(ApiError::bad_input(
            "input.description",
            "a published course needs a description of at least 20 characters",
        ));
    }
    if course.duration_hours.is_none() {
        return Err(ApiError::bad_input("input.durationHours", "a published course needs its duration"));
    }
    if course.price_cents.is_none() {
        return Err(ApiError::bad_input("input.priceCents", "a published course needs a price (0 for free)"));
    }
    if json_list::decode::<String>(&course.languages).is_empty() {
        return Err(ApiError::bad_input("input.languages", "a published course needs at least one language"));
    }
    let skill_count =
        course_skill::Entity::find().filter(course_skill::Column::CourseId.eq(course.id)).count(txn).await?;
    if skill_count == 0 {
        return Err(ApiError::bad_input("input.skillIds", "a published course needs at least one skill"));
    }
    let funding: Vec<FundingOption> = json_list::decode(&course.funding_options);
    let needs_azav = funding.iter().any(|f| {
        matches!(
            f,
            FundingOption::Qcg | FundingOption::Bildungsgutschein | FundingOption::Qualifizierungsgeld
        )
    });
    if needs_azav && (!provider.azav_certified || course.azav_measure_number.is_none()) {
        return Err(ApiError::bad_input(
            "input.fundingOptions",
            "QCG, Bildungsgutschein and Qualifizierungsgeld need an AZAV-certified provider and the measure's AZAV number",
        ));
    }
    if funding.contains(&FundingOption::AufstiegsBafoeg)
        && (!matches!(course.dqr_level, Some(5..=7)) || course.duration_hours.is_none_or(|h| h < 400))
    {
        return Err(ApiError::bad_input(
            "input.fundingOptions",
            "Aufstiegs-BAföG applies to upgrading qualifications at DQR 5–7 with at least 400 hours",
        ));
    }
    if !course.rolling_start {
        let offerings =
            offering::Entity::find().filter(offering::Column::CourseId.eq(course.id)).count(txn).await?;
        if offerings == 0 {
            return Err(ApiError::bad_input(
                "offerings",
                "a published course needs at least one offering, or a rolling start",
            ));
        }
    }
    Ok(())
}

/// Deletes a course with its offerings (members of the provider).
pub async fn delete(state: &AppState, caller: Uuid, id: Uuid) -> ApiResult<course::Model> {
    let db = &state.db;
    let txn = db::begin_write(db).await?;
    let (course, _) = lock_for_write(&txn, caller, id, None).await?;
    course::Entity::delete_by_id(id).exec(&txn).await?;
    outbox::enqueue(&txn, [id]).await?;
    txn.commit().await?;
    Ok(course)
}

// ---- offerings ----

#[derive(Debug, Clone, Default)]
pub struct Venue {
    pub street: Option<String>,
    pub postal_code: Option<String>,
    pub city: Option<String>,
    pub bundesland: Option<Bundesland>,
    pub location: Option<(f64, f64)>,
}

#[derive(Debug, Clone, Default)]
pub struct OfferingFields {
    pub start_date: Option<NaiveDate>,
    pub end_date: Option<NaiveDate>,
    pub signup_deadline: Option<Option<NaiveDate>>,
    pub rolling_start: Option<bool>,
    pub schedule_details: Option<String>,
    pub online: Option<bool>,
    pub venue: Option<Venue>,
    pub seats_total: Option<i32>,
    pub seats_available: Option<i32>,
    pub price_cents_override: Option<Option<i64>>,
}

pub(crate) fn apply_offering(
    mut model: offering::Model,
    fields: OfferingFields,
) -> ApiResult<offering::Model> {
    if let Some(start) = fields.start_date {
        model.start_date = start;
    }
    if let Some(end) = fields.end_date {
        model.end_date = end;
    }
    if let Some(deadline) = fields.signup_deadline {
        model.signup_deadline = deadline;
    }
    if let Some(rolling) = fields.rolling_start {
        model.rolling_start = rolling;
    }
    if let Some(details) = fields.schedule_details {
        model.schedule_details = validate::optional_text("input.scheduleDetails", Some(&details), 500)?;
    }
    if let Some(online) = fields.online {
        model.online = online;
    }
    if let Some(venue) = fields.venue {
        model.street = validate::optional_text("input.venue.street", venue.street.as_deref(), 200)?;
        model.postal_code = venue
            .postal_code
            .as_deref()
            .map(|p| validate::german_postal_code("input.venue.postalCode", p))
            .transpose()?;
        model.city = validate::optional_text("input.venue.city", venue.city.as_deref(), 120)?;
        model.bundesland = venue.bundesland;
        let location = venue
            .location
            .map(|(lat, lng)| validate::coordinates("input.venue.location", lat, lng))
            .transpose()?;
        model.latitude = location.map(|l| l.0);
        model.longitude = location.map(|l| l.1);
    }
    if let Some(total) = fields.seats_total {
        model.seats_total = total;
    }
    if let Some(available) = fields.seats_available {
        model.seats_available = available;
    }
    if let Some(price) = fields.price_cents_override {
        model.price_cents_override = price.map(|p| price_cents("input.priceCentsOverride", p)).transpose()?;
    }
    if model.end_date < model.start_date {
        return Err(ApiError::bad_input("input.endDate", "the end date must not be before the start date"));
    }
    if model.signup_deadline.is_some_and(|d| d > model.start_date) {
        return Err(ApiError::bad_input(
            "input.signupDeadline",
            "the signup deadline must not be after the start date",
        ));
    }
    if !(0..=100_000).contains(&model.seats_total) {
        return Err(ApiError::bad_input("input.seatsTotal", "seats must be 0 to 100000"));
    }
    if model.seats_available < 0 || model.seats_available > model.seats_total {
        return Err(ApiError::bad_input(
            "input.seatsAvailable",
            "available seats must be between 0 and seatsTotal",
        ));
    }
    if !model.online && model.city.is_none() {
        return Err(ApiError::bad_input("input.venue.city", "an offering in person needs the venue's city"));
    }
    Ok(model)
}

/// Adds an offering to a course (members of its provider).
pub async fn add_offering(
    state: &AppState,
    caller: Uuid,
    course_id: Uuid,
    fields: OfferingFields,
) -> ApiResult<offering::Model> {
    let db = &state.db;
    let (Some(start), Some(end)) = (fields.start_date, fields.end_date) else {
        let field = if fields.start_date.is_none() { "input.startDate" } else { "input.endDate" };
        return Err(ApiError::bad_input(field, "an offering needs start and end dates"));
    };
    let txn = db::begin_write(db).await?;
    let (course, _) = lock_for_write(&txn, caller, course_id, None).await?;
    let blank = blank_offering(&course, start, end, fields.seats_total, fields.seats_available);
    let model = apply_offering(blank, fields)?;
    let inserted = offering::ActiveModel::from(model).insert(&txn).await?;
    touch_course(&txn, course_id).await?;
    txn.commit().await?;
    Ok(inserted)
}

/// A new offering of `course` from `start` to `end`; seats default to the course's maximum (or 12).
pub(crate) fn blank_offering(
    course: &course::Model,
    start: NaiveDate,
    end: NaiveDate,
    seats_total: Option<i32>,
    seats_available: Option<i32>,
) -> offering::Model {
    let now = Utc::now();
    let seats = seats_total.unwrap_or(course.max_participants.unwrap_or(12));
    offering::Model {
        id: Uuid::now_v7(),
        course_id: course.id,
        start_date: start,
        end_date: end,
        signup_deadline: None,
        rolling_start: false,
        schedule_details: None,
        online: course.format == CourseFormat::Online,
        street: None,
        postal_code: None,
        city: None,
        bundesland: None,
        latitude: None,
        longitude: None,
        seats_total: seats,
        seats_available: seats_available.unwrap_or(seats),
        price_cents_override: None,
        created_at: now,
        updated_at: now,
        version: 1,
        external_id: None,
    }
}

async fn lock_offering(
    txn: &DatabaseTransaction,
    caller: Uuid,
    id: Uuid,
) -> ApiResult<(offering::Model, course::Model)> {
    let offering = offering::Entity::find_by_id(id)
        .lock_exclusive()
        .one(txn)
        .await?
        .ok_or_else(|| ApiError::not_found("offering"))?;
    let (course, _) = lock_for_write(txn, caller, offering.course_id, None).await?;
    Ok((offering, course))
}

pub async fn update_offering(
    state: &AppState,
    caller: Uuid,
    id: Uuid,
    expected_version: i32,
    fields: OfferingFields,
) -> ApiResult<offering::Model> {
    let db = &state.db;
    let txn = db::begin_write(db).await?;
    let (current, _) = lock_offering(&txn, caller, id).await?;
    if current.version != expected_version {
        return Err(stale("offering", current.version, expected_version));
    }
    let mut model = apply_offering(current.clone(), fields)?;
    model.updated_at = Utc::now();
    model.version = current.version + 1;
    let updated = offering::ActiveModel::from(model).reset_all().update(&txn).await?;
    touch_course(&txn, updated.course_id).await?;
    txn.commit().await?;
    Ok(updated)
}

/// Removes an offering; the last one of a published course without rolling start stays.
pub async fn delete_offering(state: &AppState, caller: Uuid, id: Uuid) -> ApiResult<offering::Model> {
    let db = &state.db;
    let txn = db::begin_write(db).await?;
    let (current, course) = lock_offering(&txn, caller, id).await?;
    if course.status == CourseStatus::Published && !course.rolling_start {
        let count =
            offering::Entity::find().filter(offering::Column::CourseId.eq(course.id)).count(&txn).await?;
        if count <= 1 {
            return Err(ApiError::conflict_on(
                "id",
                "the last offering of a published course cannot be removed; archive the course instead",
            ));
        }
    }
    offering::Entity::delete_by_id(id).exec(&txn).await?;
    touch_course(&txn, course.id).await?;
    txn.commit().await?;
    Ok(current)
}

/// Offerings of these courses changed (an import's chunk): their documents change with them.
pub(crate) async fn touch_courses(
    txn: &DatabaseTransaction,
    ids: std::collections::HashSet<Uuid>,
) -> ApiResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = ids.into_iter().collect();
    outbox::enqueue(txn, ids.iter().copied()).await?;
    for chunk in ids.chunks(500) {
        course::Entity::update_many()
            .col_expr(course::Column::UpdatedAt, Expr::value(Utc::now()))
            .filter(course::Column::Id.is_in(chunk.iter().copied()))
            .exec(txn)
            .await?;
    }
    Ok(())
}

/// An offering changed: the course's documents change with it.
pub(crate) async fn touch_course(txn: &DatabaseTransaction, id: Uuid) -> ApiResult<()> {
    outbox::enqueue(txn, [id]).await?;
    course::Entity::update_many()
        .col_expr(course::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(course::Column::Id.eq(id))
        .exec(txn)
        .await?;
    Ok(())
}

pub async fn find_offering(state: &AppState, caller: Option<Uuid>, id: Uuid) -> ApiResult<offering::Model> {
    let reads = &state.reads;
    let offering =
        reads.by_id::<offering::Entity>(id).await?.ok_or_else(|| ApiError::not_found("offering"))?;
    visible(state, caller, offering.course_id).await.map_err(|_| ApiError::not_found("offering"))?;
    Ok(offering)
}

// ---- loaders ----

pub async fn offerings_of(state: &AppState, course_ids: &[Uuid]) -> ApiResult<Vec<offering::Model>> {
    let db = &state.db;
    Ok(offering::Entity::find()
        .filter(offering::Column::CourseId.is_in(course_ids.iter().copied()))
        .order_by_asc(offering::Column::StartDate)
        .order_by_asc(offering::Column::Id)
        .all(db)
        .await?)
}

/// (course id, skill) pairs in the provider's order: the links in one query by the link table's
/// key, the skills from the vocabulary in memory (see [`crate::db::vocabulary`]).
pub async fn course_skills(
    state: &AppState,
    course_ids: &[Uuid],
) -> ApiResult<Vec<(Uuid, std::sync::Arc<entity::skill::Model>)>> {
    let links: Vec<(Uuid, String)> = course_skill::Entity::find()
        .select_only()
        .column(course_skill::Column::CourseId)
        .column(course_skill::Column::SkillId)
        .filter(course_skill::Column::CourseId.is_in(course_ids.iter().copied()))
        .order_by_asc(course_skill::Column::Position)
        .into_tuple()
        .all(&state.db)
        .await?;
    let skills = state.reads.skills(links.iter().map(|(_, skill)| skill.as_str())).await?;
    Ok(links.into_iter().filter_map(|(course, skill)| Some((course, skills.get(&skill)?.clone()))).collect())
}

/// The skills of a course that an import suggested and the provider has not confirmed.
pub async fn suggested_skill_ids(state: &AppState, course_id: Uuid) -> ApiResult<Vec<String>> {
    Ok(course_skill::Entity::find()
        .select_only()
        .column(course_skill::Column::SkillId)
        .filter(course_skill::Column::CourseId.eq(course_id))
        .filter(course_skill::Column::Suggested.eq(true))
        .order_by_asc(course_skill::Column::Position)
        .into_tuple()
        .all(&state.db)
        .await?)
}

/// (course id, skill) pairs in the provider's order, in one joined query.
pub async fn skills_of(
    db: &impl ConnectionTrait,
    course_ids: &[Uuid],
) -> ApiResult<Vec<(course_skill::Model, entity::skill::Model)>> {
    let rows = course_skill::Entity::find()
        .find_also_related(entity::skill::Entity)
        .filter(course_skill::Column::CourseId.is_in(course_ids.iter().copied()))
        .order_by_asc(course_skill::Column::Position)
        .all(db)
        .await?;
    Ok(rows.into_iter().filter_map(|(link, skill)| skill.map(|s| (link, s))).collect())
}
