use sea_orm::entity::prelude::*;

/// What is taught. Dated runs are [`super::offering`]s.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "course")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub provider_id: Uuid,
    pub status: CourseStatus,
    pub title: String,
    pub subtitle: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub description: String,
    /// JSON array of strings.
    #[sea_orm(column_type = "Text")]
    pub keywords: String,
    pub dqr_level: Option<i16>,
    pub certificate_type: CertificateType,
    pub examining_body: Option<String>,
    pub zusatzqualifikation: bool,
    #[sea_orm(column_type = "Text", nullable)]
    pub target_group: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub prerequisites: Option<String>,
    /// JSON array of ISO 639-1 codes.
    #[sea_orm(column_type = "Text")]
    pub languages: String,
    pub duration_hours: Option<i32>,
    pub format: CourseFormat,
    pub schedule: CourseSchedule,
    pub price_cents: Option<i64>,
    pub currency: String,
    pub vat: VatTreatment,
    /// JSON array of funding option names.
    #[sea_orm(column_type = "Text")]
    pub funding_options: String,
    pub azav_measure_number: Option<String>,
    pub inhouse_possible: bool,
    pub min_participants: Option<i32>,
    pub max_participants: Option<i32>,
    /// Individual start at any time (self-paced): publishable without a dated offering.
    pub rolling_start: bool,
    pub published_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub version: i32,
    /// The key of the course in the provider's own catalogue (OpenQCAT `PRODUCT_ID`, a CSV row's
    /// `angebot_id`); unique per provider. Set by imports, so a second import updates.
    pub external_id: Option<String>,
    /// SHA-256 of what the last import read for this course: the same record again changes nothing.
    pub import_hash: Option<String>,
    /// The Federal Employment Agency's Kurssystematik code of the course, when a catalogue gave one.
    pub classification: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum CourseStatus {
    #[sea_orm(string_value = "DRAFT")]
    Draft,
    #[sea_orm(string_value = "PUBLISHED")]
    Published,
    #[sea_orm(string_value = "ARCHIVED")]
    Archived,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
pub enum CertificateType {
    #[sea_orm(string_value = "IHK_EXAM")]
    IhkExam,
    #[sea_orm(string_value = "HWK_EXAM")]
    HwkExam,
    #[sea_orm(string_value = "STATE_RECOGNISED")]
    StateRecognised,
    #[sea_orm(string_value = "UNIVERSITY_CERTIFICATE")]
    UniversityCertificate,
    #[sea_orm(string_value = "INDUSTRY_CERTIFICATE")]
    IndustryCertificate,
    #[sea_orm(string_value = "PROVIDER_CERTIFICATE")]
    ProviderCertificate,
    #[sea_orm(string_value = "NONE")]
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum CourseFormat {
    #[sea_orm(string_value = "IN_PERSON")]
    InPerson,
    #[sea_orm(string_value = "ONLINE")]
    Online,
    #[sea_orm(string_value = "BLENDED")]
    Blended,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(24))")]
pub enum CourseSchedule {
    #[sea_orm(string_value = "FULL_TIME")]
    FullTime,
    #[sea_orm(string_value = "PART_TIME")]
    PartTime,
    #[sea_orm(string_value = "EXTRA_OCCUPATIONAL")]
    ExtraOccupational,
    #[sea_orm(string_value = "SELF_PACED")]
    SelfPaced,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum VatTreatment {
    /// The price includes VAT.
    #[sea_orm(string_value = "INCLUDED")]
    Included,
    /// VAT is added to the price.
    #[sea_orm(string_value = "EXCLUDED")]
    Excluded,
    /// Exempt (vocational training under § 4 Nr. 21 UStG).
    #[sea_orm(string_value = "EXEMPT")]
    Exempt,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::organization::Entity",
        from = "Column::ProviderId",
        to = "super::organization::Column::Id",
        on_delete = "Cascade"
    )]
    Provider,
    #[sea_orm(has_many = "super::offering::Entity")]
    Offering,
    #[sea_orm(has_many = "super::course_skill::Entity")]
    CourseSkill,
}

impl Related<super::organization::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Provider.def()
    }
}

impl Related<super::offering::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Offering.def()
    }
}

impl Related<super::course_skill::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::CourseSkill.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}

/// Ways a participant's fees may be funded. Stored as a JSON array of the serde names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FundingOption {
    /// Qualifizierungschancengesetz (§ 82 SGB III), employed staff.
    Qcg,
    /// Bildungsgutschein (§ 81 SGB III), unemployed or at-risk persons.
    Bildungsgutschein,
    /// Aufstiegs-BAföG (AFBG) for DQR 5–7 upgrading qualifications.
    AufstiegsBafoeg,
    /// Regional or ESF programmes of a Bundesland.
    RegionalEsf,
    /// Paid educational leave (Bildungsurlaub / Bildungszeit).
    Bildungsurlaub,
    /// Qualifizierungsgeld (§ 82a SGB III), staff of a firm in structural change.
    Qualifizierungsgeld,
}
