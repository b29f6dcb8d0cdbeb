//! API keys for partner frontends: hashed, scoped, revocable.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ApiKey {
    Table,
    Id,
    OrganizationId,
    Name,
    Scope,
    KeyHash,
    Prefix,
    ServiceUserId,
    CreatedBy,
    CreatedAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum Organization {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum AppUser {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ApiKey::Table)
                    .col(ColumnDef::new(ApiKey::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(ApiKey::OrganizationId).uuid().not_null())
                    .col(ColumnDef::new(ApiKey::Name).string_len(100).not_null())
                    .col(ColumnDef::new(ApiKey::Scope).string_len(16).not_null())
                    .col(ColumnDef::new(ApiKey::KeyHash).string_len(64).not_null().unique_key())
                    .col(ColumnDef::new(ApiKey::Prefix).string_len(16).not_null())
                    .col(ColumnDef::new(ApiKey::ServiceUserId).uuid().null())
                    .col(ColumnDef::new(ApiKey::CreatedBy).uuid().not_null())
                    .col(ColumnDef::new(ApiKey::CreatedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(ApiKey::RevokedAt).timestamp_with_time_zone().null())
                    .foreign_key(
                        ForeignKey::create()
                            .from(ApiKey::Table, ApiKey::OrganizationId)
                            .to(Organization::Table, Organization::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(ApiKey::Table, ApiKey::ServiceUserId)
                            .to(AppUser::Table, AppUser::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_api_key_organization")
                    .table(ApiKey::Table)
                    .col(ApiKey::OrganizationId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(ApiKey::Table).to_owned()).await
    }
}
