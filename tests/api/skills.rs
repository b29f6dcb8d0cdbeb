//! The skills vocabulary: shipped, searchable regardless of case and umlaut spelling, extendable by admins.

use serde_json::{Value, json};

use crate::helpers::{assert_error, spawn_app};

fn labels(data: &Value) -> Vec<String> {
    data["skills"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .filter_map(|e| e["node"]["label"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn the_vocabulary_is_shipped_and_found_by_prefix_and_substring() {
    let app = spawn_app().await;
    let categories = app.gql_ok(None, "{ skillCategories { id label } }", json!({})).await;
    assert!(categories["skillCategories"].as_array().map(Vec::len).unwrap_or(0) >= 12);

    let q = "query($q: String, $c: String, $after: String) { skills(query: $q, category: $c, first: 100, after: $after) {
        edges { node { id label category { id } } } pageInfo { hasNextPage endCursor } } }";
    for (query, expected) in [
        ("schweiss", "Schweiß"),
        ("SCHWEISSEN", "Schweiß"),
        ("sps", "SPS"),
        ("fuehrung", "Führung"),
        ("führung", "Führung"),
    ] {
        let data = app.gql_ok(None, q, json!({ "q": query })).await;
        let found = labels(&data);
        assert!(found.iter().any(|l| l.contains(expected)), "{query}: {found:?}");
    }
    let data = app.gql_ok(None, q, json!({ "q": "sps" })).await;
    let first = labels(&data).into_iter().next().unwrap_or_default();
    assert!(first.to_lowercase().starts_with("sps"), "prefix matches come first: {first}");

    let data = app.gql_ok(None, q, json!({ "c": "automation" })).await;
    let edges = data["skills"]["edges"].as_array().expect("edges");
    assert!(edges.len() >= 15);
    assert!(edges.iter().all(|e| e["node"]["category"]["id"] == "automation"));

    // Paging through everything yields at least 300 distinct skills.
    let mut seen = std::collections::HashSet::new();
    let mut after = Value::Null;
    loop {
        let data = app.gql_ok(None, q, json!({ "after": after })).await;
        for label in labels(&data) {
            assert!(seen.insert(label.clone()), "{label} twice");
        }
        if data["skills"]["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = data["skills"]["pageInfo"]["endCursor"].clone();
    }
    assert!(seen.len() >= 300, "{} skills", seen.len());
}

#[tokio::test]
async fn platform_admins_add_skills() {
    let app = spawn_app().await;
    let user = app.register("nutzer@example.de").await;
    let create =
        "mutation($input: SkillInput!) { createSkill(input: $input) { id label synonyms category { id } } }";
    let input = json!({ "category": "automation", "label": "Robotik mit KUKA", "synonyms": ["KRL"] });
    assert_error(
        &app.gql(Some(&user.access_token), create, json!({ "input": input })).await,
        "FORBIDDEN",
        None,
    );

    api::service::accounts::create_admin(&app.db().await, &user.email, None, None).await.expect("admin");
    let data = app.gql_ok(Some(&user.access_token), create, json!({ "input": input })).await;
    assert_eq!(data["createSkill"]["id"], "automation/robotik-mit-kuka");
    assert_eq!(data["createSkill"]["synonyms"], json!(["KRL"]));
    let found = app.gql_ok(None, "{ skills(query: \"krl\") { edges { node { label } } } }", json!({})).await;
    assert_eq!(labels(&found), vec!["Robotik mit KUKA".to_owned()]);

    assert_error(
        &app.gql(Some(&user.access_token), create, json!({ "input": input })).await,
        "CONFLICT",
        Some("input.label"),
    );
    let bad = json!({ "category": "gibt-es-nicht", "label": "Etwas" });
    assert_error(
        &app.gql(Some(&user.access_token), create, json!({ "input": bad })).await,
        "BAD_USER_INPUT",
        Some("input.category"),
    );
    assert_error(&app.gql(None, "{ skill(id: \"nicht/da\") { id } }", json!({})).await, "NOT_FOUND", None);
    let long = "x".repeat(101);
    assert_error(
        &app.gql(None, "query($q: String) { skills(query: $q) { edges { cursor } } }", json!({ "q": long }))
            .await,
        "BAD_USER_INPUT",
        Some("query"),
    );
}
