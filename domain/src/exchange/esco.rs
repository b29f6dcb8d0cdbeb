//! The ESCO skills download (CSV, as the ESCO portal exports a language: `skills_de.csv` with
//! `conceptType`, `conceptUri`, `skillType`, `preferredLabel`, `altLabels` — one per line inside
//! the cell —, `status`, …) into the vocabulary, so operators can extend the shipped skills.
//!
//! A released skill concept whose preferred label or one of whose alternative labels is already a
//! skill's label (compared folded: case, umlaut spelling) links that skill: it gets the URI and the
//! labels as synonyms. Others become new skills in the category `esco` (created when missing), with
//! the preferred label as label and the alternative labels as synonyms (at most 20). A concept seen
//! before (by URI) is updated. Rows that are not released skill concepts are skipped.

use std::collections::HashMap;
use std::io::BufReader;

use chrono::Utc;
use entity::{skill, skill_category};
use sea_orm::{ActiveModelTrait, DatabaseConnection, EntityTrait, Set};

use crate::db;
use crate::error::{ApiError, ApiResult};
use crate::service::validate::bounds;
use crate::service::{json_list, skills, validate};

pub const CATEGORY: &str = "esco";

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EscoReport {
    pub created: usize,
    pub linked: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub skipped: usize,
}

struct Concept {
    uri: String,
    label: String,
    alternatives: Vec<String>,
}

fn read(file: std::fs::File) -> ApiResult<(Vec<Concept>, usize)> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(BufReader::new(file));
    let headers =
        reader.headers().map_err(|e| ApiError::bad_input("file", format!("no CSV header: {e}")))?.clone();
    let column = |name: &str| headers.iter().position(|h| h.trim().trim_start_matches('\u{feff}') == name);
    let (Some(uri), Some(label)) = (column("conceptUri"), column("preferredLabel")) else {
        return Err(ApiError::bad_input(
            "file",
            "not an ESCO skills CSV: conceptUri and preferredLabel are missing",
        ));
    };
    let (kind, status, alternatives) = (column("conceptType"), column("status"), column("altLabels"));
    let mut concepts = Vec::new();
    let mut skipped = 0;
    for (line, row) in reader.records().enumerate() {
        let row = row.map_err(|e| ApiError::bad_input("file", format!("row {}: {e}", line + 2)))?;
        let cell = |at: Option<usize>| at.and_then(|i| row.get(i)).map(str::trim).unwrap_or_default();
        let released = status.is_none() || cell(status) == "released";
        let is_skill = kind.is_none() || cell(kind) == "KnowledgeSkillCompetence";
        let uri = cell(Some(uri));
        let label = cell(Some(label));
        if !released
            || !is_skill
            || !uri.starts_with("http")
            || label.chars().count() < 2
            || label.chars().count() > 120
        {
            skipped += 1;
            continue;
        }
        let alternatives: Vec<String> = cell(alternatives)
            .split(['\n', '|'])
            .map(str::trim)
            .filter(|a| !a.is_empty() && a.chars().count() <= 120 && *a != label)
            .map(str::to_owned)
            .collect();
        concepts.push(Concept { uri: uri.to_owned(), label: label.to_owned(), alternatives });
    }
    Ok((concepts, skipped))
}

/// Imports an ESCO skills CSV into the vocabulary (see the module).
pub async fn import(db: &DatabaseConnection, file: std::fs::File) -> ApiResult<EscoReport> {
    let (concepts, skipped) =
        tokio::task::spawn_blocking(move || read(file)).await.map_err(|e| ApiError::Internal(e.into()))??;
    let mut report = EscoReport { skipped, ..EscoReport::default() };
    let txn = db::begin_write(db).await?;
    if skill_category::Entity::find_by_id(CATEGORY).one(&txn).await?.is_none() {
        skill_category::ActiveModel {
            id: Set(CATEGORY.to_owned()),
            label: Set("ESCO-Kompetenzen".to_owned()),
            label_en: Set(Some("ESCO skills".to_owned())),
            position: Set(1_000),
        }
        .insert(&txn)
        .await?;
    }
    let existing = skill::Entity::find().all(&txn).await?;
    let mut by_label: HashMap<String, usize> = HashMap::new();
    let mut by_uri: HashMap<String, usize> = HashMap::new();
    for (at, s) in existing.iter().enumerate() {
        by_label.insert(skills::fold_query(&s.label), at);
        if let Some(uri) = &s.esco_uri {
            by_uri.insert(uri.clone(), at);
        }
    }
    let mut skills_now = existing;
    for concept in concepts {
        let found = by_uri.get(&concept.uri).copied().or_else(|| {
            std::iter::once(&concept.label)
                .chain(&concept.alternatives)
                .find_map(|l| by_label.get(&skills::fold_query(l)).copied())
                .filter(|at| skills_now[*at].esco_uri.is_none())
        });
        match found {
            Some(at) => {
                let current = skills_now[at].clone();
                let mut synonyms: Vec<String> = json_list::decode(&current.synonyms);
                for name in std::iter::once(&concept.label).chain(&concept.alternatives) {
                    let folded = skills::fold_query(name);
                    let known = skills::fold_query(&current.label) == folded
                        || synonyms.iter().any(|s| skills::fold_query(s) == folded);
                    if !known && synonyms.len() < bounds::SYNONYMS {
                        synonyms.push(name.clone());
                    }
                }
                if current.esco_uri.as_deref() == Some(concept.uri.as_str())
                    && synonyms.len() == json_list::decode::<String>(&current.synonyms).len()
                {
                    report.unchanged += 1;
                    continue;
                }
                let was_linked = current.esco_uri.is_some();
                let mut active: skill::ActiveModel = current.clone().into();
                active.esco_uri = Set(Some(concept.uri.clone()));
                active.synonyms = Set(json_list::encode(&synonyms));
                active.search_text =
                    Set(skills::search_text(&current.label, current.label_en.as_deref(), &synonyms));
                skills_now[at] = active.update(&txn).await?;
                by_uri.insert(concept.uri, at);
                if was_linked { report.updated += 1 } else { report.linked += 1 }
            }
            None => {
                let mut id = format!("{CATEGORY}/{}", validate::slugify(&concept.label));
                if skills_now.iter().any(|s| s.id == id) {
                    let tail = concept.uri.rsplit('/').next().unwrap_or_default();
                    id = format!("{id}-{}", tail.chars().take(8).collect::<String>());
                }
                let label_taken = by_label.contains_key(&skills::fold_query(&concept.label));
                if label_taken {
                    // Another ESCO concept already holds this label.
                    report.skipped += 1;
                    continue;
                }
                let synonyms: Vec<String> = concept.alternatives.into_iter().take(bounds::SYNONYMS).collect();
                let created = skill::ActiveModel {
                    id: Set(id),
                    category_id: Set(CATEGORY.to_owned()),
                    search_text: Set(skills::search_text(&concept.label, None, &synonyms)),
                    label: Set(concept.label.clone()),
                    label_en: Set(None),
                    synonyms: Set(json_list::encode(&synonyms)),
                    created_at: Set(Utc::now()),
                    esco_uri: Set(Some(concept.uri.clone())),
                }
                .insert(&txn)
                .await?;
                by_label.insert(skills::fold_query(&created.label), skills_now.len());
                by_uri.insert(concept.uri, skills_now.len());
                skills_now.push(created);
                report.created += 1;
            }
        }
    }
    txn.commit().await?;
    Ok(report)
}
