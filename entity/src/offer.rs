use sea_orm::entity::prelude::*;

/// A provider's answer to a need: one of its offerings, or a custom (e.g. inhouse) proposal.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "offer")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub need_id: Uuid,
    pub provider_id: Uuid,
    /// The offering offered; none for a custom proposal.
    pub offering_id: Option<Uuid>,
    /// Title of a custom proposal.
    pub title: Option<String>,
    pub start_date: Option<Date>,
    pub end_date: Option<Date>,
    pub price_cents_per_participant: Option<i64>,
    pub inhouse: bool,
    #[sea_orm(column_type = "Text")]
    pub message: String,
    pub status: OfferStatus,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub decided_at: Option<DateTimeUtc>,
    pub version: i32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum OfferStatus {
    /// Waiting for the firm's answer.
    #[sea_orm(string_value = "SUBMITTED")]
    Submitted,
    #[sea_orm(string_value = "ACCEPTED")]
    Accepted,
    /// Declined by the firm, or because it accepted another offer.
    #[sea_orm(string_value = "DECLINED")]
    Declined,
    /// Taken back by the provider.
    #[sea_orm(string_value = "WITHDRAWN")]
    Withdrawn,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::qualification_need::Entity",
        from = "Column::NeedId",
        to = "super::qualification_need::Column::Id",
        on_delete = "Cascade"
    )]
    Need,
}

impl Related<super::qualification_need::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Need.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
