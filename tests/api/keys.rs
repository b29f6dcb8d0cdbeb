//! API keys for partner frontends, and per-caller rate limits charged by query cost.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::{Account, TestApp, assert_error, spawn_app, spawn_app_with};
use crate::matching::{JENA, firm_at};
use crate::needs::need_input;

const CREATE_KEY: &str = "mutation($input: CreateApiKeyInput!) {
    createApiKey(input: $input) { key apiKey { id name scope prefix revokedAt } } }";
const CREATE_ORGANIZATION: &str =
    "mutation { createOrganization(input: { kind: FIRM, name: \"Schatten GmbH\" }) { id } }";
const REVOKE_KEY: &str = "mutation($id: ID!) { revokeApiKey(id: $id) { id revokedAt } }";
const CREATE_NEED: &str =
    "mutation($f: ID!, $input: NeedInput!) { createNeed(firmId: $f, input: $input) { id firm { id } } }";

/// Creates a key; returns (key id, key).
async fn create_key(app: &TestApp, admin: &Account, org: &str, scope: &str) -> (String, String) {
    let data = app
        .gql_ok(
            Some(&admin.access_token),
            CREATE_KEY,
            json!({ "input": { "organizationId": org, "name": "Regionalportal Thüringen", "scope": scope } }),
        )
        .await;
    let created = &data["createApiKey"];
    (
        created["apiKey"]["id"].as_str().expect("id").to_owned(),
        created["key"].as_str().expect("key").to_owned(),
    )
}

/// POSTs with `X-API-Key`; returns (status, body).
async fn with_key_header(app: &TestApp, key: &str, query: &str) -> (u16, Value) {
    let response = app
        .client
        .post(format!("{}/graphql", app.address))
        .header("X-API-Key", key)
        .json(&json!({ "query": query }))
        .send()
        .await
        .expect("request");
    (response.status().as_u16(), response.json().await.expect("json"))
}

#[tokio::test]
async fn admins_create_keys_that_are_shown_once_and_stored_hashed() {
    let app = spawn_app().await;
    let (owner, firm) = firm_at(&app, "it@optik.de", "Optik Jena GmbH", JENA).await;
    let member = app.register("azubi@optik.de").await;
    app.add_member(&owner, &firm, &member, "MEMBER").await;
    let outsider = app.register("fremd@example.de").await;

    let input = json!({ "input": { "organizationId": firm, "name": "Portal", "scope": "READ" } });
    let body = app.gql(Some(&member.access_token), CREATE_KEY, input.clone()).await;
    assert_error(&body, "FORBIDDEN", None);
    let body = app.gql(Some(&outsider.access_token), CREATE_KEY, input).await;
    assert_error(&body, "FORBIDDEN", None);
    let body = app
        .gql(
            Some(&owner.access_token),
            CREATE_KEY,
            json!({ "input": { "organizationId": firm, "name": " ", "scope": "READ" } }),
        )
        .await;
    assert_error(&body, "BAD_USER_INPUT", Some("input.name"));

    let (id, key) = create_key(&app, &owner, &firm, "READ").await;
    assert!(key.starts_with("bmk_") && key.len() > 40, "{key}");
    let listed = app
        .gql_ok(
            Some(&owner.access_token),
            "query($o: ID!) { apiKeys(organizationId: $o) { id prefix scope revokedAt } }",
            json!({ "o": firm }),
        )
        .await;
    assert_eq!(listed["apiKeys"][0]["id"], id.as_str());
    assert_eq!(listed["apiKeys"][0]["prefix"], &key[..12]);
    assert!(!listed.to_string().contains(&key), "the key is shown only once");

    // Only the SHA-256 is stored.
    use sea_orm::{ConnectionTrait, Statement};
    let db = app.db().await;
    let rows = db
        .query_all_raw(Statement::from_string(db.get_database_backend(), "SELECT key_hash FROM api_key"))
        .await
        .expect("select");
    let stored: Vec<String> = rows.iter().map(|r| r.try_get("", "key_hash").expect("hash")).collect();
    assert_eq!(stored, vec![hex::encode(Sha256::digest(key.as_bytes()))]);
}

#[tokio::test]
async fn a_read_key_reads_the_catalogue_and_cannot_write() {
    let app = spawn_app().await;
    let (owner, firm) = firm_at(&app, "it@optik.de", "Optik Jena GmbH", JENA).await;
    let (_, key) = create_key(&app, &owner, &firm, "READ").await;

    let (status, body) =
        with_key_header(&app, &key, "{ searchCourses(query: \"Schweißen\") { totalHits } }").await;
    assert_eq!(status, 200, "{body}");
    assert!(body["data"]["searchCourses"]["totalHits"].is_number(), "{body}");
    // Also as a bearer credential; it reads like an anonymous caller.
    let body = app.gql(Some(&key), "{ me { id } }", json!({})).await;
    assert_error(&body, "UNAUTHENTICATED", None);

    let body = app.gql(Some(&key), CREATE_ORGANIZATION, json!({})).await;
    assert_error(&body, "FORBIDDEN", None);
    // The same text sent before by another caller (parsed documents are kept) is refused all the same.
    let login = "mutation { login(input: { email: \"it@optik.de\", password: \"x\" }) { accessToken } }";
    let body = app.gql(None, login, json!({})).await;
    assert_ne!(crate::helpers::error_code(&body), "FORBIDDEN", "{body}");
    let (_, body) = with_key_header(&app, &key, login).await;
    assert_error(&body, "FORBIDDEN", None);

    let (status, body) = with_key_header(&app, "bmk_not-a-real-key", "{ skillCategories { id } }").await;
    assert_eq!(status, 401);
    assert_error(&body, "UNAUTHENTICATED", None);
}

#[tokio::test]
async fn an_organization_key_acts_for_its_organization_only_until_revoked() {
    let app = spawn_app().await;
    let (owner, firm) = firm_at(&app, "it@optik.de", "Optik Jena GmbH", JENA).await;
    let (other_owner, other_firm) = firm_at(&app, "hr@glas.de", "Glaswerk Jena", JENA).await;
    let (id, key) = create_key(&app, &owner, &firm, "ORGANIZATION").await;

    let data = app.gql_ok(Some(&key), CREATE_NEED, json!({ "f": firm, "input": need_input("PUBLIC") })).await;
    assert_eq!(data["createNeed"]["firm"]["id"], firm.as_str());
    let body =
        app.gql(Some(&key), CREATE_NEED, json!({ "f": other_firm, "input": need_input("PUBLIC") })).await;
    assert_error(&body, "FORBIDDEN", None);
    let body = app.gql(Some(&key), CREATE_ORGANIZATION, json!({})).await;
    assert_error(&body, "FORBIDDEN", None);
    let body = app
        .gql(
            Some(&key),
            CREATE_KEY,
            json!({ "input": { "organizationId": firm, "name": "Zweitschlüssel", "scope": "ORGANIZATION" } }),
        )
        .await;
    assert_error(&body, "FORBIDDEN", None);

    // Another organization's admin cannot even see the key.
    let body = app.gql(Some(&other_owner.access_token), REVOKE_KEY, json!({ "id": id })).await;
    assert_error(&body, "NOT_FOUND", None);

    let revoked = app.gql_ok(Some(&owner.access_token), REVOKE_KEY, json!({ "id": id })).await;
    assert!(revoked["revokeApiKey"]["revokedAt"].is_string());
    let (status, body) = with_key_header(&app, &key, "{ skillCategories { id } }").await;
    assert_eq!(status, 401);
    assert_error(&body, "UNAUTHENTICATED", None);
    let body = app.gql(Some(&owner.access_token), REVOKE_KEY, json!({ "id": id })).await;
    assert_error(&body, "CONFLICT", Some("id"));
}

/// POSTs an anonymous query, optionally with `X-Forwarded-For`; returns (status, Retry-After, body).
async fn anonymous(app: &TestApp, query: &str, forwarded_for: Option<&str>) -> (u16, Option<u64>, Value) {
    let mut request = app.client.post(format!("{}/graphql", app.address)).json(&json!({ "query": query }));
    if let Some(address) = forwarded_for {
        request = request.header("X-Forwarded-For", address);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let retry_after =
        response.headers().get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
    (status, retry_after, response.json().await.expect("json"))
}

const COSTLY: &str =
    "{ a: skillCategories { id label } b: skillCategories { id label } c: skillCategories { id label } }";

/// Sends [`COSTLY`] until the rate limit answers; returns how many passed and the refusal.
async fn exhaust(app: &TestApp, forwarded_for: Option<&str>) -> (usize, u64, Value) {
    for passed in 0..2_000 {
        let (status, retry_after, body) = anonymous(app, COSTLY, forwarded_for).await;
        if status == 429 {
            return (passed, retry_after.expect("Retry-After header"), body);
        }
        assert!(body.get("errors").is_none(), "{body}");
    }
    panic!("2000 queries passed a quota of 600 per minute");
}

#[tokio::test]
async fn rate_limits_charge_query_cost_per_caller() {
    let app = spawn_app_with(|s| {
        s.limits.max_complexity = 600;
        s.limits.rate_anonymous_per_min = 600;
        s.limits.rate_user_per_min = 1_200;
        s.limits.rate_api_key_per_min = 60_000;
    })
    .await;
    let (owner, firm) = firm_at(&app, "it@optik.de", "Optik Jena GmbH", JENA).await;
    let (_, key) = create_key(&app, &owner, &firm, "READ").await;
    let started = std::time::Instant::now();
    let (passed, retry_after, body) = exhaust(&app, None).await;
    let refilled = (started.elapsed().as_secs_f64() * 10.0).ceil() as u64;
    assert_error(&body, "RATE_LIMITED", None);
    let cost = body["errors"][0]["extensions"]["cost"].as_u64().expect("cost");
    assert!(cost >= 6, "three lists of two fields cost more than one unit: {body}");
    // The bucket held one minute of quota (less the set-up above), plus what refilled meanwhile.
    let spent = passed as u64 * cost;
    assert!(spent >= 500 && spent <= 600 + refilled + cost, "{passed} × {cost}, {refilled} refilled");
    assert_eq!(body["errors"][0]["extensions"]["retryAfter"].as_u64(), Some(retry_after));
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    // Without trusted proxies, X-Forwarded-For is ignored: the peer address is charged.
    let (status, _, _) = anonymous(&app, COSTLY, Some("198.51.100.23")).await;
    assert_eq!(status, 429);

    // A signed-in user and an API key have buckets of their own.
    app.gql_ok(Some(&owner.access_token), COSTLY, json!({})).await;
    for _ in 0..50 {
        app.gql_ok(Some(&key), COSTLY, json!({})).await;
    }

    // Behind one trusted proxy, each client address counts on its own.
    let proxied = spawn_app_with(|s| {
        s.limits.max_complexity = 600;
        s.limits.rate_anonymous_per_min = 600;
        s.limits.trusted_proxy_hops = 1;
    })
    .await;
    exhaust(&proxied, Some("198.51.100.23")).await;
    let (status, _, body) = anonymous(&proxied, COSTLY, Some("203.0.113.5, 198.51.100.24")).await;
    assert_eq!(status, 200, "{body}");
}
