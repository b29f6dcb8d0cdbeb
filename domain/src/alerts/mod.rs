//! Live alerts and webhooks. A write records an [`AlertEvent`] in its own transaction (the event
//! outbox); the [`dispatcher`] turns each into webhook deliveries — written in one transaction with
//! marking the event done — and into live events on the [`crate::events::EventBus`]; the
//! [`webhooks`] sender delivers, signs and retries.

pub mod dispatcher;
pub mod outbox;
pub mod webhooks;

use serde::{Deserialize, Serialize};

pub use outbox::{AlertEvent, record};

/// What a webhook endpoint can subscribe to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EventType {
    /// An opened need matches one of the provider's courses (to the provider).
    LeadCreated,
    /// A provider made an offer on the firm's need (to the firm and the provider).
    OfferSubmitted,
    OfferAccepted,
    OfferDeclined,
    OfferWithdrawn,
    /// Another firm joined or left the firm's poolable need (to the owning firm).
    NeedJoined,
    NeedLeft,
}
