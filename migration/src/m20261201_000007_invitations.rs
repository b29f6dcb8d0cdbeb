//! Invitations into organizations: an OWNER or ADMIN invites an email with a role; membership starts
//! only when the person with that email accepts.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Invitation {
    Table,
    Id,
    OrganizationId,
    Email,
    Role,
    Status,
    InvitedBy,
    CreatedAt,
    ExpiresAt,
    RespondedAt,
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
                    .table(Invitation::Table)
                    .col(ColumnDef::new(Invitation::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Invitation::OrganizationId).uuid().not_null())
                    .col(ColumnDef::new(Invitation::Email).string_len(320).not_null())
                    .col(ColumnDef::new(Invitation::Role).string_len(16).not_null())
                    .col(ColumnDef::new(Invitation::Status).string_len(16).not_null())
                    .col(ColumnDef::new(Invitation::InvitedBy).uuid().null())
                    .col(ColumnDef::new(Invitation::CreatedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(Invitation::ExpiresAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(Invitation::RespondedAt).timestamp_with_time_zone().null())
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_invitation_organization")
                            .from(Invitation::Table, Invitation::OrganizationId)
                            .to(Organization::Table, Organization::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_invitation_invited_by")
                            .from(Invitation::Table, Invitation::InvitedBy)
                            .to(AppUser::Table, AppUser::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_invitation_organization")
                    .table(Invitation::Table)
                    .col(Invitation::OrganizationId)
                    .to_owned(),
            )
            .await?;
        // `myInvitations` looks up the caller's email.
        manager
            .create_index(
                Index::create()
                    .name("idx_invitation_email")
                    .table(Invitation::Table)
                    .col(Invitation::Email)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Invitation::Table).to_owned()).await
    }
}
