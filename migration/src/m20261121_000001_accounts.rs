//! Users, organizations, memberships and refresh tokens.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AppUser {
    Table,
    Id,
    Email,
    PasswordHash,
    DisplayName,
    IsPlatformAdmin,
    CreatedAt,
    UpdatedAt,
    Version,
}

#[derive(DeriveIden)]
enum Organization {
    Table,
    Id,
    Kind,
    Name,
    Slug,
    Description,
    Website,
    Street,
    PostalCode,
    City,
    Bundesland,
    Country,
    Latitude,
    Longitude,
    EmployeeCount,
    AzavCertified,
    Verified,
    CreatedAt,
    UpdatedAt,
    Version,
}

#[derive(DeriveIden)]
enum Membership {
    Table,
    Id,
    OrganizationId,
    UserId,
    Role,
    CreatedAt,
}

#[derive(DeriveIden)]
enum RefreshToken {
    Table,
    Id,
    UserId,
    FamilyId,
    TokenHash,
    ExpiresAt,
    CreatedAt,
    UsedAt,
    RevokedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AppUser::Table)
                    .col(ColumnDef::new(AppUser::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(AppUser::Email).string_len(254).not_null().unique_key())
                    .col(ColumnDef::new(AppUser::PasswordHash).string_len(255).not_null())
                    .col(ColumnDef::new(AppUser::DisplayName).string_len(200).not_null())
                    .col(ColumnDef::new(AppUser::IsPlatformAdmin).boolean().not_null().default(false))
                    .col(ColumnDef::new(AppUser::CreatedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(AppUser::UpdatedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(AppUser::Version).integer().not_null().default(1))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Organization::Table)
                    .col(ColumnDef::new(Organization::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Organization::Kind).string_len(16).not_null())
                    .col(ColumnDef::new(Organization::Name).string_len(200).not_null())
                    .col(ColumnDef::new(Organization::Slug).string_len(80).not_null().unique_key())
                    .col(ColumnDef::new(Organization::Description).text().not_null())
                    .col(ColumnDef::new(Organization::Website).string_len(500).null())
                    .col(ColumnDef::new(Organization::Street).string_len(200).null())
                    .col(ColumnDef::new(Organization::PostalCode).string_len(10).null())
                    .col(ColumnDef::new(Organization::City).string_len(120).null())
                    .col(ColumnDef::new(Organization::Bundesland).string_len(8).null())
                    .col(ColumnDef::new(Organization::Country).string_len(2).not_null())
                    .col(ColumnDef::new(Organization::Latitude).double().null())
                    .col(ColumnDef::new(Organization::Longitude).double().null())
                    .col(ColumnDef::new(Organization::EmployeeCount).integer().null())
                    .col(ColumnDef::new(Organization::AzavCertified).boolean().not_null().default(false))
                    .col(ColumnDef::new(Organization::Verified).boolean().not_null().default(false))
                    .col(ColumnDef::new(Organization::CreatedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(Organization::UpdatedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(Organization::Version).integer().not_null().default(1))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_organization_kind_id")
                    .table(Organization::Table)
                    .col(Organization::Kind)
                    .col(Organization::Id)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Membership::Table)
                    .col(ColumnDef::new(Membership::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Membership::OrganizationId).uuid().not_null())
                    .col(ColumnDef::new(Membership::UserId).uuid().not_null())
                    .col(ColumnDef::new(Membership::Role).string_len(16).not_null())
                    .col(ColumnDef::new(Membership::CreatedAt).timestamp_with_time_zone().not_null())
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_membership_organization")
                            .from(Membership::Table, Membership::OrganizationId)
                            .to(Organization::Table, Organization::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_membership_user")
                            .from(Membership::Table, Membership::UserId)
                            .to(AppUser::Table, AppUser::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_membership_organization_user")
                    .table(Membership::Table)
                    .col(Membership::OrganizationId)
                    .col(Membership::UserId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_membership_user")
                    .table(Membership::Table)
                    .col(Membership::UserId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(RefreshToken::Table)
                    .col(ColumnDef::new(RefreshToken::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(RefreshToken::UserId).uuid().not_null())
                    .col(ColumnDef::new(RefreshToken::FamilyId).uuid().not_null())
                    .col(ColumnDef::new(RefreshToken::TokenHash).string_len(64).not_null().unique_key())
                    .col(ColumnDef::new(RefreshToken::ExpiresAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(RefreshToken::CreatedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(RefreshToken::UsedAt).timestamp_with_time_zone().null())
                    .col(ColumnDef::new(RefreshToken::RevokedAt).timestamp_with_time_zone().null())
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_refresh_token_user")
                            .from(RefreshToken::Table, RefreshToken::UserId)
                            .to(AppUser::Table, AppUser::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_refresh_token_family")
                    .table(RefreshToken::Table)
                    .col(RefreshToken::FamilyId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            RefreshToken::Table.into_iden(),
            Membership::Table.into_iden(),
            Organization::Table.into_iden(),
            AppUser::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
