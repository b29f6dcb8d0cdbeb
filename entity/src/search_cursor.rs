use sea_orm::entity::prelude::*;

/// The change-log position a shared index (Meilisearch) has applied; an embedded index keeps its
/// own in its commit.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "search_cursor")]
pub struct Model {
    /// The index, e.g. `meili:courses`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub name: String,
    pub position: i64,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
