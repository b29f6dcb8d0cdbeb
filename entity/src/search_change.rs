use sea_orm::entity::prelude::*;

/// One change of a course's search documents, in the order of `seq`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "search_change")]
pub struct Model {
    /// Only grows: an index that has applied `seq` has applied every change before it.
    #[sea_orm(primary_key)]
    pub seq: i64,
    pub course_id: Uuid,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
