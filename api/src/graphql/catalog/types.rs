use async_graphql::{ComplexObject, Context, Enum, ID, InputObject, MaybeUndefined, Result, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use entity::{course, offering};
use uuid::Uuid;

use super::loaders::{CourseLoader, CourseSkillsLoader, OfferingsLoader};
use crate::error::ApiError;
use crate::graphql::context::loader;
use crate::graphql::organization::loaders::OrganizationLoader;
use crate::graphql::organization::types::{Bundesland, GeoPoint, GeoPointInput, LIST_COST, Organization};
use crate::graphql::skill::types::Skill;
use crate::service::courses::{CourseFields, OfferingFields, Venue as ServiceVenue};
use crate::service::json_list;

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "entity::course::CourseStatus")]
pub enum CourseStatus {
    /// Being written; visible only to the provider.
    Draft,
    /// In the public catalogue.
    Published,
    /// Withdrawn; still readable by id.
    Archived,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "entity::course::CertificateType")]
pub enum CertificateType {
    /// Examination before a chamber of industry and commerce (IHK-Prüfung).
    IhkExam,
    /// Examination before a chamber of crafts (HWK-Prüfung).
    HwkExam,
    /// Staatlich anerkannt.
    StateRecognised,
    UniversityCertificate,
    /// A vendor's certificate (e.g. Siemens, Cisco).
    IndustryCertificate,
    /// Zertifikat des Anbieters.
    ProviderCertificate,
    None,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "entity::course::CourseFormat")]
pub enum CourseFormat {
    /// Präsenz.
    InPerson,
    Online,
    Blended,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "entity::course::CourseSchedule")]
pub enum CourseSchedule {
    /// Vollzeit.
    FullTime,
    /// Teilzeit.
    PartTime,
    /// Berufsbegleitend: evenings or weekends.
    ExtraOccupational,
    /// At one's own pace.
    SelfPaced,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "entity::course::VatTreatment")]
pub enum VatTreatment {
    /// The price includes VAT.
    Included,
    /// VAT is added to the price.
    Excluded,
    /// Exempt from VAT (vocational training, § 4 Nr. 21 UStG).
    Exempt,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "entity::course::FundingOption")]
pub enum FundingOption {
    /// Qualifizierungschancengesetz (§ 82 SGB III): employed staff; course > 120 h, AZAV-certified.
    Qcg,
    /// Bildungsgutschein (§ 81 SGB III): unemployed or at-risk persons; AZAV-certified measure.
    Bildungsgutschein,
    /// Aufstiegs-BAföG: upgrading qualifications at DQR 5–7 with at least 400 hours.
    AufstiegsBafoeg,
    /// Regional or ESF programmes of a Bundesland.
    RegionalEsf,
    /// Paid educational leave (Bildungsurlaub / Bildungszeit).
    Bildungsurlaub,
    /// Qualifizierungsgeld (§ 82a SGB III): staff of a firm in structural change; AZAV-certified measure.
    Qualifizierungsgeld,
}

/// A price per participant.
#[derive(SimpleObject, Clone)]
pub struct Price {
    /// In the currency's minor unit (cents).
    pub amount_cents: i64,
    /// ISO 4217, e.g. EUR.
    pub currency: String,
    pub vat: VatTreatment,
}

/// What is taught. Dated runs are its `offerings`.
#[derive(SimpleObject, Clone)]
#[graphql(complex)]
pub struct Course {
    pub id: ID,
    pub status: CourseStatus,
    pub title: String,
    pub subtitle: Option<String>,
    /// Markdown.
    pub description: String,
    pub keywords: Vec<String>,
    /// DQR level 1–8; null for short courses without a level.
    pub dqr_level: Option<i32>,
    pub certificate_type: CertificateType,
    /// Who examines, e.g. "IHK Ostthüringen zu Gera".
    pub examining_body: Option<String>,
    /// A Zusatzqualifikation (additional qualification alongside an apprenticeship or job).
    pub zusatzqualifikation: bool,
    pub target_group: Option<String>,
    pub prerequisites: Option<String>,
    /// ISO 639-1 codes of the teaching languages.
    pub languages: Vec<String>,
    pub duration_hours: Option<i32>,
    pub format: CourseFormat,
    pub schedule: CourseSchedule,
    /// Per participant; null while not set in a draft.
    pub price: Option<Price>,
    pub funding_options: Vec<FundingOption>,
    /// AZAV measure number (Maßnahmenummer), needed for QCG and Bildungsgutschein.
    pub azav_measure_number: Option<String>,
    /// Can be run in-house at a firm.
    pub inhouse_possible: bool,
    pub min_participants: Option<i32>,
    pub max_participants: Option<i32>,
    /// Individual start at any time (no dated offering needed).
    pub rolling_start: bool,
    pub published_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Pass as `expectedVersion` to `updateCourse` and the status mutations.
    pub version: i32,
    #[graphql(skip)]
    pub course_id: Uuid,
    #[graphql(skip)]
    pub provider_id: Uuid,
}

impl From<course::Model> for Course {
    /// Moves the row's values: a page of courses copies none of its texts.
    fn from(m: course::Model) -> Self {
        Self {
            id: ID(m.id.to_string()),
            status: m.status.into(),
            keywords: json_list::decode(&m.keywords),
            languages: json_list::decode(&m.languages),
            funding_options: json_list::decode::<entity::course::FundingOption>(&m.funding_options)
                .into_iter()
                .map(Into::into)
                .collect(),
            title: m.title,
            subtitle: m.subtitle,
            description: m.description,
            dqr_level: m.dqr_level.map(i32::from),
            certificate_type: m.certificate_type.into(),
            examining_body: m.examining_body,
            zusatzqualifikation: m.zusatzqualifikation,
            target_group: m.target_group,
            prerequisites: m.prerequisites,
            duration_hours: m.duration_hours,
            format: m.format.into(),
            schedule: m.schedule.into(),
            price: m.price_cents.map(|amount_cents| Price {
                amount_cents,
                currency: m.currency,
                vat: m.vat.into(),
            }),
            azav_measure_number: m.azav_measure_number,
            inhouse_possible: m.inhouse_possible,
            min_participants: m.min_participants,
            max_participants: m.max_participants,
            rolling_start: m.rolling_start,
            published_at: m.published_at,
            created_at: m.created_at,
            updated_at: m.updated_at,
            version: m.version,
            course_id: m.id,
            provider_id: m.provider_id,
        }
    }
}

#[ComplexObject]
impl Course {
    /// The training provider offering the course.
    async fn provider(&self, ctx: &Context<'_>) -> Result<Organization> {
        let provider = loader::<OrganizationLoader>(ctx)?
            .load_one(self.provider_id)
            .await
            .map_err(ApiError::from)?
            .ok_or_else(|| ApiError::not_found("provider"))?;
        Ok(provider.into())
    }

    /// Skills taught, in the provider's order.
    #[graphql(complexity = "LIST_COST * child_complexity")]
    async fn skills(&self, ctx: &Context<'_>) -> Result<Vec<Skill>> {
        let skills = loader::<CourseSkillsLoader>(ctx)?
            .load_one(self.course_id)
            .await
            .map_err(ApiError::from)?
            .unwrap_or_default();
        Ok(skills.iter().map(|skill| Skill::from(skill.as_ref())).collect())
    }

    /// The ids among `skills` that a catalogue import suggested from the course's title, keywords
    /// and classification and the provider has not confirmed yet (setting `skillIds` confirms them).
    async fn suggested_skill_ids(&self, ctx: &Context<'_>) -> Result<Vec<String>> {
        let state = crate::graphql::context::state(ctx)?;
        Ok(crate::service::courses::suggested_skill_ids(state, self.course_id).await?)
    }

    /// Dated runs, earliest start first.
    #[graphql(complexity = "LIST_COST * child_complexity")]
    async fn offerings(&self, ctx: &Context<'_>) -> Result<Vec<Offering>> {
        let offerings = loader::<OfferingsLoader>(ctx)?
            .load_one(self.course_id)
            .await
            .map_err(ApiError::from)?
            .unwrap_or_default();
        Ok(offerings.into_iter().map(Offering::from).collect())
    }
}

/// Where an offering takes place.
#[derive(SimpleObject, Clone)]
pub struct Venue {
    pub street: Option<String>,
    pub postal_code: Option<String>,
    pub city: Option<String>,
    pub bundesland: Option<Bundesland>,
}

/// A dated run of a course (Termin).
#[derive(SimpleObject, Clone)]
#[graphql(complex)]
pub struct Offering {
    pub id: ID,
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
    pub signup_deadline: Option<NaiveDate>,
    /// Joining is possible at any time during the run.
    pub rolling_start: bool,
    /// E.g. "Mo–Fr 8–16 Uhr" or "Sa 9–15 Uhr".
    pub schedule_details: Option<String>,
    /// Held online (no venue).
    pub online: bool,
    pub venue: Option<Venue>,
    pub location: Option<GeoPoint>,
    pub seats_total: i32,
    pub seats_available: i32,
    /// Replaces the course price for this run.
    pub price_cents_override: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
    #[graphql(skip)]
    pub course_id: Uuid,
}

impl From<offering::Model> for Offering {
    /// Moves the row's values, as for a course.
    fn from(m: offering::Model) -> Self {
        let has_venue = m.city.is_some() || m.street.is_some() || m.postal_code.is_some();
        Self {
            id: ID(m.id.to_string()),
            start_date: m.start_date,
            end_date: m.end_date,
            signup_deadline: m.signup_deadline,
            rolling_start: m.rolling_start,
            schedule_details: m.schedule_details,
            online: m.online,
            venue: has_venue.then_some(Venue {
                street: m.street,
                postal_code: m.postal_code,
                city: m.city,
                bundesland: m.bundesland.map(Into::into),
            }),
            location: m.latitude.zip(m.longitude).map(|(lat, lng)| GeoPoint { lat, lng }),
            seats_total: m.seats_total,
            seats_available: m.seats_available,
            price_cents_override: m.price_cents_override,
            created_at: m.created_at,
            updated_at: m.updated_at,
            version: m.version,
            course_id: m.course_id,
        }
    }
}

#[ComplexObject]
impl Offering {
    async fn course(&self, ctx: &Context<'_>) -> Result<Course> {
        let course = loader::<CourseLoader>(ctx)?
            .load_one(self.course_id)
            .await
            .map_err(ApiError::from)?
            .ok_or_else(|| ApiError::not_found("course"))?;
        Ok(course.into())
    }
}

/// The fields of a course. On create, `title` is required; on update, fields left out stay as they
/// are and an empty string clears an optional text.
#[derive(InputObject, Default)]
pub struct CourseInput {
    /// 3–200 characters.
    pub title: Option<String>,
    pub subtitle: Option<String>,
    /// Markdown; at least 20 characters to publish.
    pub description: Option<String>,
    /// Skill ids from `skills`; at least one to publish; replaces the list. At most 30 values.
    pub skill_ids: Option<Vec<String>>,
    /// At most 30 values, each 1–60 characters.
    pub keywords: Option<Vec<String>>,
    /// 1–8, or null for none.
    pub dqr_level: MaybeUndefined<i32>,
    pub certificate_type: Option<CertificateType>,
    pub examining_body: Option<String>,
    pub zusatzqualifikation: Option<bool>,
    pub target_group: Option<String>,
    pub prerequisites: Option<String>,
    /// ISO 639-1 codes; defaults to `["de"]`. At most 10 values.
    pub languages: Option<Vec<String>>,
    /// 1–10000.
    pub duration_hours: Option<i32>,
    /// Defaults to IN_PERSON.
    pub format: Option<CourseFormat>,
    /// Defaults to FULL_TIME.
    pub schedule: Option<CourseSchedule>,
    /// Per participant in cents, 0–100000000.
    pub price_cents: Option<i64>,
    /// ISO 4217; defaults to EUR.
    pub currency: Option<String>,
    /// Defaults to EXEMPT.
    pub vat: Option<VatTreatment>,
    /// QCG and BILDUNGSGUTSCHEIN need an AZAV-certified provider and `azavMeasureNumber`;
    /// AUFSTIEGS_BAFOEG needs DQR 5–7 and 400 hours. At most 20 values.
    pub funding_options: Option<Vec<FundingOption>>,
    pub azav_measure_number: Option<String>,
    pub inhouse_possible: Option<bool>,
    pub min_participants: Option<i32>,
    pub max_participants: Option<i32>,
    pub rolling_start: Option<bool>,
}

pub fn maybe<T>(value: MaybeUndefined<T>) -> Option<Option<T>> {
    match value {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(v) => Some(Some(v)),
    }
}

impl From<CourseInput> for CourseFields {
    fn from(i: CourseInput) -> Self {
        Self {
            title: i.title,
            subtitle: i.subtitle,
            description: i.description,
            skill_ids: i.skill_ids,
            keywords: i.keywords,
            dqr_level: maybe(i.dqr_level),
            certificate_type: i.certificate_type.map(Into::into),
            examining_body: i.examining_body,
            zusatzqualifikation: i.zusatzqualifikation,
            target_group: i.target_group,
            prerequisites: i.prerequisites,
            languages: i.languages,
            duration_hours: i.duration_hours,
            format: i.format.map(Into::into),
            schedule: i.schedule.map(Into::into),
            price_cents: i.price_cents,
            currency: i.currency,
            vat: i.vat.map(Into::into),
            funding_options: i.funding_options.map(|f| f.into_iter().map(Into::into).collect()),
            azav_measure_number: i.azav_measure_number,
            inhouse_possible: i.inhouse_possible,
            min_participants: i.min_participants,
            max_participants: i.max_participants,
            rolling_start: i.rolling_start,
        }
    }
}

#[derive(InputObject, Clone)]
pub struct VenueInput {
    pub street: Option<String>,
    /// Five digits.
    pub postal_code: Option<String>,
    /// Required for an offering in person.
    pub city: Option<String>,
    pub bundesland: Option<Bundesland>,
    pub location: Option<GeoPointInput>,
}

/// The fields of an offering. On create, `startDate` and `endDate` are required; on update, fields
/// left out stay as they are.
#[derive(InputObject, Default)]
pub struct OfferingInput {
    pub start_date: Option<NaiveDate>,
    /// Not before `startDate`.
    pub end_date: Option<NaiveDate>,
    /// Not after `startDate`; null clears it.
    pub signup_deadline: MaybeUndefined<NaiveDate>,
    pub rolling_start: Option<bool>,
    pub schedule_details: Option<String>,
    /// Defaults to true for ONLINE courses.
    pub online: Option<bool>,
    /// Replaces the whole venue.
    pub venue: Option<VenueInput>,
    /// Defaults to the course's maxParticipants (or 12).
    pub seats_total: Option<i32>,
    /// Defaults to seatsTotal; 0 to seatsTotal.
    pub seats_available: Option<i32>,
    /// Null clears it.
    pub price_cents_override: MaybeUndefined<i64>,
}

impl From<OfferingInput> for OfferingFields {
    fn from(i: OfferingInput) -> Self {
        Self {
            start_date: i.start_date,
            end_date: i.end_date,
            signup_deadline: maybe(i.signup_deadline),
            rolling_start: i.rolling_start,
            schedule_details: i.schedule_details,
            online: i.online,
            venue: i.venue.map(|v| ServiceVenue {
                street: v.street,
                postal_code: v.postal_code,
                city: v.city,
                bundesland: v.bundesland.map(Into::into),
                location: v.location.map(|p| (p.lat, p.lng)),
            }),
            seats_total: i.seats_total,
            seats_available: i.seats_available,
            price_cents_override: maybe(i.price_cents_override),
        }
    }
}

/// Filters of `courses`; lists mean "any of".
#[derive(InputObject, Default)]
pub struct CourseFilter {
    pub provider_id: Option<ID>,
    /// Defaults to PUBLISHED; DRAFT shows only your own organizations' drafts. At most 20 values.
    #[graphql(default)]
    pub statuses: Vec<CourseStatus>,
    /// Skill ids. At most 50 values.
    #[graphql(default)]
    pub skill_ids: Vec<String>,
    /// 1–8. At most 8 values.
    #[graphql(default)]
    pub dqr_levels: Vec<i32>,
    /// At most 20 values.
    #[graphql(default)]
    pub formats: Vec<CourseFormat>,
    /// At most 20 values.
    #[graphql(default)]
    pub schedules: Vec<CourseSchedule>,
    /// Courses eligible for any of these. At most 20 values.
    #[graphql(default)]
    pub funding: Vec<FundingOption>,
    /// ISO 639-1 codes. At most 10 values.
    #[graphql(default)]
    pub languages: Vec<String>,
    pub zusatzqualifikation: Option<bool>,
    /// Course price per participant at most this many cents.
    pub max_price_cents: Option<i64>,
}
