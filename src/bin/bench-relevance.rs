//! Relevance on the judged query sets of `tests/relevance/` (`queries.json`, `holdout.json`):
//! success@3 and MRR@10 per kind of query, for the embedded index and (when `MEILI_URL` is set)
//! Meilisearch, side by side in one run.
//!
//! `cargo run --release --bin bench-relevance [-- --misses]`
//!
//! The suite's catalogue is seeded into a fresh SQLite database; both backends index the same
//! documents and answer every query as `searchCourses` asks them (relevance order, ten courses).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use anyhow::Context;
use api::search::embedded::EmbeddedIndex;
use api::search::meili::MeiliBackend;
use api::search::query::SearchRequest;
use api::search::relevance::{self, DEPTH, Figures, Outcome};
use api::search::worker::all_documents;
use api::search::{Backend, outbox};
use clap::Parser;
use sea_orm::{EntityTrait, QuerySelect};
use uuid::Uuid;

#[derive(Parser)]
struct Args {
    /// Also list every query whose first relevant course is not among the first three.
    #[arg(long)]
    misses: bool,
    /// Judged queries from this file instead of the two shipped sets.
    #[arg(long)]
    queries: Option<std::path::PathBuf>,
    /// Only show the first ten courses each backend finds for this text.
    #[arg(long)]
    query: Option<String>,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("relevance.db").display());
    let url = secrecy::SecretString::from(url);
    let db = api::db::connect(&url, "relevance database", std::time::Duration::from_secs(5)).await?;
    api::db::migrate(&db).await?;
    api::seed::skills::ensure(&db).await?;
    api::seed::demo::seed_catalogue(&db, relevance::CATALOGUE).await?;
    let keys = relevance::catalogue_keys(relevance::CATALOGUE)?;
    let titles: HashMap<Uuid, String> = entity::course::Entity::find()
        .select_only()
        .columns([entity::course::Column::Id, entity::course::Column::Title])
        .into_tuple::<(Uuid, String)>()
        .all(&db)
        .await?
        .into_iter()
        .collect();
    let key_set: HashSet<&str> = keys.values().map(String::as_str).collect();
    let own;
    let sources: Vec<(&str, &str)> = match &args.queries {
        Some(path) => {
            own = std::fs::read_to_string(path)?;
            vec![("file", own.as_str())]
        }
        None => relevance::SETS.to_vec(),
    };
    let mut sets = Vec::new();
    for (name, json) in sources {
        sets.push((name, relevance::parse_queries(json, &key_set).with_context(|| name.to_owned())?));
    }
    let documents = all_documents(&db).await.map_err(|e| anyhow::anyhow!("{}", e.message()))?;
    let position = outbox::head(&db).await.map_err(|e| anyhow::anyhow!("{}", e.message()))?;
    let counts: Vec<String> = sets.iter().map(|(name, q)| format!("{} {name}", q.len())).collect();
    println!(
        "suite: {} courses ({} documents), queries: {}\n",
        keys.len(),
        documents.len(),
        counts.join(", ")
    );

    let mut backends: Vec<(&str, Backend)> =
        vec![("embedded", Arc::new(EmbeddedIndex::open(&dir.path().join("search-index"))?))];
    let meili_index = format!("relevance_{}", Uuid::now_v7().simple());
    match std::env::var("MEILI_URL") {
        Ok(url) => {
            let key = std::env::var("MEILI_MASTER_KEY").ok();
            let backend =
                MeiliBackend::connect(&url, key.as_deref(), &meili_index).await.context("Meilisearch")?;
            backends.push(("meilisearch", Arc::new(backend)));
        }
        Err(_) => println!("Meilisearch: skipped (MEILI_URL is not set)\n"),
    }

    // Per set, per backend: the outcomes.
    let mut results: Vec<Vec<(&str, Vec<Outcome>)>> = sets.iter().map(|_| Vec::new()).collect();
    for (name, backend) in &backends {
        backend.rebuild(documents.clone(), Some(position)).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        if let Some(text) = &args.query {
            let request = SearchRequest { query: text.clone(), limit: DEPTH, ..SearchRequest::default() };
            let found = backend.search(&request).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("{name}: {} courses for {text:?}", found.total_courses);
            for hit in &found.hits {
                let title = titles.get(&hit.course_id).map_or("?", String::as_str);
                println!("- {} ({})", title, keys.get(&hit.course_id).map_or("?", String::as_str));
            }
            continue;
        }
        for ((_, queries), results) in sets.iter().zip(results.iter_mut()) {
            let mut outcomes = Vec::with_capacity(queries.len());
            for query in queries {
                let request = SearchRequest {
                    query: query.query.clone(),
                    limit: DEPTH,
                    without_facets: true,
                    without_highlights: true,
                    ..SearchRequest::default()
                };
                let found = backend.search(&request).await.map_err(|e| anyhow::anyhow!("{e}"))?;
                let ranked = found
                    .hits
                    .iter()
                    .map(|hit| keys.get(&hit.course_id).cloned().unwrap_or_else(|| "?".into()))
                    .collect();
                outcomes.push(Outcome::new(query.clone(), ranked));
            }
            results.push((name, outcomes));
        }
    }
    if backends.len() > 1
        && let Ok(url) = std::env::var("MEILI_URL")
    {
        let client = meilisearch_sdk::client::Client::new(url, std::env::var("MEILI_MASTER_KEY").ok())?;
        let _ = client.delete_index(&meili_index).await;
    }

    if args.query.is_some() {
        return Ok(());
    }
    let by_key: HashMap<&str, &str> = keys
        .iter()
        .filter_map(|(id, key)| titles.get(id).map(|title| (key.as_str(), title.as_str())))
        .collect();
    for ((set, _), results) in sets.iter().zip(&results) {
        println!("{set} queries:\n");
        print_table(results);
        if args.misses {
            print_misses(results, &by_key);
        }
        println!();
    }
    Ok(())
}

fn print_misses(results: &[(&str, Vec<Outcome>)], by_key: &HashMap<&str, &str>) {
    for (name, outcomes) in results {
        println!("\n{name}: queries without a relevant course in the first three");
        for outcome in outcomes.iter().filter(|o| !o.success()) {
            let top: Vec<&str> =
                outcome.ranked.iter().take(3).map(|k| by_key.get(k.as_str()).copied().unwrap_or(k)).collect();
            println!(
                "- [{}] {:?}: first relevant at {} — top 3: {}",
                outcome.query.kind,
                outcome.query.query,
                outcome.first_relevant.map_or("none".to_string(), |r| r.to_string()),
                top.join(" | ")
            );
        }
    }
}

fn print_table(results: &[(&str, Vec<Outcome>)]) {
    let reports: Vec<(Figures, BTreeMap<String, Figures>)> =
        results.iter().map(|(_, outcomes)| relevance::report(outcomes)).collect();
    let mut header = String::from("| kind | queries |");
    let mut rule = String::from("|---|---|");
    for (name, _) in results {
        header.push_str(&format!(" {name} success@3 | {name} MRR@10 |"));
        rule.push_str("---|---|");
    }
    println!("{header}\n{rule}");
    let row = |label: &str, figures: Vec<Figures>| {
        let mut line = format!("| {label} | {} |", figures.first().map_or(0, |f| f.queries));
        for f in figures {
            line.push_str(&format!(" {:.3} | {:.3} |", f.success_at_3, f.mrr_at_10));
        }
        println!("{line}");
    };
    if let Some((_, kinds)) = reports.first() {
        for kind in kinds.keys() {
            row(kind, reports.iter().map(|(_, k)| k.get(kind).copied().unwrap_or_default()).collect());
        }
    }
    row("**all**", reports.iter().map(|(all, _)| *all).collect());
}
