use sea_orm::entity::prelude::*;

/// One entry of the shared skills vocabulary, with a stable ESCO-style id such as
/// `automation/sps-programmierung`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "skill")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub category_id: String,
    #[sea_orm(unique)]
    pub label: String,
    pub label_en: Option<String>,
    /// JSON array of strings.
    #[sea_orm(column_type = "Text")]
    pub synonyms: String,
    /// Label, English label and synonyms, folded for umlaut- and case-insensitive matching.
    #[sea_orm(column_type = "Text")]
    pub search_text: String,
    pub created_at: DateTimeUtc,
    /// The ESCO concept's URI (`http://data.europa.eu/esco/skill/…`), once an ESCO import linked it.
    pub esco_uri: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::course_skill::Entity")]
    CourseSkill,
    #[sea_orm(has_many = "super::need_skill::Entity")]
    NeedSkill,
}

impl Related<super::course_skill::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::CourseSkill.def()
    }
}

impl Related<super::need_skill::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::NeedSkill.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
