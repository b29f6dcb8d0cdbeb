use sea_orm::entity::prelude::*;

/// Another firm joining a poolable need with its own participants (Verbundweiterbildung).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "need_participation")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub need_id: Uuid,
    pub firm_id: Uuid,
    pub participants: i32,
    #[sea_orm(column_type = "Text", nullable)]
    pub note: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::qualification_need::Entity",
        from = "Column::NeedId",
        to = "super::qualification_need::Column::Id",
        on_delete = "Cascade"
    )]
    Need,
}

impl Related<super::qualification_need::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Need.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
