//! Live alerts and webhooks, as background jobs (see [`crate::jobs`]). A write records an
//! [`AlertEvent`] in its own transaction (an `alert.dispatch` job); the [`dispatcher`] job turns it
//! into webhook deliveries — each a `webhook_delivery` row and a `webhook.deliver` job, written in
//! one transaction — and into live events on the [`crate::events::EventBus`]; the [`webhooks`] job
//! signs and sends one delivery, and the runner retries it.

pub mod dispatcher;
pub mod outbox;
pub mod webhooks;

use serde::{Deserialize, Serialize};

pub use outbox::{AlertEvent, record};

/// Adds the alert jobs to an instance's runner.
pub fn register_jobs(registry: &mut crate::jobs::Registry) {
    registry.register::<dispatcher::Dispatch>().register::<webhooks::DeliverWebhook>();
}

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
