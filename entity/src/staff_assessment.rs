use sea_orm::entity::prelude::*;

/// A staff member's level in one skill as they see it (SELF) or their manager does (MANAGER):
/// 0 (not yet at Grundlagen) to 4 (Experte), dated. One of each per person and skill.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "staff_assessment")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub staff_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub skill_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub source: AssessmentSource,
    pub level: i32,
    pub assessed_on: Date,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum AssessmentSource {
    /// The person's self-assessment (the questionnaire).
    #[sea_orm(string_value = "SELF_ASSESSMENT")]
    SelfAssessment,
    /// The manager's assessment; it counts over the self-assessment.
    #[sea_orm(string_value = "MANAGER")]
    Manager,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
