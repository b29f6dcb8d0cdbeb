//! register, login, refresh, logout, me.

use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, assert_error, error_code, spawn_app, spawn_app_with};

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

/// A GraphQL POST as if from `address` behind one trusted proxy; the HTTP status and the body.
async fn gql_from(
    app: &TestApp,
    address: &str,
    token: Option<&str>,
    query: &str,
    variables: Value,
) -> (u16, Value) {
    app.post_graphql(token, query, variables, &[("X-Forwarded-For", address)]).await
}

async fn behind_a_proxy() -> TestApp {
    spawn_app_with(|s| s.limits.trusted_proxy_hops = 1).await
}

#[tokio::test]
async fn a_stranger_cannot_lock_the_owner_out() {
    let app = behind_a_proxy().await;
    let owner = app.register("inhaberin@firma.de").await;
    let mut answers = Vec::new();
    for _ in 0..10 {
        let (_, body) = gql_from(
            &app,
            "203.0.113.7",
            None,
            LOGIN,
            json!({ "email": owner.email, "password": "geraten-123" }),
        )
        .await;
        answers.push(error_code(&body).to_owned());
        if error_code(&body) == "RATE_LIMITED" {
            let retry = body["errors"][0]["extensions"]["retryAfter"].as_u64().expect("retryAfter");
            assert!((1..=15 * 60).contains(&retry), "{body}");
        }
    }
    assert_eq!(answers[..5], ["UNAUTHENTICATED"; 5], "{answers:?}");
    assert_eq!(answers[5..], ["RATE_LIMITED"; 5], "{answers:?}");
    // The stranger is slowed down, even with the right password; the owner elsewhere is not.
    let (status, body) =
        gql_from(&app, "203.0.113.7", None, LOGIN, json!({ "email": owner.email, "password": PASSWORD }))
            .await;
    assert_error(&body, "RATE_LIMITED", None);
    assert_eq!(status, 429);
    let (_, body) =
        gql_from(&app, "198.51.100.20", None, LOGIN, json!({ "email": owner.email, "password": PASSWORD }))
            .await;
    assert_eq!(body["data"]["login"]["user"]["id"], owner.id.as_str(), "{body}");
}

#[tokio::test]
async fn guesses_from_many_addresses_still_hit_a_ceiling_per_account() {
    let app = behind_a_proxy().await;
    let owner = app.register("ziel@firma.de").await;
    let guesses = (0..100).map(|i| {
        let address = format!("10.0.{}.{}", i / 200, i % 200 + 1);
        let app = &app;
        let email = owner.email.clone();
        async move {
            let (_, body) =
                gql_from(app, &address, None, LOGIN, json!({ "email": email, "password": "geraten-123" }))
                    .await;
            error_code(&body).to_owned()
        }
    });
    let codes = futures_util::future::join_all(guesses).await;
    assert!(codes.iter().all(|c| c == "UNAUTHENTICATED" || c == "RATE_LIMITED"), "{codes:?}");
    let (_, body) =
        gql_from(&app, "198.51.100.20", None, LOGIN, json!({ "email": owner.email, "password": PASSWORD }))
            .await;
    assert_error(&body, "RATE_LIMITED", None);
    assert!(body["errors"][0]["message"].as_str().is_some_and(|m| m.contains("sign-ins")), "{body}");
    // Other accounts are not affected.
    let other = app.register("andere@firma.de").await;
    let (_, body) =
        gql_from(&app, "198.51.100.20", None, LOGIN, json!({ "email": other.email, "password": PASSWORD }))
            .await;
    assert_eq!(body["data"]["login"]["user"]["id"], other.id.as_str(), "{body}");
}

#[tokio::test]
async fn registrations_are_throttled_per_client_address() {
    let app = spawn_app_with(|s| {
        s.limits.trusted_proxy_hops = 1;
        s.auth.registrations_per_hour = 3;
    })
    .await;
    let register =
        |email: &str| json!({ "input": { "email": email, "password": PASSWORD, "displayName": "Probe" } });
    let (_, first) = gql_from(&app, "203.0.113.9", None, REGISTER, register("eins@firma.de")).await;
    assert!(first["data"]["register"]["accessToken"].is_string(), "{first}");
    let (_, taken) = gql_from(&app, "203.0.113.9", None, REGISTER, register("eins@firma.de")).await;
    assert_error(&taken, "CONFLICT", Some("email"));
    // Invalid input is refused before it counts.
    let (_, invalid) = gql_from(&app, "203.0.113.9", None, REGISTER, register("kaputt")).await;
    assert_error(&invalid, "BAD_USER_INPUT", Some("email"));
    let (_, third) = gql_from(&app, "203.0.113.9", None, REGISTER, register("zwei@firma.de")).await;
    assert!(third["data"]["register"]["accessToken"].is_string(), "{third}");
    // The fourth attempt within the hour: whether the email is taken is no longer answered.
    for email in ["eins@firma.de", "drei@firma.de"] {
        let (status, body) = gql_from(&app, "203.0.113.9", None, REGISTER, register(email)).await;
        assert_error(&body, "RATE_LIMITED", None);
        assert_eq!(status, 429);
        let retry = body["errors"][0]["extensions"]["retryAfter"].as_u64().expect("retryAfter");
        assert!((3000..=3600).contains(&retry), "{body}");
    }
    let (_, elsewhere) = gql_from(&app, "198.51.100.20", None, REGISTER, register("drei@firma.de")).await;
    assert!(elsewhere["data"]["register"]["accessToken"].is_string(), "{elsewhere}");
}

#[tokio::test]
async fn the_token_of_a_deleted_account_is_unauthenticated_everywhere() {
    use sea_orm::EntityTrait;
    let app = spawn_app().await;
    let gone = app.register("geloescht@firma.de").await;
    let id: uuid::Uuid = gone.id.parse().expect("uuid");
    let deleted = entity::user::Entity::delete_by_id(id).exec(&app.db().await).await.expect("delete account");
    assert_eq!(deleted.rows_affected, 1);
    for query in [
        "{ skills { edges { node { id } } } }",
        ME,
        "mutation { createOrganization(input: { kind: FIRM, name: \"Geisterfirma\" }) { id } }",
    ] {
        let (status, body) = gql_from(&app, "127.0.0.1", Some(&gone.access_token), query, json!({})).await;
        assert_eq!(status, 401, "{query}: {body}");
        assert_error(&body, "UNAUTHENTICATED", None);
        assert!(body.get("data").is_none_or(Value::is_null), "{body}");
    }
    let list = app.gql_ok(None, "{ organizations { edges { node { name } } } }", json!({})).await;
    assert_eq!(list["organizations"]["edges"], json!([]));
}
