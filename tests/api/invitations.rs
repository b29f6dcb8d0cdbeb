//! Invitations: the same answer for every email, membership only by consent, expiry, revocation.

use chrono::{Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use crate::helpers::{Account, TestApp, assert_error, spawn_app};
use crate::organizations::{roles, team};

const INVITE: &str = "mutation($org: ID!, $email: String!, $role: MembershipRole!) {
    inviteMember(organizationId: $org, email: $email, role: $role) {
        id email role status createdAt expiresAt respondedAt organization { name } } }";
const ACCEPT: &str =
    "mutation($id: ID!) { acceptInvitation(id: $id) { role user { email } organization { name } } }";
const DECLINE: &str = "mutation($id: ID!) { declineInvitation(id: $id) { status respondedAt } }";
const REVOKE: &str = "mutation($id: ID!) { revokeInvitation(id: $id) { status } }";
const MINE: &str = "{ myInvitations { id role status organization { name } } }";
const LISTED: &str = "query($id: ID!) { organization(id: $id) { invitations { id email role status } } }";

async fn invite(app: &TestApp, by: &Account, org: &str, email: &str, role: &str) -> Value {
    app.gql(Some(&by.access_token), INVITE, json!({ "org": org, "email": email, "role": role })).await
}

async fn invited(app: &TestApp, by: &Account, org: &str, email: &str, role: &str) -> String {
    let body = invite(app, by, org, email, role).await;
    body["data"]["inviteMember"]["id"].as_str().unwrap_or_else(|| panic!("invitation: {body}")).to_owned()
}

async fn answer(app: &TestApp, who: &Account, mutation: &str, id: &str) -> Value {
    app.gql(Some(&who.access_token), mutation, json!({ "id": id })).await
}

/// The organization's invitations but those the team's admin and member accepted to join.
async fn listed(app: &TestApp, admin: &Account, org: &str) -> Value {
    let data = app.gql_ok(Some(&admin.access_token), LISTED, json!({ "id": org })).await;
    let team = ["admin@firma.de", "member@firma.de"];
    let all = data["organization"]["invitations"].as_array().expect("invitations").clone();
    Value::Array(all.into_iter().filter(|i| !team.iter().any(|e| i["email"] == *e)).collect())
}

/// The answer without what differs by construction (id, email, clock).
fn shape(mut body: Value) -> Value {
    let invitation = &mut body["data"]["inviteMember"];
    for field in ["id", "email", "createdAt", "expiresAt"] {
        assert!(invitation[field].is_string(), "{field} in {invitation}");
        invitation[field] = Value::Null;
    }
    body
}

#[tokio::test]
async fn inviting_an_existing_or_an_unknown_email_answers_alike() {
    let app = spawn_app().await;
    let t = team(&app).await;
    app.register("vorhanden@firma.de").await;
    let existing = invite(&app, &t.owner, &t.org, "vorhanden@firma.de", "MEMBER").await;
    let unknown = invite(&app, &t.owner, &t.org, "niemand@firma.de", "MEMBER").await;
    assert_eq!(shape(existing.clone()), shape(unknown.clone()));
    let invitation = &existing["data"]["inviteMember"];
    assert_eq!(invitation["status"], "PENDING");
    assert_eq!(invitation["respondedAt"], Value::Null);
    assert_eq!(invitation["organization"]["name"], "Optik Müller GmbH");
    let created: chrono::DateTime<Utc> =
        invitation["createdAt"].as_str().expect("createdAt").parse().expect("time");
    let expires: chrono::DateTime<Utc> =
        invitation["expiresAt"].as_str().expect("expiresAt").parse().expect("time");
    assert_eq!((expires - created).num_days(), 14);
    // Nobody became a member by being invited.
    assert_eq!(roles(&app, &t.owner.access_token, &t.org).await.len(), 3);
}

#[tokio::test]
async fn accepting_makes_the_invited_person_a_member_with_the_role() {
    let app = spawn_app().await;
    let t = team(&app).await;
    let before = app
        .gql_ok(
            Some(&t.owner.access_token),
            "query($id: ID!) { organization(id: $id) { version } }",
            json!({ "id": t.org }),
        )
        .await;
    // Invited before the account exists, in another case than it registers with.
    let id = invited(&app, &t.admin, &t.org, "NEU@Firma.de", "ADMIN").await;
    let newcomer = app.register("neu@firma.de").await;
    let mine = app.gql_ok(Some(&newcomer.access_token), MINE, json!({})).await;
    assert_eq!(
        mine["myInvitations"],
        json!([{ "id": id, "role": "ADMIN", "status": "PENDING", "organization": { "name": "Optik Müller GmbH" } }])
    );
    let others = app.gql_ok(Some(&t.outsider.access_token), MINE, json!({})).await;
    assert_eq!(others["myInvitations"], json!([]));

    let accepted = answer(&app, &newcomer, ACCEPT, &id).await;
    assert_eq!(
        accepted["data"]["acceptInvitation"],
        json!({ "role": "ADMIN", "user": { "email": "neu@firma.de" }, "organization": { "name": "Optik Müller GmbH" } })
    );
    assert!(
        roles(&app, &t.owner.access_token, &t.org).await.contains(&("neu@firma.de".into(), "ADMIN".into()))
    );
    let after = app
        .gql_ok(
            Some(&t.owner.access_token),
            "query($id: ID!) { organization(id: $id) { version } }",
            json!({ "id": t.org }),
        )
        .await;
    assert_eq!(
        after["organization"]["version"].as_i64(),
        before["organization"]["version"].as_i64().map(|v| v + 1)
    );
    assert_eq!(app.gql_ok(Some(&newcomer.access_token), MINE, json!({})).await["myInvitations"], json!([]));
    assert_eq!(
        listed(&app, &t.owner, &t.org).await,
        json!([{ "id": id, "email": "neu@firma.de", "role": "ADMIN", "status": "ACCEPTED" }])
    );
    // Once is enough; a new invitation of a member is refused.
    assert_error(&answer(&app, &newcomer, ACCEPT, &id).await, "CONFLICT", None);
    assert_error(&invite(&app, &t.owner, &t.org, "neu@firma.de", "MEMBER").await, "CONFLICT", Some("email"));
}

#[tokio::test]
async fn declined_revoked_and_expired_invitations_cannot_be_accepted() {
    let app = spawn_app().await;
    let t = team(&app).await;
    let person = app.register("person@andere.de").await;
    let declined = invited(&app, &t.owner, &t.org, &person.email, "MEMBER").await;
    let body = answer(&app, &person, DECLINE, &declined).await;
    assert_eq!(body["data"]["declineInvitation"]["status"], "DECLINED", "{body}");
    assert!(body["data"]["declineInvitation"]["respondedAt"].is_string());
    assert_error(&answer(&app, &person, ACCEPT, &declined).await, "CONFLICT", None);

    let revoked = invited(&app, &t.owner, &t.org, &person.email, "MEMBER").await;
    assert_ne!(revoked, declined, "a declined invitation is not reopened");
    let body = answer(&app, &t.admin, REVOKE, &revoked).await;
    assert_eq!(body["data"]["revokeInvitation"]["status"], "REVOKED", "{body}");
    assert_error(&answer(&app, &person, ACCEPT, &revoked).await, "CONFLICT", None);
    assert_error(&answer(&app, &t.admin, REVOKE, &revoked).await, "CONFLICT", None);

    let expired = invited(&app, &t.owner, &t.org, &person.email, "MEMBER").await;
    let id: uuid::Uuid = expired.parse().expect("uuid");
    entity::invitation::Entity::update_many()
        .col_expr(entity::invitation::Column::ExpiresAt, Expr::value(Utc::now() - Duration::minutes(1)))
        .filter(entity::invitation::Column::Id.eq(id))
        .exec(&app.db().await)
        .await
        .expect("expire the invitation");
    assert_eq!(app.gql_ok(Some(&person.access_token), MINE, json!({})).await["myInvitations"], json!([]));
    assert_error(&answer(&app, &person, ACCEPT, &expired).await, "CONFLICT", None);
    assert_error(&answer(&app, &person, DECLINE, &expired).await, "CONFLICT", None);

    let statuses: Vec<Value> = listed(&app, &t.owner, &t.org)
        .await
        .as_array()
        .expect("list")
        .iter()
        .map(|i| i["status"].clone())
        .collect();
    assert_eq!(statuses, vec![json!("EXPIRED"), json!("REVOKED"), json!("DECLINED")], "newest first");
    assert_eq!(roles(&app, &t.owner.access_token, &t.org).await.len(), 3, "nobody joined");
}

#[tokio::test]
async fn only_owners_and_admins_invite_and_only_owners_invite_owners() {
    let app = spawn_app().await;
    let t = team(&app).await;
    assert_error(&invite(&app, &t.member, &t.org, "x@firma.de", "MEMBER").await, "FORBIDDEN", None);
    assert_error(&invite(&app, &t.outsider, &t.org, "x@firma.de", "MEMBER").await, "FORBIDDEN", None);
    assert_error(&invite(&app, &t.admin, &t.org, "x@firma.de", "OWNER").await, "FORBIDDEN", None);
    assert_error(&invite(&app, &t.owner, &t.org, "kaputt", "MEMBER").await, "BAD_USER_INPUT", Some("email"));
    assert_error(
        &invite(&app, &t.owner, "kein-id", "x@firma.de", "MEMBER").await,
        "BAD_USER_INPUT",
        Some("organizationId"),
    );
    let unknown_org = uuid::Uuid::now_v7().to_string();
    assert_error(&invite(&app, &t.owner, &unknown_org, "x@firma.de", "MEMBER").await, "NOT_FOUND", None);
    assert_eq!(listed(&app, &t.owner, &t.org).await, json!([]), "no refused invitation was written");

    let owner_invitation = invited(&app, &t.owner, &t.org, "chef@firma.de", "OWNER").await;
    assert_error(&answer(&app, &t.admin, REVOKE, &owner_invitation).await, "FORBIDDEN", None);
    assert_error(&answer(&app, &t.member, REVOKE, &owner_invitation).await, "FORBIDDEN", None);
    // Inviting the same address again renews the open invitation instead of adding one.
    let again = invited(&app, &t.owner, &t.org, "chef@firma.de", "ADMIN").await;
    assert_eq!(again, owner_invitation);
    assert_eq!(
        listed(&app, &t.owner, &t.org).await,
        json!([{ "id": again, "email": "chef@firma.de", "role": "ADMIN", "status": "PENDING" }])
    );
    // Members and strangers do not see the list.
    for who in [&t.member, &t.outsider] {
        let body = app.gql_ok(Some(&who.access_token), LISTED, json!({ "id": t.org })).await;
        assert_eq!(body["organization"]["invitations"], Value::Null);
    }
    assert_error(&app.gql(None, MINE, json!({})).await, "UNAUTHENTICATED", None);
}

#[tokio::test]
async fn an_invitation_to_someone_else_is_not_found() {
    let app = spawn_app().await;
    let t = team(&app).await;
    let invitee = app.register("eingeladen@andere.de").await;
    let id = invited(&app, &t.owner, &t.org, &invitee.email, "ADMIN").await;
    for who in [&t.outsider, &t.member, &t.owner] {
        assert_error(&answer(&app, who, ACCEPT, &id).await, "NOT_FOUND", None);
        assert_error(&answer(&app, who, DECLINE, &id).await, "NOT_FOUND", None);
    }
    assert_error(&answer(&app, &invitee, ACCEPT, "kein-id").await, "BAD_USER_INPUT", Some("id"));
    assert_error(&answer(&app, &invitee, ACCEPT, &uuid::Uuid::now_v7().to_string()).await, "NOT_FOUND", None);
    assert_eq!(listed(&app, &t.owner, &t.org).await[0]["status"], "PENDING");
    assert_eq!(answer(&app, &invitee, ACCEPT, &id).await["data"]["acceptInvitation"]["role"], "ADMIN");
}
