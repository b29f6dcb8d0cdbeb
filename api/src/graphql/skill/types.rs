use std::collections::HashMap;

use async_graphql::dataloader::Loader;
use async_graphql::{ComplexObject, Context, InputObject, Result, SimpleObject};
use entity::{skill, skill_category};

use crate::context::AppState;
use crate::error::ApiError;
use crate::graphql::context::loader;
use crate::graphql::organization::loaders::LoadError;
use crate::service::{json_list, skills};

/// A group of skills, e.g. "Automatisierung & SPS".
#[derive(SimpleObject, Clone)]
pub struct SkillCategory {
    /// Stable id, e.g. `automation`.
    pub id: String,
    pub label: String,
    pub label_en: Option<String>,
}

impl From<skill_category::Model> for SkillCategory {
    fn from(m: skill_category::Model) -> Self {
        Self { id: m.id, label: m.label, label_en: m.label_en }
    }
}

/// A skill of the shared vocabulary. Courses teach skills; needs ask for them.
#[derive(SimpleObject, Clone)]
#[graphql(complex)]
pub struct Skill {
    /// Stable ESCO-style id, e.g. `automation/sps-programmierung`.
    pub id: String,
    /// German label.
    pub label: String,
    pub label_en: Option<String>,
    /// Other words people use for it (abbreviations, older names).
    pub synonyms: Vec<String>,
    pub category_id: String,
    /// The ESCO concept (`http://data.europa.eu/esco/skill/…`), when an ESCO import linked it.
    pub esco_uri: Option<String>,
}

impl From<skill::Model> for Skill {
    fn from(m: skill::Model) -> Self {
        Self {
            synonyms: json_list::decode(&m.synonyms),
            id: m.id,
            label: m.label,
            label_en: m.label_en,
            category_id: m.category_id,
            esco_uri: m.esco_uri,
        }
    }
}

/// A skill of the vocabulary held in memory (see `domain::db::vocabulary`).
impl From<&skill::Model> for Skill {
    fn from(m: &skill::Model) -> Self {
        Self {
            synonyms: json_list::decode(&m.synonyms),
            id: m.id.clone(),
            label: m.label.clone(),
            label_en: m.label_en.clone(),
            esco_uri: m.esco_uri.clone(),
            category_id: m.category_id.clone(),
        }
    }
}

#[ComplexObject]
impl Skill {
    async fn category(&self, ctx: &Context<'_>) -> Result<SkillCategory> {
        let category = loader::<SkillCategoryLoader>(ctx)?
            .load_one(self.category_id.clone())
            .await
            .map_err(ApiError::from)?
            .ok_or_else(|| ApiError::not_found("skill category"))?;
        Ok(category.into())
    }
}

/// The categories are few: one query loads them all.
pub struct SkillCategoryLoader {
    pub state: AppState,
}

impl Loader<String> for SkillCategoryLoader {
    type Value = skill_category::Model;
    type Error = LoadError;

    async fn load(&self, _keys: &[String]) -> Result<HashMap<String, Self::Value>, Self::Error> {
        let rows = skills::categories(&self.state).await.map_err(std::sync::Arc::new)?;
        Ok(rows.into_iter().map(|c| (c.id.clone(), c)).collect())
    }
}

#[derive(InputObject)]
pub struct SkillInput {
    /// A category id from `skillCategories`.
    pub category: String,
    /// German label, unique.
    pub label: String,
    pub label_en: Option<String>,
    /// At most 20 values, each 1–100 characters.
    #[graphql(default)]
    pub synonyms: Vec<String>,
}
