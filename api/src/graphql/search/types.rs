use async_graphql::connection::PageInfo;
use async_graphql::{Enum, InputObject, SimpleObject};
use chrono::NaiveDate;

use crate::graphql::catalog::types::{Course, CourseFormat, CourseSchedule, FundingOption, Offering};
use crate::graphql::organization::types::Bundesland;

#[derive(InputObject, Clone, Copy)]
pub struct NearInput {
    /// -90 to 90.
    pub lat: f64,
    /// -180 to 180.
    pub lng: f64,
    /// More than 0, at most 1000.
    pub radius_km: f64,
}

/// Filters of `searchCourses`; lists mean "any of", fields "all of".
#[derive(InputObject, Default)]
pub struct CourseSearchFilter {
    /// Skill ids. At most 50 values.
    #[graphql(default)]
    pub skills: Vec<String>,
    /// 1–8. At most 8 values.
    #[graphql(default)]
    pub dqr_levels: Vec<i32>,
    /// At most 20 values.
    #[graphql(default)]
    pub formats: Vec<CourseFormat>,
    /// At most 20 values.
    #[graphql(default)]
    pub schedules: Vec<CourseSchedule>,
    /// At most 20 values.
    #[graphql(default)]
    pub funding: Vec<FundingOption>,
    /// Where the offering takes place. At most 20 values.
    #[graphql(default)]
    pub bundeslaender: Vec<Bundesland>,
    /// ISO 639-1 codes. At most 10 values.
    #[graphql(default)]
    pub languages: Vec<String>,
    /// Offerings starting on or after this day (courses with a rolling start always match).
    pub start_from: Option<NaiveDate>,
    pub start_to: Option<NaiveDate>,
    /// Price per participant at most this many cents.
    pub max_price: Option<i64>,
    /// Offerings within a radius (online-only courses have no place and do not match).
    pub near: Option<NearInput>,
    /// Only offerings with free seats.
    #[graphql(default)]
    pub has_seats: bool,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Default)]
pub enum CourseSearchSort {
    /// Best match first.
    #[default]
    Relevance,
    /// Earliest start first.
    StartDate,
    PriceAsc,
    PriceDesc,
    /// Nearest first; needs `filter.near`.
    Distance,
    /// Most recently changed first.
    Updated,
}

#[derive(SimpleObject, Clone)]
pub struct SearchHighlights {
    /// The title with matching words in `<em>`.
    pub title: Option<String>,
    /// A passage of the description with matching words in `<em>`.
    pub description: Option<String>,
}

/// A course that matched, once, with its offerings that matched.
#[derive(SimpleObject)]
pub struct CourseSearchHit {
    pub course: Course,
    /// The offerings that matched the filters (all offerings for an online course, none for a course
    /// with a rolling start).
    pub offerings: Vec<Offering>,
    /// To the nearest matching offering, when `filter.near` was given.
    pub distance_km: Option<f64>,
    pub highlights: SearchHighlights,
}

#[derive(SimpleObject, Clone)]
pub struct FacetCount {
    pub value: String,
    /// Matching courses with this value.
    pub count: i32,
}

/// Counts per value of each filter field over all matching courses, most frequent first.
#[derive(SimpleObject, Clone, Default)]
pub struct SearchFacets {
    pub skills: Vec<FacetCount>,
    pub dqr_levels: Vec<FacetCount>,
    pub formats: Vec<FacetCount>,
    pub schedules: Vec<FacetCount>,
    pub funding: Vec<FacetCount>,
    pub bundeslaender: Vec<FacetCount>,
    pub languages: Vec<FacetCount>,
}

#[derive(SimpleObject)]
pub struct CourseSearchResult {
    pub hits: Vec<CourseSearchHit>,
    /// Matching courses in all.
    pub total_hits: i32,
    pub processing_time_ms: i32,
    pub facets: SearchFacets,
    pub page_info: PageInfo,
}

#[derive(SimpleObject)]
pub struct CourseSuggestion {
    pub course_id: async_graphql::ID,
    pub title: String,
}
