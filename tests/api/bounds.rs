//! List arguments the database could not take: each one is bounded, and one value over the bound is
//! `BAD_USER_INPUT` naming the field and the bound (issue 13, item 7).

use api::service::validate::bounds::*;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_error, spawn_app};

/// Who sends the operation.
#[derive(Clone, Copy)]
enum As {
    Anonymous,
    Member,
    PlatformAdmin,
}

struct ListCase {
    field: &'static str,
    bound: usize,
    caller: As,
    /// The operation; `$list` is the list argument (its element type in the signature).
    query: &'static str,
    /// `n` values of the list.
    values: fn(usize) -> Value,
}

fn ids(n: usize) -> Value {
    json!((0..n).map(|i| format!("unknown/skill-{i}")).collect::<Vec<_>>())
}

fn words(n: usize) -> Value {
    json!((0..n).map(|i| format!("wort{i}")).collect::<Vec<_>>())
}

fn repeated(value: Value) -> impl Fn(usize) -> Value {
    move |n| Value::Array(vec![value.clone(); n])
}

fn cases() -> Vec<ListCase> {
    const COURSES: &str = "query($list: [String!]!) { courses(filter: {skillIds: $list}) { nodes { id } } }";
    vec![
        ListCase { field: "filter.skillIds", bound: FILTER_SKILLS, caller: As::Anonymous, query: COURSES, values: ids },
        ListCase {
            field: "filter.formats",
            bound: ENUM_VALUES,
            caller: As::Anonymous,
            query: "query($list: [CourseFormat!]!) { courses(filter: {formats: $list}) { nodes { id } } }",
            values: |n| repeated(json!("ONLINE"))(n),
        },
        ListCase {
            field: "filter.dqrLevels",
            bound: DQR_LEVELS,
            caller: As::Anonymous,
            query: "query($list: [Int!]!) { courses(filter: {dqrLevels: $list}) { nodes { id } } }",
            values: |n| repeated(json!(5))(n),
        },
        ListCase {
            field: "filter.languages",
            bound: LANGUAGES,
            caller: As::Anonymous,
            query: "query($list: [String!]!) { courses(filter: {languages: $list}) { nodes { id } } }",
            values: |n| repeated(json!("de"))(n),
        },
        ListCase {
            field: "filter.skillIds",
            bound: FILTER_SKILLS,
            caller: As::Member,
            query: "query($list: [String!]!) { needs(filter: {skillIds: $list}) { nodes { id } } }",
            values: ids,
        },
        ListCase {
            field: "filter.bundeslaender",
            bound: ENUM_VALUES,
            caller: As::Member,
            query: "query($list: [Bundesland!]!) { needs(filter: {bundeslaender: $list}) { nodes { id } } }",
            values: |n| repeated(json!("BAYERN"))(n),
        },
        ListCase {
            field: "filter.statuses",
            bound: ENUM_VALUES,
            caller: As::Member,
            query: "query($list: [NeedStatus!]!) { needs(filter: {statuses: $list}) { nodes { id } } }",
            values: |n| repeated(json!("OPEN"))(n),
        },
        ListCase {
            field: "filter.funding",
            bound: ENUM_VALUES,
            caller: As::Anonymous,
            query: "query($list: [FundingOption!]!) { searchCourses(filter: {funding: $list}) { totalHits } }",
            values: |n| repeated(json!("QCG"))(n),
        },
        ListCase {
            field: "filter.skills",
            bound: FILTER_SKILLS,
            caller: As::Anonymous,
            query: "query($list: [String!]!) { searchCourses(filter: {skills: $list}) { totalHits } }",
            values: ids,
        },
        ListCase {
            field: "input.keywords",
            bound: KEYWORDS,
            caller: As::Member,
            query: "mutation($provider: ID!, $list: [String!]!) {
                createCourse(providerId: $provider, input: {title: \"Schweißen MAG\", keywords: $list}) { id } }",
            values: words,
        },
        ListCase {
            field: "input.skillIds",
            bound: COURSE_SKILLS,
            caller: As::Member,
            query: "mutation($provider: ID!, $list: [String!]!) {
                createCourse(providerId: $provider, input: {title: \"Schweißen MAG\", skillIds: $list}) { id } }",
            values: ids,
        },
        ListCase {
            field: "input.skills",
            bound: NEED_SKILLS,
            caller: As::Member,
            query: "mutation($firm: ID!, $list: [NeedSkillInput!]!) {
                createNeed(firmId: $firm, input: {title: \"SPS für die Instandhaltung\", skills: $list}) { id } }",
            values: |n| {
                json!((0..n).map(|i| json!({ "skillId": format!("s/{i}"), "importance": "MUST" })).collect::<Vec<_>>())
            },
        },
        ListCase {
            field: "input.fundingWanted",
            bound: ENUM_VALUES,
            caller: As::Member,
            query: "mutation($firm: ID!, $list: [FundingOption!]!) {
                createNeed(firmId: $firm, input: {title: \"SPS für die Instandhaltung\", fundingWanted: $list}) { id } }",
            values: |n| repeated(json!("QCG"))(n),
        },
        ListCase {
            field: "input.eventTypes",
            bound: ENUM_VALUES,
            caller: As::Member,
            query: "mutation($firm: ID!, $list: [WebhookEventType!]!) {
                createWebhookEndpoint(input: {organizationId: $firm, url: \"http://localhost:9/hook\", eventTypes: $list}) { secret } }",
            values: |n| repeated(json!("NEED_JOINED"))(n),
        },
        ListCase {
            field: "input.synonyms",
            bound: SYNONYMS,
            caller: As::PlatformAdmin,
            query: "mutation($list: [String!]!) {
                createSkill(input: {category: \"it\", label: \"Kubernetes-Betrieb\", synonyms: $list}) { id } }",
            values: words,
        },
    ]
}

struct Callers {
    member: String,
    admin: String,
    provider: String,
    firm: String,
}

async fn callers(app: &TestApp) -> Callers {
    let member = app.register("listen@example.de").await;
    let provider = app.create_organization(&member, "PROVIDER", "Listen Bildung GmbH").await;
    let firm = app.create_organization(&member, "FIRM", "Listen Maschinenbau GmbH").await;
    let db = app.db().await;
    api::service::accounts::create_admin(
        &db,
        "admin@example.de",
        Some(crate::helpers::PASSWORD.into()),
        None,
    )
    .await
    .expect("create admin");
    let login = app
        .gql_ok(
            None,
            "mutation($e: String!, $p: String!) { login(input: {email: $e, password: $p}) { accessToken } }",
            json!({ "e": "admin@example.de", "p": crate::helpers::PASSWORD }),
        )
        .await;
    let admin = login["login"]["accessToken"].as_str().expect("admin token").to_owned();
    Callers { member: member.access_token, admin, provider, firm }
}

async fn send(app: &TestApp, callers: &Callers, case: &ListCase, n: usize) -> Value {
    let token = match case.caller {
        As::Anonymous => None,
        As::Member => Some(callers.member.as_str()),
        As::PlatformAdmin => Some(callers.admin.as_str()),
    };
    let variables = json!({ "list": (case.values)(n), "provider": callers.provider, "firm": callers.firm });
    app.gql(token, case.query, variables).await
}

#[tokio::test]
async fn one_value_over_a_lists_bound_is_bad_input_on_that_field() {
    let app = spawn_app().await;
    let callers = callers(&app).await;
    for case in cases() {
        let body = send(&app, &callers, &case, case.bound + 1).await;
        assert_error(&body, "BAD_USER_INPUT", Some(case.field));
        let message = body["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(message.contains(&format!("at most {}", case.bound)), "{}: {message}", case.field);
        // At the bound the list is accepted: whatever else is said, it is not about its length.
        let body = send(&app, &callers, &case, case.bound).await;
        let message = body["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(!message.contains("at most"), "{} at its bound: {body}", case.field);
    }
}

/// What was found from outside: 40 000 skill ids ended in "too many SQL variables".
#[tokio::test]
async fn forty_thousand_skill_ids_are_bad_input_not_a_database_error() {
    let app = spawn_app().await;
    let callers = callers(&app).await;
    let courses = &cases()[0];
    let needs = cases().into_iter().find(|c| c.query.contains("needs(")).expect("needs case");
    for case in [courses, &needs] {
        let body = send(&app, &callers, case, 40_000).await;
        assert_error(&body, "BAD_USER_INPUT", Some("filter.skillIds"));
    }
    let data = app.gql_ok(None, "{ courses(filter: {skillIds: []}) { nodes { id } } }", json!({})).await;
    assert!(data["courses"]["nodes"].is_array(), "the server still serves: {data}");
}
