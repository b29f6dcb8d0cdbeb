//! The search change log replaces the claimable search outbox.
//!
//! Every write that changes a course's search documents appends a row in its own transaction; `seq`
//! only grows. Each embedded index applies every change and keeps the position it has reached in
//! its own commit; the shared Meilisearch index keeps its position in `search_cursor`. Rows are
//! pruned after a retention, not when processed, so any number of indexes can read them.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum SearchChange {
    Table,
    Seq,
    CourseId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum SearchCursor {
    Table,
    Name,
    Position,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum SearchOutbox {
    Table,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SearchChange::Table)
                    .col(
                        ColumnDef::new(SearchChange::Seq)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(SearchChange::CourseId).uuid().not_null())
                    .col(ColumnDef::new(SearchChange::CreatedAt).timestamp_with_time_zone().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_search_change_created")
                    .table(SearchChange::Table)
                    .col(SearchChange::CreatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SearchCursor::Table)
                    .col(ColumnDef::new(SearchCursor::Name).string_len(128).not_null().primary_key())
                    .col(ColumnDef::new(SearchCursor::Position).big_integer().not_null())
                    .col(ColumnDef::new(SearchCursor::UpdatedAt).timestamp_with_time_zone().not_null())
                    .to_owned(),
            )
            .await?;
        // Changes the old outbox still held move over, in their order.
        manager
            .get_connection()
            .execute_unprepared(
                "INSERT INTO search_change (course_id, created_at) \
                 SELECT course_id, created_at FROM search_outbox WHERE processed_at IS NULL ORDER BY id",
            )
            .await?;
        manager.drop_table(Table::drop().table(SearchOutbox::Table).to_owned()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(SearchCursor::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(SearchChange::Table).to_owned()).await
    }
}
