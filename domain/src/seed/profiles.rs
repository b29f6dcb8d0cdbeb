//! The shipped job profiles (`seed/profiles.json`, shared, curated) and the self-assessment
//! questionnaire (`seed/questionnaire.json`: one observable German statement per level for every
//! skill of a shipped profile). Profiles are inserted at start-up where missing; edits platform
//! admins make to them survive upgrades.

use std::collections::HashMap;
use std::sync::LazyLock;

use anyhow::Context;
use chrono::Utc;
use entity::job_profile;
use sea_orm::{ActiveModelTrait, DatabaseConnection, EntityTrait, QuerySelect};
use serde::Deserialize;
use uuid::Uuid;

use crate::competence::profiles::{ProfileSkill, replace_skills};
use crate::db;

const PROFILES: &str = include_str!("../../seed/profiles.json");
const QUESTIONNAIRE: &str = include_str!("../../seed/questionnaire.json");
const NAMESPACE: Uuid = Uuid::from_u128(0x6b1c_2f0e_8a44_4b7d_9c1e_5d3a_7f20_1a61);

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Shipped {
    pub scale: Vec<ScaleLevel>,
    pub profiles: Vec<ProfileSeed>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScaleLevel {
    pub level: i32,
    pub name: String,
    pub description: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProfileSeed {
    pub id: String,
    pub name: String,
    pub job_family: String,
    pub description: String,
    pub dqr_level: Option<i16>,
    pub skills: Vec<ProfileSkillSeed>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProfileSkillSeed {
    pub skill: String,
    pub target_level: i32,
    pub required: bool,
}

#[derive(Deserialize)]
struct Questionnaire {
    statements: HashMap<String, [String; 4]>,
}

pub fn shipped() -> anyhow::Result<Shipped> {
    serde_json::from_str(PROFILES).context("parsing the shipped job profiles")
}

/// The four statements (levels 1–4) of a skill, if the questionnaire has it.
pub fn statements(skill_id: &str) -> Option<&'static [String; 4]> {
    static STATEMENTS: LazyLock<HashMap<String, [String; 4]>> = LazyLock::new(|| {
        serde_json::from_str::<Questionnaire>(QUESTIONNAIRE).map(|q| q.statements).unwrap_or_default()
    });
    STATEMENTS.get(skill_id)
}

/// The id a shipped profile gets.
pub fn profile_id(key: &str) -> Uuid {
    Uuid::new_v5(&NAMESPACE, key.as_bytes())
}

/// Inserts the shipped profiles that are missing; returns how many were added.
pub async fn ensure(db: &DatabaseConnection) -> anyhow::Result<usize> {
    let shipped = shipped()?;
    let txn = db::begin_write(db).await?;
    let known: Vec<Option<String>> = job_profile::Entity::find()
        .select_only()
        .column(job_profile::Column::Key)
        .into_tuple()
        .all(&txn)
        .await?;
    let now = Utc::now();
    let mut added = 0;
    for seed in shipped.profiles.iter().filter(|p| !known.contains(&Some(p.id.clone()))) {
        let model = job_profile::Model {
            id: profile_id(&seed.id),
            organization_id: None,
            key: Some(seed.id.clone()),
            name: seed.name.clone(),
            job_family: seed.job_family.clone(),
            description: seed.description.clone(),
            dqr_level: seed.dqr_level,
            based_on: None,
            created_at: now,
            updated_at: now,
            version: 1,
        };
        job_profile::ActiveModel::from(model).insert(&txn).await?;
        let skills: Vec<ProfileSkill> = seed
            .skills
            .iter()
            .map(|s| ProfileSkill {
                skill_id: s.skill.clone(),
                target_level: s.target_level,
                required: s.required,
            })
            .collect();
        replace_skills(&txn, profile_id(&seed.id), &skills)
            .await
            .map_err(|e| anyhow::anyhow!(e.message()))?;
        added += 1;
    }
    txn.commit().await?;
    if added > 0 {
        tracing::info!(added, "job profiles seeded");
    }
    Ok(added)
}

/// Which shipped profiles a demo firm's staff hold, by the firm's industry.
fn profiles_for(industry: &str) -> &'static [&'static str] {
    match industry {
        "Optik" | "Lasertechnik" | "Medizintechnik" => {
            &["feinoptik-fertigung", "optik-montage-justage", "lasertechnik", "qualitaetsbeauftragte"]
        }
        "Chemie" | "Labor und Analytik" | "Pharma" | "Umwelt und Recycling" => {
            &["chemielaborant-qualitaetskontrolle", "pharmakant-produktion", "laborleitung-analytik"]
        }
        "Pflege" => &["pflegefachkraft-praxisanleitung", "pflegehilfskraft", "teamleitung-pflege"],
        "Logistik" | "Stahlhandel" => &["fachkraft-lagerlogistik", "disposition", "gefahrgut-versand"],
        "IT" => &["it-administration", "data-analyst", "informationssicherheit"],
        "Lebensmittel" | "Handwerk" | "Druck und Verpackung" | "Keramik" => {
            &["kaufmann-bueromanagement", "fachkraft-lagerlogistik", "qualitaetsbeauftragte"]
        }
        _ => &[
            "mechatronik-instandhaltung",
            "elektronik-automatisierungstechnik",
            "zerspanung-cnc",
            "industriemeister-metall",
            "qualitaetsbeauftragte",
        ],
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DemoFirms {
    firms: Vec<DemoFirm>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DemoFirm {
    slug: String,
    industry: String,
    postal_code: String,
}

/// A stable number in `0..n` from a key: the demo's assessments vary without randomness.
fn spread(key: &str, n: u64) -> u64 {
    let digest = Uuid::new_v5(&NAMESPACE, key.as_bytes());
    (digest.as_u128() % u128::from(n)) as u64
}

/// Staff for every demo firm: six records (labels MA-01…MA-06) on the profiles of its industry,
/// on two sites, each with a self-assessment of every profile skill, a manager's assessment for
/// every other person and, for some, a certificate as prior learning, so that `--demo` shows gaps,
/// drafted needs and learning paths at once. Records that exist are skipped.
pub async fn demo_staff(db: &DatabaseConnection, demo_json: &str) -> anyhow::Result<usize> {
    use entity::staff_assessment::{self, AssessmentSource};
    use entity::staff_evidence::{self, EvidenceKind};
    use entity::{job_profile_skill, staff_member};
    use sea_orm::{ColumnTrait, QueryFilter};

    let firms: DemoFirms = serde_json::from_str(demo_json).context("parsing the demo firms")?;
    let shipped = shipped()?;
    let txn = db::begin_write(db).await?;
    let today = Utc::now().date_naive();
    let now = Utc::now();
    let mut added = 0;
    for firm in &firms.firms {
        let firm_id = crate::seed::demo::organization_id(&firm.slug);
        if entity::organization::Entity::find_by_id(firm_id).one(&txn).await?.is_none() {
            continue;
        }
        let keys = profiles_for(&firm.industry);
        for n in 1..=6_usize {
            let label = format!("MA-{n:02}");
            let id = Uuid::new_v5(&NAMESPACE, format!("staff:{}:{label}", firm.slug).as_bytes());
            if staff_member::Entity::find_by_id(id).one(&txn).await?.is_some() {
                continue;
            }
            let key = keys[(n - 1) % keys.len()];
            let Some(seed) = shipped.profiles.iter().find(|p| p.id == key) else { continue };
            let member = staff_member::Model {
                id,
                firm_id,
                label: label.clone(),
                profile_id: Some(profile_id(key)),
                site: Some(if n <= 4 { "Hauptsitz".into() } else { "Werk 2".into() }),
                postal_code: Some(firm.postal_code.clone()),
                created_at: now,
                updated_at: now,
                version: 1,
            };
            staff_member::ActiveModel::from(member).insert(&txn).await?;
            let skills = job_profile_skill::Entity::find()
                .filter(job_profile_skill::Column::ProfileId.eq(profile_id(key)))
                .all(&txn)
                .await?;
            let mut rows = Vec::new();
            for skill in &skills {
                let at = |who: &str| {
                    spread(
                        &format!("{}:{label}:{}:{who}", firm.slug, skill.skill_id),
                        skill.target_level as u64 + 1,
                    ) as i32
                };
                rows.push(staff_assessment::Model {
                    staff_id: id,
                    skill_id: skill.skill_id.clone(),
                    source: AssessmentSource::SelfAssessment,
                    level: at("self"),
                    assessed_on: today,
                });
                if n % 2 == 0 {
                    rows.push(staff_assessment::Model {
                        staff_id: id,
                        skill_id: skill.skill_id.clone(),
                        source: AssessmentSource::Manager,
                        level: at("manager"),
                        assessed_on: today,
                    });
                }
            }
            if !rows.is_empty() {
                staff_assessment::Entity::insert_many(
                    rows.into_iter().map(staff_assessment::ActiveModel::from),
                )
                .exec(&txn)
                .await?;
            }
            if n == 3
                && let Some(first) = seed.skills.first()
            {
                let evidence = staff_evidence::Model {
                    id: Uuid::new_v5(&NAMESPACE, format!("evidence:{}:{label}", firm.slug).as_bytes()),
                    staff_id: id,
                    kind: EvidenceKind::Certificate,
                    title: format!("Zertifikat {}", seed.name),
                    skills: crate::service::json_list::encode(std::slice::from_ref(&first.skill)),
                    level: first.target_level,
                    course_id: None,
                    achieved_on: Some(today),
                    created_at: now,
                };
                staff_evidence::ActiveModel::from(evidence).insert(&txn).await?;
            }
            added += 1;
        }
    }
    txn.commit().await?;
    Ok(added)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn shipped_profiles_use_the_vocabulary_and_every_skill_has_its_four_statements() {
        let shipped = shipped().unwrap();
        let vocabulary = crate::seed::skills::vocabulary().unwrap();
        let known: HashSet<&str> = vocabulary.skills.iter().map(|s| s.id.as_str()).collect();
        assert!(shipped.profiles.len() >= 15);
        let families: HashSet<&str> = shipped.profiles.iter().map(|p| p.job_family.as_str()).collect();
        assert_eq!(families.len(), 7, "{families:?}");
        assert_eq!(shipped.scale.iter().map(|l| l.level).collect::<Vec<_>>(), [1, 2, 3, 4]);
        for profile in &shipped.profiles {
            assert!(
                !profile.skills.is_empty() && profile.skills.iter().any(|s| s.required),
                "{}",
                profile.id
            );
            for skill in &profile.skills {
                assert!(known.contains(skill.skill.as_str()), "{}: {}", profile.id, skill.skill);
                assert!((1..=4).contains(&skill.target_level), "{}: {}", profile.id, skill.skill);
                let statements =
                    statements(&skill.skill).unwrap_or_else(|| panic!("{} has no statements", skill.skill));
                assert!(
                    statements.iter().all(|s| s.starts_with("Ich ") && s.chars().count() <= 120),
                    "{}",
                    skill.skill
                );
            }
        }
    }
}
