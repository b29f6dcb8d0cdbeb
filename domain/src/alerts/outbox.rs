//! Alert events, written in the transaction of the change that caused them as `alert.dispatch`
//! jobs (see [`crate::jobs`]); [`super::dispatcher`] runs them.

use sea_orm::ConnectionTrait;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::dispatcher::Dispatch;
use crate::error::ApiResult;
use crate::events::OfferChange;
use crate::jobs;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AlertEvent {
    /// A need became OPEN: providers whose courses match it get leads.
    NeedOpened {
        need_id: Uuid,
    },
    OfferChanged {
        offer_id: Uuid,
        need_id: Uuid,
        firm_id: Uuid,
        provider_id: Uuid,
        change: OfferChange,
    },
    /// `firm_id` joined (or left) the need of `owner_id`.
    PoolChanged {
        need_id: Uuid,
        owner_id: Uuid,
        firm_id: Uuid,
        participants: i32,
        joined: bool,
    },
}

/// Records `event`; call inside the write's transaction so the event exists exactly when the change
/// does. The API wakes the job runner after the mutation.
pub async fn record(txn: &impl ConnectionTrait, event: &AlertEvent) -> ApiResult<()> {
    jobs::enqueue(txn, &Dispatch { id: Uuid::now_v7(), event: event.clone() }).await?;
    Ok(())
}
