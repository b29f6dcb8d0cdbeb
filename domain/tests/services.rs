//! The services on their own: no HTTP, no GraphQL — an `AppState` over a fresh SQLite database and
//! an embedded index, and the calls a resolver would make.

use std::sync::Arc;

use domain::config::Settings;
use domain::context::AppState;
use domain::error::{ApiError, Code};
use domain::search::embedded::EmbeddedIndex;
use domain::service::accounts::{self, NewUser};
use domain::service::needs::{self, NeedFields, NeedLocation};
use domain::service::organizations::{self, NewOrganization, OrganizationPatch};
use domain::service::{offers, pooling};
use entity::need_skill::SkillImportance;
use entity::organization::{Bundesland, OrganizationKind};
use entity::qualification_need::NeedStatus;
use uuid::Uuid;

struct Fixture {
    state: AppState,
    _dir: tempfile::TempDir,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("services.db").display());
    let settings = Settings {
        data_dir: dir.path().to_owned(),
        database_url: Some(secrecy::SecretString::from(url.clone())),
        ..Default::default()
    };
    let db = domain::db::connect(&settings.database_url(), "test database", settings.db_acquire_timeout())
        .await
        .expect("connect");
    domain::db::migrate(&db).await.expect("migrate");
    domain::seed::skills::ensure(&db).await.expect("skills");
    let index = EmbeddedIndex::open(&dir.path().join("search-index")).expect("index");
    let state = AppState::new(db, settings, Arc::new(index)).expect("state");
    Fixture { state, _dir: dir }
}

async fn person(state: &AppState, email: &str) -> Uuid {
    let user =
        NewUser { email: email.into(), password: "ein langes Passwort".into(), display_name: "Test".into() };
    let session = accounts::register(state, &state.jwt, 3600, user, None, 0).await.expect("register");
    session.user.id
}

async fn firm(state: &AppState, owner: Uuid, name: &str) -> Uuid {
    let input = NewOrganization {
        kind: OrganizationKind::Firm,
        name: name.into(),
        slug: None,
        description: None,
        website: None,
        address: None,
        location: Some((50.93, 11.59)),
        employee_count: Some(40),
        azav_certified: None,
    };
    organizations::create(state, owner, input).await.expect("organization").id
}

fn need_fields() -> NeedFields {
    NeedFields {
        title: Some("Schweißen für Einsteiger".into()),
        skills: Some(vec![("metal/mag-schweissen".into(), SkillImportance::Must)]),
        participants: Some(3),
        location: Some(NeedLocation {
            postal_code: Some("07743".into()),
            city: Some("Jena".into()),
            bundesland: Some(Bundesland::Thueringen),
            location: Some((50.93, 11.59)),
        }),
        poolable: Some(true),
        ..Default::default()
    }
}

fn code(result: Result<impl std::fmt::Debug, ApiError>) -> (Code, Option<String>) {
    let err = result.expect_err("an error");
    (err.code(), err.field().map(str::to_owned))
}

#[tokio::test]
async fn a_taken_email_is_a_conflict_on_the_email_field() {
    let f = fixture().await;
    person(&f.state, "hr@firma.de").await;
    let again = NewUser {
        email: "HR@firma.de".into(),
        password: "ein langes Passwort".into(),
        display_name: "X".into(),
    };
    let result = accounts::register(&f.state, &f.state.jwt, 3600, again, None, 0).await.map(|s| s.user.id);
    assert_eq!(code(result), (Code::Conflict, Some("email".into())));
}

#[tokio::test]
async fn a_stale_version_is_a_conflict_and_changes_nothing() {
    let f = fixture().await;
    let owner = person(&f.state, "chefin@firma.de").await;
    let org = firm(&f.state, owner, "Laborbedarf Jena").await;
    let patch = || OrganizationPatch { description: Some("Neu".into()), ..Default::default() };
    let updated = organizations::update(&f.state, owner, org, 1, patch()).await.expect("update");
    assert_eq!(updated.version, 2);
    let stale = organizations::update(&f.state, owner, org, 1, patch()).await.map(|o| o.id);
    assert_eq!(code(stale).0, Code::Conflict);
    let current = organizations::find(&f.state.db, org).await.expect("find");
    assert_eq!(current.version, 2);
}

#[tokio::test]
async fn a_need_opens_only_with_a_must_skill_and_the_pool_sees_it_from_then_on() {
    let f = fixture().await;
    let owner = person(&f.state, "hr@feinoptik.de").await;
    let owner_firm = firm(&f.state, owner, "Feinoptik Jena").await;
    let partner = person(&f.state, "hr@glaswerk.de").await;
    let partner_firm = firm(&f.state, partner, "Glaswerk Jena").await;

    let without_must = NeedFields { skills: Some(Vec::new()), ..need_fields() };
    let draft = needs::create(&f.state, owner, owner_firm, without_must).await.expect("draft");
    let refused = needs::change_status(&f.state, owner, draft.id, draft.version, NeedStatus::Open).await;
    assert_eq!(code(refused.map(|n| n.id)).0, Code::BadUserInput);

    let need = needs::create(&f.state, owner, owner_firm, need_fields()).await.expect("need");
    // A draft is the firm's own: others do not find it.
    assert_eq!(code(needs::visible(&f.state, partner, need.id).await.map(|n| n.id)).0, Code::NotFound);
    let open =
        needs::change_status(&f.state, owner, need.id, need.version, NeedStatus::Open).await.expect("open");

    let joined = pooling::join(&f.state, partner, open.id, partner_firm, 2, None).await.expect("join");
    assert_eq!(joined.pool.len(), 1);
    let pool = needs::pool_firms(&f.state.db, &joined.need).await.expect("pool");
    assert!(needs::in_pool(&[partner_firm], &pool));
    assert!(!needs::in_pool(&[Uuid::now_v7()], &pool));
    // Joining twice is refused, naming the firm.
    let twice = pooling::join(&f.state, partner, open.id, partner_firm, 2, None).await.map(|c| c.need.id);
    assert_eq!(code(twice), (Code::Conflict, Some("organizationId".into())));
    // The partner firm sees the need; a provider sees no offers it did not make.
    assert_eq!(needs::visible(&f.state, partner, open.id).await.expect("visible").id, open.id);
    let none = offers::of_needs(&f.state, &[open.id]).await.expect("offers");
    assert!(none.is_empty());
}
