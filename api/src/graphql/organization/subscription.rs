use async_graphql::{Context, ID, Result, Subscription};
use entity::membership::MembershipRole;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use sea_orm::ActiveEnum;
use tokio::sync::broadcast::error::RecvError;

use super::types::OrganizationEvent;
use crate::error::ApiError;
use crate::events::{DomainEvent, OrganizationEventKind};
use crate::graphql::context::{self, parse_id, require_user};
use crate::service::organizations;

#[derive(Default)]
pub struct OrganizationSubscription;

#[Subscription]
impl OrganizationSubscription {
    /// Membership and profile changes of an organization you belong to. Ends when you are removed.
    async fn organization_events(
        &self,
        ctx: &Context<'_>,
        organization_id: ID,
    ) -> Result<BoxStream<'static, OrganizationEvent>> {
        let caller = require_user(ctx)?;
        let state = context::state(ctx)?;
        let org = parse_id("organizationId", &organization_id)?;
        organizations::find(&state.db, org).await?;
        if organizations::role_of(&state.db, org, caller).await?.is_none() {
            return Err(ApiError::forbidden("only members may follow an organization's events").into());
        }
        let receiver = state.events.subscribe();
        let db = state.db.clone();
        let stream = futures_util::stream::unfold((receiver, false), move |(mut receiver, ended)| {
            let db = db.clone();
            async move {
                if ended {
                    return None;
                }
                loop {
                    match receiver.recv().await {
                        Ok(DomainEvent::Organization {
                            organization_id,
                            kind,
                            user_id,
                            role,
                            occurred_at,
                        }) if organization_id == org => {
                            let removed_self =
                                kind == OrganizationEventKind::MemberRemoved && user_id == Some(caller);
                            let event = OrganizationEvent {
                                event_type: kind.into(),
                                organization_id: ID(organization_id.to_string()),
                                user_id: user_id.map(|u| ID(u.to_string())),
                                role: role
                                    .and_then(|r| MembershipRole::try_from_value(&r).ok())
                                    .map(Into::into),
                                occurred_at,
                            };
                            return Some((event, (receiver, removed_self)));
                        }
                        Ok(_) => continue,
                        // A subscriber that lags behind skips what it missed, but must not have
                        // missed its own removal: it checks its membership again.
                        Err(RecvError::Lagged(_)) => {
                            if !matches!(organizations::role_of(&db, org, caller).await, Ok(Some(_))) {
                                return None;
                            }
                        }
                        Err(RecvError::Closed) => return None,
                    }
                }
            }
        });
        Ok(stream.boxed())
    }
}
