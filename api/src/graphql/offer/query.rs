use async_graphql::connection::{Connection, EmptyFields};
use async_graphql::{Context, ID, Object, Result};

use super::types::Offer;
use crate::graphql::context::{self, parse_id, require_user};
use crate::graphql::pagination::Page;
use crate::service::offers;

#[derive(Default)]
pub struct OfferQuery;

#[Object]
impl OfferQuery {
    /// An offer, for its provider and the firms of the need's pool.
    async fn offer(&self, ctx: &Context<'_>, id: ID) -> Result<Offer> {
        let caller = require_user(ctx)?;
        let state = context::state(ctx)?;
        Ok(offers::visible(state, caller, parse_id("id", &id)?).await?.into())
    }

    /// A provider's offers, newest first; for its members.
    #[graphql(complexity = "crate::graphql::pagination::page_cost(first, child_complexity)")]
    async fn provider_offers(
        &self,
        ctx: &Context<'_>,
        organization_id: ID,
        #[graphql(desc = "Page size, 1–100 (default 20).")] first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<String, Offer, EmptyFields, EmptyFields>> {
        let caller = require_user(ctx)?;
        let state = context::state(ctx)?;
        let page = Page::parse(first, after.as_deref())?;
        let org = parse_id("organizationId", &organization_id)?;
        let rows = offers::of_provider(state, caller, org, page.after, page.first).await?;
        Ok(page.connection(rows, |o| o.id, Offer::from))
    }
}
