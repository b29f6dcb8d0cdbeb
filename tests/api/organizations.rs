//! Organizations and membership rules, including every forbidden case.

use serde_json::{Value, json};

use crate::helpers::{Account, TestApp, assert_error, spawn_app};

const UPDATE: &str = "mutation($id: ID!, $v: Int!, $input: UpdateOrganizationInput!) {
    updateOrganization(id: $id, expectedVersion: $v, input: $input) { name version description } }";
const REMOVE: &str =
    "mutation($org: ID!, $user: ID!) { removeMember(organizationId: $org, userId: $user) { role } }";
const CHANGE: &str = "mutation($org: ID!, $user: ID!, $role: MembershipRole!) {
    changeMemberRole(organizationId: $org, userId: $user, role: $role) { role } }";
const ORG: &str = "query($id: ID!) { organization(id: $id) { name version viewerRole employeeCount members { role user { email } } } }";

async fn version(app: &TestApp, token: &str, org: &str) -> i64 {
    let data = app.gql_ok(Some(token), ORG, json!({ "id": org })).await;
    data["organization"]["version"].as_i64().expect("version")
}

pub async fn roles(app: &TestApp, token: &str, org: &str) -> Vec<(String, String)> {
    let data = app.gql_ok(Some(token), ORG, json!({ "id": org })).await;
    let mut roles: Vec<(String, String)> = data["organization"]["members"]
        .as_array()
        .expect("members")
        .iter()
        .map(|m| {
            (
                m["user"]["email"].as_str().unwrap_or_default().to_owned(),
                m["role"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    roles.sort();
    roles
}

/// An organization with an owner, an admin, a member and an outsider.
pub struct Team {
    pub org: String,
    pub owner: Account,
    pub admin: Account,
    pub member: Account,
    pub outsider: Account,
}

pub async fn team(app: &TestApp) -> Team {
    let owner = app.register("owner@firma.de").await;
    let admin = app.register("admin@firma.de").await;
    let member = app.register("member@firma.de").await;
    let outsider = app.register("outsider@andere.de").await;
    let org = app.create_organization(&owner, "FIRM", "Optik Müller GmbH").await;
    assert_eq!(app.add_member(&owner, &org, &admin, "ADMIN").await["role"], "ADMIN");
    assert_eq!(app.add_member(&owner, &org, &member, "MEMBER").await["role"], "MEMBER");
    Team { org, owner, admin, member, outsider }
}

#[tokio::test]
async fn create_organization_makes_the_caller_owner_and_derives_a_unique_slug() {
    let app = spawn_app().await;
    let owner = app.register("inhaber@optik.de").await;
    let input = json!({
        "kind": "FIRM", "name": "Optik Müller & Söhne GmbH", "description": "Feinoptik aus **Jena**",
        "website": "https://optik-mueller.example", "employeeCount": 42,
        "address": { "street": "Carl-Zeiss-Straße 1", "postalCode": "07743", "city": "Jena", "bundesland": "THUERINGEN" },
        "location": { "lat": 50.9271, "lng": 11.5892 }
    });
    let query = "mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) {
        id kind name slug version verified viewerRole employeeCount
        address { city postalCode bundesland country } location { lat lng } members { role user { email } } } }";
    let data = app.gql_ok(Some(&owner.access_token), query, json!({ "input": input })).await;
    let org = &data["createOrganization"];
    assert_eq!(org["slug"], "optik-mueller-soehne-gmbh");
    assert_eq!(org["kind"], "FIRM");
    assert_eq!(org["version"], 1);
    assert_eq!(org["verified"], false);
    assert_eq!(org["viewerRole"], "OWNER");
    assert_eq!(org["employeeCount"], 42);
    assert_eq!(
        org["address"],
        json!({ "city": "Jena", "postalCode": "07743", "bundesland": "THUERINGEN", "country": "DE" })
    );
    assert_eq!(org["location"]["lat"], 50.9271);
    assert_eq!(org["members"], json!([{ "role": "OWNER", "user": { "email": "inhaber@optik.de" } }]));

    // Same name again: a free slug is derived; an explicitly taken slug is a conflict.
    let again = app.gql_ok(Some(&owner.access_token), query, json!({ "input": input })).await;
    assert_eq!(again["createOrganization"]["slug"], "optik-mueller-soehne-gmbh-2");
    let mut explicit = input.clone();
    explicit["slug"] = json!("optik-mueller-soehne-gmbh");
    let body = app.gql(Some(&owner.access_token), query, json!({ "input": explicit })).await;
    assert_error(&body, "CONFLICT", Some("input.slug"));

    let by_slug =
        app.gql_ok(None, "{ organization(slug: \"optik-mueller-soehne-gmbh\") { name } }", json!({})).await;
    assert_eq!(by_slug["organization"]["name"], "Optik Müller & Söhne GmbH");
}

#[tokio::test]
async fn create_organization_needs_a_login() {
    let app = spawn_app().await;
    let body = app
        .gql(
            None,
            "mutation { createOrganization(input: { kind: PROVIDER, name: \"Anonym\" }) { id } }",
            json!({}),
        )
        .await;
    assert_error(&body, "UNAUTHENTICATED", None);
    let list = app.gql_ok(None, "{ organizations { edges { cursor } } }", json!({})).await;
    assert_eq!(list["organizations"]["edges"], json!([]));
}

#[tokio::test]
async fn bad_organization_input_names_the_field_and_writes_nothing() {
    let app = spawn_app().await;
    let owner = app.register("x@example.de").await;
    let cases = [
        (json!({ "kind": "FIRM", "name": "A" }), "input.name"),
        (json!({ "kind": "FIRM", "name": "Gute Firma", "website": "ftp://x" }), "input.website"),
        (json!({ "kind": "FIRM", "name": "Gute Firma", "slug": "Nicht Gut" }), "input.slug"),
        (
            json!({ "kind": "FIRM", "name": "Gute Firma", "address": { "postalCode": "0774" } }),
            "input.address.postalCode",
        ),
        (
            json!({ "kind": "FIRM", "name": "Gute Firma", "address": { "country": "Deutschland" } }),
            "input.address.country",
        ),
        (
            json!({ "kind": "FIRM", "name": "Gute Firma", "address": { "country": "AT", "bundesland": "BAYERN" } }),
            "input.address.bundesland",
        ),
        (
            json!({ "kind": "FIRM", "name": "Gute Firma", "location": { "lat": 91.0, "lng": 11.0 } }),
            "input.location.lat",
        ),
        (
            json!({ "kind": "FIRM", "name": "Gute Firma", "location": { "lat": 50.0, "lng": -181.0 } }),
            "input.location.lng",
        ),
        (json!({ "kind": "FIRM", "name": "Gute Firma", "employeeCount": 0 }), "input.employeeCount"),
        (json!({ "kind": "PROVIDER", "name": "Guter Anbieter", "employeeCount": 10 }), "input.employeeCount"),
        (json!({ "kind": "FIRM", "name": "Gute Firma", "azavCertified": true }), "input.azavCertified"),
    ];
    for (input, field) in cases {
        let body = app
            .gql(
                Some(&owner.access_token),
                "mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { id } }",
                json!({ "input": input }),
            )
            .await;
        assert_error(&body, "BAD_USER_INPUT", Some(field));
    }
    let list = app.gql_ok(None, "{ organizations { edges { cursor } } }", json!({})).await;
    assert_eq!(list["organizations"]["edges"], json!([]), "nothing half-written");
}

#[tokio::test]
async fn non_members_see_public_fields_only() {
    let app = spawn_app().await;
    let t = team(&app).await;
    app.gql_ok(
        Some(&t.owner.access_token),
        UPDATE,
        json!({ "id": t.org, "v": version(&app, &t.owner.access_token, &t.org).await, "input": { "employeeCount": 12 } }),
    )
    .await;

    let member_view = app.gql_ok(Some(&t.member.access_token), ORG, json!({ "id": t.org })).await;
    assert_eq!(member_view["organization"]["viewerRole"], "MEMBER");
    assert_eq!(member_view["organization"]["employeeCount"], 12);
    assert_eq!(member_view["organization"]["members"].as_array().map(Vec::len), Some(3));

    for token in [Some(t.outsider.access_token.as_str()), None] {
        let view = app.gql_ok(token, ORG, json!({ "id": t.org })).await;
        assert_eq!(view["organization"]["name"], "Optik Müller GmbH");
        assert_eq!(view["organization"]["viewerRole"], Value::Null);
        assert_eq!(view["organization"]["employeeCount"], Value::Null);
        assert_eq!(view["organization"]["members"], Value::Null);
    }
}

#[tokio::test]
async fn update_organization_checks_role_and_version() {
    let app = spawn_app().await;
    let t = team(&app).await;
    let v = version(&app, &t.owner.access_token, &t.org).await;

    for (who, label) in [(&t.member, "member"), (&t.outsider, "outsider")] {
        let body = app
            .gql(
                Some(&who.access_token),
                UPDATE,
                json!({ "id": t.org, "v": v, "input": { "name": "Gekapert" } }),
            )
            .await;
        assert_error(&body, "FORBIDDEN", None);
        assert_eq!(version(&app, &t.owner.access_token, &t.org).await, v, "{label} changed nothing");
    }
    let body = app.gql(None, UPDATE, json!({ "id": t.org, "v": v, "input": { "name": "Gekapert" } })).await;
    assert_error(&body, "UNAUTHENTICATED", None);

    let data = app
        .gql_ok(
            Some(&t.admin.access_token),
            UPDATE,
            json!({ "id": t.org, "v": v, "input": { "description": "Neu" } }),
        )
        .await;
    assert_eq!(data["updateOrganization"]["version"], v + 1);
    assert_eq!(data["updateOrganization"]["description"], "Neu");

    // The owner edits based on the old version: detected, nothing overwritten.
    let stale = app
        .gql(
            Some(&t.owner.access_token),
            UPDATE,
            json!({ "id": t.org, "v": v, "input": { "description": "Alt" } }),
        )
        .await;
    assert_error(&stale, "CONFLICT", Some("expectedVersion"));
    let view = app
        .gql_ok(
            Some(&t.owner.access_token),
            "query($id: ID!) { organization(id: $id) { description } }",
            json!({ "id": t.org }),
        )
        .await;
    assert_eq!(view["organization"]["description"], "Neu");

    let bad = app
        .gql(
            Some(&t.owner.access_token),
            UPDATE,
            json!({ "id": t.org, "v": v + 1, "input": { "website": "nope" } }),
        )
        .await;
    assert_error(&bad, "BAD_USER_INPUT", Some("input.website"));
    let unknown = app
        .gql(
            Some(&t.owner.access_token),
            UPDATE,
            json!({ "id": uuid::Uuid::now_v7().to_string(), "v": 1, "input": {} }),
        )
        .await;
    assert_error(&unknown, "NOT_FOUND", None);
}

#[tokio::test]
async fn remove_member_rules() {
    let app = spawn_app().await;
    let t = team(&app).await;
    let remove = |by: &Account, user: &Account| {
        let token = by.access_token.clone();
        let vars = json!({ "org": t.org, "user": user.id });
        let app = &app;
        async move { app.gql(Some(&token), REMOVE, vars).await }
    };

    assert_error(&remove(&t.member, &t.admin).await, "FORBIDDEN", None);
    assert_error(&remove(&t.outsider, &t.member).await, "FORBIDDEN", None);
    assert_error(&remove(&t.admin, &t.owner).await, "FORBIDDEN", None);
    assert_error(&remove(&t.owner, &t.outsider).await, "NOT_FOUND", None);
    assert_error(&remove(&t.owner, &t.owner).await, "CONFLICT", Some("userId"));
    assert_eq!(roles(&app, &t.owner.access_token, &t.org).await.len(), 3);

    // A member may leave; an admin removes a member.
    assert_eq!(remove(&t.member, &t.member).await["data"]["removeMember"]["role"], "MEMBER");
    let again = app.register("zweiter@firma.de").await;
    app.add_member(&t.owner, &t.org, &again, "MEMBER").await;
    assert_eq!(remove(&t.admin, &again).await["data"]["removeMember"]["role"], "MEMBER");
    assert_eq!(
        roles(&app, &t.owner.access_token, &t.org).await,
        vec![("admin@firma.de".into(), "ADMIN".into()), ("owner@firma.de".into(), "OWNER".into())]
    );
}

#[tokio::test]
async fn change_member_role_rules_and_the_last_owner() {
    let app = spawn_app().await;
    let t = team(&app).await;
    let change = |by: &Account, user: &Account, role: &str| {
        let token = by.access_token.clone();
        let vars = json!({ "org": t.org, "user": user.id, "role": role });
        let app = &app;
        async move { app.gql(Some(&token), CHANGE, vars).await }
    };

    assert_error(&change(&t.member, &t.member, "ADMIN").await, "FORBIDDEN", None);
    assert_error(&change(&t.outsider, &t.member, "ADMIN").await, "FORBIDDEN", None);
    assert_error(&change(&t.admin, &t.member, "OWNER").await, "FORBIDDEN", None);
    assert_error(&change(&t.admin, &t.owner, "MEMBER").await, "FORBIDDEN", None);
    assert_error(&change(&t.owner, &t.owner, "ADMIN").await, "CONFLICT", Some("userId"));
    assert_error(&change(&t.owner, &t.outsider, "ADMIN").await, "NOT_FOUND", None);

    assert_eq!(change(&t.admin, &t.member, "ADMIN").await["data"]["changeMemberRole"]["role"], "ADMIN");
    // With a second owner the first may step down.
    assert_eq!(change(&t.owner, &t.admin, "OWNER").await["data"]["changeMemberRole"]["role"], "OWNER");
    assert_eq!(change(&t.owner, &t.owner, "MEMBER").await["data"]["changeMemberRole"]["role"], "MEMBER");
    assert_eq!(
        roles(&app, &t.admin.access_token, &t.org).await,
        vec![
            ("admin@firma.de".into(), "OWNER".into()),
            ("member@firma.de".into(), "ADMIN".into()),
            ("owner@firma.de".into(), "MEMBER".into())
        ]
    );
    assert_error(&change(&t.admin, &t.admin, "MEMBER").await, "CONFLICT", Some("userId"));
}

#[tokio::test]
async fn two_owners_demoting_each_other_at_once_leave_one_owner() {
    let app = spawn_app().await;
    let t = team(&app).await;
    let vars = json!({ "org": t.org, "user": t.admin.id, "role": "OWNER" });
    app.gql_ok(Some(&t.owner.access_token), CHANGE, vars).await;

    for _ in 0..3 {
        let a = app.gql(
            Some(&t.owner.access_token),
            CHANGE,
            json!({ "org": t.org, "user": t.admin.id, "role": "MEMBER" }),
        );
        let b = app.gql(
            Some(&t.admin.access_token),
            CHANGE,
            json!({ "org": t.org, "user": t.owner.id, "role": "MEMBER" }),
        );
        let (a, b) = tokio::join!(a, b);
        let succeeded = [&a, &b].iter().filter(|r| r.get("errors").is_none()).count();
        assert_eq!(succeeded, 1, "exactly one demotion wins: {a} / {b}");
        let loser = if a.get("errors").is_some() { &a } else { &b };
        assert!(["CONFLICT", "FORBIDDEN"].contains(&crate::helpers::error_code(loser)), "{loser}");
        let current = roles(&app, &t.member.access_token, &t.org).await;
        let owners: Vec<_> = current.iter().filter(|(_, r)| r == "OWNER").collect();
        assert_eq!(owners.len(), 1, "{current:?}");
        // Restore two owners for the next round.
        let owner_email = &owners[0].0;
        let (promoter, other) =
            if owner_email == &t.owner.email { (&t.owner, &t.admin) } else { (&t.admin, &t.owner) };
        app.gql_ok(
            Some(&promoter.access_token),
            CHANGE,
            json!({ "org": t.org, "user": other.id, "role": "OWNER" }),
        )
        .await;
    }
}

#[tokio::test]
async fn organizations_paginate_and_filter_by_kind() {
    let app = spawn_app().await;
    let owner = app.register("viele@example.de").await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let kind = if i % 2 == 0 { "PROVIDER" } else { "FIRM" };
        ids.push(app.create_organization(&owner, kind, &format!("Organisation {i}")).await);
    }
    let query = "query($first: Int, $after: String, $kind: OrganizationKind) {
        organizations(first: $first, after: $after, kind: $kind) {
            edges { cursor node { id kind } } pageInfo { hasNextPage hasPreviousPage endCursor } } }";
    let page1 = app.gql_ok(None, query, json!({ "first": 2 })).await;
    let conn = &page1["organizations"];
    assert_eq!(conn["edges"].as_array().map(Vec::len), Some(2));
    assert_eq!(conn["edges"][0]["node"]["id"], ids[0].as_str());
    assert_eq!(conn["pageInfo"]["hasNextPage"], true);
    assert_eq!(conn["pageInfo"]["hasPreviousPage"], false);

    let page2 = app.gql_ok(None, query, json!({ "first": 10, "after": conn["pageInfo"]["endCursor"] })).await;
    let rest: Vec<&str> = page2["organizations"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .filter_map(|e| e["node"]["id"].as_str())
        .collect();
    assert_eq!(rest, ids[2..].iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(page2["organizations"]["pageInfo"]["hasNextPage"], false);

    let providers = app.gql_ok(None, query, json!({ "kind": "PROVIDER" })).await;
    let kinds: Vec<&str> = providers["organizations"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .filter_map(|e| e["node"]["kind"].as_str())
        .collect();
    assert_eq!(kinds, vec!["PROVIDER"; 3]);

    for (vars, field) in [
        (json!({ "first": 0 }), "first"),
        (json!({ "first": 101 }), "first"),
        (json!({ "after": "kaputt" }), "after"),
    ] {
        assert_error(&app.gql(None, query, vars).await, "BAD_USER_INPUT", Some(field));
    }
}

#[tokio::test]
async fn unknown_and_malformed_ids() {
    let app = spawn_app().await;
    let unknown = app.gql(None, ORG, json!({ "id": uuid::Uuid::now_v7().to_string() })).await;
    assert_error(&unknown, "NOT_FOUND", None);
    let malformed = app.gql(None, ORG, json!({ "id": "123" })).await;
    assert_error(&malformed, "BAD_USER_INPUT", Some("id"));
    let neither = app.gql(None, "{ organization { name } }", json!({})).await;
    assert_error(&neither, "BAD_USER_INPUT", Some("id"));
    let slug = app.gql(None, "{ organization(slug: \"gibt-es-nicht\") { name } }", json!({})).await;
    assert_error(&slug, "NOT_FOUND", None);
}

#[tokio::test]
async fn only_platform_admins_verify_organizations() {
    let app = spawn_app().await;
    let t = team(&app).await;
    let query = "mutation($id: ID!) { setOrganizationVerified(id: $id, verified: true) { verified } }";
    let body = app.gql(Some(&t.owner.access_token), query, json!({ "id": t.org })).await;
    assert_error(&body, "FORBIDDEN", None);

    let operator = app.register("betrieb@bildungsmarkt.de").await;
    api::service::accounts::create_admin(&app.db().await, &operator.email, None, None).await.expect("admin");
    let data = app.gql_ok(Some(&operator.access_token), query, json!({ "id": t.org })).await;
    assert_eq!(data["setOrganizationVerified"]["verified"], true);
}
