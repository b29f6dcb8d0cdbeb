//! The demo marketplace (`seed-demo`), and what a page of the catalogue costs in SQL statements.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use api::auth::{Caller, JwtKeys};
use api::config::{AuthSettings, Settings};
use api::events::EventBus;
use api::graphql::{AppState, LoaderCache, SchemaOptions, attach_request_data, build_schema};
use secrecy::SecretString;
use serde_json::json;

use crate::helpers::spawn_app;

fn count(data: &serde_json::Value, connection: &str) -> usize {
    data[connection]["edges"].as_array().map(Vec::len).unwrap_or(0)
}

#[tokio::test]
async fn seed_demo_runs_twice_without_duplicates_and_its_logins_work() {
    let app = spawn_app().await;
    let binary = env!("CARGO_BIN_EXE_bildungsmarkt");
    let run = || {
        std::process::Command::new(binary)
            .arg("seed-demo")
            .env("DATABASE_URL", &app.database_url)
            .env("APP_DATA_DIR", std::env::temp_dir())
            .env("RUST_LOG", "warn")
            .output()
            .expect("run seed-demo")
    };
    let first = run();
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    let q = "{ providers: organizations(kind: PROVIDER, first: 100) { edges { node { id address { bundesland } } } }
               firms: organizations(kind: FIRM, first: 100) { edges { node { id } } } }";
    let orgs = app.gql_ok(None, q, json!({})).await;
    let courses = total_courses(&app).await;

    let second = run();
    assert!(second.status.success(), "{}", String::from_utf8_lossy(&second.stderr));
    assert_eq!(app.gql_ok(None, q, json!({})).await, orgs, "a second run adds no organization");
    assert_eq!(total_courses(&app).await, courses, "a second run adds no course");

    assert!(count(&orgs, "providers") >= 12, "{orgs}");
    assert!(count(&orgs, "firms") >= 40, "{orgs}");
    let states: std::collections::HashSet<&str> = orgs["providers"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .filter_map(|e| e["node"]["address"]["bundesland"].as_str())
        .collect();
    for state in ["SACHSEN", "THUERINGEN", "NORDRHEIN_WESTFALEN", "BRANDENBURG"] {
        assert!(states.contains(state), "no provider in {state}: {states:?}");
    }
    assert!(courses >= 300, "{courses} published courses");

    // Every demo organization's owner logs in with the documented password.
    let login =
        "mutation($e: String!, $p: String!) { login(input: { email: $e, password: $p }) { accessToken } }";
    let admin = app
        .gql_ok(None, login, json!({ "e": api::seed::demo::DEMO_ADMIN, "p": api::seed::demo::DEMO_PASSWORD }))
        .await;
    let token = admin["login"]["accessToken"].as_str().expect("token");
    let me = app.gql_ok(Some(token), "{ me { isPlatformAdmin } }", json!({})).await;
    assert_eq!(me["me"]["isPlatformAdmin"], true);
    let slug = app
        .gql_ok(None, "{ organizations(kind: FIRM, first: 1) { edges { node { slug } } } }", json!({}))
        .await;
    let email = api::seed::demo::demo_email(
        slug["organizations"]["edges"][0]["node"]["slug"].as_str().expect("slug"),
    );
    let firm = app.gql_ok(None, login, json!({ "e": email, "p": api::seed::demo::DEMO_PASSWORD })).await;
    let token = firm["login"]["accessToken"].as_str().expect("token");
    let needs = app
        .gql_ok(Some(token), "{ needs(first: 100) { edges { node { status firm { slug } } } } }", json!({}))
        .await;
    assert!(count(&needs, "needs") > 10, "a firm sees its own and other firms' open needs: {needs}");

    // The firm's staff show gaps, a drafted need and a learning path at once.
    let firm_id = app.gql_ok(Some(token), "{ me { memberships { organization { id } } } }", json!({})).await
        ["me"]["memberships"][0]["organization"]["id"]
        .as_str()
        .expect("firm")
        .to_owned();
    let analysis = app
        .gql_ok(
            Some(token),
            "query($f: ID!) { gapAnalysis(firmId: $f) { people skills { skillId below sentence } rows { staffId } } }",
            json!({ "f": firm_id }),
        )
        .await;
    let analysis = &analysis["gapAnalysis"];
    assert_eq!(analysis["people"], 6, "{analysis}");
    let gap = analysis["skills"]
        .as_array()
        .expect("skills")
        .iter()
        .find(|s| s["below"].as_i64() > Some(0))
        .expect("a demo gap");
    let draft = app
        .gql_ok(
            Some(token),
            "mutation($f: ID!, $s: String!) { draftNeedFromGaps(firmId: $f, gaps: [{ skillId: $s }]) { status participants } }",
            json!({ "f": firm_id, "s": gap["skillId"] }),
        )
        .await;
    assert_eq!(draft["draftNeedFromGaps"]["status"], "DRAFT");
    let person = &analysis["rows"][0]["staffId"];
    let path = app
        .gql_ok(
            Some(token),
            "query($f: ID!, $s: [ID!]!) { learningPath(firmId: $f, staffIds: $s, maxDistanceKm: 300) { steps { courseTitle } open { reason } } }",
            json!({ "f": firm_id, "s": [person] }),
        )
        .await;
    assert!(!path["learningPath"]["steps"].as_array().expect("steps").is_empty(), "{path}");
}

async fn total_courses(app: &crate::helpers::TestApp) -> usize {
    let mut total = 0;
    let mut after = serde_json::Value::Null;
    loop {
        let page = app
            .gql_ok(
                None,
                "query($after: String) { courses(first: 100, after: $after) { edges { cursor } pageInfo { hasNextPage endCursor } } }",
                json!({ "after": after }),
            )
            .await;
        total += count(&page, "courses");
        if page["courses"]["pageInfo"]["hasNextPage"] != true {
            return total;
        }
        after = page["courses"]["pageInfo"]["endCursor"].clone();
    }
}

/// The relations of a page of courses are loaded in batches: one statement for the courses and one
/// per relation, however long the page.
#[tokio::test]
async fn a_page_of_courses_with_relations_costs_at_most_four_statements() {
    let app = spawn_app().await;
    api::seed::demo::seed(&app.db().await).await.expect("seed demo");

    let statements = Arc::new(AtomicUsize::new(0));
    let mut db = app.db().await;
    let counter = statements.clone();
    db.set_metric_callback(move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
    });
    let settings = Settings::default();
    let jwt = JwtKeys::hs256(&SecretString::from("x".repeat(40)), &AuthSettings::default());
    let search_dir = tempfile::tempdir().expect("temp dir");
    let search = api::search::embedded::EmbeddedIndex::open(search_dir.path()).expect("index");
    let state = AppState {
        // Through the pool, so that the statement counter sees every read.
        reads: api::db::reads::Reads::pool(db.clone()),
        db,
        jwt: Arc::new(jwt),
        events: EventBus::new(),
        settings: Arc::new(settings),
        search: Arc::new(search),
        indexing: Arc::default(),
        jobs_wake: Arc::default(),
        indexing_wake: Arc::default(),
        metrics: Arc::default(),
    };
    let schema = build_schema(state.clone(), SchemaOptions { introspection: true });

    for first in [1, 100] {
        let query = format!(
            "{{ courses(first: {first}) {{ edges {{ node {{ provider {{ name }} skills {{ label }} offerings {{ startDate }} }} }} }} }}"
        );
        let request = || {
            let mut request = async_graphql::Request::new(query.clone());
            attach_request_data(&mut request.data, &state, Caller::default(), LoaderCache::PerRequest);
            request
        };
        // The first page also reads the skills vocabulary, which the server then holds.
        let warm = schema.execute(request()).await;
        assert!(warm.errors.is_empty(), "{:?}", warm.errors);
        statements.store(0, Ordering::SeqCst);
        let response = schema.execute(request()).await;
        assert!(response.errors.is_empty(), "{:?}", response.errors);
        let data = response.data.into_json().expect("json");
        assert_eq!(count(&data, "courses"), first);
        let offerings: usize = data["courses"]["edges"]
            .as_array()
            .expect("edges")
            .iter()
            .map(|e| e["node"]["offerings"].as_array().map(Vec::len).unwrap_or(0))
            .sum();
        assert!(
            first == 1 || offerings > 100,
            "the page really has relations to load: {offerings} offerings"
        );
        let used = statements.load(Ordering::SeqCst);
        assert!(used <= 4, "{used} SQL statements for courses(first: {first})");
    }
}

/// Rows read by id (on the calling thread for a SQLite file) are the rows the pool reads, for every
/// course, offering, organization and user of the demo marketplace: every column type, nulls and
/// enums included.
#[tokio::test]
async fn reads_by_id_return_the_pools_rows() {
    use entity::{course, offering, organization, user};
    use sea_orm::EntityTrait;

    async fn same<E>(
        reads: &api::db::reads::Reads,
        db: &sea_orm::DatabaseConnection,
        id: fn(&E::Model) -> uuid::Uuid,
    ) where
        E: EntityTrait,
        E::Model: PartialEq + std::fmt::Debug,
        E::ActiveModel: sea_orm::TryIntoModel<E::Model>,
    {
        let mut expected = E::find().all(db).await.expect("pool read");
        assert!(!expected.is_empty(), "demo rows of {}", E::default().table_name());
        let ids: Vec<uuid::Uuid> = expected.iter().map(id).collect();
        let mut read = Vec::new();
        for chunk in ids.chunks(100) {
            read.extend(reads.by_ids::<E>(chunk).await.expect("read by ids"));
        }
        expected.sort_by_key(id);
        read.sort_by_key(id);
        assert_eq!(read.len(), expected.len(), "{}", E::default().table_name());
        for (read, expected) in read.iter().zip(&expected) {
            assert_eq!(read, expected, "{}", E::default().table_name());
        }
        let one = reads.by_id::<E>(ids[0]).await.expect("read by id");
        assert_eq!(one.as_ref().map(id), Some(ids[0]));
    }

    let app = spawn_app().await;
    let db = app.db().await;
    api::seed::demo::seed(&db).await.expect("seed demo");
    let reads = api::db::reads::Reads::new(db.clone(), &app.database_url);
    assert_eq!(reads.is_local(), app.database_url.starts_with("sqlite:"));
    same::<course::Entity>(&reads, &db, |m| m.id).await;
    same::<offering::Entity>(&reads, &db, |m| m.id).await;
    same::<organization::Entity>(&reads, &db, |m| m.id).await;
    same::<user::Entity>(&reads, &db, |m| m.id).await;
    assert_eq!(reads.by_id::<course::Entity>(uuid::Uuid::now_v7()).await.expect("unknown id"), None);
    assert_eq!(reads.fallbacks(), 0, "every local read succeeded");
}

/// `serve --demo` and `seed-demo` in production exit with an error before touching the database:
/// the demo's platform admin has a published password.
#[test]
fn demo_data_is_refused_in_production() {
    let binary = env!("CARGO_BIN_EXE_bildungsmarkt");
    let dir = tempfile::tempdir().expect("temp dir");
    let database = dir.path().join("production.db");
    for args in [&["serve", "--demo"][..], &["seed-demo"]] {
        let mut child = std::process::Command::new(binary)
            .args(args)
            .env("APP_ENV", "production")
            .env("DATABASE_URL", format!("sqlite://{}?mode=rwc", database.display()))
            .env("APP_DATA_DIR", dir.path())
            .env("APP_BIND", "127.0.0.1:0")
            .env("APP_JWT_SECRET", crate::helpers::JWT_SECRET)
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("run the binary");
        // A server that started anyway would never exit: wait with a deadline, then stop it.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait for the binary") {
                break status;
            }
            if std::time::Instant::now() > deadline {
                child.kill().ok();
                panic!("{args:?} in production did not exit within 60 s");
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        let mut stderr = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut stderr).ok();
        assert!(!status.success(), "{args:?} succeeded in production");
        assert!(stderr.contains("refusing to load demo data in production"), "{args:?}: {stderr}");
        assert!(!database.exists(), "{args:?} created the database before refusing");
    }
}
