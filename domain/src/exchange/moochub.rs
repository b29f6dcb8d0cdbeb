//! The online catalogue as MOOChub v3 (a JSON:API course list, as German MOOC platforms exchange
//! them): PUBLISHED courses whose format is ONLINE or BLENDED, 100 per page, at
//! `GET /moochub/courses?page=N`. Checked against the MOOChub v3.0.1 JSON schema in the tests.

use entity::course::{self, CertificateType, CourseFormat, CourseSchedule, CourseStatus};
use entity::{offering, organization};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::service::{courses, json_list};

pub const PAGE_SIZE: u64 = 100;
/// The media type MOOChub clients ask for.
pub const MEDIA_TYPE: &str = "application/vnd.api+json; moochub-version=3.0";

fn date_time(date: chrono::NaiveDate) -> String {
    format!("{date}T00:00:00Z")
}

fn organization(provider: &organization::Model) -> Value {
    json!({ "type": "Organization", "name": provider.name, "url": provider.website })
}

/// One course's attributes.
fn attributes(
    course: &course::Model,
    provider: &organization::Model,
    runs: &[&offering::Model],
    skills: &[&entity::skill::Model],
    base: &str,
) -> Value {
    let mut mode = vec![if course.format == CourseFormat::Blended { "blended" } else { "online" }];
    mode.push(if course.schedule == CourseSchedule::SelfPaced { "asynchronous" } else { "synchronous" });
    let mut starts: Vec<String> = runs.iter().map(|o| date_time(o.start_date)).collect();
    let mut ends: Vec<String> = runs.iter().map(|o| date_time(o.end_date)).collect();
    starts.dedup();
    ends.dedup();
    let mut attributes = json!({
        "name": course.title,
        "courseCode": course.external_id.clone().unwrap_or_else(|| course.id.to_string()),
        "courseMode": mode,
        "description": course.description,
        "inLanguage": json_list::decode::<String>(&course.languages),
        "learningResourceType": {
            "identifier": "https://w3id.org/kim/hcrt/course",
            "type": "Concept",
            "inScheme": "https://w3id.org/kim/hcrt/scheme",
        },
        "url": format!("{base}/courses/{}.jsonld", course.id),
        "publisher": organization(provider),
        "creator": [organization(provider)],
        // The provider's text, not an open licence.
        "license": [{ "identifier": "proprietary", "url": null }],
        "keywords": json_list::decode::<String>(&course.keywords),
        "educationalCredentialsAwarded": [if course.certificate_type == CertificateType::None {
            "confirmation of participation"
        } else {
            "certificate"
        }],
        "dateModified": course.updated_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    });
    if !starts.is_empty() {
        attributes["startDate"] = json!(starts);
        attributes["endDate"] = json!(ends);
    }
    if let Some(first) = runs.first() {
        let days = (first.end_date - first.start_date).num_days() + 1;
        attributes["duration"] = json!(format!("P{days}D"));
        if let Some(hours) = course.duration_hours {
            let weeks = (days + 6) / 7;
            attributes["workload"] =
                json!({ "timeValue": (i64::from(hours) / weeks.max(1)).max(1), "timeUnit": "h/week" });
        }
    }
    if let Some(cents) = course.price_cents {
        attributes["access"] = json!([if cents == 0 { "free" } else { "paid" }]);
        attributes["offer"] = json!([{
            "price": cents as f64 / 100.0,
            "priceCurrency": course.currency,
            "paymentFrequency": "one-time",
            "category": "course",
        }]);
    }
    let teaches: Vec<Value> = skills
        .iter()
        .filter_map(|s| {
            s.esco_uri.as_ref().map(|uri| {
                json!({
                    "name": [{ "inLanguage": "de", "name": s.label }],
                    "educationalFramework": "ESCO",
                    "educationalFrameworkVersion": "1.2.0",
                    "url": uri,
                })
            })
        })
        .collect();
    if !teaches.is_empty() {
        attributes["teaches"] = json!(teaches);
    }
    attributes
}

/// Page `page` (from 1) of the online catalogue; `base` is the API's public origin.
pub async fn page(db: &impl ConnectionTrait, base: &str, page: u64) -> ApiResult<Value> {
    if page == 0 {
        return Err(ApiError::bad_input("page", "pages count from 1"));
    }
    let online = course::Entity::find()
        .filter(course::Column::Status.eq(CourseStatus::Published))
        .filter(course::Column::Format.is_in([CourseFormat::Online, CourseFormat::Blended]));
    let total = online.clone().count(db).await?;
    let last = total.div_ceil(PAGE_SIZE).max(1);
    let list = online
        .order_by_asc(course::Column::Id)
        .offset((page - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE)
        .all(db)
        .await?;
    let ids: Vec<Uuid> = list.iter().map(|c| c.id).collect();
    let runs = if ids.is_empty() {
        Vec::new()
    } else {
        offering::Entity::find()
            .filter(offering::Column::CourseId.is_in(ids.clone()))
            .order_by_asc(offering::Column::StartDate)
            .all(db)
            .await?
    };
    let skills = if ids.is_empty() { Vec::new() } else { courses::skills_of(db, &ids).await? };
    let providers = crate::service::organizations::by_ids(db, list.iter().map(|c| c.provider_id)).await?;
    let data: Vec<Value> = list
        .iter()
        .filter_map(|c| {
            let provider = providers.get(&c.provider_id)?;
            let own_runs: Vec<&offering::Model> = runs.iter().filter(|o| o.course_id == c.id).collect();
            let own_skills: Vec<&entity::skill::Model> =
                skills.iter().filter(|(link, _)| link.course_id == c.id).map(|(_, s)| s).collect();
            Some(json!({
                "id": c.id.to_string(),
                "type": "Course",
                "attributes": attributes(c, provider, &own_runs, &own_skills, base),
            }))
        })
        .collect();
    let link = |n: u64| format!("{base}/moochub/courses?page={n}");
    let mut links = json!({ "self": link(page), "first": link(1), "last": link(last) });
    if page < last {
        links["next"] = json!(link(page + 1));
    }
    if page > 1 {
        links["prev"] = json!(link(page - 1));
    }
    Ok(json!({ "links": links, "data": data }))
}
