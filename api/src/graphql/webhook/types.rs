use async_graphql::{Enum, ID, InputObject, SimpleObject};
use chrono::{DateTime, Utc};
use entity::{webhook_delivery, webhook_endpoint};

use crate::alerts;
use crate::service::json_list;

/// Events an endpoint can subscribe to.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::alerts::EventType")]
pub enum WebhookEventType {
    /// An opened need matches one of the provider's courses (to the provider).
    LeadCreated,
    /// A provider made an offer on the firm's need (to the firm and the provider).
    OfferSubmitted,
    OfferAccepted,
    OfferDeclined,
    OfferWithdrawn,
    /// Another firm joined the firm's poolable need (to the owning firm).
    NeedJoined,
    NeedLeft,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "entity::webhook_delivery::DeliveryStatus")]
pub enum WebhookDeliveryStatus {
    /// Not yet delivered; retried with exponential backoff.
    Pending,
    Delivered,
    /// Given up after the last attempt.
    Failed,
}

/// An HTTPS endpoint receiving signed event deliveries.
#[derive(SimpleObject, Clone)]
pub struct WebhookEndpoint {
    pub id: ID,
    pub organization_id: ID,
    pub url: String,
    pub event_types: Vec<WebhookEventType>,
    pub created_at: DateTime<Utc>,
}

impl From<webhook_endpoint::Model> for WebhookEndpoint {
    fn from(m: webhook_endpoint::Model) -> Self {
        Self {
            id: ID(m.id.to_string()),
            organization_id: ID(m.organization_id.to_string()),
            url: m.url,
            event_types: json_list::decode::<alerts::EventType>(&m.event_types)
                .into_iter()
                .map(Into::into)
                .collect(),
            created_at: m.created_at,
        }
    }
}

/// A new endpoint with its signing secret — shown only this once.
#[derive(SimpleObject)]
pub struct CreatedWebhookEndpoint {
    pub endpoint: WebhookEndpoint,
    /// Key of the HMAC-SHA256 signature in the `Bildungsmarkt-Signature` header
    /// (`t=<unix seconds>,v1=<hex HMAC over "<t>.<raw body>">`).
    pub secret: String,
}

/// One event sent (or to be sent) to one endpoint.
#[derive(SimpleObject, Clone)]
pub struct WebhookDelivery {
    pub id: ID,
    pub endpoint_id: ID,
    /// The `id` in the delivered body.
    pub event_id: ID,
    pub event_type: String,
    pub status: WebhookDeliveryStatus,
    pub attempts: i32,
    /// HTTP status of the last attempt (null when the request failed).
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    /// When the next attempt is due (while PENDING).
    pub next_attempt_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    /// The JSON body as sent.
    pub payload: String,
}

impl From<webhook_delivery::Model> for WebhookDelivery {
    fn from(m: webhook_delivery::Model) -> Self {
        Self {
            id: ID(m.id.to_string()),
            endpoint_id: ID(m.endpoint_id.to_string()),
            event_id: ID(m.event_id.to_string()),
            event_type: m.event_type,
            status: m.status.into(),
            attempts: m.attempts,
            last_status_code: m.last_status_code,
            last_error: m.last_error,
            next_attempt_at: m.next_attempt_at,
            created_at: m.created_at,
            delivered_at: m.delivered_at,
            payload: m.payload,
        }
    }
}

#[derive(InputObject)]
pub struct CreateWebhookEndpointInput {
    pub organization_id: ID,
    /// https:// URL (plain http only to localhost in development).
    pub url: String,
    /// At least one, at most 20 values.
    pub event_types: Vec<WebhookEventType>,
}
