//! The Meilisearch backend (meilisearch-sdk): settings from `search-config/courses.json`, one
//! document per offering, `distinct` on the course id so each course is one hit.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use meilisearch_sdk::client::{Client, SwapIndexes};
use meilisearch_sdk::documents::{DocumentsQuery, DocumentsResults};
use meilisearch_sdk::indexes::Index;
use meilisearch_sdk::search::{SearchResults as MeiliResults, Selectors};
use meilisearch_sdk::settings::Settings;
use meilisearch_sdk::task_info::TaskInfo;
use serde::Deserialize;
use uuid::Uuid;

use super::document::{CourseDocuments, DocumentVersion, Geo, OfferingDocument};
use super::query::{
    CourseHit, Facets, SearchFilter, SearchRequest, SearchResults, SearchSort, Suggestion, haversine_km,
    top_facets,
};
use super::{PositionStore, SearchBackend, SearchError};

/// The index settings, as data.
pub const SETTINGS: &str = include_str!("../../../search-config/courses.json");
const TASK_TIMEOUT: Duration = Duration::from_secs(120);
const FACETS: [&str; 7] =
    ["skillIds", "dqrLevel", "format", "schedule", "funding", "bundesland", "languages"];

pub struct MeiliBackend {
    client: Client,
    uid: String,
    /// Set when the index was found missing (deleted behind our back) and created again, until the
    /// indexing worker takes it and queues the comparison that refills it.
    lost: AtomicBool,
    /// One re-creation at a time.
    recreating: AtomicBool,
    /// `search-config/query.json`'s generic words and `courses.json`'s stop words, lower case.
    generic: HashSet<String>,
    stop_words: HashSet<String>,
}

fn unavailable(e: impl std::fmt::Display) -> SearchError {
    SearchError::Unavailable(e.to_string())
}

fn index_missing(e: &meilisearch_sdk::errors::Error) -> bool {
    matches!(e, meilisearch_sdk::errors::Error::Meilisearch(m)
        if m.error_code == meilisearch_sdk::errors::ErrorCode::IndexNotFound)
}

/// The query without its stop words and with its generic words ("Kurs", "Weiterbildung") moved to
/// the end. Meilisearch's matching strategy `last` drops words from the end when not all match, so
/// a generic word is dropped first and never decides which courses are found, as on the embedded
/// index; and its German segmenter splits some words it does not know ("brauche"), so that a stop
/// word in the settings no longer meets the query's tokens and its first part must match. A query
/// of only stop or generic words is sent as typed.
pub fn specific_words_first(query: &str, generic: &HashSet<String>, stop_words: &HashSet<String>) -> String {
    let (mut specific, mut general) = (Vec::new(), Vec::new());
    for word in query.split_whitespace() {
        let bare = word.trim_matches(|c: char| !c.is_alphanumeric()).to_lowercase();
        if stop_words.contains(&bare) {
            continue;
        }
        if generic.contains(&bare) { general.push(word) } else { specific.push(word) }
    }
    if specific.is_empty() {
        return query.to_owned();
    }
    specific.extend(general);
    specific.join(" ")
}

pub fn settings() -> Result<Settings, SearchError> {
    serde_json::from_str(SETTINGS)
        .map_err(|e| SearchError::Internal(format!("search-config/courses.json: {e}")))
}

impl MeiliBackend {
    /// Connects, creates the index when missing and applies the settings, waiting for the task: a
    /// failure here stops start-up.
    pub async fn connect(url: &str, key: Option<&str>, uid: &str) -> Result<Self, SearchError> {
        let client = Client::new(url, key).map_err(unavailable)?;
        let generic = super::settings::query()?.optional_words.iter().map(|w| w.to_lowercase()).collect();
        let stop_words = super::settings::courses()?.stop_words.iter().map(|w| w.to_lowercase()).collect();
        let backend = Self {
            client,
            uid: uid.to_owned(),
            lost: AtomicBool::new(false),
            recreating: AtomicBool::new(false),
            generic,
            stop_words,
        };
        backend.prepare_index(uid).await?;
        Ok(backend)
    }

    /// An engine error as a [`SearchError`]. A missing index (someone deleted it) is created again
    /// with its settings, and marked lost so that the worker refills it.
    async fn failed(&self, e: meilisearch_sdk::errors::Error) -> SearchError {
        if !index_missing(&e) {
            return unavailable(e);
        }
        match self.recreate().await {
            Ok(()) => unavailable("the index was missing; it was created again and is refilling"),
            Err(err) => err,
        }
    }

    async fn recreate(&self) -> Result<(), SearchError> {
        if self.recreating.swap(true, Ordering::SeqCst) {
            return Err(unavailable("the index is being created again"));
        }
        tracing::warn!(index = %self.uid, "the Meilisearch index is missing: creating it again to refill it");
        let result = self.prepare_index(&self.uid).await;
        self.recreating.store(false, Ordering::SeqCst);
        if result.is_ok() {
            self.lost.store(true, Ordering::SeqCst);
        }
        result
    }

    async fn prepare_index(&self, uid: &str) -> Result<(), SearchError> {
        if self.client.get_index(uid).await.is_err() {
            let task = self.client.create_index(uid, Some("id")).await.map_err(unavailable)?;
            // An index created meanwhile by another instance is fine.
            let _ = self.wait(task).await;
        }
        let task = self.client.index(uid).set_settings(&settings()?).await.map_err(unavailable)?;
        self.wait(task).await?;
        self.apply_separate_settings(uid).await
    }

    /// Settings the SDK's `Settings` has no field for, each with its own endpoint.
    async fn apply_separate_settings(&self, uid: &str) -> Result<(), SearchError> {
        let raw: serde_json::Value = serde_json::from_str(SETTINGS)
            .map_err(|e| SearchError::Internal(format!("search-config/courses.json: {e}")))?;
        let index = self.client.index(uid);
        if let Some(enabled) = raw.get("facetSearch").and_then(serde_json::Value::as_bool) {
            self.wait(index.set_facet_search(enabled).await.map_err(unavailable)?).await?;
        }
        if let Some(value) = raw.get("prefixSearch") {
            let prefix: meilisearch_sdk::settings::PrefixSearchSettings =
                serde_json::from_value(value.clone()).map_err(|e| {
                    SearchError::Internal(format!("search-config/courses.json prefixSearch: {e}"))
                })?;
            self.wait(index.set_prefix_search(prefix).await.map_err(unavailable)?).await?;
        }
        Ok(())
    }

    async fn wait(&self, task: TaskInfo) -> Result<(), SearchError> {
        let done = task
            .wait_for_completion(&self.client, Some(Duration::from_millis(25)), Some(TASK_TIMEOUT))
            .await
            .map_err(unavailable)?;
        if done.is_failure() {
            return Err(SearchError::Internal(format!("Meilisearch task failed: {}", done.unwrap_failure())));
        }
        Ok(())
    }

    fn index(&self) -> Index {
        self.client.index(&self.uid)
    }

    fn filter_expression(filter: &SearchFilter, courses: Option<&[String]>) -> String {
        let quote = |v: &str| format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""));
        let list = |values: &[String]| values.iter().map(|v| quote(v)).collect::<Vec<_>>().join(", ");
        let mut parts = vec!["status = \"PUBLISHED\"".to_owned()];
        for (attribute, values) in [
            ("skillIds", &filter.skills),
            ("format", &filter.formats),
            ("schedule", &filter.schedules),
            ("funding", &filter.funding),
            ("bundesland", &filter.bundeslaender),
            ("languages", &filter.languages),
        ] {
            if !values.is_empty() {
                parts.push(format!("{attribute} IN [{}]", list(values)));
            }
        }
        if !filter.dqr_levels.is_empty() {
            let levels: Vec<String> = filter.dqr_levels.iter().map(i64::to_string).collect();
            parts.push(format!("dqrLevel IN [{}]", levels.join(", ")));
        }
        let mut window = Vec::new();
        if let Some(from) = filter.start_from {
            window.push(format!("start >= {from}"));
        }
        if let Some(to) = filter.start_to {
            window.push(format!("start <= {to}"));
        }
        if !window.is_empty() {
            parts.push(format!("(({}) OR rollingStart = true)", window.join(" AND ")));
        }
        if let Some(max) = filter.max_price {
            parts.push(format!("price <= {max}"));
        }
        if filter.has_seats {
            parts.push("(seatsAvailable >= 1 OR seatsAvailable NOT EXISTS)".to_owned());
        }
        if let Some(near) = filter.near {
            parts.push(format!(
                "_geoRadius({}, {}, {})",
                near.lat,
                near.lng,
                (near.radius_km * 1000.0).round() as i64
            ));
        }
        if let Some(courses) = courses {
            parts.push(format!("courseId IN [{}]", list(courses)));
        }
        parts.join(" AND ")
    }

    fn sort(request: &SearchRequest) -> Vec<String> {
        match request.sort {
            SearchSort::Relevance => Vec::new(),
            SearchSort::StartDate => vec!["start:asc".into()],
            SearchSort::PriceAsc => vec!["price:asc".into()],
            SearchSort::PriceDesc => vec!["price:desc".into()],
            SearchSort::Distance => request
                .filter
                .near
                .map(|n| vec![format!("_geoPoint({}, {}):asc", n.lat, n.lng)])
                .unwrap_or_default(),
            SearchSort::Updated => vec!["updated:desc".into()],
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HitDoc {
    course_id: String,
    offering_id: Option<String>,
    #[serde(rename = "_geo")]
    geo: Option<Geo>,
}

#[async_trait::async_trait]
impl SearchBackend for MeiliBackend {
    /// Every instance shares the one index, so its position lives in the database.
    fn position_store(&self) -> PositionStore {
        PositionStore::Cursor(format!("meili:{}", self.uid))
    }

    fn name(&self) -> &'static str {
        "meilisearch"
    }

    fn take_lost(&self) -> bool {
        self.lost.swap(false, Ordering::SeqCst)
    }

    /// Upserts the courses' documents in one task, and deletes only those a course no longer has
    /// (an offering removed, a course archived): a title change is a single task.
    /// The position is kept in the database (see [`PositionStore::Cursor`]).
    async fn apply(&self, changes: &[CourseDocuments], _position: Option<i64>) -> Result<(), SearchError> {
        #[derive(Deserialize)]
        struct IdDoc {
            id: String,
        }
        if changes.is_empty() {
            return Ok(());
        }
        let index = self.index();
        let ids: Vec<String> = changes.iter().map(|c| format!("\"{}\"", c.course_id)).collect();
        let filter = format!("courseId IN [{}]", ids.join(", "));
        let mut existing_query = DocumentsQuery::new(&index);
        existing_query.with_filter(&filter).with_fields(["id"]).with_limit(100_000);
        let existing: Vec<IdDoc> = match existing_query.execute::<IdDoc>().await {
            Ok(page) => page.results,
            Err(e) if index_missing(&e) => {
                self.recreate().await?;
                Vec::new()
            }
            Err(e) => return Err(unavailable(e)),
        };
        let documents: Vec<&OfferingDocument> = changes.iter().flat_map(|c| c.documents.iter()).collect();
        let keep: HashSet<&str> = documents.iter().map(|d| d.id.as_str()).collect();
        let gone: Vec<String> =
            existing.into_iter().map(|d| d.id).filter(|id| !keep.contains(id.as_str())).collect();
        let mut tasks = Vec::new();
        if !documents.is_empty() {
            tasks.push(index.add_or_replace(&documents, Some("id")).await.map_err(unavailable)?);
        }
        if !gone.is_empty() {
            tasks.push(index.delete_documents(&gone).await.map_err(unavailable)?);
        }
        for task in tasks {
            self.wait(task).await?;
        }
        Ok(())
    }

    async fn search(&self, request: &SearchRequest) -> Result<SearchResults, SearchError> {
        let index = self.index();
        let filter = Self::filter_expression(&request.filter, None);
        let sort = Self::sort(request);
        let sort_refs: Vec<&str> = sort.iter().map(String::as_str).collect();
        let limit = request.limit.max(1);
        let text = specific_words_first(&request.query, &self.generic, &self.stop_words);
        let mut query = index.search();
        if !request.without_facets {
            query.with_facets(Selectors::Some(&FACETS));
        }
        query
            .with_query(&text)
            .with_filter(&filter)
            .with_distinct("courseId")
            .with_attributes_to_retrieve(Selectors::Some(&["courseId", "offeringId", "_geo"]));
        if !request.without_highlights {
            query
                .with_attributes_to_highlight(Selectors::Some(&["title"]))
                .with_attributes_to_crop(Selectors::Some(&[("description", Some(24))]))
                .with_highlight_pre_tag("<em>")
                .with_highlight_post_tag("</em>");
        }
        if !sort_refs.is_empty() {
            query.with_sort(&sort_refs);
        }
        // Page mode counts the total exactly; an offset that is not a whole page falls back to
        // offset and limit (with an estimated total).
        if request.offset.is_multiple_of(limit) {
            query.with_hits_per_page(limit).with_page(request.offset / limit + 1);
        } else {
            query.with_offset(request.offset).with_limit(limit);
        }
        let results: MeiliResults<HitDoc> = match query.execute().await {
            Ok(results) => results,
            Err(e) => return Err(self.failed(e).await),
        };
        let page_courses: Vec<String> = results.hits.iter().map(|h| h.result.course_id.clone()).collect();

        // The matching offerings of the page's courses: the same filters, without distinct.
        let mut offerings: HashMap<String, Vec<HitDoc>> = HashMap::new();
        if !page_courses.is_empty() {
            let filter = Self::filter_expression(&request.filter, Some(&page_courses));
            let mut query = index.search();
            query
                .with_query(&text)
                .with_filter(&filter)
                .with_limit(1000)
                .with_attributes_to_retrieve(Selectors::Some(&["courseId", "offeringId", "_geo"]));
            let matching: MeiliResults<HitDoc> = match query.execute().await {
                Ok(results) => results,
                Err(e) => return Err(self.failed(e).await),
            };
            for hit in matching.hits {
                offerings.entry(hit.result.course_id.clone()).or_default().push(hit.result);
            }
        }
        let near = request.filter.near;
        let hits = results
            .hits
            .into_iter()
            .filter_map(|hit| {
                let course_id = Uuid::parse_str(&hit.result.course_id).ok()?;
                let docs = offerings.remove(&hit.result.course_id).unwrap_or_default();
                let distance_km = near.and_then(|n| {
                    docs.iter()
                        .filter_map(|d| d.geo.map(|g| haversine_km(n.lat, n.lng, g.lat, g.lng)))
                        .min_by(f64::total_cmp)
                        .map(|d| (d * 10.0).round() / 10.0)
                });
                let offering_ids = docs
                    .iter()
                    .filter_map(|d| d.offering_id.as_deref().and_then(|o| Uuid::parse_str(o).ok()))
                    .collect();
                let formatted = hit.formatted_result.unwrap_or_default();
                let text = |name: &str| formatted.get(name).and_then(|v| v.as_str()).map(str::to_owned);
                Some(CourseHit {
                    course_id,
                    offering_ids,
                    distance_km,
                    title_highlight: text("title"),
                    description_snippet: if request.query.trim().is_empty() {
                        None
                    } else {
                        text("description")
                    },
                })
            })
            .collect();
        let distribution = results.facet_distribution.unwrap_or_default();
        let facet = |name: &str, limit: usize| -> Vec<(String, usize)> {
            top_facets(distribution.get(name).cloned().unwrap_or_default(), limit)
        };
        Ok(SearchResults {
            total_courses: results.total_hits.or(results.estimated_total_hits).unwrap_or(0),
            hits,
            facets: Facets {
                skills: facet("skillIds", 50),
                dqr_levels: facet("dqrLevel", 8),
                formats: facet("format", 10),
                schedules: facet("schedule", 10),
                funding: facet("funding", 10),
                bundeslaender: facet("bundesland", 16),
                languages: facet("languages", 20),
            },
            processing_time_ms: results.processing_time_ms as u64,
        })
    }

    async fn suggest(&self, prefix: &str, limit: usize) -> Result<Vec<Suggestion>, SearchError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct TitleDoc {
            course_id: String,
            title: String,
        }
        let index = self.index();
        let mut query = index.search();
        query
            .with_query(prefix)
            .with_filter("status = \"PUBLISHED\"")
            .with_distinct("courseId")
            .with_limit(limit * 3)
            .with_attributes_to_retrieve(Selectors::Some(&["courseId", "title"]));
        let results: MeiliResults<TitleDoc> = match query.execute().await {
            Ok(results) => results,
            Err(e) => return Err(self.failed(e).await),
        };
        let mut seen = HashSet::new();
        Ok(results
            .hits
            .into_iter()
            .filter_map(|h| {
                Some(Suggestion {
                    course_id: Uuid::parse_str(&h.result.course_id).ok()?,
                    title: h.result.title,
                })
            })
            .filter(|s| seen.insert(s.title.clone()))
            .take(limit)
            .collect())
    }

    async fn document_versions(&self) -> Result<Vec<DocumentVersion>, SearchError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct VersionDoc {
            id: String,
            course_id: String,
            #[serde(default)]
            version: i64,
        }
        let index = self.index();
        let mut out = Vec::new();
        let mut offset = 0;
        loop {
            let mut query = DocumentsQuery::new(&index);
            query.with_offset(offset).with_limit(1000).with_fields(["id", "courseId", "version"]);
            let page: DocumentsResults<VersionDoc> = match query.execute().await {
                Ok(page) => page,
                Err(e) if index_missing(&e) => {
                    // Created again empty: every document is missing, and the comparison says so.
                    self.recreate().await?;
                    return Ok(out);
                }
                Err(e) => return Err(unavailable(e)),
            };
            let n = page.results.len();
            out.extend(page.results.into_iter().map(|d| DocumentVersion {
                course_id: Uuid::parse_str(&d.course_id).unwrap_or_default(),
                id: d.id,
                version: d.version,
            }));
            if n < 1000 {
                return Ok(out);
            }
            offset += n;
        }
    }

    /// Builds a fresh index with the settings and all documents, then swaps it in and deletes the
    /// old one: searches never see a partial index.
    async fn rebuild(
        &self,
        documents: Vec<OfferingDocument>,
        _position: Option<i64>,
    ) -> Result<(), SearchError> {
        let staging = format!("{}_rebuild_{}", self.uid, Uuid::now_v7().simple());
        self.prepare_index(&staging).await?;
        let index = self.client.index(&staging);
        // Enqueue every chunk, then wait: Meilisearch batches consecutive document tasks.
        let mut tasks = Vec::new();
        for chunk in documents.chunks(10_000) {
            tasks.push(index.add_or_replace(chunk, Some("id")).await.map_err(unavailable)?);
        }
        for task in tasks {
            self.wait(task).await?;
        }
        let swap = SwapIndexes { indexes: (self.uid.clone(), staging.clone()), rename: None };
        let task = self.client.swap_indexes([&swap]).await.map_err(unavailable)?;
        self.wait(task).await?;
        let task = self.client.delete_index(&staging).await.map_err(unavailable)?;
        self.wait(task).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keys of `search-config/courses.json` applied through their own endpoints (see
    /// `apply_separate_settings`).
    const SEPARATE_SETTINGS: [&str; 2] = ["facetSearch", "prefixSearch"];

    #[test]
    fn generic_words_move_to_the_end_of_the_query() {
        let generic: HashSet<String> = ["kurs", "weiterbildung"].map(String::from).into();
        let stop: HashSet<String> = ["ich", "brauche", "für"].map(String::from).into();
        let rewrite = |q: &str| specific_words_first(q, &generic, &stop);
        assert_eq!(rewrite("Kurs SPS Jena"), "SPS Jena Kurs");
        assert_eq!(rewrite("Weiterbildung, Labor"), "Labor Weiterbildung,");
        assert_eq!(rewrite("ich brauche einen Kurs für Excel"), "einen Excel Kurs");
        assert_eq!(rewrite("Kurs Weiterbildung"), "Kurs Weiterbildung");
        assert_eq!(rewrite("ich für"), "ich für");
    }

    #[test]
    fn every_setting_in_the_config_reaches_meilisearch() -> Result<(), SearchError> {
        let raw: serde_json::Value =
            serde_json::from_str(SETTINGS).map_err(|e| SearchError::Internal(e.to_string()))?;
        let parsed = serde_json::to_value(settings()?).map_err(|e| SearchError::Internal(e.to_string()))?;
        let keys = |v: &serde_json::Value| -> Vec<String> {
            v.as_object()
                .map(|o| o.iter().filter(|(_, v)| !v.is_null()).map(|(k, _)| k.clone()).collect())
                .unwrap_or_default()
        };
        let mut expected: Vec<String> =
            keys(&raw).into_iter().filter(|k| !SEPARATE_SETTINGS.contains(&k.as_str())).collect();
        expected.sort();
        let mut got = keys(&parsed);
        got.sort();
        assert_eq!(got, expected, "a key of search-config/courses.json is not understood by the SDK");
        Ok(())
    }

    #[test]
    fn filters_become_one_expression() {
        let filter = SearchFilter {
            formats: vec!["ONLINE".into()],
            dqr_levels: vec![5, 6],
            start_from: Some(10),
            near: Some(super::super::query::Near { lat: 50.9, lng: 11.6, radius_km: 30.0 }),
            ..SearchFilter::default()
        };
        assert_eq!(
            MeiliBackend::filter_expression(&filter, None),
            "status = \"PUBLISHED\" AND format IN [\"ONLINE\"] AND dqrLevel IN [5, 6] AND ((start >= 10) OR rollingStart = true) AND _geoRadius(50.9, 11.6, 30000)"
        );
    }
}
