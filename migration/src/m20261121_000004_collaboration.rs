//! Collaboration around needs: the language a need asks for, firms pooling participants, providers'
//! offers, and the event outbox that turns those changes into live alerts and signed webhook
//! deliveries.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum QualificationNeed {
    Table,
    Id,
    Language,
}

#[derive(DeriveIden)]
enum Organization {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Offering {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum NeedParticipation {
    Table,
    Id,
    NeedId,
    FirmId,
    Participants,
    Note,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Offer {
    Table,
    Id,
    NeedId,
    ProviderId,
    OfferingId,
    Title,
    StartDate,
    EndDate,
    PriceCentsPerParticipant,
    Inhouse,
    Message,
    Status,
    CreatedAt,
    UpdatedAt,
    DecidedAt,
    Version,
}

#[derive(DeriveIden)]
enum WebhookEndpoint {
    Table,
    Id,
    OrganizationId,
    Url,
    Secret,
    EventTypes,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum WebhookDelivery {
    Table,
    Id,
    EndpointId,
    OrganizationId,
    EventId,
    EventType,
    Payload,
    Status,
    Attempts,
    NextAttemptAt,
    ClaimedUntil,
    LastStatusCode,
    LastError,
    CreatedAt,
    DeliveredAt,
}

#[derive(DeriveIden)]
enum EventOutbox {
    Table,
    Id,
    Kind,
    Payload,
    CreatedAt,
    AvailableAt,
    Attempts,
    LastError,
    ClaimedUntil,
    ProcessedAt,
}

fn timestamp(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).timestamp_with_time_zone().not_null().to_owned()
}

fn cascade(
    name: &str,
    from: (impl IntoIden, impl IntoIden),
    to: (impl IntoIden, impl IntoIden),
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(from.0, from.1)
        .to(to.0, to.1)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(QualificationNeed::Table)
                    .add_column(
                        ColumnDef::new(QualificationNeed::Language).string_len(8).not_null().default("de"),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(NeedParticipation::Table)
                    .col(ColumnDef::new(NeedParticipation::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(NeedParticipation::NeedId).uuid().not_null())
                    .col(ColumnDef::new(NeedParticipation::FirmId).uuid().not_null())
                    .col(ColumnDef::new(NeedParticipation::Participants).integer().not_null())
                    .col(ColumnDef::new(NeedParticipation::Note).text().null())
                    .col(timestamp(NeedParticipation::CreatedAt))
                    .col(timestamp(NeedParticipation::UpdatedAt))
                    .foreign_key(&mut cascade(
                        "fk_participation_need",
                        (NeedParticipation::Table, NeedParticipation::NeedId),
                        (QualificationNeed::Table, QualificationNeed::Id),
                    ))
                    .foreign_key(&mut cascade(
                        "fk_participation_firm",
                        (NeedParticipation::Table, NeedParticipation::FirmId),
                        (Organization::Table, Organization::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_participation_need_firm")
                    .table(NeedParticipation::Table)
                    .col(NeedParticipation::NeedId)
                    .col(NeedParticipation::FirmId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_participation_firm")
                    .table(NeedParticipation::Table)
                    .col(NeedParticipation::FirmId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Offer::Table)
                    .col(ColumnDef::new(Offer::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Offer::NeedId).uuid().not_null())
                    .col(ColumnDef::new(Offer::ProviderId).uuid().not_null())
                    .col(ColumnDef::new(Offer::OfferingId).uuid().null())
                    .col(ColumnDef::new(Offer::Title).string_len(200).null())
                    .col(ColumnDef::new(Offer::StartDate).date().null())
                    .col(ColumnDef::new(Offer::EndDate).date().null())
                    .col(ColumnDef::new(Offer::PriceCentsPerParticipant).big_integer().null())
                    .col(ColumnDef::new(Offer::Inhouse).boolean().not_null().default(false))
                    .col(ColumnDef::new(Offer::Message).text().not_null())
                    .col(ColumnDef::new(Offer::Status).string_len(16).not_null())
                    .col(timestamp(Offer::CreatedAt))
                    .col(timestamp(Offer::UpdatedAt))
                    .col(ColumnDef::new(Offer::DecidedAt).timestamp_with_time_zone().null())
                    .col(ColumnDef::new(Offer::Version).integer().not_null().default(1))
                    .foreign_key(&mut cascade(
                        "fk_offer_need",
                        (Offer::Table, Offer::NeedId),
                        (QualificationNeed::Table, QualificationNeed::Id),
                    ))
                    .foreign_key(&mut cascade(
                        "fk_offer_provider",
                        (Offer::Table, Offer::ProviderId),
                        (Organization::Table, Organization::Id),
                    ))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_offer_offering")
                            .from(Offer::Table, Offer::OfferingId)
                            .to(Offering::Table, Offering::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_offer_need")
                    .table(Offer::Table)
                    .col(Offer::NeedId)
                    .col(Offer::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_offer_provider")
                    .table(Offer::Table)
                    .col(Offer::ProviderId)
                    .col(Offer::Id)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(WebhookEndpoint::Table)
                    .col(ColumnDef::new(WebhookEndpoint::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(WebhookEndpoint::OrganizationId).uuid().not_null())
                    .col(ColumnDef::new(WebhookEndpoint::Url).string_len(2048).not_null())
                    .col(ColumnDef::new(WebhookEndpoint::Secret).string_len(128).not_null())
                    .col(ColumnDef::new(WebhookEndpoint::EventTypes).text().not_null())
                    .col(ColumnDef::new(WebhookEndpoint::CreatedBy).uuid().not_null())
                    .col(timestamp(WebhookEndpoint::CreatedAt))
                    .foreign_key(&mut cascade(
                        "fk_webhook_endpoint_organization",
                        (WebhookEndpoint::Table, WebhookEndpoint::OrganizationId),
                        (Organization::Table, Organization::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_webhook_endpoint_organization")
                    .table(WebhookEndpoint::Table)
                    .col(WebhookEndpoint::OrganizationId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(WebhookDelivery::Table)
                    .col(ColumnDef::new(WebhookDelivery::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(WebhookDelivery::EndpointId).uuid().not_null())
                    .col(ColumnDef::new(WebhookDelivery::OrganizationId).uuid().not_null())
                    .col(ColumnDef::new(WebhookDelivery::EventId).uuid().not_null())
                    .col(ColumnDef::new(WebhookDelivery::EventType).string_len(40).not_null())
                    .col(ColumnDef::new(WebhookDelivery::Payload).text().not_null())
                    .col(ColumnDef::new(WebhookDelivery::Status).string_len(16).not_null())
                    .col(ColumnDef::new(WebhookDelivery::Attempts).integer().not_null().default(0))
                    .col(timestamp(WebhookDelivery::NextAttemptAt))
                    .col(ColumnDef::new(WebhookDelivery::ClaimedUntil).timestamp_with_time_zone().null())
                    .col(ColumnDef::new(WebhookDelivery::LastStatusCode).integer().null())
                    .col(ColumnDef::new(WebhookDelivery::LastError).text().null())
                    .col(timestamp(WebhookDelivery::CreatedAt))
                    .col(ColumnDef::new(WebhookDelivery::DeliveredAt).timestamp_with_time_zone().null())
                    .foreign_key(&mut cascade(
                        "fk_webhook_delivery_endpoint",
                        (WebhookDelivery::Table, WebhookDelivery::EndpointId),
                        (WebhookEndpoint::Table, WebhookEndpoint::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_webhook_delivery_due")
                    .table(WebhookDelivery::Table)
                    .col(WebhookDelivery::Status)
                    .col(WebhookDelivery::NextAttemptAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_webhook_delivery_organization")
                    .table(WebhookDelivery::Table)
                    .col(WebhookDelivery::OrganizationId)
                    .col(WebhookDelivery::Id)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(EventOutbox::Table)
                    .col(
                        ColumnDef::new(EventOutbox::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(EventOutbox::Kind).string_len(40).not_null())
                    .col(ColumnDef::new(EventOutbox::Payload).text().not_null())
                    .col(timestamp(EventOutbox::CreatedAt))
                    .col(timestamp(EventOutbox::AvailableAt))
                    .col(ColumnDef::new(EventOutbox::Attempts).integer().not_null().default(0))
                    .col(ColumnDef::new(EventOutbox::LastError).text().null())
                    .col(ColumnDef::new(EventOutbox::ClaimedUntil).timestamp_with_time_zone().null())
                    .col(ColumnDef::new(EventOutbox::ProcessedAt).timestamp_with_time_zone().null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_event_outbox_pending")
                    .table(EventOutbox::Table)
                    .col(EventOutbox::ProcessedAt)
                    .col(EventOutbox::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            EventOutbox::Table.into_iden(),
            WebhookDelivery::Table.into_iden(),
            WebhookEndpoint::Table.into_iden(),
            Offer::Table.into_iden(),
            NeedParticipation::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(QualificationNeed::Table)
                    .drop_column(QualificationNeed::Language)
                    .to_owned(),
            )
            .await
    }
}
