use sea_orm::entity::prelude::*;

/// A key a partner frontend sends instead of a user's token. Only the SHA-256 of the key is kept.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "api_key")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    pub name: String,
    pub scope: ApiKeyScope,
    /// Hex SHA-256 of the whole key.
    #[sea_orm(unique)]
    pub key_hash: String,
    /// The key's first characters, so people can tell their keys apart.
    pub prefix: String,
    /// The service account an `ORGANIZATION` key acts as (a MEMBER of the organization only).
    pub service_user_id: Option<Uuid>,
    pub created_by: Uuid,
    pub created_at: DateTimeUtc,
    pub revoked_at: Option<DateTimeUtc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum ApiKeyScope {
    /// The public catalogue and search, read only.
    #[sea_orm(string_value = "READ")]
    Read,
    /// Acts for the organization with a member's rights.
    #[sea_orm(string_value = "ORGANIZATION")]
    Organization,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
