use sea_orm::entity::prelude::*;

/// Prior learning a staff member holds: a certificate or a completed course, evidencing a level in
/// its skills, so that gaps and learning paths count it (Anrechnung).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "staff_evidence")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub staff_id: Uuid,
    pub kind: EvidenceKind,
    pub title: String,
    /// The skills it evidences, a JSON list of skill ids.
    #[sea_orm(column_type = "Text")]
    pub skills: String,
    /// The level (1–4) it evidences in each of them.
    pub level: i32,
    /// A course of this platform, when it was one.
    pub course_id: Option<Uuid>,
    pub achieved_on: Option<Date>,
    pub created_at: DateTimeUtc,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum EvidenceKind {
    #[sea_orm(string_value = "CERTIFICATE")]
    Certificate,
    #[sea_orm(string_value = "COURSE")]
    Course,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
