//! Failed sign-ins per account and per client address, so guessing passwords is slowed down on every
//! instance alike.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum LoginThrottle {
    Table,
    Key,
    Failures,
    WindowStartedAt,
    BlockedUntil,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(LoginThrottle::Table)
                    .col(ColumnDef::new(LoginThrottle::Key).string_len(320).not_null().primary_key())
                    .col(ColumnDef::new(LoginThrottle::Failures).integer().not_null().default(0))
                    .col(ColumnDef::new(LoginThrottle::WindowStartedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(LoginThrottle::BlockedUntil).timestamp_with_time_zone().null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(LoginThrottle::Table).to_owned()).await
    }
}
