use async_graphql::{Context, ID, Result, Subscription};
use entity::organization::OrganizationKind;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use tokio::sync::broadcast::error::RecvError;

use super::types::LeadEvent;
use crate::events::DomainEvent;
use crate::graphql::context::{self, parse_id, require_user};
use crate::service::access;

#[derive(Default)]
pub struct MatchingSubscription;

#[Subscription]
impl MatchingSubscription {
    /// Needs that open and match one of the provider's courses above the lead threshold, from any API
    /// instance. For members of the provider.
    async fn new_leads(
        &self,
        ctx: &Context<'_>,
        organization_id: ID,
    ) -> Result<BoxStream<'static, LeadEvent>> {
        let caller = require_user(ctx)?;
        let state = context::state(ctx)?;
        let provider = parse_id("organizationId", &organization_id)?;
        access::member_of_kind(&state.db, caller, provider, OrganizationKind::Provider, "organizationId")
            .await?;
        let receiver = state.events.subscribe();
        let db = state.db.clone();
        let stream = futures_util::stream::unfold(receiver, move |mut receiver| {
            let db = db.clone();
            async move {
                loop {
                    match receiver.recv().await {
                        Ok(DomainEvent::NewLead {
                            provider_id,
                            need_id,
                            course_id,
                            offering_id,
                            score,
                            occurred_at,
                        }) if provider_id == provider => {
                            // Membership is checked again for every lead: a removed member's
                            // subscription ends with the next one.
                            if access::member_of_kind(
                                &db,
                                caller,
                                provider,
                                OrganizationKind::Provider,
                                "organizationId",
                            )
                            .await
                            .is_err()
                            {
                                return None;
                            }
                            let event = LeadEvent {
                                need_id: ID(need_id.to_string()),
                                course_id: ID(course_id.to_string()),
                                offering_id: offering_id.map(|o| ID(o.to_string())),
                                score: i32::from(score),
                                occurred_at,
                            };
                            return Some((event, receiver));
                        }
                        Ok(_) | Err(RecvError::Lagged(_)) => continue,
                        Err(RecvError::Closed) => return None,
                    }
                }
            }
        });
        Ok(stream.boxed())
    }
}
