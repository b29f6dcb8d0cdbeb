//! Records into the database, each within the caller's transaction (a savepoint per record, see
//! [`super::run`]). Only the provider's own courses with a catalogue key are ever looked at.

use std::collections::{HashMap, HashSet};

use chrono::Utc;
use entity::course::{self, CourseStatus, FundingOption};
use entity::{course_skill, offering, organization};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, PaginatorTrait,
    QueryFilter, QuerySelect, Set,
};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::suggest::Vocabulary;
use super::{Mode, OfferRecord, RunRecord};
use crate::error::{ApiError, ApiResult, Code};
use crate::search::outbox;
use crate::service::{courses, json_list};

/// What applying a record did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Created(Uuid),
    Updated(Uuid),
    Unchanged(Uuid),
    /// Archived (a published course), removed (a draft, a run) or already gone.
    Deleted(Option<Uuid>),
}

impl Outcome {
    /// The course the outcome concerns, if one exists now.
    pub fn course(self) -> Option<Uuid> {
        match self {
            Self::Created(id) | Self::Updated(id) | Self::Unchanged(id) => Some(id),
            Self::Deleted(_) => None,
        }
    }
}

/// A record that could not be applied: a message for the report, or a fault of the database that
/// stops the whole run.
#[derive(Debug)]
pub enum Refusal {
    Record(String),
    Fault(ApiError),
}

impl From<ApiError> for Refusal {
    fn from(err: ApiError) -> Self {
        match err.code() {
            Code::ServiceUnavailable | Code::InternalServerError => Self::Fault(err),
            _ => Self::Record(german(&err)),
        }
    }
}

impl From<sea_orm::DbErr> for Refusal {
    fn from(err: sea_orm::DbErr) -> Self {
        ApiError::from(err).into()
    }
}

/// A platform rule's error in the report's words.
fn german(err: &ApiError) -> String {
    let field = err.field().unwrap_or("Datensatz");
    format!("abgelehnt ({field}): {}", err.message())
}

/// SHA-256 of what a record says about its course: a record read again unchanged changes nothing.
fn fingerprint(record: &OfferRecord) -> String {
    let text = format!("{:?}|{:?}|{}", record.fields, record.classification, record.skill_text);
    hex::encode(Sha256::digest(text.as_bytes()))
}

pub async fn find_course(
    db: &impl ConnectionTrait,
    provider: Uuid,
    key: &str,
) -> ApiResult<Option<course::Model>> {
    Ok(course::Entity::find()
        .filter(course::Column::ProviderId.eq(provider))
        .filter(course::Column::ExternalId.eq(key))
        .one(db)
        .await?)
}

/// Applies an offer. `New` and `Update` both create what does not exist yet and update what does.
pub async fn offer(
    txn: &DatabaseTransaction,
    provider: &organization::Model,
    vocabulary: &mut Vocabulary,
    record: OfferRecord,
    touched: &mut HashSet<Uuid>,
) -> Result<Outcome, Refusal> {
    let existing = find_course(txn, provider.id, &record.key).await?;
    if record.mode == Mode::Delete {
        // A deletion names only a PRODUCT_ID: an offer's or a run's.
        return match existing {
            Some(course) => Ok(Outcome::Deleted(retire(txn, course).await?)),
            None => delete_run(txn, provider.id, &record.key, touched).await,
        };
    }
    let hash = fingerprint(&record);
    let suggested = vocabulary.suggest(&record.skill_text);
    let OfferRecord { key, fields, classification, .. } = record;
    match existing {
        None => {
            let mut blank = courses::blank_course(provider.id);
            blank.external_id = Some(key);
            blank.import_hash = Some(hash);
            blank.classification = classification;
            let (model, _) = courses::apply(txn, blank, fields).await?;
            let inserted = course::ActiveModel::from(model).insert(txn).await?;
            courses::set_skills(txn, inserted.id, &suggested, true).await?;
            Ok(Outcome::Created(inserted.id))
        }
        Some(current)
            if current.import_hash.as_deref() == Some(hash.as_str())
                && current.status != CourseStatus::Archived =>
        {
            Ok(Outcome::Unchanged(current.id))
        }
        Some(current) => {
            let id = current.id;
            let (mut model, _) = courses::apply(txn, current.clone(), fields).await?;
            model.import_hash = Some(hash);
            model.classification = classification;
            model.updated_at = Utc::now();
            model.version = current.version + 1;
            // Listed again after it was retired: back as a draft, to be published again.
            if model.status == CourseStatus::Archived {
                model.status = CourseStatus::Draft;
            }
            // Skills the provider chose stay; suggestions follow the text.
            let chosen = course_skill::Entity::find()
                .filter(course_skill::Column::CourseId.eq(id))
                .filter(course_skill::Column::Suggested.eq(false))
                .count(txn)
                .await?;
            if chosen == 0 {
                courses::set_skills(txn, id, &suggested, true).await?;
            }
            if model.status == CourseStatus::Published {
                let provider_row = provider.clone();
                courses::check_publishable(txn, &model, &provider_row).await.map_err(|err| {
                    Refusal::Record(format!(
                        "das veröffentlichte Angebot würde die Regeln für Veröffentlichung verletzen ({}: {}); \
                         es bleibt unverändert",
                        err.field().unwrap_or("Angebot"),
                        err.message()
                    ))
                })?;
            }
            course::ActiveModel::from(model).reset_all().update(txn).await?;
            outbox::enqueue(txn, [id]).await?;
            Ok(Outcome::Updated(id))
        }
    }
}

/// A course the catalogue no longer lists: a published one is archived (it stays readable by id),
/// a draft removed; an archived one stays as it is.
async fn retire(txn: &DatabaseTransaction, course: course::Model) -> ApiResult<Option<Uuid>> {
    match course.status {
        CourseStatus::Published => {
            let mut active: course::ActiveModel = course.clone().into();
            active.status = Set(CourseStatus::Archived);
            active.updated_at = Set(Utc::now());
            active.version = Set(course.version + 1);
            active.update(txn).await?;
        }
        CourseStatus::Draft => {
            course::Entity::delete_by_id(course.id).exec(txn).await?;
        }
        CourseStatus::Archived => return Ok(Some(course.id)),
    }
    outbox::enqueue(txn, [course.id]).await?;
    Ok(Some(course.id))
}

async fn find_run(
    db: &impl ConnectionTrait,
    provider: Uuid,
    key: &str,
) -> ApiResult<Option<offering::Model>> {
    // By the run's key (indexed), then its course's provider: never another provider's run. (A
    // join lets SQLite's planner start from the provider's courses, a scan of all of them per run.)
    let candidates = offering::Entity::find().filter(offering::Column::ExternalId.eq(key)).all(db).await?;
    for candidate in candidates {
        let owner: Option<Uuid> = course::Entity::find_by_id(candidate.course_id)
            .select_only()
            .column(course::Column::ProviderId)
            .into_tuple()
            .one(db)
            .await?;
        if owner == Some(provider) {
            return Ok(Some(candidate));
        }
    }
    Ok(None)
}

/// Applies a run. `pending_offers` are offers this dry run created and rolled back: a run of one is
/// checked as a new run of a blank course.
pub async fn run(
    txn: &DatabaseTransaction,
    provider: &organization::Model,
    record: RunRecord,
    pending_offers: &HashSet<String>,
    notes: &mut Vec<String>,
    touched: &mut HashSet<Uuid>,
    courses_seen: &mut HashMap<String, course::Model>,
) -> Result<Outcome, Refusal> {
    if record.mode == Mode::Delete {
        return delete_run(txn, provider.id, &record.key, touched).await;
    }
    let existing = find_run(txn, provider.id, &record.key).await?;
    // A course's runs usually follow each other: its row is read once per chunk.
    let known = match courses_seen.get(&record.offer_key) {
        Some(course) => Some(course.clone()),
        None => find_course(txn, provider.id, &record.offer_key).await?,
    };
    let course = match known {
        Some(course) => course,
        None if pending_offers.contains(&record.offer_key) => {
            let (Some(start), Some(end)) = (record.start, record.end) else {
                return Err(Refusal::Record("ein Termin braucht Beginn und Ende".into()));
            };
            let blank = courses::blank_course(provider.id);
            courses::apply_offering(courses::blank_offering(&blank, start, end, None, None), record.fields)?;
            return Ok(Outcome::Created(blank.id));
        }
        None => {
            return Err(Refusal::Record(format!(
                "das Angebot „{}“, zu dem der Termin gehört, ist weder in der Datei noch im Katalog",
                record.offer_key
            )));
        }
    };
    let course = complete_course(txn, course, &record, notes).await?;
    courses_seen.insert(record.offer_key.clone(), course.clone());
    // A run at its course's price has no price of its own.
    let course_price = course.price_cents;
    let mut record = record;
    if record.fields.price_cents_override.flatten() == course_price {
        record.fields.price_cents_override = Some(None);
    }
    match existing {
        None => {
            let (Some(start), Some(end)) = (record.start, record.end) else {
                return Err(Refusal::Record("ein Termin braucht Beginn und Ende".into()));
            };
            let seats = record.fields.seats_total;
            let mut blank =
                courses::blank_offering(&course, start, end, seats, record.fields.seats_available);
            blank.external_id = Some(record.key);
            let model = courses::apply_offering(blank, record.fields)?;
            let inserted = offering::ActiveModel::from(model).insert(txn).await?;
            touched.insert(course.id);
            Ok(Outcome::Created(inserted.id))
        }
        Some(current) => {
            let mut fields = record.fields;
            fields.start_date = record.start.or(fields.start_date);
            fields.end_date = record.end.or(fields.end_date);
            let mut model = courses::apply_offering(current.clone(), fields)?;
            model.course_id = course.id;
            if model == current {
                return Ok(Outcome::Unchanged(current.id));
            }
            model.updated_at = Utc::now();
            model.version = current.version + 1;
            let updated = offering::ActiveModel::from(model).reset_all().update(txn).await?;
            touched.insert(course.id);
            if current.course_id != course.id {
                touched.insert(current.course_id);
            }
            Ok(Outcome::Updated(updated.id))
        }
    }
}

async fn delete_run(
    txn: &DatabaseTransaction,
    provider: Uuid,
    key: &str,
    touched: &mut HashSet<Uuid>,
) -> Result<Outcome, Refusal> {
    let Some(current) = find_run(txn, provider, key).await? else { return Ok(Outcome::Deleted(None)) };
    let course = course::Entity::find_by_id(current.course_id).one(txn).await?;
    if let Some(course) = &course {
        keep_one_run(txn, course).await?;
    }
    offering::Entity::delete_by_id(current.id).exec(txn).await?;
    touched.insert(current.course_id);
    Ok(Outcome::Deleted(Some(current.id)))
}

/// What a run says about its course: funding types (OpenQCAT keeps them on runs) are added, a
/// course without a price takes the run's, and one without a duration gets one estimated from the
/// run's dates (a note says so). Returns the course as it is now.
async fn complete_course(
    txn: &DatabaseTransaction,
    course: course::Model,
    record: &RunRecord,
    notes: &mut Vec<String>,
) -> ApiResult<course::Model> {
    let mut funding: Vec<FundingOption> = json_list::decode(&course.funding_options);
    let before = funding.len();
    for option in &record.funding {
        if !funding.contains(option) {
            funding.push(*option);
        }
    }
    let price = record.fields.price_cents_override.flatten().filter(|_| course.price_cents.is_none());
    let hours = match (course.duration_hours, record.start, record.end) {
        (None, Some(start), Some(end)) => estimate_hours(course.schedule, start, end),
        _ => None,
    };
    if funding.len() == before && price.is_none() && hours.is_none() {
        return Ok(course);
    }
    funding.sort();
    let mut active: course::ActiveModel = course.into();
    active.funding_options = Set(json_list::encode(&funding));
    if let Some(price) = price {
        active.price_cents = Set(Some(price));
    }
    if let Some((hours, per_day)) = hours {
        active.duration_hours = Set(Some(hours));
        notes.push(format!(
            "die Datei nennt keine Stundenzahl: {hours} Unterrichtsstunden aus den Terminen geschätzt \
             ({per_day} je Werktag); bitte im Kurs prüfen"
        ));
    }
    Ok(active.update(txn).await?)
}

/// Hours from a run's dates: working days from start to end times the hours a day of the schedule
/// (full time 8, part time 4, extra-occupational 3); `None` for a self-paced course.
pub fn estimate_hours(
    schedule: entity::course::CourseSchedule,
    start: chrono::NaiveDate,
    end: chrono::NaiveDate,
) -> Option<(i32, i32)> {
    use chrono::Datelike;
    use entity::course::CourseSchedule as S;
    let per_day = match schedule {
        S::FullTime => 8,
        S::PartTime => 4,
        S::ExtraOccupational => 3,
        S::SelfPaced => return None,
    };
    let days = start
        .iter_days()
        .take_while(|d| *d <= end)
        .filter(|d| d.weekday().num_days_from_monday() < 5)
        .count();
    let hours = (days as i32).saturating_mul(per_day).clamp(1, 10_000);
    (days > 0).then_some((hours, per_day))
}

/// The last run of a published course without rolling start is not removed.
async fn keep_one_run(txn: &DatabaseTransaction, course: &course::Model) -> Result<(), Refusal> {
    if course.status != CourseStatus::Published || course.rolling_start {
        return Ok(());
    }
    let count = offering::Entity::find().filter(offering::Column::CourseId.eq(course.id)).count(txn).await?;
    if count <= 1 {
        return Err(Refusal::Record(
            "der letzte Termin eines veröffentlichten Angebots ohne laufenden Einstieg wird nicht gelöscht; \
             liefern Sie einen neuen Termin oder löschen Sie das Angebot"
                .into(),
        ));
    }
    Ok(())
}

/// A full catalogue: the provider's imported courses whose keys it does not list are retired, and
/// the imported runs it does not list removed. Returns how many records that were.
pub async fn retire_unlisted(
    txn: &DatabaseTransaction,
    provider: Uuid,
    offers: &HashSet<String>,
    runs: &HashSet<String>,
) -> ApiResult<u32> {
    let imported: Vec<course::Model> = course::Entity::find()
        .filter(course::Column::ProviderId.eq(provider))
        .filter(course::Column::ExternalId.is_not_null())
        .all(txn)
        .await?;
    let mut retired = 0;
    let mut kept = Vec::new();
    for course in imported {
        let listed = course.external_id.as_ref().is_some_and(|k| offers.contains(k));
        if listed {
            kept.push(course.id);
        } else if course.status != CourseStatus::Archived {
            retire(txn, course).await?;
            retired += 1;
        }
    }
    for chunk in kept.chunks(500) {
        let unlisted: Vec<(Uuid, Uuid, Option<String>)> = offering::Entity::find()
            .select_only()
            .column(offering::Column::Id)
            .column(offering::Column::CourseId)
            .column(offering::Column::ExternalId)
            .filter(offering::Column::CourseId.is_in(chunk.iter().copied()))
            .filter(offering::Column::ExternalId.is_not_null())
            .into_tuple()
            .all(txn)
            .await?;
        for (id, course_id, key) in unlisted {
            if key.is_some_and(|k| !runs.contains(&k)) {
                offering::Entity::delete_by_id(id).exec(txn).await?;
                courses::touch_course(txn, course_id).await?;
                retired += 1;
            }
        }
    }
    Ok(retired)
}

/// Publishes a draft course when it passes the publish rules; `Err` says why not.
pub async fn publish(txn: &DatabaseTransaction, provider: &organization::Model, id: Uuid) -> ApiResult<bool> {
    let Some(course) = course::Entity::find_by_id(id).one(txn).await? else { return Ok(false) };
    if course.status != CourseStatus::Draft {
        return Ok(false);
    }
    courses::check_publishable(txn, &course, provider).await?;
    let now = Utc::now();
    course::Entity::update_many()
        .col_expr(course::Column::Status, Expr::value(CourseStatus::Published))
        .col_expr(course::Column::PublishedAt, Expr::value(Some(now)))
        .col_expr(course::Column::UpdatedAt, Expr::value(now))
        .col_expr(course::Column::Version, Expr::col(course::Column::Version).add(1))
        .filter(course::Column::Id.eq(id))
        .exec(txn)
        .await?;
    outbox::enqueue(txn, [id]).await?;
    Ok(true)
}
