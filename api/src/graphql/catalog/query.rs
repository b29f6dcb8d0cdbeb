use async_graphql::connection::{Connection, EmptyFields};
use async_graphql::{Context, ID, Object, Result};
use entity::course;

use super::loaders::{CourseSkillsLoader, OfferingsLoader};
use super::types::{Course, CourseFilter, Offering};
use crate::graphql::context::{self, parse_id, prime, viewer};
use crate::graphql::organization::loaders::OrganizationLoader;
use crate::graphql::pagination::Page;
use crate::service::courses;

/// The `Course` fields that show a long text column, each with its column. A page that selects none
/// of a column's fields does not read it (see `courses::list`); every other field reads columns that
/// are always read.
const TEXT_FIELDS: [(&str, course::Column); 9] = [
    ("subtitle", course::Column::Subtitle),
    ("description", course::Column::Description),
    ("keywords", course::Column::Keywords),
    ("examiningBody", course::Column::ExaminingBody),
    ("targetGroup", course::Column::TargetGroup),
    ("prerequisites", course::Column::Prerequisites),
    ("languages", course::Column::Languages),
    ("fundingOptions", course::Column::FundingOptions),
    ("azavMeasureNumber", course::Column::AzavMeasureNumber),
];

#[derive(Default)]
pub struct CatalogQuery;

#[Object]
impl CatalogQuery {
    /// The course catalogue in creation order. Without a status filter only PUBLISHED courses.
    #[graphql(complexity = "crate::graphql::pagination::page_cost(first, child_complexity)")]
    async fn courses(
        &self,
        ctx: &Context<'_>,
        filter: Option<CourseFilter>,
        #[graphql(desc = "Page size, 1–100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "The `endCursor` of the previous page.")] after: Option<String>,
    ) -> Result<Connection<String, Course, EmptyFields, EmptyFields>> {
        let page = Page::parse(first, after.as_deref())?;
        let state = context::state(ctx)?;
        let filter = filter.unwrap_or_default();
        let filter = courses::CourseFilter {
            provider_id: filter
                .provider_id
                .as_ref()
                .map(|id| parse_id("filter.providerId", id))
                .transpose()?,
            statuses: filter.statuses.into_iter().map(Into::into).collect(),
            skill_ids: filter.skill_ids,
            dqr_levels: filter.dqr_levels,
            formats: filter.formats.into_iter().map(Into::into).collect(),
            schedules: filter.schedules.into_iter().map(Into::into).collect(),
            funding: filter.funding.into_iter().map(Into::into).collect(),
            languages: filter.languages,
            zusatzqualifikation: filter.zusatzqualifikation,
            max_price_cents: filter.max_price_cents,
        };
        let caller = viewer(ctx).map(|v| v.user_id);
        let look_ahead = ctx.look_ahead();
        let (edges, nodes) = (look_ahead.field("edges").field("node"), look_ahead.field("nodes"));
        let selected = |field: &str| edges.field(field).exists() || nodes.field(field).exists();
        let unread: Vec<_> =
            TEXT_FIELDS.iter().filter(|(field, _)| !selected(field)).map(|(_, column)| *column).collect();
        let rows = courses::list(state, caller, &filter, page.after, page.first, &unread).await?;
        // The row past the page only tells whether there is a next page: its relations are not shown.
        let shown = &rows[..rows.len().min(page.first as usize)];
        let ids = || shown.iter().map(|c| c.id);
        futures_util::try_join!(
            prime::<OrganizationLoader, _>(ctx, selected("provider"), shown.iter().map(|c| c.provider_id)),
            prime::<CourseSkillsLoader, _>(ctx, selected("skills"), ids()),
            prime::<OfferingsLoader, _>(ctx, selected("offerings"), ids()),
        )?;
        Ok(page.connection(rows, |c| c.id, Course::from))
    }

    /// One course. Drafts only for members of the provider; `NOT_FOUND` otherwise.
    async fn course(&self, ctx: &Context<'_>, id: ID) -> Result<Course> {
        let state = context::state(ctx)?;
        let caller = viewer(ctx).map(|v| v.user_id);
        Ok(courses::visible(state, caller, parse_id("id", &id)?).await?.into())
    }

    /// One offering, when its course is visible to you.
    async fn offering(&self, ctx: &Context<'_>, id: ID) -> Result<Offering> {
        let state = context::state(ctx)?;
        let caller = viewer(ctx).map(|v| v.user_id);
        Ok(courses::find_offering(state, caller, parse_id("id", &id)?).await?.into())
    }
}
