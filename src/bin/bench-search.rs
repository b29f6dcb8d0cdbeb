//! Search benchmark: indexing throughput, query latency and time-to-search, for the embedded index
//! and (when `MEILI_URL` is set) Meilisearch, measured in one run.
//!
//! `cargo run --release --bin bench-search -- --offerings 100000`
//!
//! The corpus is the demo catalogue, replicated with new ids, shifted places and dates until it
//! holds the requested number of offering documents.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use api::config::Settings;
use api::search::document::{Geo, OfferingDocument};
use api::search::embedded::EmbeddedIndex;
use api::search::meili::MeiliBackend;
use api::search::query::{Near, SearchFilter, SearchRequest, SearchSort};
use api::search::worker::{IndexingStats, Worker, all_documents};
use api::search::{Backend, outbox};
use clap::Parser;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use uuid::Uuid;

#[derive(Parser)]
struct Args {
    /// Offering documents in the index.
    #[arg(long, default_value_t = 100_000)]
    offerings: usize,
    /// Timed runs per query.
    #[arg(long, default_value_t = 100)]
    runs: usize,
    /// Single changes timed from commit to searchable.
    #[arg(long, default_value_t = 20)]
    changes: usize,
    /// Measure only this backend: embedded or meilisearch.
    #[arg(long)]
    only: Option<String>,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let dir = tempfile::tempdir()?;
    let mut settings = Settings { data_dir: dir.path().to_path_buf(), ..Settings::default() };
    settings.database_url = Some(secrecy::SecretString::from(format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("bench.db").display()
    )));
    let db =
        api::db::connect(&settings.database_url(), "bench database", settings.db_acquire_timeout()).await?;
    api::db::migrate(&db).await?;
    api::seed::skills::ensure(&db).await?;
    api::seed::demo::seed(&db).await?;
    let base = all_documents(&db).await.map_err(|e| anyhow::anyhow!("{}", e.message()))?;
    let corpus = replicate(&base, args.offerings);
    println!("corpus: {} offering documents from {} demo documents\n", corpus.len(), base.len());

    let mut backends: Vec<(&str, Backend)> =
        vec![("embedded", Arc::new(EmbeddedIndex::open(&dir.path().join("search-index"))?))];
    let meili_index = format!("bench_courses_{}", Uuid::now_v7().simple());
    if let Ok(url) = std::env::var("MEILI_URL") {
        let key = std::env::var("MEILI_MASTER_KEY").ok();
        let backend =
            MeiliBackend::connect(&url, key.as_deref(), &meili_index).await.context("Meilisearch")?;
        backends.push(("meilisearch", Arc::new(backend)));
    } else {
        println!("Meilisearch: skipped (MEILI_URL is not set)\n");
    }

    println!("| backend | measure | value |");
    println!("|---|---|---|");
    for (name, backend) in &backends {
        if args.only.as_deref().is_some_and(|only| only != *name) {
            continue;
        }
        let position = outbox::head(&db).await.map_err(|e| anyhow::anyhow!("{}", e.message()))?;
        let started = Instant::now();
        backend.rebuild(corpus.clone(), Some(position)).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        let secs = started.elapsed().as_secs_f64();
        println!(
            "| {name} | index {} documents | {secs:.1} s ({:.0} docs/s) |",
            corpus.len(),
            corpus.len() as f64 / secs
        );
        for (label, request) in queries() {
            for _ in 0..5 {
                backend.search(&request).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            }
            let mut times = Vec::with_capacity(args.runs);
            let mut hits = 0;
            for _ in 0..args.runs {
                let started = Instant::now();
                let result = backend.search(&request).await.map_err(|e| anyhow::anyhow!("{e}"))?;
                times.push(started.elapsed());
                hits = result.total_courses;
            }
            println!(
                "| {name} | search {label} ({hits} courses) | p50 {:.1} ms, p99 {:.1} ms |",
                percentile(&mut times, 50.0),
                percentile(&mut times, 99.0)
            );
        }
        let tts = time_to_search(&db, backend.clone(), args.changes).await?;
        let mut tts = tts;
        println!(
            "| {name} | time to search, single change ({} changes) | p50 {:.0} ms, p95 {:.0} ms |",
            tts.len(),
            percentile(&mut tts, 50.0),
            percentile(&mut tts, 95.0)
        );
    }
    if let (Ok(url), true) = (std::env::var("MEILI_URL"), backends.len() > 1) {
        let client = meilisearch_sdk::client::Client::new(url, std::env::var("MEILI_MASTER_KEY").ok())?;
        let _ = client.delete_index(&meili_index).await;
    }
    Ok(())
}

fn percentile(times: &mut [Duration], p: f64) -> f64 {
    times.sort();
    let index = ((p / 100.0) * (times.len() as f64 - 1.0)).round() as usize;
    times.get(index).map(|d| d.as_secs_f64() * 1000.0).unwrap_or(0.0)
}

/// The demo documents, copied with new ids until there are `n`; each copy of a course moves a little
/// and starts a few weeks later, so radius and date filters see a realistic spread.
fn replicate(base: &[OfferingDocument], n: usize) -> Vec<OfferingDocument> {
    let mut out = Vec::with_capacity(n);
    let mut round = 0u32;
    while out.len() < n {
        for doc in base {
            if out.len() >= n {
                break;
            }
            let mut copy = doc.clone();
            if round > 0 {
                let ns = Uuid::NAMESPACE_OID;
                copy.course_id =
                    Uuid::new_v5(&ns, format!("{}:{round}", doc.course_id).as_bytes()).to_string();
                copy.id = Uuid::new_v5(&ns, format!("{}:{round}", doc.id).as_bytes()).to_string();
                copy.offering_id = doc.offering_id.as_ref().map(|_| copy.id.clone());
                let shift = f64::from(round % 40) * 0.02 - 0.4;
                copy.geo = doc.geo.map(|g| Geo { lat: g.lat + shift, lng: g.lng - shift });
                copy.start = doc.start.map(|s| s + i64::from(round % 26) * 7 * 86_400);
            }
            out.push(copy);
        }
        round += 1;
    }
    out
}

fn queries() -> Vec<(&'static str, SearchRequest)> {
    let request = |query: &str, filter: SearchFilter, sort: SearchSort| SearchRequest {
        query: query.into(),
        filter,
        sort,
        offset: 0,
        limit: 20,
        without_facets: false,
        without_highlights: false,
    };
    vec![
        ("\"Schweißen\"", request("Schweißen", SearchFilter::default(), SearchSort::Relevance)),
        (
            "\"Pflege Lehrgang Leipzig\" (words a course may lack)",
            request("Pflege Lehrgang Leipzig", SearchFilter::default(), SearchSort::Relevance),
        ),
        (
            "\"Projektmanagment\" (typo)",
            request("Projektmanagment", SearchFilter::default(), SearchSort::Relevance),
        ),
        (
            "all IN_PERSON DQR 6, facets",
            request(
                "",
                SearchFilter {
                    formats: vec!["IN_PERSON".into()],
                    dqr_levels: vec![6],
                    ..SearchFilter::default()
                },
                SearchSort::Relevance,
            ),
        ),
        (
            "\"Sicherheit\" 50 km around Jena by distance",
            request(
                "Sicherheit",
                SearchFilter {
                    near: Some(Near { lat: 50.9271, lng: 11.5892, radius_km: 50.0 }),
                    ..SearchFilter::default()
                },
                SearchSort::Distance,
            ),
        ),
        (
            "\"Pflege\" dated, max price, free seats, by start",
            request(
                "Pflege",
                SearchFilter {
                    start_from: Some(chrono::Utc::now().timestamp()),
                    max_price: Some(300_000),
                    has_seats: true,
                    ..SearchFilter::default()
                },
                SearchSort::StartDate,
            ),
        ),
    ]
}

/// Renames one course at a time in the database through the outbox and waits until a search for the
/// new title finds it, with a worker running as in the server.
async fn time_to_search(
    db: &sea_orm::DatabaseConnection,
    backend: Backend,
    changes: usize,
) -> anyhow::Result<Vec<Duration>> {
    use entity::course;
    let wake = Arc::new(tokio::sync::Notify::new());
    // The corpus is synthetic (not in the database): the self-repair would remove it.
    let settings = api::config::SearchSettings { check_interval_secs: 0, ..Default::default() };
    let worker = Worker::with_settings(
        db.clone(),
        backend.clone(),
        Arc::new(IndexingStats::default()),
        wake.clone(),
        &settings,
    );
    let handle = tokio::spawn(worker.run(api::shutdown::Stop::never()));
    let ids: Vec<Uuid> = course::Entity::find()
        .filter(course::Column::Status.eq(course::CourseStatus::Published))
        .all(db)
        .await?
        .into_iter()
        .map(|c| c.id)
        .take(changes)
        .collect();
    let mut times = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let word =
            format!("Messkampagne{}x{}", i, Uuid::now_v7().simple().to_string().get(..6).unwrap_or("a"));
        let txn = api::db::begin_write(db).await?;
        course::Entity::update_many()
            .col_expr(course::Column::Title, Expr::value(format!("{word} Grundlagen")))
            .filter(course::Column::Id.eq(*id))
            .exec(&txn)
            .await?;
        outbox::enqueue(&txn, [*id]).await.map_err(|e| anyhow::anyhow!("{}", e.message()))?;
        txn.commit().await?;
        let started = Instant::now();
        // As the server does after a mutation.
        wake.notify_one();
        let request = SearchRequest { query: word.clone(), limit: 5, ..SearchRequest::default() };
        loop {
            let found = backend.search(&request).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            if found.hits.iter().any(|h| h.course_id == *id) {
                times.push(started.elapsed());
                break;
            }
            anyhow::ensure!(started.elapsed() < Duration::from_secs(30), "change not searchable within 30 s");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    handle.abort();
    Ok(times)
}
