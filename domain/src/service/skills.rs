//! The shared skills vocabulary: lookup by prefix and substring, case- and umlaut-insensitive.

use std::collections::HashMap;

use chrono::Utc;
use entity::{skill, skill_category};
use sea_orm::sea_query::{Expr, ExprTrait, Order};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};

use crate::context::AppState;
use crate::error::{ApiError, ApiResult};
use crate::service::{json_list, validate};

/// Folds text for matching: lower case, and both spellings of umlauts and ß (`ä` → `ae` and `a`,
/// `ß` → `ss`), so "schweiss", "Schweißen" and "fuhrung"/"Fuehrung" meet their words.
pub fn fold(text: &str) -> String {
    let lower = text.to_lowercase();
    let transliterated = transliterate(&lower, ["ae", "oe", "ue", "ss"]);
    let stripped = transliterate(&lower, ["a", "o", "u", "ss"]);
    if transliterated == stripped { transliterated } else { format!("{transliterated} {stripped}") }
}

/// The query side of [`fold`]: one spelling, umlauts written out (a query typed as "fuehrung" or
/// "führung" becomes "fuehrung"; "fuhrung" stays and matches the stripped spelling).
pub fn fold_query(text: &str) -> String {
    transliterate(&text.trim().to_lowercase(), ["ae", "oe", "ue", "ss"])
}

fn transliterate(text: &str, [ae, oe, ue, ss]: [&str; 4]) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            'ä' => out.push_str(ae),
            'ö' => out.push_str(oe),
            'ü' => out.push_str(ue),
            'ß' => out.push_str(ss),
            c => out.push(c),
        }
    }
    out
}

pub fn search_text(label: &str, label_en: Option<&str>, synonyms: &[String]) -> String {
    let mut parts = vec![fold(label)];
    parts.extend(label_en.map(fold));
    parts.extend(synonyms.iter().map(|s| fold(s)));
    format!(" {} ", parts.join(" | "))
}

/// Skills matching `query` (prefix matches of the label first, then substring matches anywhere in
/// label, English label or synonyms), optionally of one category; `offset`/`limit` page through them.
pub async fn search(
    state: &AppState,
    query: Option<&str>,
    category: Option<&str>,
    offset: u64,
    limit: u64,
) -> ApiResult<Vec<skill::Model>> {
    let db = &state.db;
    let mut select = skill::Entity::find();
    if let Some(category) = category {
        select = select.filter(skill::Column::CategoryId.eq(category));
    }
    if let Some(q) = query.map(fold_query).filter(|q| !q.is_empty()) {
        if q.chars().count() > 100 {
            return Err(ApiError::bad_input("query", "query must have at most 100 characters"));
        }
        let pattern = format!("%{}%", escape_like(&q));
        let prefix = format!(" {}%", escape_like(&q));
        select = select
            .filter(Expr::col(skill::Column::SearchText).like(pattern))
            .order_by(Expr::col(skill::Column::SearchText).like(prefix), Order::Desc);
    }
    Ok(select.order_by_asc(skill::Column::Label).offset(offset).limit(limit + 1).all(db).await?)
}

/// `%` and `_` typed by a user are not wildcards: they are dropped (no skill label contains them).
fn escape_like(query: &str) -> String {
    query.replace(['%', '_', '\\'], "")
}

/// The labels of the given skills by id (ids not in the vocabulary are left out).
pub async fn labels(
    db: &impl ConnectionTrait,
    ids: impl IntoIterator<Item = String>,
) -> ApiResult<HashMap<String, String>> {
    let mut ids: Vec<String> = ids.into_iter().collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(skill::Entity::find()
        .select_only()
        .columns([skill::Column::Id, skill::Column::Label])
        .filter(skill::Column::Id.is_in(ids))
        .into_tuple::<(String, String)>()
        .all(db)
        .await?
        .into_iter()
        .collect())
}

pub async fn by_id(state: &AppState, id: &str) -> ApiResult<Option<skill::Model>> {
    let db = &state.db;
    Ok(skill::Entity::find_by_id(id.to_owned()).one(db).await?)
}

pub async fn categories(state: &AppState) -> ApiResult<Vec<skill_category::Model>> {
    let db = &state.db;
    Ok(skill_category::Entity::find().order_by_asc(skill_category::Column::Position).all(db).await?)
}

/// The ids among `ids` that are not in the vocabulary.
pub(crate) async fn unknown(db: &impl ConnectionTrait, ids: &[String]) -> ApiResult<Vec<String>> {
    let known: Vec<String> = skill::Entity::find()
        .select_only()
        .column(skill::Column::Id)
        .filter(skill::Column::Id.is_in(ids.iter().cloned()))
        .into_tuple()
        .all(db)
        .await?;
    Ok(ids.iter().filter(|id| !known.contains(id)).cloned().collect())
}

/// Checks a list of skill ids for a write (its length is checked before): no duplicates, all known.
pub(crate) async fn validate_ids(db: &impl ConnectionTrait, field: &str, ids: &[String]) -> ApiResult<()> {
    let mut seen = std::collections::HashSet::new();
    if let Some(dup) = ids.iter().find(|id| !seen.insert(id.as_str())) {
        return Err(ApiError::bad_input(field, format!("skill {dup} is listed twice")));
    }
    let unknown = unknown(db, ids).await?;
    if !unknown.is_empty() {
        return Err(ApiError::bad_input(field, format!("unknown skill ids: {}", unknown.join(", "))));
    }
    Ok(())
}

pub struct NewSkill {
    pub category: String,
    pub label: String,
    pub label_en: Option<String>,
    pub synonyms: Vec<String>,
}

/// Adds a skill (platform admins). Its id is `<category>/<slug of the label>`.
pub async fn create(state: &AppState, is_admin: bool, input: NewSkill) -> ApiResult<skill::Model> {
    let db = &state.db;
    if !is_admin {
        return Err(ApiError::forbidden("only platform admins may add skills"));
    }
    let label = validate::text("input.label", &input.label, 2, 200)?;
    let label_en = validate::optional_text("input.labelEn", input.label_en.as_deref(), 200)?;
    validate::at_most("input.synonyms", input.synonyms.len(), validate::bounds::SYNONYMS)?;
    let synonyms = input
        .synonyms
        .iter()
        .map(|s| validate::text("input.synonyms", s, 1, 100))
        .collect::<ApiResult<Vec<_>>>()?;
    if skill_category::Entity::find_by_id(input.category.clone()).one(db).await?.is_none() {
        return Err(ApiError::bad_input("input.category", "unknown skill category"));
    }
    let id = format!("{}/{}", input.category, validate::slugify(&label));
    if skill::Entity::find_by_id(id.clone()).one(db).await?.is_some()
        || skill::Entity::find().filter(skill::Column::Label.eq(label.as_str())).one(db).await?.is_some()
    {
        return Err(ApiError::conflict_on("input.label", "a skill with this label already exists"));
    }
    Ok(skill::ActiveModel {
        search_text: Set(search_text(&label, label_en.as_deref(), &synonyms)),
        id: Set(id),
        category_id: Set(input.category),
        label: Set(label),
        label_en: Set(label_en),
        synonyms: Set(json_list::encode(&synonyms)),
        created_at: Set(Utc::now()),
        esco_uri: Set(None),
    }
    .insert(db)
    .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_meets_both_umlaut_spellings() {
        let text = search_text("Schweißen (MAG)", Some("Welding"), &["Schweisstechnik".into()]);
        for query in ["schweiss", "Schweißen", "SCHWEISSEN", "welding", "mag"] {
            assert!(text.contains(&fold_query(query)), "{query} in {text}");
        }
        let text = search_text("Führungskompetenz", None, &[]);
        for query in ["Führung", "fuehrung", "fuhrung", "kompetenz"] {
            assert!(text.contains(&fold_query(query)), "{query} in {text}");
        }
    }
}
