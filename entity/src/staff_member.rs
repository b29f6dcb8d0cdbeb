use sea_orm::entity::prelude::*;

/// A person on a firm's staff, as the firm's HR records them for the needs analysis: a label
/// (initials or a personnel number), never a name; a role (job profile) and a site.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "staff_member")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub firm_id: Uuid,
    pub label: String,
    pub profile_id: Option<Uuid>,
    pub site: Option<String>,
    /// The site's postal code: learning paths measure travel from it (else from the firm).
    pub postal_code: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub version: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
