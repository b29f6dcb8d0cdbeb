//! Matching benchmark on the embedded defaults (SQLite + embedded index), measured in one run:
//! `matchesForNeed` latency over a catalogue of N offerings, and leads for a provider with 200
//! courses over 10k open needs.
//!
//! `cargo run --release --bin bench-matching -- --offerings 100000 --needs 10000`
//!
//! The catalogue and the needs are the demo data, copied with new ids, shifted places and dates; the
//! copies are real database rows (candidates are loaded and scored from the database) and the index
//! is rebuilt from them.

#[path = "shared/catalogue.rs"]
mod catalogue;

use std::time::Instant;

use api::search::SearchBackend;
use api::search::embedded::EmbeddedIndex;
use api::search::worker::all_documents;
use api::service::matching;
use catalogue::{owners, percentile, replicate_catalogue, replicate_needs};
use clap::Parser;
use entity::offering;
use entity::qualification_need as need;
use sea_orm::EntityTrait;

#[derive(Parser)]
struct Args {
    /// Offerings in the catalogue.
    #[arg(long, default_value_t = 100_000)]
    offerings: usize,
    /// Open public needs for the leads measurement.
    #[arg(long, default_value_t = 10_000)]
    needs: usize,
    /// Courses of the provider whose leads are measured.
    #[arg(long, default_value_t = 200)]
    provider_courses: usize,
    /// Timed runs of the leads query.
    #[arg(long, default_value_t = 20)]
    runs: usize,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("bench.db").display());
    let db = api::db::connect(
        &secrecy::SecretString::from(url.clone()),
        "bench database",
        api::config::Settings::default().db_acquire_timeout(),
    )
    .await?;
    api::db::migrate(&db).await?;
    api::seed::skills::ensure(&db).await?;
    api::seed::demo::seed(&db).await?;

    let started = Instant::now();
    let provider = replicate_catalogue(&db, args.offerings, args.provider_courses).await?;
    let open = replicate_needs(&db, args.needs).await?;
    let offerings = offering::Entity::find().all(&db).await?.len();
    println!(
        "data: {offerings} offerings, {open} open public needs, a provider with {} courses ({:.1} s)",
        args.provider_courses,
        started.elapsed().as_secs_f64()
    );
    let index = EmbeddedIndex::open(&dir.path().join("search-index"))?;
    let documents = all_documents(&db).await.map_err(|e| anyhow::anyhow!("{}", e.message()))?;
    let count = documents.len();
    let started = Instant::now();
    index.rebuild(documents, None).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    println!("embedded index: {count} documents in {:.1} s\n", started.elapsed().as_secs_f64());
    let settings = api::config::Settings {
        data_dir: dir.path().to_owned(),
        database_url: Some(secrecy::SecretString::from(url)),
        ..Default::default()
    };
    let state = api::context::AppState::new(db.clone(), settings, std::sync::Arc::new(index))?;

    println!("| measure | value |");
    println!("|---|---|");
    // matchesForNeed for every demo need, as a member of its firm.
    let owners = owners(&db).await?;
    let demo_needs: Vec<need::Model> = need::Entity::find()
        .all(&db)
        .await?
        .into_iter()
        .filter(|n| owners.contains_key(&n.firm_id))
        .take(111)
        .collect();
    let mut times = Vec::new();
    let mut sizes = Vec::new();
    for round in 0..4 {
        for n in &demo_needs {
            let caller = owners[&n.firm_id];
            let started = Instant::now();
            let matches = matching::matches_for_need(&state, caller, n.id, false, 0, 21)
                .await
                .map_err(|e| anyhow::anyhow!("{}", e.message()))?;
            if round > 0 {
                times.push(started.elapsed());
                sizes.push(matches.len());
            }
        }
    }
    sizes.sort_unstable();
    println!(
        "| matchesForNeed over {offerings} offerings, first 20 ({} calls, median page {}) | p50 {:.1} ms, p95 {:.1} ms |",
        times.len(),
        sizes.get(sizes.len() / 2).copied().unwrap_or(0),
        percentile(&mut times, 50.0),
        percentile(&mut times, 95.0)
    );

    let caller = owners[&provider];
    // All leads once (untimed) for the count; timed: the first page of 20, as the API serves it.
    let leads = matching::leads_for_provider(&state, caller, provider, 0, usize::MAX)
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.message()))?
        .len();
    let mut times = Vec::new();
    for run in 0..args.runs + 2 {
        let started = Instant::now();
        matching::leads_for_provider(&state, caller, provider, 0, 21)
            .await
            .map_err(|e| anyhow::anyhow!("{}", e.message()))?;
        if run >= 2 {
            times.push(started.elapsed());
        }
    }
    println!(
        "| leadsForProvider, first 20, {} courses over {open} open needs ({leads} leads) | p50 {:.1} ms, p95 {:.1} ms |",
        args.provider_courses,
        percentile(&mut times, 50.0),
        percentile(&mut times, 95.0)
    );
    Ok(())
}
