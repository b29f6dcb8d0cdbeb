//! Domain events for subscriptions.
//!
//! On SQLite (one instance) the bus is a tokio broadcast channel. On PostgreSQL every event is sent
//! with `pg_notify` and each instance `LISTEN`s and rebroadcasts what arrives to its own subscribers,
//! so a subscriber sees the events of writes served by any instance. Publishers and subscribers only
//! see [`EventBus`]; which transport runs is decided once at start-up.

use chrono::{DateTime, Utc};
use entity::membership::MembershipRole;
use sea_orm::sqlx::postgres::PgListener;
use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection, DbErr, RuntimeErr, Statement};
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, mpsc};
use uuid::Uuid;

use crate::error::ApiError;
use crate::outage::OutageLog;

/// The PostgreSQL notification channel.
const CHANNEL: &str = "bildungsmarkt_events";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OrganizationEventKind {
    MemberAdded,
    MemberRemoved,
    MemberRoleChanged,
    OrganizationUpdated,
}

/// What happened to an offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OfferChange {
    Submitted,
    Accepted,
    Declined,
    Withdrawn,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum DomainEvent {
    Organization {
        organization_id: Uuid,
        kind: OrganizationEventKind,
        user_id: Option<Uuid>,
        /// The role's stored name.
        role: Option<String>,
        occurred_at: DateTime<Utc>,
    },
    /// An opened need matches one of a provider's courses above the lead threshold.
    NewLead {
        provider_id: Uuid,
        need_id: Uuid,
        course_id: Uuid,
        offering_id: Option<Uuid>,
        score: u8,
        occurred_at: DateTime<Utc>,
    },
    OfferUpdate {
        need_id: Uuid,
        offer_id: Uuid,
        provider_id: Uuid,
        change: OfferChange,
        occurred_at: DateTime<Utc>,
    },
}

impl DomainEvent {
    pub fn organization(
        organization_id: Uuid,
        kind: OrganizationEventKind,
        user_id: Option<Uuid>,
        role: Option<MembershipRole>,
    ) -> Self {
        use sea_orm::ActiveEnum;
        Self::Organization {
            organization_id,
            kind,
            user_id,
            role: role.map(|r| r.to_value()),
            occurred_at: Utc::now(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct EventBus {
    local: broadcast::Sender<DomainEvent>,
    /// Set on PostgreSQL: events go out through `pg_notify` and come back through `LISTEN`.
    notify: Option<mpsc::UnboundedSender<DomainEvent>>,
}

impl Default for EventBus {
    fn default() -> Self {
        Self::new()
    }
}

impl EventBus {
    /// An in-process bus.
    pub fn new() -> Self {
        let (local, _) = broadcast::channel(1024);
        Self { local, notify: None }
    }

    /// The bus for `db`: in-process on SQLite; across instances on PostgreSQL. Spawns the sending and
    /// listening tasks on the current runtime.
    pub fn for_database(db: &DatabaseConnection) -> Self {
        let mut bus = Self::new();
        if db.get_database_backend() != DatabaseBackend::Postgres {
            return bus;
        }
        let (sender, receiver) = mpsc::unbounded_channel();
        tokio::spawn(send_notifications(db.clone(), receiver));
        tokio::spawn(listen(db.clone(), bus.local.clone()));
        bus.notify = Some(sender);
        bus
    }

    /// Fire and forget: no subscriber is not an error.
    pub fn publish(&self, event: DomainEvent) {
        match &self.notify {
            Some(notify) => {
                if notify.send(event).is_err() {
                    tracing::warn!("event notifier stopped; an event was not sent");
                }
            }
            None => {
                let _ = self.local.send(event);
            }
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<DomainEvent> {
        self.local.subscribe()
    }
}

/// Sends events in publishing order (one task, so they keep it).
async fn send_notifications(db: DatabaseConnection, mut events: mpsc::UnboundedReceiver<DomainEvent>) {
    while let Some(event) = events.recv().await {
        let payload = match serde_json::to_string(&event) {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(error = %e, "serialising an event failed");
                continue;
            }
        };
        let statement = Statement::from_sql_and_values(
            DatabaseBackend::Postgres,
            "SELECT pg_notify($1, $2)",
            [CHANNEL.into(), payload.into()],
        );
        if let Err(e) = db.execute_raw(statement).await {
            tracing::warn!(error = %e, "pg_notify failed; an event was not sent");
        }
    }
}

/// Rebroadcasts notifications to this instance's subscribers; reconnects after errors.
async fn listen(db: DatabaseConnection, local: broadcast::Sender<DomainEvent>) {
    // Connecting to LISTEN fails only while the database cannot be reached.
    let unreachable = |e| ApiError::from(DbErr::Conn(RuntimeErr::SqlxError(std::sync::Arc::new(e))));
    let outage = OutageLog::new("event listener");
    loop {
        let pool = db.get_postgres_connection_pool();
        let mut listener = match PgListener::connect_with(pool).await {
            Ok(l) => l,
            Err(e) => {
                outage.failed("opening the LISTEN connection", &unreachable(e));
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                continue;
            }
        };
        if let Err(e) = listener.listen(CHANNEL).await {
            outage.failed("LISTEN", &unreachable(e));
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            continue;
        }
        outage.succeeded();
        loop {
            match listener.recv().await {
                Ok(notification) => match serde_json::from_str::<DomainEvent>(notification.payload()) {
                    Ok(event) => {
                        let _ = local.send(event);
                    }
                    Err(e) => tracing::warn!(error = %e, "ignoring an unreadable event notification"),
                },
                Err(e) => {
                    tracing::warn!(error = %e, "LISTEN connection lost; reconnecting");
                    break;
                }
            }
        }
    }
}
