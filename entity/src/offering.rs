use sea_orm::entity::prelude::*;

use super::organization::Bundesland;

/// A dated run of a course (Termin): where, when, how many seats.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "offering")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub course_id: Uuid,
    pub start_date: Date,
    pub end_date: Date,
    pub signup_deadline: Option<Date>,
    /// Joining is possible at any time during the run.
    pub rolling_start: bool,
    pub schedule_details: Option<String>,
    pub online: bool,
    pub street: Option<String>,
    pub postal_code: Option<String>,
    pub city: Option<String>,
    pub bundesland: Option<Bundesland>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub seats_total: i32,
    pub seats_available: i32,
    pub price_cents_override: Option<i64>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub version: i32,
    /// The run's key in the provider's catalogue (OpenQCAT: the dated `SERVICE`'s `PRODUCT_ID`).
    pub external_id: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::course::Entity",
        from = "Column::CourseId",
        to = "super::course::Column::Id",
        on_delete = "Cascade"
    )]
    Course,
}

impl Related<super::course::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Course.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
