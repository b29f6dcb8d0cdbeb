//! Turns alert events into webhook deliveries and live events: the `alert.dispatch` job.

use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::outbox::AlertEvent;
use super::{EventType, webhooks};
use crate::context::AppState;
use crate::db;
use crate::error::ApiResult;
use crate::events::{DomainEvent, OfferChange};
use crate::jobs::Job;
use crate::service::matching;

/// One recorded alert event to dispatch.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Dispatch {
    /// Seeds the ids of the webhook events it causes, so a repeated run (its runner died after the
    /// commit) queues no second delivery. Events moved from the old outbox have none and get one.
    #[serde(default = "Uuid::now_v7")]
    pub id: Uuid,
    #[serde(flatten)]
    pub event: AlertEvent,
}

impl Job for Dispatch {
    const KIND: &'static str = "alert.dispatch";

    async fn run(&self, state: &AppState) -> ApiResult<()> {
        // Reads first, outside the write transaction: on SQLite it holds the single write lock, and
        // waiting for other pool connections inside it would starve the pool.
        let plan = plan(state, &self.event).await?;
        let max_attempts = state.settings.alerts.webhook_max_attempts;
        let txn = db::begin_write(&state.db).await?;
        let mut queued = 0;
        for (organization, event_type, data) in plan.webhooks {
            queued += webhooks::enqueue(&txn, self.id, organization, event_type, data, max_attempts).await?;
        }
        txn.commit().await?;
        if queued > 0 {
            state.jobs_wake.notify_one();
        }
        for event in plan.live {
            state.events.publish(event);
        }
        Ok(())
    }
}

/// The webhook deliveries and live events `event` causes.
async fn plan(state: &AppState, event: &AlertEvent) -> ApiResult<Plan> {
    let now = Utc::now();
    let mut plan = Plan::default();
    match *event {
        AlertEvent::NeedOpened { need_id } => {
            for lead in matching::new_leads(&state.db, &state.search, need_id).await? {
                let data = json!({
                    "needId": need_id,
                    "courseId": lead.course_id,
                    "offeringId": lead.offering_id,
                    "score": lead.score,
                });
                plan.webhooks.push((lead.provider_id, EventType::LeadCreated, data));
                plan.live.push(DomainEvent::NewLead {
                    provider_id: lead.provider_id,
                    need_id,
                    course_id: lead.course_id,
                    offering_id: lead.offering_id,
                    score: lead.score,
                    occurred_at: now,
                });
            }
        }
        AlertEvent::OfferChanged { offer_id, need_id, firm_id, provider_id, change } => {
            let event_type = match change {
                OfferChange::Submitted => EventType::OfferSubmitted,
                OfferChange::Accepted => EventType::OfferAccepted,
                OfferChange::Declined => EventType::OfferDeclined,
                OfferChange::Withdrawn => EventType::OfferWithdrawn,
            };
            let data = json!({ "offerId": offer_id, "needId": need_id, "providerId": provider_id });
            plan.webhooks.push((firm_id, event_type, data.clone()));
            plan.webhooks.push((provider_id, event_type, data));
            plan.live.push(DomainEvent::OfferUpdate {
                need_id,
                offer_id,
                provider_id,
                change,
                occurred_at: now,
            });
        }
        AlertEvent::PoolChanged { need_id, owner_id, firm_id, participants, joined } => {
            let event_type = if joined { EventType::NeedJoined } else { EventType::NeedLeft };
            let data = json!({ "needId": need_id, "firmId": firm_id, "participants": participants });
            plan.webhooks.push((owner_id, event_type, data));
        }
    }
    Ok(plan)
}

/// What one event causes: webhook deliveries (organization, type, data) and live events.
#[derive(Default)]
struct Plan {
    webhooks: Vec<(Uuid, EventType, serde_json::Value)>,
    live: Vec<DomainEvent>,
}
