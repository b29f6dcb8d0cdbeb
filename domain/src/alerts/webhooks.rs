//! Webhook deliveries: a `webhook_delivery` row per subscribed endpoint, written in the dispatcher's
//! transaction with a `webhook.deliver` job ([`DeliverWebhook`]) that sends it with an HMAC-SHA256
//! signature; the job runner retries it with exponential backoff, and each attempt is recorded on
//! the row the API shows.
//!
//! Signature scheme (documented in the README): header
//! `Bildungsmarkt-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`; receivers
//! recompute it over the raw body and reject timestamps older than a few minutes.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use chrono::Utc;
use entity::webhook_delivery::{self as delivery, DeliveryStatus};
use entity::webhook_endpoint as endpoint;
use hmac::{Hmac, Mac};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::Sha256;
use uuid::Uuid;

use super::EventType;
use crate::context::AppState;
use crate::error::{ApiError, ApiResult};
use crate::jobs::{self, EnqueueOptions, Job};
use crate::service::json_list;
use crate::service::webhooks::is_public;

pub const SIGNATURE_HEADER: &str = "Bildungsmarkt-Signature";
pub const EVENT_HEADER: &str = "Bildungsmarkt-Event";
pub const DELIVERY_HEADER: &str = "Bildungsmarkt-Delivery";
const TIMEOUT: Duration = Duration::from_secs(10);

/// `v1` of the signature: hex HMAC-SHA256 over `"{timestamp}.{body}"`.
pub fn sign(secret: &str, timestamp: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Queues `data` as an `event_type` event for every endpoint of `organization_id` subscribed to it,
/// each with a delivery job of `max_attempts`. The event ids derive from `source` (the alert event),
/// so queueing the same event again adds nothing.
pub async fn enqueue(
    txn: &impl ConnectionTrait,
    source: Uuid,
    organization_id: Uuid,
    event_type: EventType,
    data: serde_json::Value,
    max_attempts: i32,
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
        let event_id = Uuid::new_v5(&source, format!("{}:{type_name}", ep.id).as_bytes());
        let seen = delivery::Entity::find().filter(delivery::Column::EventId.eq(event_id)).one(txn).await?;
        if seen.is_some() {
            continue;
        }
        let payload = json!({
            "id": event_id,
            "type": type_name,
            "createdAt": now,
            "organizationId": organization_id,
            "data": data,
        })
        .to_string();
        let id = Uuid::now_v7();
        delivery::Entity::insert(delivery::ActiveModel {
            id: Set(id),
            endpoint_id: Set(ep.id),
            organization_id: Set(organization_id),
            event_id: Set(event_id),
            event_type: Set(type_name.clone()),
            payload: Set(payload),
            status: Set(DeliveryStatus::Pending),
            attempts: Set(0),
            next_attempt_at: Set(now),
            last_status_code: Set(None),
            last_error: Set(None),
            created_at: Set(now),
            delivered_at: Set(None),
        })
        .exec(txn)
        .await?;
        let options = EnqueueOptions { max_attempts: Some(max_attempts), ..EnqueueOptions::default() };
        jobs::enqueue_with(txn, &DeliverWebhook { delivery_id: id }, options).await?;
        queued += 1;
    }
    Ok(queued)
}

/// Sends one `webhook_delivery` row and records the attempt on it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeliverWebhook {
    pub delivery_id: Uuid,
}

impl Job for DeliverWebhook {
    const KIND: &'static str = "webhook.deliver";
    const MAX_ATTEMPTS: i32 = 8;

    fn backoff_base(state: &AppState) -> Duration {
        Duration::from_millis(state.settings.alerts.webhook_retry_base_ms.max(1))
    }

    /// Fails (so the runner retries) while the endpoint does not take it; succeeds once it did, or
    /// when there is nothing left to send (delivered, given up, endpoint deleted).
    async fn run(&self, state: &AppState) -> ApiResult<()> {
        let Some(d) = delivery::Entity::find_by_id(self.delivery_id).one(&state.db).await? else {
            return Ok(());
        };
        if d.status != DeliveryStatus::Pending {
            return Ok(());
        }
        let Some(ep) = endpoint::Entity::find_by_id(d.endpoint_id).one(&state.db).await? else {
            return Ok(());
        };
        let allow_loopback = state.settings.allows_loopback_webhooks();
        let (status_code, error) = attempt(&d, &ep, allow_loopback).await?;
        let status = record(state, &d, status_code, error.clone()).await?;
        match (error, status) {
            (None, _) => Ok(()),
            (Some(error), DeliveryStatus::Failed) => {
                Err(ApiError::Internal(anyhow::anyhow!("gave up after {} attempts: {error}", d.attempts + 1)))
            }
            (Some(error), _) => Err(ApiError::Internal(anyhow::anyhow!("{error}"))),
        }
    }
}

/// One client per loopback rule, built once: it holds the connection pool and the TLS set-up.
fn client(allow_loopback: bool) -> ApiResult<reqwest::Client> {
    static STRICT: OnceLock<reqwest::Client> = OnceLock::new();
    static LOOPBACK: OnceLock<reqwest::Client> = OnceLock::new();
    let cell = if allow_loopback { &LOOPBACK } else { &STRICT };
    if let Some(client) = cell.get() {
        return Ok(client.clone());
    }
    let client = reqwest::Client::builder()
        .timeout(TIMEOUT)
        .dns_resolver(Arc::new(PublicOnly { allow_loopback }))
        // A redirect could lead the request somewhere the endpoint check never saw.
        .redirect(reqwest::redirect::Policy::none())
        .user_agent("Bildungsmarkt-Webhooks/1")
        .build()
        .map_err(|e| ApiError::Internal(e.into()))?;
    Ok(cell.get_or_init(|| client).clone())
}

/// Sends `d` to `ep`; the status code and error of the attempt. `allow_loopback` must already be off
/// in production (see [`crate::config::Settings::allows_loopback_webhooks`]).
async fn attempt(
    d: &delivery::Model,
    ep: &endpoint::Model,
    allow_loopback: bool,
) -> ApiResult<(Option<i32>, Option<String>)> {
    // Addresses in the URL bypass the resolver's check.
    let literal = reqwest::Url::parse(&ep.url).ok().and_then(|u| {
        u.host_str()
            .and_then(|h| h.trim_start_matches('[').trim_end_matches(']').parse::<std::net::IpAddr>().ok())
    });
    if literal.is_some_and(|ip| !(is_public(ip) || allow_loopback && ip.is_loopback())) {
        return Ok((None, Some("address not allowed".to_owned())));
    }
    let timestamp = Utc::now().timestamp();
    let signature = format!("t={timestamp},v1={}", sign(&ep.secret, timestamp, &d.payload));
    let response = client(allow_loopback)?
        .post(&ep.url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(SIGNATURE_HEADER, signature)
        .header(EVENT_HEADER, &d.event_type)
        .header(DELIVERY_HEADER, d.id.to_string())
        .body(d.payload.clone())
        .send()
        .await;
    // Only coarse outcomes are recorded: details of failed connections would map the network.
    Ok(match response {
        Ok(r) if r.status().is_success() => (Some(r.status().as_u16() as i32), None),
        Ok(r) => (Some(r.status().as_u16() as i32), Some(format!("endpoint answered {}", r.status()))),
        Err(e) if e.is_timeout() => (None, Some("no answer within 10 s".to_owned())),
        Err(e) if e.is_connect() => (None, Some("could not connect".to_owned())),
        Err(_) => (None, Some("request failed".to_owned())),
    })
}

/// Records an attempt on the delivery; returns its new status.
async fn record(
    state: &AppState,
    d: &delivery::Model,
    status_code: Option<i32>,
    error: Option<String>,
) -> ApiResult<DeliveryStatus> {
    let settings = &state.settings.alerts;
    let attempts = d.attempts + 1;
    let now = Utc::now();
    let status = match &error {
        None => DeliveryStatus::Delivered,
        Some(_) if attempts >= settings.webhook_max_attempts => DeliveryStatus::Failed,
        Some(_) => DeliveryStatus::Pending,
    };
    state.metrics.webhook(match status {
        DeliveryStatus::Delivered => "delivered",
        DeliveryStatus::Failed => "failed",
        DeliveryStatus::Pending => "retry",
    });
    let mut update = delivery::Entity::update_many()
        .col_expr(delivery::Column::Attempts, Expr::value(attempts))
        .col_expr(delivery::Column::LastStatusCode, Expr::value(status_code))
        .col_expr(delivery::Column::LastError, Expr::value(error))
        .col_expr(delivery::Column::Status, Expr::value(status));
    update = match status {
        DeliveryStatus::Delivered => update.col_expr(delivery::Column::DeliveredAt, Expr::value(Some(now))),
        DeliveryStatus::Failed => update,
        // What the runner's backoff will be, before its jitter: shown to clients as the next attempt.
        DeliveryStatus::Pending => {
            let base = settings.webhook_retry_base_ms.max(1);
            let delay_ms = base.saturating_mul(1 << (attempts - 1).clamp(0, 16)).min(3_600_000);
            update.col_expr(
                delivery::Column::NextAttemptAt,
                Expr::value(now + chrono::Duration::milliseconds(delay_ms as i64)),
            )
        }
    };
    update.filter(delivery::Column::Id.eq(d.id)).exec(&state.db).await?;
    Ok(status)
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
