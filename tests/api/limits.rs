//! Query-shape limits seen from outside: fragment bombs, introspection with the standard queries of
//! the tools partners use, and page sizes over the limit.

use serde_json::{Value, json};

#[path = "../../src/bin/shared/documents.rs"]
mod documents;

use documents::{doubling_fragments, fragment_bomb};

use crate::helpers::{assert_error, error_code, spawn_app, spawn_app_with};

/// The standard introspection queries, as graphql-js 16 and graphql-core 3.2 write them (GraphiQL,
/// graphql-codegen, Apollo tooling and Python's `gql` send these), with and without their options.
const INTROSPECTION_QUERIES: &[(&str, &str)] = &[
    ("graphql-js 16", include_str!("fixtures/introspection/graphql-js-16.graphql")),
    ("graphql-js 16, all options", include_str!("fixtures/introspection/graphql-js-16-all-options.graphql")),
    ("graphql-core 3.2", include_str!("fixtures/introspection/graphql-core-3.2.graphql")),
    (
        "graphql-core 3.2, all options",
        include_str!("fixtures/introspection/graphql-core-3.2-all-options.graphql"),
    ),
];

#[tokio::test]
async fn fragment_bombs_are_refused_before_validation() {
    let app = spawn_app().await;
    // Refused for its length before it is parsed; with a larger text limit, for its spreads.
    let body = app.gql(None, &fragment_bomb(38_000), json!({})).await;
    assert_error(&body, "GRAPHQL_VALIDATION_FAILED", Some("query"));
    assert!(body["errors"][0]["message"].as_str().is_some_and(|m| m.contains("bytes")), "{body}");
    assert!(body["data"].is_null(), "{body}");
    let roomy = spawn_app_with(|s| s.limits.max_query_bytes = 1024 * 1024).await;
    let body = roomy.gql(None, &fragment_bomb(38_000), json!({})).await;
    assert_error(&body, "GRAPHQL_VALIDATION_FAILED", Some("query"));
    assert!(body["errors"][0]["message"].as_str().is_some_and(|m| m.contains("38000 times")), "{body}");

    let body = app.gql(None, &doubling_fragments(30), json!({})).await;
    assert_error(&body, "GRAPHQL_VALIDATION_FAILED", Some("query"));
    let message = body["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("spreads fragments") || message.contains("fields"), "{message}");

    // A fragment's fields count once per spread: 3 spreads of 200 fields are 600 > 500.
    let fields: String = (0..200).map(|_| "__typename ").collect();
    let tripled = format!("{{ ...T ...T ...T }} fragment T on QueryRoot {{ {fields} }}");
    let body = app.gql(None, &tripled, json!({})).await;
    assert_error(&body, "GRAPHQL_VALIDATION_FAILED", Some("query"));
    assert!(body["errors"][0]["message"].as_str().is_some_and(|m| m.contains("600 fields")), "{body}");
    let twice = format!("{{ ...T ...T }} fragment T on QueryRoot {{ {fields} }}");
    let data = app.gql_ok(None, &twice, json!({})).await;
    assert_eq!(data["__typename"], "QueryRoot");

    // Aliases inside a fragment count once per spread, too.
    let aliased: String = (0..30).map(|i| format!("a{i}: __typename ")).collect();
    let body =
        app.gql(None, &format!("{{ ...A ...A }} fragment A on QueryRoot {{ {aliased} }}"), json!({})).await;
    assert!(body["errors"][0]["message"].as_str().is_some_and(|m| m.contains("60 aliases")), "{body}");

    // A cycle is refused, not followed.
    let body = app
        .gql(None, "{ ...A } fragment A on QueryRoot { ...B } fragment B on QueryRoot { ...A }", json!({}))
        .await;
    assert_eq!(error_code(&body), "GRAPHQL_VALIDATION_FAILED", "{body}");

    // Depth through fragments counts as written out.
    let nested = "{ organizations { edges { ...E } } } fragment E on OrganizationEdge { node { members { organization { members { organization { members { organization { members { organization { members { organization { name } } } } } } } } } } } }";
    let body = app.gql(None, nested, json!({})).await;
    assert_eq!(error_code(&body), "GRAPHQL_VALIDATION_FAILED", "{body}");
    assert!(body["errors"][0]["message"].as_str().is_some_and(|m| m.contains("deep")), "{body}");

    // The server still answers.
    let data = app.gql_ok(None, "{ skillCategories { id } }", json!({})).await;
    assert!(data["skillCategories"].as_array().is_some_and(|c| !c.is_empty()));
}

#[tokio::test]
async fn __typename_costs_like_any_field_in_the_rate_limit() {
    let app = spawn_app_with(|s| {
        s.limits.max_complexity = 1_000;
        s.limits.rate_anonymous_per_min = 1_000;
    })
    .await;
    // 400 `__typename`s cost 400 of the 1 000 a minute: the third such query is refused.
    let query = format!("{{ {} }}", "__typename ".repeat(400));
    app.gql_ok(None, &query, json!({})).await;
    app.gql_ok(None, &query, json!({})).await;
    let body = app.gql(None, &query, json!({})).await;
    assert_eq!(error_code(&body), "RATE_LIMITED", "{body}");
}

#[tokio::test]
async fn the_standard_introspection_queries_work_in_development() {
    let app = spawn_app().await;
    for (tool, query) in INTROSPECTION_QUERIES {
        let body = app.gql(None, query, json!({})).await;
        assert!(body.get("errors").is_none(), "{tool}: {body}");
        let schema = &body["data"]["__schema"];
        assert_eq!(schema["queryType"]["name"], "QueryRoot", "{tool}");
        let types = schema["types"].as_array().map(Vec::len).unwrap_or_default();
        assert!(types > 50, "{tool}: only {types} types");
    }
    // Introspection that multiplies the schema by itself once more than the standard queries do is
    // refused; so are real fields nested past the depth limit (see fragment_bombs_…).
    let body = app
        .gql(None, "{ __schema { types { fields { type { fields { args { name } } } } } } }", json!({}))
        .await;
    assert_error(&body, "GRAPHQL_VALIDATION_FAILED", Some("query"));
}

#[tokio::test]
async fn introspection_is_refused_with_a_code_in_production() {
    let app = spawn_app_with(|s| s.environment = api::config::Environment::Production).await;
    for (tool, query) in INTROSPECTION_QUERIES {
        let body = app.gql(None, query, json!({})).await;
        assert_error(&body, "GRAPHQL_VALIDATION_FAILED", Some("__schema"));
        assert!(body["data"].is_null(), "{tool}: {body}");
    }
    let body = app.gql(None, "{ __type(name: \"Course\") { name } }", json!({})).await;
    assert_error(&body, "GRAPHQL_VALIDATION_FAILED", Some("__schema"));
    let data = app.gql_ok(None, "{ __typename }", json!({})).await;
    assert_eq!(data["__typename"], "QueryRoot");
}

#[tokio::test]
async fn a_page_over_the_limit_is_bad_input_on_first() {
    let app = spawn_app().await;
    let lists = [
        "searchCourses(query: \"SPS\", first: 500) { totalHits }",
        "courses(first: 500) { edges { node { id title } } }",
        "needs(first: 500) { edges { node { id } } }",
        "organizations(first: 500) { edges { node { id } } }",
        "skills(first: 500) { edges { node { id } } }",
    ];
    let user = app.register("seitengroesse@example.de").await;
    for list in lists {
        let body = app.gql(Some(&user.access_token), &format!("{{ {list} }}"), json!({})).await;
        assert_error(&body, "BAD_USER_INPUT", Some("first"));
    }
    // Every bad value of one request is reported, each with its path.
    let body = app
        .gql(
            None,
            "{ a: courses(first: 500) { edges { cursor } } b: skills(first: 0) { edges { cursor } } skillCategories { id } }",
            json!({}),
        )
        .await;
    let errors = body["errors"].as_array().cloned().unwrap_or_default();
    let mut paths: Vec<&Value> = errors.iter().map(|e| &e["path"][0]).collect();
    paths.sort_by_key(|p| p.to_string());
    assert_eq!(paths, [&json!("a"), &json!("b")], "{body}");
    assert!(
        errors
            .iter()
            .all(|e| e["extensions"]["code"] == "BAD_USER_INPUT" && e["extensions"]["field"] == "first")
    );
}
