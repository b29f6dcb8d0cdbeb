//! Competence benchmark on the embedded defaults (a SQLite file), measured in one run: the gap
//! analysis of a firm of N staff, and learning paths over a catalogue of M offerings.
//!
//! `cargo run --release --bin bench-competences -- --staff 250 --offerings 100000`
//!
//! The catalogue is the demo's, copied with new ids, places and dates to M offerings (real rows,
//! read as the API reads them); the firm is a demo firm with N staff records on the shipped
//! profiles of its industry and mixed assessments. Both are measured through the services the
//! GraphQL resolvers call, as the firm's owner.

#[path = "shared/catalogue.rs"]
#[allow(dead_code)] // not every benchmark replicates needs
mod catalogue;

use std::time::Instant;

use api::competence::paths::{self, PathRequest};
use api::competence::{gaps, staff};
use catalogue::{owners, percentile, replicate_catalogue};
use chrono::Utc;
use clap::Parser;
use entity::staff_assessment::{self, AssessmentSource};
use entity::{job_profile, job_profile_skill, offering, staff_member};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

#[derive(Parser)]
struct Args {
    /// Staff of the analysed firm.
    #[arg(long, default_value_t = 250)]
    staff: usize,
    /// Offerings in the catalogue.
    #[arg(long, default_value_t = 100_000)]
    offerings: usize,
    /// Timed gap analyses.
    #[arg(long, default_value_t = 30)]
    runs: usize,
    /// Learning paths computed (one per staff member, in turn).
    #[arg(long, default_value_t = 100)]
    paths: usize,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("bench.db").display());
    let db = api::db::connect(
        &secrecy::SecretString::from(url),
        "bench database",
        api::config::Settings::default().db_acquire_timeout(),
    )
    .await?;
    api::db::migrate(&db).await?;
    api::seed::skills::ensure(&db).await?;
    api::seed::demo::seed(&db).await?;

    let started = Instant::now();
    replicate_catalogue(&db, args.offerings, 0).await?;
    let offerings = offering::Entity::find().all(&db).await?.len();
    let firm = api::seed::demo::organization_id("saale-optik-praezisionsfertigung");
    let owner = owners(&db).await?[&firm];
    grow_staff(&db, firm, args.staff).await?;
    println!(
        "data: {offerings} offerings, a firm of {} staff ({:.1} s)\n",
        args.staff,
        started.elapsed().as_secs_f64()
    );

    println!("| measure | value |");
    println!("|---|---|");
    let mut times = Vec::new();
    let mut summaries = 0;
    for run in 0..args.runs + 3 {
        let started = Instant::now();
        staff::authorize(&db, owner, firm).await.map_err(|e| anyhow::anyhow!("{}", e.message()))?;
        let members = staff::for_analysis(&db, firm, None, None)
            .await
            .map_err(|e| anyhow::anyhow!("{}", e.message()))?;
        let analysis =
            gaps::analyse(&db, members, None).await.map_err(|e| anyhow::anyhow!("{}", e.message()))?;
        summaries = analysis.summaries.len();
        if run >= 3 {
            times.push(started.elapsed());
        }
    }
    // Where it goes, once: authorization, the staff rows, the analysis.
    let (a, b, c) = {
        let t = Instant::now();
        staff::authorize(&db, owner, firm).await.map_err(|e| anyhow::anyhow!("{}", e.message()))?;
        let a = t.elapsed();
        let t = Instant::now();
        let members = staff::for_analysis(&db, firm, None, None)
            .await
            .map_err(|e| anyhow::anyhow!("{}", e.message()))?;
        let b = t.elapsed();
        let t = Instant::now();
        gaps::analyse(&db, members, None).await.map_err(|e| anyhow::anyhow!("{}", e.message()))?;
        (a, b, t.elapsed())
    };
    eprintln!("gap analysis, one run: authorize {a:?}, staff rows {b:?}, analysis {c:?}");
    println!(
        "| gap analysis of a firm of {} staff ({summaries} skill rows, {} runs) | p50 {:.1} ms, p95 {:.1} ms |",
        args.staff,
        times.len(),
        percentile(&mut times, 50.0),
        percentile(&mut times, 95.0)
    );

    let people: Vec<Uuid> = staff_member::Entity::find()
        .filter(staff_member::Column::FirmId.eq(firm))
        .all(&db)
        .await?
        .into_iter()
        .map(|m| m.id)
        .collect();
    let mut times = Vec::new();
    let (mut steps, mut candidates, mut cut) = (0, 0, 0);
    for (i, person) in people.iter().cycle().take(args.paths + 3).enumerate() {
        let request = PathRequest {
            staff_ids: vec![*person],
            profile_id: None,
            earliest_start: None,
            max_distance_km: Some(100),
            online_acceptable: true,
            max_steps: None,
        };
        let started = Instant::now();
        let path = paths::learning_path(&db, owner, firm, request)
            .await
            .map_err(|e| anyhow::anyhow!("{}", e.message()))?;
        if i >= 3 {
            times.push(started.elapsed());
            steps += path.steps.len();
            candidates += path.candidate_offerings;
            cut += usize::from(path.search_cut);
        }
    }
    let n = times.len().max(1);
    println!(
        "| learning path over {offerings} offerings ({} people, mean {:.1} steps from {:.0} candidate runs, {cut} cut by the node budget) | p50 {:.1} ms, p95 {:.1} ms |",
        times.len(),
        steps as f64 / n as f64,
        candidates as f64 / n as f64,
        percentile(&mut times, 50.0),
        percentile(&mut times, 95.0)
    );
    Ok(())
}

/// Adds staff to `firm` up to `target`, on the shipped profiles of its demo staff, with a
/// self-assessment of every profile skill (and a manager's for every third person) spread over
/// the levels.
async fn grow_staff(db: &sea_orm::DatabaseConnection, firm: Uuid, target: usize) -> anyhow::Result<()> {
    let existing = staff_member::Entity::find().filter(staff_member::Column::FirmId.eq(firm)).all(db).await?;
    let mut profiles: Vec<Uuid> = existing.iter().filter_map(|m| m.profile_id).collect();
    profiles.sort();
    profiles.dedup();
    if profiles.is_empty() {
        profiles = job_profile::Entity::find().all(db).await?.into_iter().map(|p| p.id).take(3).collect();
    }
    let skills = job_profile_skill::Entity::find()
        .filter(job_profile_skill::Column::ProfileId.is_in(profiles.clone()))
        .all(db)
        .await?;
    let now = Utc::now();
    let today = now.date_naive();
    let mut members = Vec::new();
    let mut assessments = Vec::new();
    for n in existing.len()..target {
        let id = Uuid::new_v4();
        let profile = profiles[n % profiles.len()];
        members.push(staff_member::ActiveModel::from(staff_member::Model {
            id,
            firm_id: firm,
            label: format!("B-{n:04}"),
            profile_id: Some(profile),
            site: Some(if n % 2 == 0 { "Hauptsitz".into() } else { "Werk 2".into() }),
            postal_code: Some("07743".into()),
            created_at: now,
            updated_at: now,
            version: 1,
        }));
        for (k, skill) in skills.iter().filter(|s| s.profile_id == profile).enumerate() {
            let level = ((n * 7 + k * 3) % (skill.target_level as usize + 1)) as i32;
            assessments.push(staff_assessment::ActiveModel::from(staff_assessment::Model {
                staff_id: id,
                skill_id: skill.skill_id.clone(),
                source: AssessmentSource::SelfAssessment,
                level,
                assessed_on: today,
            }));
            if n % 3 == 0 {
                assessments.push(staff_assessment::ActiveModel::from(staff_assessment::Model {
                    staff_id: id,
                    skill_id: skill.skill_id.clone(),
                    source: AssessmentSource::Manager,
                    level: (level - 1).max(0),
                    assessed_on: today,
                }));
            }
        }
    }
    for chunk in members.chunks(200) {
        staff_member::Entity::insert_many(chunk.to_vec()).exec(db).await?;
    }
    for chunk in assessments.chunks(500) {
        staff_assessment::Entity::insert_many(chunk.to_vec()).exec(db).await?;
    }
    Ok(())
}
