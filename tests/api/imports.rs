//! Catalogue imports through the GraphQL multipart endpoint: OpenQCAT full and delta files and the
//! CSV template, their reports, the run history, who may import, and what bad files get.

use std::time::Duration;

use serde_json::{Value, json};

use crate::catalog::provider;
use crate::helpers::{Account, TestApp, assert_error, eventually, spawn_app, spawn_app_with};

const IMPORT: &str = "mutation($input: ImportCatalogueInput!) {
    importCatalogue(input: $input) { id status format fileName dryRun } }";
const RUN: &str = "query($id: ID!) { importRun(id: $id) {
    id status catalogueKind sequenceNumber dryRun total processed created updated unchanged deleted failed
    problems { productId path message severity } } }";
const COURSES: &str = "query($p: ID!) { courses(filter: { providerId: $p, statuses: [DRAFT, PUBLISHED, ARCHIVED] }, first: 10) {
    edges { node { id title status durationHours priceCents: price { amountCents } fundingOptions dqrLevel certificateType
    suggestedSkillIds offerings { startDate endDate online seatsTotal priceCentsOverride
    venue { city postalCode } location { lat lng } } } } } }";

pub fn fixture(path: &str) -> Vec<u8> {
    let full = format!("{}/tests/fixtures/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
}

/// Starts an import and waits for its end; returns the finished run.
pub async fn import(
    app: &TestApp,
    token: &str,
    provider: &str,
    format: &str,
    file: &str,
    options: Value,
) -> Value {
    let run = start(app, token, provider, format, file, options).await;
    assert_eq!(run["status"], "RUNNING", "{run}");
    finished(app, token, run["id"].as_str().expect("id")).await
}

async fn start(
    app: &TestApp,
    token: &str,
    provider: &str,
    format: &str,
    file: &str,
    options: Value,
) -> Value {
    let mut input = json!({ "providerId": provider, "format": format, "file": null });
    if let (Some(input), Some(options)) = (input.as_object_mut(), options.as_object()) {
        input.extend(options.clone());
    }
    let name = file.rsplit('/').next().unwrap_or(file);
    let (status, body) = app
        .upload(Some(token), IMPORT, json!({ "input": input }), "variables.input.file", name, &fixture(file))
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("errors").is_none(), "{body}");
    body["data"]["importCatalogue"].clone()
}

async fn finished(app: &TestApp, token: &str, id: &str) -> Value {
    eventually(Duration::from_secs(60), "the import to finish", || async {
        let data = app.gql_ok(Some(token), RUN, json!({ "id": id })).await;
        let run = data["importRun"].clone();
        (run["status"] != "RUNNING").then_some(run)
    })
    .await
}

async fn courses(app: &TestApp, owner: &Account, provider: &str) -> Vec<Value> {
    let data = app.gql_ok(Some(&owner.access_token), COURSES, json!({ "p": provider })).await;
    data["courses"]["edges"].as_array().expect("edges").iter().map(|e| e["node"].clone()).collect()
}

fn counts(run: &Value) -> [i64; 5] {
    ["created", "updated", "unchanged", "deleted", "failed"].map(|k| run[k].as_i64().unwrap_or(-1))
}

fn by_title<'a>(courses: &'a [Value], part: &str) -> &'a Value {
    courses
        .iter()
        .find(|c| c["title"].as_str().is_some_and(|t| t.contains(part)))
        .unwrap_or_else(|| panic!("no course with {part:?} in {courses:?}"))
}

#[tokio::test]
async fn an_openqcat_catalogue_imports_twice_without_duplicates_then_a_delta_updates_and_deletes() {
    let app = spawn_app().await;
    let (owner, provider_id) =
        provider(&app, "kursnet@bildungswerk.example", "Bildungswerk Musterstadt").await;
    let token = owner.access_token.clone();

    let first =
        import(&app, &token, &provider_id, "OPENQCAT", "openqcat/full.xml", json!({ "publish": true })).await;
    assert_eq!(first["status"], "FINISHED", "{first}");
    assert_eq!(first["catalogueKind"], "FULL");
    // 5 offers and 9 runs.
    assert_eq!((first["total"].as_i64(), first["processed"].as_i64()), (Some(14), Some(14)), "{first}");
    assert_eq!(counts(&first), [14, 0, 0, 0, 0], "{first}");
    let listed = courses(&app, &owner, &provider_id).await;
    assert_eq!(listed.len(), 5, "{listed:?}");
    let welding = by_title(&listed, "Schweißen");
    assert_eq!(welding["offerings"].as_array().map(Vec::len), Some(2), "{welding}");
    assert!(
        !welding["suggestedSkillIds"].as_array().expect("ids").is_empty(),
        "skills suggested from the title: {welding}"
    );
    let cologne = welding["offerings"]
        .as_array()
        .and_then(|o| o.iter().find(|o| o["venue"]["city"] == "Köln"))
        .expect("the Köln run, umlaut decoded from ISO-8859-15");
    assert!(cologne["location"]["lat"].as_f64().is_some_and(|lat| (lat - 50.94).abs() < 0.2), "{cologne}");
    let master = by_title(&listed, "Industriemeister");
    assert_eq!(master["dqrLevel"], 6, "{master}");
    assert_eq!(master["certificateType"], "IHK_EXAM", "{master}");
    let excel = by_title(&listed, "Excel");
    assert_eq!(excel["offerings"][0]["online"], true, "{excel}");
    // Courses that pass the publish rules are published; the others stay drafts with a warning.
    let published = listed.iter().filter(|c| c["status"] == "PUBLISHED").count();
    let warnings =
        first["problems"].as_array().expect("problems").iter().filter(|p| p["severity"] == "WARNING").count();
    assert!(published >= 1, "{listed:?}");
    assert!(published == 5 || warnings > 0, "every course left a draft says why: {first}");

    // The same file again changes nothing.
    let again =
        import(&app, &token, &provider_id, "OPENQCAT", "openqcat/full.xml", json!({ "publish": true })).await;
    assert_eq!(counts(&again), [0, 0, 14, 0, 0], "{again}");
    assert_eq!(courses(&app, &owner, &provider_id).await.len(), 5);

    // The delta: offer BWM-1003 and run BWM-1002-T02 deleted, BWM-1001 and its run T02 replaced,
    // BWM-1006 and its run added.
    let delta =
        import(&app, &token, &provider_id, "OPENQCAT", "openqcat/delta.xml", json!({ "publish": true }))
            .await;
    assert_eq!(delta["status"], "FINISHED", "{delta}");
    assert_eq!((delta["catalogueKind"].as_str(), delta["sequenceNumber"].as_i64()), (Some("DELTA"), Some(2)));
    let [created, updated, _, deleted, failed] = counts(&delta);
    assert_eq!((created, updated, deleted, failed), (2, 2, 2, 0), "{delta}");
    let listed = courses(&app, &owner, &provider_id).await;
    let live: Vec<&Value> = listed.iter().filter(|c| c["status"] != "ARCHIVED").collect();
    assert_eq!(live.len(), 5, "{listed:?}");
    assert!(
        live.iter().all(|c| !c["title"].as_str().unwrap_or_default().contains("Praxisanleitung")),
        "{listed:?}"
    );
    let welding = by_title(&listed, "Schweißerprüfung");
    assert_eq!(welding["priceCents"]["amountCents"], 315_000, "{welding}");
    assert!(
        welding["offerings"].as_array().expect("offerings").iter().any(|o| o["startDate"] == "2026-06-15"),
        "{welding}"
    );
    let sps = by_title(&listed, "SPS");
    assert_eq!(sps["offerings"].as_array().map(Vec::len), Some(2), "{sps}");
    by_title(&listed, "Gabelstapler");

    // A delta is applied once, in order.
    let replay = import(&app, &token, &provider_id, "OPENQCAT", "openqcat/delta.xml", json!({})).await;
    assert_eq!(replay["status"], "REJECTED", "{replay}");
    assert!(replay["problems"][0]["message"].as_str().is_some_and(|m| m.contains("Nr. 2")), "{replay}");

    // The history, newest first.
    let data = app
        .gql_ok(
            Some(&token),
            "query($p: ID!) { importRuns(providerId: $p) { edges { node { id status catalogueKind } } } }",
            json!({ "p": provider_id }),
        )
        .await;
    let history: Vec<&str> = data["importRuns"]["edges"]
        .as_array()
        .expect("runs")
        .iter()
        .map(|e| e["node"]["status"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(history, ["REJECTED", "FINISHED", "FINISHED", "FINISHED"]);

    // Published imported courses are found by search.
    let found = eventually(Duration::from_secs(20), "imported courses in search", || async {
        let data = app
            .gql_ok(
                None,
                "{ searchCourses(query: \"Schweißerprüfung\") { totalHits hits { course { title } } } }",
                json!({}),
            )
            .await;
        let hits = data["searchCourses"]["totalHits"].as_i64().unwrap_or_default();
        (hits > 0).then_some(data)
    });
    if welding["status"] == "PUBLISHED" {
        found.await;
    }
}

#[tokio::test]
async fn a_dry_run_reports_everything_and_keeps_nothing() {
    let app = spawn_app().await;
    let (owner, provider_id) = provider(&app, "probe@bildungswerk.example", "Bildungswerk Probe").await;
    let run = import(
        &app,
        &owner.access_token,
        &provider_id,
        "OPENQCAT",
        "openqcat/full.xml",
        json!({ "dryRun": true }),
    )
    .await;
    assert_eq!((run["status"].as_str(), run["dryRun"].as_bool()), (Some("FINISHED"), Some(true)), "{run}");
    assert_eq!(counts(&run), [14, 0, 0, 0, 0], "{run}");
    assert!(courses(&app, &owner, &provider_id).await.is_empty());
}

#[tokio::test]
async fn bad_files_are_rejected_whole_or_reported_per_record_in_german() {
    let app = spawn_app().await;
    let (owner, provider_id) = provider(&app, "fehler@bildungswerk.example", "Bildungswerk Fehler").await;
    let token = owner.access_token.clone();
    for (file, says) in [
        ("openqcat/broken/malformed.xml", "wohlgeformt"),
        ("openqcat/broken/wrong-encoding.xml", "UTF-8"),
        ("openqcat/broken/both-catalogs.xml", "Gesamtkatalog oder eine Änderung"),
    ] {
        let run = import(&app, &token, &provider_id, "OPENQCAT", file, json!({})).await;
        assert_eq!(run["status"], "REJECTED", "{file}: {run}");
        assert!(run["problems"][0]["message"].as_str().is_some_and(|m| m.contains(says)), "{file}: {run}");
        assert!(courses(&app, &owner, &provider_id).await.is_empty(), "{file}: nothing half-written");
    }
    let duplicates =
        import(&app, &token, &provider_id, "OPENQCAT", "openqcat/broken/duplicate-id.xml", json!({})).await;
    assert_eq!(duplicates["status"], "FINISHED", "{duplicates}");
    let duplicate_errors: Vec<&Value> = duplicates["problems"]
        .as_array()
        .expect("problems")
        .iter()
        .filter(|p| {
            p["productId"] == "BWM-2001" && p["message"].as_str().is_some_and(|m| m.contains("mehrfach"))
        })
        .collect();
    assert_eq!(duplicate_errors.len(), 2, "both records with the key are refused: {duplicates}");

    let bad =
        import(&app, &token, &provider_id, "OPENQCAT", "openqcat/broken/bad-values.xml", json!({})).await;
    assert_eq!(bad["status"], "FINISHED", "{bad}");
    assert!(bad["failed"].as_i64().is_some_and(|f| f >= 2), "{bad}");
    let problems = bad["problems"].as_array().expect("problems");
    for needle in ["12,5o", "31.02.2026", "2026-13-01", "99", "777"] {
        assert!(
            problems.iter().any(|p| p["message"].as_str().is_some_and(|m| m.contains(needle))
                && p["path"].as_str().is_some_and(|path| path.starts_with("/OPENQCAT/"))
                && p["productId"].is_string()),
            "{needle}: {bad}"
        );
    }
}

#[tokio::test]
async fn the_csv_template_imports_rows_and_names_each_bad_cell() {
    let app = spawn_app().await;
    let (owner, provider_id) = provider(&app, "tabelle@kleinanbieter.example", "Kleinanbieter Tabelle").await;
    let run =
        import(&app, &owner.access_token, &provider_id, "CSV", "csv/kurse.csv", json!({ "publish": true }))
            .await;
    assert_eq!(
        (run["status"].as_str(), run["catalogueKind"].as_str()),
        (Some("FINISHED"), Some("ROWS")),
        "{run}"
    );
    assert_eq!((run["created"].as_i64(), run["failed"].as_i64()), (Some(5), Some(2)), "{run}");
    let problems = run["problems"].as_array().expect("problems");
    for column in ["titel", "preis", "dqr", "beginn"] {
        assert!(problems.iter().any(|p| p["path"] == format!("Zeile 5, Spalte {column}")), "{column}: {run}");
    }
    let listed = courses(&app, &owner, &provider_id).await;
    assert_eq!(listed.len(), 2, "{listed:?}");
    let forklift = by_title(&listed, "Gabelstapler");
    assert_eq!(forklift["priceCents"]["amountCents"], 39_000);
    let runs = forklift["offerings"].as_array().expect("offerings");
    assert_eq!(runs.len(), 2);
    assert!(runs.iter().any(|o| o["priceCentsOverride"] == 42_000), "{forklift}");
    let excel = by_title(&listed, "Excel");
    assert_eq!(excel["priceCents"]["amountCents"], 129_000);
    let again = import(&app, &owner.access_token, &provider_id, "CSV", "csv/kurse.csv", json!({})).await;
    assert_eq!((again["created"].as_i64(), again["unchanged"].as_i64()), (Some(0), Some(5)), "{again}");
}

#[tokio::test]
async fn only_the_providers_admins_and_its_organization_keys_may_import() {
    let app = spawn_app_with(|s| s.limits.max_upload_bytes = 200_000).await;
    let (owner, provider_id) = provider(&app, "chef@anbieter.example", "Anbieter Rechte").await;
    let member = app.register("mitarbeiter@anbieter.example").await;
    app.add_member(&owner, &provider_id, &member, "MEMBER").await;
    let (stranger, _) = provider(&app, "fremd@anderer.example", "Anderer Anbieter").await;
    let file = fixture("openqcat/full.xml");
    let input = json!({ "input": { "providerId": provider_id, "format": "OPENQCAT", "file": null } });
    let send = async |token: Option<&str>| {
        app.upload(token, IMPORT, input.clone(), "variables.input.file", "full.xml", &file).await
    };
    let (status, answer) = send(None).await;
    assert_eq!(status, 401, "{answer}");
    assert_error(&answer, "UNAUTHENTICATED", Some("Authorization"));
    for who in [&member, &stranger] {
        let (_, answer) = send(Some(&who.access_token)).await;
        assert_error(&answer, "FORBIDDEN", None);
    }
    let data = app
        .gql_ok(
            Some(&owner.access_token),
            "mutation($o: ID!) { createApiKey(input: { organizationId: $o, name: \"KURSNET-Export\", scope: ORGANIZATION }) { key } }",
            json!({ "o": provider_id }),
        )
        .await;
    let key = data["createApiKey"]["key"].as_str().expect("key").to_owned();
    let (status, answer) = send(Some(&key)).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["data"]["importCatalogue"]["status"], "RUNNING", "{answer}");

    // A file above the upload limit is refused before it is read to the end.
    let big = vec![b' '; 300_000];
    let (status, answer) = app
        .upload(
            Some(&owner.access_token),
            IMPORT,
            json!({ "input": { "providerId": provider_id, "format": "OPENQCAT", "file": null } }),
            "variables.input.file",
            "gross.xml",
            &big,
        )
        .await;
    assert_eq!(status, 413, "{answer}");
    assert_error(&answer, "BAD_USER_INPUT", Some("file"));
}

#[tokio::test]
async fn a_public_course_is_served_as_schema_org_json_ld_and_a_draft_is_not() {
    let app = spawn_app().await;
    let (owner, provider_id) = provider(&app, "jsonld@anbieter.example", "Anbieter JSON-LD").await;
    let (course, _) = crate::catalog::published_course(&app, &owner, &provider_id).await;
    let response =
        app.client.get(format!("{}/courses/{course}.jsonld", app.address)).send().await.expect("GET");
    assert_eq!(response.status().as_u16(), 200);
    let headers = response.headers().clone();
    assert!(
        headers["content-type"].to_str().is_ok_and(|t| t.starts_with("application/ld+json")),
        "{headers:?}"
    );
    assert_eq!(headers["access-control-allow-origin"], "*");
    let document: Value = response.json().await.expect("JSON");
    assert_eq!(document["@context"], "https://schema.org");
    assert_eq!(document["@type"], "Course");
    assert!(
        document["@id"].as_str().is_some_and(|id| id.ends_with(&format!("/courses/{course}"))),
        "{document}"
    );
    // What search engines require of a Course: name, description, provider; instances with a
    // mode and dates; offers with price and currency.
    assert!(document["name"].as_str().is_some_and(|n| !n.is_empty()));
    assert!(document["description"].as_str().is_some_and(|d| d.len() >= 20));
    assert_eq!(document["provider"]["@type"], "EducationalOrganization");
    assert_eq!(document["provider"]["name"], "Anbieter JSON-LD");
    assert_eq!(document["offers"]["@type"], "Offer");
    assert!(document["offers"]["price"].as_str().is_some_and(|p| p.contains('.')), "{document}");
    assert_eq!(document["offers"]["priceCurrency"], "EUR");
    assert_eq!(document["educationalCredentialAwarded"]["@type"], "EducationalOccupationalCredential");
    let instances = document["hasCourseInstance"].as_array().expect("instances");
    assert_eq!(instances.len(), 2, "{document}");
    for instance in instances {
        assert_eq!(instance["@type"], "CourseInstance");
        assert!(
            matches!(instance["courseMode"].as_str(), Some("Onsite" | "Online" | "Blended")),
            "{instance}"
        );
        assert!(instance["startDate"].as_str().is_some_and(|d| d.len() == 10), "{instance}");
        assert_eq!(instance["location"]["address"]["@type"], "PostalAddress", "{instance}");
    }
    assert!(!document.to_string().contains("null"), "no nulls: {document}");

    // A draft is nobody's business; an unknown id neither.
    let created = app
        .gql_ok(
            Some(&owner.access_token),
            "mutation($p: ID!, $input: CourseInput!) { createCourse(providerId: $p, input: $input) { id } }",
            json!({ "p": provider_id, "input": crate::catalog::course_input() }),
        )
        .await;
    let draft = created["createCourse"]["id"].as_str().expect("id");
    for path in [format!("/courses/{draft}.jsonld"), "/courses/not-a-course.jsonld".to_owned()] {
        let response = app.client.get(format!("{}{path}", app.address)).send().await.expect("GET");
        assert_eq!(response.status().as_u16(), 404, "{path}");
        let body: Value = response.json().await.expect("JSON error");
        assert_eq!(body["errors"][0]["extensions"]["code"], "NOT_FOUND", "{body}");
    }
}

/// The provider's catalogue as OpenQCAT, as its member downloads it.
async fn export(app: &TestApp, token: &str, provider: &str) -> Vec<u8> {
    let response = app
        .client
        .get(format!("{}/providers/{provider}/openqcat.xml", app.address))
        .bearer_auth(token)
        .send()
        .await
        .expect("GET");
    assert_eq!(response.status().as_u16(), 200);
    response.bytes().await.expect("body").to_vec()
}

/// The services of an OpenQCAT file (its `NEW_CATALOG`), decoded.
fn services(file: &[u8]) -> String {
    let (text, _, malformed) = encoding_rs::ISO_8859_15.decode(file);
    assert!(!malformed);
    assert!(text.starts_with("<?xml version=\"1.0\" encoding=\"ISO-8859-15\"?>"), "{text}");
    let start = text.find("<NEW_CATALOG").expect("NEW_CATALOG");
    text[start..].to_owned()
}

#[tokio::test]
async fn an_exported_catalogue_imported_elsewhere_exports_the_same() {
    let app = spawn_app().await;
    let (owner, provider_id) = provider(&app, "export@bildungswerk.example", "Bildungswerk Export").await;
    let first = import(
        &app,
        &owner.access_token,
        &provider_id,
        "OPENQCAT",
        "openqcat/full.xml",
        json!({ "publish": true }),
    )
    .await;
    assert_eq!(counts(&first), [14, 0, 0, 0, 0], "{first}");
    let exported = export(&app, &owner.access_token, &provider_id).await;
    let text = services(&exported);
    assert_eq!(text.matches("<EDUCATION type=\"true\">").count(), 5, "{text}");
    assert_eq!(text.matches("<EDUCATION type=\"false\">").count(), 9, "{text}");
    assert!(text.contains("Köln"), "umlauts in ISO-8859-15");

    // Into an empty provider, as that provider's upload.
    let (other, other_id) = provider(&app, "zweiter@anbieter.example", "Zweiter Anbieter").await;
    let input =
        json!({ "input": { "providerId": other_id, "format": "OPENQCAT", "file": null, "publish": true } });
    let (status, body) = app
        .upload(Some(&other.access_token), IMPORT, input, "variables.input.file", "export.xml", &exported)
        .await;
    assert_eq!(status, 200, "{body}");
    let run =
        finished(&app, &other.access_token, body["data"]["importCatalogue"]["id"].as_str().expect("id"))
            .await;
    assert_eq!(counts(&run), [14, 0, 0, 0, 0], "{run}");
    let again = export(&app, &other.access_token, &other_id).await;
    assert_eq!(services(&again), text, "the same catalogue");
    assert_eq!(courses(&app, &other, &other_id).await.len(), 5);

    // Only members download a provider's catalogue.
    let response = app
        .client
        .get(format!("{}/providers/{provider_id}/openqcat.xml", app.address))
        .bearer_auth(&other.access_token)
        .send()
        .await
        .expect("GET");
    assert_eq!(response.status().as_u16(), 404);
    let response = app
        .client
        .get(format!("{}/providers/{provider_id}/openqcat.xml", app.address))
        .send()
        .await
        .expect("GET");
    assert_eq!(response.status().as_u16(), 401);
}

#[tokio::test]
async fn an_esco_download_links_known_skills_and_adds_new_ones() {
    let app = spawn_app().await;
    let db = app.db().await;
    let open = || {
        std::fs::File::open(format!("{}/tests/fixtures/esco/skills_de.csv", env!("CARGO_MANIFEST_DIR")))
            .expect("fixture")
    };
    let report = api::exchange::esco::import(&db, open()).await.expect("import");
    assert_eq!((report.created, report.linked, report.skipped), (2, 1, 2), "{report:?}");
    let again = api::exchange::esco::import(&db, open()).await.expect("again");
    assert_eq!((again.created, again.linked, again.unchanged), (0, 0, 3), "{again:?}");

    let query = "query($q: String!) { skills(query: $q) { edges { node { id label synonyms escoUri categoryId } } } }";
    let found = |data: &Value| {
        data["skills"]["edges"]
            .as_array()
            .expect("edges")
            .iter()
            .map(|e| e["node"].clone())
            .collect::<Vec<_>>()
    };
    let sps = found(&app.gql_ok(None, query, json!({ "q": "SPS-Programmierung" })).await);
    let sps = sps.iter().find(|s| s["label"] == "SPS-Programmierung").expect("the shipped skill");
    assert!(sps["escoUri"].as_str().is_some_and(|u| u.ends_with("000000000001")), "{sps}");
    assert!(sps["synonyms"].as_array().expect("synonyms").iter().any(|s| s == "SPS programmieren"), "{sps}");
    // A new skill is found by its alternative labels, as the vocabulary's own are.
    let forklift = found(&app.gql_ok(None, query, json!({ "q": "stapler fahren" })).await);
    let forklift = forklift.iter().find(|s| s["label"] == "Gabelstapler bedienen").expect("new skill");
    assert_eq!(forklift["categoryId"], "esco");
    assert!(forklift["escoUri"].as_str().is_some_and(|u| u.starts_with("http://data.europa.eu/esco/skill/")));
    let obsolete = found(&app.gql_ok(None, query, json!({ "q": "veraltete" })).await);
    assert!(obsolete.is_empty(), "{obsolete:?}");
}
