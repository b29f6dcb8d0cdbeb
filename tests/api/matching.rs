//! Explained matching through HTTP: a ranking whose right order is known by construction, hard
//! constraints with reasons, pooling that changes the ranking, funding estimates, leads, access.

use std::time::Duration;

use chrono::Utc;
use serde_json::{Value, json};

use crate::catalog::provider;
use crate::helpers::{Account, TestApp, assert_error, eventually, spawn_app};

pub const SPS: &str = "automation/sps-programmierung";
pub const TIA: &str = "automation/tia-portal";
pub const CODESYS: &str = "automation/codesys";
pub const JENA: (f64, f64) = (50.9271, 11.5892);
pub const WEIMAR: (f64, f64) = (50.9795, 11.3235);
pub const DRESDEN: (f64, f64) = (51.0504, 13.7373);

const CREATE_COURSE: &str =
    "mutation($p: ID!, $input: CourseInput!) { createCourse(providerId: $p, input: $input) { id } }";
const ADD_OFFERING: &str =
    "mutation($c: ID!, $input: OfferingInput!) { addOffering(courseId: $c, input: $input) { id } }";
const PUBLISH: &str =
    "mutation($id: ID!, $v: Int!) { publishCourse(id: $id, expectedVersion: $v) { status } }";
const CREATE_NEED: &str =
    "mutation($f: ID!, $input: NeedInput!) { createNeed(firmId: $f, input: $input) { id version } }";
const STATUS: &str = "mutation($id: ID!, $v: Int!, $s: NeedStatus!) { changeNeedStatus(id: $id, expectedVersion: $v, status: $s) { status version } }";
pub const MATCHES: &str =
    "query($n: ID!, $x: Boolean) { matchesForNeed(needId: $n, first: 50, includeExcluded: $x) {
    edges { node { score excluded exclusionReasons distanceKm
        breakdown { criterion score weight passed explanation }
        fundingEstimate { eligible subsidyPercent netCents note }
        course { title } offering { id seatsAvailable } } } } }";

pub fn day(offset: i64) -> String {
    (Utc::now().date_naive() + chrono::Duration::days(offset)).to_string()
}

/// A course spec: title, skills, DQR level, schedule, offerings (start offset in days, city,
/// coordinates, seats).
pub struct Spec<'a> {
    pub title: &'a str,
    pub skills: &'a [&'a str],
    pub dqr: i32,
    pub schedule: &'a str,
    pub runs: &'a [(i64, &'a str, (f64, f64), i32)],
}

/// A course in Jena teaching both MUST skills of [`open_need`], starting in 60 days.
pub const SPS_KOMPAKT: Spec<'static> = Spec {
    title: "SPS kompakt",
    skills: &[SPS, TIA],
    dqr: 5,
    schedule: "EXTRA_OCCUPATIONAL",
    runs: &[(60, "Jena", JENA, 12)],
};

/// Publishes a course of `spec` (160 h, 2.490 €, AZAV measure, not inhouse); returns its id.
pub async fn publish(app: &TestApp, owner: &Account, provider: &str, spec: &Spec<'_>) -> String {
    let input = json!({
        "title": spec.title,
        "description": "Praxisnaher Lehrgang mit Prüfung und Zertifikat für Fachkräfte aus der Produktion.",
        "skillIds": spec.skills,
        "dqrLevel": spec.dqr,
        "certificateType": "PROVIDER_CERTIFICATE",
        "languages": ["de"],
        "durationHours": 160,
        "format": "IN_PERSON",
        "schedule": spec.schedule,
        "priceCents": 249000,
        "fundingOptions": ["QCG"],
        "azavMeasureNumber": "955/0123/2026",
        "inhousePossible": false,
        "maxParticipants": 20
    });
    let created =
        app.gql_ok(Some(&owner.access_token), CREATE_COURSE, json!({ "p": provider, "input": input })).await;
    let id = created["createCourse"]["id"].as_str().expect("id").to_owned();
    for (start, city, (lat, lng), seats) in spec.runs {
        let input = json!({
            "startDate": day(*start), "endDate": day(start + 90),
            "venue": { "city": city, "location": { "lat": lat, "lng": lng } },
            "seatsTotal": 20, "seatsAvailable": seats
        });
        app.gql_ok(Some(&owner.access_token), ADD_OFFERING, json!({ "c": id, "input": input })).await;
    }
    app.gql_ok(Some(&owner.access_token), PUBLISH, json!({ "id": id, "v": 1 })).await;
    id
}

/// A firm at `place` with 40 employees.
pub async fn firm_at(app: &TestApp, email: &str, name: &str, place: (f64, f64)) -> (Account, String) {
    let owner = app.register(email).await;
    let data = app
        .gql_ok(
            Some(&owner.access_token),
            "mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { id } }",
            json!({ "input": { "kind": "FIRM", "name": name, "employeeCount": 40,
                "address": { "postalCode": "07743", "city": "Jena", "bundesland": "THUERINGEN" },
                "location": { "lat": place.0, "lng": place.1 } } }),
        )
        .await;
    (owner, data["createOrganization"]["id"].as_str().expect("id").to_owned())
}

/// An OPEN need in Jena: MUST SPS and TIA, NICE CODESYS, DQR 5, 50 km, start within 30–200 days,
/// 3.000 € budget with QCG wanted; returns (id, version).
pub async fn open_need(app: &TestApp, owner: &Account, firm: &str, participants: i32) -> (String, i64) {
    let input = json!({
        "title": "SPS-Programmierung für die Instandhaltung",
        "skills": [
            { "skillId": SPS, "importance": "MUST" },
            { "skillId": TIA, "importance": "MUST" },
            { "skillId": CODESYS, "importance": "NICE" }
        ],
        "targetDqrLevel": 5,
        "participants": participants,
        "location": { "city": "Jena", "point": { "lat": JENA.0, "lng": JENA.1 } },
        "maxDistanceKm": 50,
        "onlineAcceptable": false,
        "preferredSchedule": "EXTRA_OCCUPATIONAL",
        "earliestStart": day(30),
        "latestStart": day(200),
        "budgetCentsPerParticipant": 300000,
        "fundingWanted": ["QCG"],
        "poolable": true
    });
    let created =
        app.gql_ok(Some(&owner.access_token), CREATE_NEED, json!({ "f": firm, "input": input })).await;
    let id = created["createNeed"]["id"].as_str().expect("id").to_owned();
    let opened =
        app.gql_ok(Some(&owner.access_token), STATUS, json!({ "id": id, "v": 1, "s": "OPEN" })).await;
    (id, opened["changeNeedStatus"]["version"].as_i64().expect("version"))
}

/// The matches once `count` candidates (included and, with `excluded`, excluded) are indexed.
pub async fn matches(app: &TestApp, token: &str, need: &str, excluded: bool, count: usize) -> Vec<Value> {
    eventually(Duration::from_secs(20), "candidates indexed", || async {
        let data = app.gql_ok(Some(token), MATCHES, json!({ "n": need, "x": excluded })).await;
        let edges = data["matchesForNeed"]["edges"].as_array().cloned().unwrap_or_default();
        let nodes: Vec<Value> = edges.into_iter().map(|e| e["node"].clone()).collect();
        (nodes.len() >= count).then_some(nodes)
    })
    .await
}

fn titles(nodes: &[Value]) -> Vec<&str> {
    nodes.iter().map(|n| n["course"]["title"].as_str().unwrap_or("?")).collect()
}

fn criterion<'a>(node: &'a Value, name: &str) -> &'a Value {
    node["breakdown"].as_array().and_then(|b| b.iter().find(|c| c["criterion"] == name)).expect("criterion")
}

#[tokio::test]
async fn matches_are_ranked_and_explained_as_constructed() {
    let app = spawn_app().await;
    let (trainer, provider_id) = provider(&app, "kurse@bz.de", "Bildungszentrum").await;
    let all = &[SPS, TIA, CODESYS];
    let specs = [
        Spec {
            title: "A Passt genau",
            skills: all,
            dqr: 5,
            schedule: "EXTRA_OCCUPATIONAL",
            runs: &[(60, "Jena", JENA, 12)],
        },
        Spec {
            title: "B Ohne TIA",
            skills: &[SPS, CODESYS],
            dqr: 5,
            schedule: "EXTRA_OCCUPATIONAL",
            runs: &[(60, "Jena", JENA, 12)],
        },
        Spec {
            title: "C Zu hohes Niveau",
            skills: all,
            dqr: 7,
            schedule: "EXTRA_OCCUPATIONAL",
            runs: &[(60, "Jena", JENA, 12)],
        },
        Spec {
            title: "D In Weimar",
            skills: all,
            dqr: 5,
            schedule: "EXTRA_OCCUPATIONAL",
            runs: &[(60, "Weimar", WEIMAR, 12)],
        },
        Spec {
            title: "E In Dresden",
            skills: all,
            dqr: 5,
            schedule: "EXTRA_OCCUPATIONAL",
            runs: &[(60, "Dresden", DRESDEN, 12)],
        },
        Spec {
            title: "F Zu spät",
            skills: all,
            dqr: 5,
            schedule: "EXTRA_OCCUPATIONAL",
            runs: &[(260, "Jena", JENA, 12)],
        },
        Spec {
            title: "G Ausgebucht",
            skills: all,
            dqr: 5,
            schedule: "EXTRA_OCCUPATIONAL",
            runs: &[(60, "Jena", JENA, 0)],
        },
    ];
    for spec in &specs {
        publish(&app, &trainer, &provider_id, spec).await;
    }
    let (hr, firm) = firm_at(&app, "personal@optik.de", "Optik Jena GmbH", JENA).await;
    let (need, _) = open_need(&app, &hr, &firm, 3).await;

    let included = matches(&app, &hr.access_token, &need, false, 4).await;
    assert_eq!(titles(&included), ["A Passt genau", "D In Weimar", "C Zu hohes Niveau", "B Ohne TIA"]);
    let scores: Vec<i64> = included.iter().map(|n| n["score"].as_i64().expect("score")).collect();
    assert_eq!(scores[0], 100, "{:?}", included[0]);
    assert!(scores.windows(2).all(|w| w[0] > w[1]), "{scores:?}");

    // Every criterion is explained, with its weight.
    let best = &included[0];
    assert_eq!(best["breakdown"].as_array().map(Vec::len), Some(9));
    for c in best["breakdown"].as_array().expect("breakdown") {
        assert!(c["explanation"].as_str().is_some_and(|e| !e.is_empty()), "{c}");
        assert!(c["weight"].as_f64().is_some_and(|w| w > 0.0));
    }
    assert_eq!(criterion(best, "MUST_SKILLS")["explanation"], "Alle 2 Pflichtkompetenzen abgedeckt");
    let missing = criterion(&included[3], "MUST_SKILLS");
    assert_eq!(missing["explanation"], "1 von 2 Pflichtkompetenzen abgedeckt (fehlt: Siemens TIA Portal)");
    assert_eq!(missing["passed"], false);
    assert_eq!(criterion(&included[2], "DQR_LEVEL")["passed"], false);
    let weimar = &included[1];
    assert!(weimar["distanceKm"].as_f64().is_some_and(|d| (15.0..25.0).contains(&d)), "{weimar}");
    // QCG for a firm of 40: the whole course fee, so the net cost is within any budget.
    assert_eq!(best["fundingEstimate"]["eligible"], true);
    assert_eq!(best["fundingEstimate"]["subsidyPercent"], 100);
    assert!(best["fundingEstimate"]["note"].as_str().is_some_and(|n| n.contains("Rechtsberatung")));

    // With excluded candidates: each hard constraint with its reason, after the included ones.
    let everything = matches(&app, &hr.access_token, &need, true, 7).await;
    assert_eq!(&titles(&everything)[..4], &titles(&included)[..]);
    let reason = |title: &str| -> String {
        let node = everything.iter().find(|n| n["course"]["title"] == title).expect(title);
        assert_eq!(node["excluded"], true, "{node}");
        node["exclusionReasons"]
            .as_array()
            .expect("reasons")
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" | ")
    };
    assert!(reason("E In Dresden").contains("km"), "{}", reason("E In Dresden"));
    assert!(
        reason("F Zu spät").contains("Beginn") || reason("F Zu spät").contains("spätest"),
        "{}",
        reason("F Zu spät")
    );
    assert!(reason("G Ausgebucht").contains("Keine freien Plätze"), "{}", reason("G Ausgebucht"));
}

#[tokio::test]
async fn pooling_changes_the_ranking() {
    let app = spawn_app().await;
    let (trainer, provider_id) = provider(&app, "kurse@bz.de", "Bildungszentrum").await;
    let all = &[SPS, TIA, CODESYS];
    // Small group in the preferred schedule; big group part-time.
    publish(
        &app,
        &trainer,
        &provider_id,
        &Spec {
            title: "Kleine Gruppe",
            skills: all,
            dqr: 5,
            schedule: "EXTRA_OCCUPATIONAL",
            runs: &[(60, "Jena", JENA, 5)],
        },
    )
    .await;
    publish(
        &app,
        &trainer,
        &provider_id,
        &Spec {
            title: "Große Gruppe",
            skills: all,
            dqr: 5,
            schedule: "PART_TIME",
            runs: &[(60, "Jena", JENA, 20)],
        },
    )
    .await;
    let (hr, firm) = firm_at(&app, "personal@optik.de", "Optik Jena GmbH", JENA).await;
    let (need, _) = open_need(&app, &hr, &firm, 3).await;

    let before = matches(&app, &hr.access_token, &need, false, 2).await;
    assert_eq!(titles(&before), ["Kleine Gruppe", "Große Gruppe"]);

    let (partner, partner_firm) = firm_at(&app, "hr@feinmechanik.de", "Feinmechanik Jena", JENA).await;
    let joined = app
        .gql_ok(
            Some(&partner.access_token),
            "mutation($n: ID!, $o: ID!) { joinNeed(needId: $n, organizationId: $o, participants: 10, note: \"Schichtbetrieb\") {
                pooledParticipants participations { participants note firm { name } } } }",
            json!({ "n": need, "o": partner_firm }),
        )
        .await;
    assert_eq!(joined["joinNeed"]["pooledParticipants"], 13);
    assert_eq!(joined["joinNeed"]["participations"][0]["firm"]["name"], "Feinmechanik Jena");

    // Outsiders see the pooled total, not who joined.
    let outsider = app
        .gql_ok(
            Some(&trainer.access_token),
            "query($id: ID!) { need(id: $id) { pooledParticipants participations { note } } }",
            json!({ "id": need }),
        )
        .await;
    assert_eq!(outsider["need"], json!({ "pooledParticipants": 13, "participations": [] }));

    // 13 participants no longer fit the small group; the joined firm sees the matches too.
    let after = matches(&app, &partner.access_token, &need, false, 2).await;
    assert_eq!(titles(&after), ["Große Gruppe", "Kleine Gruppe"]);
    assert_eq!(criterion(&after[1], "SEATS")["passed"], false);
    assert!(criterion(&after[1], "SEATS")["explanation"].as_str().is_some_and(|e| e.contains("13")));
}

#[tokio::test]
async fn pooling_rejects_bad_input_and_changes_nothing() {
    let app = spawn_app().await;
    let (hr, firm) = firm_at(&app, "personal@optik.de", "Optik Jena GmbH", JENA).await;
    let (need, version) = open_need(&app, &hr, &firm, 3).await;
    let (partner, partner_firm) = firm_at(&app, "hr@feinmechanik.de", "Feinmechanik Jena", JENA).await;
    let (trainer, provider_id) = provider(&app, "kurse@bz.de", "Bildungszentrum").await;
    let join = "mutation($n: ID!, $o: ID!, $p: Int!) { joinNeed(needId: $n, organizationId: $o, participants: $p) { pooledParticipants } }";
    let leave =
        "mutation($n: ID!, $o: ID!) { leaveNeed(needId: $n, organizationId: $o) { pooledParticipants } }";

    for p in [0, -1, 1001] {
        let body =
            app.gql(Some(&partner.access_token), join, json!({ "n": need, "o": partner_firm, "p": p })).await;
        assert_error(&body, "BAD_USER_INPUT", Some("participants"));
    }
    let own = app.gql(Some(&hr.access_token), join, json!({ "n": need, "o": firm, "p": 2 })).await;
    assert_error(&own, "BAD_USER_INPUT", Some("organizationId"));
    let as_provider =
        app.gql(Some(&trainer.access_token), join, json!({ "n": need, "o": provider_id, "p": 2 })).await;
    assert_error(&as_provider, "BAD_USER_INPUT", Some("organizationId"));
    let foreign =
        app.gql(Some(&trainer.access_token), join, json!({ "n": need, "o": partner_firm, "p": 2 })).await;
    assert_error(&foreign, "FORBIDDEN", None);
    let unknown = app
        .gql(
            Some(&partner.access_token),
            join,
            json!({ "n": uuid::Uuid::now_v7().to_string(), "o": partner_firm, "p": 2 }),
        )
        .await;
    assert_error(&unknown, "NOT_FOUND", None);
    let never_joined =
        app.gql(Some(&partner.access_token), leave, json!({ "n": need, "o": partner_firm })).await;
    assert_error(&never_joined, "BAD_USER_INPUT", Some("organizationId"));

    app.gql_ok(Some(&partner.access_token), join, json!({ "n": need, "o": partner_firm, "p": 4 })).await;
    let twice =
        app.gql(Some(&partner.access_token), join, json!({ "n": need, "o": partner_firm, "p": 4 })).await;
    assert_error(&twice, "CONFLICT", Some("organizationId"));
    let left = app.gql_ok(Some(&partner.access_token), leave, json!({ "n": need, "o": partner_firm })).await;
    assert_eq!(left["leaveNeed"]["pooledParticipants"], 3);

    // A need that is not poolable cannot be joined; nothing changed on it.
    app.gql_ok(
        Some(&hr.access_token),
        "mutation($id: ID!, $v: Int!) { updateNeed(id: $id, expectedVersion: $v, input: { poolable: false }) { version } }",
        json!({ "id": need, "v": version + 2 }),
    )
    .await;
    let closed =
        app.gql(Some(&partner.access_token), join, json!({ "n": need, "o": partner_firm, "p": 2 })).await;
    assert_error(&closed, "BAD_USER_INPUT", Some("needId"));
    let seen = app
        .gql_ok(
            Some(&hr.access_token),
            "query($id: ID!) { need(id: $id) { pooledParticipants participations { participants } } }",
            json!({ "id": need }),
        )
        .await;
    assert_eq!(seen["need"]["pooledParticipants"], 3);
    assert_eq!(seen["need"]["participations"], json!([]));
}

#[tokio::test]
async fn leads_and_funding_estimates_respect_who_may_see_them() {
    let app = spawn_app().await;
    let (trainer, provider_id) = provider(&app, "kurse@bz.de", "Bildungszentrum").await;
    let course = publish(&app, &trainer, &provider_id, &SPS_KOMPAKT).await;
    let (hr, firm) = firm_at(&app, "personal@optik.de", "Optik Jena GmbH", JENA).await;
    let (need, _) = open_need(&app, &hr, &firm, 3).await;

    let leads = app
        .gql_ok(
            Some(&trainer.access_token),
            "query($o: ID!) { leadsForProvider(organizationId: $o, first: 10) { edges { node { need { id title } bestMatch { score course { title } offering { id } } } } } }",
            json!({ "o": provider_id }),
        )
        .await;
    let lead = &leads["leadsForProvider"]["edges"][0]["node"];
    assert_eq!(lead["need"]["id"], need.as_str());
    assert_eq!(lead["bestMatch"]["course"]["title"], "SPS kompakt");
    assert!(lead["bestMatch"]["score"].as_i64().is_some_and(|s| s >= 90), "{lead}");
    let offering = lead["bestMatch"]["offering"]["id"].as_str().expect("offering").to_owned();

    let for_course = app
        .gql_ok(
            Some(&trainer.access_token),
            "query($c: ID!) { matchingNeedsForCourse(courseId: $c) { edges { node { need { id } bestMatch { score } } } } }",
            json!({ "c": course }),
        )
        .await;
    assert_eq!(for_course["matchingNeedsForCourse"]["edges"][0]["node"]["need"]["id"], need.as_str());

    let estimate = "query($o: ID!, $f: ID!) { fundingEstimate(offeringId: $o, organizationId: $f) { offering { id } estimate { program eligible subsidyPercent grossCents netCents reasons note } } }";
    let data = app.gql_ok(Some(&hr.access_token), estimate, json!({ "o": offering, "f": firm })).await;
    let e = &data["fundingEstimate"]["estimate"];
    assert_eq!(e["program"], "QCG");
    assert_eq!(e["eligible"], true);
    assert_eq!(e["subsidyPercent"], 100);
    assert_eq!(e["netCents"], 0);

    // Strangers see neither leads nor others' estimates; unknown ids are NOT_FOUND.
    let stranger = app.register("neugierig@example.de").await;
    let (_, other_firm) = firm_at(&app, "andere@firma.de", "Andere GmbH", JENA).await;
    assert_error(
        &app.gql(
            Some(&hr.access_token),
            "query($o: ID!) { leadsForProvider(organizationId: $o) { edges { cursor } } }",
            json!({ "o": provider_id }),
        )
        .await,
        "FORBIDDEN",
        None,
    );
    assert_error(
        &app.gql(Some(&hr.access_token), estimate, json!({ "o": offering, "f": other_firm })).await,
        "FORBIDDEN",
        None,
    );
    assert_error(
        &app.gql(
            Some(&hr.access_token),
            estimate,
            json!({ "o": uuid::Uuid::now_v7().to_string(), "f": firm }),
        )
        .await,
        "NOT_FOUND",
        None,
    );
    assert_error(
        &app.gql(Some(&stranger.access_token), MATCHES, json!({ "n": need, "x": false })).await,
        "NOT_FOUND",
        None,
    );
    // Another firm sees the public need but not its matches; a provider sees them, without the
    // firm's funding estimate (it would tell the firm's size).
    let (other_hr, _) = firm_at(&app, "hr@nachbar.de", "Nachbar GmbH", JENA).await;
    assert_error(
        &app.gql(Some(&other_hr.access_token), MATCHES, json!({ "n": need, "x": false })).await,
        "FORBIDDEN",
        None,
    );
    let as_provider = matches(&app, &trainer.access_token, &need, false, 1).await;
    assert_eq!(as_provider[0]["fundingEstimate"], Value::Null);
    assert_error(&app.gql(None, MATCHES, json!({ "n": need, "x": false })).await, "UNAUTHENTICATED", None);
    assert_error(
        &app.gql(
            Some(&hr.access_token),
            "query($c: ID!) { matchingNeedsForCourse(courseId: $c) { edges { cursor } } }",
            json!({ "c": course }),
        )
        .await,
        "FORBIDDEN",
        None,
    );
}
