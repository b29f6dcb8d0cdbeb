//! Relevance on the judged queries of `tests/relevance/`, through `searchCourses` over HTTP: the
//! embedded index must not fall below the recorded figures; Meilisearch (when `MEILI_URL` is set) is
//! held to its own. `cargo run --release --bin bench-relevance -- --misses` shows both side by side
//! and the queries that miss.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use api::search::relevance::{self, DEPTH, Outcome};
use serde_json::json;
use uuid::Uuid;

use crate::helpers::{TestApp, eventually, spawn_app};
use crate::search::{drop_meili_index, meili_app};

/// Per query set: the figures recorded with `bench-relevance` (see the README's search section),
/// rounded down to two decimals. Raise them when relevance improves; never lower them to let a
/// change pass.
const EMBEDDED: [(&str, f64, f64); 2] = [("judged", 1.0, 0.97), ("held out", 0.94, 0.91)];
const MEILISEARCH: [(&str, f64, f64); 2] = [("judged", 0.95, 0.91), ("held out", 0.83, 0.77)];

/// Seeds the suite's catalogue, waits until the index holds every course, and runs every judged
/// query of each set through the API.
async fn run_suite(app: &TestApp) -> Vec<(&'static str, Vec<Outcome>)> {
    let db = app.db().await;
    api::seed::skills::ensure(&db).await.expect("skills");
    api::seed::demo::seed_catalogue(&db, relevance::CATALOGUE).await.expect("seed the suite's catalogue");
    let keys = relevance::catalogue_keys(relevance::CATALOGUE).expect("catalogue");
    let key_set: HashSet<&str> = keys.values().map(String::as_str).collect();
    let total = |body: serde_json::Value| body["data"]["searchCourses"]["totalHits"].as_u64();
    eventually(Duration::from_secs(60), "every course of the suite is searchable", || async {
        let body = app.gql(None, "{ searchCourses(first: 1) { totalHits } }", json!({})).await;
        total(body).filter(|n| *n as usize == keys.len())
    })
    .await;

    let mut sets = Vec::new();
    for (name, json) in relevance::SETS {
        let queries = relevance::parse_queries(json, &key_set).expect(name);
        let mut outcomes = Vec::with_capacity(queries.len());
        for query in queries {
            let body = app
                .gql(
                    None,
                    "query($q: String, $n: Int) { searchCourses(query: $q, first: $n) { hits { course { id } } } }",
                    json!({ "q": query.query, "n": DEPTH }),
                )
                .await;
            let hits = body["data"]["searchCourses"]["hits"].as_array().cloned().unwrap_or_else(|| {
                panic!("{:?}: {body}", query.query);
            });
            let ranked = hits
                .iter()
                .map(|hit| {
                    let id = hit["course"]["id"].as_str().and_then(|id| Uuid::parse_str(id).ok());
                    id.and_then(|id| keys.get(&id).cloned()).unwrap_or_else(|| "?".into())
                })
                .collect();
            outcomes.push(Outcome::new(query, ranked));
        }
        sets.push((name, outcomes));
    }
    sets
}

fn assert_at_least(backend: &str, sets: &[(&str, Vec<Outcome>)], floors: [(&str, f64, f64); 2]) {
    for ((name, outcomes), (floor_name, success_at_3, mrr_at_10)) in sets.iter().zip(floors) {
        assert_eq!(*name, floor_name);
        assert_set(&format!("{backend}, {name} queries"), outcomes, (success_at_3, mrr_at_10));
    }
}

/// Fails when `outcomes` fall below `floor` (success@3, MRR@10), listing the misses.
fn assert_set(backend: &str, outcomes: &[Outcome], floor: (f64, f64)) {
    let (all, kinds) = relevance::report(outcomes);
    let misses: Vec<String> = outcomes
        .iter()
        .filter(|o| !o.success())
        .map(|o| format!("[{}] {:?} → {:?}", o.query.kind, o.query.query, &o.ranked[..o.ranked.len().min(3)]))
        .collect();
    let by_kind: HashMap<&str, String> = kinds
        .iter()
        .map(|(kind, f)| (kind.as_str(), format!("{:.3}/{:.3}", f.success_at_3, f.mrr_at_10)))
        .collect();
    eprintln!(
        "{backend}: success@3 {:.3}, MRR@10 {:.3} over {} queries; per kind {by_kind:?}",
        all.success_at_3, all.mrr_at_10, all.queries
    );
    assert!(
        all.success_at_3 >= floor.0 && all.mrr_at_10 >= floor.1,
        "{backend} fell below the recorded relevance (success@3 {:.3} < {:.3} or MRR@10 {:.3} < {:.3}); misses:\n{}",
        all.success_at_3,
        floor.0,
        all.mrr_at_10,
        floor.1,
        misses.join("\n")
    );
}

#[tokio::test]
async fn the_embedded_index_keeps_its_recorded_relevance_on_the_judged_queries() {
    let app = spawn_app().await;
    let outcomes = run_suite(&app).await;
    assert_at_least("embedded", &outcomes, EMBEDDED);
}

#[tokio::test]
async fn meilisearch_keeps_its_recorded_relevance_on_the_judged_queries() {
    let Some((app, index)) = meili_app().await else { return };
    let outcomes = run_suite(&app).await;
    drop_meili_index(&index).await;
    assert_at_least("meilisearch", &outcomes, MEILISEARCH);
}
