use sea_orm::entity::prelude::*;

use super::course::CourseSchedule;
use super::organization::Bundesland;

/// A firm's qualification need (Weiterbildungsbedarf).
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "qualification_need")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub firm_id: Uuid,
    pub status: NeedStatus,
    pub title: String,
    #[sea_orm(column_type = "Text")]
    pub description: String,
    pub target_dqr_level: Option<i16>,
    pub participants: i32,
    pub postal_code: Option<String>,
    pub city: Option<String>,
    pub bundesland: Option<Bundesland>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub max_distance_km: Option<i32>,
    pub online_acceptable: bool,
    pub preferred_schedule: Option<CourseSchedule>,
    pub earliest_start: Option<Date>,
    pub latest_start: Option<Date>,
    pub budget_cents_per_participant: Option<i64>,
    /// JSON array of funding option names.
    #[sea_orm(column_type = "Text")]
    pub funding_wanted: String,
    pub poolable: bool,
    /// ISO 639-1 code of the language the course should be held in.
    pub language: String,
    pub visibility: NeedVisibility,
    pub opened_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub version: i32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum NeedStatus {
    #[sea_orm(string_value = "DRAFT")]
    Draft,
    #[sea_orm(string_value = "OPEN")]
    Open,
    #[sea_orm(string_value = "IN_NEGOTIATION")]
    InNegotiation,
    #[sea_orm(string_value = "FULFILLED")]
    Fulfilled,
    #[sea_orm(string_value = "CLOSED")]
    Closed,
    #[sea_orm(string_value = "CANCELLED")]
    Cancelled,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum NeedVisibility {
    /// Every provider sees it while it is open.
    #[sea_orm(string_value = "PUBLIC")]
    Public,
    /// Only the owning firm.
    #[sea_orm(string_value = "PRIVATE")]
    Private,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::organization::Entity",
        from = "Column::FirmId",
        to = "super::organization::Column::Id",
        on_delete = "Cascade"
    )]
    Firm,
    #[sea_orm(has_many = "super::need_skill::Entity")]
    NeedSkill,
}

impl Related<super::organization::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Firm.def()
    }
}

impl Related<super::need_skill::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::NeedSkill.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
