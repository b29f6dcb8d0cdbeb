//! Course search: input rules, and the call to the backend with a deadline.

use std::time::Duration;

use chrono::NaiveDate;

use crate::context::AppState;
use crate::error::{ApiError, ApiResult};
use crate::search::SearchError;
use crate::search::document::day_timestamp;
use crate::search::query::{
    MAX_QUERY_CHARS, MAX_RADIUS_KM, Near, SearchFilter, SearchRequest, SearchResults, SearchSort, Suggestion,
};
use crate::service::validate::bounds;
use crate::service::{skills, validate};

/// A search engine that does not answer within this time counts as down.
pub const TIMEOUT: Duration = Duration::from_secs(5);

/// The filter as the API takes it, before validation.
#[derive(Debug, Clone, Default)]
pub struct FilterInput {
    pub skills: Vec<String>,
    pub dqr_levels: Vec<i32>,
    pub formats: Vec<String>,
    pub schedules: Vec<String>,
    pub funding: Vec<String>,
    pub bundeslaender: Vec<String>,
    pub languages: Vec<String>,
    pub start_from: Option<NaiveDate>,
    pub start_to: Option<NaiveDate>,
    pub max_price: Option<i64>,
    pub near: Option<(f64, f64, f64)>,
    pub has_seats: bool,
}

/// What of a result the caller shows beyond the hits: what it leaves out is not computed.
#[derive(Debug, Clone, Copy)]
pub struct Shown {
    pub facets: bool,
    pub highlights: bool,
}

impl Default for Shown {
    fn default() -> Self {
        Self { facets: true, highlights: true }
    }
}

pub async fn search(
    state: &AppState,
    query: Option<&str>,
    filter: FilterInput,
    sort: SearchSort,
    (offset, limit): (usize, usize),
    shown: Shown,
) -> ApiResult<SearchResults> {
    let query = query.unwrap_or_default().trim().to_owned();
    if query.chars().count() > MAX_QUERY_CHARS {
        return Err(ApiError::bad_input(
            "query",
            format!("query must have at most {MAX_QUERY_CHARS} characters"),
        ));
    }
    let filter = validate_filter(state, filter).await?;
    if sort == SearchSort::Distance && filter.near.is_none() {
        return Err(ApiError::bad_input("sort", "sorting by distance needs filter.near"));
    }
    let request = SearchRequest {
        query,
        filter,
        sort,
        offset,
        limit,
        without_facets: !shown.facets,
        without_highlights: !shown.highlights,
    };
    let started = std::time::Instant::now();
    let results = with_deadline(state.search.search(&request)).await;
    state.metrics.search(started.elapsed());
    results
}

pub async fn suggest(state: &AppState, prefix: &str, limit: usize) -> ApiResult<Vec<Suggestion>> {
    let prefix = prefix.trim();
    if prefix.chars().count() > 100 {
        return Err(ApiError::bad_input("prefix", "prefix must have at most 100 characters"));
    }
    if prefix.is_empty() {
        return Ok(Vec::new());
    }
    with_deadline(state.search.suggest(prefix, limit)).await
}

async fn with_deadline<T>(work: impl Future<Output = Result<T, SearchError>>) -> ApiResult<T> {
    match tokio::time::timeout(TIMEOUT, work).await {
        Ok(result) => Ok(result?),
        Err(_) => Err(SearchError::Unavailable("no answer within the deadline".into()).into()),
    }
}

async fn validate_filter(state: &AppState, input: FilterInput) -> ApiResult<SearchFilter> {
    validate::all_at_most(&[
        ("filter.skills", input.skills.len(), bounds::FILTER_SKILLS),
        ("filter.dqrLevels", input.dqr_levels.len(), bounds::DQR_LEVELS),
        ("filter.formats", input.formats.len(), bounds::ENUM_VALUES),
        ("filter.schedules", input.schedules.len(), bounds::ENUM_VALUES),
        ("filter.funding", input.funding.len(), bounds::ENUM_VALUES),
        ("filter.bundeslaender", input.bundeslaender.len(), bounds::ENUM_VALUES),
        ("filter.languages", input.languages.len(), bounds::LANGUAGES),
    ])?;
    let unknown = skills::unknown(&state.db, &input.skills).await?;
    if !unknown.is_empty() {
        return Err(ApiError::bad_input(
            "filter.skills",
            format!("unknown skill ids: {}", unknown.join(", ")),
        ));
    }
    if let Some(level) = input.dqr_levels.iter().find(|l| !(1..=8).contains(*l)) {
        return Err(ApiError::bad_input("filter.dqrLevels", format!("DQR levels are 1 to 8, not {level}")));
    }
    let languages = validate::language_codes("filter.languages", &input.languages)?;
    if let (Some(from), Some(to)) = (input.start_from, input.start_to)
        && to < from
    {
        return Err(ApiError::bad_input("filter.startTo", "startTo must not be before startFrom"));
    }
    if input.max_price.is_some_and(|p| p < 0) {
        return Err(ApiError::bad_input("filter.maxPrice", "maxPrice must not be negative"));
    }
    let near = match input.near {
        Some((lat, lng, radius_km)) => {
            validate::coordinates("filter.near", lat, lng)?;
            if !radius_km.is_finite() || radius_km <= 0.0 || radius_km > MAX_RADIUS_KM {
                return Err(ApiError::bad_input(
                    "filter.near.radiusKm",
                    format!("radiusKm must be more than 0 and at most {MAX_RADIUS_KM}"),
                ));
            }
            Some(Near { lat, lng, radius_km })
        }
        None => None,
    };
    Ok(SearchFilter {
        skills: input.skills,
        dqr_levels: input.dqr_levels.into_iter().map(i64::from).collect(),
        formats: input.formats,
        schedules: input.schedules,
        funding: input.funding,
        bundeslaender: input.bundeslaender,
        languages,
        start_from: input.start_from.map(day_timestamp),
        start_to: input.start_to.map(day_timestamp),
        max_price: input.max_price,
        near,
        has_seats: input.has_seats,
    })
}
