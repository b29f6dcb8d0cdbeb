use async_graphql::connection::{Connection, EmptyFields};
use async_graphql::{Context, ID, Object, Result};

use super::loaders::NeedSkillsLoader;
use super::types::{NeedFilter, QualificationNeed};
use crate::graphql::context::{self, parse_id, prime, require_user};
use crate::graphql::organization::loaders::OrganizationLoader;
use crate::graphql::pagination::Page;
use crate::service::needs;

#[derive(Default)]
pub struct NeedQuery;

#[Object]
impl NeedQuery {
    /// Needs you may see, oldest first: all of your own firms' needs, and OPEN PUBLIC needs of others.
    #[graphql(complexity = "crate::graphql::pagination::page_cost(first, child_complexity)")]
    async fn needs(
        &self,
        ctx: &Context<'_>,
        filter: Option<NeedFilter>,
        #[graphql(desc = "Page size, 1–100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "The `endCursor` of the previous page.")] after: Option<String>,
    ) -> Result<Connection<String, QualificationNeed, EmptyFields, EmptyFields>> {
        let caller = require_user(ctx)?;
        let page = Page::parse(first, after.as_deref())?;
        let state = context::state(ctx)?;
        let filter = filter.unwrap_or_default();
        let filter = needs::NeedFilter {
            firm_id: filter.firm_id.as_ref().map(|id| parse_id("filter.firmId", id)).transpose()?,
            statuses: filter.statuses.into_iter().map(Into::into).collect(),
            skill_ids: filter.skill_ids,
            bundeslaender: filter.bundeslaender.into_iter().map(Into::into).collect(),
        };
        let rows = needs::list(state, caller, &filter, page.after, page.first).await?;
        let node = ctx.look_ahead().field("edges").field("node");
        futures_util::try_join!(
            prime::<OrganizationLoader, _>(ctx, node.field("firm").exists(), rows.iter().map(|n| n.firm_id)),
            prime::<NeedSkillsLoader, _>(ctx, node.field("skills").exists(), rows.iter().map(|n| n.id)),
        )?;
        Ok(page.connection(rows, |n| n.id, QualificationNeed::from))
    }

    /// One need, when you may see it; `NOT_FOUND` otherwise.
    async fn need(&self, ctx: &Context<'_>, id: ID) -> Result<QualificationNeed> {
        let caller = require_user(ctx)?;
        let state = context::state(ctx)?;
        Ok(needs::visible(state, caller, parse_id("id", &id)?).await?.into())
    }
}
