use async_graphql::connection::{Connection, EmptyFields};
use async_graphql::{Context, ID, Object, Result};

use super::loaders::MembersLoader;
use super::types::{Invitation, Organization, OrganizationKind};
use crate::error::ApiError;
use crate::graphql::context::{self, parse_id, prime, require_person};
use crate::graphql::pagination::Page;
use crate::service::{invitations, organizations};

#[derive(Default)]
pub struct OrganizationQuery;

#[Object]
impl OrganizationQuery {
    /// One organization by `id` or by `slug` (give exactly one). `NOT_FOUND` when there is none.
    async fn organization(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
        slug: Option<String>,
    ) -> Result<Organization> {
        let state = context::state(ctx)?;
        let model = match (id, slug) {
            (Some(id), None) => organizations::find(&state.db, parse_id("id", &id)?).await?,
            (None, Some(slug)) => organizations::find_by_slug(state, &slug).await?,
            _ => return Err(ApiError::bad_input("id", "give exactly one of id and slug").into()),
        };
        Ok(model.into())
    }

    /// All organizations, oldest first, optionally of one kind.
    #[graphql(complexity = "crate::graphql::pagination::page_cost(first, child_complexity)")]
    async fn organizations(
        &self,
        ctx: &Context<'_>,
        kind: Option<OrganizationKind>,
        #[graphql(desc = "Page size, 1–100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "The `endCursor` of the previous page.")] after: Option<String>,
    ) -> Result<Connection<String, Organization, EmptyFields, EmptyFields>> {
        let page = Page::parse(first, after.as_deref())?;
        let state = context::state(ctx)?;
        let rows = organizations::list(state, kind.map(Into::into), page.after, page.first).await?;
        let node = ctx.look_ahead().field("edges").field("node");
        let wants_members =
            ["members", "viewerRole", "employeeCount", "invitations"].iter().any(|f| node.field(f).exists());
        prime::<MembersLoader, _>(ctx, wants_members, rows.iter().map(|o| o.id)).await?;
        Ok(page.connection(rows, |o| o.id, Organization::from))
    }

    /// Open invitations to your account's email, oldest first: accept or decline them.
    #[graphql(complexity = "super::types::LIST_COST * child_complexity")]
    async fn my_invitations(&self, ctx: &Context<'_>) -> Result<Vec<Invitation>> {
        let caller = require_person(ctx)?;
        let state = context::state(ctx)?;
        Ok(invitations::open_for(state, caller).await?.into_iter().map(Invitation::from).collect())
    }
}
