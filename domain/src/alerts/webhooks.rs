//! Webhook deliveries: written per subscribed endpoint in the dispatcher's transaction, sent by the
//! [`Sender`] with an HMAC-SHA256 signature, retried with exponential backoff and recorded.
//!
//! Signature scheme (documented in the README): header
//! `Bildungsmarkt-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`; receivers
//! recompute it over the raw body and reject timestamps older than a few minutes.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use entity::webhook_delivery::{self as delivery, DeliveryStatus};
use entity::webhook_endpoint as endpoint;
use hmac::{Hmac, Mac};
use sea_orm::sea_query::{Expr, LockBehavior, LockType};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseBackend, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use serde_json::json;
use sha2::Sha256;
use uuid::Uuid;

use super::EventType;
use crate::config::AlertSettings;
use crate::db;
use crate::error::{ApiError, ApiResult};
use crate::metrics::Metrics;
use crate::outage::OutageLog;
use crate::service::json_list;
use crate::service::webhooks::is_public;
use crate::shutdown::Stop;

pub const SIGNATURE_HEADER: &str = "Bildungsmarkt-Signature";
pub const EVENT_HEADER: &str = "Bildungsmarkt-Event";
pub const DELIVERY_HEADER: &str = "Bildungsmarkt-Delivery";
const BATCH: u64 = 20;
const TIMEOUT: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_millis(200);

/// `v1` of the signature: hex HMAC-SHA256 over `"{timestamp}.{body}"`.
pub fn sign(secret: &str, timestamp: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Queues `data` as an `event_type` event for every endpoint of `organization_id` subscribed to it.
pub async fn enqueue(
    txn: &impl ConnectionTrait,
    organization_id: Uuid,
    event_type: EventType,
    data: serde_json::Value,
) -> ApiResult<usize> {
    let endpoints = endpoint::Entity::find()
        .filter(endpoint::Column::OrganizationId.eq(organization_id))
        .all(txn)
        .await?;
    let now = Utc::now();
    let type_name = json_list::name(&event_type);
    let mut queued = 0;
    for ep in endpoints {
        if !json_list::decode::<EventType>(&ep.event_types).contains(&event_type) {
            continue;
        }
        let event_id = Uuid::now_v7();
        let payload = json!({
            "id": event_id,
            "type": type_name,
            "createdAt": now,
            "organizationId": organization_id,
            "data": data,
        })
        .to_string();
        delivery::Entity::insert(delivery::ActiveModel {
            id: Set(Uuid::now_v7()),
            endpoint_id: Set(ep.id),
            organization_id: Set(organization_id),
            event_id: Set(event_id),
            event_type: Set(type_name.clone()),
            payload: Set(payload),
            status: Set(DeliveryStatus::Pending),
            attempts: Set(0),
            next_attempt_at: Set(now),
            claimed_until: Set(None),
            last_status_code: Set(None),
            last_error: Set(None),
            created_at: Set(now),
            delivered_at: Set(None),
        })
        .exec(txn)
        .await?;
        queued += 1;
    }
    Ok(queued)
}

/// Sends due deliveries until the task is dropped.
pub struct Sender {
    db: DatabaseConnection,
    client: reqwest::Client,
    settings: AlertSettings,
    metrics: Arc<Metrics>,
}

impl Sender {
    /// `settings.webhook_allow_loopback_http` must already be off in production (see
    /// [`crate::config::Settings::allows_loopback_webhooks`]).
    pub fn new(db: DatabaseConnection, settings: AlertSettings, metrics: Arc<Metrics>) -> ApiResult<Self> {
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .dns_resolver(Arc::new(PublicOnly { allow_loopback: settings.webhook_allow_loopback_http }))
            // A redirect could lead the request somewhere the endpoint check never saw.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent("Bildungsmarkt-Webhooks/1")
            .build()
            .map_err(|e| ApiError::Internal(e.into()))?;
        Ok(Self { db, client, settings, metrics })
    }

    /// Runs until `stop` fires; deliveries in flight are finished and recorded first.
    pub async fn run(self, mut stop: Stop) {
        let outage = OutageLog::new("webhook sender");
        while !stop.is_stopping() {
            let sent = self.send_due().await;
            if sent.is_ok() {
                outage.succeeded();
            }
            let stopping = match sent {
                Ok(0) => stop.sleep(POLL).await,
                Ok(_) => false,
                Err(e) => {
                    outage.failed("sending webhooks", &e);
                    stop.sleep(Duration::from_secs(1)).await
                }
            };
            if stopping {
                break;
            }
        }
    }

    /// Sends one batch of due deliveries concurrently; returns how many were attempted.
    pub async fn send_due(&self) -> ApiResult<usize> {
        let due = claim(&self.db).await?;
        let count = due.len();
        futures_util::future::join_all(due.into_iter().map(|(d, ep)| self.attempt(d, ep))).await;
        Ok(count)
    }

    async fn attempt(&self, d: delivery::Model, ep: endpoint::Model) {
        // Addresses in the URL bypass the resolver's check.
        let literal = reqwest::Url::parse(&ep.url).ok().and_then(|u| {
            u.host_str().and_then(|h| {
                h.trim_start_matches('[').trim_end_matches(']').parse::<std::net::IpAddr>().ok()
            })
        });
        if literal.is_some_and(|ip| {
            !(is_public(ip) || self.settings.webhook_allow_loopback_http && ip.is_loopback())
        }) {
            if let Err(e) = self.record(&d, None, Some("address not allowed".to_owned())).await {
                tracing::warn!(error = ?e, delivery = %d.id, "recording a webhook attempt failed");
            }
            return;
        }
        let timestamp = Utc::now().timestamp();
        let signature = format!("t={timestamp},v1={}", sign(&ep.secret, timestamp, &d.payload));
        let response = self
            .client
            .post(&ep.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(SIGNATURE_HEADER, signature)
            .header(EVENT_HEADER, &d.event_type)
            .header(DELIVERY_HEADER, d.id.to_string())
            .body(d.payload.clone())
            .send()
            .await;
        // Only coarse outcomes are recorded: details of failed connections would map the network.
        let (status_code, error) = match response {
            Ok(r) if r.status().is_success() => (Some(r.status().as_u16() as i32), None),
            Ok(r) => (Some(r.status().as_u16() as i32), Some(format!("endpoint answered {}", r.status()))),
            Err(e) if e.is_timeout() => (None, Some("no answer within 10 s".to_owned())),
            Err(e) if e.is_connect() => (None, Some("could not connect".to_owned())),
            Err(_) => (None, Some("request failed".to_owned())),
        };
        if let Err(e) = self.record(&d, status_code, error).await {
            tracing::warn!(error = ?e, delivery = %d.id, "recording a webhook attempt failed");
        }
    }

    async fn record(
        &self,
        d: &delivery::Model,
        status_code: Option<i32>,
        error: Option<String>,
    ) -> ApiResult<()> {
        let attempts = d.attempts + 1;
        let now = Utc::now();
        let mut update = delivery::Entity::update_many()
            .col_expr(delivery::Column::Attempts, Expr::value(attempts))
            .col_expr(delivery::Column::LastStatusCode, Expr::value(status_code))
            .col_expr(delivery::Column::LastError, Expr::value(error.clone()))
            .col_expr(delivery::Column::ClaimedUntil, Expr::value(Option::<chrono::DateTime<Utc>>::None));
        self.metrics.webhook(match &error {
            None => "delivered",
            Some(_) if attempts >= self.settings.webhook_max_attempts => "failed",
            Some(_) => "retry",
        });
        update = match error {
            None => update
                .col_expr(delivery::Column::Status, Expr::value(DeliveryStatus::Delivered))
                .col_expr(delivery::Column::DeliveredAt, Expr::value(Some(now))),
            Some(_) if attempts >= self.settings.webhook_max_attempts => {
                update.col_expr(delivery::Column::Status, Expr::value(DeliveryStatus::Failed))
            }
            Some(_) => {
                let base = self.settings.webhook_retry_base_ms.max(1);
                let delay_ms = base.saturating_mul(1 << (attempts - 1).clamp(0, 16)).min(3_600_000);
                update.col_expr(
                    delivery::Column::NextAttemptAt,
                    Expr::value(now + chrono::Duration::milliseconds(delay_ms as i64)),
                )
            }
        };
        update.filter(delivery::Column::Id.eq(d.id)).exec(&self.db).await?;
        Ok(())
    }
}

/// Resolves endpoint host names to public addresses only, so a name that points into the server's
/// own network (or is rebound to it later) is never called.
struct PublicOnly {
    allow_loopback: bool,
}

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_loopback = self.allow_loopback;
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), 0))
                .await?
                .filter(|a| is_public(a.ip()) || allow_loopback && a.ip().is_loopback())
                .collect();
            if addrs.is_empty() {
                return Err(format!("{} has no public address", name.as_str()).into());
            }
            let addrs: reqwest::dns::Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

/// Claims due deliveries with a lease, with their endpoints.
async fn claim(db: &DatabaseConnection) -> ApiResult<Vec<(delivery::Model, endpoint::Model)>> {
    let due = |now| {
        delivery::Entity::find()
            .filter(delivery::Column::Status.eq(DeliveryStatus::Pending))
            .filter(delivery::Column::NextAttemptAt.lte(now))
            .filter(
                Condition::any()
                    .add(delivery::Column::ClaimedUntil.is_null())
                    .add(delivery::Column::ClaimedUntil.lte(now)),
            )
    };
    // Idle polls only read: on SQLite a write transaction would take the single write lock.
    if due(Utc::now()).one(db).await?.is_none() {
        return Ok(Vec::new());
    }
    let txn = db::begin_write(db).await?;
    let now = Utc::now();
    let mut select = due(now).order_by_asc(delivery::Column::NextAttemptAt).limit(BATCH);
    if db.get_database_backend() == DatabaseBackend::Postgres {
        select = select.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
    }
    let rows = select.all(&txn).await?;
    if rows.is_empty() {
        txn.commit().await?;
        return Ok(Vec::new());
    }
    let lease =
        now + chrono::Duration::from_std(TIMEOUT * 3).unwrap_or_else(|_| chrono::Duration::seconds(30));
    delivery::Entity::update_many()
        .col_expr(delivery::Column::ClaimedUntil, Expr::value(lease))
        .filter(delivery::Column::Id.is_in(rows.iter().map(|r| r.id)))
        .exec(&txn)
        .await?;
    let endpoints = endpoint::Entity::find()
        .filter(endpoint::Column::Id.is_in(rows.iter().map(|r| r.endpoint_id)))
        .all(&txn)
        .await?;
    txn.commit().await?;
    Ok(rows
        .into_iter()
        .filter_map(|d| endpoints.iter().find(|e| e.id == d.endpoint_id).cloned().map(|e| (d, e)))
        .collect())
}
