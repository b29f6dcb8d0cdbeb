use async_graphql::connection::{Connection, EmptyFields};
use async_graphql::{Context, ID, Object, Result};

use super::types::ImportRun;
use crate::exchange::run;
use crate::graphql::context::{self, parse_id, require_user};
use crate::graphql::pagination::Page;

#[derive(Default)]
pub struct ExchangeQuery;

#[Object]
impl ExchangeQuery {
    /// One import run with its progress and report (members of its provider).
    async fn import_run(&self, ctx: &Context<'_>, id: ID) -> Result<ImportRun> {
        let caller = require_user(ctx)?;
        let state = context::state(ctx)?;
        Ok(run::find(state, caller, parse_id("id", &id)?).await?.into())
    }

    /// A provider's import runs, newest first (members of the provider).
    #[graphql(complexity = "crate::graphql::pagination::page_cost(first, child_complexity)")]
    async fn import_runs(
        &self,
        ctx: &Context<'_>,
        provider_id: ID,
        #[graphql(desc = "Page size, 1–100 (default 20).")] first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<String, ImportRun, EmptyFields, EmptyFields>> {
        let caller = require_user(ctx)?;
        let state = context::state(ctx)?;
        let page = Page::parse(first, after.as_deref())?;
        let provider = parse_id("providerId", &provider_id)?;
        let rows = run::list(state, caller, provider, page.after, page.first + 1).await?;
        Ok(page.connection(rows, |r| r.id, ImportRun::from))
    }
}
