//! The demo marketplace from `api/seed/demo.json`: providers with published courses and dated
//! offerings, firms with needs, and a login for each organization.
//!
//! Deterministic and idempotent: every record's id derives from its keys (UUID v5), and a record that
//! exists is skipped, so seeding twice changes nothing. Offering dates count from the first day of the
//! month after seeding, so the demo always lies ahead.

use std::collections::HashSet;

use anyhow::{Context, bail};
use chrono::{Datelike, Duration, NaiveDate, Utc};
use entity::course::{
    self, CertificateType, CourseFormat, CourseSchedule, CourseStatus, FundingOption, VatTreatment,
};
use entity::membership::{self, MembershipRole};
use entity::need_skill::{self, SkillImportance};
use entity::organization::{self, Bundesland, OrganizationKind};
use entity::qualification_need::{self as need, NeedStatus, NeedVisibility};
use entity::{course_skill, offering, user};
use sea_orm::{
    ActiveEnum, ActiveModelTrait, ColumnTrait, DatabaseConnection, DatabaseTransaction, EntityTrait,
    QueryFilter, QuerySelect, Set,
};
use serde::Deserialize;
use uuid::Uuid;

use crate::auth::password;
use crate::db;
use crate::service::json_list;

const DEMO: &str = include_str!("../../seed/demo.json");
/// The password of every demo login (documented in the README).
pub const DEMO_PASSWORD: &str = "demo-passwort-2026";
/// The demo platform admin.
pub const DEMO_ADMIN: &str = "admin@demo.example";
const NAMESPACE: Uuid = Uuid::from_u128(0x6b1f_3c2e_8a4d_4e1b_9c0f_2d7e_5a8b_1c3d);

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Demo {
    providers: Vec<ProviderSeed>,
    course_templates: Vec<CourseTemplate>,
    #[serde(default)]
    firms: Vec<FirmSeed>,
    #[serde(default)]
    need_templates: Vec<NeedTemplate>,
}

#[derive(Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
struct Place {
    street: Option<String>,
    postal_code: String,
    city: String,
    bundesland: String,
    lat: f64,
    lng: f64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProviderSeed {
    slug: String,
    name: String,
    description: String,
    website: Option<String>,
    #[serde(flatten)]
    place: Place,
    #[serde(default)]
    azav_certified: bool,
    #[serde(default)]
    venues: Vec<Place>,
    courses: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CourseTemplate {
    key: String,
    title: String,
    subtitle: Option<String>,
    description: String,
    skills: Vec<String>,
    #[serde(default)]
    keywords: Vec<String>,
    dqr_level: Option<i16>,
    certificate_type: String,
    examining_body: Option<String>,
    #[serde(default)]
    zusatzqualifikation: bool,
    target_group: Option<String>,
    prerequisites: Option<String>,
    languages: Vec<String>,
    duration_hours: i32,
    format: String,
    schedule: String,
    price_cents: i64,
    #[serde(default)]
    vat_included: bool,
    #[serde(default)]
    funding: Vec<FundingOption>,
    #[serde(default)]
    azav_measure: bool,
    #[serde(default)]
    inhouse_possible: bool,
    min_participants: Option<i32>,
    max_participants: Option<i32>,
    #[serde(default)]
    rolling_start: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FirmSeed {
    slug: String,
    name: String,
    description: String,
    #[serde(flatten)]
    place: Place,
    employee_count: i32,
    needs: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NeedTemplate {
    key: String,
    title: String,
    description: String,
    must_skills: Vec<String>,
    #[serde(default)]
    nice_skills: Vec<String>,
    dqr_level: Option<i16>,
    participants: i32,
    max_distance_km: Option<i32>,
    #[serde(default)]
    online_acceptable: bool,
    schedule: Option<String>,
    budget_cents: Option<i64>,
    #[serde(default)]
    funding: Vec<FundingOption>,
    #[serde(default)]
    poolable: bool,
    visibility: String,
}

/// What a seeding run added.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    pub organizations: usize,
    pub users: usize,
    pub courses: usize,
    pub offerings: usize,
    pub needs: usize,
    /// Staff records of the demo firms, with assessments.
    pub staff: usize,
}

fn id(kind: &str, key: &str) -> Uuid {
    Uuid::new_v5(&NAMESPACE, format!("{kind}:{key}").as_bytes())
}

/// A stable small number from a key, for deterministic variety.
fn spread(key: &str, modulo: u64) -> u64 {
    key.bytes().fold(1469598103934665603_u64, |h, b| (h ^ b as u64).wrapping_mul(1099511628211)) % modulo
}

pub fn demo_email(slug: &str) -> String {
    format!("{slug}@demo.example")
}

fn enum_value<T>(field: &str, value: &str, parse: impl Fn(&str) -> Option<T>) -> anyhow::Result<T> {
    parse(value).with_context(|| format!("demo data: {field} {value:?} is unknown"))
}

fn bundesland(value: &str) -> anyhow::Result<Bundesland> {
    use Bundesland::*;
    enum_value("bundesland", value, |v| {
        Some(match v {
            "BADEN_WUERTTEMBERG" => BadenWuerttemberg,
            "BAYERN" => Bayern,
            "BERLIN" => Berlin,
            "BRANDENBURG" => Brandenburg,
            "BREMEN" => Bremen,
            "HAMBURG" => Hamburg,
            "HESSEN" => Hessen,
            "MECKLENBURG_VORPOMMERN" => MecklenburgVorpommern,
            "NIEDERSACHSEN" => Niedersachsen,
            "NORDRHEIN_WESTFALEN" => NordrheinWestfalen,
            "RHEINLAND_PFALZ" => RheinlandPfalz,
            "SAARLAND" => Saarland,
            "SACHSEN" => Sachsen,
            "SACHSEN_ANHALT" => SachsenAnhalt,
            "SCHLESWIG_HOLSTEIN" => SchleswigHolstein,
            "THUERINGEN" => Thueringen,
            _ => return None,
        })
    })
}

/// A database enum from its stored name: the demo file uses the same names (e.g. `IN_PERSON`).
fn stored<T: ActiveEnum<Value = String>>(field: &str, value: &str) -> anyhow::Result<T> {
    T::try_from_value(&value.to_owned())
        .map_err(|_| anyhow::anyhow!("demo data: {field} {value:?} is unknown"))
}

/// The id a seeded organization gets: from its slug.
pub fn organization_id(slug: &str) -> Uuid {
    id("organization", slug)
}

/// The id a seeded course gets: from its provider's slug and its template's key.
pub fn course_id(provider_slug: &str, key: &str) -> Uuid {
    id("course", &format!("{provider_slug}:{key}"))
}

/// Seeds the demo marketplace; a second run adds nothing.
pub async fn seed(db: &DatabaseConnection) -> anyhow::Result<Summary> {
    let mut summary = seed_catalogue(db, DEMO).await.context("seeding the shipped demo data")?;
    crate::seed::profiles::ensure(db).await?;
    summary.staff = crate::seed::profiles::demo_staff(db, DEMO).await.context("seeding the demo staff")?;
    Ok(summary)
}

/// Seeds a catalogue in the demo file's shape (`providers` and `courseTemplates`, optionally
/// `firms` and `needTemplates`), such as the relevance suite's; a second run adds nothing.
pub async fn seed_catalogue(db: &DatabaseConnection, json: &str) -> anyhow::Result<Summary> {
    let demo: Demo = serde_json::from_str(json).context("parsing the catalogue")?;
    let today = Utc::now().date_naive();
    let base = first_of_next_month(today);
    let password_hash = password::hash(DEMO_PASSWORD.to_owned())
        .await
        .map_err(|e| anyhow::anyhow!("hashing the demo password: {}", e.message()))?;

    let txn = db::begin_write(db).await?;
    let mut summary = Summary::default();
    let mut seeder = Seeder { txn: &txn, password_hash, summary: &mut summary };

    seeder.user(DEMO_ADMIN, "Demo-Plattformbetrieb", true).await?;
    let templates: std::collections::HashMap<&str, &CourseTemplate> =
        demo.course_templates.iter().map(|t| (t.key.as_str(), t)).collect();
    let need_templates: std::collections::HashMap<&str, &NeedTemplate> =
        demo.need_templates.iter().map(|t| (t.key.as_str(), t)).collect();

    for provider in &demo.providers {
        let org = seeder
            .organization(
                OrganizationKind::Provider,
                &provider.slug,
                &provider.name,
                &provider.description,
                provider.website.clone(),
                &provider.place,
                None,
                provider.azav_certified,
            )
            .await?;
        let venues: Vec<&Place> = std::iter::once(&provider.place).chain(provider.venues.iter()).collect();
        let mut courses = Vec::new();
        let mut offerings = Vec::new();
        let mut links = Vec::new();
        let wanted: Vec<Uuid> = provider.courses.iter().map(|k| course_id(&provider.slug, k)).collect();
        let existing = existing_ids::<course::Entity>(&txn, course::Column::Id, &wanted).await?;
        for key in &provider.courses {
            let template = templates
                .get(key.as_str())
                .with_context(|| format!("demo data: unknown course template {key}"))?;
            let course_key = format!("{}:{key}", provider.slug);
            let course_id = course_id(&provider.slug, key);
            if existing.contains(&course_id) {
                continue;
            }
            let (course, course_offerings) = build_course(template, &org, &course_key, &venues, base)?;
            links.extend(template.skills.iter().enumerate().map(|(position, skill)| {
                course_skill::ActiveModel {
                    course_id: Set(course_id),
                    skill_id: Set(skill.clone()),
                    position: Set(position as i32),
                    suggested: Set(false),
                }
            }));
            courses.push(course);
            offerings.extend(course_offerings);
        }
        let new_ids: Vec<Uuid> = courses
            .iter()
            .filter_map(|c| if let sea_orm::ActiveValue::Set(id) = &c.id { Some(*id) } else { None })
            .collect();
        crate::search::outbox::enqueue(&txn, new_ids)
            .await
            .map_err(|e| anyhow::anyhow!("{}", e.message()))?;
        seeder.summary.courses += courses.len();
        seeder.summary.offerings += offerings.len();
        insert_chunked::<course::Entity, _>(&txn, courses).await?;
        insert_chunked::<course_skill::Entity, _>(&txn, links).await?;
        insert_chunked::<offering::Entity, _>(&txn, offerings).await?;
    }

    for (index, firm) in demo.firms.iter().enumerate() {
        let org = seeder
            .organization(
                OrganizationKind::Firm,
                &firm.slug,
                &firm.name,
                &firm.description,
                None,
                &firm.place,
                Some(firm.employee_count),
                false,
            )
            .await?;
        let wanted: Vec<Uuid> =
            firm.needs.iter().map(|k| id("need", &format!("{}:{k}", firm.slug))).collect();
        let existing = existing_ids::<need::Entity>(&txn, need::Column::Id, &wanted).await?;
        for (position, key) in firm.needs.iter().enumerate() {
            let template = need_templates
                .get(key.as_str())
                .with_context(|| format!("demo data: unknown need template {key}"))?;
            let need_id = id("need", &format!("{}:{key}", firm.slug));
            if existing.contains(&need_id) {
                continue;
            }
            // Most needs are open; every seventh firm's second need is still a draft.
            let status = if position == 1 && index % 7 == 3 { NeedStatus::Draft } else { NeedStatus::Open };
            build_need(&txn, template, &org, need_id, status, base).await?;
            seeder.summary.needs += 1;
        }
    }
    txn.commit().await?;
    Ok(summary)
}

struct Seeder<'a> {
    txn: &'a DatabaseTransaction,
    password_hash: String,
    summary: &'a mut Summary,
}

impl Seeder<'_> {
    async fn user(&mut self, email: &str, name: &str, admin: bool) -> anyhow::Result<Uuid> {
        let user_id = id("user", email);
        if user::Entity::find_by_id(user_id).one(self.txn).await?.is_some() {
            return Ok(user_id);
        }
        if user::Entity::find().filter(user::Column::Email.eq(email)).one(self.txn).await?.is_some() {
            bail!("demo data: {email} already belongs to an account that is not the demo's");
        }
        let now = Utc::now();
        user::ActiveModel {
            id: Set(user_id),
            email: Set(email.to_owned()),
            password_hash: Set(self.password_hash.clone()),
            display_name: Set(name.to_owned()),
            is_platform_admin: Set(admin),
            created_at: Set(now),
            updated_at: Set(now),
            version: Set(1),
        }
        .insert(self.txn)
        .await?;
        self.summary.users += 1;
        Ok(user_id)
    }

    #[allow(clippy::too_many_arguments)]
    async fn organization(
        &mut self,
        kind: OrganizationKind,
        slug: &str,
        name: &str,
        description: &str,
        website: Option<String>,
        place: &Place,
        employee_count: Option<i32>,
        azav_certified: bool,
    ) -> anyhow::Result<organization::Model> {
        let org_id = id("organization", slug);
        if let Some(existing) = organization::Entity::find_by_id(org_id).one(self.txn).await? {
            return Ok(existing);
        }
        if organization::Entity::find()
            .filter(organization::Column::Slug.eq(slug))
            .one(self.txn)
            .await?
            .is_some()
        {
            bail!("demo data: the slug {slug} is taken by an organization that is not the demo's");
        }
        let owner = self.user(&demo_email(slug), &format!("Demo {name}"), false).await?;
        let now = Utc::now();
        let org = organization::ActiveModel {
            id: Set(org_id),
            kind: Set(kind),
            name: Set(name.to_owned()),
            slug: Set(slug.to_owned()),
            description: Set(description.to_owned()),
            website: Set(website),
            street: Set(place.street.clone()),
            postal_code: Set(Some(place.postal_code.clone())),
            city: Set(Some(place.city.clone())),
            bundesland: Set(Some(bundesland(&place.bundesland)?)),
            country: Set("DE".into()),
            latitude: Set(Some(place.lat)),
            longitude: Set(Some(place.lng)),
            employee_count: Set(employee_count),
            azav_certified: Set(azav_certified),
            verified: Set(true),
            created_at: Set(now),
            updated_at: Set(now),
            version: Set(1),
        }
        .insert(self.txn)
        .await?;
        membership::ActiveModel {
            id: Set(id("membership", slug)),
            organization_id: Set(org_id),
            user_id: Set(owner),
            role: Set(MembershipRole::Owner),
            created_at: Set(now),
        }
        .insert(self.txn)
        .await?;
        self.summary.organizations += 1;
        Ok(org)
    }
}

fn first_of_next_month(today: NaiveDate) -> NaiveDate {
    let (year, month) =
        if today.month() == 12 { (today.year() + 1, 1) } else { (today.year(), today.month() + 1) };
    NaiveDate::from_ymd_opt(year, month, 1).unwrap_or(today)
}

/// Keeps the published demo valid: funding options only where their conditions hold.
fn eligible_funding(template: &CourseTemplate, provider: &organization::Model) -> Vec<FundingOption> {
    template
        .funding
        .iter()
        .copied()
        .filter(|f| match f {
            FundingOption::Qcg => {
                provider.azav_certified && template.azav_measure && template.duration_hours > 120
            }
            FundingOption::Bildungsgutschein | FundingOption::Qualifizierungsgeld => {
                provider.azav_certified && template.azav_measure
            }
            FundingOption::AufstiegsBafoeg => {
                matches!(template.dqr_level, Some(5..=7)) && template.duration_hours >= 400
            }
            FundingOption::RegionalEsf | FundingOption::Bildungsurlaub => true,
        })
        .collect()
}

fn build_course(
    template: &CourseTemplate,
    provider: &organization::Model,
    course_key: &str,
    venues: &[&Place],
    base: NaiveDate,
) -> anyhow::Result<(course::ActiveModel, Vec<offering::ActiveModel>)> {
    let course_id = id("course", course_key);
    let format = stored::<CourseFormat>("format", &template.format)?;
    let schedule = stored::<CourseSchedule>("schedule", &template.schedule)?;
    let funding = eligible_funding(template, provider);
    let azav_number = funding
        .iter()
        .any(|f| {
            matches!(
                f,
                FundingOption::Qcg | FundingOption::Bildungsgutschein | FundingOption::Qualifizierungsgeld
            )
        })
        .then(|| {
            format!("{:03}/{:04}/{}", 900 + spread(course_key, 90), spread(course_key, 10_000), base.year())
        });
    let now = Utc::now();
    let course = course::ActiveModel {
        external_id: Set(None),
        import_hash: Set(None),
        classification: Set(None),
        id: Set(course_id),
        provider_id: Set(provider.id),
        status: Set(CourseStatus::Published),
        title: Set(template.title.clone()),
        subtitle: Set(template.subtitle.clone()),
        description: Set(template.description.clone()),
        keywords: Set(json_list::encode(&template.keywords)),
        dqr_level: Set(template.dqr_level),
        certificate_type: Set(stored::<CertificateType>("certificateType", &template.certificate_type)?),
        examining_body: Set(template.examining_body.clone()),
        zusatzqualifikation: Set(template.zusatzqualifikation),
        target_group: Set(template.target_group.clone()),
        prerequisites: Set(template.prerequisites.clone()),
        languages: Set(json_list::encode(&template.languages)),
        duration_hours: Set(Some(template.duration_hours)),
        format: Set(format),
        schedule: Set(schedule),
        price_cents: Set(Some(template.price_cents)),
        currency: Set("EUR".into()),
        vat: Set(if template.vat_included { VatTreatment::Included } else { VatTreatment::Exempt }),
        funding_options: Set(json_list::encode(&funding)),
        azav_measure_number: Set(azav_number),
        inhouse_possible: Set(template.inhouse_possible),
        min_participants: Set(template.min_participants),
        max_participants: Set(template.max_participants),
        rolling_start: Set(template.rolling_start),
        published_at: Set(Some(now)),
        created_at: Set(now),
        updated_at: Set(now),
        version: Set(1),
    };
    if template.rolling_start {
        return Ok((course, Vec::new()));
    }
    let hours_per_week = match schedule {
        CourseSchedule::FullTime => 40.0,
        CourseSchedule::PartTime => 20.0,
        CourseSchedule::ExtraOccupational => 8.0,
        CourseSchedule::SelfPaced => 10.0,
    };
    let length_days = ((template.duration_hours as f64 / hours_per_week) * 7.0).ceil() as i64;
    let seats = template.max_participants.unwrap_or(12);
    let runs = 1 + spread(course_key, 3);
    let offerings = (0..runs)
        .map(|run| {
            let run_key = format!("{course_key}:{run}");
            let start = base
                + Duration::weeks((spread(&run_key, 10) + run * 12) as i64)
                + Duration::days(spread(&run_key, 5) as i64);
            let online = format == CourseFormat::Online;
            let venue =
                venues[(run as usize + spread(course_key, venues.len() as u64) as usize) % venues.len()];
            let taken = spread(&format!("{run_key}:seats"), (seats as u64 / 2).max(1)) as i32;
            let now = Utc::now();
            Ok(offering::ActiveModel {
                external_id: Set(None),
                id: Set(id("offering", &run_key)),
                course_id: Set(course_id),
                start_date: Set(start),
                end_date: Set(start + Duration::days((length_days - 1).max(0))),
                signup_deadline: Set(Some(start - Duration::days(14))),
                rolling_start: Set(false),
                schedule_details: Set(Some(schedule_details(schedule).to_owned())),
                online: Set(online),
                street: Set(if online { None } else { venue.street.clone() }),
                postal_code: Set((!online).then(|| venue.postal_code.clone())),
                city: Set((!online).then(|| venue.city.clone())),
                bundesland: Set(if online { None } else { Some(bundesland(&venue.bundesland)?) }),
                latitude: Set((!online).then_some(venue.lat)),
                longitude: Set((!online).then_some(venue.lng)),
                seats_total: Set(seats),
                seats_available: Set(seats - taken),
                price_cents_override: Set(None),
                created_at: Set(now),
                updated_at: Set(now),
                version: Set(1),
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok((course, offerings))
}

fn schedule_details(schedule: CourseSchedule) -> &'static str {
    match schedule {
        CourseSchedule::FullTime => "Mo–Fr 8:00–16:00 Uhr",
        CourseSchedule::PartTime => "Mo–Fr 8:00–12:00 Uhr",
        CourseSchedule::ExtraOccupational => {
            "Di und Do 17:30–20:45 Uhr, jeden zweiten Samstag 8:00–15:00 Uhr"
        }
        CourseSchedule::SelfPaced => "Lernplattform rund um die Uhr, wöchentliche Live-Sprechstunde",
    }
}

async fn build_need(
    txn: &DatabaseTransaction,
    template: &NeedTemplate,
    firm: &organization::Model,
    need_id: Uuid,
    status: NeedStatus,
    base: NaiveDate,
) -> anyhow::Result<()> {
    let now = Utc::now();
    need::ActiveModel {
        id: Set(need_id),
        firm_id: Set(firm.id),
        status: Set(status),
        title: Set(template.title.clone()),
        description: Set(template.description.clone()),
        target_dqr_level: Set(template.dqr_level),
        participants: Set(template.participants),
        postal_code: Set(firm.postal_code.clone()),
        city: Set(firm.city.clone()),
        bundesland: Set(firm.bundesland),
        latitude: Set(firm.latitude),
        longitude: Set(firm.longitude),
        max_distance_km: Set(template.max_distance_km),
        online_acceptable: Set(template.online_acceptable),
        preferred_schedule: Set(template
            .schedule
            .as_deref()
            .map(|s| stored::<CourseSchedule>("schedule", s))
            .transpose()?),
        earliest_start: Set(Some(base + Duration::weeks(2))),
        latest_start: Set(Some(base + Duration::weeks(30))),
        budget_cents_per_participant: Set(template.budget_cents),
        funding_wanted: Set(json_list::encode(&template.funding)),
        poolable: Set(template.poolable),
        language: Set("de".into()),
        visibility: Set(if template.visibility == "PRIVATE" {
            NeedVisibility::Private
        } else {
            NeedVisibility::Public
        }),
        opened_at: Set((status == NeedStatus::Open).then_some(now)),
        created_at: Set(now),
        updated_at: Set(now),
        version: Set(1),
    }
    .insert(txn)
    .await?;
    let skills: Vec<need_skill::ActiveModel> = template
        .must_skills
        .iter()
        .map(|s| (s, SkillImportance::Must))
        .chain(template.nice_skills.iter().map(|s| (s, SkillImportance::Nice)))
        .enumerate()
        .map(|(position, (skill, importance))| need_skill::ActiveModel {
            need_id: Set(need_id),
            skill_id: Set(skill.clone()),
            importance: Set(importance),
            position: Set(position as i32),
        })
        .collect();
    insert_chunked::<need_skill::Entity, _>(txn, skills).await
}

async fn existing_ids<E: EntityTrait>(
    txn: &DatabaseTransaction,
    column: E::Column,
    ids: &[Uuid],
) -> anyhow::Result<HashSet<Uuid>> {
    Ok(E::find()
        .select_only()
        .column(column)
        .filter(column.is_in(ids.iter().copied()))
        .into_tuple::<Uuid>()
        .all(txn)
        .await?
        .into_iter()
        .collect())
}

async fn insert_chunked<E, A>(txn: &DatabaseTransaction, rows: Vec<A>) -> anyhow::Result<()>
where
    E: EntityTrait,
    A: sea_orm::ActiveModelTrait<Entity = E> + Send + Clone,
{
    for chunk in rows.chunks(100) {
        E::insert_many(chunk.to_vec()).exec(txn).await?;
    }
    Ok(())
}
