//! Alert dispatch and webhook delivery move onto `background_job`.
//!
//! Pending alert events of `event_outbox` become `alert.dispatch` jobs (same payload), pending
//! webhook deliveries get a `webhook.deliver` job each; then the outbox table and the deliveries'
//! own claim column go. Nothing pending is lost on upgrade.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::ConnectionTrait;
use sea_orm_migration::sea_orm::prelude::{DateTimeUtc, Uuid};

use crate::m20261202_000008_background_jobs::BackgroundJob;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum EventOutbox {
    Table,
    Id,
    Payload,
    CreatedAt,
    AvailableAt,
    Attempts,
    LastError,
    ProcessedAt,
}

#[derive(DeriveIden)]
enum WebhookDelivery {
    Table,
    Id,
    Status,
    Attempts,
    NextAttemptAt,
    CreatedAt,
    ClaimedUntil,
}

/// The defaults of `Job::MAX_ATTEMPTS` for alerts and of `APP_WEBHOOK_MAX_ATTEMPTS`.
const ALERT_MAX_ATTEMPTS: i32 = 10;
const WEBHOOK_MAX_ATTEMPTS: i32 = 8;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let events = db
            .query_all(
                &Query::select()
                    .columns([
                        EventOutbox::Id,
                        EventOutbox::Payload,
                        EventOutbox::CreatedAt,
                        EventOutbox::AvailableAt,
                        EventOutbox::Attempts,
                        EventOutbox::LastError,
                    ])
                    .from(EventOutbox::Table)
                    .and_where(Expr::col(EventOutbox::ProcessedAt).is_null())
                    .order_by(EventOutbox::Id, Order::Asc)
                    .to_owned(),
            )
            .await?;
        for row in events {
            let attempts: i32 = row.try_get("", "attempts")?;
            let job = Job {
                kind: "alert.dispatch",
                payload: row.try_get("", "payload")?,
                attempts: Ord::min(attempts, ALERT_MAX_ATTEMPTS - 1),
                max_attempts: ALERT_MAX_ATTEMPTS,
                run_at: row.try_get("", "available_at")?,
                created_at: row.try_get("", "created_at")?,
                last_error: row.try_get("", "last_error")?,
            };
            job.insert(db).await?;
        }
        let deliveries = db
            .query_all(
                &Query::select()
                    .columns([
                        WebhookDelivery::Id,
                        WebhookDelivery::Attempts,
                        WebhookDelivery::NextAttemptAt,
                        WebhookDelivery::CreatedAt,
                    ])
                    .from(WebhookDelivery::Table)
                    .and_where(Expr::col(WebhookDelivery::Status).eq("PENDING"))
                    .to_owned(),
            )
            .await?;
        for row in deliveries {
            let id: Uuid = row.try_get("", "id")?;
            let attempts: i32 = row.try_get("", "attempts")?;
            let job = Job {
                kind: "webhook.deliver",
                payload: format!(r#"{{"delivery_id":"{id}"}}"#),
                attempts,
                max_attempts: Ord::max(WEBHOOK_MAX_ATTEMPTS, attempts + 1),
                run_at: row.try_get("", "next_attempt_at")?,
                created_at: row.try_get("", "created_at")?,
                last_error: None,
            };
            job.insert(db).await?;
        }
        manager.drop_table(Table::drop().table(EventOutbox::Table).to_owned()).await?;
        manager
            .alter_table(
                Table::alter()
                    .table(WebhookDelivery::Table)
                    .drop_column(WebhookDelivery::ClaimedUntil)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration("alert jobs cannot be moved back into event_outbox".into()))
    }
}

/// A PENDING job row written by this migration.
struct Job {
    kind: &'static str,
    payload: String,
    attempts: i32,
    max_attempts: i32,
    run_at: DateTimeUtc,
    created_at: DateTimeUtc,
    last_error: Option<String>,
}

impl Job {
    async fn insert(self, db: &impl ConnectionTrait) -> Result<(), DbErr> {
        let insert = Query::insert()
            .into_table(BackgroundJob::Table)
            .columns([
                BackgroundJob::Kind,
                BackgroundJob::Payload,
                BackgroundJob::Priority,
                BackgroundJob::State,
                BackgroundJob::Attempts,
                BackgroundJob::MaxAttempts,
                BackgroundJob::RunAt,
                BackgroundJob::LastError,
                BackgroundJob::CreatedAt,
            ])
            .values_panic([
                self.kind.into(),
                self.payload.into(),
                0.into(),
                "PENDING".into(),
                self.attempts.into(),
                self.max_attempts.into(),
                self.run_at.into(),
                self.last_error.into(),
                self.created_at.into(),
            ])
            .to_owned();
        db.execute(&insert).await?;
        Ok(())
    }
}
