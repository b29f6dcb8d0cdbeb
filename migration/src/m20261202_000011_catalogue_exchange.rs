//! Catalogue exchange: courses and offerings keep the key a provider's own catalogue gives them
//! (OpenQCAT's `PRODUCT_ID`, a run's `COURSE_ID`, a CSV row's offer id), so that importing the same
//! catalogue again updates instead of duplicating; a course's skills say whether the provider chose
//! them or an import suggested them; every import run is kept with its report.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Course {
    Table,
    ProviderId,
    ExternalId,
    ImportHash,
    Classification,
}

#[derive(DeriveIden)]
enum Offering {
    Table,
    CourseId,
    ExternalId,
}

#[derive(DeriveIden)]
enum CourseSkill {
    Table,
    Suggested,
}

#[derive(DeriveIden)]
enum Organization {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum ImportRun {
    Table,
    Id,
    ProviderId,
    StartedBy,
    Format,
    FileName,
    CatalogueKind,
    SequenceNumber,
    DryRun,
    Publish,
    Status,
    Total,
    Processed,
    Created,
    Updated,
    Unchanged,
    Deleted,
    Failed,
    Problems,
    StartedAt,
    HeartbeatAt,
    FinishedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite alters one column per statement.
        let add =
            |table: TableRef, column: ColumnDef| Table::alter().table(table).add_column(column).to_owned();
        for column in [
            ColumnDef::new(Course::ExternalId).string_len(100).null().to_owned(),
            ColumnDef::new(Course::ImportHash).string_len(64).null().to_owned(),
            ColumnDef::new(Course::Classification).string_len(32).null().to_owned(),
        ] {
            manager.alter_table(add(Course::Table.into_table_ref(), column)).await?;
        }
        manager
            .alter_table(add(
                Offering::Table.into_table_ref(),
                ColumnDef::new(Offering::ExternalId).string_len(100).null().to_owned(),
            ))
            .await?;
        manager
            .alter_table(add(
                CourseSkill::Table.into_table_ref(),
                ColumnDef::new(CourseSkill::Suggested).boolean().not_null().default(false).to_owned(),
            ))
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_course_external_id")
                    .table(Course::Table)
                    .col(Course::ProviderId)
                    .col(Course::ExternalId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_offering_external_id")
                    .table(Offering::Table)
                    .col(Offering::CourseId)
                    .col(Offering::ExternalId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        let count = |c: ImportRun| ColumnDef::new(c).integer().not_null().default(0).to_owned();
        manager
            .create_table(
                Table::create()
                    .table(ImportRun::Table)
                    .col(ColumnDef::new(ImportRun::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(ImportRun::ProviderId).uuid().not_null())
                    .col(ColumnDef::new(ImportRun::StartedBy).uuid().null())
                    .col(ColumnDef::new(ImportRun::Format).string_len(16).not_null())
                    .col(ColumnDef::new(ImportRun::FileName).string_len(255).null())
                    .col(ColumnDef::new(ImportRun::CatalogueKind).string_len(16).null())
                    .col(ColumnDef::new(ImportRun::SequenceNumber).big_integer().null())
                    .col(ColumnDef::new(ImportRun::DryRun).boolean().not_null())
                    .col(ColumnDef::new(ImportRun::Publish).boolean().not_null())
                    .col(ColumnDef::new(ImportRun::Status).string_len(16).not_null())
                    .col(count(ImportRun::Total))
                    .col(count(ImportRun::Processed))
                    .col(count(ImportRun::Created))
                    .col(count(ImportRun::Updated))
                    .col(count(ImportRun::Unchanged))
                    .col(count(ImportRun::Deleted))
                    .col(count(ImportRun::Failed))
                    .col(ColumnDef::new(ImportRun::Problems).text().not_null())
                    .col(ColumnDef::new(ImportRun::StartedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(ImportRun::HeartbeatAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(ImportRun::FinishedAt).timestamp_with_time_zone().null())
                    .foreign_key(
                        ForeignKey::create()
                            .from(ImportRun::Table, ImportRun::ProviderId)
                            .to(Organization::Table, Organization::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_import_run_provider")
                    .table(ImportRun::Table)
                    .col(ImportRun::ProviderId)
                    .col(ImportRun::StartedAt)
                    .to_owned(),
            )
            .await
    }
}
