//! Search documents: one per offering, with the course's fields denormalised into it, so a course held
//! in several cities is found by radius and sorted by distance. A course with a rolling start, or
//! online only, gets a single document.

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveTime};
use entity::course::{self, CourseFormat, CourseStatus};
use entity::{offering, organization, skill};
use sea_orm::{ActiveEnum, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::ApiResult;
use crate::service::{courses, json_list, skills};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Geo {
    pub lat: f64,
    pub lng: f64,
}

/// What the index holds per offering. Field names are the Meilisearch attribute names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OfferingDocument {
    /// The offering id, or the course id for a course's single document.
    pub id: String,
    pub course_id: String,
    pub offering_id: Option<String>,
    pub title: String,
    pub subtitle: Option<String>,
    pub description: String,
    pub skill_ids: Vec<String>,
    pub skill_labels: Vec<String>,
    pub keywords: Vec<String>,
    /// Words of title, skills and keywords with umlauts or ß, also spelt "ae"/"ss" and "a": engines
    /// whose tokenizer does not fold them still find "Schweissen" and "Fuehrung".
    pub folded_words: Vec<String>,
    pub provider_id: String,
    pub provider_name: String,
    pub city: Option<String>,
    pub postal_code: Option<String>,
    /// GraphQL enum name, e.g. THUERINGEN.
    pub bundesland: Option<String>,
    pub status: String,
    pub dqr_level: Option<i64>,
    pub format: String,
    pub schedule: String,
    pub funding: Vec<String>,
    pub languages: Vec<String>,
    /// Start of the offering as a Unix timestamp (seconds, midnight UTC); none for a rolling start.
    pub start: Option<i64>,
    /// Price per participant in cents (the offering's override, else the course's).
    pub price: Option<i64>,
    pub seats_available: Option<i64>,
    pub rolling_start: bool,
    pub online: bool,
    pub zusatzqualifikation: bool,
    #[serde(rename = "_geo", skip_serializing_if = "Option::is_none", default)]
    pub geo: Option<Geo>,
    /// Unix timestamp of the course's last change.
    pub updated: i64,
    /// Grows with every change of the course or the offering: the self-repair compares it with
    /// the database ([`expected_versions`]).
    #[serde(default)]
    pub version: i64,
}

/// A document as the drift check sees it: which course, at which version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentVersion {
    pub id: String,
    pub course_id: Uuid,
    pub version: i64,
}

/// A course's documents after a change: empty when it must leave the index.
#[derive(Debug, Clone)]
pub struct CourseDocuments {
    pub course_id: Uuid,
    pub documents: Vec<OfferingDocument>,
}

pub fn day_timestamp(date: NaiveDate) -> i64 {
    date.and_time(NaiveTime::MIN).and_utc().timestamp()
}

/// The documents of `course_ids` as the database has them now; unpublished and deleted courses
/// get none.
pub async fn build(db: &impl ConnectionTrait, course_ids: &[Uuid]) -> ApiResult<Vec<CourseDocuments>> {
    let courses: Vec<course::Model> = course::Entity::find()
        .filter(course::Column::Id.is_in(course_ids.iter().copied()))
        .filter(course::Column::Status.eq(CourseStatus::Published))
        .all(db)
        .await?;
    let published: Vec<Uuid> = courses.iter().map(|c| c.id).collect();
    let providers = crate::service::organizations::by_ids(db, courses.iter().map(|c| c.provider_id)).await?;
    let mut offerings: HashMap<Uuid, Vec<offering::Model>> = HashMap::new();
    for o in
        offering::Entity::find().filter(offering::Column::CourseId.is_in(published.clone())).all(db).await?
    {
        offerings.entry(o.course_id).or_default().push(o);
    }
    let mut skills_of: HashMap<Uuid, Vec<skill::Model>> = HashMap::new();
    for (link, skill) in courses::skills_of(db, &published).await? {
        skills_of.entry(link.course_id).or_default().push(skill);
    }
    let mut by_course: HashMap<Uuid, Vec<OfferingDocument>> = HashMap::new();
    for course in &courses {
        let Some(provider) = providers.get(&course.provider_id) else { continue };
        let docs = documents_of(
            course,
            provider,
            offerings.get(&course.id).map(Vec::as_slice).unwrap_or(&[]),
            skills_of.get(&course.id).map(Vec::as_slice).unwrap_or(&[]),
        );
        by_course.insert(course.id, docs);
    }
    Ok(course_ids
        .iter()
        .map(|id| CourseDocuments { course_id: *id, documents: by_course.remove(id).unwrap_or_default() })
        .collect())
}

/// A course with a rolling start, online only or without offerings is one document; otherwise each
/// offering is one.
fn single_document(rolling_start: bool, format: CourseFormat, has_offerings: bool) -> bool {
    rolling_start || format == CourseFormat::Online || !has_offerings
}

/// Both versions only grow, so their sum changes with either.
fn offering_version(course: i32, offering: i32) -> i64 {
    i64::from(course) + i64::from(offering)
}

/// The documents the database implies, without building them: the ids and versions
/// [`build`] would give every published course.
pub async fn expected_versions(db: &impl ConnectionTrait) -> ApiResult<Vec<DocumentVersion>> {
    let courses: Vec<(Uuid, i32, bool, CourseFormat)> = course::Entity::find()
        .select_only()
        .columns([
            course::Column::Id,
            course::Column::Version,
            course::Column::RollingStart,
            course::Column::Format,
        ])
        .filter(course::Column::Status.eq(CourseStatus::Published))
        .into_tuple()
        .all(db)
        .await?;
    let mut offerings: HashMap<Uuid, Vec<(Uuid, i32)>> = HashMap::new();
    let ids: Vec<Uuid> = courses.iter().map(|c| c.0).collect();
    for chunk in ids.chunks(500) {
        let rows: Vec<(Uuid, Uuid, i32)> = offering::Entity::find()
            .select_only()
            .columns([offering::Column::Id, offering::Column::CourseId, offering::Column::Version])
            .filter(offering::Column::CourseId.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(db)
            .await?;
        for (id, course_id, version) in rows {
            offerings.entry(course_id).or_default().push((id, version));
        }
    }
    let mut out = Vec::new();
    for (course_id, version, rolling_start, format) in courses {
        let of_course = offerings.remove(&course_id).unwrap_or_default();
        if single_document(rolling_start, format, !of_course.is_empty()) {
            out.push(DocumentVersion { id: course_id.to_string(), course_id, version: i64::from(version) });
            continue;
        }
        out.extend(of_course.into_iter().map(|(id, offering)| DocumentVersion {
            id: id.to_string(),
            course_id,
            version: offering_version(version, offering),
        }));
    }
    Ok(out)
}

fn documents_of(
    course: &course::Model,
    provider: &organization::Model,
    offerings: &[offering::Model],
    skills: &[skill::Model],
) -> Vec<OfferingDocument> {
    let base = OfferingDocument {
        id: course.id.to_string(),
        course_id: course.id.to_string(),
        offering_id: None,
        title: course.title.clone(),
        subtitle: course.subtitle.clone(),
        description: course.description.clone(),
        skill_ids: skills.iter().map(|s| s.id.clone()).collect(),
        skill_labels: skills.iter().map(|s| s.label.clone()).collect(),
        keywords: json_list::decode(&course.keywords),
        folded_words: Vec::new(),
        provider_id: provider.id.to_string(),
        provider_name: provider.name.clone(),
        city: provider.city.clone(),
        postal_code: provider.postal_code.clone(),
        bundesland: provider.bundesland.map(|b| bundesland_name(b).to_owned()),
        status: "PUBLISHED".into(),
        dqr_level: course.dqr_level.map(i64::from),
        format: course.format.to_value(),
        schedule: course.schedule.to_value(),
        funding: json_list::decode::<String>(&course.funding_options),
        languages: json_list::decode(&course.languages),
        start: None,
        price: course.price_cents,
        seats_available: None,
        rolling_start: course.rolling_start,
        online: course.format == CourseFormat::Online,
        zusatzqualifikation: course.zusatzqualifikation,
        geo: None,
        updated: course.updated_at.timestamp(),
        version: i64::from(course.version),
    };
    let mut base = base;
    let mut texts: Vec<&str> = vec![&course.title];
    texts.extend(skills.iter().map(|s| s.label.as_str()));
    let keywords: Vec<String> = json_list::decode(&course.keywords);
    texts.extend(keywords.iter().map(String::as_str));
    base.folded_words = folded_words(&texts);
    if single_document(course.rolling_start, course.format, !offerings.is_empty()) {
        let earliest = offerings.iter().min_by_key(|o| o.start_date);
        let seats = offerings.iter().map(|o| o.seats_available as i64).max();
        let mut doc = base;
        doc.start = if course.rolling_start { None } else { earliest.map(|o| day_timestamp(o.start_date)) };
        doc.seats_available = seats;
        if course.format != CourseFormat::Online {
            doc.geo = provider.latitude.zip(provider.longitude).map(|(lat, lng)| Geo { lat, lng });
        }
        return vec![doc];
    }
    offerings
        .iter()
        .map(|o| {
            let mut doc = base.clone();
            doc.id = o.id.to_string();
            doc.offering_id = Some(o.id.to_string());
            doc.start = Some(day_timestamp(o.start_date));
            doc.price = o.price_cents_override.or(course.price_cents);
            doc.seats_available = Some(o.seats_available as i64);
            doc.online = o.online;
            doc.version = offering_version(course.version, o.version);
            if !o.online {
                doc.city = o.city.clone().or(doc.city);
                doc.postal_code = o.postal_code.clone().or(doc.postal_code);
                doc.bundesland = o.bundesland.map(|b| bundesland_name(b).to_owned()).or(doc.bundesland);
                doc.geo = o
                    .latitude
                    .zip(o.longitude)
                    .or(provider.latitude.zip(provider.longitude))
                    .map(|(lat, lng)| Geo { lat, lng });
            }
            doc
        })
        .collect()
}

pub fn bundesland_name(b: entity::organization::Bundesland) -> &'static str {
    use entity::organization::Bundesland::*;
    match b {
        BadenWuerttemberg => "BADEN_WUERTTEMBERG",
        Bayern => "BAYERN",
        Berlin => "BERLIN",
        Brandenburg => "BRANDENBURG",
        Bremen => "BREMEN",
        Hamburg => "HAMBURG",
        Hessen => "HESSEN",
        MecklenburgVorpommern => "MECKLENBURG_VORPOMMERN",
        Niedersachsen => "NIEDERSACHSEN",
        NordrheinWestfalen => "NORDRHEIN_WESTFALEN",
        RheinlandPfalz => "RHEINLAND_PFALZ",
        Saarland => "SAARLAND",
        Sachsen => "SACHSEN",
        SachsenAnhalt => "SACHSEN_ANHALT",
        SchleswigHolstein => "SCHLESWIG_HOLSTEIN",
        Thueringen => "THUERINGEN",
    }
}

/// The words with umlauts or ß, in both ASCII spellings.
pub fn folded_words(texts: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for text in texts {
        for word in text.split(|c: char| !c.is_alphanumeric()) {
            if word.chars().any(|c| "äöüÄÖÜß".contains(c)) {
                for spelling in skills::fold(word).split(' ') {
                    if !out.iter().any(|w| w == spelling) {
                        out.push(spelling.to_owned());
                    }
                }
            }
        }
    }
    out
}

/// The words of a text folded for the compound field: lower case, umlauts written out.
pub fn compound_parts(texts: &[&str]) -> Vec<String> {
    let mut parts = Vec::new();
    for text in texts {
        for word in skills::fold_query(text).split(|c: char| !c.is_alphanumeric()) {
            let chars: Vec<char> = word.chars().collect();
            if chars.len() < 6 {
                continue;
            }
            // German compounds put the head last: every suffix of four or more letters is a part
            // a user may type ("sicherheit" in "arbeitssicherheit", "labor…" in "chemielaboranten").
            for start in 1..=chars.len() - 4 {
                parts.push(chars[start..].iter().collect());
            }
        }
    }
    parts.sort();
    parts.dedup();
    parts
}
