//! register, login, refresh, logout, me.

use serde_json::json;

use crate::helpers::{PASSWORD, assert_error, spawn_app};

const REGISTER: &str = "mutation($input: RegisterInput!) { register(input: $input) { accessToken tokenType expiresIn refreshToken user { id email displayName isPlatformAdmin } } }";
const LOGIN: &str = "mutation($email: String!, $password: String!) {
    login(input: { email: $email, password: $password }) { accessToken refreshToken user { id } } }";
const REFRESH: &str =
    "mutation($token: String!) { refreshToken(refreshToken: $token) { accessToken refreshToken } }";
const ME: &str = "{ me { id email displayName memberships { role organization { name } } } }";

#[tokio::test]
async fn register_returns_a_working_session_with_a_normalised_email() {
    let app = spawn_app().await;
    let data = app
        .gql_ok(
            None,
            REGISTER,
            json!({ "input": { "email": "  Anna.Schmidt@Example.DE ", "password": PASSWORD, "displayName": " Anna Schmidt " } }),
        )
        .await;
    let payload = &data["register"];
    assert_eq!(payload["user"]["email"], "anna.schmidt@example.de");
    assert_eq!(payload["user"]["displayName"], "Anna Schmidt");
    assert_eq!(payload["user"]["isPlatformAdmin"], false);
    assert_eq!(payload["tokenType"], "Bearer");
    assert_eq!(payload["expiresIn"], 900);

    let token = payload["accessToken"].as_str().expect("token");
    let me = app.gql_ok(Some(token), ME, json!({})).await;
    assert_eq!(me["me"]["id"], payload["user"]["id"]);
    assert_eq!(me["me"]["memberships"], json!([]));
}

#[tokio::test]
async fn duplicate_email_is_a_conflict_whatever_its_case() {
    let app = spawn_app().await;
    app.register("anna@example.de").await;
    let body = app
        .gql(
            None,
            REGISTER,
            json!({ "input": { "email": "ANNA@example.de", "password": PASSWORD, "displayName": "Anna" } }),
        )
        .await;
    assert_error(&body, "CONFLICT", Some("email"));
}

#[tokio::test]
async fn bad_registration_input_names_the_field_and_writes_nothing() {
    let app = spawn_app().await;
    let cases = [
        (json!({ "email": "not-an-email", "password": PASSWORD, "displayName": "A" }), "email"),
        (json!({ "email": "a@b", "password": PASSWORD, "displayName": "A" }), "email"),
        (json!({ "email": "short@example.de", "password": "kurz", "displayName": "A" }), "password"),
        (json!({ "email": "empty@example.de", "password": PASSWORD, "displayName": "   " }), "displayName"),
    ];
    for (input, field) in cases {
        let body = app.gql(None, REGISTER, json!({ "input": input })).await;
        assert_error(&body, "BAD_USER_INPUT", Some(field));
    }
    // None of them left an account behind: the emails are still free.
    app.register("short@example.de").await;
    app.register("empty@example.de").await;
}

#[tokio::test]
async fn login_succeeds_and_failures_look_the_same() {
    let app = spawn_app().await;
    let account = app.register("bernd@example.de").await;
    let data = app.gql_ok(None, LOGIN, json!({ "email": "Bernd@Example.de", "password": PASSWORD })).await;
    assert_eq!(data["login"]["user"]["id"], account.id.as_str());

    let wrong_password =
        app.gql(None, LOGIN, json!({ "email": "bernd@example.de", "password": "falsches-passwort" })).await;
    let unknown_email =
        app.gql(None, LOGIN, json!({ "email": "niemand@example.de", "password": PASSWORD })).await;
    assert_error(&wrong_password, "UNAUTHENTICATED", None);
    assert_error(&unknown_email, "UNAUTHENTICATED", None);
    assert_eq!(wrong_password["errors"][0]["message"], unknown_email["errors"][0]["message"]);
}

#[tokio::test]
async fn refresh_rotates_and_the_old_token_stops_working() {
    let app = spawn_app().await;
    let account = app.register("clara@example.de").await;
    let first = app.gql_ok(None, REFRESH, json!({ "token": account.refresh_token })).await;
    let next_refresh = first["refreshToken"]["refreshToken"].as_str().expect("refresh").to_owned();
    assert_ne!(next_refresh, account.refresh_token);
    let access = first["refreshToken"]["accessToken"].as_str().expect("access");
    let me = app.gql_ok(Some(access), ME, json!({})).await;
    assert_eq!(me["me"]["email"], "clara@example.de");

    let second = app.gql_ok(None, REFRESH, json!({ "token": next_refresh })).await;
    assert!(second["refreshToken"]["refreshToken"].is_string());
}

#[tokio::test]
async fn reusing_a_refresh_token_revokes_the_whole_family() {
    let app = spawn_app().await;
    let account = app.register("dora@example.de").await;
    let rotated = app.gql_ok(None, REFRESH, json!({ "token": account.refresh_token })).await;
    let successor = rotated["refreshToken"]["refreshToken"].as_str().expect("refresh").to_owned();

    // The old token again: theft is assumed, and the legitimate successor dies with it.
    let reuse = app.gql(None, REFRESH, json!({ "token": account.refresh_token })).await;
    assert_error(&reuse, "UNAUTHENTICATED", None);
    let after = app.gql(None, REFRESH, json!({ "token": successor })).await;
    assert_error(&after, "UNAUTHENTICATED", None);

    // Another login is a separate family and unaffected.
    let login = app.gql_ok(None, LOGIN, json!({ "email": "dora@example.de", "password": PASSWORD })).await;
    let fresh = login["login"]["refreshToken"].as_str().expect("refresh");
    app.gql_ok(None, REFRESH, json!({ "token": fresh })).await;
}

#[tokio::test]
async fn logout_revokes_the_refresh_token() {
    let app = spawn_app().await;
    let account = app.register("emil@example.de").await;
    let data = app
        .gql_ok(
            None,
            "mutation($t: String!) { logout(refreshToken: $t) }",
            json!({ "t": account.refresh_token }),
        )
        .await;
    assert_eq!(data["logout"], true);
    let body = app.gql(None, REFRESH, json!({ "token": account.refresh_token })).await;
    assert_error(&body, "UNAUTHENTICATED", None);
    let again = app
        .gql_ok(
            None,
            "mutation($t: String!) { logout(refreshToken: $t) }",
            json!({ "t": account.refresh_token }),
        )
        .await;
    assert_eq!(again["logout"], true, "logout stays idempotent for a known token");
    let unknown = app.gql_ok(None, "mutation { logout(refreshToken: \"unknown\") }", json!({})).await;
    assert_eq!(unknown["logout"], false);
}

#[tokio::test]
async fn garbage_refresh_tokens_are_unauthenticated() {
    let app = spawn_app().await;
    for token in ["", "nonsense", &"x".repeat(5000)] {
        let body = app.gql(None, REFRESH, json!({ "token": token })).await;
        assert_error(&body, "UNAUTHENTICATED", None);
    }
}

#[tokio::test]
async fn me_needs_a_token() {
    let app = spawn_app().await;
    let body = app.gql(None, ME, json!({})).await;
    assert_error(&body, "UNAUTHENTICATED", None);
    assert!(body["errors"][0]["extensions"]["requestId"].is_string());
}

#[tokio::test]
async fn create_admin_grants_the_platform_admin_role() {
    let app = spawn_app().await;
    let account = app.register("admin@example.de").await;
    let db = app.db().await;
    api::service::accounts::create_admin(&db, "Admin@Example.de", None, None).await.expect("grant admin");
    let me = app.gql_ok(Some(&account.access_token), "{ me { isPlatformAdmin } }", json!({})).await;
    assert_eq!(me["me"]["isPlatformAdmin"], true);

    // A new account needs a password; with one it is created as admin and can log in.
    assert!(api::service::accounts::create_admin(&db, "neu@example.de", None, None).await.is_err());
    api::service::accounts::create_admin(&db, "neu@example.de", Some(PASSWORD.into()), None)
        .await
        .expect("create admin");
    let login = app.gql_ok(None, LOGIN, json!({ "email": "neu@example.de", "password": PASSWORD })).await;
    assert!(login["login"]["accessToken"].is_string());
}

#[tokio::test]
async fn repeated_failed_sign_ins_are_throttled_per_account() {
    let app = spawn_app().await;
    let victim = app.register("opfer@firma.de").await;
    let other = app.register("andere@firma.de").await;
    for _ in 0..5 {
        let body =
            app.gql(None, LOGIN, json!({ "email": victim.email, "password": "falsch-falsch-1" })).await;
        assert_error(&body, "UNAUTHENTICATED", None);
    }
    // Blocked now, even with the right password; the client learns how long to wait.
    let body = app.gql(None, LOGIN, json!({ "email": victim.email, "password": PASSWORD })).await;
    assert_error(&body, "RATE_LIMITED", None);
    let retry = body["errors"][0]["extensions"]["retryAfter"].as_u64().expect("retryAfter");
    assert!((1..=60).contains(&retry), "{body}");
    // Another account from the same address still signs in (the address limit is higher), and
    // its success does not unblock the first.
    app.gql_ok(None, LOGIN, json!({ "email": other.email, "password": PASSWORD })).await;
    let body = app.gql(None, LOGIN, json!({ "email": victim.email, "password": PASSWORD })).await;
    assert_error(&body, "RATE_LIMITED", None);
}
