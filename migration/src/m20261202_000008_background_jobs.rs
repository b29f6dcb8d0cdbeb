//! One table for all background work (alert dispatch, webhook delivery, search sync): see
//! `domain::jobs`.
//!
//! A job is PENDING until a runner claims it (RUNNING, with `locked_by` and a short `lease_until`
//! that the runner renews while the job runs), then DONE or, after `max_attempts`, DEAD with its
//! last error. The partial unique index keeps at most one PENDING job per dedupe key.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
pub enum BackgroundJob {
    Table,
    Id,
    Kind,
    Payload,
    DedupeKey,
    Priority,
    State,
    Attempts,
    MaxAttempts,
    RunAt,
    LockedBy,
    LeaseUntil,
    LastError,
    CreatedAt,
    FinishedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let timestamp = |c: BackgroundJob| ColumnDef::new(c).timestamp_with_time_zone().not_null().to_owned();
        manager
            .create_table(
                Table::create()
                    .table(BackgroundJob::Table)
                    .col(
                        ColumnDef::new(BackgroundJob::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(BackgroundJob::Kind).string_len(64).not_null())
                    .col(ColumnDef::new(BackgroundJob::Payload).text().not_null())
                    .col(ColumnDef::new(BackgroundJob::DedupeKey).string_len(200).null())
                    .col(ColumnDef::new(BackgroundJob::Priority).integer().not_null().default(0))
                    .col(ColumnDef::new(BackgroundJob::State).string_len(16).not_null())
                    .col(ColumnDef::new(BackgroundJob::Attempts).integer().not_null().default(0))
                    .col(ColumnDef::new(BackgroundJob::MaxAttempts).integer().not_null())
                    .col(timestamp(BackgroundJob::RunAt))
                    .col(ColumnDef::new(BackgroundJob::LockedBy).string_len(64).null())
                    .col(ColumnDef::new(BackgroundJob::LeaseUntil).timestamp_with_time_zone().null())
                    .col(ColumnDef::new(BackgroundJob::LastError).text().null())
                    .col(timestamp(BackgroundJob::CreatedAt))
                    .col(ColumnDef::new(BackgroundJob::FinishedAt).timestamp_with_time_zone().null())
                    .to_owned(),
            )
            .await?;
        // Claims look for due PENDING jobs and expired RUNNING leases.
        manager
            .create_index(
                Index::create()
                    .name("idx_background_job_due")
                    .table(BackgroundJob::Table)
                    .col(BackgroundJob::State)
                    .col(BackgroundJob::RunAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_background_job_pending_key")
                    .table(BackgroundJob::Table)
                    .col(BackgroundJob::DedupeKey)
                    .unique()
                    .and_where(Expr::col(BackgroundJob::State).eq("PENDING"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(BackgroundJob::Table).to_owned()).await
    }
}
