//! Every instance's embedded index converges on the database: each applies every change, a lost or
//! emptied index refills by itself, and a stopped worker resumes from the position its index keeps.
//! A shared index (Meilisearch, and a stand-in keeping its position the same way) is updated through
//! the job system by whichever instance claims the job, and resumes after an engine outage.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use api::search::document::CourseDocuments;
use api::search::embedded::EmbeddedIndex;
use api::search::worker::{IndexingStats, Worker};
use api::search::{Backend, SearchBackend, outbox};
use serde_json::{Value, json};

use crate::catalog::provider;
use crate::helpers::{Account, TestApp, eventually, spawn_app, spawn_app_with_search};
use crate::search::{
    Switchable, drop_meili_index, fixture, meili, meili_app, meili_index, meili_settings, publish, search,
};
use entity::background_job as job;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};

const WAIT: Duration = Duration::from_secs(30);

/// Waits until `app` finds `course` for `query` (an error answer, as while an index is recreated,
/// counts as not found yet).
async fn found(app: &TestApp, query: &str, course: &str) {
    eventually(WAIT, &format!("{} finds {query:?}", app.address), || async {
        let (_, body) =
            app.post_graphql(None, crate::search::SEARCH, json!({ "q": query, "f": {} }), &[]).await;
        let hits = body["data"]["searchCourses"]["hits"].as_array()?;
        hits.iter().any(|h| h["course"]["id"] == course).then_some(())
    })
    .await;
}

/// Waits until the instance's index has applied the whole log and its last check found no drift.
async fn converged(app: &TestApp) -> Value {
    eventually(WAIT, "the index converges", || async {
        let ready = app.readyz().await;
        let search = &ready["search"];
        let drift = &search["drift"];
        let clean = ["missing", "stale", "extra"].iter().all(|k| drift[k] == 0);
        (search["checks"].as_u64() > Some(0) && clean && search["position"] == search["head"])
            .then_some(ready)
    })
    .await
}

async fn create_published(app: &TestApp, owner: &Account, provider: &str, title: &str) -> String {
    let mut input = crate::catalog::course_input();
    input["title"] = json!(title);
    input["rollingStart"] = json!(true);
    let created = app
        .gql_ok(
            Some(&owner.access_token),
            "mutation($p: ID!, $input: CourseInput!) { createCourse(providerId: $p, input: $input) { id } }",
            json!({ "p": provider, "input": input }),
        )
        .await;
    let id = created["createCourse"]["id"].as_str().expect("id").to_owned();
    publish(app, owner, &id).await;
    id
}

#[tokio::test]
async fn two_instances_on_one_database_each_hold_every_course() {
    let a = spawn_app().await;
    let b = a.second_instance(|_| {}).await;
    let (owner, provider_id) = provider(&a, "zwei@anbieter.de", "Zwei Instanzen GmbH").await;
    let mut on_a = Vec::new();
    let mut on_b = Vec::new();
    for i in 0..5 {
        on_a.push(create_published(&a, &owner, &provider_id, &format!("Hydraulik Stufe {i}")).await);
        on_b.push(create_published(&b, &owner, &provider_id, &format!("Pneumatik Stufe {i}")).await);
    }
    for app in [&a, &b] {
        for id in &on_a {
            found(app, "Hydraulik", id).await;
        }
        for id in &on_b {
            found(app, "Pneumatik", id).await;
        }
        let everything = search(app, "", json!({})).await;
        assert_eq!(everything["totalHits"], 10, "{everything}");
        converged(app).await;
    }
}

#[tokio::test]
async fn a_lost_index_refills_by_itself() {
    let a = spawn_app().await;
    let f = fixture(&a).await;
    // Prune the log: the new instance cannot replay it and must rebuild from the database.
    let db = a.db().await;
    outbox::prune(&db, chrono::Duration::zero()).await.expect("prune");
    // A fresh data directory: as after deleting `search-index` and restarting.
    let b = a.second_instance(|_| {}).await;
    for (query, id) in [("Schweißen", &f.welding), ("Projektmanagement", &f.project), ("Labor", &f.lab)] {
        found(&b, query, id).await;
    }
    let ready = converged(&b).await;
    assert!(ready["search"]["refills"].as_u64() >= Some(1), "{ready}");
    let everything = search(&b, "", json!({})).await;
    assert_eq!(everything["totalHits"], 4, "{everything}");
}

#[tokio::test]
async fn documents_removed_behind_the_apps_back_are_repaired() {
    let dir = tempfile::tempdir().expect("temp dir");
    let index = EmbeddedIndex::open(&dir.path().join("search-index")).expect("index");
    let backend: Backend = Arc::new(index.clone());
    let app = spawn_app_with_search(|s| s.search.check_interval_secs = 1, Some(backend)).await;
    let f = fixture(&app).await;
    converged(&app).await;

    // Remove the welding course's documents without the log knowing.
    let welding = uuid::Uuid::parse_str(&f.welding).expect("uuid");
    index
        .apply(&[CourseDocuments { course_id: welding, documents: Vec::new() }], None)
        .await
        .expect("remove behind the app's back");

    let repaired = eventually(WAIT, "the check sees and repairs the drift", || async {
        let ready = app.readyz().await;
        (ready["search"]["repairs"].as_u64() >= Some(1)).then_some(ready)
    })
    .await;
    assert!(repaired["search"]["repairedCourses"].as_u64() >= Some(1), "{repaired}");
    found(&app, "Schweißen", &f.welding).await;
    converged(&app).await;
    let metrics = app.metrics().await;
    for line in ["bildungsmarkt_search_drift_missing 0", "bildungsmarkt_search_drift_extra 0"] {
        assert!(metrics.contains(line), "{line}: {metrics}");
    }
    assert!(!metrics.contains("bildungsmarkt_search_repairs 0"), "{metrics}");
}

#[tokio::test]
async fn a_stopped_worker_resumes_from_the_position_its_index_keeps() {
    let a = spawn_app().await;
    let f = fixture(&a).await;
    let db = a.db().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("search-index");

    // Instance B's worker fills its index, then stops.
    let position = {
        let index: Backend = Arc::new(EmbeddedIndex::open(&path).expect("index"));
        let stats = Arc::new(IndexingStats::default());
        let worker = Worker::new(db.clone(), index.clone(), stats, Arc::new(tokio::sync::Notify::new()));
        let head = outbox::head(&db).await.expect("head");
        eventually(WAIT, "B's index reaches the head", || async {
            worker.drain_once().await.ok()?;
            (index.position().await.ok()?? >= head).then_some(())
        })
        .await;
        index.position().await.expect("position").expect("a position")
    };

    // A change while B is down.
    let version =
        a.gql_ok(None, "query($id: ID!) { course(id: $id) { version } }", json!({ "id": f.project })).await;
    a.gql_ok(
        Some(&f.owner.access_token),
        "mutation($id: ID!, $v: Int!) { updateCourse(id: $id, expectedVersion: $v, input: { title: \"Agiles Projektmanagement\" }) { title } }",
        json!({ "id": f.project, "v": version["course"]["version"] }),
    )
    .await;
    let head = outbox::head(&db).await.expect("head");
    assert!(head > position, "the change is in the log after B's position");

    // B restarts on the same index directory.
    let index = EmbeddedIndex::open(&path).expect("reopen");
    assert_eq!(index.position().await.expect("position"), Some(position), "the commit kept the position");
    let b = a.second_instance_with_search(|_| {}, Some(Arc::new(index))).await;
    found(&b, "Agiles", &f.project).await;
    let ready = converged(&b).await;
    assert_eq!(ready["search"]["refills"], 0, "replayed from the position, not refilled: {ready}");
    assert_eq!(ready["search"]["repairs"], 0, "nothing needed repair: {ready}");
}

/// Search-sync jobs of the job system, by state.
async fn sync_jobs(db: &DatabaseConnection) -> Vec<job::Model> {
    job::Entity::find().filter(job::Column::Kind.eq("search.sync")).all(db).await.expect("jobs")
}

/// Both instances report the shared cursor at the log's head, and the index matches the database.
async fn shared_index_converged(apps: [&TestApp; 2], backend: &Backend) {
    let db = apps[0].db().await;
    let last = std::sync::Mutex::new(String::new());
    let clean = tokio::time::timeout(WAIT, async {
        loop {
            match api::search::check(&db, backend.as_ref()).await {
                Ok(drift) if drift.is_clean() && drift.pending_changes == 0 => return,
                Ok(drift) => *last.lock().expect("lock") = drift.to_string(),
                Err(e) => *last.lock().expect("lock") = e.to_string(),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    assert!(clean.is_ok(), "the shared index matches the database: {}", last.lock().expect("lock"));
    for app in apps {
        eventually(WAIT, "the instance reports the shared cursor at the head", || async {
            let ready = app.readyz().await;
            (ready["search"]["position"] == ready["search"]["head"]).then_some(())
        })
        .await;
    }
}

#[tokio::test]
async fn a_shared_index_follows_the_log_through_jobs_and_resumes_after_an_outage() {
    let dir = tempfile::tempdir().expect("temp dir");
    let down = Arc::new(AtomicBool::new(false));
    let inner: Backend = Arc::new(EmbeddedIndex::open(&dir.path().join("shared")).expect("index"));
    let backend: Backend = Arc::new(Switchable { inner, down: down.clone(), shared: Some("courses_shared") });
    let a = spawn_app_with_search(|_| {}, Some(backend.clone())).await;
    let b = a.second_instance_with_search(|_| {}, Some(backend.clone())).await;
    let f = fixture(&a).await;
    for app in [&a, &b] {
        found(app, "Schweißen", &f.welding).await;
    }
    let db = a.db().await;
    let jobs = sync_jobs(&db).await;
    assert!(jobs.iter().any(|j| j.state == job::JobState::Done), "applied by jobs: {jobs:?}");

    // The engine goes away: a course published on B waits in the log while the job retries.
    down.store(true, Ordering::SeqCst);
    let during = create_published(&b, &f.owner, &f.provider, "Hydraulik während des Ausfalls").await;
    eventually(WAIT, "the sync job fails and is retried", || async {
        let jobs = sync_jobs(&db).await;
        jobs.iter()
            .any(|j| j.state == job::JobState::Pending && j.attempts >= 2 && j.last_error.is_some())
            .then_some(())
    })
    .await;

    down.store(false, Ordering::SeqCst);
    for app in [&a, &b] {
        found(app, "Hydraulik", &during).await;
    }
    shared_index_converged([&a, &b], &backend).await;
    let dead: Vec<_> = sync_jobs(&db).await.into_iter().filter(|j| j.state == job::JobState::Dead).collect();
    assert!(dead.is_empty(), "a short outage kills no job: {dead:?}");
}

#[tokio::test]
async fn two_instances_share_one_meilisearch_index() {
    let Some((url, key)) = meili() else { return };
    let index = meili_index();
    let configure = meili_settings(&url, key.as_deref(), &index);
    let a = crate::helpers::spawn_app_with(configure.clone()).await;
    let b = a.second_instance(configure).await;
    let (owner, provider_id) = provider(&a, "meili@anbieter.de", "Geteilter Index GmbH").await;
    let mut courses = Vec::new();
    for i in 0..4 {
        courses.push(create_published(&a, &owner, &provider_id, &format!("Hydraulik Stufe {i}")).await);
        courses.push(create_published(&b, &owner, &provider_id, &format!("Hydraulik Kurs {i}")).await);
    }
    for app in [&a, &b] {
        for id in &courses {
            found(app, "Hydraulik", id).await;
        }
    }
    let backend: Backend = Arc::new(
        api::search::meili::MeiliBackend::connect(&url, key.as_deref(), &index).await.expect("Meilisearch"),
    );
    shared_index_converged([&a, &b], &backend).await;
    let jobs = sync_jobs(&a.db().await).await;
    assert!(jobs.iter().any(|j| j.state == job::JobState::Done), "applied by jobs: {jobs:?}");
    drop_meili_index(&index).await;
}

#[tokio::test]
async fn a_deleted_meilisearch_index_is_created_again_and_refilled_by_itself() {
    let Some((app, index)) = meili_app().await else { return };
    let Some((url, key)) = meili() else { return };
    let f = fixture(&app).await;
    found(&app, "Schweißen", &f.welding).await;

    let client = meilisearch_sdk::client::Client::new(url.clone(), key.clone()).expect("client");
    let task = client.delete_index(&index).await.expect("delete the index behind the app's back");
    task.wait_for_completion(&client, None, None).await.expect("deleted");

    // The next search finds it gone, the backend creates it again with its settings, and the
    // comparison queued at once refills it; typo tolerance (a setting) works again.
    for (query, id) in [("Schweißen", &f.welding), ("Projektmanagment", &f.project)] {
        found(&app, query, id).await;
    }
    let everything = search(&app, "", json!({})).await;
    assert_eq!(everything["totalHits"], 4, "{everything}");
    let backend: Backend = Arc::new(
        api::search::meili::MeiliBackend::connect(&url, key.as_deref(), &index).await.expect("Meilisearch"),
    );
    let drift = api::search::check(&app.db().await, backend.as_ref()).await.expect("check");
    assert!(drift.is_clean(), "{drift}");
    drop_meili_index(&index).await;
}
