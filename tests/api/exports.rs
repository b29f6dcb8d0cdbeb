//! The catalogue in the formats others read, checked against what their publishers provide: ELM 3
//! JSON-LD per course against the ELM 3.2 JSON schema (EBSI's EDC schema), the online catalogue as
//! MOOChub v3 against the MOOChub v3.0.1 schema — both with format checks on.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::catalog::{provider, publish_with};
use crate::helpers::{TestApp, spawn_app};
use crate::matching::{JENA, SPS, TIA, day};

fn schema(path: &str) -> Value {
    let text = std::fs::read_to_string(format!("{}/tests/fixtures/{path}", env!("CARGO_MANIFEST_DIR")))
        .expect("schema fixture");
    serde_json::from_str(&text).expect("schema JSON")
}

/// A validator for one `$defs` type of the ELM schema.
fn elm_validator(definition: &str) -> jsonschema::Validator {
    let schema = schema("elm/edc-schema.json");
    let wrapper = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$ref": format!("#/$defs/{definition}"),
        "$defs": schema["$defs"],
    });
    jsonschema::options().should_validate_formats(true).build(&wrapper).expect("ELM schema compiles")
}

fn assert_valid(validator: &jsonschema::Validator, document: &Value, what: &str) {
    let errors: Vec<String> =
        validator.iter_errors(document).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert!(errors.is_empty(), "{what} breaks its schema: {errors:#?}\n{document:#}");
}

fn course(title: &str, format: &str, dqr: Option<i32>, price: i64) -> Value {
    json!({
        "title": title, "description": "Praxisnaher Lehrgang mit Übungen und Abschlussprüfung.",
        "skillIds": [SPS, TIA], "dqrLevel": dqr, "certificateType": "IHK_EXAM", "examiningBody": "IHK Ostthüringen",
        "languages": ["de", "en"], "durationHours": 120, "format": format, "schedule": "PART_TIME",
        "priceCents": price, "fundingOptions": ["QCG"], "azavMeasureNumber": "955/0123/2026", "prerequisites": "Berufsausbildung im Elektrobereich",
        "maxParticipants": 12
    })
}

fn run(start: i64, end: i64, online: bool) -> Value {
    let mut run = json!({ "startDate": day(start), "endDate": day(end), "seatsTotal": 12, "online": online,
        "scheduleDetails": "Mo–Mi 8–16 Uhr", "signupDeadline": day(start - 7) });
    if !online {
        run["venue"] = json!({ "street": "Leutragraben 1", "postalCode": "07743", "city": "Jena",
            "location": { "lat": JENA.0, "lng": JENA.1 } });
    }
    run
}

async fn get(app: &TestApp, path: &str) -> (u16, Value) {
    let response = app.client.get(format!("{}{path}", app.address)).send().await.expect("GET");
    (response.status().as_u16(), response.json().await.expect("JSON"))
}

#[tokio::test]
async fn a_course_is_served_as_elm_3_json_ld_that_the_elm_schema_accepts() {
    let app = spawn_app().await;
    let (owner, academy) = provider(&app, "elm@akademie.de", "ELM-Akademie").await;
    // SPS carries an ESCO URI (as an ESCO import sets it); TIA none.
    let esco = "http://data.europa.eu/esco/skill/7cc5a2c3-2ef4-4b52-a5bc-a42c8e2e2c6b";
    {
        use sea_orm::{ActiveModelTrait, EntityTrait, Set};
        let db = app.db().await;
        let skill = entity::skill::Entity::find_by_id(SPS).one(&db).await.expect("read").expect("SPS");
        let mut active: entity::skill::ActiveModel = skill.into();
        active.esco_uri = Set(Some(esco.to_owned()));
        active.update(&db).await.expect("ESCO URI");
    }
    let qualified = publish_with(
        &app,
        &owner,
        &academy,
        course("Geprüfte/r Automatisierungstechniker/in", "IN_PERSON", Some(5), 349_050),
        &[run(30, 120, false), run(150, 240, true)],
    )
    .await;
    let (status, document) = get(&app, &format!("/courses/{qualified}.elm.jsonld")).await;
    assert_eq!(status, 200, "{document}");
    assert_eq!(document["@context"][0], "http://data.europa.eu/snb/model/context/edc-ap");
    let graph = document["@graph"].as_array().expect("graph");
    assert_eq!(graph.len(), 2, "one opportunity per dated offering");
    let opportunity = elm_validator("LearningOpportunityType");
    let qualification = elm_validator("QualificationType");
    for node in graph {
        assert_valid(&opportunity, node, "LearningOpportunity");
        assert_valid(&qualification, &node["learningAchievementSpecification"], "Qualification");
        assert_eq!(node["type"], "LearningOpportunity");
        assert_eq!(node["providedBy"]["legalName"]["de"], "ELM-Akademie");
        assert!(node["temporal"]["startDate"].as_str().is_some_and(|d| d.ends_with('Z')), "{node}");
    }
    assert_eq!(graph[0]["temporal"]["startDate"], json!(format!("{}T00:00:00Z", day(30))));
    assert_eq!(graph[0]["mode"]["id"], "http://data.europa.eu/snb/learning-assessment/9191af2ed9");
    assert_eq!(graph[1]["mode"]["id"], "http://data.europa.eu/snb/learning-assessment/920fbb3cbe");
    assert_eq!(graph[0]["priceDetail"][0]["amount"]["value"], json!(3490.5));
    let spec = &graph[0]["learningAchievementSpecification"];
    assert_eq!(spec["type"], "Qualification");
    assert_eq!(spec["eqfLevel"]["id"], "http://data.europa.eu/snb/eqf/5");
    assert_eq!(spec["nqfLevel"][0]["id"], "http://data.europa.eu/snb/qdr/c_bd9f8e42");
    assert_eq!(spec["volumeOfLearning"], "PT120H");
    assert_eq!(spec["language"][1]["id"], "http://publications.europa.eu/resource/authority/language/ENG");
    let outcomes = spec["learningOutcome"].as_array().expect("outcomes");
    assert_eq!(outcomes.len(), 2);
    assert_eq!(outcomes[0]["relatedESCOSkill"]["id"], esco);
    assert!(outcomes[1].get("relatedESCOSkill").is_none(), "{spec}");

    // Without a DQR level: a plain specification, no EQF level; without runs: one opportunity.
    let (owner2, academy2) = provider(&app, "elm2@akademie.de", "Kurzkurse Jena").await;
    let mut rolling = course("TIA Portal kompakt", "ONLINE", None, 0);
    rolling["rollingStart"] = json!(true);
    let short = publish_with(&app, &owner2, &academy2, rolling, &[]).await;
    let (status, document) = get(&app, &format!("/courses/{short}.elm.jsonld")).await;
    assert_eq!(status, 200, "{document}");
    let node = &document["@graph"][0];
    assert_valid(&opportunity, node, "LearningOpportunity");
    assert_valid(
        &elm_validator("LearningAchievementSpecificationType"),
        &node["learningAchievementSpecification"],
        "specification",
    );
    assert_eq!(node["learningAchievementSpecification"]["type"], "LearningAchievementSpecification");
    assert!(node.get("temporal").is_none());

    let draft = app
        .gql_ok(
            Some(&owner.access_token),
            "mutation($p: ID!, $input: CourseInput!) { createCourse(providerId: $p, input: $input) { id } }",
            json!({ "p": academy, "input": course("Entwurf", "ONLINE", None, 100) }),
        )
        .await["createCourse"]["id"]
        .as_str()
        .expect("draft")
        .to_owned();
    let (status, body) = get(&app, &format!("/courses/{draft}.elm.jsonld")).await;
    assert_eq!((status, body["errors"][0]["extensions"]["code"].as_str()), (404, Some("NOT_FOUND")));
}

#[tokio::test]
async fn online_courses_are_listed_as_moochub_v3_that_the_moochub_schema_accepts() {
    let app = spawn_app().await;
    let (owner, academy) = provider(&app, "mooc@akademie.de", "Online-Akademie").await;
    let online = publish_with(
        &app,
        &owner,
        &academy,
        course("SPS online", "ONLINE", Some(4), 0),
        &[run(14, 70, true)],
    )
    .await;
    let blended = publish_with(
        &app,
        &owner,
        &academy,
        course("SPS gemischt", "BLENDED", None, 129_000),
        &[run(20, 50, false)],
    )
    .await;
    publish_with(
        &app,
        &owner,
        &academy,
        course("SPS in Präsenz", "IN_PERSON", None, 99_000),
        &[run(20, 25, false)],
    )
    .await;
    let response = app.client.get(format!("{}/moochub/courses", app.address)).send().await.expect("GET");
    assert_eq!(response.status().as_u16(), 200);
    assert!(
        response.headers()["content-type"].to_str().is_ok_and(|t| t.starts_with("application/vnd.api+json")),
        "{:?}",
        response.headers()
    );
    let page: Value = response.json().await.expect("JSON");
    let moochub = schema("moochub/moochub-schema.json");
    let validator =
        jsonschema::options().should_validate_formats(true).build(&moochub).expect("MOOChub schema");
    assert_valid(&validator, &page, "MOOChub page");
    // The schema allows unknown keys: refuse any attribute it does not define (a misspelt name).
    let defined: BTreeSet<String> =
        moochub["properties"]["data"]["items"]["properties"]["attributes"]["properties"]
            .as_object()
            .expect("attributes")
            .keys()
            .cloned()
            .collect();
    let data = page["data"].as_array().expect("data");
    let ids: BTreeSet<&str> = data.iter().map(|c| c["id"].as_str().expect("id")).collect();
    assert_eq!(ids, BTreeSet::from([online.as_str(), blended.as_str()]));
    for entry in data {
        for key in entry["attributes"].as_object().expect("attributes").keys() {
            assert!(defined.contains(key), "{key} is no MOOChub v3 attribute");
        }
    }
    let free = data.iter().find(|c| c["id"] == json!(online)).expect("online course");
    assert_eq!(free["attributes"]["access"], json!(["free"]));
    assert_eq!(free["attributes"]["courseMode"][0], "online");
    assert_eq!(free["attributes"]["startDate"], json!([format!("{}T00:00:00Z", day(14))]));
    assert_eq!(free["attributes"]["educationalCredentialsAwarded"], json!(["certificate"]));
    assert_eq!(page["links"]["first"], page["links"]["last"]);

    let (status, body) = get(&app, "/moochub/courses?page=0").await;
    assert_eq!((status, body["errors"][0]["extensions"]["field"].as_str()), (400, Some("page")));
    let (status, body) = get(&app, "/moochub/courses?page=2").await;
    assert_eq!(status, 200);
    assert_valid(&validator, &body, "an empty page");
    assert_eq!(body["data"], json!([]));
}
