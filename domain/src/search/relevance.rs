//! Relevance on judged queries: success@3 (a relevant course among the first three) and MRR@10 (the
//! mean of 1/rank of the first relevant course within the first ten, 0 when none), overall and per
//! kind of query. The suite lives in `tests/relevance/`: a catalogue of its own and two query sets,
//! each judged by reading the course texts before any tuning — `queries.json`, and `holdout.json`,
//! written later by someone who had not seen the first set or the tuning. `bench-relevance` prints
//! both backends side by side; the `relevance` test holds the embedded backend to the recorded
//! figures.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Deserialize;
use uuid::Uuid;

/// Ranks beyond this count as not found.
pub const DEPTH: usize = 10;
/// A query succeeds when a relevant course is among this many first hits.
pub const SUCCESS_AT: usize = 3;

/// One judged query: the courses (by catalogue key) a person typing it would accept.
#[derive(Debug, Clone, Deserialize)]
pub struct JudgedQuery {
    pub query: String,
    /// compound, synonym, typo, filler, abbreviation, place, certificate, umlaut or plain.
    pub kind: String,
    pub relevant: Vec<String>,
    #[serde(default)]
    pub note: String,
}

/// How one query fared.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub query: JudgedQuery,
    /// The first [`DEPTH`] hits, by catalogue key (`?` for a course outside the catalogue).
    pub ranked: Vec<String>,
    /// 1-based rank of the first relevant hit.
    pub first_relevant: Option<usize>,
}

impl Outcome {
    pub fn new(query: JudgedQuery, mut ranked: Vec<String>) -> Self {
        ranked.truncate(DEPTH);
        let relevant: HashSet<&str> = query.relevant.iter().map(String::as_str).collect();
        let first_relevant = ranked.iter().position(|key| relevant.contains(key.as_str())).map(|i| i + 1);
        Self { query, ranked, first_relevant }
    }

    pub fn success(&self) -> bool {
        self.first_relevant.is_some_and(|rank| rank <= SUCCESS_AT)
    }

    pub fn reciprocal_rank(&self) -> f64 {
        self.first_relevant.map_or(0.0, |rank| 1.0 / rank as f64)
    }
}

/// success@3 and MRR@10 over a set of outcomes.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Figures {
    pub queries: usize,
    pub success_at_3: f64,
    pub mrr_at_10: f64,
}

impl Figures {
    pub fn of<'a>(outcomes: impl IntoIterator<Item = &'a Outcome>) -> Self {
        let (mut queries, mut successes, mut rr) = (0, 0, 0.0);
        for outcome in outcomes {
            queries += 1;
            successes += usize::from(outcome.success());
            rr += outcome.reciprocal_rank();
        }
        if queries == 0 {
            return Self::default();
        }
        Self { queries, success_at_3: successes as f64 / queries as f64, mrr_at_10: rr / queries as f64 }
    }
}

/// Figures overall and per kind of query (kinds in alphabetical order).
pub fn report(outcomes: &[Outcome]) -> (Figures, BTreeMap<String, Figures>) {
    let mut kinds: BTreeMap<String, Vec<&Outcome>> = BTreeMap::new();
    for outcome in outcomes {
        kinds.entry(outcome.query.kind.clone()).or_default().push(outcome);
    }
    let per_kind = kinds.into_iter().map(|(kind, list)| (kind, Figures::of(list))).collect();
    (Figures::of(outcomes), per_kind)
}

/// The suite's catalogue and queries, shipped in `tests/relevance/`.
pub const CATALOGUE: &str = include_str!("../../../tests/relevance/catalogue.json");
pub const QUERIES: &str = include_str!("../../../tests/relevance/queries.json");
pub const HOLDOUT: &str = include_str!("../../../tests/relevance/holdout.json");

/// The query sets by name.
pub const SETS: [(&str, &str); 2] = [("judged", QUERIES), ("held out", HOLDOUT)];

/// Each course of a catalogue in the demo file's shape, by the id seeding gives it, with its key.
pub fn catalogue_keys(json: &str) -> anyhow::Result<HashMap<Uuid, String>> {
    #[derive(Deserialize)]
    struct Catalogue {
        providers: Vec<Provider>,
    }
    #[derive(Deserialize)]
    struct Provider {
        slug: String,
        courses: Vec<String>,
    }
    let catalogue: Catalogue = serde_json::from_str(json)?;
    Ok(catalogue
        .providers
        .iter()
        .flat_map(|p| p.courses.iter().map(|key| (crate::seed::demo::course_id(&p.slug, key), key.clone())))
        .collect())
}

/// Parses the judged queries, refusing one without a relevant course or naming a course the
/// catalogue lacks.
pub fn parse_queries(json: &str, catalogue_keys: &HashSet<&str>) -> anyhow::Result<Vec<JudgedQuery>> {
    let queries: Vec<JudgedQuery> = serde_json::from_str(json)?;
    for query in &queries {
        anyhow::ensure!(
            !query.relevant.is_empty(),
            "judged query {:?} lists no relevant course",
            query.query
        );
        if let Some(unknown) = query.relevant.iter().find(|key| !catalogue_keys.contains(key.as_str())) {
            anyhow::bail!("judged query {:?} names {unknown:?}, which the catalogue lacks", query.query);
        }
    }
    Ok(queries)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn judged(kind: &str, relevant: &[&str]) -> JudgedQuery {
        JudgedQuery {
            query: "q".into(),
            kind: kind.into(),
            relevant: relevant.iter().map(|s| s.to_string()).collect(),
            note: String::new(),
        }
    }

    fn ranked(keys: &[&str]) -> Vec<String> {
        keys.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn success_needs_a_relevant_course_in_the_first_three_and_mrr_counts_its_rank() {
        let outcomes = [
            Outcome::new(judged("plain", &["a"]), ranked(&["a", "b"])),
            Outcome::new(judged("plain", &["c"]), ranked(&["a", "b", "c"])),
            Outcome::new(judged("typo", &["d"]), ranked(&["a", "b", "c", "d"])),
            Outcome::new(judged("typo", &["z"]), ranked(&["a"])),
        ];
        let (all, kinds) = report(&outcomes);
        assert_eq!(all.queries, 4);
        assert!((all.success_at_3 - 0.5).abs() < 1e-9);
        assert!((all.mrr_at_10 - (1.0 + 1.0 / 3.0 + 0.25) / 4.0).abs() < 1e-9);
        assert!((kinds["typo"].mrr_at_10 - 0.125).abs() < 1e-9);
    }

    #[test]
    fn a_relevant_course_below_rank_ten_counts_as_not_found() {
        let deep: Vec<String> = (0..12).map(|i| i.to_string()).collect();
        let outcome = Outcome::new(judged("plain", &["11"]), deep);
        assert_eq!(outcome.first_relevant, None);
        assert_eq!(outcome.reciprocal_rank(), 0.0);
    }

    #[test]
    fn the_shipped_suite_parses_and_names_only_its_own_courses() {
        let courses = catalogue_keys(CATALOGUE).expect("catalogue");
        let keys: HashSet<&str> = courses.values().map(String::as_str).collect();
        assert_eq!(keys.len(), courses.len(), "course keys are unique");
        let queries = parse_queries(QUERIES, &keys).expect("queries");
        assert!(
            courses.len() >= 150 && queries.len() >= 60,
            "{} courses, {} queries",
            courses.len(),
            queries.len()
        );
    }

    #[test]
    fn queries_naming_unknown_courses_or_none_are_refused() {
        let keys: HashSet<&str> = ["a"].into();
        assert!(parse_queries(r#"[{"query":"x","kind":"plain","relevant":["a"]}]"#, &keys).is_ok());
        assert!(parse_queries(r#"[{"query":"x","kind":"plain","relevant":[]}]"#, &keys).is_err());
        assert!(parse_queries(r#"[{"query":"x","kind":"plain","relevant":["b"]}]"#, &keys).is_err());
    }
}
