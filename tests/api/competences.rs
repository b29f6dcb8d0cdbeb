//! Competences through the API: job profiles, staff with assessments and prior learning, the gap
//! analysis, a need drafted from gaps and a learning path — on a firm built so that every result is
//! known in advance; and every staff datum probed from other firms, providers and API keys.

use serde_json::{Value, json};

use crate::catalog::provider;
use crate::helpers::{Account, TestApp, assert_error, error_code, spawn_app};
use crate::matching::{CODESYS, DRESDEN, JENA, SPS, TIA, day, firm_at};

/// A skill no course of these tests teaches.
const UNTAUGHT: &str = "optics/optikfertigung";

const CREATE_PROFILE: &str = "mutation($o: ID, $input: JobProfileInput!) {
    createJobProfile(organizationId: $o, input: $input) { id version shared skills { skillId targetLevel required } } }";
const CREATE_STAFF: &str = "mutation($f: ID!, $input: StaffMemberInput!) {
    createStaffMember(firmId: $f, input: $input) { id version label } }";
const ASSESS: &str = "mutation($s: ID!, $src: AssessmentSource!, $levels: [AssessmentInput!]!) {
    recordAssessment(staffId: $s, source: $src, levels: $levels) { id version gaps { skillId gap assessedLevel } } }";
const PRIOR: &str =
    "mutation($s: ID!, $input: PriorLearningInput!) { addPriorLearning(staffId: $s, input: $input) { id } }";
const ANALYSIS: &str = "query($f: ID!, $site: String) { gapAnalysis(firmId: $f, site: $site) {
    people withoutProfile skills { skillId targetLevel required people below staffIdsBelow sentence }
    rows { label cells { skillId gap } } } }";
const PATH: &str = "query($f: ID!, $s: [ID!]!, $online: Boolean, $start: NaiveDate) {
    learningPath(firmId: $f, staffIds: $s, onlineAcceptable: $online, earliestStart: $start) {
    profileName participants gaps { skillId fromLevel toLevel required }
    steps { courseTitle startDate endDate online distanceKm hours grossCents netCents explanation
        raises { skillId fromLevel toLevel } alternatives { courseTitle startDate } }
    open { gap { skillId fromLevel toLevel } reason } alreadyHeld earliestCompletion totalHours explanation searchCut } }";

async fn profile(
    app: &TestApp,
    owner: &Account,
    firm: &str,
    name: &str,
    skills: Value,
    dqr: Option<i32>,
) -> String {
    let input = json!({ "name": name, "jobFamily": "Metall, Elektro und Mechatronik", "description": "Testprofil",
        "dqrLevel": dqr, "skills": skills });
    let data =
        app.gql_ok(Some(&owner.access_token), CREATE_PROFILE, json!({ "o": firm, "input": input })).await;
    data["createJobProfile"]["id"].as_str().expect("profile").to_owned()
}

async fn staff(app: &TestApp, owner: &Account, firm: &str, label: &str, profile: &str) -> String {
    let input = json!({ "label": label, "profileId": profile, "site": "Werk Jena", "postalCode": "07743" });
    let data =
        app.gql_ok(Some(&owner.access_token), CREATE_STAFF, json!({ "f": firm, "input": input })).await;
    data["createStaffMember"]["id"].as_str().expect("staff").to_owned()
}

async fn assess(app: &TestApp, owner: &Account, staff: &str, source: &str, levels: &[(&str, i32)]) -> Value {
    let levels: Vec<Value> = levels.iter().map(|(s, l)| json!({ "skillId": s, "level": l })).collect();
    app.gql_ok(Some(&owner.access_token), ASSESS, json!({ "s": staff, "src": source, "levels": levels }))
        .await
}

/// A run: (start and end in days from today, city and place, seats, online).
type RunSpec<'a> = (i64, i64, &'a str, (f64, f64), i32, bool);

/// Publishes a course teaching `skills` at `dqr` for `price` cents with `runs`.
#[allow(clippy::too_many_arguments)] // each call reads as one line of the fixture
async fn course(
    app: &TestApp,
    owner: &Account,
    provider: &str,
    title: &str,
    skills: &[&str],
    dqr: Option<i32>,
    price: i64,
    runs: &[RunSpec<'_>],
) -> String {
    let input = json!({
        "title": title, "description": "Lehrgang für die Instandhaltung mit praktischen Übungen.",
        "skillIds": skills, "dqrLevel": dqr, "certificateType": "PROVIDER_CERTIFICATE", "languages": ["de"],
        "durationHours": if dqr == Some(6) { 400 } else { 40 }, "format": if runs.iter().all(|r| r.5) { "ONLINE" } else { "IN_PERSON" },
        "schedule": "FULL_TIME", "priceCents": price, "fundingOptions": ["QCG"], "azavMeasureNumber": "955/0123/2026", "maxParticipants": 12
    });
    let runs: Vec<Value> = runs
        .iter()
        .map(|(start, end, city, (lat, lng), seats, online)| {
            let mut run = json!({ "startDate": day(*start), "endDate": day(*end), "seatsTotal": 12,
                "seatsAvailable": seats, "online": online });
            if !online {
                run["venue"] = json!({ "city": city, "location": { "lat": lat, "lng": lng } });
            }
            run
        })
        .collect();
    crate::catalog::publish_with(app, owner, provider, input, &runs).await
}

/// The path fixture: a person who needs SPS from 0 to ‚Experte' (a level-2 course, then a DQR 6
/// course, by the ladder), TIA from 1 to ‚Anwenden', holds CODESYS by a certificate and needs a
/// skill no course teaches. Returns (owner, firm, person).
async fn path_fixture(app: &TestApp) -> (Account, String, String) {
    let (owner, firm) = firm_at(app, "hr@pfad.de", "Pfad GmbH", JENA).await;
    let skills = json!([
        { "skillId": SPS, "targetLevel": 4, "required": true },
        { "skillId": TIA, "targetLevel": 2, "required": true },
        { "skillId": CODESYS, "targetLevel": 2, "required": false },
        { "skillId": UNTAUGHT, "targetLevel": 2, "required": false }
    ]);
    let role = profile(app, &owner, &firm, "Automatisierung – Leitung", skills, Some(6)).await;
    let person = staff(app, &owner, &firm, "PA-1", &role).await;
    // The manager's 0 counts over the self-assessed 2: SPS starts at 0.
    assess(app, &owner, &person, "SELF_ASSESSMENT", &[(SPS, 2), (TIA, 1), (UNTAUGHT, 0)]).await;
    assess(app, &owner, &person, "MANAGER", &[(SPS, 0)]).await;
    app.gql_ok(
        Some(&owner.access_token),
        PRIOR,
        json!({ "s": person, "input": { "kind": "CERTIFICATE", "title": "CODESYS-Anwenderzertifikat",
            "skillIds": [CODESYS], "level": 2 } }),
    )
    .await;

    let (trainer, academy) = provider(app, "kurse@pfad-akademie.de", "Pfad-Akademie").await;
    let jena = |start, end, seats| (start, end, "Jena", JENA, seats, false);
    course(app, &trainer, &academy, "SPS Grundkurs", &[SPS], None, 50_000, &[jena(20, 24, 8)]).await;
    course(app, &trainer, &academy, "SPS und TIA Einstieg", &[SPS, TIA], None, 80_000, &[jena(30, 34, 8)])
        .await;
    // DQR 6 presupposes ‚Anwenden': its first run starts before any level-2 course ends.
    course(
        app,
        &trainer,
        &academy,
        "Bachelor Professional Automatisierung",
        &[SPS],
        Some(6),
        400_000,
        &[jena(5, 20, 8), jena(25, 60, 8), jena(40, 120, 8)],
    )
    .await;
    course(
        app,
        &trainer,
        &academy,
        "TIA Portal kompakt",
        &[TIA],
        None,
        30_000,
        &[jena(70, 72, 8), jena(80, 82, 8)],
    )
    .await;
    // Decoys: too far, full, online (for the request that accepts it).
    course(
        app,
        &trainer,
        &academy,
        "SPS und TIA in Dresden",
        &[SPS, TIA],
        None,
        60_000,
        &[(10, 12, "Dresden", DRESDEN, 8, false)],
    )
    .await;
    course(app, &trainer, &academy, "SPS und TIA Blitzkurs", &[SPS, TIA], None, 60_000, &[jena(15, 17, 0)])
        .await;
    course(app, &trainer, &academy, "TIA online", &[TIA], None, 20_000, &[(62, 63, "", JENA, 8, true)]).await;
    (owner, firm, person)
}

fn titles(path: &Value) -> Vec<&str> {
    path["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| s["courseTitle"].as_str().expect("title"))
        .collect()
}

#[tokio::test]
async fn a_learning_path_takes_the_ladder_in_date_order_and_is_the_best_by_construction() {
    let app = spawn_app().await;
    let (owner, firm, person) = path_fixture(&app).await;
    let data = app
        .gql_ok(Some(&owner.access_token), PATH, json!({ "f": firm, "s": [person], "online": false }))
        .await;
    let path = &data["learningPath"];
    // Basic SPS (days 20–24) lifts SPS to ‚Anwenden', so the DQR 6 run of days 25–60 is open to
    // the person; TIA then follows in person (days 70–72). The Dresden course is out of reach, the
    // Blitzkurs full, the online course not accepted, the DQR 6 run of days 5–20 out of the ladder.
    assert_eq!(
        titles(path),
        ["SPS Grundkurs", "Bachelor Professional Automatisierung", "TIA Portal kompakt"],
        "{path}"
    );
    let steps = path["steps"].as_array().expect("steps");
    assert_eq!(steps[1]["startDate"], json!(day(25)));
    assert_eq!(path["earliestCompletion"], json!(day(72)));
    assert_eq!(steps[0]["raises"], json!([{ "skillId": SPS, "fromLevel": 0, "toLevel": 2 }]));
    assert_eq!(steps[1]["raises"], json!([{ "skillId": SPS, "fromLevel": 2, "toLevel": 4 }]));
    assert_eq!(steps[2]["raises"], json!([{ "skillId": TIA, "fromLevel": 1, "toLevel": 2 }]));
    assert!(steps[1]["explanation"].as_str().expect("text").contains("DQR 6"), "{path}");
    // The TIA step can move to its later run; the basic course has nothing else before day 25.
    assert_eq!(steps[2]["alternatives"][0]["startDate"], json!(day(80)));
    assert_eq!(steps[0]["alternatives"], json!([]));
    // Over 120 hours, the DQR 6 course qualifies for the QCG estimate for a firm of 40; the short
    // ones do not.
    assert!(steps[1]["netCents"].as_i64() < steps[1]["grossCents"].as_i64(), "{path}");
    assert_eq!(steps[0]["netCents"], steps[0]["grossCents"]);
    assert_eq!(path["totalHours"], 480);
    // Held by the certificate: no step; untaught: open, explained.
    assert!(path["alreadyHeld"][0].as_str().expect("held").contains("CODESYS-Anwenderzertifikat"), "{path}");
    assert_eq!(path["open"][0]["gap"]["skillId"], UNTAUGHT);
    assert!(path["open"][0]["reason"].as_str().expect("reason").starts_with("Kein veröffentlichter Kurs"));
    assert_eq!(path["searchCut"], false);

    // Online accepted: the online TIA course (days 62–63) finishes sooner.
    let data = app
        .gql_ok(Some(&owner.access_token), PATH, json!({ "f": firm, "s": [person], "online": true }))
        .await;
    let path = &data["learningPath"];
    assert_eq!(
        titles(path),
        ["SPS Grundkurs", "Bachelor Professional Automatisierung", "TIA online"],
        "{path}"
    );
    assert_eq!(path["earliestCompletion"], json!(day(63)));

    // Starting after the basic course, the combined course leads, and the DQR 6 run follows it.
    let data = app
        .gql_ok(
            Some(&owner.access_token),
            PATH,
            json!({ "f": firm, "s": [person], "online": false, "start": day(26) }),
        )
        .await;
    let path = &data["learningPath"];
    assert_eq!(titles(path), ["SPS und TIA Einstieg", "Bachelor Professional Automatisierung"], "{path}");
    assert_eq!(path["earliestCompletion"], json!(day(120)));
}

/// Seven people on one profile; SPS (required, ‚Anwenden') is below target for four of them.
async fn team(app: &TestApp) -> (Account, String, String, Vec<String>) {
    let (owner, firm) = firm_at(app, "hr@team.de", "Team Instandhaltung GmbH", JENA).await;
    let skills = json!([
        { "skillId": SPS, "targetLevel": 2, "required": true },
        { "skillId": CODESYS, "targetLevel": 3, "required": false }
    ]);
    let role = profile(app, &owner, &firm, "Instandhaltung", skills, Some(4)).await;
    let mut people = Vec::new();
    for (i, (sps, codesys)) in
        [(0, 3), (1, 3), (1, 2), (2, 3), (3, 3), (1, 3), (2, 3)].into_iter().enumerate()
    {
        let person = staff(app, &owner, &firm, &format!("MA-{}", i + 1), &role).await;
        assess(app, &owner, &person, "SELF_ASSESSMENT", &[(SPS, sps), (CODESYS, codesys)]).await;
        people.push(person);
    }
    (owner, firm, role, people)
}

#[tokio::test]
async fn the_gap_analysis_counts_people_below_target_and_drafts_a_need_without_names() {
    let app = spawn_app().await;
    let (owner, firm, _, people) = team(&app).await;
    let data = app.gql_ok(Some(&owner.access_token), ANALYSIS, json!({ "f": firm })).await;
    let analysis = &data["gapAnalysis"];
    assert_eq!(analysis["people"], 7);
    assert_eq!(analysis["skills"][0]["skillId"], SPS);
    assert_eq!(
        analysis["skills"][0]["sentence"],
        "4 von 7 Mitarbeitenden unter Zielniveau ‚Anwenden' in SPS-Programmierung"
    );
    let below: Vec<&str> = analysis["skills"][0]["staffIdsBelow"]
        .as_array()
        .expect("ids")
        .iter()
        .map(|v| v.as_str().expect("id"))
        .collect();
    assert_eq!(below, [&people[0], &people[1], &people[2], &people[5]].map(String::as_str));
    assert_eq!(analysis["skills"][1]["below"], 1);
    assert_eq!(analysis["rows"].as_array().expect("rows").len(), 7);
    assert_eq!(analysis["rows"][0]["cells"][0], json!({ "skillId": SPS, "gap": 2 }));

    let data = app
        .gql_ok(
            Some(&owner.access_token),
            "mutation($f: ID!, $g: [GapChoiceInput!]!) { draftNeedFromGaps(firmId: $f, gaps: $g) {
                id status title description participants targetDqrLevel location { postalCode city }
                skills { skill { id } importance } } }",
            json!({ "f": firm, "g": [{ "skillId": CODESYS }, { "skillId": SPS }] }),
        )
        .await;
    let need = &data["draftNeedFromGaps"];
    assert_eq!(need["status"], "DRAFT");
    // Four below in SPS and one (MA-3) in CODESYS, who is also below in SPS.
    assert_eq!(need["participants"], 4);
    assert_eq!(
        need["skills"],
        json!([{ "skill": { "id": SPS }, "importance": "MUST" }, { "skill": { "id": CODESYS }, "importance": "NICE" }])
    );
    // CODESYS aims at ‚Vertiefen' on a DQR 4 profile.
    assert_eq!(need["targetDqrLevel"], 4);
    assert_eq!(need["location"]["postalCode"], "07743");
    let text = format!("{} {}", need["title"], need["description"]);
    assert!(!text.contains("MA-"), "a need never names people: {text}");

    // A gap no one chosen has, and staff of another firm, are refused by field; nothing is written.
    let body = app
        .gql(
            Some(&owner.access_token),
            "mutation($f: ID!, $g: [GapChoiceInput!]!) { draftNeedFromGaps(firmId: $f, gaps: $g) { id } }",
            json!({ "f": firm, "g": [{ "skillId": SPS, "staffIds": [people[3]] }] }),
        )
        .await;
    assert_error(&body, "BAD_USER_INPUT", Some("gaps[0].skillId"));
    let (other_owner, other_firm) = firm_at(&app, "hr@fremd.de", "Fremd GmbH", JENA).await;
    let body = app
        .gql(
            Some(&other_owner.access_token),
            "mutation($f: ID!, $g: [GapChoiceInput!]!) { draftNeedFromGaps(firmId: $f, gaps: $g) { id } }",
            json!({ "f": other_firm, "g": [{ "skillId": SPS, "staffIds": [people[0]] }] }),
        )
        .await;
    assert_error(&body, "BAD_USER_INPUT", Some("gaps[0].staffIds"));
    let needs = app
        .gql_ok(
            Some(&owner.access_token),
            "query($f: ID!) { needs(filter: { firmId: $f }) { edges { node { id } } } }",
            json!({ "f": firm }),
        )
        .await;
    assert_eq!(needs["needs"]["edges"].as_array().expect("needs").len(), 1);
}

#[tokio::test]
async fn staff_data_is_seen_by_the_firms_owners_and_admins_only() {
    let app = spawn_app().await;
    let (owner, firm, role, people) = team(&app).await;
    let person = &people[0];
    // A plain member of the firm, another firm, a provider, the firm's own API key and another's.
    let member = app.register("kollege@team.de").await;
    app.add_member(&owner, &firm, &member, "MEMBER").await;
    let (stranger, stranger_firm) = firm_at(&app, "hr@neugier.de", "Neugier GmbH", JENA).await;
    let (trainer, _) = provider(&app, "kurse@neugier-akademie.de", "Neugier-Akademie").await;
    let key = |token: &str, org: &str| {
        let (app, token, org) = (&app, token.to_owned(), org.to_owned());
        async move {
            app.gql_ok(
                Some(&token),
                "mutation($o: ID!) { createApiKey(input: { organizationId: $o, name: \"Portal\", scope: ORGANIZATION }) { key } }",
                json!({ "o": org }),
            )
            .await["createApiKey"]["key"]
                .as_str()
                .expect("key")
                .to_owned()
        }
    };
    let own_key = key(&owner.access_token, &firm).await;
    let other_key = key(&stranger.access_token, &stranger_firm).await;
    let probes = [
        ("query($f: ID!) { staffMembers(firmId: $f) { id label } }", json!({ "f": firm })),
        ("query($id: ID!) { staffMember(id: $id) { label assessments { level } } }", json!({ "id": person })),
        ("query($id: ID!) { staffMemberExport(id: $id) }", json!({ "id": person })),
        ("query($f: ID!) { gapAnalysis(firmId: $f) { people } }", json!({ "f": firm })),
        (
            "query($f: ID!, $s: [ID!]!) { learningPath(firmId: $f, staffIds: $s) { steps { courseTitle } } }",
            json!({ "f": firm, "s": [person] }),
        ),
        ("mutation($id: ID!) { deleteStaffMember(id: $id) }", json!({ "id": person })),
        (
            "mutation($s: ID!) { recordAssessment(staffId: $s, source: MANAGER, levels: [{ skillId: \"automation/sps-programmierung\", level: 4 }]) { id } }",
            json!({ "s": person }),
        ),
    ];
    for (who, token) in [
        ("member", member.access_token.as_str()),
        ("other firm", stranger.access_token.as_str()),
        ("provider", trainer.access_token.as_str()),
        ("own API key", own_key.as_str()),
        ("other API key", other_key.as_str()),
    ] {
        for (query, variables) in &probes {
            let body = app.gql(Some(token), query, variables.clone()).await;
            assert!(
                matches!(error_code(&body), "FORBIDDEN" | "NOT_FOUND"),
                "{who} must not reach staff data: {query} → {body}"
            );
            assert!(body["data"].is_null(), "{who}: {body}");
        }
    }
    let body = app.gql(None, probes[0].0, probes[0].1.clone()).await;
    assert_eq!(error_code(&body), "UNAUTHENTICATED");
    // Nothing changed; the firm's profile is not visible to another firm.
    let data = app.gql_ok(Some(&owner.access_token), ANALYSIS, json!({ "f": firm })).await;
    assert_eq!(data["gapAnalysis"]["skills"][0]["below"], 4);
    let body = app
        .gql(
            Some(&stranger.access_token),
            "query($id: ID!) { jobProfile(id: $id) { name } }",
            json!({ "id": role }),
        )
        .await;
    assert_eq!(error_code(&body), "NOT_FOUND");

    // The export holds the record; deleting it erases its assessments and prior learning.
    app.gql_ok(
        Some(&owner.access_token),
        PRIOR,
        json!({ "s": person, "input": { "kind": "COURSE", "title": "SPS-Einführung", "skillIds": [SPS], "level": 1 } }),
    )
    .await;
    let data = app
        .gql_ok(
            Some(&owner.access_token),
            "query($id: ID!) { staffMemberExport(id: $id) }",
            json!({ "id": person }),
        )
        .await;
    let export: Value =
        serde_json::from_str(data["staffMemberExport"].as_str().expect("json")).expect("export");
    assert_eq!(export["staffMember"]["label"], "MA-1");
    assert_eq!(export["assessments"].as_array().expect("assessments").len(), 2);
    assert_eq!(export["priorLearning"][0]["title"], "SPS-Einführung");
    app.gql_ok(
        Some(&owner.access_token),
        "mutation($id: ID!) { deleteStaffMember(id: $id) }",
        json!({ "id": person }),
    )
    .await;
    let db = app.db().await;
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    let id = uuid::Uuid::parse_str(person).expect("uuid");
    let left = entity::staff_assessment::Entity::find()
        .filter(entity::staff_assessment::Column::StaffId.eq(id))
        .count(&db)
        .await
        .expect("count")
        + entity::staff_evidence::Entity::find()
            .filter(entity::staff_evidence::Column::StaffId.eq(id))
            .count(&db)
            .await
            .expect("count");
    assert_eq!(left, 0);
    let body = app.gql(Some(&owner.access_token), probes[1].0, probes[1].1.clone()).await;
    assert_eq!(error_code(&body), "NOT_FOUND");
}

#[tokio::test]
async fn bad_competence_input_is_refused_by_field_and_writes_nothing() {
    let app = spawn_app().await;
    let (owner, firm, role, people) = team(&app).await;
    let (other_owner, other_firm) = firm_at(&app, "hr@anders.de", "Anders GmbH", JENA).await;
    let foreign_role = profile(
        &app,
        &other_owner,
        &other_firm,
        "Fremdes Profil",
        json!([{ "skillId": SPS, "targetLevel": 2 }]),
        None,
    )
    .await;
    let foreign_person = staff(&app, &other_owner, &other_firm, "X-1", &foreign_role).await;

    let body = app
        .gql(
            Some(&owner.access_token),
            ASSESS,
            json!({ "s": people[0], "src": "MANAGER",
            "levels": [{ "skillId": SPS, "level": 2 }, { "skillId": CODESYS, "level": 5 }] }),
        )
        .await;
    assert_error(&body, "BAD_USER_INPUT", Some("levels[1].level"));
    let body = app
        .gql(
            Some(&owner.access_token),
            CREATE_PROFILE,
            json!({ "o": firm, "input": { "name": "Null", "jobFamily": "IT und Digitales",
            "skills": [{ "skillId": SPS, "targetLevel": 0 }] } }),
        )
        .await;
    assert_error(&body, "BAD_USER_INPUT", Some("input.skills[0].targetLevel"));
    let body = app
        .gql(
            Some(&owner.access_token),
            CREATE_STAFF,
            json!({ "f": firm, "input": { "label": "MA-9", "profileId": foreign_role } }),
        )
        .await;
    assert_error(&body, "BAD_USER_INPUT", Some("input.profileId"));
    let body = app
        .gql(Some(&owner.access_token), CREATE_STAFF, json!({ "f": firm, "input": { "label": "MA-1" } }))
        .await;
    assert_error(&body, "CONFLICT", Some("input.label"));
    let body = app
        .gql(Some(&owner.access_token), PATH, json!({ "f": firm, "s": [people[0], foreign_person] }))
        .await;
    assert_error(&body, "BAD_USER_INPUT", Some("staffIds"));
    let many: Vec<String> = (0..501).map(|_| uuid::Uuid::new_v4().to_string()).collect();
    let body = app.gql(Some(&owner.access_token), PATH, json!({ "f": firm, "s": many })).await;
    assert_error(&body, "BAD_USER_INPUT", Some("staffIds"));
    // A stale version is a conflict, not a lost edit.
    let body = app
        .gql(
            Some(&owner.access_token),
            "mutation($id: ID!) { updateStaffMember(id: $id, expectedVersion: 1, input: { site: \"Werk 2\" }) { id } }",
            json!({ "id": people[0] }),
        )
        .await;
    assert_error(&body, "CONFLICT", Some("expectedVersion"));
    // Nothing of it was written: MA-1 keeps its SPS level, the firm its one profile and seven people.
    let data = app
        .gql_ok(
            Some(&owner.access_token),
            "query($id: ID!) { staffMember(id: $id) { site assessments { skillId source level } } }",
            json!({ "id": people[0] }),
        )
        .await;
    assert_eq!(data["staffMember"]["site"], "Werk Jena");
    assert_eq!(data["staffMember"]["assessments"].as_array().expect("list").len(), 2);
    let data = app
        .gql_ok(Some(&owner.access_token), "query($o: ID!) { jobProfiles(organizationId: $o) { id shared } staffMembers(firmId: $o) { id } }", json!({ "o": firm }))
        .await;
    let own: Vec<&Value> =
        data["jobProfiles"].as_array().expect("profiles").iter().filter(|p| p["shared"] == false).collect();
    assert_eq!(own.len(), 1);
    assert_eq!(own[0]["id"], json!(role));
    assert_eq!(data["staffMembers"].as_array().expect("staff").len(), 7);
}

#[tokio::test]
async fn shared_profiles_are_shipped_copied_by_firms_and_curated_by_platform_admins_only() {
    let app = spawn_app().await;
    let data = app
        .gql_ok(None, "{ competenceScale { level name } jobProfiles { id key name jobFamily shared skills { skillId } } }", json!({}))
        .await;
    assert_eq!(data["competenceScale"][1], json!({ "level": 2, "name": "Anwenden" }));
    let shipped = data["jobProfiles"].as_array().expect("profiles");
    assert!(shipped.len() >= 15, "{}", shipped.len());
    let optics = shipped.iter().find(|p| p["name"] == "Feinoptiker/in – Fertigung").expect("shipped profile");
    let questionnaire = app
        .gql_ok(
            None,
            "query($p: ID!) { selfAssessmentQuestionnaire(profileId: $p) { skillId statements } }",
            json!({ "p": optics["id"] }),
        )
        .await;
    let items = questionnaire["selfAssessmentQuestionnaire"].as_array().expect("items");
    assert_eq!(items.len(), optics["skills"].as_array().expect("skills").len());
    assert!(items.iter().all(|i| i["statements"].as_array().expect("statements").len() == 4));

    let (owner, firm) = firm_at(&app, "hr@kopie.de", "Kopie GmbH", JENA).await;
    let body = app
        .gql(Some(&owner.access_token), "mutation($id: ID!) { updateJobProfile(id: $id, expectedVersion: 1, input: { name: \"Meins\" }) { id } }", json!({ "id": optics["id"] }))
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN");
    let copy = app
        .gql_ok(
            Some(&owner.access_token),
            "mutation($id: ID!, $f: ID!) { copyJobProfile(id: $id, firmId: $f, name: \"Feinoptik Jena\") { id shared basedOnId skills { skillId } } }",
            json!({ "id": optics["id"], "f": firm }),
        )
        .await;
    assert_eq!(copy["copyJobProfile"]["shared"], false);
    assert_eq!(copy["copyJobProfile"]["basedOnId"], optics["id"]);
    assert_eq!(copy["copyJobProfile"]["skills"], optics["skills"]);

    // A platform admin curates the shared profile; a stale version is a conflict.
    api::service::accounts::create_admin(&app.db().await, &owner.email, None, None).await.expect("admin");
    let update = "mutation($id: ID!, $v: Int!) { updateJobProfile(id: $id, expectedVersion: $v, input: { description: \"Kuratiert\" }) { version description } }";
    let data = app.gql_ok(Some(&owner.access_token), update, json!({ "id": optics["id"], "v": 1 })).await;
    assert_eq!(data["updateJobProfile"], json!({ "version": 2, "description": "Kuratiert" }));
    let body = app.gql(Some(&owner.access_token), update, json!({ "id": optics["id"], "v": 1 })).await;
    assert_error(&body, "CONFLICT", Some("expectedVersion"));
}
