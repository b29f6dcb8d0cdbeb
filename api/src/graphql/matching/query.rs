use async_graphql::connection::{Connection, EmptyFields};
use async_graphql::{Context, ID, Object, Result};

use super::types::{CourseMatch, FundingEstimate, Lead};
use crate::graphql::catalog::types::Offering;
use crate::graphql::context::{self, parse_id, require_user};
use crate::graphql::pagination::OffsetPage;
use crate::service::matching;

#[derive(Default)]
pub struct MatchingQuery;

#[Object]
impl MatchingQuery {
    /// Offerings ranked for a need, best first, each with a score 0–100 and a German explanation per
    /// criterion. With `includeExcluded`, candidates a hard constraint rules out (no seats, too far,
    /// outside the start window) follow, with the reason. For the firms of the need's pool and for
    /// providers that may see the need.
    #[graphql(complexity = "crate::graphql::pagination::page_cost(first, child_complexity)")]
    async fn matches_for_need(
        &self,
        ctx: &Context<'_>,
        need_id: ID,
        #[graphql(desc = "Page size, 1–100 (default 20).")] first: Option<i32>,
        after: Option<String>,
        #[graphql(default)] include_excluded: bool,
    ) -> Result<Connection<String, CourseMatch, EmptyFields, EmptyFields>> {
        let caller = require_user(ctx)?;
        let state = context::state(ctx)?;
        let page = OffsetPage::parse(first, after.as_deref())?;
        let need = parse_id("needId", &need_id)?;
        let (offset, limit) = (page.offset as usize, page.first as usize + 1);
        let rows = matching::matches_for_need(state, caller, need, include_excluded, offset, limit).await?;
        Ok(page.connection(rows, |m| CourseMatch::new(&m.candidate, m.score)))
    }

    /// Open public needs that the provider's published courses could serve, best first.
    #[graphql(complexity = "crate::graphql::pagination::page_cost(first, child_complexity)")]
    async fn leads_for_provider(
        &self,
        ctx: &Context<'_>,
        organization_id: ID,
        #[graphql(desc = "Page size, 1–100 (default 20).")] first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<String, Lead, EmptyFields, EmptyFields>> {
        let caller = require_user(ctx)?;
        let state = context::state(ctx)?;
        let page = OffsetPage::parse(first, after.as_deref())?;
        let org = parse_id("organizationId", &organization_id)?;
        let (offset, limit) = (page.offset as usize, page.first as usize + 1);
        let leads = matching::leads_for_provider(state, caller, org, offset, limit).await?;
        Ok(lead_page(page, leads))
    }

    /// Open public needs a course could serve, best first; for members of its provider.
    #[graphql(complexity = "crate::graphql::pagination::page_cost(first, child_complexity)")]
    async fn matching_needs_for_course(
        &self,
        ctx: &Context<'_>,
        course_id: ID,
        #[graphql(desc = "Page size, 1–100 (default 20).")] first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<String, Lead, EmptyFields, EmptyFields>> {
        let caller = require_user(ctx)?;
        let state = context::state(ctx)?;
        let page = OffsetPage::parse(first, after.as_deref())?;
        let course = parse_id("courseId", &course_id)?;
        let (offset, limit) = (page.offset as usize, page.first as usize + 1);
        let leads = matching::matching_needs_for_course(state, caller, course, offset, limit).await?;
        Ok(lead_page(page, leads))
    }

    /// The estimated net cost per participant of an offering for a firm you belong to, under the
    /// Qualifizierungschancengesetz rules in force at its start. An estimate, not legal advice.
    async fn funding_estimate(
        &self,
        ctx: &Context<'_>,
        offering_id: ID,
        organization_id: ID,
    ) -> Result<OfferingFundingEstimate> {
        let caller = require_user(ctx)?;
        let state = context::state(ctx)?;
        let offering = parse_id("offeringId", &offering_id)?;
        let org = parse_id("organizationId", &organization_id)?;
        let (run, estimate) = matching::funding_estimate(state, caller, offering, org).await?;
        Ok(OfferingFundingEstimate { offering: run.into(), estimate: estimate.into() })
    }
}

/// An offering's funding estimate for a firm.
#[derive(async_graphql::SimpleObject)]
pub struct OfferingFundingEstimate {
    pub offering: Offering,
    pub estimate: FundingEstimate,
}

/// `leads` is the page the service read: `first + 1` rows from the offset.
fn lead_page(
    page: OffsetPage,
    leads: Vec<matching::Lead>,
) -> Connection<String, Lead, EmptyFields, EmptyFields> {
    page.connection(leads, |l| Lead {
        best_match: CourseMatch::new(&l.candidate, l.score),
        need: l.need.into(),
    })
}
