//! The curated German skills vocabulary in `api/seed/skills.json`, inserted at start-up where missing.
//! Existing entries are left alone, so operators' additions and edits survive upgrades.

use std::collections::HashSet;

use anyhow::Context;
use chrono::Utc;
use entity::{skill, skill_category};
use sea_orm::{DatabaseConnection, EntityTrait, QuerySelect, Set};
use serde::Deserialize;

use crate::db;
use crate::service::{json_list, skills};

const VOCABULARY: &str = include_str!("../../seed/skills.json");

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Vocabulary {
    pub categories: Vec<CategorySeed>,
    pub skills: Vec<SkillSeed>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CategorySeed {
    pub id: String,
    pub label: String,
    pub label_en: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SkillSeed {
    pub id: String,
    pub category: String,
    pub label: String,
    pub label_en: Option<String>,
    #[serde(default)]
    pub synonyms: Vec<String>,
}

pub fn vocabulary() -> anyhow::Result<Vocabulary> {
    serde_json::from_str(VOCABULARY).context("parsing the shipped skills vocabulary")
}

/// Inserts the categories and skills that are missing; returns how many skills were added.
pub async fn ensure(db: &DatabaseConnection) -> anyhow::Result<usize> {
    let vocabulary = vocabulary()?;
    let txn = db::begin_write(db).await?;
    let known_categories: HashSet<String> = skill_category::Entity::find()
        .select_only()
        .column(skill_category::Column::Id)
        .into_tuple::<String>()
        .all(&txn)
        .await?
        .into_iter()
        .collect();
    let new_categories: Vec<skill_category::ActiveModel> = vocabulary
        .categories
        .iter()
        .enumerate()
        .filter(|(_, c)| !known_categories.contains(&c.id))
        .map(|(position, c)| skill_category::ActiveModel {
            id: Set(c.id.clone()),
            label: Set(c.label.clone()),
            label_en: Set(c.label_en.clone()),
            position: Set(position as i32),
        })
        .collect();
    if !new_categories.is_empty() {
        skill_category::Entity::insert_many(new_categories).exec(&txn).await?;
    }
    let known: HashSet<(String, String)> = skill::Entity::find()
        .select_only()
        .column(skill::Column::Id)
        .column(skill::Column::Label)
        .into_tuple::<(String, String)>()
        .all(&txn)
        .await?
        .into_iter()
        .collect();
    let known_ids: HashSet<&str> = known.iter().map(|(id, _)| id.as_str()).collect();
    let known_labels: HashSet<&str> = known.iter().map(|(_, label)| label.as_str()).collect();
    let now = Utc::now();
    let missing: Vec<skill::ActiveModel> = vocabulary
        .skills
        .iter()
        .filter(|s| !known_ids.contains(s.id.as_str()) && !known_labels.contains(s.label.as_str()))
        .map(|s| skill::ActiveModel {
            id: Set(s.id.clone()),
            category_id: Set(s.category.clone()),
            label: Set(s.label.clone()),
            label_en: Set(s.label_en.clone()),
            synonyms: Set(json_list::encode(&s.synonyms)),
            search_text: Set(skills::search_text(&s.label, s.label_en.as_deref(), &s.synonyms)),
            created_at: Set(now),
            esco_uri: Set(None),
        })
        .collect();
    let added = missing.len();
    for chunk in missing.chunks(200) {
        skill::Entity::insert_many(chunk.to_vec()).exec(&txn).await?;
    }
    txn.commit().await?;
    if added > 0 {
        tracing::info!(added, "skills vocabulary seeded");
    }
    Ok(added)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_vocabulary_is_large_and_consistent() -> anyhow::Result<()> {
        let vocabulary = vocabulary()?;
        let categories: HashSet<&str> = vocabulary.categories.iter().map(|c| c.id.as_str()).collect();
        assert!(categories.len() >= 12, "{} categories", categories.len());
        assert!(vocabulary.skills.len() >= 300, "{} skills", vocabulary.skills.len());
        let mut ids = HashSet::new();
        let mut labels = HashSet::new();
        for skill in &vocabulary.skills {
            assert!(categories.contains(skill.category.as_str()), "{} has unknown category", skill.id);
            assert!(skill.id.starts_with(&format!("{}/", skill.category)), "{}", skill.id);
            assert!(ids.insert(skill.id.as_str()), "duplicate id {}", skill.id);
            assert!(labels.insert(skill.label.as_str()), "duplicate label {}", skill.label);
        }
        Ok(())
    }
}
