//! The search contract both backends serve: a validated request and its results.

use uuid::Uuid;

/// At most this many characters of query text.
pub const MAX_QUERY_CHARS: usize = 200;
pub const MAX_RADIUS_KM: f64 = 1000.0;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Near {
    pub lat: f64,
    pub lng: f64,
    pub radius_km: f64,
}

/// Filters; lists mean "any of", fields "all of".
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SearchFilter {
    pub skills: Vec<String>,
    pub dqr_levels: Vec<i64>,
    /// Enum names, e.g. IN_PERSON.
    pub formats: Vec<String>,
    pub schedules: Vec<String>,
    pub funding: Vec<String>,
    pub bundeslaender: Vec<String>,
    pub languages: Vec<String>,
    /// Unix timestamps (seconds); courses with a rolling start always qualify.
    pub start_from: Option<i64>,
    pub start_to: Option<i64>,
    pub max_price: Option<i64>,
    pub near: Option<Near>,
    pub has_seats: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SearchSort {
    #[default]
    Relevance,
    StartDate,
    PriceAsc,
    PriceDesc,
    /// Nearest first; needs `near`.
    Distance,
    /// Most recently changed first.
    Updated,
}

#[derive(Debug, Clone, Default)]
pub struct SearchRequest {
    pub query: String,
    pub filter: SearchFilter,
    pub sort: SearchSort,
    /// Courses to skip and to return.
    pub offset: usize,
    pub limit: usize,
    /// Skip the facet counts (callers that only need the hits, such as matching).
    pub without_facets: bool,
    /// Skip the highlighted title and the description snippet (a page that shows neither).
    pub without_highlights: bool,
}

/// One course in the results, with the offerings that matched.
#[derive(Debug, Clone, PartialEq)]
pub struct CourseHit {
    pub course_id: Uuid,
    /// Empty for a course's single document (rolling start, online only).
    pub offering_ids: Vec<Uuid>,
    /// To the nearest matching offering, when `near` was given.
    pub distance_km: Option<f64>,
    /// The title with matches in `<em>`.
    pub title_highlight: Option<String>,
    /// A passage of the description with matches in `<em>`.
    pub description_snippet: Option<String>,
}

/// Per filter field: value and the number of matching courses, most frequent first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Facets {
    pub skills: Vec<(String, usize)>,
    pub dqr_levels: Vec<(String, usize)>,
    pub formats: Vec<(String, usize)>,
    pub schedules: Vec<(String, usize)>,
    pub funding: Vec<(String, usize)>,
    pub bundeslaender: Vec<(String, usize)>,
    pub languages: Vec<(String, usize)>,
}

#[derive(Debug, Clone, Default)]
pub struct SearchResults {
    /// Distinct courses matching.
    pub total_courses: usize,
    pub hits: Vec<CourseHit>,
    pub facets: Facets,
    pub processing_time_ms: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Suggestion {
    pub course_id: Uuid,
    pub title: String,
}

/// Great-circle distance in km.
pub fn haversine_km(a_lat: f64, a_lng: f64, b_lat: f64, b_lng: f64) -> f64 {
    let (p1, p2) = (a_lat.to_radians(), b_lat.to_radians());
    let dp = (b_lat - a_lat).to_radians();
    let dl = (b_lng - a_lng).to_radians();
    let h = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * 6371.0 * h.sqrt().asin()
}

/// Sorts facet counts by count, then value, keeping the top `limit`.
pub fn top_facets(counts: std::collections::HashMap<String, usize>, limit: usize) -> Vec<(String, usize)> {
    let mut list: Vec<(String, usize)> = counts.into_iter().collect();
    list.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    list.truncate(limit);
    list
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jena_dresden_is_about_170_km() {
        let km = haversine_km(50.9271, 11.5892, 51.0504, 13.7373);
        assert!((145.0..160.0).contains(&km), "{km}");
    }
}
