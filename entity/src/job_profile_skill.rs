use sea_orm::entity::prelude::*;

/// A skill of a job profile with its target level (1 Grundlagen, 2 Anwenden, 3 Vertiefen,
/// 4 Experte) and whether the role requires it or only desires it.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "job_profile_skill")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub profile_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub skill_id: String,
    pub target_level: i32,
    pub required: bool,
    pub position: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::job_profile::Entity",
        from = "Column::ProfileId",
        to = "super::job_profile::Column::Id",
        on_delete = "Cascade"
    )]
    Profile,
}

impl Related<super::job_profile::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Profile.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
