//! Qualification needs through HTTP: lifecycle, visibility, validation, cross-tenant writes.

use serde_json::{Value, json};

use crate::catalog::{SKILL, provider};
use crate::helpers::{Account, TestApp, assert_error, spawn_app};

const CREATE: &str = "mutation($f: ID!, $input: NeedInput!) { createNeed(firmId: $f, input: $input) { id version status location { city point { lat } } } }";
const STATUS: &str = "mutation($id: ID!, $v: Int!, $s: NeedStatus!) { changeNeedStatus(id: $id, expectedVersion: $v, status: $s) { status version openedAt } }";
const UPDATE: &str = "mutation($id: ID!, $v: Int!, $input: NeedInput!) { updateNeed(id: $id, expectedVersion: $v, input: $input) { title version } }";
const NEED: &str = "query($id: ID!) { need(id: $id) { title status visibility participants firm { name } skills { importance skill { id label } } } }";

pub fn need_input(visibility: &str) -> Value {
    json!({
        "title": "SPS-Programmierung für die Instandhaltung",
        "description": "3 Mitarbeitende brauchen SPS-Programmierung, berufsbegleitend, Raum Jena, bis März.",
        "skills": [{ "skillId": SKILL, "importance": "MUST" }],
        "targetDqrLevel": 5,
        "participants": 3,
        "maxDistanceKm": 50,
        "onlineAcceptable": false,
        "preferredSchedule": "EXTRA_OCCUPATIONAL",
        "earliestStart": "2027-01-01",
        "latestStart": "2027-03-31",
        "budgetCentsPerParticipant": 250000,
        "fundingWanted": ["QCG"],
        "poolable": true,
        "visibility": visibility
    })
}

/// A firm located in Jena, with its owner.
async fn firm(app: &TestApp, email: &str, name: &str) -> (Account, String) {
    let owner = app.register(email).await;
    let data = app
        .gql_ok(
            Some(&owner.access_token),
            "mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { id } }",
            json!({ "input": { "kind": "FIRM", "name": name, "employeeCount": 40,
                "address": { "postalCode": "07743", "city": "Jena", "bundesland": "THUERINGEN" },
                "location": { "lat": 50.9271, "lng": 11.5892 } } }),
        )
        .await;
    (owner, data["createOrganization"]["id"].as_str().expect("id").to_owned())
}

async fn open_need(app: &TestApp, owner: &Account, firm_id: &str, visibility: &str) -> String {
    let created = app
        .gql_ok(Some(&owner.access_token), CREATE, json!({ "f": firm_id, "input": need_input(visibility) }))
        .await;
    let id = created["createNeed"]["id"].as_str().expect("id").to_owned();
    let opened =
        app.gql_ok(Some(&owner.access_token), STATUS, json!({ "id": id, "v": 1, "s": "OPEN" })).await;
    assert_eq!(opened["changeNeedStatus"]["status"], "OPEN");
    assert!(opened["changeNeedStatus"]["openedAt"].is_string());
    id
}

#[tokio::test]
async fn a_firm_posts_and_opens_a_need_that_providers_see() {
    let app = spawn_app().await;
    let (hr, firm_id) = firm(&app, "personal@optik.de", "Optik Jena GmbH").await;
    let created = app
        .gql_ok(Some(&hr.access_token), CREATE, json!({ "f": firm_id, "input": need_input("PUBLIC") }))
        .await;
    let need = &created["createNeed"];
    assert_eq!(need["status"], "DRAFT");
    assert_eq!(need["location"]["city"], "Jena", "located at the firm by default");
    let id = need["id"].as_str().expect("id").to_owned();

    let (provider_owner, _) = provider(&app, "vertrieb@bz.de", "Bildungszentrum").await;
    assert_error(
        &app.gql(Some(&provider_owner.access_token), NEED, json!({ "id": id })).await,
        "NOT_FOUND",
        None,
    );

    app.gql_ok(Some(&hr.access_token), STATUS, json!({ "id": id, "v": 1, "s": "OPEN" })).await;
    let seen = app.gql_ok(Some(&provider_owner.access_token), NEED, json!({ "id": id })).await;
    assert_eq!(seen["need"]["firm"]["name"], "Optik Jena GmbH");
    assert_eq!(seen["need"]["skills"][0]["importance"], "MUST");
    assert_eq!(seen["need"]["skills"][0]["skill"]["id"], SKILL);
    let list = app
        .gql_ok(
            Some(&provider_owner.access_token),
            "{ needs(filter: { skillIds: [\"automation/sps-programmierung\"] }) { edges { node { id } } } }",
            json!({}),
        )
        .await;
    assert_eq!(list["needs"]["edges"][0]["node"]["id"], id.as_str());
    assert_error(&app.gql(None, "{ needs { edges { cursor } } }", json!({})).await, "UNAUTHENTICATED", None);
}

#[tokio::test]
async fn private_needs_are_for_their_firm_only() {
    let app = spawn_app().await;
    let (hr, firm_id) = firm(&app, "hr@chemie.de", "Chemie Leuna GmbH").await;
    let private = open_need(&app, &hr, &firm_id, "PRIVATE").await;
    let public = open_need(&app, &hr, &firm_id, "PUBLIC").await;
    let (provider_owner, _) = provider(&app, "info@anbieter.de", "Anbieter").await;

    assert_error(
        &app.gql(Some(&provider_owner.access_token), NEED, json!({ "id": private })).await,
        "NOT_FOUND",
        None,
    );
    let list = app
        .gql_ok(Some(&provider_owner.access_token), "{ needs { edges { node { id } } } }", json!({}))
        .await;
    let ids: Vec<&str> = list["needs"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .filter_map(|e| e["node"]["id"].as_str())
        .collect();
    assert_eq!(ids, vec![public.as_str()]);
    let own = app.gql_ok(Some(&hr.access_token), "{ needs { edges { node { id } } } }", json!({})).await;
    assert_eq!(own["needs"]["edges"].as_array().map(Vec::len), Some(2));

    // Writing to it from outside: NOT_FOUND for the private one, FORBIDDEN for the visible one.
    let body = app
        .gql(
            Some(&provider_owner.access_token),
            UPDATE,
            json!({ "id": private, "v": 2, "input": { "title": "Fremd" } }),
        )
        .await;
    assert_error(&body, "NOT_FOUND", None);
    let body = app
        .gql(
            Some(&provider_owner.access_token),
            UPDATE,
            json!({ "id": public, "v": 2, "input": { "title": "Fremd" } }),
        )
        .await;
    assert_error(&body, "FORBIDDEN", None);
}

#[tokio::test]
async fn other_firms_can_change_nothing() {
    let app = spawn_app().await;
    let (hr, firm_id) = firm(&app, "hr@metall.de", "Metallbau Gera").await;
    let id = open_need(&app, &hr, &firm_id, "PUBLIC").await;
    let (other, other_firm) = firm(&app, "hr@andere.de", "Andere Firma").await;
    let token = Some(other.access_token.as_str());
    for (query, vars) in [
        (UPDATE, json!({ "id": id, "v": 2, "input": { "participants": 9 } })),
        (STATUS, json!({ "id": id, "v": 2, "s": "CLOSED" })),
        ("mutation($id: ID!) { deleteNeed(id: $id) }", json!({ "id": id })),
        (CREATE, json!({ "f": firm_id, "input": need_input("PUBLIC") })),
    ] {
        assert_error(&app.gql(token, query, vars).await, "FORBIDDEN", None);
    }
    let seen = app.gql_ok(Some(&hr.access_token), NEED, json!({ "id": id })).await;
    assert_eq!(seen["need"]["participants"], 3);
    assert_eq!(seen["need"]["status"], "OPEN");

    let (provider_owner, provider_id) = provider(&app, "p@anbieter.de", "Anbieter P").await;
    let body = app
        .gql(
            Some(&provider_owner.access_token),
            CREATE,
            json!({ "f": provider_id, "input": need_input("PUBLIC") }),
        )
        .await;
    assert_error(&body, "BAD_USER_INPUT", Some("firmId"));
    let _ = other_firm;
}

#[tokio::test]
async fn the_lifecycle_allows_only_its_transitions() {
    let app = spawn_app().await;
    let (hr, firm_id) = firm(&app, "hr@pflege.de", "Pflegedienst Weimar").await;
    let token = Some(hr.access_token.as_str());
    let created =
        app.gql_ok(token, CREATE, json!({ "f": firm_id, "input": { "title": "Praxisanleitung" } })).await;
    let id = created["createNeed"]["id"].as_str().expect("id").to_owned();

    assert_error(
        &app.gql(token, STATUS, json!({ "id": id, "v": 1, "s": "FULFILLED" })).await,
        "CONFLICT",
        Some("status"),
    );
    assert_error(
        &app.gql(token, STATUS, json!({ "id": id, "v": 1, "s": "OPEN" })).await,
        "BAD_USER_INPUT",
        Some("input.skills"),
    );
    app.gql_ok(
        token,
        UPDATE,
        json!({ "id": id, "v": 1, "input": { "skills": [{ "skillId": SKILL, "importance": "MUST" }] } }),
    )
    .await;
    let mut v = 2;
    for status in ["OPEN", "IN_NEGOTIATION", "OPEN", "IN_NEGOTIATION", "FULFILLED"] {
        let data = app.gql_ok(token, STATUS, json!({ "id": id, "v": v, "s": status })).await;
        assert_eq!(data["changeNeedStatus"]["status"], status);
        v += 1;
    }
    for status in ["OPEN", "CLOSED", "DRAFT"] {
        assert_error(
            &app.gql(token, STATUS, json!({ "id": id, "v": v, "s": status })).await,
            "CONFLICT",
            Some("status"),
        );
    }
    let edit = app.gql(token, UPDATE, json!({ "id": id, "v": v, "input": { "title": "Später" } })).await;
    assert_error(&edit, "CONFLICT", None);
    let delete = app.gql(token, "mutation($id: ID!) { deleteNeed(id: $id) }", json!({ "id": id })).await;
    assert_error(&delete, "CONFLICT", None);
}

#[tokio::test]
async fn bad_need_input_names_the_field_and_stale_versions_conflict() {
    let app = spawn_app().await;
    let (hr, firm_id) = firm(&app, "hr@logistik.de", "Logistik Erfurt").await;
    let token = Some(hr.access_token.as_str());
    let cases = [
        (json!({ "title": "Gut", "participants": 0 }), "input.participants"),
        (json!({ "title": "Gut", "participants": 100000 }), "input.participants"),
        (
            json!({ "title": "Gut", "earliestStart": "2027-05-01", "latestStart": "2027-01-01" }),
            "input.latestStart",
        ),
        (json!({ "title": "Gut", "maxDistanceKm": 0 }), "input.maxDistanceKm"),
        (json!({ "title": "Gut", "targetDqrLevel": 12 }), "input.targetDqrLevel"),
        (
            json!({ "title": "Gut", "skills": [{ "skillId": "nicht/da", "importance": "MUST" }] }),
            "input.skills",
        ),
        (json!({ "title": "Gut", "budgetCentsPerParticipant": -100 }), "input.budgetCentsPerParticipant"),
        (json!({ "title": "Gut", "location": { "postalCode": "99O84" } }), "input.location.postalCode"),
        (
            json!({ "title": "Gut", "location": { "point": { "lat": 10.0, "lng": 200.0 } } }),
            "input.location.point.lng",
        ),
        (json!({ "description": "ohne Titel" }), "input.title"),
    ];
    for (input, field) in cases {
        assert_error(
            &app.gql(token, CREATE, json!({ "f": firm_id, "input": input })).await,
            "BAD_USER_INPUT",
            Some(field),
        );
    }
    let own = app.gql_ok(token, "{ needs { edges { cursor } } }", json!({})).await;
    assert_eq!(own["needs"]["edges"], json!([]), "nothing half-written");

    let id = open_need(&app, &hr, &firm_id, "PUBLIC").await;
    app.gql_ok(token, UPDATE, json!({ "id": id, "v": 2, "input": { "participants": 5 } })).await;
    let stale = app.gql(token, UPDATE, json!({ "id": id, "v": 2, "input": { "participants": 7 } })).await;
    assert_error(&stale, "CONFLICT", Some("expectedVersion"));
    let seen = app.gql_ok(token, NEED, json!({ "id": id })).await;
    assert_eq!(seen["need"]["participants"], 5);
}
