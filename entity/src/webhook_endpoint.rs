use sea_orm::entity::prelude::*;

/// An HTTPS endpoint an organization registered for some event types.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_endpoint")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    pub url: String,
    /// The HMAC-SHA256 signing key; it must be kept to sign, and is shown to the organization once.
    pub secret: String,
    /// JSON array of event type names.
    #[sea_orm(column_type = "Text")]
    pub event_types: String,
    pub created_by: Uuid,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
