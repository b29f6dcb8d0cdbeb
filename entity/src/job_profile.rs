use sea_orm::entity::prelude::*;

/// A competence model for a role: which skills it needs and at what level (see `job_profile_skill`).
/// Shared profiles (no organization) are curated by platform admins; a firm's own are its copies.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "job_profile")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The firm that owns it; `None` for a shared profile.
    pub organization_id: Option<Uuid>,
    /// A shipped profile's stable key (`feinoptik-fertigung`); `None` for a firm's own.
    pub key: Option<String>,
    pub name: String,
    pub job_family: String,
    #[sea_orm(column_type = "Text")]
    pub description: String,
    /// The DQR level the role stands on, where it has one (a Meister role: 6).
    pub dqr_level: Option<i16>,
    /// The profile this one was copied from.
    pub based_on: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub version: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::job_profile_skill::Entity")]
    Skills,
}

impl Related<super::job_profile_skill::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Skills.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
