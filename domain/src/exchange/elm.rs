//! A public course as European Learning Model (ELM 3) JSON-LD, as Europass reads it: one
//! `LearningOpportunity` per dated offering (ELM allows one period per opportunity), each pointing
//! to the course's `Qualification` (with `eqfLevel` and the DQR as `nqfLevel` when the course has a
//! DQR level; DQR level N is EQF level N) or, without one, its `LearningAchievementSpecification`,
//! whose `learningOutcome`s name the skills taught and link ESCO where a skill has a URI. Served at
//! `GET /courses/{id}.elm.jsonld`; checked against the ELM 3.2 JSON schema in the tests.

use entity::course::{CertificateType, CourseFormat, CourseSchedule};
use serde_json::{Value, json};

use super::schema_org::{PublicCourse, certificate_name};
use crate::service::json_list;

/// The ELM application profile's JSON-LD context, with the `id`/`type` aliases a document outside
/// a verifiable credential needs and the `defaultLanguage` term the published context lacks.
fn context() -> Value {
    json!([
        "http://data.europa.eu/snb/model/context/edc-ap",
        {
            "id": "@id",
            "type": "@type",
            "defaultLanguage": { "@id": "http://data.europa.eu/snb/model/elm/defaultLanguage", "@type": "@id" }
        }
    ])
}

fn concept(id: &str, scheme: &str, label: Option<&str>) -> Value {
    let mut concept =
        json!({ "id": id, "type": "Concept", "inScheme": { "id": scheme, "type": "ConceptScheme" } });
    if let Some(label) = label {
        concept["prefLabel"] = json!({ "en": label });
    }
    concept
}

const LANGUAGE_SCHEME: &str = "http://publications.europa.eu/resource/authority/language";

/// The EU authority table's code of an ISO 639-1 language, for the languages courses here use.
fn language(code: &str) -> Option<Value> {
    let authority = match code {
        "de" => "DEU",
        "en" => "ENG",
        "fr" => "FRA",
        "es" => "SPA",
        "it" => "ITA",
        "pl" => "POL",
        "ru" => "RUS",
        "tr" => "TUR",
        "ar" => "ARA",
        "uk" => "UKR",
        "nl" => "NLD",
        "pt" => "POR",
        "ro" => "RON",
        "cs" => "CES",
        "hu" => "HUN",
        "el" => "ELL",
        "hr" => "HRV",
        "bg" => "BUL",
        "fa" => "FAS",
        _ => return None,
    };
    Some(concept(&format!("{LANGUAGE_SCHEME}/{authority}"), LANGUAGE_SCHEME, None))
}

fn mode(online: bool, format: CourseFormat) -> Value {
    let (code, label) = match (online, format) {
        (true, _) | (_, CourseFormat::Online) => ("920fbb3cbe", "Online"),
        (_, CourseFormat::Blended) => ("e92d221e4d", "Blended"),
        _ => ("9191af2ed9", "Presential"),
    };
    concept(
        &format!("http://data.europa.eu/snb/learning-assessment/{code}"),
        "http://data.europa.eu/snb/learning-assessment/25831c2",
        Some(label),
    )
}

fn schedule(schedule: CourseSchedule) -> Value {
    let (code, label) = match schedule {
        CourseSchedule::FullTime => ("72a0ab92fa", "Full time"),
        _ => ("67395e6b5a", "Part time light"),
    };
    concept(
        &format!("http://data.europa.eu/snb/learning-schedule/{code}"),
        "http://data.europa.eu/snb/learning-schedule/25831c2",
        Some(label),
    )
}

/// The DQR's concepts for levels 1–8 in the EU's qualification-framework table.
const DQR_CONCEPTS: [&str; 8] = [
    "c_f77c7095",
    "c_c71cce15",
    "c_c37d888a",
    "c_12a84182",
    "c_bd9f8e42",
    "c_6919ed25",
    "c_184f7fed",
    "c_341d539b",
];

fn country() -> Value {
    concept(
        "http://publications.europa.eu/resource/authority/country/DEU",
        "http://publications.europa.eu/resource/authority/country",
        None,
    )
}

fn german(text: &str) -> Value {
    json!({ "de": text })
}

/// A price in whole euros where it is whole (strict JSON-LD processors mangle fractional decimals).
fn euros(cents: i64) -> Value {
    if cents % 100 == 0 { json!(cents / 100) } else { json!(cents as f64 / 100.0) }
}

/// What is learned: the course's qualification (with a DQR level) or achievement specification.
fn specification(public: &PublicCourse, url: &str) -> Value {
    let course = &public.course;
    let languages: Vec<Value> =
        json_list::decode::<String>(&course.languages).iter().filter_map(|code| language(code)).collect();
    let outcomes: Vec<Value> = public
        .skills
        .iter()
        .enumerate()
        .map(|(i, skill)| {
            let mut outcome = json!({
                "id": format!("{url}#outcome-{}", i + 1),
                "type": "LearningOutcome",
                "title": german(&skill.label),
            });
            if let Some(uri) = &skill.esco_uri {
                let mut esco = concept(uri, "http://data.europa.eu/esco/concept-scheme/skills", None);
                esco["notation"] = json!("Skill");
                outcome["relatedESCOSkill"] = esco;
            }
            outcome
        })
        .collect();
    let mut spec = json!({
        "id": format!("{url}#specification"),
        "type": "LearningAchievementSpecification",
        "title": german(&course.title),
        "description": german(&course.description),
        "mode": mode(false, course.format),
        "learningSetting": concept(
            "http://data.europa.eu/snb/learning-setting/e207a81fc7",
            "http://data.europa.eu/snb/learning-setting/25831c2",
            Some("non-formal learning"),
        ),
        "homepage": { "id": format!("{url}#homepage"), "type": "WebResource", "contentURL": url },
    });
    if !languages.is_empty() {
        spec["language"] = Value::Array(languages);
    }
    if !outcomes.is_empty() {
        spec["learningOutcome"] = Value::Array(outcomes);
    }
    if let Some(hours) = course.duration_hours {
        spec["volumeOfLearning"] = json!(format!("PT{hours}H"));
    }
    if let Some(prerequisites) = &course.prerequisites {
        spec["entryRequirement"] = json!({ "id": format!("{url}#entry-requirement"), "type": "Note", "noteLiteral": german(prerequisites) });
    }
    if course.certificate_type != CertificateType::None || course.examining_body.is_some() {
        let mut note = certificate_name(course.certificate_type).to_owned();
        if let Some(body) = &course.examining_body {
            note.push_str(&format!(" ({body})"));
        }
        spec["additionalNote"] =
            json!([{ "id": format!("{url}#credential"), "type": "Note", "noteLiteral": german(&note) }]);
    }
    if let Some(level) = course.dqr_level.filter(|l| (1..=8).contains(l)) {
        spec["type"] = json!("Qualification");
        spec["eqfLevel"] = concept(
            &format!("http://data.europa.eu/snb/eqf/{level}"),
            "http://data.europa.eu/snb/eqf/25831c2",
            Some(&format!("Level {level}")),
        );
        spec["nqfLevel"] = json!([concept(
            &format!("http://data.europa.eu/snb/qdr/{}", DQR_CONCEPTS[level as usize - 1]),
            "http://data.europa.eu/snb/qdr/25831c2",
            Some(&format!("DQR Level {level}")),
        )]);
    }
    spec
}

fn address(id: String, street: Option<&str>, postal_code: Option<&str>, city: Option<&str>) -> Value {
    let mut address = json!({ "id": id, "type": "Address", "countryCode": country() });
    let line = [street, postal_code.map(|p| format!("{p} {}", city.unwrap_or_default())).as_deref().or(city)]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(", ");
    if !line.trim().is_empty() {
        address["fullAddress"] = json!({ "id": format!("{}-text", address["id"].as_str().unwrap_or_default()),
            "type": "Note", "noteLiteral": german(line.trim()) });
    }
    address
}

/// The ELM document; `base` is the API's public origin.
pub fn document(public: &PublicCourse, base: &str) -> Value {
    let PublicCourse { course, provider, offerings, .. } = public;
    let url = format!("{base}/courses/{}", course.id);
    let provider_url = format!("{base}/organizations/{}", provider.id);
    let mut organisation = json!({
        "id": provider_url,
        "type": "Organisation",
        "legalName": german(&provider.name),
        "location": {
            "id": format!("{provider_url}#location"),
            "type": "Location",
            "address": address(
                format!("{provider_url}#address"),
                provider.street.as_deref(),
                provider.postal_code.as_deref(),
                provider.city.as_deref(),
            ),
        },
    });
    if let Some(website) = &provider.website {
        organisation["homepage"] =
            json!({ "id": format!("{provider_url}#homepage"), "type": "WebResource", "contentURL": website });
    }
    let spec = specification(public, &url);
    let default_language =
        json_list::decode::<String>(&course.languages).first().and_then(|code| language(code));
    let opportunity = |suffix: String, offering: Option<&entity::offering::Model>| {
        let mut node = json!({
            "id": format!("{url}#{suffix}"),
            "type": "LearningOpportunity",
            "title": german(&course.title),
            "description": german(&course.description),
            "dcType": concept(
                "http://data.europa.eu/snb/learning-opportunity/05053c1cbe",
                "http://data.europa.eu/snb/learning-opportunity/25831c2",
                Some("Course"),
            ),
            "homepage": { "id": format!("{url}#homepage"), "type": "WebResource", "contentURL": url },
            "mode": mode(offering.is_some_and(|o| o.online), course.format),
            "learningSchedule": schedule(course.schedule),
            "providedBy": organisation.clone(),
            "learningAchievementSpecification": spec.clone(),
        });
        if let Some(language) = &default_language {
            node["defaultLanguage"] = language.clone();
        }
        let price = offering.and_then(|o| o.price_cents_override).or(course.price_cents);
        if let Some(cents) = price {
            node["priceDetail"] = json!([{
                "id": format!("{url}#{suffix}-price"),
                "type": "PriceDetail",
                "prefLabel": german("Lehrgangsgebühr je Person"),
                "amount": {
                    "id": format!("{url}#{suffix}-amount"),
                    "type": "Amount",
                    "unit": concept(
                        "http://publications.europa.eu/resource/authority/currency/EUR",
                        "http://publications.europa.eu/resource/authority/currency",
                        None,
                    ),
                    "value": euros(cents),
                },
            }]);
        }
        if let Some(o) = offering {
            node["temporal"] = json!({
                "id": format!("{url}#{suffix}-period"),
                "type": "PeriodOfTime",
                "startDate": format!("{}T00:00:00Z", o.start_date),
                "endDate": format!("{}T23:59:59Z", o.end_date),
            });
            node["duration"] = json!(format!("P{}D", (o.end_date - o.start_date).num_days() + 1));
            if let Some(deadline) = o.signup_deadline {
                node["applicationDeadline"] = json!(format!("{deadline}T23:59:59Z"));
            }
            if let Some(details) = &o.schedule_details {
                node["scheduleInformation"] = json!({ "id": format!("{url}#{suffix}-schedule"), "type": "Note", "noteLiteral": german(details) });
            }
            if !o.online {
                node["location"] = json!({
                    "id": format!("{url}#{suffix}-location"),
                    "type": "Location",
                    "address": address(
                        format!("{url}#{suffix}-address"),
                        o.street.as_deref(),
                        o.postal_code.as_deref(),
                        o.city.as_deref(),
                    ),
                });
            }
        }
        node
    };
    let graph: Vec<Value> = if offerings.is_empty() {
        vec![opportunity("opportunity".to_owned(), None)]
    } else {
        offerings.iter().map(|o| opportunity(format!("offering-{}", o.id), Some(o))).collect()
    };
    json!({ "@context": context(), "@graph": graph })
}
