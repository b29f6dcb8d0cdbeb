//! Courses and offerings through HTTP: lifecycle, validation, visibility, cross-tenant writes.

use serde_json::{Value, json};

use crate::helpers::{Account, TestApp, assert_error, spawn_app};

pub const SKILL: &str = "automation/sps-programmierung";

const CREATE: &str = "mutation($p: ID!, $input: CourseInput!) { createCourse(providerId: $p, input: $input) { id version status } }";
const UPDATE: &str = "mutation($id: ID!, $v: Int!, $input: CourseInput!) { updateCourse(id: $id, expectedVersion: $v, input: $input) { id version title } }";
const ADD_OFFERING: &str = "mutation($c: ID!, $input: OfferingInput!) { addOffering(courseId: $c, input: $input) { id version startDate } }";
const PUBLISH: &str = "mutation($id: ID!, $v: Int!) { publishCourse(id: $id, expectedVersion: $v) { status version publishedAt } }";
const COURSE: &str = "query($id: ID!) { course(id: $id) { title status version skills { id label } offerings { startDate venue { city } } provider { name } } }";

pub fn course_input() -> Value {
    json!({
        "title": "SPS-Programmierung mit TIA Portal",
        "subtitle": "Grundlagen für Instandhaltung und Produktion",
        "description": "Praxisnaher Einstieg in die SPS-Programmierung mit Siemens S7-1500 und TIA Portal.",
        "skillIds": [SKILL],
        "keywords": ["TIA Portal", "S7-1500"],
        "dqrLevel": 5,
        "certificateType": "PROVIDER_CERTIFICATE",
        "languages": ["de"],
        "durationHours": 160,
        "format": "IN_PERSON",
        "schedule": "EXTRA_OCCUPATIONAL",
        "priceCents": 249000,
        "fundingOptions": ["QCG", "BILDUNGSGUTSCHEIN"],
        "azavMeasureNumber": "955/0123/2026",
        "inhousePossible": true,
        "minParticipants": 4,
        "maxParticipants": 12
    })
}

pub fn offering_input(start: &str, end: &str, city: &str) -> Value {
    json!({
        "startDate": start, "endDate": end, "signupDeadline": start,
        "scheduleDetails": "Di und Do 17:30–20:45 Uhr",
        "venue": { "street": "Leutragraben 1", "postalCode": "07743", "city": city, "bundesland": "THUERINGEN",
                   "location": { "lat": 50.9271, "lng": 11.5892 } },
        "seatsTotal": 12
    })
}

/// A provider (AZAV-certified) with its owner.
pub async fn provider(app: &TestApp, email: &str, name: &str) -> (Account, String) {
    let owner = app.register(email).await;
    let data = app
        .gql_ok(
            Some(&owner.access_token),
            "mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { id } }",
            json!({ "input": { "kind": "PROVIDER", "name": name, "azavCertified": true } }),
        )
        .await;
    let id = data["createOrganization"]["id"].as_str().expect("id").to_owned();
    (owner, id)
}

/// Creates a course from `input`, adds `runs` (offering inputs) and publishes it; returns its id.
pub async fn publish_with(
    app: &TestApp,
    owner: &Account,
    provider: &str,
    input: Value,
    runs: &[Value],
) -> String {
    let created =
        app.gql_ok(Some(&owner.access_token), CREATE, json!({ "p": provider, "input": input })).await;
    let id = created["createCourse"]["id"].as_str().expect("course").to_owned();
    for run in runs {
        app.gql_ok(Some(&owner.access_token), ADD_OFFERING, json!({ "c": id, "input": run })).await;
    }
    app.gql_ok(Some(&owner.access_token), PUBLISH, json!({ "id": id, "v": 1 })).await;
    id
}

/// A published course with two offerings; returns (course id, version).
pub async fn published_course(app: &TestApp, owner: &Account, provider: &str) -> (String, i64) {
    let created = app
        .gql_ok(Some(&owner.access_token), CREATE, json!({ "p": provider, "input": course_input() }))
        .await;
    let id = created["createCourse"]["id"].as_str().expect("id").to_owned();
    for (start, end, city) in [("2027-03-01", "2027-06-30", "Jena"), ("2027-01-11", "2027-04-30", "Erfurt")] {
        app.gql_ok(
            Some(&owner.access_token),
            ADD_OFFERING,
            json!({ "c": id, "input": offering_input(start, end, city) }),
        )
        .await;
    }
    let published = app.gql_ok(Some(&owner.access_token), PUBLISH, json!({ "id": id, "v": 1 })).await;
    (id, published["publishCourse"]["version"].as_i64().expect("version"))
}

#[tokio::test]
async fn a_provider_publishes_a_course_with_two_offerings() {
    let app = spawn_app().await;
    let (owner, provider_id) = provider(&app, "kurse@bz-jena.de", "Bildungszentrum Jena").await;
    let (id, version) = published_course(&app, &owner, &provider_id).await;
    assert_eq!(version, 2);

    // Anyone sees it, with provider, skills and offerings (earliest first).
    let data = app.gql_ok(None, COURSE, json!({ "id": id })).await;
    let course = &data["course"];
    assert_eq!(course["status"], "PUBLISHED");
    assert_eq!(course["provider"]["name"], "Bildungszentrum Jena");
    assert_eq!(course["skills"][0]["id"], SKILL);
    let starts: Vec<&str> = course["offerings"]
        .as_array()
        .expect("offerings")
        .iter()
        .filter_map(|o| o["startDate"].as_str())
        .collect();
    assert_eq!(starts, vec!["2027-01-11", "2027-03-01"]);
    assert_eq!(course["offerings"][0]["venue"]["city"], "Erfurt");

    let list = app
        .gql_ok(
            None,
            "{ courses { edges { node { id title price { amountCents currency vat } fundingOptions } } } }",
            json!({}),
        )
        .await;
    let node = &list["courses"]["edges"][0]["node"];
    assert_eq!(node["id"], id.as_str());
    assert_eq!(node["price"], json!({ "amountCents": 249000, "currency": "EUR", "vat": "EXEMPT" }));
    assert_eq!(node["fundingOptions"], json!(["QCG", "BILDUNGSGUTSCHEIN"]));
}

#[tokio::test]
async fn publishing_needs_a_complete_course() {
    let app = spawn_app().await;
    let (owner, provider_id) = provider(&app, "a@anbieter.de", "Anbieter A").await;
    let token = Some(owner.access_token.as_str());
    let created =
        app.gql_ok(token, CREATE, json!({ "p": provider_id, "input": { "title": "Nur ein Titel" } })).await;
    let id = created["createCourse"]["id"].as_str().expect("id").to_owned();
    assert_eq!(created["createCourse"]["status"], "DRAFT");

    let publish = app.gql(token, PUBLISH, json!({ "id": id, "v": 1 })).await;
    assert_error(&publish, "BAD_USER_INPUT", Some("input.description"));

    let mut input = course_input();
    input["skillIds"] = json!([]);
    app.gql_ok(token, UPDATE, json!({ "id": id, "v": 1, "input": input })).await;
    assert_error(
        &app.gql(token, PUBLISH, json!({ "id": id, "v": 2 })).await,
        "BAD_USER_INPUT",
        Some("input.skillIds"),
    );

    app.gql_ok(token, UPDATE, json!({ "id": id, "v": 2, "input": { "skillIds": [SKILL] } })).await;
    assert_error(
        &app.gql(token, PUBLISH, json!({ "id": id, "v": 3 })).await,
        "BAD_USER_INPUT",
        Some("offerings"),
    );

    // A rolling start needs no dated offering.
    app.gql_ok(token, UPDATE, json!({ "id": id, "v": 3, "input": { "rollingStart": true, "format": "ONLINE", "fundingOptions": [] } })).await;
    let published = app.gql_ok(token, PUBLISH, json!({ "id": id, "v": 4 })).await;
    assert_eq!(published["publishCourse"]["status"], "PUBLISHED");
}

#[tokio::test]
async fn funding_options_need_their_conditions() {
    let app = spawn_app().await;
    let owner = app.register("b@anbieter.de").await;
    let data = app
        .gql_ok(
            Some(&owner.access_token),
            "mutation { createOrganization(input: { kind: PROVIDER, name: \"Ohne AZAV\" }) { id } }",
            json!({}),
        )
        .await;
    let provider_id = data["createOrganization"]["id"].as_str().expect("id");
    let token = Some(owner.access_token.as_str());
    let created = app.gql_ok(token, CREATE, json!({ "p": provider_id, "input": course_input() })).await;
    let id = created["createCourse"]["id"].as_str().expect("id").to_owned();
    app.gql_ok(
        token,
        ADD_OFFERING,
        json!({ "c": id, "input": offering_input("2027-02-01", "2027-05-31", "Gera") }),
    )
    .await;
    let body = app.gql(token, PUBLISH, json!({ "id": id, "v": 1 })).await;
    assert_error(&body, "BAD_USER_INPUT", Some("input.fundingOptions"));

    app.gql_ok(
        token,
        UPDATE,
        json!({ "id": id, "v": 1, "input": { "fundingOptions": ["AUFSTIEGS_BAFOEG"] } }),
    )
    .await;
    let body = app.gql(token, PUBLISH, json!({ "id": id, "v": 2 })).await;
    assert_error(&body, "BAD_USER_INPUT", Some("input.fundingOptions"));
}

#[tokio::test]
async fn bad_course_and_offering_input_names_the_field() {
    let app = spawn_app().await;
    let (owner, provider_id) = provider(&app, "c@anbieter.de", "Anbieter C").await;
    let token = Some(owner.access_token.as_str());
    let cases = [
        (json!({ "title": "x" }), "input.title"),
        (json!({ "title": "Gut", "dqrLevel": 9 }), "input.dqrLevel"),
        (json!({ "title": "Gut", "skillIds": ["gibt/es-nicht"] }), "input.skillIds"),
        (json!({ "title": "Gut", "skillIds": [SKILL, SKILL] }), "input.skillIds"),
        (json!({ "title": "Gut", "priceCents": -1 }), "input.priceCents"),
        (json!({ "title": "Gut", "languages": ["deutsch"] }), "input.languages"),
        (json!({ "title": "Gut", "minParticipants": 10, "maxParticipants": 2 }), "input.minParticipants"),
        (json!({ "title": "Gut", "durationHours": 0 }), "input.durationHours"),
        (json!({ "title": "Gut", "currency": "Euro" }), "input.currency"),
        (json!({ "subtitle": "kein Titel" }), "input.title"),
    ];
    for (input, field) in cases {
        assert_error(
            &app.gql(token, CREATE, json!({ "p": provider_id, "input": input })).await,
            "BAD_USER_INPUT",
            Some(field),
        );
    }
    let drafts = app
        .gql_ok(
            token,
            "query($p: ID!) { courses(filter: { providerId: $p, statuses: [DRAFT] }) { edges { cursor } } }",
            json!({ "p": provider_id }),
        )
        .await;
    assert_eq!(drafts["courses"]["edges"], json!([]), "nothing half-written");

    let created = app.gql_ok(token, CREATE, json!({ "p": provider_id, "input": course_input() })).await;
    let id = created["createCourse"]["id"].as_str().expect("id").to_owned();
    let mut bad_location = offering_input("2027-01-01", "2027-02-01", "Jena");
    bad_location["venue"]["location"]["lat"] = json!(91.0);
    let mut no_city = offering_input("2027-01-01", "2027-02-01", "Jena");
    no_city["venue"] = json!({ "street": "Irgendwo 1" });
    let offering_cases = [
        (offering_input("2027-02-01", "2027-01-01", "Jena"), "input.endDate"),
        (
            json!({ "startDate": "2027-01-01", "endDate": "2027-02-01", "signupDeadline": "2027-01-15", "online": true }),
            "input.signupDeadline",
        ),
        (
            json!({ "startDate": "2027-01-01", "endDate": "2027-02-01", "online": true, "seatsTotal": -1 }),
            "input.seatsTotal",
        ),
        (
            json!({ "startDate": "2027-01-01", "endDate": "2027-02-01", "online": true, "seatsTotal": 5, "seatsAvailable": 6 }),
            "input.seatsAvailable",
        ),
        (
            json!({ "startDate": "2027-01-01", "endDate": "2027-02-01", "online": true, "priceCentsOverride": -5 }),
            "input.priceCentsOverride",
        ),
        (bad_location, "input.venue.location.lat"),
        (no_city, "input.venue.city"),
        (json!({ "endDate": "2027-02-01", "online": true }), "input.startDate"),
        (
            json!({ "startDate": "2027-01-01", "endDate": "2027-02-01", "online": true, "venue": { "city": "Jena", "postalCode": "123" } }),
            "input.venue.postalCode",
        ),
    ];
    for (input, field) in offering_cases {
        assert_error(
            &app.gql(token, ADD_OFFERING, json!({ "c": id, "input": input })).await,
            "BAD_USER_INPUT",
            Some(field),
        );
    }
    let course = app.gql_ok(token, COURSE, json!({ "id": id })).await;
    assert_eq!(course["course"]["offerings"], json!([]));
}

#[tokio::test]
async fn another_provider_can_change_nothing() {
    let app = spawn_app().await;
    let (owner, provider_id) = provider(&app, "d@anbieter.de", "Anbieter D").await;
    let (id, version) = published_course(&app, &owner, &provider_id).await;
    let (rival, rival_provider) = provider(&app, "e@konkurrenz.de", "Konkurrenz E").await;
    let token = Some(rival.access_token.as_str());
    let offering = app
        .gql_ok(None, "query($id: ID!) { course(id: $id) { offerings { id version } } }", json!({ "id": id }))
        .await;
    let offering_id = offering["course"]["offerings"][0]["id"].clone();

    let attempts: Vec<(&str, Value)> = vec![
        (UPDATE, json!({ "id": id, "v": version, "input": { "title": "Gekapert" } })),
        (ADD_OFFERING, json!({ "c": id, "input": offering_input("2027-05-01", "2027-06-01", "Jena") })),
        (PUBLISH, json!({ "id": id, "v": version })),
        (
            "mutation($id: ID!, $v: Int!) { archiveCourse(id: $id, expectedVersion: $v) { status } }",
            json!({ "id": id, "v": version }),
        ),
        (
            "mutation($id: ID!, $v: Int!) { unpublishCourse(id: $id, expectedVersion: $v) { status } }",
            json!({ "id": id, "v": version }),
        ),
        ("mutation($id: ID!) { deleteCourse(id: $id) }", json!({ "id": id })),
        (
            "mutation($id: ID!, $v: Int!) { updateOffering(id: $id, expectedVersion: $v, input: { seatsAvailable: 0 }) { id } }",
            json!({ "id": offering_id, "v": 1 }),
        ),
        ("mutation($id: ID!) { deleteOffering(id: $id) }", json!({ "id": offering_id })),
        (CREATE, json!({ "p": provider_id, "input": { "title": "Fremder Kurs" } })),
    ];
    for (query, vars) in attempts {
        assert_error(&app.gql(token, query, vars).await, "FORBIDDEN", None);
    }
    let after = app.gql_ok(None, COURSE, json!({ "id": id })).await;
    assert_eq!(after["course"]["title"], "SPS-Programmierung mit TIA Portal");
    assert_eq!(after["course"]["version"], version);
    assert_eq!(after["course"]["offerings"].as_array().map(Vec::len), Some(2));

    // A firm is no provider; an anonymous caller is no one.
    let firm_owner = app.register("f@firma.de").await;
    let firm = app.create_organization(&firm_owner, "FIRM", "Firma F").await;
    let body = app
        .gql(Some(&firm_owner.access_token), CREATE, json!({ "p": firm, "input": { "title": "Kurs" } }))
        .await;
    assert_error(&body, "BAD_USER_INPUT", Some("providerId"));
    assert_error(
        &app.gql(None, CREATE, json!({ "p": rival_provider, "input": { "title": "Kurs" } })).await,
        "UNAUTHENTICATED",
        None,
    );
}

#[tokio::test]
async fn drafts_are_visible_to_their_provider_only() {
    let app = spawn_app().await;
    let (owner, provider_id) = provider(&app, "g@anbieter.de", "Anbieter G").await;
    let created = app
        .gql_ok(Some(&owner.access_token), CREATE, json!({ "p": provider_id, "input": course_input() }))
        .await;
    let id = created["createCourse"]["id"].as_str().expect("id").to_owned();
    let (rival, _) = provider(&app, "h@konkurrenz.de", "Konkurrenz H").await;

    assert_error(&app.gql(None, COURSE, json!({ "id": id })).await, "NOT_FOUND", None);
    assert_error(&app.gql(Some(&rival.access_token), COURSE, json!({ "id": id })).await, "NOT_FOUND", None);
    let body = app
        .gql(Some(&rival.access_token), UPDATE, json!({ "id": id, "v": 1, "input": { "title": "Gekapert" } }))
        .await;
    assert_error(&body, "NOT_FOUND", None);
    app.gql_ok(Some(&owner.access_token), COURSE, json!({ "id": id })).await;

    let query = "{ courses(filter: { statuses: [DRAFT, PUBLISHED] }) { edges { node { id } } } }";
    let own = app.gql_ok(Some(&owner.access_token), query, json!({})).await;
    assert_eq!(own["courses"]["edges"].as_array().map(Vec::len), Some(1));
    let others = app.gql_ok(Some(&rival.access_token), query, json!({})).await;
    assert_eq!(others["courses"]["edges"], json!([]));
    let default =
        app.gql_ok(Some(&owner.access_token), "{ courses { edges { node { id } } } }", json!({})).await;
    assert_eq!(default["courses"]["edges"], json!([]), "the default list is the public catalogue");
}

#[tokio::test]
async fn a_stale_update_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let (owner, provider_id) = provider(&app, "i@anbieter.de", "Anbieter I").await;
    let colleague = app.register("j@anbieter.de").await;
    app.add_member(&owner, &provider_id, &colleague, "MEMBER").await;
    let (id, version) = published_course(&app, &owner, &provider_id).await;

    app.gql_ok(
        Some(&colleague.access_token),
        UPDATE,
        json!({ "id": id, "v": version, "input": { "title": "Neuer Titel" } }),
    )
    .await;
    let stale = app
        .gql(
            Some(&owner.access_token),
            UPDATE,
            json!({ "id": id, "v": version, "input": { "title": "Alter Stand" } }),
        )
        .await;
    assert_error(&stale, "CONFLICT", Some("expectedVersion"));
    let course = app.gql_ok(None, COURSE, json!({ "id": id })).await;
    assert_eq!(course["course"]["title"], "Neuer Titel");
    assert_eq!(course["course"]["version"], version + 1);

    let offering = app
        .gql_ok(None, "query($id: ID!) { course(id: $id) { offerings { id } } }", json!({ "id": id }))
        .await;
    let offering_id = &offering["course"]["offerings"][0]["id"];
    let q = "mutation($id: ID!, $v: Int!) { updateOffering(id: $id, expectedVersion: $v, input: { seatsAvailable: 3 }) { seatsAvailable version } }";
    let ok = app.gql_ok(Some(&owner.access_token), q, json!({ "id": offering_id, "v": 1 })).await;
    assert_eq!(ok["updateOffering"], json!({ "seatsAvailable": 3, "version": 2 }));
    assert_error(
        &app.gql(Some(&owner.access_token), q, json!({ "id": offering_id, "v": 1 })).await,
        "CONFLICT",
        Some("expectedVersion"),
    );
}

#[tokio::test]
async fn archiving_and_the_last_offering() {
    let app = spawn_app().await;
    let (owner, provider_id) = provider(&app, "k@anbieter.de", "Anbieter K").await;
    let (id, version) = published_course(&app, &owner, &provider_id).await;
    let token = Some(owner.access_token.as_str());
    let offerings = app
        .gql_ok(None, "query($id: ID!) { course(id: $id) { offerings { id } } }", json!({ "id": id }))
        .await;
    let ids: Vec<Value> = offerings["course"]["offerings"]
        .as_array()
        .expect("offerings")
        .iter()
        .map(|o| o["id"].clone())
        .collect();
    app.gql_ok(token, "mutation($id: ID!) { deleteOffering(id: $id) }", json!({ "id": ids[0] })).await;
    let last =
        app.gql(token, "mutation($id: ID!) { deleteOffering(id: $id) }", json!({ "id": ids[1] })).await;
    assert_error(&last, "CONFLICT", Some("id"));

    let archived = app
        .gql_ok(
            token,
            "mutation($id: ID!, $v: Int!) { archiveCourse(id: $id, expectedVersion: $v) { status } }",
            json!({ "id": id, "v": version }),
        )
        .await;
    assert_eq!(archived["archiveCourse"]["status"], "ARCHIVED");
    let list = app.gql_ok(None, "{ courses { edges { node { id } } } }", json!({})).await;
    assert_eq!(list["courses"]["edges"], json!([]));
    let again = app.gql(token, PUBLISH, json!({ "id": id, "v": version + 1 })).await;
    assert_error(&again, "CONFLICT", Some("status"));
    let edit = app
        .gql(token, UPDATE, json!({ "id": id, "v": version + 1, "input": { "title": "Archiviert" } }))
        .await;
    assert_error(&edit, "CONFLICT", None);
}

#[tokio::test]
async fn the_catalogue_filters() {
    let app = spawn_app().await;
    let (owner, provider_id) = provider(&app, "l@anbieter.de", "Anbieter L").await;
    let (sps, _) = published_course(&app, &owner, &provider_id).await;
    let token = Some(owner.access_token.as_str());
    let mut online = course_input();
    online["title"] = json!("Excel für Fortgeschrittene");
    online["skillIds"] = json!([]);
    online["dqrLevel"] = Value::Null;
    online["format"] = json!("ONLINE");
    online["rollingStart"] = json!(true);
    online["fundingOptions"] = json!([]);
    online["priceCents"] = json!(39000);
    online["languages"] = json!(["de", "en"]);
    let created = app.gql_ok(token, CREATE, json!({ "p": provider_id, "input": online })).await;
    let excel = created["createCourse"]["id"].as_str().expect("id").to_owned();
    let any_skill =
        app.gql_ok(None, "{ skills(query: \"excel\", first: 1) { edges { node { id } } } }", json!({})).await;
    let other_skill = any_skill["skills"]["edges"][0]["node"]["id"].clone();
    app.gql_ok(token, UPDATE, json!({ "id": excel, "v": 1, "input": { "skillIds": [other_skill] } })).await;
    app.gql_ok(token, PUBLISH, json!({ "id": excel, "v": 2 })).await;

    let ids = |data: &Value| -> Vec<String> {
        data["courses"]["edges"]
            .as_array()
            .expect("edges")
            .iter()
            .filter_map(|e| e["node"]["id"].as_str().map(str::to_owned))
            .collect()
    };
    let q = "query($f: CourseFilter!) { courses(filter: $f) { edges { node { id } } } }";
    for (filter, expected) in [
        (json!({ "skillIds": [SKILL] }), vec![sps.clone()]),
        (json!({ "dqrLevels": [5] }), vec![sps.clone()]),
        (json!({ "formats": ["ONLINE"] }), vec![excel.clone()]),
        (json!({ "funding": ["QCG"] }), vec![sps.clone()]),
        (json!({ "languages": ["en"] }), vec![excel.clone()]),
        (json!({ "maxPriceCents": 50000 }), vec![excel.clone()]),
        (
            json!({ "schedules": ["EXTRA_OCCUPATIONAL"], "providerId": provider_id }),
            vec![sps.clone(), excel.clone()],
        ),
    ] {
        let data = app.gql_ok(None, q, json!({ "f": filter })).await;
        assert_eq!(ids(&data), expected, "{filter}");
    }
    assert_error(
        &app.gql(None, q, json!({ "f": { "dqrLevels": [0] } })).await,
        "BAD_USER_INPUT",
        Some("filter.dqrLevels"),
    );
    assert_error(
        &app.gql(None, q, json!({ "f": { "providerId": "x" } })).await,
        "BAD_USER_INPUT",
        Some("filter.providerId"),
    );
}

/// A page of the catalogue reads a course's long texts only when it shows them; when it shows
/// them, they are the course's as read by id, however the page asks for them (edges or nodes,
/// fragments, aliases).
#[tokio::test]
async fn a_page_shows_a_course_as_it_is_read_by_id() {
    let app = spawn_app().await;
    let (owner, provider_id) = provider(&app, "t@anbieter.de", "Anbieter T").await;
    let (id, version) = published_course(&app, &owner, &provider_id).await;
    let texts = json!({
        "examiningBody": "IHK Ostthüringen zu Gera",
        "targetGroup": "Fachkräfte aus Instandhaltung und Produktion",
        "prerequisites": "Grundkenntnisse der Elektrotechnik",
    });
    app.gql_ok(Some(&owner.access_token), UPDATE, json!({ "id": id, "v": version, "input": texts })).await;
    let fields = "id title subtitle description keywords examiningBody targetGroup prerequisites languages \
                  fundingOptions azavMeasureNumber dqrLevel price { amountCents currency vat } version";
    let by_id = app
        .gql_ok(None, &format!("query($id: ID!) {{ course(id: $id) {{ {fields} }} }}"), json!({ "id": id }))
        .await["course"]
        .clone();
    assert_eq!(by_id["description"], course_input()["description"]);
    assert_eq!(by_id["targetGroup"], texts["targetGroup"]);
    for query in [
        format!("{{ courses {{ edges {{ node {{ {fields} }} }} }} }}"),
        format!("{{ courses {{ nodes {{ {fields} }} }} }}"),
        format!("{{ courses {{ edges {{ node {{ ...F }} }} }} }} fragment F on Course {{ {fields} }}"),
        format!("{{ courses {{ nodes {{ ... on Course {{ {fields} }} }} }} }}"),
    ] {
        let data = app.gql_ok(None, &query, json!({})).await;
        let page = &data["courses"];
        let node = if page["nodes"].is_null() { &page["edges"][0]["node"] } else { &page["nodes"][0] };
        assert_eq!(node, &by_id, "{query}");
    }
    let data = app.gql_ok(None, "{ courses { nodes { text: description title } } }", json!({})).await;
    assert_eq!(data["courses"]["nodes"][0]["text"], by_id["description"]);
    let data = app.gql_ok(None, "{ courses { nodes { title } } }", json!({})).await;
    assert_eq!(data["courses"]["nodes"][0]["title"], by_id["title"]);
}

/// Each instance holds the skills vocabulary in memory; a skill added on another instance over the
/// same database shows in the skills of a course here all the same.
#[tokio::test]
async fn a_skill_added_on_another_instance_shows_in_the_catalogue() {
    let app = spawn_app().await;
    let other = app.second_instance(|_| {}).await;
    let (owner, provider_id) = provider(&app, "v@anbieter.de", "Anbieter V").await;
    let (id, version) = published_course(&app, &owner, &provider_id).await;
    let skills = |data: &Value| -> Vec<String> {
        data["courses"]["nodes"][0]["skills"]
            .as_array()
            .expect("skills")
            .iter()
            .filter_map(|s| s["id"].as_str().map(str::to_owned))
            .collect()
    };
    let page = "{ courses { nodes { id skills { id label } } } }";
    assert_eq!(skills(&app.gql_ok(None, page, json!({})).await), vec![SKILL.to_owned()]);

    let admin = other.register("admin@plattform.de").await;
    api::service::accounts::create_admin(&app.db().await, &admin.email, None, None).await.expect("admin");
    let created = other
        .gql_ok(
            Some(&admin.access_token),
            "mutation($input: SkillInput!) { createSkill(input: $input) { id } }",
            json!({ "input": { "category": "automation", "label": "Robotik mit KUKA" } }),
        )
        .await;
    let added = created["createSkill"]["id"].as_str().expect("id").to_owned();
    other
        .gql_ok(
            Some(&owner.access_token),
            UPDATE,
            json!({ "id": id, "v": version, "input": { "skillIds": [SKILL, added] } }),
        )
        .await;

    let data = app.gql_ok(None, page, json!({})).await;
    assert_eq!(skills(&data), vec![SKILL.to_owned(), added]);
    assert_eq!(data["courses"]["nodes"][0]["skills"][1]["label"], "Robotik mit KUKA");
}
