//! Every instance's embedded index converges on the database: each applies every change, a lost or
//! emptied index refills by itself, and a stopped worker resumes from the position its index keeps.

use std::sync::Arc;
use std::time::Duration;

use api::search::document::CourseDocuments;
use api::search::embedded::EmbeddedIndex;
use api::search::worker::{IndexingStats, Worker};
use api::search::{Backend, SearchBackend, outbox};
use serde_json::{Value, json};

use crate::catalog::provider;
use crate::helpers::{Account, TestApp, eventually, spawn_app, spawn_app_with_search};
use crate::search::{fixture, ids, publish, search};

const WAIT: Duration = Duration::from_secs(30);

/// Waits until `app` finds `course` for `query`.
async fn found(app: &TestApp, query: &str, course: &str) {
    eventually(WAIT, &format!("{} finds {query:?}", app.address), || async {
        ids(&search(app, query, json!({})).await).contains(&course.to_owned()).then_some(())
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
