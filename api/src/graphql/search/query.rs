use std::collections::HashMap;

use async_graphql::connection::PageInfo;
use async_graphql::{Context, ID, Object, Result};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sea_orm::ActiveEnum;

use super::types::{
    CourseSearchFilter, CourseSearchHit, CourseSearchResult, CourseSearchSort, CourseSuggestion, FacetCount,
    SearchFacets, SearchHighlights,
};
use crate::graphql::catalog::loaders::{CourseLoader, OfferingsLoader};
use crate::graphql::catalog::types::{Course, Offering};
use crate::graphql::context::{self, loader};
use crate::graphql::pagination::OffsetPage;
use crate::search::document::bundesland_name;
use crate::search::query::{Facets, SearchSort};
use crate::service::search::{self, FilterInput};

#[derive(Default)]
pub struct SearchQuery;

#[Object]
impl SearchQuery {
    /// Full-text search of the published catalogue: typo-tolerant, German stemming and compounds,
    /// filters, facet counts, radius and distance. Each course appears once, with its matching
    /// offerings.
    #[graphql(complexity = "crate::graphql::pagination::page_cost(first, child_complexity)")]
    async fn search_courses(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Words to look for, at most 200 characters; empty for all courses.")] query: Option<
            String,
        >,
        filter: Option<CourseSearchFilter>,
        sort: Option<CourseSearchSort>,
        #[graphql(desc = "Page size, 1–100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "The `endCursor` of the previous page.")] after: Option<String>,
    ) -> Result<CourseSearchResult> {
        let page = OffsetPage::parse(first, after.as_deref())?;
        let state = context::state(ctx)?;
        let filter = filter.unwrap_or_default();
        let input = FilterInput {
            skills: filter.skills,
            dqr_levels: filter.dqr_levels,
            formats: filter
                .formats
                .into_iter()
                .map(|f| entity::course::CourseFormat::from(f).to_value())
                .collect(),
            schedules: filter
                .schedules
                .into_iter()
                .map(|s| entity::course::CourseSchedule::from(s).to_value())
                .collect(),
            funding: filter
                .funding
                .into_iter()
                .map(|f| crate::service::json_list::name(&entity::course::FundingOption::from(f)))
                .collect(),
            bundeslaender: filter
                .bundeslaender
                .into_iter()
                .map(|b| bundesland_name(b.into()).to_owned())
                .collect(),
            languages: filter.languages,
            start_from: filter.start_from,
            start_to: filter.start_to,
            max_price: filter.max_price,
            near: filter.near.map(|n| (n.lat, n.lng, n.radius_km)),
            has_seats: filter.has_seats,
        };
        let sort = match sort.unwrap_or_default() {
            CourseSearchSort::Relevance => SearchSort::Relevance,
            CourseSearchSort::StartDate => SearchSort::StartDate,
            CourseSearchSort::PriceAsc => SearchSort::PriceAsc,
            CourseSearchSort::PriceDesc => SearchSort::PriceDesc,
            CourseSearchSort::Distance => SearchSort::Distance,
            CourseSearchSort::Updated => SearchSort::Updated,
        };
        // What the selection does not show is neither computed nor loaded.
        let look_ahead = ctx.look_ahead();
        let hits_selection = look_ahead.field("hits");
        let shown = search::Shown {
            facets: look_ahead.field("facets").exists(),
            highlights: hits_selection.field("highlights").exists(),
        };
        let page_range = (page.offset as usize, page.first as usize);
        let results = search::search(state, query.as_deref(), input, sort, page_range, shown).await?;

        // The index may lag the database by a moment: what is no longer published is left out.
        let returned = results.hits.len();
        let ids: Vec<_> = results.hits.iter().map(|h| h.course_id).collect();
        let courses = loader::<CourseLoader>(ctx)?
            .load_many(ids.clone())
            .await
            .map_err(crate::error::ApiError::from)?;
        let offerings: HashMap<_, _> = if hits_selection.field("offerings").exists() {
            loader::<OfferingsLoader>(ctx)?.load_many(ids).await.map_err(crate::error::ApiError::from)?
        } else {
            HashMap::new()
        };
        let mut hits = Vec::with_capacity(results.hits.len());
        for hit in results.hits {
            let Some(course) = courses.get(&hit.course_id) else { continue };
            if course.status != entity::course::CourseStatus::Published {
                continue;
            }
            let all = offerings.get(&hit.course_id).cloned().unwrap_or_default();
            let matching: Vec<Offering> = all
                .into_iter()
                .filter(|o| hit.offering_ids.is_empty() || hit.offering_ids.contains(&o.id))
                .map(Offering::from)
                .collect();
            hits.push(CourseSearchHit {
                course: Course::from(course.clone()),
                offerings: matching,
                distance_km: hit.distance_km,
                highlights: SearchHighlights {
                    title: hit.title_highlight,
                    description: hit.description_snippet,
                },
            });
        }
        // Cursors count what the engine returned, so a hit left out here does not shift the next page.
        let shown = page.offset as usize + returned;
        let cursor = |offset: u64| URL_SAFE_NO_PAD.encode(format!("offset:{offset}"));
        let page_info = PageInfo {
            has_previous_page: page.offset > 0,
            has_next_page: results.total_courses > page.offset as usize + page.first as usize,
            start_cursor: (!hits.is_empty()).then(|| cursor(page.offset)),
            end_cursor: (shown > 0).then(|| cursor(shown as u64 - 1)),
        };
        Ok(CourseSearchResult {
            hits,
            total_hits: results.total_courses as i32,
            processing_time_ms: results.processing_time_ms as i32,
            facets: facets(results.facets),
            page_info,
        })
    }

    /// Course titles for search as you type (up to `limit`, default 8, at most 20).
    async fn suggest_courses(
        &self,
        ctx: &Context<'_>,
        prefix: String,
        #[graphql(default = 8)] limit: i32,
    ) -> Result<Vec<CourseSuggestion>> {
        if !(1..=20).contains(&limit) {
            return Err(crate::error::ApiError::bad_input("limit", "limit must be 1 to 20").into());
        }
        let state = context::state(ctx)?;
        let suggestions = search::suggest(state, &prefix, limit as usize).await?;
        // As in searchCourses: what the database no longer publishes is left out.
        let ids: Vec<_> = suggestions.iter().map(|s| s.course_id).collect();
        let courses =
            loader::<CourseLoader>(ctx)?.load_many(ids).await.map_err(crate::error::ApiError::from)?;
        Ok(suggestions
            .into_iter()
            .filter(|s| {
                courses.get(&s.course_id).is_some_and(|c| c.status == entity::course::CourseStatus::Published)
            })
            .map(|s| CourseSuggestion { course_id: ID(s.course_id.to_string()), title: s.title })
            .collect())
    }
}

fn facets(f: Facets) -> SearchFacets {
    let list = |values: Vec<(String, usize)>| -> Vec<FacetCount> {
        values.into_iter().map(|(value, count)| FacetCount { value, count: count as i32 }).collect()
    };
    SearchFacets {
        skills: list(f.skills),
        dqr_levels: list(f.dqr_levels),
        formats: list(f.formats),
        schedules: list(f.schedules),
        funding: list(f.funding),
        bundeslaender: list(f.bundeslaender),
        languages: list(f.languages),
    }
}
