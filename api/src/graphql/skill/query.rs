use async_graphql::connection::{Connection, EmptyFields};
use async_graphql::{Context, Object, Result};

use super::types::{Skill, SkillCategory};
use crate::error::ApiError;
use crate::graphql::context;
use crate::graphql::pagination::OffsetPage;
use crate::service::skills;

#[derive(Default)]
pub struct SkillQuery;

#[Object]
impl SkillQuery {
    /// Skills by prefix or substring of label, English label or synonym, ignoring case and umlaut
    /// spelling (`schweiss` finds "Schweißen"); prefix matches first. Without `query`, alphabetical.
    #[graphql(complexity = "crate::graphql::pagination::page_cost(first, child_complexity)")]
    async fn skills(
        &self,
        ctx: &Context<'_>,
        query: Option<String>,
        #[graphql(desc = "A category id, e.g. `automation`.")] category: Option<String>,
        #[graphql(desc = "Page size, 1–100 (default 20).")] first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<String, Skill, EmptyFields, EmptyFields>> {
        let page = OffsetPage::parse(first, after.as_deref())?;
        let state = context::state(ctx)?;
        let rows =
            skills::search(state, query.as_deref(), category.as_deref(), page.offset, page.first).await?;
        Ok(page.connection(rows, Skill::from))
    }

    /// One skill by id.
    async fn skill(&self, ctx: &Context<'_>, id: String) -> Result<Skill> {
        let state = context::state(ctx)?;
        let found = skills::by_id(state, &id).await?.ok_or_else(|| ApiError::not_found("skill"))?;
        Ok(found.into())
    }

    /// All skill categories in display order.
    async fn skill_categories(&self, ctx: &Context<'_>) -> Result<Vec<SkillCategory>> {
        let state = context::state(ctx)?;
        Ok(skills::categories(state).await?.into_iter().map(Into::into).collect())
    }
}
