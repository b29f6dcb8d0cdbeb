//! Turns recorded alert events into webhook deliveries and live events.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use sea_orm::DatabaseConnection;
use serde_json::json;
use tokio::sync::Notify;
use uuid::Uuid;

use super::outbox::{self, AlertEvent, Claimed};
use super::{EventType, webhooks};
use crate::db;
use crate::error::ApiResult;
use crate::events::{DomainEvent, EventBus, OfferChange};
use crate::outage::OutageLog;
use crate::search::Backend;
use crate::service::matching;
use crate::shutdown::Stop;

const POLL: Duration = Duration::from_millis(100);
const BATCH: u64 = 50;

pub struct Dispatcher {
    pub db: DatabaseConnection,
    pub search: Backend,
    pub events: EventBus,
    /// Woken by writes of this instance, so their alerts go out without waiting for the next poll.
    pub wake: Arc<Notify>,
}

impl Dispatcher {
    /// Runs until `stop` fires; the batch in hand is finished first.
    pub async fn run(self, mut stop: Stop) {
        let mut pruned_at = std::time::Instant::now();
        let outage = OutageLog::new("alert dispatcher");
        while !stop.is_stopping() {
            let dispatched = self.dispatch_once().await;
            if dispatched.is_ok() {
                outage.succeeded();
            }
            let stopping = match dispatched {
                Ok(0) => {
                    tokio::select! {
                        stopping = stop.sleep(POLL) => stopping,
                        _ = self.wake.notified() => false,
                    }
                }
                Ok(_) => false,
                Err(e) => {
                    outage.failed("dispatching alert events", &e);
                    stop.sleep(Duration::from_secs(1)).await
                }
            };
            if stopping {
                break;
            }
            if pruned_at.elapsed() > Duration::from_secs(3600) {
                pruned_at = std::time::Instant::now();
                if let Err(e) = outbox::prune(&self.db).await {
                    tracing::warn!(error = ?e, "pruning the event outbox failed");
                }
            }
        }
    }

    /// Handles one batch; returns how many events it took.
    pub async fn dispatch_once(&self) -> ApiResult<usize> {
        let claimed = outbox::claim(&self.db, BATCH, chrono::Duration::seconds(60)).await?;
        for event in &claimed {
            if let Err(e) = self.dispatch(event).await {
                tracing::warn!(error = ?e, event = event.id, "an alert event failed; retrying later");
                outbox::retry_later(&self.db, event, &format!("{e:?}")).await?;
            }
        }
        Ok(claimed.len())
    }

    async fn dispatch(&self, claimed: &Claimed) -> ApiResult<()> {
        // Reads first, outside the write transaction: on SQLite it holds the single write lock, and
        // waiting for other pool connections inside it would starve the pool.
        let plan = match &claimed.event {
            Some(event) => self.plan(event).await?,
            None => {
                tracing::error!(event = claimed.id, "unreadable alert event skipped");
                Plan::default()
            }
        };
        let txn = db::begin_write(&self.db).await?;
        for (organization, event_type, data) in plan.webhooks {
            webhooks::enqueue(&txn, organization, event_type, data).await?;
        }
        outbox::complete(&txn, claimed.id).await?;
        txn.commit().await?;
        for event in plan.live {
            self.events.publish(event);
        }
        Ok(())
    }

    /// The webhook deliveries and live events `event` causes.
    async fn plan(&self, event: &AlertEvent) -> ApiResult<Plan> {
        let now = Utc::now();
        let mut plan = Plan::default();
        match *event {
            AlertEvent::NeedOpened { need_id } => {
                for lead in matching::new_leads(&self.db, &self.search, need_id).await? {
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
}

/// What one event causes: webhook deliveries (organization, type, data) and live events.
#[derive(Default)]
struct Plan {
    webhooks: Vec<(Uuid, EventType, serde_json::Value)>,
    live: Vec<DomainEvent>,
}
