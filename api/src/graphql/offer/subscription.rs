use async_graphql::{Context, ID, Result, Subscription};
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use tokio::sync::broadcast::error::RecvError;

use super::types::OfferEvent;
use crate::events::DomainEvent;
use crate::graphql::context::{self, parse_id, require_user};
use crate::service::{access, needs};

#[derive(Default)]
pub struct OfferSubscription;

#[Subscription]
impl OfferSubscription {
    /// Offers on a need being submitted, accepted, declined or withdrawn, from any API instance. The
    /// firms of the need's pool see every offer; a provider sees its own.
    async fn offer_updates(&self, ctx: &Context<'_>, need_id: ID) -> Result<BoxStream<'static, OfferEvent>> {
        let caller = require_user(ctx)?;
        let state = context::state(ctx)?;
        let need_uuid = parse_id("needId", &need_id)?;
        offer_access(state, caller, need_uuid).await?;
        let receiver = state.events.subscribe();
        let state = state.clone();
        let stream = futures_util::stream::unfold(receiver, move |mut receiver| {
            let state = state.clone();
            async move {
                loop {
                    match receiver.recv().await {
                        Ok(DomainEvent::OfferUpdate {
                            need_id,
                            offer_id,
                            provider_id,
                            change,
                            occurred_at,
                        }) if need_id == need_uuid => {
                            // Access is checked again for every event: a firm that left the pool
                            // sees only its own offers from then on, and the subscription ends
                            // when the need is no longer visible to the caller.
                            let Ok((own, sees_all)) = offer_access(&state, caller, need_uuid).await else {
                                return None;
                            };
                            if !(sees_all || own.contains(&provider_id)) {
                                continue;
                            }
                            let event = OfferEvent {
                                event_type: change.into(),
                                need_id: ID(need_id.to_string()),
                                offer_id: ID(offer_id.to_string()),
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

/// The caller's organizations, and whether they see every offer on the need (a firm of its pool);
/// `NOT_FOUND` when the need is not visible to the caller.
async fn offer_access(
    state: &crate::context::AppState,
    caller: uuid::Uuid,
    need_id: uuid::Uuid,
) -> crate::error::ApiResult<(Vec<uuid::Uuid>, bool)> {
    let db = &state.db;
    let need = needs::visible(state, caller, need_id).await?;
    let own = access::organizations_of(db, caller).await?;
    let pool = needs::pool_firms(db, &need).await?;
    let sees_all = needs::in_pool(&own, &pool);
    Ok((own, sees_all))
}
