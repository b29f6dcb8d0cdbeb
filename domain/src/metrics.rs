//! Prometheus metrics: GraphQL requests and latency by operation, errors by code, search latency,
//! webhook delivery outcomes; database pool and outbox gauges are read when scraped.
//!
//! Operation names come from clients, so they are cleaned and capped: the first `max_operations`
//! distinct names (`APP_METRICS_MAX_OPERATIONS`) become labels, later ones count as `other`, and
//! unnamed operations as `anonymous`.

use std::collections::{HashMap, HashSet};
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

use crate::error::Code;

const BUCKETS: [f64; 12] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
/// The label of names past the cap.
const OTHER: &str = "other";
const ANONYMOUS: &str = "anonymous";

#[derive(Debug, Clone, Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

impl Histogram {
    fn observe(&mut self, seconds: f64) {
        for (bucket, count) in BUCKETS.iter().zip(self.counts.iter_mut()) {
            if seconds <= *bucket {
                *count += 1;
            }
        }
        self.sum += seconds;
        self.count += 1;
    }

    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let sep = if labels.is_empty() { "" } else { "," };
        for (bucket, count) in BUCKETS.iter().zip(self.counts) {
            let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{bucket}\"}} {count}");
        }
        let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {}", self.count);
        let braces = if labels.is_empty() { String::new() } else { format!("{{{labels}}}") };
        let _ = writeln!(out, "{name}_sum{braces} {}", self.sum);
        let _ = writeln!(out, "{name}_count{braces} {}", self.count);
    }
}

#[derive(Debug, Default)]
struct Inner {
    /// (operation, outcome "ok" | "error") → latency.
    requests: HashMap<(String, &'static str), Histogram>,
    errors: HashMap<Code, u64>,
    search: Histogram,
    webhooks: HashMap<&'static str, u64>,
    rate_limit_redis: HashMap<&'static str, u64>,
    /// (job kind, outcome) → runs.
    jobs: HashMap<(&'static str, &'static str), u64>,
    /// Operation names with a label of their own.
    operations: HashSet<String>,
}

#[derive(Debug)]
pub struct Metrics {
    inner: Mutex<Inner>,
    max_operations: usize,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new(crate::config::MetricsSettings::default().max_operations)
    }
}

/// Gauges read at scrape time.
#[derive(Debug, Default, Clone, Copy)]
pub struct Gauges {
    pub pool_connections: u32,
    pub pool_idle: u32,
    pub search_outbox_pending: u64,
    pub search_outbox_lag_seconds: f64,
    /// The change-log position this instance's index (or the shared index) has applied, and the
    /// log's head.
    pub search_position: i64,
    pub search_head: i64,
    /// The last comparison of the index with the database.
    pub search_drift_missing: u64,
    pub search_drift_stale: u64,
    pub search_drift_extra: u64,
    pub search_repairs: u64,
    pub search_repaired_courses: u64,
    pub search_refills: u64,
    pub last_time_to_search_ms: u64,
    pub local_read_fallbacks: u64,
    /// Background jobs by state (PENDING, RUNNING, DONE, DEAD); `None` when they could not be counted.
    pub jobs_by_state: Option<[u64; 4]>,
}

/// A client-chosen operation name made safe as a label value.
fn operation_label(name: Option<&str>) -> String {
    let cleaned: String = name
        .unwrap_or_default()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .take(64)
        .collect();
    if cleaned.is_empty() { ANONYMOUS.to_owned() } else { cleaned }
}

impl Metrics {
    pub fn new(max_operations: usize) -> Self {
        Self { inner: Mutex::default(), max_operations }
    }

    fn with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        let mut inner = self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut inner)
    }

    /// One GraphQL operation and the codes of its errors.
    pub fn request(&self, operation: Option<&str>, elapsed: Duration, error_codes: &[Code]) {
        let mut label = operation_label(operation);
        let outcome = if error_codes.is_empty() { "ok" } else { "error" };
        self.with(|m| {
            let known = label == ANONYMOUS || m.operations.contains(&label);
            if !known {
                if m.operations.len() < self.max_operations {
                    m.operations.insert(label.clone());
                } else {
                    label = OTHER.to_owned();
                }
            }
            m.requests.entry((label, outcome)).or_default().observe(elapsed.as_secs_f64());
            for code in error_codes {
                *m.errors.entry(*code).or_default() += 1;
            }
        });
    }

    pub fn search(&self, elapsed: Duration) {
        self.with(|m| m.search.observe(elapsed.as_secs_f64()));
    }

    /// `delivered`, `retry` or `failed`.
    pub fn webhook(&self, outcome: &'static str) {
        self.with(|m| *m.webhooks.entry(outcome).or_default() += 1);
    }

    /// A rate-limit charge with Redis configured: `charged` there, or decided locally because
    /// Redis `failed` or was `skipped` (paused after a failure).
    pub fn rate_limit_redis(&self, outcome: &'static str) {
        self.with(|m| *m.rate_limit_redis.entry(outcome).or_default() += 1);
    }

    /// One job run of `kind`: `done`, `retry`, `dead` or `lost` (its lease was taken over).
    pub fn job_run(&self, kind: &'static str, outcome: &'static str) {
        self.with(|m| *m.jobs.entry((kind, outcome)).or_default() += 1);
    }

    /// The Prometheus text exposition.
    pub fn render(&self, gauges: Gauges) -> String {
        let mut out = String::new();
        self.with(|m| {
            out.push_str("# HELP bildungsmarkt_graphql_request_duration_seconds GraphQL operations by name and outcome.\n");
            out.push_str("# TYPE bildungsmarkt_graphql_request_duration_seconds histogram\n");
            let mut requests: Vec<_> = m.requests.iter().collect();
            requests.sort_by(|a, b| a.0.cmp(b.0));
            for ((operation, outcome), histogram) in requests {
                let labels = format!("operation=\"{operation}\",outcome=\"{outcome}\"");
                histogram.render(&mut out, "bildungsmarkt_graphql_request_duration_seconds", &labels);
            }
            out.push_str("# HELP bildungsmarkt_graphql_errors_total GraphQL errors by code.\n");
            out.push_str("# TYPE bildungsmarkt_graphql_errors_total counter\n");
            let mut errors: Vec<_> = m.errors.iter().map(|(code, count)| (code.as_str(), count)).collect();
            errors.sort();
            for (code, count) in errors {
                let _ = writeln!(out, "bildungsmarkt_graphql_errors_total{{code=\"{code}\"}} {count}");
            }
            out.push_str("# HELP bildungsmarkt_search_duration_seconds Course search and suggestion latency.\n");
            out.push_str("# TYPE bildungsmarkt_search_duration_seconds histogram\n");
            m.search.render(&mut out, "bildungsmarkt_search_duration_seconds", "");
            out.push_str("# HELP bildungsmarkt_webhook_attempts_total Webhook attempts by outcome.\n");
            out.push_str("# TYPE bildungsmarkt_webhook_attempts_total counter\n");
            for outcome in ["delivered", "retry", "failed"] {
                let count = m.webhooks.get(outcome).copied().unwrap_or(0);
                let _ = writeln!(out, "bildungsmarkt_webhook_attempts_total{{outcome=\"{outcome}\"}} {count}");
            }
            out.push_str("# HELP bildungsmarkt_rate_limit_redis_total Rate-limit charges with REDIS_URL set: charged in Redis, or decided by this instance because Redis failed or was skipped after a failure.\n");
            out.push_str("# TYPE bildungsmarkt_rate_limit_redis_total counter\n");
            for outcome in ["charged", "failed", "skipped"] {
                let count = m.rate_limit_redis.get(outcome).copied().unwrap_or(0);
                let _ = writeln!(out, "bildungsmarkt_rate_limit_redis_total{{outcome=\"{outcome}\"}} {count}");
            }
            out.push_str("# HELP bildungsmarkt_job_runs_total Background job runs by kind and outcome.\n");
            out.push_str("# TYPE bildungsmarkt_job_runs_total counter\n");
            let mut jobs: Vec<_> = m.jobs.iter().collect();
            jobs.sort();
            for ((kind, outcome), count) in jobs {
                let _ = writeln!(out, "bildungsmarkt_job_runs_total{{kind=\"{kind}\",outcome=\"{outcome}\"}} {count}");
            }
        });
        if let Some(counts) = gauges.jobs_by_state {
            out.push_str(
                "# HELP bildungsmarkt_jobs Background jobs by state.\n# TYPE bildungsmarkt_jobs gauge\n",
            );
            for (state, count) in ["PENDING", "RUNNING", "DONE", "DEAD"].iter().zip(counts) {
                let _ = writeln!(out, "bildungsmarkt_jobs{{state=\"{state}\"}} {count}");
            }
        }
        let gauges_list = [
            (
                "bildungsmarkt_db_pool_connections",
                "Open database connections.",
                gauges.pool_connections as f64,
            ),
            ("bildungsmarkt_db_pool_idle", "Idle database connections.", gauges.pool_idle as f64),
            (
                "bildungsmarkt_db_local_read_fallbacks",
                "Reads by id that failed on the SQLite file and went through the pool, since start.",
                gauges.local_read_fallbacks as f64,
            ),
            (
                "bildungsmarkt_search_outbox_pending",
                "Search changes the index has not applied yet.",
                gauges.search_outbox_pending as f64,
            ),
            (
                "bildungsmarkt_search_outbox_lag_seconds",
                "Age of the oldest change the index has not applied.",
                gauges.search_outbox_lag_seconds,
            ),
            (
                "bildungsmarkt_search_position",
                "Change-log position the index has applied (-1: not yet filled).",
                gauges.search_position as f64,
            ),
            (
                "bildungsmarkt_search_log_head",
                "Newest change in the search change log.",
                gauges.search_head as f64,
            ),
            (
                "bildungsmarkt_search_drift_missing",
                "Documents missing from the index at the last check, before repair.",
                gauges.search_drift_missing as f64,
            ),
            (
                "bildungsmarkt_search_drift_stale",
                "Documents of an older version in the index at the last check, before repair.",
                gauges.search_drift_stale as f64,
            ),
            (
                "bildungsmarkt_search_drift_extra",
                "Documents in the index but not in the database at the last check, before repair.",
                gauges.search_drift_extra as f64,
            ),
            (
                "bildungsmarkt_search_repairs",
                "Checks that found drift and repaired it, since start.",
                gauges.search_repairs as f64,
            ),
            (
                "bildungsmarkt_search_repaired_courses",
                "Courses rebuilt by repairs, since start.",
                gauges.search_repaired_courses as f64,
            ),
            (
                "bildungsmarkt_search_refills",
                "Full refills of an index without a usable position, since start.",
                gauges.search_refills as f64,
            ),
            (
                "bildungsmarkt_search_time_to_search_seconds",
                "Commit to searchable, last batch.",
                gauges.last_time_to_search_ms as f64 / 1000.0,
            ),
        ];
        for (name, help, value) in gauges_list {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text_with_safe_labels() {
        let metrics = Metrics::default();
        metrics.request(Some("Suche\"}evil"), Duration::from_millis(3), &[]);
        metrics.request(None, Duration::from_millis(30), &[Code::BadUserInput]);
        metrics.webhook("delivered");
        let text = metrics.render(Gauges::default());
        assert!(text.contains("operation=\"Sucheevil\",outcome=\"ok\",le=\"0.005\"} 1"), "{text}");
        assert!(text.contains("bildungsmarkt_graphql_errors_total{code=\"BAD_USER_INPUT\"} 1"));
        assert!(text.contains("bildungsmarkt_webhook_attempts_total{outcome=\"delivered\"} 1"));
        assert!(text.contains("bildungsmarkt_graphql_request_duration_seconds_count{operation=\"anonymous\",outcome=\"error\"} 1"));
    }

    #[test]
    fn names_past_the_cap_share_one_label() {
        let metrics = Metrics::new(2);
        for name in ["Suche", "Kurse", "Aevilx1", "Aevilx2", "Suche"] {
            metrics.request(Some(name), Duration::from_millis(1), &[]);
        }
        metrics.request(None, Duration::from_millis(1), &[]);
        let text = metrics.render(Gauges::default());
        let count = |operation: &str| {
            let series = format!(
                "bildungsmarkt_graphql_request_duration_seconds_count{{operation=\"{operation}\",outcome=\"ok\"}} "
            );
            text.lines().find_map(|l| l.strip_prefix(series.as_str())).map(str::to_owned)
        };
        assert_eq!(count("Suche").as_deref(), Some("2"), "{text}");
        assert_eq!(count("Kurse").as_deref(), Some("1"));
        assert_eq!(count("other").as_deref(), Some("2"));
        assert_eq!(count("anonymous").as_deref(), Some("1"));
        assert!(!text.contains("Aevilx"), "{text}");
    }
}
