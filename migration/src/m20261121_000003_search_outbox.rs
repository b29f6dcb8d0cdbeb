//! The transactional outbox that carries course changes to the search index.
//!
//! Every write that changes what a course's search documents hold adds a row in its own transaction;
//! the search worker claims rows with a lease (PostgreSQL: `FOR UPDATE SKIP LOCKED`), updates the
//! index and marks them processed, or schedules a retry.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum SearchOutbox {
    Table,
    Id,
    CourseId,
    CreatedAt,
    AvailableAt,
    Attempts,
    LastError,
    ClaimedBy,
    ClaimedUntil,
    ProcessedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SearchOutbox::Table)
                    .col(
                        ColumnDef::new(SearchOutbox::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(SearchOutbox::CourseId).uuid().not_null())
                    .col(ColumnDef::new(SearchOutbox::CreatedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(SearchOutbox::AvailableAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(SearchOutbox::Attempts).integer().not_null().default(0))
                    .col(ColumnDef::new(SearchOutbox::LastError).text().null())
                    .col(ColumnDef::new(SearchOutbox::ClaimedBy).string_len(64).null())
                    .col(ColumnDef::new(SearchOutbox::ClaimedUntil).timestamp_with_time_zone().null())
                    .col(ColumnDef::new(SearchOutbox::ProcessedAt).timestamp_with_time_zone().null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_search_outbox_pending")
                    .table(SearchOutbox::Table)
                    .col(SearchOutbox::ProcessedAt)
                    .col(SearchOutbox::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_search_outbox_course")
                    .table(SearchOutbox::Table)
                    .col(SearchOutbox::CourseId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(SearchOutbox::Table).to_owned()).await
    }
}
