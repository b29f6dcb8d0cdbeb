//! A course as schema.org JSON-LD (`Course` with `provider`, `offers`, `hasCourseInstance` and
//! `educationalCredentialAwarded`), for partner pages to embed so that search engines understand
//! them; served at `GET /courses/{id}.jsonld`. Only public courses (PUBLISHED, ARCHIVED).

use entity::course::{self, CertificateType, CourseFormat, CourseStatus, VatTreatment};
use entity::{offering, organization, skill};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::context::AppState;
use crate::error::{ApiError, ApiResult};
use crate::service::{courses, json_list};

/// What a public course's documents are made of.
pub struct PublicCourse {
    pub course: course::Model,
    pub provider: organization::Model,
    pub offerings: Vec<offering::Model>,
    pub skills: Vec<skill::Model>,
}

/// A public course with its provider, offerings and skills; `NOT_FOUND` for drafts and unknown ids.
pub async fn public_course(state: &AppState, id: Uuid) -> ApiResult<PublicCourse> {
    let db = &state.db;
    let course = course::Entity::find_by_id(id)
        .one(db)
        .await?
        .filter(|c| c.status != CourseStatus::Draft)
        .ok_or_else(|| ApiError::not_found("course"))?;
    let provider = crate::service::organizations::find(db, course.provider_id).await?;
    let offerings = offering::Entity::find()
        .filter(offering::Column::CourseId.eq(id))
        .order_by_asc(offering::Column::StartDate)
        .all(db)
        .await?;
    let skills = courses::skills_of(db, &[id]).await?.into_iter().map(|(_, s)| s).collect();
    Ok(PublicCourse { course, provider, offerings, skills })
}

pub fn certificate_name(certificate: CertificateType) -> &'static str {
    match certificate {
        CertificateType::IhkExam => "IHK-Prüfung",
        CertificateType::HwkExam => "HWK-Prüfung",
        CertificateType::StateRecognised => "Staatlich anerkannter Abschluss",
        CertificateType::UniversityCertificate => "Hochschulzertifikat",
        CertificateType::IndustryCertificate => "Herstellerzertifikat",
        CertificateType::ProviderCertificate => "Zertifikat des Anbieters",
        CertificateType::None => "Teilnahmebescheinigung",
    }
}

fn mode(online: bool, format: CourseFormat) -> &'static str {
    match (online, format) {
        (true, _) | (_, CourseFormat::Online) => "Online",
        (_, CourseFormat::Blended) => "Blended",
        _ => "Onsite",
    }
}

fn money(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

fn offer(cents: Option<i64>, currency: &str, vat: VatTreatment, url: &str) -> Value {
    match cents {
        Some(cents) => json!({
            "@type": "Offer",
            "category": if cents == 0 { "Free" } else { "Paid" },
            "price": money(cents),
            "priceCurrency": currency,
            "priceSpecification": {
                "@type": "PriceSpecification",
                "price": money(cents),
                "priceCurrency": currency,
                "valueAddedTaxIncluded": !matches!(vat, VatTreatment::Excluded),
            },
            "url": url,
        }),
        None => Value::Null,
    }
}

/// The JSON-LD document; `base` is the API's public origin (`https://api.example.de`).
pub fn document(public: &PublicCourse, base: &str) -> Value {
    let PublicCourse { course, provider, offerings, skills } = public;
    let url = format!("{base}/courses/{}", course.id);
    let instances: Vec<Value> = offerings
        .iter()
        .map(|o| {
            let mut instance = json!({
                "@type": "CourseInstance",
                "@id": format!("{url}#offering-{}", o.id),
                "courseMode": mode(o.online, course.format),
                "startDate": o.start_date.to_string(),
                "endDate": o.end_date.to_string(),
            });
            if let Some(details) = &o.schedule_details {
                instance["courseSchedule"] = json!({ "@type": "Schedule", "description": details,
                    "startDate": o.start_date.to_string(), "endDate": o.end_date.to_string() });
            }
            if let Some(hours) = course.duration_hours {
                instance["courseWorkload"] = json!(format!("PT{hours}H"));
            }
            if !o.online {
                let mut place = json!({
                    "@type": "Place",
                    "name": o.city,
                    "address": {
                        "@type": "PostalAddress",
                        "streetAddress": o.street,
                        "postalCode": o.postal_code,
                        "addressLocality": o.city,
                        "addressCountry": "DE",
                    },
                });
                if let (Some(lat), Some(lng)) = (o.latitude, o.longitude) {
                    place["geo"] = json!({ "@type": "GeoCoordinates", "latitude": lat, "longitude": lng });
                }
                instance["location"] = place;
            }
            let price = o.price_cents_override.or(course.price_cents);
            let offer = offer(price, &course.currency, course.vat, &url);
            if !offer.is_null() {
                instance["offers"] = offer;
            }
            instance
        })
        .collect();
    let mut credential = json!({
        "@type": "EducationalOccupationalCredential",
        "name": certificate_name(course.certificate_type),
        "credentialCategory": if course.certificate_type == CertificateType::None { "Teilnahmebescheinigung" } else { "certificate" },
    });
    if let Some(body) = &course.examining_body {
        credential["recognizedBy"] = json!({ "@type": "Organization", "name": body });
    }
    if let Some(level) = course.dqr_level {
        credential["educationalLevel"] = json!(format!("DQR {level} (EQF {level})"));
    }
    let mut document = json!({
        "@context": "https://schema.org",
        "@type": "Course",
        "@id": url,
        "url": url,
        "name": course.title,
        "description": course.description,
        "inLanguage": json_list::decode::<String>(&course.languages),
        "keywords": json_list::decode::<String>(&course.keywords).join(", "),
        "provider": {
            "@type": "EducationalOrganization",
            "name": provider.name,
            "url": provider.website,
            "address": {
                "@type": "PostalAddress",
                "streetAddress": provider.street,
                "postalCode": provider.postal_code,
                "addressLocality": provider.city,
                "addressCountry": provider.country,
            },
        },
        "educationalCredentialAwarded": credential,
        "teaches": skills.iter().map(|s| json!({ "@type": "DefinedTerm", "name": s.label, "termCode": s.id })).collect::<Vec<_>>(),
        "hasCourseInstance": instances,
    });
    if let Some(subtitle) = &course.subtitle {
        document["alternativeHeadline"] = json!(subtitle);
    }
    if let Some(level) = course.dqr_level {
        document["educationalLevel"] = json!(format!("DQR {level}"));
    }
    if let Some(hours) = course.duration_hours {
        document["timeRequired"] = json!(format!("PT{hours}H"));
    }
    if let Some(prerequisites) = &course.prerequisites {
        document["coursePrerequisites"] = json!(prerequisites);
    }
    if let Some(code) = &course.external_id {
        document["courseCode"] = json!(code);
    }
    let offer = offer(course.price_cents, &course.currency, course.vat, &url);
    if !offer.is_null() {
        document["offers"] = offer;
    }
    strip_nulls(&mut document);
    document
}

/// JSON-LD has no use for nulls: they are left out.
fn strip_nulls(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(strip_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_nulls),
        _ => {}
    }
}
