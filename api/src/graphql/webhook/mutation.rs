use async_graphql::{Context, ID, Object, Result};

use super::types::{CreateWebhookEndpointInput, CreatedWebhookEndpoint};
use crate::graphql::context::{self, parse_id, require_user};
use crate::service::webhooks;

#[derive(Default)]
pub struct WebhookMutation;

#[Object]
impl WebhookMutation {
    /// Registers an HTTPS endpoint for event types (organization ADMIN or OWNER). Returns the signing
    /// secret once; at most 10 endpoints per organization.
    async fn create_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        input: CreateWebhookEndpointInput,
    ) -> Result<CreatedWebhookEndpoint> {
        let caller = require_user(ctx)?;
        let state = context::state(ctx)?;
        let org = parse_id("input.organizationId", &input.organization_id)?;
        let types: Vec<crate::alerts::EventType> = input.event_types.into_iter().map(Into::into).collect();
        let allow_loopback = state.settings.allows_loopback_webhooks();
        let created = webhooks::create(state, caller, org, &input.url, &types, allow_loopback).await?;
        Ok(CreatedWebhookEndpoint { secret: created.secret.clone(), endpoint: created.into() })
    }

    /// Removes an endpoint and its delivery records; returns its id.
    async fn delete_webhook_endpoint(&self, ctx: &Context<'_>, id: ID) -> Result<ID> {
        let caller = require_user(ctx)?;
        let state = context::state(ctx)?;
        let deleted = webhooks::delete(state, caller, parse_id("id", &id)?).await?;
        Ok(ID(deleted.id.to_string()))
    }
}
