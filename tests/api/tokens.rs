//! Access tokens that are not ours, not yet or no longer valid are rejected with UNAUTHENTICATED.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::helpers::{JWT_SECRET, TestApp, assert_error, spawn_app};

fn claims(sub: &str) -> Value {
    let now = Utc::now().timestamp();
    json!({ "iss": "bildungsmarkt", "aud": "bildungsmarkt-api", "sub": sub, "exp": now + 600, "iat": now, "nbf": now, "jti": "t" })
}

fn sign(claims: &Value, secret: &str, algorithm: Algorithm) -> String {
    jsonwebtoken::encode(&Header::new(algorithm), claims, &EncodingKey::from_secret(secret.as_bytes()))
        .expect("sign")
}

async fn assert_rejected(app: &TestApp, token: &str, case: &str) {
    let response = app
        .client
        .post(format!("{}/graphql", app.address))
        .bearer_auth(token)
        .json(&json!({ "query": "{ me { id } }" }))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status().as_u16(), 401, "{case}");
    let body: Value = response.json().await.expect("json");
    assert_error(&body, "UNAUTHENTICATED", None);
    assert!(body.get("data").is_none() || body["data"].is_null(), "{case}: {body}");
}

#[tokio::test]
async fn a_self_signed_token_with_our_secret_is_accepted() {
    // The control case: the forgeries below differ from this in one respect each.
    let app = spawn_app().await;
    let account = app.register("ok@example.de").await;
    let token = sign(&claims(&account.id), JWT_SECRET, Algorithm::HS256);
    let me = app.gql_ok(Some(&token), "{ me { id } }", json!({})).await;
    assert_eq!(me["me"]["id"], account.id.as_str());
}

#[tokio::test]
async fn forged_expired_and_foreign_tokens_are_rejected() {
    let app = spawn_app().await;
    let account = app.register("victim@example.de").await;
    let sub = account.id.as_str();
    let now = Utc::now().timestamp();

    let mut expired = claims(sub);
    expired["exp"] = json!(now - 3600);
    expired["iat"] = json!(now - 7200);
    expired["nbf"] = json!(now - 7200);
    assert_rejected(&app, &sign(&expired, JWT_SECRET, Algorithm::HS256), "expired").await;

    let mut wrong_audience = claims(sub);
    wrong_audience["aud"] = json!("another-api");
    assert_rejected(&app, &sign(&wrong_audience, JWT_SECRET, Algorithm::HS256), "wrong audience").await;

    let mut wrong_issuer = claims(sub);
    wrong_issuer["iss"] = json!("evil");
    assert_rejected(&app, &sign(&wrong_issuer, JWT_SECRET, Algorithm::HS256), "wrong issuer").await;

    let mut not_yet = claims(sub);
    not_yet["nbf"] = json!(now + 3600);
    assert_rejected(&app, &sign(&not_yet, JWT_SECRET, Algorithm::HS256), "not yet valid").await;

    let mut missing_nbf = claims(sub);
    missing_nbf.as_object_mut().expect("object").remove("nbf");
    assert_rejected(&app, &sign(&missing_nbf, JWT_SECRET, Algorithm::HS256), "missing nbf").await;

    assert_rejected(
        &app,
        &sign(&claims(sub), "some-other-secret-of-decent-length", Algorithm::HS256),
        "foreign key",
    )
    .await;
    assert_rejected(&app, &sign(&claims(sub), JWT_SECRET, Algorithm::HS512), "other algorithm").await;

    // alg: none, unsigned.
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims(sub).to_string());
    assert_rejected(&app, &format!("{header}.{payload}."), "alg none").await;

    // A valid token with its payload changed (another subject) but the old signature.
    let valid = account.access_token.clone();
    let parts: Vec<&str> = valid.split('.').collect();
    let mut tampered_claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).expect("payload")).expect("claims");
    tampered_claims["sub"] = json!(uuid::Uuid::now_v7().to_string());
    let tampered =
        format!("{}.{}.{}", parts[0], URL_SAFE_NO_PAD.encode(tampered_claims.to_string()), parts[2]);
    assert_rejected(&app, &tampered, "tampered payload").await;

    assert_rejected(&app, "not.a.jwt", "garbage").await;
}

#[tokio::test]
async fn a_malformed_authorization_header_is_rejected() {
    let app = spawn_app().await;
    let response = app
        .client
        .post(format!("{}/graphql", app.address))
        .header("Authorization", "Basic dXNlcjpwYXNz")
        .json(&json!({ "query": "{ organizations { edges { cursor } } }" }))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status().as_u16(), 401);
    let body: Value = response.json().await.expect("json");
    assert_error(&body, "UNAUTHENTICATED", None);
}
