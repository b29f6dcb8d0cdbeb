//! Benchmark data shared by the benchmark binaries: the demo catalogue and needs copied with new ids,
//! shifted places and dates, as real database rows.

use std::collections::HashMap;
use std::time::Duration;

use chrono::Utc;
use entity::membership::{self, MembershipRole};
use entity::organization::{self, OrganizationKind};
use entity::qualification_need::{self as need, NeedStatus, NeedVisibility};
use entity::{course, course_skill, need_skill, offering};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, IntoActiveModel, QueryFilter,
    TransactionTrait,
};
use uuid::Uuid;

pub fn copy_id(id: Uuid, round: usize) -> Uuid {
    Uuid::new_v5(&Uuid::NAMESPACE_OID, format!("{id}:{round}").as_bytes())
}

pub fn percentile(times: &mut [Duration], p: f64) -> f64 {
    times.sort();
    let index = ((p / 100.0) * (times.len() as f64 - 1.0)).round() as usize;
    times.get(index).map(|d| d.as_secs_f64() * 1000.0).unwrap_or(0.0)
}

/// The first owner of each organization.
pub async fn owners(db: &DatabaseConnection) -> anyhow::Result<HashMap<Uuid, Uuid>> {
    let mut out = HashMap::new();
    for m in
        membership::Entity::find().filter(membership::Column::Role.eq(MembershipRole::Owner)).all(db).await?
    {
        out.entry(m.organization_id).or_insert(m.user_id);
    }
    Ok(out)
}

/// Copies the demo courses (with offerings and skills) until there are `target` offerings; the
/// first `provider_courses` copies go to a new provider owned by the first demo provider's owner.
/// Returns that provider's id.
pub async fn replicate_catalogue(
    db: &DatabaseConnection,
    target: usize,
    provider_courses: usize,
) -> anyhow::Result<Uuid> {
    let courses = course::Entity::find().all(db).await?;
    let runs = offering::Entity::find().all(db).await?;
    let skills = course_skill::Entity::find().all(db).await?;
    let mut runs_of: HashMap<Uuid, Vec<&offering::Model>> = HashMap::new();
    for r in &runs {
        runs_of.entry(r.course_id).or_default().push(r);
    }
    let mut skills_of: HashMap<Uuid, Vec<&course_skill::Model>> = HashMap::new();
    for s in &skills {
        skills_of.entry(s.course_id).or_default().push(s);
    }
    let template = organization::Entity::find()
        .filter(organization::Column::Kind.eq(OrganizationKind::Provider))
        .one(db)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no demo provider"))?;
    let owner = owners(db).await?[&template.id];
    let bench_provider = organization::Model {
        id: Uuid::now_v7(),
        slug: "bench-provider".into(),
        name: "Benchmark-Bildungszentrum".into(),
        ..template.clone()
    };
    let txn = db.begin().await?;
    bench_provider.clone().into_active_model().reset_all().insert(&txn).await?;
    membership::Model {
        id: Uuid::now_v7(),
        organization_id: bench_provider.id,
        user_id: owner,
        role: MembershipRole::Owner,
        created_at: Utc::now(),
    }
    .into_active_model()
    .reset_all()
    .insert(&txn)
    .await?;
    let (mut total, mut copied, mut round) = (runs.len(), 0usize, 1usize);
    let (mut c_rows, mut o_rows, mut s_rows) = (Vec::new(), Vec::new(), Vec::new());
    while total < target || copied < provider_courses {
        for c in &courses {
            if total >= target && copied >= provider_courses {
                break;
            }
            let mut copy = c.clone();
            copy.id = copy_id(c.id, round);
            if copied < provider_courses && c.status == course::CourseStatus::Published {
                copy.provider_id = bench_provider.id;
                copied += 1;
            }
            let shift = (round % 40) as f64 * 0.02 - 0.4;
            for r in runs_of.get(&c.id).into_iter().flatten() {
                let mut run = (*r).clone();
                run.id = copy_id(r.id, round);
                run.course_id = copy.id;
                run.latitude = r.latitude.map(|l| l + shift);
                run.longitude = r.longitude.map(|l| l - shift);
                let weeks = chrono::Duration::weeks((round % 26) as i64);
                run.start_date = r.start_date + weeks;
                run.end_date = r.end_date + weeks;
                run.signup_deadline = r.signup_deadline.map(|d| d + weeks);
                o_rows.push(run.into_active_model().reset_all());
                total += 1;
            }
            for s in skills_of.get(&c.id).into_iter().flatten() {
                let mut link = (*s).clone();
                link.course_id = copy.id;
                s_rows.push(link.into_active_model().reset_all());
            }
            c_rows.push(copy.into_active_model().reset_all());
            if c_rows.len() >= 200 {
                flush(&txn, &mut c_rows, &mut o_rows, &mut s_rows).await?;
            }
        }
        round += 1;
    }
    flush(&txn, &mut c_rows, &mut o_rows, &mut s_rows).await?;
    txn.commit().await?;
    Ok(bench_provider.id)
}

async fn flush(
    txn: &sea_orm::DatabaseTransaction,
    courses: &mut Vec<course::ActiveModel>,
    runs: &mut Vec<offering::ActiveModel>,
    skills: &mut Vec<course_skill::ActiveModel>,
) -> anyhow::Result<()> {
    if !courses.is_empty() {
        course::Entity::insert_many(std::mem::take(courses)).exec(txn).await?;
    }
    for chunk in std::mem::take(runs).chunks(200) {
        offering::Entity::insert_many(chunk.to_vec()).exec(txn).await?;
    }
    for chunk in std::mem::take(skills).chunks(500) {
        course_skill::Entity::insert_many(chunk.to_vec()).exec(txn).await?;
    }
    Ok(())
}

/// Copies the demo needs as OPEN PUBLIC needs until there are `target` of them; returns the count.
pub async fn replicate_needs(db: &DatabaseConnection, target: usize) -> anyhow::Result<usize> {
    let needs = need::Entity::find().all(db).await?;
    let skills = need_skill::Entity::find().all(db).await?;
    let mut skills_of: HashMap<Uuid, Vec<&need_skill::Model>> = HashMap::new();
    for s in &skills {
        skills_of.entry(s.need_id).or_default().push(s);
    }
    let open = |n: &need::Model| n.status == NeedStatus::Open && n.visibility == NeedVisibility::Public;
    let mut total = needs.iter().filter(|n| open(n)).count();
    let txn = db.begin().await?;
    let (mut n_rows, mut s_rows) = (Vec::new(), Vec::new());
    let mut round = 1;
    while total < target {
        for n in &needs {
            if total >= target {
                break;
            }
            let mut copy = n.clone();
            copy.id = copy_id(n.id, round);
            copy.status = NeedStatus::Open;
            copy.visibility = NeedVisibility::Public;
            for s in skills_of.get(&n.id).into_iter().flatten() {
                let mut link = (*s).clone();
                link.need_id = copy.id;
                s_rows.push(link.into_active_model().reset_all());
            }
            n_rows.push(copy.into_active_model().reset_all());
            total += 1;
            if n_rows.len() >= 100 {
                need::Entity::insert_many(std::mem::take(&mut n_rows)).exec(&txn).await?;
                need_skill::Entity::insert_many(std::mem::take(&mut s_rows)).exec(&txn).await?;
            }
        }
        round += 1;
    }
    if !n_rows.is_empty() {
        need::Entity::insert_many(n_rows).exec(&txn).await?;
        need_skill::Entity::insert_many(s_rows).exec(&txn).await?;
    }
    txn.commit().await?;
    Ok(total)
}
