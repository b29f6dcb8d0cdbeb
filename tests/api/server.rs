//! The HTTP surface: health, GET/POST rules, limits, request ids, the exported schema.

use serde_json::{Value, json};

use crate::helpers::{assert_error, error_code, spawn_app, spawn_app_with};

#[tokio::test]
async fn health_and_readiness() {
    let app = spawn_app().await;
    let health = app.client.get(format!("{}/healthz", app.address)).send().await.expect("healthz");
    assert_eq!(health.status().as_u16(), 200);
    let ready = app.client.get(format!("{}/readyz", app.address)).send().await.expect("readyz");
    assert_eq!(ready.status().as_u16(), 200);
    let body: Value = ready.json().await.expect("json");
    assert_eq!(body["database"], "ok");
}

#[tokio::test]
async fn queries_work_over_get_but_mutations_do_not() {
    let app = spawn_app().await;
    let url = format!("{}/graphql", app.address);
    let response = app
        .client
        .get(&url)
        .query(&[("query", "{ organizations(first: 1) { edges { cursor } } }")])
        .send()
        .await
        .expect("get");
    assert_eq!(response.status().as_u16(), 200);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["data"]["organizations"]["edges"], json!([]));

    let response = app
        .client
        .get(&url)
        .query(&[("query", "mutation { logout(refreshToken: \"x\") }")])
        .send()
        .await
        .expect("get");
    assert_eq!(response.status().as_u16(), 405);
    let body: Value = response.json().await.expect("json");
    assert_error(&body, "BAD_USER_INPUT", Some("query"));
}

#[tokio::test]
async fn post_needs_json_within_the_size_limit() {
    let app = spawn_app().await;
    let url = format!("{}/graphql", app.address);
    let form = app
        .client
        .post(&url)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("query={me{id}}")
        .send()
        .await
        .expect("post");
    assert_eq!(form.status().as_u16(), 415);

    let invalid = app
        .client
        .post(&url)
        .header("Content-Type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("post");
    assert_eq!(invalid.status().as_u16(), 400);
    let body: Value = invalid.json().await.expect("json");
    assert_error(&body, "BAD_USER_INPUT", Some("body"));

    let bad_utf8 = app
        .client
        .post(&url)
        .header("Content-Type", "application/json")
        .body(vec![b'{', b'"', 0xff, 0xfe, b'"', b'}'])
        .send()
        .await
        .expect("post");
    assert_eq!(bad_utf8.status().as_u16(), 400);

    let huge = json!({ "query": "{ me { id } }", "variables": { "x": "a".repeat(2 * 1024 * 1024) } });
    let response = app.client.post(&url).json(&huge).send().await.expect("post");
    assert_eq!(response.status().as_u16(), 413);
    let body: Value = response.json().await.expect("json");
    assert_error(&body, "BAD_USER_INPUT", Some("body"));
}

#[tokio::test]
async fn depth_complexity_and_batch_limits_hold() {
    let app = spawn_app().await;
    let deep = format!(
        "{{ organizations {{ edges {{ node {{ members {{ organization {{ members {{ organization {{ members {{ organization {{ members {{ organization {{ name {} }} }} }} }} }} }} }} }} }} }} }}",
        ""
    );
    let body = app.gql(None, &deep, json!({})).await;
    assert_eq!(error_code(&body), "GRAPHQL_VALIDATION_FAILED", "{body}");
    assert!(body["data"].is_null());

    let costly = "{ organizations(first: 100) { edges { node { members { user { email memberships { role organization { name members { role } } } } } } } } }";
    let body = app.gql(None, costly, json!({})).await;
    assert_eq!(error_code(&body), "GRAPHQL_VALIDATION_FAILED", "{body}");

    // 101 aliases of one field, and one field repeated 1000 times: refused before validation.
    let aliases: String = (0..101).map(|i| format!("a{i}: skillCategories {{ id }} ")).collect();
    for _ in 0..2 {
        // Again: a refused document is not kept parsed.
        let body = app.gql(None, &format!("{{ {aliases} }}"), json!({})).await;
        assert_eq!(error_code(&body), "GRAPHQL_VALIDATION_FAILED", "{body}");
        assert!(body["errors"][0]["message"].as_str().is_some_and(|m| m.contains("aliases")), "{body}");
    }
    let repeated = "id ".repeat(1000);
    let body = app.gql(None, &format!("{{ skillCategories {{ {repeated} }} }}"), json!({})).await;
    assert_eq!(error_code(&body), "GRAPHQL_VALIDATION_FAILED", "{body}");
    assert!(body["errors"][0]["message"].as_str().is_some_and(|m| m.contains("fields")), "{body}");
    let fine: String = (0..20).map(|i| format!("a{i}: skillCategories {{ id }} ")).collect();
    app.gql_ok(None, &format!("{{ {fine} }}"), json!({})).await;

    let batch: Vec<Value> =
        (0..11).map(|_| json!({ "query": "{ organizations { edges { cursor } } }" })).collect();
    let response =
        app.client.post(format!("{}/graphql", app.address)).json(&batch).send().await.expect("post");
    assert_eq!(response.status().as_u16(), 400);

    let small: Vec<Value> =
        (0..2).map(|_| json!({ "query": "{ organizations { edges { cursor } } }" })).collect();
    let response =
        app.client.post(format!("{}/graphql", app.address)).json(&small).send().await.expect("post");
    let body: Value = response.json().await.expect("json");
    assert_eq!(body.as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn every_response_and_error_carries_the_request_id() {
    let app = spawn_app().await;
    let response = app
        .client
        .post(format!("{}/graphql", app.address))
        .json(&json!({ "query": "{ me { id } }" }))
        .send()
        .await
        .expect("post");
    let header = response.headers().get("x-request-id").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let body: Value = response.json().await.expect("json");
    assert!(header.is_some());
    assert_eq!(body["errors"][0]["extensions"]["requestId"].as_str(), header.as_deref());
}

#[tokio::test]
async fn graphiql_in_development_only_and_no_introspection_in_production() {
    let dev = spawn_app().await;
    let page = dev.client.get(format!("{}/graphiql", dev.address)).send().await.expect("graphiql");
    assert_eq!(page.status().as_u16(), 200);
    assert!(page.text().await.expect("text").contains("graphiql"));
    let types = dev.gql_ok(None, "{ __schema { queryType { name } } }", json!({})).await;
    assert_eq!(types["__schema"]["queryType"]["name"], "QueryRoot");

    let prod = spawn_app_with(|s| s.environment = api::config::Environment::Production).await;
    let page = prod.client.get(format!("{}/graphiql", prod.address)).send().await.expect("graphiql");
    assert_eq!(page.status().as_u16(), 404);
    let body = prod.gql(None, "{ __schema { queryType { name } } }", json!({})).await;
    assert!(body.get("errors").is_some() || body["data"]["__schema"].is_null(), "{body}");
}

#[tokio::test]
async fn schema_graphql_is_current() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schema.graphql");
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(committed == api::graphql::sdl(), "schema.graphql is stale: run `cargo run -- export-schema`");
}

#[tokio::test]
async fn metrics_count_operations_and_error_codes_in_prometheus_format() {
    let app = spawn_app().await;
    app.gql(None, "query Kategorien { skillCategories { id } }", json!({})).await;
    app.gql(None, "query Ich { me { id } }", json!({})).await;
    let metrics_port = app.metrics_port.expect("metrics listener");
    let response =
        app.client.get(format!("http://127.0.0.1:{metrics_port}/metrics")).send().await.expect("metrics");
    assert_eq!(response.status().as_u16(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap_or("").starts_with("text/plain"));
    let text = response.text().await.expect("text");
    assert!(
        text.contains(
            "bildungsmarkt_graphql_request_duration_seconds_count{operation=\"Kategorien\",outcome=\"ok\"} 1"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "bildungsmarkt_graphql_request_duration_seconds_count{operation=\"Ich\",outcome=\"error\"} 1"
        ),
        "{text}"
    );
    assert!(text.contains("bildungsmarkt_graphql_errors_total{code=\"UNAUTHENTICATED\"} 1"), "{text}");
    for gauge in [
        "bildungsmarkt_db_pool_connections",
        "bildungsmarkt_search_outbox_pending",
        "bildungsmarkt_webhook_attempts_total",
    ] {
        assert!(text.contains(gauge), "{gauge} missing");
    }
    assert!(text.contains("bildungsmarkt_db_local_read_fallbacks 0"), "{text}");
}

#[tokio::test]
async fn a_panic_during_execution_is_an_internal_error_and_the_server_keeps_serving() {
    let app = spawn_app_with(|s| s.diagnostics = true).await;
    let response = app
        .client
        .post(format!("{}/graphql", app.address))
        .json(&json!({ "query": "query PanicProbe { __typename }" }))
        .send()
        .await
        .expect("post");
    assert_eq!(response.status().as_u16(), 500);
    let header = response.headers().get("x-request-id").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let body: Value = response.json().await.expect("json");
    assert_error(&body, "INTERNAL_SERVER_ERROR", None);
    assert_eq!(body["errors"][0]["extensions"]["requestId"].as_str(), header.as_deref());
    assert_eq!(body["errors"][0]["message"], "internal server error", "no panic text leaks");
    for _ in 0..3 {
        app.gql_ok(None, "{ skillCategories { id } }", json!({})).await;
    }
    let raw = app.client.get(format!("{}/bench/raw", app.address)).send().await.expect("get");
    assert_eq!(raw.status().as_u16(), 200);

    // Without APP_DIAGNOSTICS neither hook exists.
    let plain = spawn_app().await;
    plain.gql_ok(None, "query PanicProbe { __typename }", json!({})).await;
    let raw = plain.client.get(format!("{}/bench/raw", plain.address)).send().await.expect("get");
    assert_eq!(raw.status().as_u16(), 404);
}

#[tokio::test]
async fn batching_can_be_turned_off() {
    let app = spawn_app_with(|s| s.limits.max_batch = 0).await;
    let batch = vec![json!({ "query": "{ skillCategories { id } }" }); 2];
    let response =
        app.client.post(format!("{}/graphql", app.address)).json(&batch).send().await.expect("post");
    assert_eq!(response.status().as_u16(), 400);
    let body: Value = response.json().await.expect("json");
    assert_error(&body, "BAD_USER_INPUT", Some("body"));
    app.gql_ok(None, "{ skillCategories { id } }", json!({})).await;
}

#[tokio::test]
async fn directives_per_field_are_limited_as_configured() {
    let two = "{ skillCategories @include(if: true) @skip(if: false) { id } }";
    let app = spawn_app().await;
    app.gql_ok(None, two, json!({})).await;
    let strict = spawn_app_with(|s| s.limits.max_directives = 1).await;
    let body = strict.gql(None, two, json!({})).await;
    assert_eq!(error_code(&body), "GRAPHQL_VALIDATION_FAILED", "{body}");
    assert!(body["errors"][0]["message"].as_str().is_some_and(|m| m.contains("directives")), "{body}");
    strict.gql_ok(None, "{ skillCategories @include(if: true) { id } }", json!({})).await;
}
