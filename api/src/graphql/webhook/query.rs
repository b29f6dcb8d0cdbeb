use async_graphql::connection::{Connection, EmptyFields};
use async_graphql::{Context, ID, Object, Result};

use super::types::{WebhookDelivery, WebhookEndpoint};
use crate::graphql::context::{self, parse_id, require_user};
use crate::graphql::pagination::Page;
use crate::service::webhooks;

#[derive(Default)]
pub struct WebhookQuery;

#[Object]
impl WebhookQuery {
    /// The organization's webhook endpoints (ADMIN or OWNER).
    async fn webhook_endpoints(
        &self,
        ctx: &Context<'_>,
        organization_id: ID,
    ) -> Result<Vec<WebhookEndpoint>> {
        let caller = require_user(ctx)?;
        let state = context::state(ctx)?;
        let org = parse_id("organizationId", &organization_id)?;
        Ok(webhooks::list(state, caller, org).await?.into_iter().map(Into::into).collect())
    }

    /// Deliveries to the organization's endpoints, newest first, with status and attempts (ADMIN or
    /// OWNER); optionally of one endpoint.
    #[graphql(complexity = "crate::graphql::pagination::page_cost(first, child_complexity)")]
    async fn webhook_deliveries(
        &self,
        ctx: &Context<'_>,
        organization_id: ID,
        endpoint_id: Option<ID>,
        #[graphql(desc = "Page size, 1–100 (default 20).")] first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<String, WebhookDelivery, EmptyFields, EmptyFields>> {
        let caller = require_user(ctx)?;
        let state = context::state(ctx)?;
        let page = Page::parse(first, after.as_deref())?;
        let org = parse_id("organizationId", &organization_id)?;
        let endpoint = endpoint_id.as_ref().map(|id| parse_id("endpointId", id)).transpose()?;
        let rows = webhooks::deliveries(state, caller, org, endpoint, page.after, page.first).await?;
        Ok(page.connection(rows, |d| d.id, WebhookDelivery::from))
    }
}
